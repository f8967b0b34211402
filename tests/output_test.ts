import assert from "node:assert/strict";
import { join } from "node:path";
import { formatManifest, type Manifest } from "../batch/manifest.ts";
import {
  pieceFileName,
  sanitizeName,
  sha256,
  writeFileAtomic,
} from "../batch/output.ts";

/**
 * This Deno (2.9) leaves the ops and resources sanitizers off unless asked: turn
 * them on so a test fails if a write leaves a file handle open.
 */
const SANITIZED = { sanitizeOps: true, sanitizeResources: true };
const encoder = new TextEncoder();

/** A fresh temp dir that is removed on dispose. */
async function tempDir() {
  const path = await Deno.makeTempDir({ prefix: "pressrun_output_test_" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** Asserts `name` is safe to create in an output folder as-is. */
function assertSafeFileName(name: string, extension: string): void {
  assert.ok(
    !/[/\\\0]/.test(name),
    `${JSON.stringify(name)} has a separator or NUL`,
  );
  assert.ok(
    !/\p{Cc}/u.test(name),
    `${JSON.stringify(name)} has a control character`,
  );
  assert.ok(!name.startsWith("."), `${JSON.stringify(name)} starts with a dot`);
  assert.ok(name.endsWith(`.${extension}`), `${name} lacks .${extension}`);
  assert.ok(encoder.encode(name).length <= 255, `${name} is over 255 bytes`);
  assert.notEqual(name, `.${extension}`);
}

Deno.test(
  "sanitizeName() makes hostile CSV values into safe file name stems",
  SANITIZED,
  async (t) => {
    const cases: [string, string][] = [
      ["../../etc/passwd", "etc-passwd"], // own-files: not a file to read
      ["/abs/path", "abs-path"],
      ["C:\\Windows\\system32", "C-Windows-system32"],
      ["a\u0000b", "a-b"],
      ["..", ""],
      [".hidden", "hidden"],
      ["  Ann   Lee  ", "Ann_Lee"],
      ["line\nbreak\ttab", "line-break-tab"],
      ['what?<>:"|*', "what"],
      ["Martínez-García", "Martínez-García"],
      ["王小明", "王小明"],
      ["Fan 🎉", "Fan_🎉"],
      ["e\u0301", "\u00e9"],
      ["=cmd|' /C calc'!A0", "=cmd-'_-C_calc'!A0"],
      ["", ""],
    ];
    for (const [value, expected] of cases) {
      await t.step(JSON.stringify(value), () => {
        assert.equal(sanitizeName(value), expected);
      });
    }
  },
);

Deno.test(
  "sanitizeName() removes every control character, C1 controls included",
  SANITIZED,
  async (t) => {
    const cases = [
      "a\u0007b",
      "a\u001bb",
      "a\u007fb",
      "a\u0085b",
      "a\u009b31mb",
      "a\u0080\u009fb",
    ];
    for (const value of cases) {
      await t.step(JSON.stringify(value), () => {
        const name = sanitizeName(value);
        assert.ok(!/\p{Cc}/u.test(name), `got ${JSON.stringify(name)}`);
        assert.ok(name.startsWith("a") && name.endsWith("b"), name);
      });
    }
  },
);

Deno.test(
  "sanitizeName() keeps at most 60 characters without splitting a code point",
  SANITIZED,
  async (t) => {
    const cases: [string, string][] = [
      ["x".repeat(500), "x".repeat(60)],
      ["王".repeat(500), "王".repeat(60)],
      ["🎉".repeat(500), "🎉".repeat(60)],
      [`${"a".repeat(59)}.b`, "a".repeat(59)],
      [`${"a".repeat(58)}_-b`, "a".repeat(58)],
    ];
    for (const [value, expected] of cases) {
      await t.step(`${[...value].length} × ${[...value][0]}`, () => {
        const name = sanitizeName(value);
        assert.equal(name, expected);
        assert.ok([...name].length <= 60);
        assert.equal(name, name.toWellFormed());
      });
    }
  },
);

Deno.test(
  "pieceFileName() pads the index to at least four digits or the width of the total",
  SANITIZED,
  async (t) => {
    const cases: [number, number, string, string][] = [
      [1, 12, "pdf", "0001.pdf"],
      [7, 9999, "png", "0007.png"],
      [42, 10000, "jpeg", "00042.jpeg"],
      [123456, 123456, "pdf", "123456.pdf"],
    ];
    for (const [index, total, extension, expected] of cases) {
      await t.step(expected, () => {
        assert.equal(pieceFileName(index, total, extension), expected);
      });
    }
  },
);

Deno.test(
  "pieceFileName() sorts pieces in record order",
  SANITIZED,
  () => {
    const names = Array.from(
      { length: 120 },
      (_, i) => pieceFileName(i + 1, 120, "pdf", i % 2 ? "Zed" : "Ann"),
    );
    assert.deepEqual([...names].sort(), names);
  },
);

Deno.test(
  "pieceFileName() builds a safe name from a hostile label",
  SANITIZED,
  async (t) => {
    const cases: [string, string][] = [
      ["Ann Lee", "0003-Ann_Lee.pdf"],
      ["../../etc/passwd", "0003-etc-passwd.pdf"], // own-files: not a file to read
      ["/abs/path", "0003-abs-path.pdf"],
      ["a\u0000b", "0003-a-b.pdf"],
      ["..", "0003.pdf"],
      ["...", "0003.pdf"],
      ["", "0003.pdf"],
      ["王 小明", "0003-王_小明.pdf"],
      ["Emoji Fan 🎉", "0003-Emoji_Fan_🎉.pdf"],
      ["x".repeat(500), `0003-${"x".repeat(60)}.pdf`],
    ];
    for (const [label, expected] of cases) {
      await t.step(JSON.stringify(label).slice(0, 40), () => {
        const name = pieceFileName(3, 12, "pdf", label);
        assert.equal(name, expected);
        assertSafeFileName(name, "pdf");
      });
    }
  },
);

Deno.test(
  "pieceFileName() stays a safe single file name for any label",
  SANITIZED,
  async (t) => {
    const labels = [
      "🎉".repeat(500),
      "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}".repeat(100),
      "/".repeat(300),
      "\\..\\..\\boot.ini",
      "\u0000\u0001\u0002",
      "a\u0085b\u009bc",
      "\u2028\u2029",
      " . ",
      "CON",
      "x/".repeat(200),
    ];
    for (const label of labels) {
      await t.step(JSON.stringify(label).slice(0, 40), () => {
        const name = pieceFileName(12345, 99999, "jpeg", label);
        assert.ok(name.startsWith("12345"), name);
        assertSafeFileName(name, "jpeg");
        const stem = name.slice(6, -".jpeg".length);
        assert.ok([...stem].length <= 60, `label part too long: ${stem}`);
      });
    }
  },
);

Deno.test(
  "writeFileAtomic() writes bytes and text completely and leaves no temp file",
  SANITIZED,
  async () => {
    await using dir = await tempDir();
    const bytes = new Uint8Array(3 * 1024 * 1024).map((_, i) => i * 31);
    const pdf = await writeFileAtomic(dir.path, "0001.pdf", bytes);
    assert.equal(pdf, join(dir.path, "0001.pdf"));
    assert.deepEqual(await Deno.readFile(pdf), bytes);
    const json = await writeFileAtomic(dir.path, "manifest.json", '{"ok":1}\n');
    assert.equal(await Deno.readTextFile(json), '{"ok":1}\n');
    assert.deepEqual(await listDir(dir.path), ["0001.pdf", "manifest.json"]);
  },
);

Deno.test(
  "writeFileAtomic() replaces an existing file in one step",
  SANITIZED,
  async () => {
    await using dir = await tempDir();
    await writeFileAtomic(dir.path, "a.txt", "first version, longer text");
    await writeFileAtomic(dir.path, "a.txt", "second");
    assert.equal(await Deno.readTextFile(join(dir.path, "a.txt")), "second");
    assert.deepEqual(await listDir(dir.path), ["a.txt"]);
  },
);

Deno.test(
  "writeFileAtomic() rejects and leaves no temp file when the write fails",
  SANITIZED,
  async (t) => {
    await t.step("folder does not exist", async () => {
      await using dir = await tempDir();
      await assert.rejects(
        writeFileAtomic(join(dir.path, "missing"), "0001.pdf", "x"),
        Deno.errors.NotFound,
      );
      assert.deepEqual(await listDir(dir.path), []);
    });
    await t.step(
      "the target is a non-empty folder (the rename fails)",
      async () => {
        await using dir = await tempDir();
        await Deno.mkdir(join(dir.path, "0001.pdf"));
        await Deno.writeTextFile(join(dir.path, "0001.pdf", "keep"), "keep");
        await assert.rejects(writeFileAtomic(dir.path, "0001.pdf", "x"));
        assert.deepEqual(await listDir(dir.path), ["0001.pdf"]);
        assert.deepEqual(await listDir(join(dir.path, "0001.pdf")), ["keep"]);
      },
    );
  },
);

Deno.test(
  "sha256() gives the FIPS 180-2 digests of known inputs",
  SANITIZED,
  async (t) => {
    const cases: [string, string][] = [
      ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
      [
        "abc",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      ],
      [
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
      ],
    ];
    for (const [text, digest] of cases) {
      await t.step(JSON.stringify(text), async () => {
        assert.equal(await sha256(encoder.encode(text)), digest);
      });
    }
    await t.step(
      "a view into a larger buffer hashes only its bytes",
      async () => {
        const view = encoder.encode("xxabcxx").subarray(2, 5);
        assert.equal(
          await sha256(view),
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        );
      },
    );
  },
);

function manifest(records: Manifest["records"]): Manifest {
  return {
    template: "examples/postcard/template.json",
    data: "recipients.csv",
    format: "pdf",
    total: records.length,
    rendered: records.filter((r) => r.status === "ok").length,
    failed: records.filter((r) => r.status === "failed").length,
    merged: "merged.pdf",
    startedAt: "2025-01-02T03:04:05.000Z",
    ms: 1234,
    records,
  };
}

Deno.test(
  "formatManifest() writes JSON that parses back to the manifest, one line per record",
  SANITIZED,
  () => {
    const m = manifest([
      {
        index: 1,
        line: 2,
        status: "ok",
        file: "0001-Ann_Lee.pdf",
        sha256:
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        bytes: 52011,
        ms: 41,
        mode: "persistent",
      },
      {
        index: 2,
        line: 3,
        status: "failed",
        error: 'Cannot render record 2: "photo"\nis\u2028bad',
        mode: "cluster",
      },
      { index: 3, status: "not-rendered" },
    ]);
    const text = formatManifest(m);
    assert.deepEqual(JSON.parse(text), m);
    const lines = text.split("\n");
    const recordLines = lines.filter((l) => l.includes('"index":'));
    assert.equal(recordLines.length, 3);
    recordLines.forEach((line, i) => {
      assert.deepEqual(JSON.parse(line.trim().replace(/,$/, "")), m.records[i]);
    });
    assert.ok(text.endsWith("}\n"));
  },
);

Deno.test(
  "formatManifest() writes valid JSON for a batch with no records",
  SANITIZED,
  () => {
    const m = manifest([]);
    assert.deepEqual(JSON.parse(formatManifest(m)), m);
  },
);
