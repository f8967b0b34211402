import assert from "node:assert/strict";
import { join } from "node:path";
import * as XLSX from "@e965/xlsx";
import { strToU8, type Zippable, zipSync } from "fflate";
import type { CsvRecord } from "../batch/csv.ts";
import {
  columnName,
  readXlsx,
  scanXlsx,
  type XlsxOptions,
} from "../batch/xlsx.ts";
import {
  readRecipients,
  recipientsKind,
  scanRecipients,
} from "../batch/recipients.ts";
import { formatNumber, type NumberFormat } from "../batch/_xlsx_cell.ts";
import { DataError, UsageError } from "../common/errors.ts";

/**
 * This Deno (2.9) leaves the ops and resources sanitizers off unless asked:
 * turn them on so a test fails if reading a workbook leaves its file, a read
 * or an inflater open.
 */
const SANITIZED = { sanitizeOps: true, sanitizeResources: true };

/** A fresh temp dir, removed on dispose. */
async function tempDir() {
  const dir = await Deno.makeTempDir({ prefix: "pressrun_xlsx_test_" });
  return {
    path: (name: string) => join(dir, name),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

async function collect(
  path: string,
  options?: XlsxOptions,
): Promise<CsvRecord[]> {
  const records: CsvRecord[] = [];
  for await (const record of readXlsx(path, options)) records.push(record);
  return records;
}

/** The values of each record, in header order. */
async function rows(path: string, options?: XlsxOptions): Promise<string[][]> {
  return (await collect(path, options)).map((r) => Object.values(r.values));
}

/** Asserts that `run` rejects with a DataError whose message matches `pattern`. */
async function rejectsWith(
  run: () => Promise<unknown>,
  pattern: RegExp,
): Promise<DataError> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DataError, `expected a DataError, got ${caught}`);
  assert.match(caught.message, pattern);
  return caught;
}

// ---------------------------------------------------------------------------
// Workbooks written by SheetJS (another program than the reader) ...

type SheetCell = string | number | boolean | null | XLSX.CellObject;

/** Writes a workbook of `sheets` (name → rows of cells) with SheetJS. */
async function writeSheetJs(
  path: string,
  sheets: Record<string, SheetCell[][]>,
  options: { hidden?: string[] } = {},
): Promise<void> {
  const book = XLSX.utils.book_new();
  for (const [name, data] of Object.entries(sheets)) {
    XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet(data), name);
  }
  book.Workbook ??= {};
  book.Workbook.Sheets = book.SheetNames.map((name) => ({
    name,
    Hidden: options.hidden?.includes(name) ? 1 : 0,
  })) as XLSX.SheetProps[];
  const bytes = XLSX.write(book, {
    type: "array",
    bookType: "xlsx",
    compression: true,
  }) as ArrayBuffer;
  await Deno.writeFile(path, new Uint8Array(bytes));
}

// ... and by hand, part by part, for what SheetJS does not write.

interface HandSheet {
  name: string;
  /** The inside of <sheetData>. */
  data: string;
  hidden?: boolean;
}

interface HandBook {
  sheets: HandSheet[];
  /** Each <si>'s inner XML. */
  strings?: string[];
  /** Custom number formats by id. */
  formats?: Record<number, string>;
  /** The numFmtId of each cell style (index = the `s` attribute). */
  styles?: number[];
  date1904?: boolean;
  /** Namespace prefix for the sheet's elements ("x" writes <x:row>). */
  prefix?: string;
}

const MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL =
  "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const PKG = "http://schemas.openxmlformats.org/package/2006/relationships";

/** The parts of an .xlsx as Excel lays them out, from `book`. */
function handParts(book: HandBook): Record<string, string> {
  const x = book.prefix ? `${book.prefix}:` : "";
  const ns = book.prefix ? `xmlns:${book.prefix}="${MAIN}"` : `xmlns="${MAIN}"`;
  const parts: Record<string, string> = {
    "[Content_Types].xml":
      `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>`,
    "_rels/.rels":
      `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="${PKG}"><Relationship Id="rId1" Type="${REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    "xl/workbook.xml":
      `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="${MAIN}" xmlns:r="${REL}"><workbookPr${
        book.date1904 ? ' date1904="1"' : ""
      }/><sheets>${
        book.sheets.map((s, i) =>
          `<sheet name="${s.name}" sheetId="${i + 1}"${
            s.hidden ? ' state="hidden"' : ""
          } r:id="rId${i + 1}"/>`
        ).join("")
      }</sheets></workbook>`,
    "xl/_rels/workbook.xml.rels":
      `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="${PKG}">${
        book.sheets.map((_, i) =>
          // Targets absolute, as openpyxl writes them.
          `<Relationship Id="rId${
            i + 1
          }" Type="${REL}/worksheet" Target="/xl/worksheets/sheet${
            i + 1
          }.xml"/>`
        ).join("")
      }<Relationship Id="rS" Type="${REL}/styles" Target="styles.xml"/><Relationship Id="rT" Type="${REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>`,
    "xl/styles.xml":
      `<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="${MAIN}"><numFmts>${
        Object.entries(book.formats ?? {}).map(([id, code]) =>
          `<numFmt numFmtId="${id}" formatCode="${
            code.replaceAll("&", "&amp;").replaceAll('"', "&quot;")
          }"/>`
        ).join("")
      }</numFmts><cellStyleXfs count="1"><xf numFmtId="10"/></cellStyleXfs><cellXfs>${
        (book.styles ?? [0]).map((id) => `<xf numFmtId="${id}" xfId="0"/>`)
          .join("")
      }</cellXfs></styleSheet>`,
    "xl/sharedStrings.xml":
      `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="${MAIN}">${
        (book.strings ?? []).map((s) => `<si>${s}</si>`).join("")
      }</sst>`,
  };
  book.sheets.forEach((sheet, i) => {
    parts[`xl/worksheets/sheet${i + 1}.xml`] =
      `<?xml version="1.0" encoding="UTF-8"?><${x}worksheet ${ns}><${x}dimension ref="A1"/><${x}sheetData>${sheet.data}</${x}sheetData></${x}worksheet>`;
  });
  return parts;
}

/** Zips `parts` (text or bytes) into an .xlsx at `path`. */
async function writeZip(
  path: string,
  parts: Record<string, string | Uint8Array>,
): Promise<void> {
  const files: Zippable = {};
  for (const [name, content] of Object.entries(parts)) {
    files[name] = typeof content === "string" ? strToU8(content) : content;
  }
  await Deno.writeFile(path, zipSync(files, { level: 6 }));
}

async function writeHand(path: string, book: HandBook): Promise<void> {
  await writeZip(path, handParts(book));
}

/** An inline-string cell at `ref`. */
function str(ref: string, text: string): string {
  return `<c r="${ref}" t="inlineStr"><is><t xml:space="preserve">${
    text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
  }</t></is></c>`;
}

/** A number cell at `ref`, in cell style `s`. */
function num(ref: string, value: number | string, s = 0): string {
  return `<c r="${ref}"${s ? ` s="${s}"` : ""}><v>${value}</v></c>`;
}

/** Row `n` of the cells given as XML. */
function tr(n: number, ...cells: string[]): string {
  return `<row r="${n}">${cells.join("")}</row>`;
}

/** Row `n` of inline-string and number cells from column A (null: none). */
function row(n: number, ...values: (string | number | null)[]): string {
  return tr(
    n,
    ...values.map((value, i) => {
      const ref = `${columnName(i)}${n}`;
      return value === null
        ? ""
        : typeof value === "number"
        ? num(ref, value)
        : str(ref, value);
    }),
  );
}

// ---------------------------------------------------------------------------

Deno.test(
  "readXlsx() gives dates and numbers as the cell shows them",
  SANITIZED,
  async () => {
    await using dir = await tempDir();
    const path = dir.path("formats.xlsx");
    const cell = (v: number, z: string): XLSX.CellObject => ({ t: "n", v, z });
    await writeSheetJs(path, {
      Formats: [
        ["format", "value"],
        ["dd/mm/yyyy", cell(46387, "dd/mm/yyyy")],
        ["yyyy-mm-dd", cell(46387, "yyyy-mm-dd")],
        ["d mmmm yyyy", cell(46387.75, "d mmmm yyyy")],
        ["dd/mm/yyyy hh:mm", cell(46387.75, "dd/mm/yyyy hh:mm")],
        ["0.00", cell(3.5, "0.00")],
        ["#,##0.00", cell(1234567.891, "#,##0.00")],
        ["0%", cell(0.2, "0%")],
        ["0.0%", cell(0.125, "0.0%")],
        ["pounds", cell(1234.5, '"£"#,##0.00')],
        ["euros", cell(-7, "#,##0.00 [$€-407];-#,##0.00 [$€-407]")],
        ["zip code", cell(1234, "00000")],
        ["General", 0.1 + 0.2],
        ["General integer", 42],
        ["text of digits", "0042"],
        ["boolean", true],
        ["false", false],
        ["formula", { t: "n", f: "6*7", v: 42, z: "0.0" }],
        ["error", { t: "e", v: 0x2a }],
        ["link", {
          t: "s",
          v: "our site",
          l: { Target: "https://example.com/" },
        }],
        ["empty", null],
      ],
    });
    const got = Object.fromEntries(
      (await collect(path)).map((r) => [r.values.format, r.values.value]),
    );
    assert.deepEqual(got, {
      "dd/mm/yyyy": "31/12/2026",
      "yyyy-mm-dd": "2026-12-31",
      "d mmmm yyyy": "31 December 2026",
      "dd/mm/yyyy hh:mm": "31/12/2026 18:00",
      "0.00": "3.50",
      "#,##0.00": "1,234,567.89",
      "0%": "20%",
      "0.0%": "12.5%",
      pounds: "£1,234.50",
      euros: "-7.00 €",
      "zip code": "01234",
      General: "0.3",
      "General integer": "42",
      "text of digits": "0042",
      boolean: "TRUE",
      false: "FALSE",
      formula: "42.0",
      error: "#N/A",
      link: "our site",
      empty: "",
    });
  },
);

Deno.test(
  "readXlsx() reads built-in formats, ISO date cells and the 1904 date system",
  SANITIZED,
  async (t) => {
    await using dir = await tempDir();
    // Style 0 General, 1 built-in 14 (short date), 2 built-in 10 (0.00%),
    // 3 custom dd/mm/yyyy, 4 built-in 3 (#,##0).
    const book = (date1904: boolean): HandBook => ({
      date1904,
      formats: { 164: "dd/mm/yyyy" },
      styles: [0, 14, 10, 164, 3],
      sheets: [{
        name: "S",
        data: row(1, "what", "value") +
          tr(
            2,
            str("A2", "short date"),
            num("B2", date1904 ? 44925 : 46387, 1),
          ) +
          tr(3, str("A3", "percent"), num("B3", 0.25, 2)) +
          tr(
            4,
            str("A4", "iso"),
            `<c r="B4" s="3" t="d"><v>2026-12-31T00:00:00Z</v></c>`,
          ) +
          tr(
            5,
            str("A5", "iso general"),
            `<c r="B5" t="d"><v>2026-12-31</v></c>`,
          ) +
          tr(6, str("A6", "thousands"), num("B6", 1234567, 4)),
      }],
    });
    for (const date1904 of [false, true]) {
      await t.step(date1904 ? "1904" : "1900", async () => {
        const path = dir.path(`builtin${date1904}.xlsx`);
        await writeHand(path, book(date1904));
        assert.deepEqual(await rows(path), [
          ["short date", "12/31/26"],
          ["percent", "25.00%"],
          ["iso", "31/12/2026"],
          ["iso general", "2026-12-31"],
          ["thousands", "1,234,567"],
        ]);
      });
    }
  },
);

Deno.test(
  "readXlsx() flattens rich text, leaves phonetic guides out, decodes escapes, reads prefixed XML",
  SANITIZED,
  async () => {
    await using dir = await tempDir();
    const path = dir.path("text.xlsx");
    await writeHand(path, {
      prefix: "x",
      strings: [
        "<t>name</t>",
        "<t>note</t>",
        '<r><rPr><b/></rPr><t>José </t></r><r><t xml:space="preserve">Müller</t></r>',
        '<r><t>東京</t></r><rPh sb="0" eb="2"><t>トウキョウ</t></rPh>',
        "<t>line one_x000D_\nline two &amp; more</t>",
      ],
      sheets: [{
        name: "S",
        data:
          `<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c></x:row>` +
          `<x:row r="2"><x:c r="A2" t="s"><x:v>2</x:v></x:c><x:c r="B2" t="s"><x:v>3</x:v></x:c></x:row>` +
          `<x:row r="3"><x:c r="A3" t="s"><x:v>4</x:v></x:c><x:c r="B3" t="inlineStr"><x:is><x:r><x:t>in</x:t></x:r><x:r><x:t>line</x:t></x:r></x:is></x:c></x:row>` +
          `<x:row r="4"><x:c r="A4" t="str"><x:f>A2&amp;"!"</x:f><x:v>José Müller!</x:v></x:c><x:c r="B4" t="e"><x:v>#DIV/0!</x:v></x:c></x:row>`,
      }],
    });
    assert.deepEqual(await rows(path), [
      ["José Müller", "東京"],
      ["line one\r\nline two & more", "inline"],
      ["José Müller!", "#DIV/0!"],
    ]);
  },
);

Deno.test(
  "readXlsx() reads the first visible sheet, or the one named, in tab order",
  SANITIZED,
  async (t) => {
    await using dir = await tempDir();
    const path = dir.path("sheets.xlsx");
    await writeSheetJs(path, {
      Lookup: [["code"], ["x"]],
      Mailing: [["name"], ["Ada"]],
      "Q4 2026": [["name"], ["Grace"]],
    }, { hidden: ["Lookup"] });
    await t.step("first visible sheet", async () => {
      const info = await scanXlsx(path);
      assert.equal(info.sheet, "Mailing");
      assert.deepEqual(info.sheets, ["Lookup", "Mailing", "Q4 2026"]);
      assert.deepEqual(await rows(path), [["Ada"]]);
    });
    await t.step("named, ignoring case", async () => {
      assert.deepEqual(await rows(path, { sheet: "q4 2026" }), [["Grace"]]);
      assert.equal(
        (await scanXlsx(path, { sheet: "Q4 2026" })).sheet,
        "Q4 2026",
      );
    });
    await t.step("a hidden sheet when named", async () => {
      assert.deepEqual(await rows(path, { sheet: "Lookup" }), [["x"]]);
    });
    await t.step(
      "the first sheet of the tab order, not of the part names",
      async () => {
        // sheet2.xml comes first in the workbook's tab order.
        const second = dir.path("order.xlsx");
        const parts = handParts({
          sheets: [
            { name: "Old", data: row(1, "name") + row(2, "old") },
            { name: "New", data: row(1, "name") + row(2, "new") },
          ],
        });
        parts["xl/workbook.xml"] = parts["xl/workbook.xml"]!.replace(
          /<sheets>(<sheet [^>]*>)(<sheet [^>]*>)<\/sheets>/,
          "<sheets>$2$1</sheets>",
        );
        await writeZip(second, parts);
        assert.deepEqual(await rows(second), [["new"]]);
      },
    );
  },
);

Deno.test(
  "readXlsx() refuses an unknown sheet, listing the sheets",
  SANITIZED,
  async () => {
    await using dir = await tempDir();
    const path = dir.path("sheets.xlsx");
    await writeSheetJs(path, { People: [["name"]], Extra: [["x"]] });
    const error = await rejectsWith(
      () => scanXlsx(path, { sheet: "Peeple" }),
      /^Cannot read sheets\.xlsx: it has no sheet "Peeple"; its sheets are "People", "Extra"$/,
    );
    assert.deepEqual(error.location, {
      source: "sheets.xlsx",
      field: "Peeple",
    });
  },
);

Deno.test(
  "readXlsx() takes the first non-empty row as the header, trimmed, and skips empty rows",
  SANITIZED,
  async () => {
    await using dir = await tempDir();
    const path = dir.path("rows.xlsx");
    await writeHand(path, {
      styles: [0, 2],
      sheets: [{
        name: "List",
        data: `<row r="1"><c r="A1" s="1"/><c r="B1" s="1"/></row>` +
          row(3, "  name ", "city\t") +
          row(4, "Ada", "London") +
          `<row r="5" ht="30" customHeight="1"><c r="A5" s="1"/></row>` +
          row(7, null, "Paris") +
          row(9, "Grace", null),
      }],
    });
    const info = await scanXlsx(path);
    assert.deepEqual(
      { headers: info.headers, headerRow: info.headerRow, count: info.count },
      { headers: ["name", "city"], headerRow: 3, count: 3 },
    );
    assert.deepEqual(await collect(path), [
      { index: 1, line: 4, values: { name: "Ada", city: "London" } },
      { index: 2, line: 7, values: { name: "", city: "Paris" } },
      { index: 3, line: 9, values: { name: "Grace", city: "" } },
    ]);
  },
);

Deno.test(
  "readXlsx() applies the CSV header rules, naming sheet, row and column",
  SANITIZED,
  async (t) => {
    await using dir = await tempDir();
    const cases: [string, string, RegExp, object][] = [
      [
        "an empty header",
        row(2, "name", " ", "city"),
        /^Cannot read case\.xlsx sheet "List" row 2: column B has an empty header$/,
        { source: "case.xlsx", line: 2, record: undefined, field: "B" },
      ],
      [
        "a repeated header",
        row(1, "name", "city", "Name", "name"),
        /^Cannot read case\.xlsx sheet "List" row 1: column D repeats the header "name" of column A$/,
        { source: "case.xlsx", line: 1, record: undefined, field: "name" },
      ],
      [
        "a value under an empty trailing header",
        row(1, "name", "city") + row(2, "Ada", "London") +
        row(3, "Grace", "Paris", null, "oops"),
        /^Cannot read case\.xlsx sheet "List" row 3: column D has no header, but record 2 has a value there \("oops"\): give the column a header, or delete the value$/,
        { source: "case.xlsx", line: 3, record: 2, field: undefined },
      ],
      [
        "an empty sheet",
        `<row r="1"><c r="A1" s="0"/></row>`,
        /^Cannot read case\.xlsx sheet "List": the sheet is empty \(it has no header row\)$/,
        { source: "case.xlsx" },
      ],
    ];
    for (const [name, data, pattern, location] of cases) {
      await t.step(name, async () => {
        const path = dir.path("case.xlsx");
        await writeHand(path, { sheets: [{ name: "List", data }] });
        const error = await rejectsWith(() => scanXlsx(path), pattern);
        assert.deepEqual(error.location, location);
      });
    }
  },
);

Deno.test(
  "readXlsx() leaves out trailing columns with no header and no values",
  SANITIZED,
  async () => {
    await using dir = await tempDir();
    const path = dir.path("trailing.xlsx");
    // Excel keeps cells right of the table once they were touched: empty,
    // styled, or holding blanks.
    await writeHand(path, {
      styles: [0, 2],
      sheets: [{
        name: "List",
        data: tr(
          1,
          str("A1", "name"),
          str("B1", "city"),
          `<c r="C1" s="1"/>`,
          str("D1", " "),
        ) +
          tr(
            2,
            str("A2", "Ada"),
            str("B2", "London"),
            `<c r="E2" s="1"/>`,
            str("F2", "  "),
          ),
      }],
    });
    const info = await scanXlsx(path);
    assert.deepEqual(
      { headers: info.headers, ignoredColumns: info.ignoredColumns },
      { headers: ["name", "city"], ignoredColumns: 4 },
    );
    assert.deepEqual(await rows(path), [["Ada", "London"]]);
  },
);

Deno.test(
  "readXlsx() holds to the limits, naming the row and column",
  SANITIZED,
  async (t) => {
    await using dir = await tempDir();
    const path = dir.path("limits.xlsx");
    await writeHand(path, {
      sheets: [{
        name: "List",
        data: row(1, "name", "note") + row(2, "Ada", "short") +
          row(3, "Grace", "x".repeat(300)) + row(4, "Linus", "ok"),
      }],
    });
    await t.step("maxRecords", async () => {
      await rejectsWith(
        () => scanXlsx(path, { maxRecords: 2 }),
        /^Cannot read limits\.xlsx sheet "List" row 4: the sheet has more than 2 records, the limit is 2$/,
      );
      assert.equal((await scanXlsx(path, { maxRecords: 3 })).count, 3);
    });
    await t.step("maxFieldLength", async () => {
      const error = await rejectsWith(
        () => scanXlsx(path, { maxFieldLength: 100 }),
        /^Cannot read limits\.xlsx sheet "List" row 3: field "note" \(column B\) of record 2 is 300 characters long, the limit is 100$/,
      );
      assert.deepEqual(error.location, {
        source: "limits.xlsx",
        line: 3,
        record: 2,
        field: "note",
      });
      await rejectsWith(
        () => scanXlsx(path, { maxFieldLength: 3 }),
        /row 1: the header of column A is 4 characters long, the limit is 3$/,
      );
    });
    await t.step("maxColumns", async () => {
      await rejectsWith(
        () => scanXlsx(path, { maxColumns: 1 }),
        /row 1: the header has more than 1 columns, the limit is 1$/,
      );
    });
    await t.step("maxBytes", async () => {
      const { size } = await Deno.stat(path);
      await rejectsWith(
        () => scanXlsx(path, { maxBytes: size - 1 }),
        new RegExp(
          `^Cannot read limits\\.xlsx: the file is longer than the limit of ${
            size - 1
          } bytes$`,
        ),
      );
    });
    await t.step("a limit that is not a positive integer", async () => {
      await assert.rejects(() => scanXlsx(path, { maxRecords: 0 }), RangeError);
    });
  },
);

Deno.test(
  "readXlsx() says what a file that is no .xlsx workbook is, and what to do",
  SANITIZED,
  async (t) => {
    await using dir = await tempDir();
    const ole = (names: string) => {
      const bytes = new Uint8Array(4096);
      bytes.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
      for (const [i, c] of [...names].entries()) {
        bytes[1024 + 2 * i] = c.charCodeAt(0);
      }
      return bytes;
    };
    const cases: [string, Uint8Array | string, RegExp][] = [
      [
        "renamed.xlsx",
        "name,city\nAda,London\n",
        /^Cannot read renamed\.xlsx: it is a text file \(a CSV\?\), not an \.xlsx workbook: if it is CSV, name it \.csv$/,
      ],
      [
        "old.xls",
        ole("Root Entry\0Workbook\0SummaryInformation"),
        /^Cannot read old\.xls: it is an Excel 97-2003 workbook \(\.xls\), which is not read: open it in Excel and save it as \.xlsx/,
      ],
      [
        "secret.xlsx",
        ole("Root Entry\0EncryptionInfo\0EncryptedPackage"),
        /^Cannot read secret\.xlsx: the workbook is protected by a password \(encrypted\): open it in Excel, remove the password/,
      ],
      [
        "page.xls",
        "<html><body><table><tr><td>name</td></tr></table></body></html>",
        /^Cannot read page\.xls: it is an HTML or XML file, not an \.xlsx workbook/,
      ],
      [
        "empty.xlsx",
        "",
        /^Cannot read empty\.xlsx: the file is empty$/,
      ],
      [
        "letter.xlsx",
        zipSync({ "word/document.xml": strToU8("<w:document/>") }),
        /^Cannot read letter\.xlsx: it is a Word document, not an \.xlsx workbook \(it has no xl\/workbook\.xml\)/,
      ],
      [
        "calc.xlsx",
        zipSync({
          mimetype: strToU8("application/vnd.oasis.opendocument.spreadsheet"),
          "content.xml": strToU8("<office:document-content/>"),
        }),
        /^Cannot read calc\.xlsx: it is an OpenDocument spreadsheet \(\.ods\)/,
      ],
      [
        "binary.xlsx",
        new Uint8Array([
          0x89,
          0x50,
          0x4e,
          0x47,
          0x0d,
          0x0a,
          0x1a,
          0x0a,
          0,
          0,
          0,
        ]),
        /^Cannot read binary\.xlsx: it is not an \.xlsx workbook \(an \.xlsx is a zip file, and this is not one\)/,
      ],
    ];
    for (const [name, content, pattern] of cases) {
      await t.step(name, async () => {
        const path = dir.path(name);
        if (typeof content === "string") {
          await Deno.writeTextFile(path, content);
        } else await Deno.writeFile(path, content);
        const error = await rejectsWith(() => scanXlsx(path), pattern);
        assert.deepEqual(error.location, { source: name });
      });
    }
    await t.step("a cut-short download", async () => {
      const path = dir.path("cut.xlsx");
      await writeSheetJs(path, { S: [["name"], ["Ada"]] });
      const bytes = await Deno.readFile(path);
      await Deno.writeFile(path, bytes.subarray(0, bytes.length - 100));
      await rejectsWith(
        () => scanXlsx(path),
        /^Cannot read cut\.xlsx: it is damaged or incomplete: there is no zip directory at its end; save or download it again$/,
      );
    });
    await t.step("no such file", async () => {
      const path = dir.path("missing.xlsx");
      await rejectsWith(
        () => scanXlsx(path),
        /^Cannot read .*missing\.xlsx: there is no such file$/,
      );
    });
  },
);

Deno.test(
  "readXlsx() stops a sheet that inflates more than 100 times (a zip bomb)",
  SANITIZED,
  async () => {
    await using dir = await tempDir();
    const path = dir.path("bomb.xlsx");
    // 64 MiB of blanks between two rows deflates to about 64 KiB.
    const parts = handParts({
      sheets: [{ name: "S", data: row(1, "name") + row(2, "Ada") }],
    });
    const sheet = parts["xl/worksheets/sheet1.xml"]!;
    const at = sheet.indexOf("</row>") + 6;
    const bytes = new Uint8Array(at + 64 * 1024 * 1024 + sheet.length - at);
    bytes.set(strToU8(sheet.slice(0, at)));
    bytes.fill(0x20, at, at + 64 * 1024 * 1024);
    bytes.set(strToU8(sheet.slice(at)), at + 64 * 1024 * 1024);
    await writeZip(path, { ...parts, "xl/worksheets/sheet1.xml": bytes });
    await rejectsWith(
      () => scanXlsx(path),
      /^Cannot read bomb\.xlsx sheet "S"(?: row 1)?: its part xl\/worksheets\/sheet1\.xml inflates to more than \d+ bytes \(\d+ compressed\): it may be a zip bomb$/,
    );
  },
);

Deno.test(
  "readXlsx() names the row of damaged sheet XML, after the records before it",
  SANITIZED,
  async () => {
    await using dir = await tempDir();
    const path = dir.path("damaged.xlsx");
    await writeHand(path, {
      sheets: [{
        name: "S",
        data: row(1, "name") + row(2, "Ada") +
          `<row r="3"><c r="A3" t="inlineStr"><is><t>Grace</is></c></row>`,
      }],
    });
    const seen: string[] = [];
    await rejectsWith(
      async () => {
        for await (const r of readXlsx(path)) seen.push(r.values.name!);
      },
      /^Cannot read damaged\.xlsx sheet "S" row 3: the sheet is damaged: <\/is> closes <t>$/,
    );
    assert.deepEqual(seen, ["Ada"]);
  },
);

Deno.test(
  "readXlsx() streams 100,000 rows of dates and numbers, and stops early when left",
  SANITIZED,
  async () => {
    await using dir = await tempDir();
    const path = dir.path("big.xlsx");
    const n = 100_000;
    const data: SheetCell[][] = [["id", "name", "joined", "amount", "share"]];
    for (let i = 1; i <= n; i++) {
      data.push([
        i,
        `Zoë ${i}`,
        { t: "n", v: 46023 + (i % 365), z: "dd/mm/yyyy" },
        { t: "n", v: i / 4, z: "#,##0.00" },
        { t: "n", v: (i % 100) / 100, z: "0%" },
      ]);
    }
    await writeSheetJs(path, { Recipients: data });
    const info = await scanXlsx(path);
    assert.equal(info.count, n);
    let last: CsvRecord | undefined;
    for await (const record of readXlsx(path)) last = record;
    assert.deepEqual(last, {
      index: n,
      line: n + 1,
      values: {
        id: "100000",
        name: "Zoë 100000",
        joined: "22/12/2026",
        amount: "25,000.00",
        share: "0%",
      },
    });
    // Leaving the loop early closes the file and the inflater (sanitizers).
    for await (const record of readXlsx(path)) {
      if (record.index === 3) break;
    }
  },
);

Deno.test(
  "readRecipients() reads a CSV file and a workbook of the same list alike",
  SANITIZED,
  async (t) => {
    await using dir = await tempDir();
    const csv = dir.path("list.csv");
    const xlsx = dir.path("list.xlsx");
    await Deno.writeTextFile(
      csv,
      "name,joined,amount\nAda,31/12/2026,3.50\nGrace,01/01/2027,10.00\n",
    );
    await writeSheetJs(xlsx, {
      List: [
        ["name", "joined", "amount"],
        ["Ada", { t: "n", v: 46387, z: "dd/mm/yyyy" }, {
          t: "n",
          v: 3.5,
          z: "0.00",
        }],
        ["Grace", { t: "n", v: 46388, z: "dd/mm/yyyy" }, {
          t: "n",
          v: 10,
          z: "0.00",
        }],
      ],
    });
    const records = async (path: string) => {
      const out: CsvRecord[] = [];
      for await (const r of readRecipients(path)) out.push(r);
      return out;
    };
    await t.step("same records", async () => {
      assert.deepEqual(await records(xlsx), await records(csv));
    });
    await t.step("the kind and what it tells", async () => {
      const a = await scanRecipients(csv);
      const b = await scanRecipients(xlsx, { sheet: "list" });
      assert.equal(a.kind, "csv");
      assert.equal(b.kind, "xlsx");
      assert.equal(a.kind === "csv" && a.delimiter, ",");
      assert.equal(b.kind === "xlsx" && b.sheet, "List");
      assert.deepEqual([a.headers, a.count], [b.headers, b.count]);
    });
    await t.step(
      "a workbook stored under a .csv name is read as one",
      async () => {
        const stored = dir.path("data.csv");
        await Deno.copyFile(xlsx, stored);
        assert.equal(await recipientsKind(stored), "xlsx");
        assert.deepEqual(await records(stored), await records(csv));
      },
    );
    await t.step("a sheet asked of a CSV file is a usage error", async () => {
      await assert.rejects(
        () => scanRecipients(csv, { sheet: "List" }),
        (error: unknown) =>
          error instanceof UsageError &&
          error.message ===
            'Cannot read sheet "List" of list.csv: it is a CSV file, which has no sheets',
      );
    });
    await t.step("a CSV renamed .xlsx is refused", async () => {
      const renamed = dir.path("renamed.xlsx");
      await Deno.copyFile(csv, renamed);
      await rejectsWith(
        () => scanRecipients(renamed),
        /it is a text file \(a CSV\?\)/,
      );
    });
  },
);

Deno.test("columnName() names columns as Excel does", () => {
  assert.deepEqual(
    [0, 1, 25, 26, 27, 51, 52, 701, 702, 16383].map(columnName),
    ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA", "XFD"],
  );
});

Deno.test(
  "formatNumber() gives SSF's text for the plain formats it does itself",
  () => {
    // A fixed pseudo-random sweep: negatives, tiny and huge values, whole
    // numbers, cents, and values on a rounding tie (left to SSF).
    let seed = 7;
    const random = () =>
      (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const formats: NumberFormat[] = [
      1,
      2,
      3,
      4,
      9,
      10,
      "0",
      "0.00",
      "#,##0",
      "#,##0.00",
      "0%",
      "0.0%",
      "0.000",
    ];
    for (const format of formats) {
      for (let i = 0; i < 3000; i++) {
        let value = (random() - 0.3) * 10 ** Math.floor(random() * 14 - 4);
        if (i % 5 === 0) value = Math.round(value * 100) / 100;
        if (i % 7 === 0) value = Math.round(value);
        if (i % 11 === 0) value = Math.round(value) + 0.005;
        assert.equal(
          formatNumber(value, format, false),
          String(XLSX.SSF.format(format, value)).trim(),
          `${value} in ${format}`,
        );
      }
    }
  },
);

Deno.test(
  "readXlsx() stops when its signal is aborted, closing the file",
  SANITIZED,
  async () => {
    await using dir = await tempDir();
    const path = dir.path("abort.xlsx");
    const data = [row(1, "n")];
    for (let i = 2; i <= 20_000; i++) data.push(row(i, i));
    await writeHand(path, { sheets: [{ name: "S", data: data.join("") }] });
    const controller = new AbortController();
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const r of readXlsx(path, { signal: controller.signal })) {
        seen.push(r.index);
        if (r.index === 5) controller.abort(new Error("stopped"));
      }
    }, /stopped/);
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  },
);
