/**
 * Streams the recipients of a batch out of a CSV file.
 *
 * The file is read in chunks and csv-parse parses each as it comes, so a list
 * of any length is read in constant memory. It must have a header row; RFC
 * 4180 quoting, CRLF, LF or CR line ends (even mixed) and `,` `;` or tab
 * delimiters are understood, in UTF-8, UTF-16 or Windows-1252 (found from the
 * bytes, `encoding.ts`; a file is never read as UTF-8 unless it is). Columns
 * right of the table with no header and no values (Excel writes them once a
 * cell there was touched) are left out. Values are kept exactly as written: no
 * trimming, no casting, so `=1+1` stays a string. Every malformation, and a
 * file past one of the size limits of {@linkcode CsvOptions}, is a
 * {@linkcode DataError} whose message and `location` name the file and the
 * line (and the record and column where there is one).
 *
 * @example Usage
 * ```ts ignore
 * import { readCsv, scanCsv } from "./csv.ts";
 *
 * const { headers, count } = await scanCsv("recipients.csv");
 * for await (const { index, values } of readCsv("recipients.csv")) {
 *   console.log(`${index}/${count}`, values[headers[0]!]);
 * }
 * ```
 *
 * @module
 */
import { basename } from "node:path";
import { type CsvError, type InfoRecord, parse } from "csv-parse";
import { type Delimiter, detectDelimiter } from "../common/rules.js";
import { abortable } from "../common/async.ts";
import { DataError, type InputLocation } from "../common/errors.ts";
import {
  DecodeError,
  detectEncoding,
  type Encoding,
  LABELS,
  StrictDecoder,
} from "./encoding.ts";

export { type Delimiter, detectDelimiter };

/** One data row of the CSV. */
export interface CsvRecord {
  /** 1-based record number (first data row after the header is 1). */
  index: number;
  /** 1-based line number in the file where this record starts. */
  line: number;
  /** Values by header name (every header present; missing trailing cells never happen because ragged rows are errors). */
  values: Record<string, string>;
}

/** Options for {@linkcode scanCsv} and {@linkcode readCsv}. */
export interface CsvOptions {
  /** Force a delimiter. @default auto-detected from the header line */
  delimiter?: Delimiter;
  /** Force the text encoding. @default detected from the first 64 KiB */
  encoding?: Encoding;
  /** Stops reading: the pending or next step throws `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Bytes the file may hold, counted as it streams.
   * @default {268435456} (256 MiB)
   */
  maxBytes?: number;
  /**
   * Records the file may hold after the header.
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
   * text). Records are also capped at 1 MiB whatever this says.
   * @default {65536} (64 KiB)
   */
  maxFieldLength?: number;
}

/** What {@linkcode scanCsv} learns about a CSV file. */
export interface CsvInfo {
  path: string;
  headers: string[];
  delimiter: Delimiter;
  count: number;
  /** The text encoding the file was read in. */
  encoding: Encoding;
  /** How the encoding was found: from a byte order mark, the bytes, or given. */
  encodingBy: "bom" | "content" | "forced";
  /** Columns right of the table with no header and no values, left out. */
  ignoredColumns: number;
}

/** Bytes read for the delimiter detection, and per chunk of the stream. */
const CHUNK_SIZE = 64 * 1024;
/** Bounds the memory an unclosed quote can make the parser buffer. */
const MAX_RECORD_BYTES = 1024 * 1024;
const LINE_BREAK = /\r\n|\r|\n/g;
/** The size limits of {@linkcode CsvOptions} and their defaults. */
const LIMITS = {
  maxBytes: 256 * 1024 * 1024,
  maxRecords: 1_000_000,
  maxColumns: 500,
  maxFieldLength: 64 * 1024,
};
type _Limits = typeof LIMITS;
/** Thrown from the parser's hooks to halt it; never leaves this module. */
const STOP = new Error("stop");

/**
 * What the parser hands over, in file order: a record, the first parse
 * error, or a record that grew past `maxColumns` (`empty_lines` as in its
 * info).
 */
type _Parsed =
  | { record: string[]; info: InfoRecord }
  | { error: CsvError }
  | { wide: { empty_lines: number } };

/**
 * Reads the whole file once as a stream and validates it: returns headers,
 * delimiter and the number of records.
 *
 * @throws {DataError} Naming the file and line on any malformation, naming
 * the file and the limit when it is past one of the limits in `options`, and
 * naming the path when there is no file there.
 * @throws {RangeError} If a limit in `options` is not a positive integer.
 */
export async function scanCsv(
  path: string,
  options: CsvOptions = {},
): Promise<CsvInfo> {
  const info = emptyInfo(path);
  for await (const _record of _records(path, options, info)) info.count++;
  return info;
}

/**
 * Streams the records (after the header) one by one; same errors as
 * {@linkcode scanCsv}, thrown when the reader reaches the bad line. Stopping
 * early (`break`) closes the file.
 */
export function readCsv(
  path: string,
  options: CsvOptions = {},
): AsyncGenerator<CsvRecord> {
  return _records(path, options, emptyInfo(path));
}

function emptyInfo(path: string): CsvInfo {
  return {
    path,
    headers: [],
    delimiter: ",",
    count: 0,
    encoding: "utf-8",
    encodingBy: "content",
    ignoredColumns: 0,
  };
}

/** Parses `path`, fills in `info.headers` and `info.delimiter`, yields records. */
async function* _records(
  path: string,
  options: CsvOptions,
  info: CsvInfo,
): AsyncGenerator<CsvRecord> {
  const { delimiter, signal } = options;
  const limits = _limits(options);
  signal?.throwIfAborted();
  const name = basename(path);
  using file = await openRecipientFile(path);
  const sample = new Uint8Array(CHUNK_SIZE);
  const sampled = await file.read(sample) ?? 0;
  try {
    const found = detectEncoding(sample.subarray(0, sampled), options.encoding);
    info.encoding = found.encoding;
    info.encodingBy = found.by;
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    throw await _undecodable(path, name, error, undefined);
  }
  info.delimiter = delimiter ??
    detectDelimiter(
      new TextDecoder(info.encoding).decode(sample.subarray(0, sampled)),
    );
  await file.seek(0, Deno.SeekMode.Start);
  const decoder = new StrictDecoder(info.encoding);

  // The parser runs synchronously on each chunk written to it. Its hooks take
  // the records and the first error or column overflow, in file order, so its
  // stream side buffers nothing; throwing STOP from a hook halts it there.
  const parsed: _Parsed[] = [];
  const parser = parse({
    bom: true,
    // Sees each field as it ends: a line of nothing but delimiters stops at
    // maxColumns instead of growing an array of millions of fields.
    cast: (value, { empty_lines, index }) => {
      if (index < limits.maxColumns) return value;
      parsed.push({ wide: { empty_lines } });
      throw STOP;
    },
    delimiter: info.delimiter,
    max_record_size: MAX_RECORD_BYTES,
    record_delimiter: ["\r\n", "\n", "\r"],
    // Ragged rows are reported below, where the record number is known; the
    // record's info still carries csv-parse's error for them.
    relax_column_count: true,
    skip_empty_lines: true,
    // Going on after an error would not just waste time: csv-parse builds an
    // error quoting the whole field for every stray quote that follows.
    skip_records_with_error: true,
    on_skip: (error) => {
      if (!error) return;
      parsed.push({ error });
      throw STOP;
    },
    on_record: (record, at) => {
      parsed.push({ record: record as unknown as string[], info: at });
      return null; // taken: nothing for the stream to buffer
    },
  });
  const ended = new Promise<void>((resolve) => {
    parser.once("finish", resolve);
    parser.on("error", (error) => {
      if (error !== STOP) parsed.push({ error: error as CsvError });
      resolve();
    });
  });

  let total = 0;
  let reading: Promise<unknown> | undefined;
  /** Feeds the parser the next chunk; false once the file is parsed. */
  const step = async () => {
    const chunk = new Uint8Array(CHUNK_SIZE);
    const read = file.read(chunk);
    reading = read.catch(() => {});
    const size = await abortable(read, signal);
    if (size === null) {
      parser.write(decode());
      parser.end();
      await ended;
      return false;
    }
    total += size;
    if (total > limits.maxBytes) {
      throw new DataError(
        `Cannot read ${name}: the file is longer than the limit of ${limits.maxBytes} bytes`,
        { location: { source: name } },
      );
    }
    parser.write(decode(chunk.subarray(0, size)));
    return true;
  };
  /** The text of the next bytes; bytes the encoding cannot hold are an error naming their line. */
  let undecodable: DecodeError | undefined;
  const decode = (bytes?: Uint8Array): string => {
    try {
      return decoder.decode(bytes);
    } catch (error) {
      if (error instanceof DecodeError) undecodable = error;
      throw error;
    }
  };

  // csv-parse counts a CRLF inside quotes as two lines, so `info.lines` can
  // run ahead: each start line is derived from the end of the previous record
  // plus the blank lines the parser skipped since.
  let line = 1;
  let skipped = 0;
  /** An error at the start of the current record. */
  const fail: _Fail = (detail, at = {}) =>
    new DataError(`Cannot read ${name} line ${line}: ${detail}`, {
      cause: at.cause,
      location: { source: name, line, record: at.record, field: at.field },
    });
  /** A limit passed at the start of the current record. */
  const over = (detail: string, limit: number, at?: _At) =>
    fail(`${detail}, the limit is ${limit}`, at);
  try {
    let headers: string[] | undefined;
    let index = 0;
    let more = true;
    while (more) {
      try {
        more = await step();
      } catch (error) {
        if (error !== undecodable) throw error;
        throw await _undecodable(path, name, undecodable!, info);
      }
      for (const item of parsed.splice(0)) {
        if ("error" in item) {
          line += Number(item.error.empty_lines ?? 0) - skipped;
          throw fail(_describe(item.error), {
            cause: item.error,
            record: headers ? index + 1 : undefined,
          });
        }
        if ("wide" in item) {
          line += item.wide.empty_lines - skipped;
          const what = headers ? `record ${index + 1}` : "the header";
          throw over(
            `${what} has more than ${limits.maxColumns} columns`,
            limits.maxColumns,
            { record: headers ? index + 1 : undefined },
          );
        }
        const { record, info: at } = item;
        line += at.empty_lines - skipped;
        skipped = at.empty_lines;
        const long = record.findIndex((v) => v.length > limits.maxFieldLength);
        if (headers === undefined) {
          if (long !== -1) {
            throw over(
              `the header of column ${long + 1} is ${
                record[long]!.length
              } characters long`,
              limits.maxFieldLength,
            );
          }
          const table = _headers(record, fail);
          info.headers = headers = table.headers;
          info.ignoredColumns = record.length - headers.length;
        } else if (
          record.length !== headers.length &&
          record.length !== headers.length + info.ignoredColumns
        ) {
          const count = `${record.length} field${
            record.length === 1 ? "" : "s"
          }`;
          throw fail(
            `record ${index + 1} has ${count}, expected ${headers.length}`,
            { cause: at.error, record: index + 1 },
          );
        } else if (index === limits.maxRecords) {
          throw over(
            `the file has more than ${limits.maxRecords} records`,
            limits.maxRecords,
            { record: index + 1 },
          );
        } else if (_valueRightOf(record, headers.length) !== -1) {
          const column = _valueRightOf(record, headers.length);
          throw fail(
            `column ${column + 1} has an empty header, but record ${
              index + 1
            } has a value there (${
              JSON.stringify(record[column]!.slice(0, 40))
            }): give the column a header, or delete the value`,
            { record: index + 1 },
          );
        } else if (long !== -1) {
          throw over(
            `field "${headers[long]}" of record ${index + 1} is ${
              record[long]!.length
            } characters long`,
            limits.maxFieldLength,
            { record: index + 1, field: headers[long] },
          );
        } else {
          yield {
            index: ++index,
            line,
            values: Object.fromEntries(headers.map((h, i) => [h, record[i]!])),
          };
          signal?.throwIfAborted();
        }
        line += _lineBreaks(record) + 1;
      }
    }
    if (headers === undefined) throw fail("the file has no header row");
  } finally {
    parser.destroy();
    await reading; // lets a read in flight settle before the file closes
  }
}

/** What an error knows of where, besides the file and line. */
type _At = Omit<InputLocation, "source" | "line"> & { cause?: CsvError };
/** Makes the error of the current line. */
type _Fail = (detail: string, at?: _At) => DataError;

/**
 * Opens a recipient file; one that is not there (or cannot be read) is a
 * DataError naming it.
 */
export async function openRecipientFile(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "there is no such file"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : undefined;
    if (reason === undefined) throw error;
    throw new DataError(`Cannot read ${path}: ${reason}`, {
      cause: error,
      location: { source: path },
    });
  }
}

/** The limits of `options`, defaults filled in; each a positive integer. */
function _limits(options: CsvOptions): _Limits {
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

/**
 * Trims the header names and rejects empty or repeated ones; empty ones right
 * of the last named column are left out (their values are checked to be
 * empty record by record).
 */
function _headers(
  fields: string[],
  fail: _Fail,
): { headers: string[] } {
  const trimmed = fields.map((field) => field.trim());
  let width = trimmed.length;
  while (width > 0 && trimmed[width - 1] === "") width--;
  if (width === 0) throw fail("the header row has no column names");
  const headers = trimmed.slice(0, width);
  headers.forEach((header, i) => {
    if (header === "") throw fail(`column ${i + 1} has an empty header`);
    const first = headers.indexOf(header);
    if (first < i) {
      throw fail(
        `column ${i + 1} repeats the header "${header}" of column ${first + 1}`,
      );
    }
  });
  return { headers };
}

/** The first column from `from` on whose value is not blank, or -1. */
function _valueRightOf(record: string[], from: number): number {
  for (let i = from; i < record.length; i++) {
    if (record[i]!.trim() !== "") return i;
  }
  return -1;
}

/**
 * The error for bytes the file's encoding cannot hold: its line (counted in
 * the bytes before them), the encoding and how it was chosen, what to do.
 */
async function _undecodable(
  path: string,
  name: string,
  error: DecodeError,
  info: CsvInfo | undefined,
): Promise<DataError> {
  const line = await _lineAt(path, error.offset, info?.encoding);
  const how = info === undefined
    ? ""
    : info.encodingBy === "forced"
    ? ` (read as ${LABELS[info.encoding]}, as --encoding said)`
    : info.encodingBy === "bom"
    ? ` (read as ${LABELS[info.encoding]}, as its byte order mark says)`
    : ` (read as ${LABELS[info.encoding]}, which its first 64 KiB are)`;
  return new DataError(
    `Cannot read ${name} line ${line}: ${error.message}${how}; save the file ` +
      `as UTF-8 (in Excel: "CSV UTF-8"), or name its encoding with ` +
      `--encoding (utf-8, utf-16le, utf-16be, windows-1252)`,
    { cause: error, location: { source: name, line } },
  );
}

/** The 1-based line of byte `offset` of the file: line breaks before it (CRLF, LF or CR), plus one. */
async function _lineAt(
  path: string,
  offset: number,
  encoding: Encoding | undefined,
): Promise<number> {
  using file = await Deno.open(path);
  const chunk = new Uint8Array(CHUNK_SIZE);
  let line = 1;
  let at = 0;
  let previous = -1;
  while (at < offset) {
    const size = await file.read(chunk);
    if (size === null) break;
    const end = Math.min(size, offset - at);
    for (let i = 0; i < end; i++) {
      const b = chunk[i]!;
      // In UTF-16 a line feed is 0A 00 (LE) or 00 0A (BE), on an even offset.
      const even = (at + i) % 2 === 0;
      if (encoding === "utf-16le") {
        if (b === 0 && previous === 0x0a && !even) line++;
      } else if (encoding === "utf-16be") {
        if (b === 0x0a && previous === 0 && !even) line++;
      } else if (b === 0x0d || (b === 0x0a && previous !== 0x0d)) line++;
      previous = b;
    }
    at += size;
  }
  return line;
}

/** Counts the line breaks inside a record (only quoted values have any). */
function _lineBreaks(record: string[]): number {
  return record.reduce(
    (n, value) => n + (value.match(LINE_BREAK)?.length ?? 0),
    0,
  );
}

/** Says what is wrong in words for a csv-parse error. */
function _describe(error: CsvError): string {
  const column = Number(error.column) + 1;
  switch (error.code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return "quote opened here is never closed";
    case "CSV_INVALID_CLOSING_QUOTE":
      return `closing quote in column ${column} is not followed by a delimiter or line end`;
    case "INVALID_OPENING_QUOTE":
      return `quote in column ${column} is inside an unquoted value`;
    case "CSV_MAX_RECORD_SIZE":
      return "record exceeds 1 MiB: a quote may be left open";
    default:
      return error.message;
  }
}
