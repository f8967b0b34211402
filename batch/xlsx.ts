/**
 * Streams the recipients of a batch out of a sheet of an .xlsx workbook,
 * as {@linkcode readCsv} does out of a CSV file: the same records, limits
 * and named errors.
 *
 * The sheet is the first (visible) one, or the one {@linkcode XlsxOptions}
 * names. Its first non-empty row is the header, by the CSV rules: names
 * trimmed, an empty or repeated name is an error, empty columns right of
 * the table are left out (a value under one is an error). Rows with no
 * value are skipped. Every cell reads as Excel shows it: a date formatted
 * dd/mm/yyyy as "31/12/2026" (not the serial number 46387), 3.5 formatted
 * 0.00 as "3.50", 0.2 as "20%", a formula as its last result, rich text as
 * its plain text, a boolean as TRUE or FALSE, an empty cell as "".
 *
 * The sheet is read as a stream: its rows are inflated, scanned and handed
 * over a chunk at a time, so a sheet of a million rows is never held whole.
 * What is held is the workbook's shared strings (each distinct text once;
 * bounded by `maxBytes`) and the number formats. A file that is not an
 * .xlsx workbook (an old .xls, a password-protected workbook, a CSV
 * renamed, an .ods) is a {@linkcode DataError} saying what it is and what
 * to do, as is a part that inflates more than 100 times (a zip bomb).
 * Errors name the file, the sheet and the row (as Excel numbers it), and
 * the column where there is one; `CsvRecord.line` is the sheet's row.
 *
 * @example Usage
 * ```ts ignore
 * import { readXlsx, scanXlsx } from "./xlsx.ts";
 *
 * const { headers, count, sheet } = await scanXlsx("list.xlsx");
 * for await (const { index, line, values } of readXlsx("list.xlsx")) {
 *   console.log(`${sheet} row ${line} (${index}/${count})`, values[headers[0]!]);
 * }
 * ```
 *
 * @module
 */
import { basename } from "node:path";
import { DataError } from "../common/errors.ts";
import { type CsvRecord, openRecipientFile } from "./csv.ts";
import {
  type Book,
  BookError,
  openBook,
  partText,
  type SheetRef,
} from "./_xlsx_book.ts";
import {
  type At,
  columnName,
  SheetError,
  type SheetRow,
  sheetScanner,
} from "./_xlsx_sheet.ts";
import { XmlError } from "./_xml.ts";

export { columnName };

/** Options for {@linkcode scanXlsx} and {@linkcode readXlsx}. */
export interface XlsxOptions {
  /**
   * The sheet to read, by its tab name (matched ignoring case, as Excel
   * does). @default the first visible sheet
   */
  sheet?: string;
  /** Stops reading: the pending or next step throws `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Bytes the .xlsx file may hold; its shared strings may hold as many
   * characters (and 32 more for each string).
   * @default {268435456} (256 MiB)
   */
  maxBytes?: number;
  /**
   * Records the sheet may hold after the header.
   * @default {1000000}
   */
  maxRecords?: number;
  /**
   * Columns the header and each record may have.
   * @default {500}
   */
  maxColumns?: number;
  /**
   * Length of a header or value in UTF-16 code units (characters, for most
   * text).
   * @default {65536} (64 KiB)
   */
  maxFieldLength?: number;
}

/** What {@linkcode scanXlsx} learns about a workbook. */
export interface XlsxInfo {
  path: string;
  /** The sheet read. */
  sheet: string;
  /** Every worksheet, in tab order. */
  sheets: string[];
  headers: string[];
  /** The sheet's row number of the header. */
  headerRow: number;
  count: number;
  /** Columns right of the table with cells but no header and no values, left out. */
  ignoredColumns: number;
}

/** The size limits of {@linkcode XlsxOptions} and their defaults. */
const LIMITS = {
  maxBytes: 256 * 1024 * 1024,
  maxRecords: 1_000_000,
  maxColumns: 500,
  maxFieldLength: 64 * 1024,
};
type _Limits = typeof LIMITS;

/**
 * Reads the whole sheet once as a stream and validates it: returns the
 * sheet, its headers and the number of records.
 *
 * @throws {DataError} Naming the file (and the sheet, row and column) when
 * the file is not an .xlsx workbook, is damaged, has no such sheet, breaks
 * a header rule or is past one of the limits in `options`.
 * @throws {RangeError} If a limit in `options` is not a positive integer.
 */
export async function scanXlsx(
  path: string,
  options: XlsxOptions = {},
): Promise<XlsxInfo> {
  const info = emptyInfo(path);
  for await (const _record of _records(path, options, info)) info.count++;
  return info;
}

/**
 * Streams the records (after the header) one by one; same errors as
 * {@linkcode scanXlsx}, thrown when the reader reaches the bad row.
 * Stopping early (`break`) closes the file.
 */
export function readXlsx(
  path: string,
  options: XlsxOptions = {},
): AsyncGenerator<CsvRecord> {
  return _records(path, options, emptyInfo(path));
}

function emptyInfo(path: string): XlsxInfo {
  return {
    path,
    sheet: "",
    sheets: [],
    headers: [],
    headerRow: 0,
    count: 0,
    ignoredColumns: 0,
  };
}

/** Opens the workbook and sheet, fills in `info`, yields the records. */
async function* _records(
  path: string,
  options: XlsxOptions,
  info: XlsxInfo,
): AsyncGenerator<CsvRecord> {
  const { signal } = options;
  const limits = _limits(options);
  signal?.throwIfAborted();
  const name = basename(path);
  using book = await _openBook(path, name, limits, signal);
  const sheet = _chooseSheet(book, options.sheet, name);
  info.sheet = sheet.name;
  info.sheets = book.sheets.map((s) => s.name);

  let row = 0;
  const fail = (detail: string, at: At = {}) =>
    new DataError(
      `Cannot read ${name} sheet "${sheet.name}"${
        row === 0 ? "" : ` row ${row}`
      }: ${detail}`,
      {
        cause: at.cause,
        location: {
          source: name,
          line: row === 0 ? undefined : row,
          record: at.record,
          field: at.field,
        },
      },
    );
  const over = (detail: string, limit: number, at?: At) =>
    fail(`${detail}, the limit is ${limit}`, at);

  const rows: SheetRow[] = [];
  let scanRow = 0;
  const scanner = sheetScanner(book, limits, rows, (n) => scanRow = n);
  let headers: string[] | undefined;
  let index = 0;
  let width = 0;
  const take = (scanned: SheetRow): CsvRecord | undefined => {
    row = scanned.number;
    width = Math.max(width, scanned.width);
    if (scanned.cells.length === 0) return undefined;
    if (headers === undefined) {
      headers = _headers(scanned, limits, fail, over);
      info.headers = headers;
      info.headerRow = row;
      return undefined;
    }
    const record = index + 1;
    if (index === limits.maxRecords) {
      throw over(
        `the sheet has more than ${limits.maxRecords} records`,
        limits.maxRecords,
        { record },
      );
    }
    const values = new Array<string>(headers.length).fill("");
    for (const cell of scanned.cells) {
      if (cell.column >= headers.length) {
        if (cell.text.trim() === "" && cell.long === undefined) continue;
        throw fail(
          `column ${
            columnName(cell.column)
          } has no header, but record ${record} has a value there (${
            JSON.stringify(cell.text.slice(0, 40))
          }): give the column a header, or delete the value`,
          { record },
        );
      }
      const field = headers[cell.column]!;
      if (cell.long !== undefined) {
        throw over(
          `field "${field}" (column ${
            columnName(cell.column)
          }) of record ${record} is ${cell.long} characters long`,
          limits.maxFieldLength,
          { record, field },
        );
      }
      values[cell.column] = cell.text;
    }
    index++;
    return {
      index,
      line: row,
      values: Object.fromEntries(headers.map((h, i) => [h, values[i]!])),
    };
  };

  // The scanner runs a chunk ahead of the records: the rows it finished
  // before a fault in the chunk are taken (and yielded) first, so records
  // and errors come in the sheet's order.
  const failure = (error: unknown, at: number): unknown => {
    row = at;
    if (error instanceof XmlError) {
      return fail(`the sheet is damaged: ${error.message}`, { cause: error });
    }
    if (error instanceof BookError) {
      return fail(error.message, { cause: error });
    }
    if (error instanceof SheetError) return fail(error.message, error.at);
    return error;
  };
  let fault: unknown;
  const chunks = partText(book.archive, sheet.entry, signal);
  try {
    while (fault === undefined) {
      let next: IteratorResult<string>;
      try {
        next = await chunks.next();
        if (next.done) scanner.end();
        else scanner.write(next.value);
      } catch (error) {
        fault = failure(error, scanRow);
        next = { done: true, value: undefined };
      }
      for (const scanned of rows.splice(0)) {
        const record = take(scanned);
        if (record === undefined) continue;
        yield record;
        signal?.throwIfAborted();
      }
      if (next.done) break;
    }
  } finally {
    await chunks.return(undefined);
  }
  if (fault !== undefined) throw fault;
  if (headers === undefined) {
    throw new DataError(
      `Cannot read ${name} sheet "${sheet.name}": the sheet is empty (it has no header row)`,
      { location: { source: name } },
    );
  }
  info.ignoredColumns = Math.max(0, width - headers.length);
}

/** Opens the workbook at `path`: a missing file or one that is no .xlsx is a DataError. */
async function _openBook(
  path: string,
  name: string,
  limits: _Limits,
  signal: AbortSignal | undefined,
): Promise<Book> {
  const file = await openRecipientFile(path);
  let size: number;
  try {
    size = (await file.stat()).size;
  } catch (error) {
    file.close();
    throw error;
  }
  if (size > limits.maxBytes) {
    file.close();
    throw new DataError(
      `Cannot read ${name}: the file is longer than the limit of ${limits.maxBytes} bytes`,
      { location: { source: name } },
    );
  }
  try {
    return await openBook(file, size, { maxStrings: limits.maxBytes, signal });
  } catch (error) {
    if (!(error instanceof BookError)) throw error;
    throw new DataError(`Cannot read ${name}: ${error.message}`, {
      cause: error,
      location: { source: name },
    });
  }
}

/**
 * The sheet named `wanted` (exactly, else ignoring case), or the first
 * visible one; a name that is no sheet is an error listing the sheets.
 */
function _chooseSheet(
  book: Book,
  wanted: string | undefined,
  name: string,
): SheetRef {
  const { sheets } = book;
  if (sheets.length === 0) {
    throw new DataError(`Cannot read ${name}: the workbook has no worksheets`, {
      location: { source: name },
    });
  }
  if (wanted === undefined || wanted === "") {
    return sheets.find((s) => !s.hidden) ?? sheets[0]!;
  }
  const folded = wanted.toLocaleLowerCase();
  const found = sheets.find((s) => s.name === wanted) ??
    sheets.find((s) => s.name.toLocaleLowerCase() === folded);
  if (found) return found;
  const list = sheets.map((s) => JSON.stringify(s.name)).join(", ");
  throw new DataError(
    `Cannot read ${name}: it has no sheet "${wanted}"; its sheets are ${list}`,
    { location: { source: name, field: wanted } },
  );
}

/**
 * The header names of `row`: trimmed; an empty or repeated one is an error,
 * empty ones right of the last named column are left out.
 */
function _headers(
  row: SheetRow,
  limits: _Limits,
  fail: (detail: string, at?: At) => DataError,
  over: (detail: string, limit: number, at?: At) => DataError,
): string[] {
  let width = 0;
  for (const cell of row.cells) {
    if (cell.text.trim() !== "" || cell.long !== undefined) {
      width = Math.max(width, cell.column + 1);
    }
  }
  if (width === 0) throw fail("the header row has no column names");
  if (width > limits.maxColumns) {
    throw over(
      `the header has more than ${limits.maxColumns} columns`,
      limits.maxColumns,
    );
  }
  const headers = new Array<string>(width).fill("");
  for (const cell of row.cells) {
    if (cell.column >= width) continue;
    if (cell.long !== undefined) {
      throw over(
        `the header of column ${
          columnName(cell.column)
        } is ${cell.long} characters long`,
        limits.maxFieldLength,
      );
    }
    headers[cell.column] = cell.text.trim();
  }
  headers.forEach((header, i) => {
    if (header === "") {
      throw fail(`column ${columnName(i)} has an empty header`, {
        field: columnName(i),
      });
    }
    const first = headers.indexOf(header);
    if (first < i) {
      throw fail(
        `column ${columnName(i)} repeats the header "${header}" of column ${
          columnName(first)
        }`,
        { field: header },
      );
    }
  });
  return headers;
}

/** The limits of `options`, defaults filled in; each a positive integer. */
function _limits(options: XlsxOptions): _Limits {
  const limits = { ...LIMITS };
  for (const key of Object.keys(LIMITS) as (keyof _Limits)[]) {
    const value = options[key] ?? LIMITS[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`${key} must be a positive integer, got ${value}`);
    }
    limits[key] = value;
  }
  return limits;
}
