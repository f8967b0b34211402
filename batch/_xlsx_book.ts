/**
 * Opens an .xlsx workbook for reading its sheets as streams: tells what a
 * file is when it is not one (an .xls, an encrypted workbook, a CSV renamed,
 * an .ods), finds the worksheets in tab order through the package's
 * relationships, and reads what every sheet needs first — the date system,
 * each cell style's number format and the shared strings. Parts are read
 * through the zip's directory, each bounded against zip bombs.
 *
 * @module
 */
import { posix } from "node:path";
import { ZipArchive, type ZipEntry, ZipError } from "./_zip.ts";
import { attributes, XmlError, type XmlHandler, XmlScanner } from "./_xml.ts";
import { GENERAL, type NumberFormat, unescapeText } from "./_xlsx_cell.ts";

/**
 * The workbook cannot be read. `message` finishes "Cannot read list.xlsx: "
 * — what the file is, and what to do.
 */
export class BookError extends Error {
  override name = "BookError";
}

/** A worksheet of the workbook. */
export interface SheetRef {
  /** Its tab name. */
  name: string;
  /** Hidden or very hidden in Excel. */
  hidden: boolean;
  /** Its part in the zip. */
  entry: ZipEntry;
}

/** An open workbook: dispose of it to close the file. */
export interface Book extends Disposable {
  archive: ZipArchive;
  /** The worksheets, in tab order (chart sheets left out). */
  sheets: SheetRef[];
  /** Serial dates count from 1904 (old Mac Excel) rather than 1900. */
  date1904: boolean;
  /** Number format of each cell style (`s` attribute) index. */
  formats: NumberFormat[];
  /** The shared strings (a cell with `t="s"` holds an index into them). */
  strings: string[];
}

/** Options for {@linkcode openBook}. */
export interface BookOptions {
  /** Characters the shared strings may hold in all (with 32 for each). */
  maxStrings: number;
  signal?: AbortSignal;
}

/** How much larger than its compressed size a part may inflate. */
export const MAX_RATIO = 100;
/** Inflated bytes allowed to any part, however small it is compressed. */
const MIN_PART = 1024 * 1024;
/** Characters counted for each shared string besides its own. */
const STRING_OVERHEAD = 32;
/** Bytes read from an OLE file to tell an encrypted workbook from an .xls. */
const OLE_SAMPLE = 16 * 1024 * 1024;

const ZIP = [0x50, 0x4b, 0x03, 0x04];
const EMPTY_ZIP = [0x50, 0x4b, 0x05, 0x06];
const OLE = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

const AS_XLSX = "open it in Excel and save it as .xlsx (Excel Workbook) or " +
  'as CSV (in Excel: "CSV UTF-8")';

/**
 * Opens the workbook in `file` (which it then owns) and reads its
 * directory, workbook, styles and shared strings.
 *
 * @throws {BookError} When the file is not an .xlsx workbook, or a part of
 * it is damaged or too large.
 */
export async function openBook(
  file: Deno.FsFile,
  size: number,
  options: BookOptions,
): Promise<Book> {
  let archive: ZipArchive;
  try {
    await _sniff(file, size);
    archive = await ZipArchive.open(file, size);
  } catch (error) {
    file.close();
    if (error instanceof ZipError) {
      throw new BookError(`${error.message}; save or download it again`, {
        cause: error,
      });
    }
    throw error;
  }
  try {
    const parts = await _package(archive, options.signal);
    const styles = parts.styles === undefined
      ? []
      : await _styles(archive, parts.styles, options.signal);
    const strings = parts.strings === undefined
      ? []
      : await _strings(archive, parts.strings, options);
    return {
      archive,
      sheets: parts.sheets,
      date1904: parts.date1904,
      formats: styles,
      strings,
      [Symbol.dispose]: () => archive.close(),
    };
  } catch (error) {
    archive.close();
    throw error;
  }
}

/**
 * Streams the text of `entry`, which may inflate to {@linkcode MAX_RATIO}
 * times its compressed size (at least 1 MiB).
 *
 * @throws {BookError} When the part is damaged, too large, or not text.
 */
export async function* partText(
  archive: ZipArchive,
  entry: ZipEntry,
  signal?: AbortSignal,
): AsyncGenerator<string> {
  const maxBytes = Math.max(MIN_PART, entry.compressedSize * MAX_RATIO);
  let decoder: TextDecoder | undefined;
  try {
    for await (const bytes of archive.read(entry, { maxBytes, signal })) {
      decoder ??= new TextDecoder(_xmlEncoding(bytes), { fatal: true });
      yield decoder.decode(bytes, { stream: true });
    }
    if (decoder) yield decoder.decode();
  } catch (error) {
    if (error instanceof ZipError) {
      throw new BookError(`its part ${error.message}`, { cause: error });
    }
    if (error instanceof TypeError && decoder !== undefined) {
      throw new BookError(
        `its part ${entry.name} is damaged: it is not ${decoder.encoding} text`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Says what the file is when it does not start as a zip file does. */
async function _sniff(file: Deno.FsFile, size: number): Promise<void> {
  if (size === 0) throw new BookError("the file is empty");
  const head = new Uint8Array(Math.min(size, 512));
  let got = 0;
  while (got < head.length) {
    const n = await file.read(head.subarray(got));
    if (n === null) break;
    got += n;
  }
  const starts = (magic: number[]) => magic.every((b, i) => head[i] === b);
  if (starts(ZIP) || starts(EMPTY_ZIP)) return;
  if (starts(OLE)) throw new BookError(await _oleKind(file, size));
  const text = _asText(head.subarray(0, got));
  if (text === undefined) {
    throw new BookError(
      `it is not an .xlsx workbook (an .xlsx is a zip file, and this is not one): ${AS_XLSX}`,
    );
  }
  if (/^\s*</.test(text)) {
    throw new BookError(
      `it is an HTML or XML file, not an .xlsx workbook (web sites' "export to Excel" writes these): ${AS_XLSX}`,
    );
  }
  throw new BookError(
    "it is a text file (a CSV?), not an .xlsx workbook: if it is CSV, name it .csv",
  );
}

/** What an OLE compound file is: a password-protected workbook, or an .xls. */
async function _oleKind(file: Deno.FsFile, size: number): Promise<string> {
  await file.seek(0, Deno.SeekMode.Start);
  const bytes = new Uint8Array(Math.min(size, OLE_SAMPLE));
  let got = 0;
  while (got < bytes.length) {
    const n = await file.read(bytes.subarray(got));
    if (n === null) break;
    got += n;
  }
  const names = new TextDecoder("utf-16le").decode(
    bytes.subarray(0, got - (got % 2)),
  );
  if (names.includes("EncryptedPackage") || names.includes("EncryptionInfo")) {
    return "the workbook is protected by a password (encrypted): open it in " +
      "Excel, remove the password (File > Info > Protect Workbook > Encrypt " +
      "with Password, then clear it) and save it, or save it as CSV";
  }
  return "it is an Excel 97-2003 workbook (.xls), which is not read: " +
    AS_XLSX;
}

/** The first bytes as text when they look like text, else undefined. */
function _asText(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    return new TextDecoder("utf-16le").decode(bytes);
  }
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    return new TextDecoder("utf-16be").decode(bytes);
  }
  let controls = 0;
  for (const b of bytes) {
    if (b === 0) return undefined;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) controls++;
  }
  if (controls > bytes.length / 100) return undefined;
  return new TextDecoder().decode(bytes);
}

/** The encoding an XML part is in: UTF-8 unless a UTF-16 BOM says so. */
function _xmlEncoding(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "utf-16le";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "utf-16be";
  return "utf-8";
}

/** What the package's relationships say, and the workbook part's content. */
interface _Package {
  sheets: SheetRef[];
  date1904: boolean;
  styles?: ZipEntry;
  strings?: ZipEntry;
}

/** A relationship: its type's last word ("worksheet") and target part. */
interface _Rel {
  type: string;
  target: string;
}

/** Finds the workbook part, its sheets in tab order, styles and strings. */
async function _package(
  archive: ZipArchive,
  signal: AbortSignal | undefined,
): Promise<_Package> {
  if (archive.entries.some((entry) => entry.flags & 1)) {
    throw new BookError(
      "its parts are encrypted (zip encryption), which Excel never writes: " +
        AS_XLSX,
    );
  }
  const root = await _rels(archive, "", signal);
  const office = [...root.values()].find((r) => r.type === "officeDocument");
  const bookPath = office?.target ?? "xl/workbook.xml";
  const book = archive.get(bookPath);
  if (book === undefined || !/\.xml$/i.test(bookPath)) {
    throw new BookError(_notAWorkbook(archive, bookPath));
  }
  const rels = await _rels(archive, bookPath, signal);
  const found = await _workbook(archive, book, signal);
  const sheets: SheetRef[] = [];
  for (const sheet of found.sheets) {
    const rel = rels.get(sheet.rel);
    if (rel === undefined || rel.type !== "worksheet") continue;
    const entry = archive.get(rel.target);
    if (entry === undefined) {
      throw new BookError(
        `its sheet "${sheet.name}" is missing (no part ${rel.target}); save or download it again`,
      );
    }
    sheets.push({ name: sheet.name, hidden: sheet.hidden, entry });
  }
  const part = (type: string, fallback: string) => {
    const rel = [...rels.values()].find((r) => r.type === type);
    return archive.get(
      rel?.target ?? posix.join(posix.dirname(bookPath), fallback),
    );
  };
  return {
    sheets,
    date1904: found.date1904,
    styles: part("styles", "styles.xml"),
    strings: part("sharedStrings", "sharedStrings.xml"),
  };
}

/** Why a zip file without a workbook part is not one. */
function _notAWorkbook(archive: ZipArchive, bookPath: string): string {
  if (/\.bin$/i.test(bookPath)) {
    return `it is a binary workbook (.xlsb), which is not read: ${AS_XLSX}`;
  }
  if (archive.get("mimetype") && archive.get("content.xml")) {
    return "it is an OpenDocument spreadsheet (.ods), not an .xlsx workbook: " +
      "save it as .xlsx (in LibreOffice: File > Save As > Excel 2007-365) or as CSV";
  }
  const other = archive.get("word/document.xml")
    ? "a Word document"
    : archive.get("ppt/presentation.xml")
    ? "a PowerPoint presentation"
    : "a zip file";
  return `it is ${other}, not an .xlsx workbook (it has no ${bookPath}): ${AS_XLSX}`;
}

/**
 * The relationships of the part at `path` ("" for the package), by id,
 * targets resolved to part names.
 */
async function _rels(
  archive: ZipArchive,
  path: string,
  signal: AbortSignal | undefined,
): Promise<Map<string, _Rel>> {
  const dir = posix.dirname(path);
  const relsPath = posix.join(dir, "_rels", `${posix.basename(path)}.rels`);
  const entry = archive.get(relsPath);
  const rels = new Map<string, _Rel>();
  if (entry === undefined) return rels;
  await _scan(archive, entry, signal, () => ({
    open(name, raw) {
      if (name !== "Relationship") return;
      const a = attributes(raw);
      if (a.Id === undefined || a.Target === undefined) return;
      if (a.TargetMode === "External") return;
      const target = a.Target.startsWith("/")
        ? a.Target.slice(1)
        : posix.normalize(posix.join(dir === "." ? "" : dir, a.Target));
      rels.set(a.Id, { type: a.Type?.split("/").at(-1) ?? "", target });
    },
    close() {},
    text() {},
  }));
  return rels;
}

/** The sheets of the workbook part, in tab order, and its date system. */
async function _workbook(
  archive: ZipArchive,
  entry: ZipEntry,
  signal: AbortSignal | undefined,
): Promise<
  {
    sheets: { name: string; rel: string; hidden: boolean }[];
    date1904: boolean;
  }
> {
  const sheets: { name: string; rel: string; hidden: boolean }[] = [];
  let date1904 = false;
  await _scan(archive, entry, signal, () => ({
    open(name, raw) {
      if (name === "workbookPr") {
        const value = attributes(raw).date1904;
        date1904 = value === "1" || value === "true";
      } else if (name === "sheet") {
        const a = attributes(raw);
        if (a.name === undefined || a.id === undefined) return;
        sheets.push({
          name: a.name,
          rel: a.id,
          hidden: a.state === "hidden" || a.state === "veryHidden",
        });
      }
    },
    close() {},
    text() {},
  }));
  return { sheets, date1904 };
}

/** The number format of each cell style, by index (`cellXfs`). */
async function _styles(
  archive: ZipArchive,
  entry: ZipEntry,
  signal: AbortSignal | undefined,
): Promise<NumberFormat[]> {
  const codes = new Map<number, string>();
  const ids: number[] = [];
  let inCellXfs = false;
  await _scan(archive, entry, signal, () => ({
    open(name, raw, empty) {
      if (name === "numFmt") {
        const a = attributes(raw);
        const id = Number(a.numFmtId);
        if (Number.isInteger(id) && a.formatCode !== undefined) {
          codes.set(id, a.formatCode);
        }
      } else if (name === "cellXfs") {
        inCellXfs = !empty;
      } else if (name === "xf" && inCellXfs) {
        const id = Number(attributes(raw).numFmtId ?? 0);
        ids.push(Number.isInteger(id) && id >= 0 ? id : 0);
      }
    },
    close(name) {
      if (name === "cellXfs") inCellXfs = false;
    },
    text() {},
  }));
  return ids.map((id) => codes.get(id) ?? (id === 0 ? GENERAL : id));
}

/**
 * The shared strings: each `<si>`'s text, rich text runs flattened,
 * phonetic guides (`<rPh>`) left out.
 */
async function _strings(
  archive: ZipArchive,
  entry: ZipEntry,
  options: BookOptions,
): Promise<string[]> {
  const strings: string[] = [];
  let budget = options.maxStrings;
  let current = "";
  let phonetic = 0;
  await _scan(archive, entry, options.signal, (scanner) => ({
    open(name, _raw, empty) {
      if (empty) {
        if (name === "si") strings.push("");
        return;
      }
      if (name === "si") current = "";
      else if (name === "rPh") phonetic++;
      else if (name === "t" && phonetic === 0) scanner.capture = true;
    },
    close(name) {
      if (name === "t") scanner.capture = false;
      else if (name === "rPh") phonetic--;
      else if (name === "si") {
        const text = unescapeText(current);
        budget -= text.length + STRING_OVERHEAD;
        if (budget < 0) {
          throw new BookError(
            `its shared strings hold more than ${options.maxStrings} characters (the limit, maxBytes)`,
          );
        }
        strings.push(text);
        current = "";
      }
    },
    text(text) {
      current += text;
    },
  }));
  return strings;
}

/**
 * Scans a whole part with the handler `make` returns for its scanner (a
 * handler that captures text sets the scanner's `capture`).
 */
async function _scan(
  archive: ZipArchive,
  entry: ZipEntry,
  signal: AbortSignal | undefined,
  make: (scanner: XmlScanner) => XmlHandler,
): Promise<void> {
  const scanner = new XmlScanner({
    open: (name, raw, empty) => handler.open(name, raw, empty),
    close: (name) => handler.close(name),
    text: (text) => handler.text(text),
  });
  const handler = make(scanner);
  try {
    for await (const text of partText(archive, entry, signal)) {
      scanner.write(text);
    }
    scanner.end();
  } catch (error) {
    if (error instanceof XmlError) {
      throw new BookError(
        `its part ${entry.name} is damaged: ${error.message}`,
        { cause: error },
      );
    }
    throw error;
  }
}
