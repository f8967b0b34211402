/**
 * Spreadsheets as Excel and others save them: Windows-1252, UTF-16 with and
 * without a byte order mark, CR-only line ends, trailing columns with no
 * header. Each file is written here byte for byte.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readCsv, scanCsv } from "../batch/csv.ts";
import { detectEncoding, parseEncoding } from "../batch/encoding.ts";
import { tempDir } from "./_helpers.ts";

const SANITIZED = { sanitizeOps: true, sanitizeResources: true };

/** Windows-1252 bytes of `text` (every character must be in it). */
function cp1252(text: string): Uint8Array {
  const special: Record<string, number> = { "€": 0x80, "“": 0x93, "”": 0x94 };
  return Uint8Array.from([...text], (c) => {
    if (c in special) return special[c]!;
    const code = c.charCodeAt(0);
    if (code > 0xff) throw new Error(`not in Windows-1252: ${c}`);
    return code;
  });
}

function utf16(text: string, endian: "le" | "be", bom: boolean): Uint8Array {
  const out: number[] = bom
    ? (endian === "le" ? [0xff, 0xfe] : [0xfe, 0xff])
    : [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const pair = [code & 0xff, code >> 8];
    out.push(...(endian === "le" ? pair : pair.reverse()));
  }
  return Uint8Array.from(out);
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

async function records(path: string, options = {}) {
  const out: Record<string, string>[] = [];
  for await (const r of readCsv(path, options)) out.push(r.values);
  return out;
}

const PEOPLE =
  "id,name,city\r\n1,José Müller,Köln\r\n2,Zoë “Zo” Ñúñez,Málaga €\r\n";
const EXPECTED = [
  { id: "1", name: "José Müller", city: "Köln" },
  { id: "2", name: "Zoë “Zo” Ñúñez", city: "Málaga €" },
];

Deno.test(
  "a spreadsheet is read in the encoding its bytes are in, and says which",
  SANITIZED,
  async (t) => {
    await using dir = await tempDir();
    const cases: [string, Uint8Array, string, string][] = [
      [
        "Windows-1252 (Excel's CSV on Windows)",
        cp1252(PEOPLE),
        "windows-1252",
        "content",
      ],
      [
        "German Excel: Windows-1252 with semicolons",
        cp1252(PEOPLE.replaceAll(",", ";")),
        "windows-1252",
        "content",
      ],
      [
        "UTF-8 without a BOM",
        new TextEncoder().encode(PEOPLE),
        "utf-8",
        "content",
      ],
      [
        "UTF-8 with a BOM",
        concat(
          Uint8Array.of(0xef, 0xbb, 0xbf),
          new TextEncoder().encode(PEOPLE),
        ),
        "utf-8",
        "bom",
      ],
      [
        "UTF-16LE with a BOM (Excel's Unicode text)",
        utf16(PEOPLE.replaceAll(",", "\t"), "le", true),
        "utf-16le",
        "bom",
      ],
      ["UTF-16BE with a BOM", utf16(PEOPLE, "be", true), "utf-16be", "bom"],
      [
        "UTF-16LE without a BOM",
        utf16(PEOPLE, "le", false),
        "utf-16le",
        "content",
      ],
      [
        "CR-only line ends (old Mac)",
        new TextEncoder().encode(PEOPLE.replaceAll("\r\n", "\r")),
        "utf-8",
        "content",
      ],
    ];
    for (const [name, bytes, encoding, by] of cases) {
      await t.step(name, async () => {
        const path = join(dir.path, "people.csv");
        await Deno.writeFile(path, bytes);
        const info = await scanCsv(path);
        assert.deepEqual(
          [info.encoding, info.encodingBy, info.count, info.headers],
          [encoding, by, 2, ["id", "name", "city"]],
        );
        assert.deepEqual(await records(path), EXPECTED);
      });
    }
  },
);

Deno.test(
  "bytes that fit no encoding, or not the one given, are refused naming the file and line",
  SANITIZED,
  async (t) => {
    await using dir = await tempDir();
    const path = join(dir.path, "list.csv");
    await t.step("binary: fits none", async () => {
      await Deno.writeFile(
        path,
        Uint8Array.of(
          0x50,
          0x4b,
          0x03,
          0x04,
          0x14,
          0x00,
          0x81,
          0x00,
          0x08,
          0x00,
        ),
      );
      await assert.rejects(scanCsv(path), {
        name: "DataError",
        message:
          /^Cannot read list\.csv line 1: byte 3 fits none of UTF-8, UTF-16 or Windows-1252: the file may not be text; save the file as UTF-8/,
      });
    });
    await t.step(
      "UTF-8 for 64 KiB, then a Windows-1252 byte on line 2,002",
      async () => {
        const head = "id,name\n" +
          Array.from(
            { length: 2000 },
            (_, i) => `${i + 1},Zoë ${"x".repeat(30)}`,
          ).join("\n") +
          "\n";
        assert.ok(head.length > 64 * 1024);
        await Deno.writeFile(
          path,
          concat(new TextEncoder().encode(head), cp1252("2001,José\n")),
        );
        await assert.rejects(scanCsv(path), {
          name: "DataError",
          message:
            /^Cannot read list\.csv line 2002: the bytes at byte \d+ are not UTF-8 \(read as UTF-8, which its first 64 KiB are\); save the file as UTF-8 \(in Excel: "CSV UTF-8"\), or name its encoding with --encoding/,
        });
      },
    );
    await t.step("--encoding utf-8 on a Windows-1252 file", async () => {
      await Deno.writeFile(path, cp1252(PEOPLE));
      await assert.rejects(scanCsv(path, { encoding: "utf-8" }), {
        name: "DataError",
        message:
          /^Cannot read list\.csv line 2: the bytes at byte 20 are not UTF-8 \(read as UTF-8, as --encoding said\)/,
      });
    });
    await t.step("--encoding windows-1252 reads it", async () => {
      await Deno.writeFile(path, cp1252(PEOPLE));
      assert.deepEqual(
        await records(path, { encoding: "windows-1252" }),
        EXPECTED,
      );
    });
  },
);

Deno.test("encoding names: aliases, and detection of a short sample", () => {
  assert.equal(parseEncoding("Latin1"), "windows-1252");
  assert.equal(parseEncoding("cp1252"), "windows-1252");
  assert.equal(parseEncoding("UTF8"), "utf-8");
  assert.equal(parseEncoding("ebcdic"), undefined);
  // A UTF-8 sequence cut at the end of the sample is still UTF-8.
  const cut = new TextEncoder().encode("name\nZoë").subarray(0, 8);
  assert.deepEqual(detectEncoding(cut), { encoding: "utf-8", by: "content" });
});

Deno.test(
  "trailing columns with no header are left out when empty; a value under one is an error naming the record",
  SANITIZED,
  async (t) => {
    await using dir = await tempDir();
    const path = join(dir.path, "excel.csv");
    await t.step("Excel's trailing empty columns", async () => {
      await Deno.writeTextFile(path, "id;name;;;\r\n1;Ann;;;\r\n2;Bob;; ;\r\n");
      const info = await scanCsv(path);
      assert.deepEqual([info.headers, info.ignoredColumns, info.count], [
        ["id", "name"],
        3,
        2,
      ]);
      assert.deepEqual(await records(path), [{ id: "1", name: "Ann" }, {
        id: "2",
        name: "Bob",
      }]);
    });
    await t.step("rows without the trailing cells too", async () => {
      await Deno.writeTextFile(path, "id,name,,\n1,Ann\n2,Bob,,\n");
      assert.equal((await scanCsv(path)).count, 2);
    });
    await t.step("a value under an empty header", async () => {
      await Deno.writeTextFile(path, "id,name,,\n1,Ann,,\n2,Bob,,oops\n");
      await assert.rejects(scanCsv(path), {
        name: "DataError",
        message:
          'Cannot read excel.csv line 3: column 4 has an empty header, but record 2 has a value there ("oops"): give the column a header, or delete the value',
      });
    });
    await t.step(
      "an empty header between named ones stays an error",
      async () => {
        await Deno.writeTextFile(path, "id,,name\n1,,Ann\n");
        await assert.rejects(scanCsv(path), {
          message: /line 1: column 2 has an empty header/,
        });
      },
    );
  },
);
