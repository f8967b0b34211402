/**
 * Streams the recipients of a batch out of a CSV file.
 *
 * The file is parsed by csv-parse as a stream, so a list of any length is read
 * in constant memory. It must have a header row; RFC 4180 quoting, CRLF or LF
 * line ends (even mixed), a UTF-8 BOM and `,` `;` or tab delimiters are
 * understood. Values are kept exactly as written: no trimming, no casting, so
 * `=1+1` stays a string. Every malformation is a `SyntaxError` that names the
 * file and the line.
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
import { pipeline } from "node:stream";
import { type CsvError, type InfoRecord, parse } from "csv-parse";

/** One data row of the CSV. */
export interface CsvRecord {
  /** 1-based record number (first data row after the header is 1). */
  index: number;
  /** 1-based line number in the file where this record starts. */
  line: number;
  /** Values by header name (every header present; missing trailing cells never happen because ragged rows are errors). */
  values: Record<string, string>;
}

/** A field delimiter pressrun understands. */
export type Delimiter = "," | ";" | "\t";

/** Options for {@linkcode scanCsv} and {@linkcode readCsv}. */
export interface CsvOptions {
  /** Force a delimiter. @default auto-detected from the header line */
  delimiter?: Delimiter;
  /** Stops reading: the pending or next step throws `signal.reason`. */
  signal?: AbortSignal;
}

/** What {@linkcode scanCsv} learns about a CSV file. */
export interface CsvInfo {
  path: string;
  headers: string[];
  delimiter: Delimiter;
  count: number;
}

/** Bytes read for the delimiter detection, and per chunk of the stream. */
const CHUNK_SIZE = 64 * 1024;
/** Bounds the memory an unclosed quote can make the parser buffer. */
const MAX_RECORD_BYTES = 1024 * 1024;
const LINE_BREAK = /\r\n|\r|\n/g;

/** What the parser hands over: a record, or a parse error, in file order. */
type _Parsed = { record: string[]; info: InfoRecord } | { error: CsvError };

/**
 * Reads the whole file once as a stream and validates it: returns headers,
 * delimiter and the number of records.
 *
 * @throws {SyntaxError} Naming the file and line on any malformation.
 * @throws {Deno.errors.NotFound} If there is no file at `path`.
 */
export async function scanCsv(
  path: string,
  options: CsvOptions = {},
): Promise<CsvInfo> {
  const info: CsvInfo = { path, headers: [], delimiter: ",", count: 0 };
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
  const info: CsvInfo = { path, headers: [], delimiter: ",", count: 0 };
  return _records(path, options, info);
}

/**
 * Picks the delimiter from the first line (outside quotes) of a text sample:
 * the most frequent of `,` `;` TAB; comma on a tie or none.
 */
export function detectDelimiter(sample: string): Delimiter {
  const counts: Record<Delimiter, number> = { ",": 0, ";": 0, "\t": 0 };
  let quoted = false;
  for (const char of sample) {
    if (char === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (char === "\n" || char === "\r") break;
    else if (char in counts) counts[char as Delimiter]++;
  }
  let best: Delimiter = ",";
  let tie = false;
  for (const delimiter of [";", "\t"] as const) {
    if (counts[delimiter] > counts[best]) [best, tie] = [delimiter, false];
    else if (counts[delimiter] === counts[best]) tie = true;
  }
  return tie ? "," : best;
}

/** Parses `path`, fills in `info.headers` and `info.delimiter`, yields records. */
async function* _records(
  path: string,
  { delimiter, signal }: CsvOptions,
  info: CsvInfo,
): AsyncGenerator<CsvRecord> {
  signal?.throwIfAborted();
  const name = basename(path);
  using file = await Deno.open(path);
  const sample = new Uint8Array(CHUNK_SIZE);
  const sampled = await file.read(sample) ?? 0;
  info.delimiter = delimiter ??
    detectDelimiter(new TextDecoder().decode(sample.subarray(0, sampled)));
  await file.seek(0, Deno.SeekMode.Start);

  const parser = parse({
    bom: true,
    delimiter: info.delimiter,
    info: true,
    max_record_size: MAX_RECORD_BYTES,
    record_delimiter: ["\r\n", "\n", "\r"],
    // Ragged rows are reported below, where the record number is known; the
    // record's info still carries csv-parse's error for them.
    relax_column_count: true,
    skip_empty_lines: true,
    // Hand parse errors over in-band, so every record before the bad line is
    // still delivered (a stream error would drop the records buffered so far).
    skip_records_with_error: true,
    on_skip: (error) => void parser.push({ error }),
  });
  const chunks = _chunks(file);
  pipeline(chunks, parser, () => {}); // a read error destroys the parser
  const abort = () => parser.destroy(signal?.reason);
  signal?.addEventListener("abort", abort, { once: true });

  // csv-parse counts a CRLF inside quotes as two lines, so `info.lines` can
  // run ahead: each start line is derived from the end of the previous record
  // plus the blank lines the parser skipped since.
  let line = 1;
  let skipped = 0;
  /** An error at the start of the current record. */
  const fail = (detail: string, cause?: CsvError) =>
    new SyntaxError(`Cannot read ${name} line ${line}: ${detail}`, { cause });
  try {
    signal?.throwIfAborted();
    let headers: string[] | undefined;
    let index = 0;
    for await (const parsed of parser as AsyncIterable<_Parsed>) {
      if ("error" in parsed) {
        line += Number(parsed.error.empty_lines) - skipped;
        throw fail(_describe(parsed.error), parsed.error);
      }
      const { record, info: at } = parsed;
      line += at.empty_lines - skipped;
      skipped = at.empty_lines;
      if (headers === undefined) {
        info.headers = headers = _headers(record, fail);
      } else if (record.length !== headers.length) {
        const count = `${record.length} field${record.length === 1 ? "" : "s"}`;
        throw fail(
          `record ${index + 1} has ${count}, expected ${headers.length}`,
          at.error,
        );
      } else {
        yield {
          index: ++index,
          line,
          values: Object.fromEntries(headers.map((h, i) => [h, record[i]!])),
        };
      }
      line += _lineBreaks(record) + 1;
    }
    if (headers === undefined) throw fail("the file has no header row");
  } finally {
    signal?.removeEventListener("abort", abort);
    parser.destroy();
    await chunks.return(undefined); // waits for a read in flight to settle
  }
}

/** Reads the file in chunks, from where its cursor is. */
async function* _chunks(file: Deno.FsFile): AsyncGenerator<Uint8Array> {
  while (true) {
    const chunk = new Uint8Array(CHUNK_SIZE);
    const read = await file.read(chunk);
    if (read === null) return;
    yield chunk.subarray(0, read);
  }
}

/** Trims the header names and rejects empty or repeated ones. */
function _headers(
  fields: string[],
  fail: (detail: string) => SyntaxError,
): string[] {
  const headers = fields.map((field) => field.trim());
  headers.forEach((header, i) => {
    if (header === "") throw fail(`column ${i + 1} has an empty header`);
    const first = headers.indexOf(header);
    if (first < i) {
      throw fail(
        `column ${i + 1} repeats the header "${header}" of column ${first + 1}`,
      );
    }
  });
  return headers;
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
