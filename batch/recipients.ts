/**
 * Opens a recipient list whatever its kind — a CSV file or an .xlsx
 * workbook — and reads it as {@linkcode CsvRecord}s: one entry point for
 * the command line, the API and the web page.
 *
 * The kind is found from the file's first bytes (a zip file is a workbook;
 * so is an OLE file, which the workbook reader names as an .xls or a
 * password-protected workbook), or from its name when the bytes say text:
 * a name ending in .xlsx, .xlsm, .xls, .xlsb or .ods is read as a workbook
 * (whose reader then says the file is text, a CSV renamed), anything else as
 * CSV. So an upload stored as `data.csv` is read right whichever it is.
 *
 * @example Usage
 * ```ts ignore
 * import { readRecipients, scanRecipients } from "./recipients.ts";
 *
 * const info = await scanRecipients("list.xlsx", { sheet: "Mailing" });
 * if (info.kind === "xlsx") console.log(`sheet ${info.sheet}`);
 * for await (const { values } of readRecipients("list.xlsx", { sheet: "Mailing" })) {
 *   console.log(values[info.headers[0]!]);
 * }
 * ```
 *
 * @module
 */
import { basename, extname } from "node:path";
import { UsageError } from "../common/errors.ts";
import {
  type CsvInfo,
  type CsvOptions,
  type CsvRecord,
  openRecipientFile,
  readCsv,
  scanCsv,
} from "./csv.ts";
import { readXlsx, scanXlsx, type XlsxInfo, type XlsxOptions } from "./xlsx.ts";

/** The kinds of recipient list read. */
export type RecipientsKind = "csv" | "xlsx";

/**
 * Options for {@linkcode scanRecipients} and {@linkcode readRecipients}:
 * those of {@linkcode CsvOptions} (`delimiter` and `encoding` apply to CSV
 * only; the limits to both), and the sheet of a workbook.
 */
export interface RecipientsOptions extends CsvOptions {
  /**
   * The sheet of an .xlsx workbook to read, by its tab name (ignoring
   * case). Naming one for a CSV file is a {@linkcode UsageError}.
   * @default the workbook's first visible sheet
   */
  sheet?: string;
}

/** What {@linkcode scanRecipients} learns: the reader's info and the kind. */
export type RecipientsInfo =
  | (CsvInfo & { kind: "csv" })
  | (XlsxInfo & { kind: "xlsx" });

/** File name endings read as a workbook even when the bytes are text. */
const WORKBOOK_EXTENSIONS = new Set([
  ".xlsx",
  ".xlsm",
  ".xltx",
  ".xltm",
  ".xls",
  ".xlsb",
  ".ods",
]);
/** Zip (local header or empty archive) and OLE compound file signatures. */
const MAGIC = [[0x50, 0x4b, 0x03, 0x04], [0x50, 0x4b, 0x05, 0x06], [
  0xd0,
  0xcf,
  0x11,
  0xe0,
]];

/**
 * Whether `path` holds a CSV file or a workbook, from its first bytes and
 * then its name.
 *
 * @throws {DataError} When there is no file at `path`.
 */
export async function recipientsKind(path: string): Promise<RecipientsKind> {
  const head = new Uint8Array(4);
  let got = 0;
  {
    using file = await openRecipientFile(path);
    while (got < head.length) {
      const n = await file.read(head.subarray(got));
      if (n === null) break;
      got += n;
    }
  }
  if (got === 4 && MAGIC.some((m) => m.every((b, i) => head[i] === b))) {
    return "xlsx";
  }
  return WORKBOOK_EXTENSIONS.has(extname(path).toLowerCase()) ? "xlsx" : "csv";
}

/**
 * Reads the whole list once and validates it, as {@linkcode scanCsv} or
 * {@linkcode scanXlsx} does: headers, the number of records, and what the
 * kind tells (a CSV's delimiter and encoding, a workbook's sheets).
 *
 * @throws {DataError} As the reader of its kind throws them.
 * @throws {UsageError} When `options.sheet` names a sheet of a CSV file.
 */
export async function scanRecipients(
  path: string,
  options: RecipientsOptions = {},
): Promise<RecipientsInfo> {
  const kind = await recipientsKind(path);
  if (kind === "xlsx") {
    return { kind, ...await scanXlsx(path, _xlsxOptions(options)) };
  }
  _noSheet(path, options);
  return { kind, ...await scanCsv(path, _csvOptions(options)) };
}

/**
 * Streams the records of the list one by one, as {@linkcode readCsv} or
 * {@linkcode readXlsx} does; stopping early (`break`) closes the file.
 *
 * @throws {DataError} As the reader of its kind throws them.
 * @throws {UsageError} When `options.sheet` names a sheet of a CSV file.
 */
export async function* readRecipients(
  path: string,
  options: RecipientsOptions = {},
): AsyncGenerator<CsvRecord> {
  options.signal?.throwIfAborted();
  if (await recipientsKind(path) === "xlsx") {
    yield* readXlsx(path, _xlsxOptions(options));
  } else {
    _noSheet(path, options);
    yield* readCsv(path, _csvOptions(options));
  }
}

/** A sheet asked of a CSV file is a usage error. */
function _noSheet(path: string, options: RecipientsOptions): void {
  if (options.sheet === undefined || options.sheet === "") return;
  throw new UsageError(
    `Cannot read sheet "${options.sheet}" of ${
      basename(path)
    }: it is a CSV file, which has no sheets`,
    { location: { source: basename(path), field: "sheet" } },
  );
}

function _xlsxOptions(options: RecipientsOptions): XlsxOptions {
  const { sheet, signal, maxBytes, maxRecords, maxColumns, maxFieldLength } =
    options;
  return { sheet, signal, maxBytes, maxRecords, maxColumns, maxFieldLength };
}

function _csvOptions(options: RecipientsOptions): CsvOptions {
  const { sheet: _, ...csv } = options;
  return csv;
}
