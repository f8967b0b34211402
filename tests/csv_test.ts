import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type CsvRecord,
  detectDelimiter,
  readCsv,
  scanCsv,
} from "../batch/csv.ts";
import { DataError } from "../common/errors.ts";

import {
  MALFORMED_CSV as MALFORMED,
  TRICKY_BOM_CSV as TRICKY_BOM,
  TRICKY_COLUMNS as HEADERS,
  TRICKY_CSV as TRICKY,
} from "./_helpers.ts";
/**
 * This Deno (2.9) leaves the ops and resources sanitizers off unless asked: turn
 * them on so a test fails if reading a CSV leaves its file or a read open.
 */
const SANITIZED = { sanitizeOps: true, sanitizeResources: true };

async function collect(
  path: string,
  options?: Parameters<typeof readCsv>[1],
): Promise<CsvRecord[]> {
  const records: CsvRecord[] = [];
  for await (const record of readCsv(path, options)) records.push(record);
  return records;
}

/** Writes `files` into a fresh temp dir that is removed on dispose. */
async function tempFiles(files: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "pressrun_csv_test_" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(join(dir, name), text);
  }
  return {
    path: (name: string) => join(dir, name),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** A CSV of `rows` records, several 64 KiB chunks long, with multi-byte text. */
function bigCsv(rows: number): string {
  const lines = ["id,name,note"];
  for (let i = 1; i <= rows; i++) lines.push(`${i},Zoë ${i},"café, 🎉 ${i}"`);
  return lines.join("\r\n") + "\r\n";
}

Deno.test(
  "scanCsv() returns headers, delimiter and record count of both tricky fixtures",
  SANITIZED,
  async (t) => {
    for (
      const [path, delimiter] of [[TRICKY, ","], [TRICKY_BOM, ";"]] as const
    ) {
      await t.step(path, async () => {
        assert.deepEqual(await scanCsv(path), {
          path,
          headers: HEADERS,
          delimiter,
          count: 12,
          encoding: "utf-8",
          encodingBy: path === TRICKY_BOM ? "bom" : "content",
          ignoredColumns: 0,
        });
      });
    }
  },
);

Deno.test(
  "readCsv() yields identical records from the CRLF comma file and the BOM semicolon LF file",
  SANITIZED,
  async () => {
    const comma = await collect(TRICKY);
    const semicolon = await collect(TRICKY_BOM);
    assert.equal(comma.length, 12);
    assert.deepEqual(semicolon, comma);
    assert.deepEqual(Object.keys(semicolon[0]!.values), HEADERS);
    assert.deepEqual(
      comma.map((r) => r.index),
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      comma.map((r) => r.values.id),
      comma.map((r) => `${r.index}`),
    );
  },
);

Deno.test("readCsv() keeps values verbatim", SANITIZED, async (t) => {
  const records = await collect(TRICKY);
  const row = (index: number) => records[index - 1]!.values;
  const cases: [string, () => unknown, unknown][] = [
    [
      "doubled quotes and a quoted comma",
      () => row(2).company,
      'Café "La Esquina", S.L.',
    ],
    ["accents", () => row(2).lastName, "Martínez-García"],
    [
      "a newline inside a quoted street",
      () => row(9).street,
      "1 Main St\nApt 4B",
    ],
    ["a leading zero", () => row(9).zip, "02108"],
    [
      "a formula-looking first name",
      () => row(10).firstName,
      "=cmd|' /C calc'!A0",
    ],
    ["a formula-looking company", () => row(10).company, "@SUM(1+1)"],
    ["a leading plus sign", () => row(10).street, "+1 555 0100"],
    ["a leading minus sign", () => row(10).city, "-10"],
    ["emoji", () => row(11).lastName, "Fan 🎉"],
    ["right-to-left text", () => row(6).firstName, "محمد"],
    ["a row that is empty but for its url", () => row(12), {
      ...Object.fromEntries(HEADERS.map((h) => [h, ""])),
      id: "12",
      url: "https://example.com/r/12",
    }],
  ];
  for (const [name, actual, expected] of cases) {
    await t.step(name, () => assert.deepEqual(actual(), expected));
  }
});

Deno.test(
  "readCsv() gives the line where each record starts, also after a multi-line record",
  SANITIZED,
  async (t) => {
    for (const path of [TRICKY, TRICKY_BOM]) {
      await t.step(path, async () => {
        const lines = (await collect(path)).map((r) => r.line);
        assert.deepEqual(lines, [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14]);
      });
    }
    await t.step("a CRLF inside quotes counts as one line", async () => {
      await using tmp = await tempFiles({
        "crlf.csv": 'a,b\r\n1,"x\r\ny\r\nz"\r\n2,w\r\n',
      });
      const records = await collect(tmp.path("crlf.csv"));
      assert.deepEqual(records.map((r) => r.line), [2, 5]);
      assert.equal(records[0]!.values.b, "x\r\ny\r\nz");
    });
    await t.step("mixed CRLF and LF line ends", async () => {
      await using tmp = await tempFiles({ "mixed.csv": "a,b\r\n1,2\n3,4\r\n" });
      const records = await collect(tmp.path("mixed.csv"));
      assert.deepEqual(records.map((r) => [r.line, r.values]), [
        [2, { a: "1", b: "2" }],
        [3, { a: "3", b: "4" }],
      ]);
    });
    await t.step("blank lines are skipped but counted", async () => {
      await using tmp = await tempFiles({
        "blank.csv": "\na,b\n\n1,2\n\n\n3,4\n,\n\n",
      });
      const records = await collect(tmp.path("blank.csv"));
      assert.deepEqual(records.map((r) => [r.line, r.values]), [
        [4, { a: "1", b: "2" }],
        [7, { a: "3", b: "4" }],
        [8, { a: "", b: "" }],
      ]);
    });
  },
);

Deno.test(
  "scanCsv() names the file and line 3 of the malformed fixture",
  SANITIZED,
  async () => {
    await assert.rejects(scanCsv(MALFORMED), (error: Error) => {
      assert.ok(error instanceof DataError);
      assert.deepEqual(error.location, {
        source: "recipients-malformed.csv",
        line: 3,
        record: 2,
        field: undefined,
      });
      assert.equal(
        error.message,
        "Cannot read recipients-malformed.csv line 3: record 2 has 2 fields, expected 3",
      );
      assert.equal(
        (error.cause as { code: string }).code,
        "CSV_RECORD_INCONSISTENT_FIELDS_LENGTH",
      );
      return true;
    });
  },
);

Deno.test(
  "readCsv() yields record 1 of the malformed fixture, then throws naming line 3",
  SANITIZED,
  async () => {
    const records = readCsv(MALFORMED);
    const first = await records.next();
    assert.deepEqual(first.value, {
      index: 1,
      line: 2,
      values: { id: "1", firstName: "Ann", url: "https://example.com/r/1" },
    });
    await assert.rejects(records.next(), {
      name: "DataError",
      message:
        "Cannot read recipients-malformed.csv line 3: record 2 has 2 fields, expected 3",
    });
    assert.deepEqual(await records.next(), { done: true, value: undefined });
  },
);

Deno.test(
  "readCsv() reports malformed quoting at the line of the record, after the records before it",
  SANITIZED,
  async (t) => {
    await using tmp = await tempFiles({
      "unclosed.csv": "id,firstName,url\n1,Ann,https://example.com/r/1\n" +
        '2,Bob,https://example.com/r/2\n3,"Carl,https://example.com/r/3\n',
      "stray.csv": 'id,name\n1,Ann\n\n2,Bo"b\n',
      "closing.csv": 'id,name\n1,"Ann"x\n',
      "huge.csv": 'id,name\n1,Ann\n2,"Bob\n' + "x,".repeat(600_000),
    });
    const cases = [
      [
        "unclosed.csv",
        2,
        "line 4: quote opened here is never closed",
        "CSV_QUOTE_NOT_CLOSED",
      ],
      [
        "stray.csv",
        1,
        "line 4: quote in column 2 is inside an unquoted value",
        "INVALID_OPENING_QUOTE",
      ],
      [
        "closing.csv",
        0,
        "line 2: closing quote in column 2 is not followed by a delimiter or line end",
        "CSV_INVALID_CLOSING_QUOTE",
      ],
      [
        "huge.csv",
        1,
        "line 3: record exceeds 1 MiB: a quote may be left open",
        "CSV_MAX_RECORD_SIZE",
      ],
    ] as const;
    for (const [name, good, message, code] of cases) {
      await t.step(name, async () => {
        const seen: number[] = [];
        await assert.rejects(
          (async () => {
            for await (const record of readCsv(tmp.path(name))) {
              seen.push(record.index);
            }
          })(),
          (error: Error) => {
            assert.ok(error instanceof DataError);
            assert.equal(error.message, `Cannot read ${name} ${message}`);
            assert.equal((error.cause as { code: string }).code, code);
            return true;
          },
        );
        assert.equal(seen.length, good);
        await assert.rejects(scanCsv(tmp.path(name)), {
          message: `Cannot read ${name} ${message}`,
        });
      });
    }
  },
);

Deno.test(
  "scanCsv() rejects header rows that cannot name every column",
  SANITIZED,
  async (t) => {
    await using tmp = await tempFiles({
      "empty.csv": "",
      "blank.csv": "\r\n\r\n",
      "empty-header.csv": "id,,url\n1,2,3\n",
      "blank-header.csv": "\nid, \t,url\n1,2,3\n",
      "duplicate.csv": "id,name, id\n1,2,3\n",
    });
    const cases = [
      ["empty.csv", "line 1: the file has no header row"],
      ["blank.csv", "line 1: the file has no header row"],
      ["empty-header.csv", "line 1: column 2 has an empty header"],
      ["blank-header.csv", "line 2: column 2 has an empty header"],
      ["duplicate.csv", 'line 1: column 3 repeats the header "id" of column 1'],
    ];
    for (const [name, message] of cases) {
      await t.step(name!, async () => {
        await assert.rejects(scanCsv(tmp.path(name!)), {
          name: "DataError",
          message: `Cannot read ${name} ${message}`,
        });
      });
    }
  },
);

Deno.test(
  "scanCsv() trims header names but not values",
  SANITIZED,
  async () => {
    await using tmp = await tempFiles({
      "spaces.csv": ' id ,"name "\n 1 ," Ann "\n',
    });
    assert.deepEqual((await scanCsv(tmp.path("spaces.csv"))).headers, [
      "id",
      "name",
    ]);
    const [record] = await collect(tmp.path("spaces.csv"));
    assert.deepEqual(record!.values, { id: " 1 ", name: " Ann " });
  },
);

Deno.test(
  "scanCsv() strips a UTF-8 BOM, even before a quoted first header",
  SANITIZED,
  async () => {
    await using tmp = await tempFiles({
      "bom.csv": '\uFEFF"id";"name"\r\n1;Ann\r\n',
    });
    const info = await scanCsv(tmp.path("bom.csv"));
    assert.deepEqual([info.delimiter, info.headers], [";", ["id", "name"]]);
    const [record] = await collect(tmp.path("bom.csv"));
    assert.deepEqual(record, {
      index: 1,
      line: 2,
      values: { id: "1", name: "Ann" },
    });
  },
);

Deno.test(
  "readCsv() detects a tab delimiter and keeps commas and semicolons in values",
  SANITIZED,
  async () => {
    await using tmp = await tempFiles({
      "tab.tsv": "id\tcompany\tnote\n1\tAcme, Inc.\ta;b\n2\t\t\n",
    });
    const info = await scanCsv(tmp.path("tab.tsv"));
    assert.equal(info.delimiter, "\t");
    assert.deepEqual(info.headers, ["id", "company", "note"]);
    assert.deepEqual(
      (await collect(tmp.path("tab.tsv"))).map((r) => r.values),
      [
        { id: "1", company: "Acme, Inc.", note: "a;b" },
        { id: "2", company: "", note: "" },
      ],
    );
  },
);

Deno.test(
  "readCsv() uses a forced delimiter instead of the detected one",
  SANITIZED,
  async (t) => {
    await using tmp = await tempFiles({ "mixed.csv": "a,b;c\n1,2;3\n" });
    const path = tmp.path("mixed.csv");
    await t.step("detected: comma on a tie", async () => {
      assert.deepEqual((await collect(path))[0]!.values, {
        a: "1",
        "b;c": "2;3",
      });
    });
    await t.step("forced: semicolon", async () => {
      const info = await scanCsv(path, { delimiter: ";" });
      assert.deepEqual([info.delimiter, info.headers], [";", ["a,b", "c"]]);
      const [record] = await collect(path, { delimiter: ";" });
      assert.deepEqual(record!.values, { "a,b": "1,2", c: "3" });
    });
    await t.step(
      "forced wrong on a fixture: the quote error names its line",
      async () => {
        await assert.rejects(scanCsv(TRICKY, { delimiter: ";" }), {
          message:
            "Cannot read recipients-tricky.csv line 3: quote in column 1 is inside an unquoted value",
        });
      },
    );
  },
);

Deno.test(
  "detectDelimiter() picks the most frequent delimiter of the first line outside quotes",
  SANITIZED,
  async (t) => {
    const cases: [string, string, string][] = [
      ["commas", "id,name,url\n1,2,3", ","],
      ["semicolons", "id;name;url\r\n1;2;3", ";"],
      ["tabs", "id\tname\turl\n", "\t"],
      ["semicolons beat a comma", "id;name,first;url", ";"],
      ["a BOM before semicolons", "\uFEFFid;name;url", ";"],
      ["quoted commas do not count", '"last, first";"city, state";zip', ";"],
      ["quoted tabs do not count", '"a\tb\tc",d,e', ","],
      ["a newline inside a quoted header", '"a\nb,c,d";e;f\n1,2,3,4,5', ";"],
      ["only the first line counts", "a;b\n1,2,3,4", ";"],
      ["comma on a tie", "a,b;c", ","],
      ["comma on a tie without commas", "a;b\tc", ","],
      ["comma without any delimiter", "name", ","],
      ["comma for empty text", "", ","],
    ];
    for (const [name, sample, expected] of cases) {
      await t.step(name, () => assert.equal(detectDelimiter(sample), expected));
    }
  },
);

Deno.test(
  "scanCsv() streams a file of many chunks with multi-byte text across chunk ends",
  SANITIZED,
  async () => {
    await using tmp = await tempFiles({ "big.csv": bigCsv(10_000) });
    const path = tmp.path("big.csv");
    assert.ok((await Deno.stat(path)).size > 3 * 64 * 1024);
    assert.deepEqual(await scanCsv(path), {
      path,
      headers: ["id", "name", "note"],
      delimiter: ",",
      count: 10_000,
      encoding: "utf-8",
      encodingBy: "content",
      ignoredColumns: 0,
    });
    let last: CsvRecord | undefined;
    for await (const record of readCsv(path)) {
      assert.equal(record.values.note, `café, 🎉 ${record.index}`);
      last = record;
    }
    assert.deepEqual(last, {
      index: 10_000,
      line: 10_001,
      values: { id: "10000", name: "Zoë 10000", note: "café, 🎉 10000" },
    });
  },
);

Deno.test(
  "readCsv() closes the file when the consumer breaks early",
  SANITIZED,
  async (t) => {
    // SANITIZED fails these steps if the file or a read is left open.
    await using tmp = await tempFiles({ "big.csv": bigCsv(10_000) });
    for (const path of [TRICKY, tmp.path("big.csv")]) {
      await t.step(path, async () => {
        const records = readCsv(path);
        for await (const record of records) {
          assert.equal(record.index, 1);
          break;
        }
        assert.deepEqual(await records.next(), {
          done: true,
          value: undefined,
        });
      });
    }
  },
);

Deno.test("readCsv() honours an abort signal", SANITIZED, async (t) => {
  await t.step("already aborted: throws before opening the file", async () => {
    const signal = AbortSignal.abort();
    await assert.rejects(readCsv("does-not-exist.csv", { signal }).next(), {
      name: "AbortError",
    });
    await assert.rejects(scanCsv(TRICKY, { signal }), { name: "AbortError" });
  });
  await t.step(
    "aborted while reading: the next step throws the reason",
    async () => {
      await using tmp = await tempFiles({ "big.csv": bigCsv(10_000) });
      const controller = new AbortController();
      const seen: number[] = [];
      const reason = new Error("stop");
      await assert.rejects(
        (async () => {
          for await (
            const record of readCsv(tmp.path("big.csv"), {
              signal: controller.signal,
            })
          ) {
            seen.push(record.index);
            if (record.index === 3) controller.abort(reason);
          }
        })(),
        (error) => error === reason,
      );
      assert.deepEqual(seen, [1, 2, 3]);
    },
  );
});

Deno.test(
  "scanCsv() rejects a missing file with a DataError naming its path",
  SANITIZED,
  async () => {
    await assert.rejects(
      scanCsv("tests/fixtures/nope.csv"),
      (error: Error) => {
        assert.ok(error instanceof DataError);
        assert.ok(error.cause instanceof Deno.errors.NotFound);
        assert.equal(error.location.source, "tests/fixtures/nope.csv");
        assert.match(error.message, /nope\.csv/);
        return true;
      },
    );
  },
);

/** Asserts that reading `path` yields `good` records, then rejects with `message`. */
async function assertLimit(
  path: string,
  options: Parameters<typeof readCsv>[1],
  good: number,
  message: string,
) {
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const record of readCsv(path, options)) {
        seen.push(record.index);
      }
    })(),
    (error: Error) => {
      assert.ok(error instanceof DataError, `${error.name}: ${error.message}`);
      assert.equal(error.message, message);
      return true;
    },
  );
  assert.deepEqual(seen, Array.from({ length: good }, (_, i) => i + 1));
  await assert.rejects(scanCsv(path, options), { name: "DataError", message });
}

Deno.test(
  "readCsv() stops with a DataError naming the file once it streams past maxBytes",
  SANITIZED,
  async (t) => {
    await using tmp = await tempFiles({
      "small.csv": "id,name\n1,Ann\n2,Bob\n",
      "big.csv": bigCsv(10_000),
    });
    await t.step("a file of exactly maxBytes is read", async () => {
      const path = tmp.path("small.csv");
      assert.equal((await scanCsv(path, { maxBytes: 20 })).count, 2);
    });
    await t.step("one byte more is not", async () => {
      await assert.rejects(scanCsv(tmp.path("small.csv"), { maxBytes: 19 }), {
        name: "DataError",
        message:
          "Cannot read small.csv: the file is longer than the limit of 19 bytes",
      });
    });
    await t.step("a file of many chunks fails in its third chunk", async () => {
      const path = tmp.path("big.csv");
      const seen: number[] = [];
      const maxBytes = 150_000;
      await assert.rejects(
        (async () => {
          for await (const record of readCsv(path, { maxBytes })) {
            seen.push(record.index);
          }
        })(),
        {
          name: "DataError",
          message:
            "Cannot read big.csv: the file is longer than the limit of 150000 bytes",
        },
      );
      // The records of the first two chunks may come first; never one past them.
      assert.ok(seen.length < 131_072 / 30, `read ${seen.length} records`);
    });
  },
);

Deno.test(
  "readCsv() yields maxRecords records, then throws a DataError naming the line",
  SANITIZED,
  async (t) => {
    await using tmp = await tempFiles({
      "five.csv": "id,name\n1,Ann\n2,Bob\n\n3,Cy\n4,Di\n5,Ed\n",
    });
    const path = tmp.path("five.csv");
    await t.step("5 records under a limit of 5", async () => {
      assert.equal((await scanCsv(path, { maxRecords: 5 })).count, 5);
    });
    await t.step("5 records over a limit of 3", async () => {
      await assertLimit(
        path,
        { maxRecords: 3 },
        3,
        "Cannot read five.csv line 6: the file has more than 3 records, the limit is 3",
      );
    });
  },
);

Deno.test(
  "readCsv() rejects a header or record with more than maxColumns columns",
  SANITIZED,
  async (t) => {
    await using tmp = await tempFiles({
      "wide-header.csv": "\na,b,c,d\n1,2,3,4\n",
      "wide-record.csv": 'a,b,c\n1,2,3\n\n"x\ny",2,3,4,5\n',
      "commas.csv": "a,b\n1,2\n" + ",".repeat(5_000_000) + "\n",
    });
    await t.step(
      "a header of 4 columns over a limit of 4 is fine",
      async () => {
        const info = await scanCsv(tmp.path("wide-header.csv"), {
          maxColumns: 4,
        });
        assert.deepEqual(info.headers, ["a", "b", "c", "d"]);
      },
    );
    const cases = [
      [
        "wide-header.csv",
        3,
        0,
        "line 2: the header has more than 3 columns, the limit is 3",
      ],
      [
        "wide-record.csv",
        3,
        1,
        "line 4: record 2 has more than 3 columns, the limit is 3",
      ],
      [
        "commas.csv",
        undefined,
        1,
        "line 3: record 2 has more than 500 columns, the limit is 500",
      ],
    ] as const;
    for (const [name, maxColumns, good, message] of cases) {
      await t.step(name, async () => {
        await assertLimit(
          tmp.path(name),
          { maxColumns },
          good,
          `Cannot read ${name} ${message}`,
        );
      });
    }
  },
);

Deno.test(
  "readCsv() rejects a value or header longer than maxFieldLength, naming the column",
  SANITIZED,
  async (t) => {
    const rows = Array.from({ length: 10 }, (_, i) => `${i + 1},ok`);
    await using tmp = await tempFiles({
      "big.csv": ["id,notes", ...rows, `11,${"n".repeat(70_000)}`].join("\n"),
      "quoted.csv": 'id,notes\n1,"ab\ncdef"\n',
      "header.csv": "id,a_long_name\n1,2\n",
    });
    await t.step("default limit: 64 KiB", async () => {
      await assertLimit(
        tmp.path("big.csv"),
        {},
        10,
        'Cannot read big.csv line 12: field "notes" of record 11 is 70000 characters long, the limit is 65536',
      );
    });
    await t.step(
      "a value of exactly the limit, line break included",
      async () => {
        const path = tmp.path("quoted.csv");
        assert.equal((await scanCsv(path, { maxFieldLength: 7 })).count, 1);
        await assertLimit(
          path,
          { maxFieldLength: 6 },
          0,
          'Cannot read quoted.csv line 2: field "notes" of record 1 is 7 characters long, the limit is 6',
        );
      },
    );
    await t.step("a header name", async () => {
      await assertLimit(
        tmp.path("header.csv"),
        { maxFieldLength: 6 },
        0,
        "Cannot read header.csv line 1: the header of column 2 is 11 characters long, the limit is 6",
      );
    });
  },
);

Deno.test(
  "scanCsv() rejects a limit that is not a positive integer before opening the file",
  SANITIZED,
  async (t) => {
    const cases = [
      ["maxBytes", 0],
      ["maxRecords", -1],
      ["maxColumns", 1.5],
      ["maxFieldLength", Number.NaN],
    ] as const;
    for (const [key, value] of cases) {
      await t.step(`${key}: ${value}`, async () => {
        await assert.rejects(scanCsv("does-not-exist.csv", { [key]: value }), {
          name: "RangeError",
          message: `${key} must be a positive integer, got ${value}`,
        });
      });
    }
  },
);
