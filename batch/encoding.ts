/**
 * The text encoding of a recipient file, found from its first bytes or given
 * by the user, and a decoder that refuses bytes the encoding cannot hold.
 *
 * Spreadsheets are saved in one of a few encodings: UTF-8 (with or without a
 * byte order mark), UTF-16 ("Unicode text" in Excel, with a BOM) and, from
 * Excel's "CSV" on Windows, Windows-1252. A file is never read as UTF-8 unless
 * its bytes are UTF-8: "José Müller" saved as Windows-1252 would print as
 * "Jos� M�ller". Detection, in order:
 *
 * 1. a byte order mark: UTF-8, UTF-16LE or UTF-16BE;
 * 2. NUL bytes in every other position of the sample: UTF-16 without a BOM
 *    (LE or BE by which half is zero);
 * 3. the sample is valid UTF-8: UTF-8 (the rest is checked as it streams);
 * 4. otherwise Windows-1252 (Latin-1 is its subset for printable text), when
 *    no byte is one Windows-1252 leaves undefined or a control character
 *    other than tab, CR and LF;
 * 5. otherwise the file fits none of them: an error.
 *
 * @module
 */

/** The encodings a recipient file may be in. */
export const ENCODINGS = [
  "utf-8",
  "utf-16le",
  "utf-16be",
  "windows-1252",
] as const;

/** One of {@linkcode ENCODINGS}. */
export type Encoding = typeof ENCODINGS[number];

/** The encoding found for a file, and how. */
export interface DetectedEncoding {
  encoding: Encoding;
  /** `bom`: a byte order mark says so; `content`: the bytes fit it; `forced`: the user said so. */
  by: "bom" | "content" | "forced";
}

/**
 * Names the user may give for each encoding (`--encoding`), lower case:
 * `latin1` and `iso-8859-1` read as Windows-1252, of which they are the
 * printable subset (as browsers read them).
 */
const ALIASES: Record<string, Encoding> = {
  "utf-8": "utf-8",
  "utf8": "utf-8",
  "utf-16": "utf-16le",
  "utf-16le": "utf-16le",
  "utf16le": "utf-16le",
  "utf-16be": "utf-16be",
  "utf16be": "utf-16be",
  "windows-1252": "windows-1252",
  "cp1252": "windows-1252",
  "latin1": "windows-1252",
  "latin-1": "windows-1252",
  "iso-8859-1": "windows-1252",
};

/**
 * The encoding a user named, or undefined when the name is none of
 * {@linkcode ENCODINGS} or their aliases (`utf8`, `latin1`, `cp1252`, …).
 */
export function parseEncoding(name: string): Encoding | undefined {
  return ALIASES[name.trim().toLowerCase()];
}

/** Bytes that are not text in the encoding a file is read in. */
export class DecodeError extends Error {
  /** 0-based offset in the file of the first such byte (as near as known). */
  readonly offset: number;
  readonly encoding: Encoding | undefined;
  constructor(offset: number, encoding?: Encoding) {
    super(
      encoding
        ? `the bytes at byte ${offset + 1} are not ${LABELS[encoding]}`
        : `byte ${offset + 1} fits none of UTF-8, UTF-16 or Windows-1252: ` +
          `the file may not be text`,
    );
    this.name = "DecodeError";
    this.offset = offset;
    this.encoding = encoding;
  }
}

/** How messages name each encoding. */
export const LABELS: Record<Encoding, string> = {
  "utf-8": "UTF-8",
  "utf-16le": "UTF-16LE",
  "utf-16be": "UTF-16BE",
  "windows-1252": "Windows-1252",
};

/**
 * The encoding of a file from its first bytes (`sample`, e.g. the first 64
 * KiB; a sequence cut at its end is allowed), or `forced` when given.
 *
 * @throws {DecodeError} When the bytes fit no encoding.
 */
export function detectEncoding(
  sample: Uint8Array,
  forced?: Encoding,
): DetectedEncoding {
  if (forced) return { encoding: forced, by: "forced" };
  const bom = bomOf(sample);
  if (bom) return { encoding: bom.encoding, by: "bom" };
  const utf16 = utf16Without(sample);
  if (utf16) return { encoding: utf16, by: "content" };
  if (isUtf8(sample)) return { encoding: "utf-8", by: "content" };
  const bad = notWindows1252(sample);
  if (bad !== -1) throw new DecodeError(bad);
  return { encoding: "windows-1252", by: "content" };
}

/** The byte order mark at the start of `bytes`, and its length. */
export function bomOf(
  bytes: Uint8Array,
): { encoding: Encoding; length: number } | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { encoding: "utf-8", length: 3 };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    return { encoding: "utf-16le", length: 2 };
  }
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    return { encoding: "utf-16be", length: 2 };
  }
  return undefined;
}

/**
 * UTF-16 without a BOM: text whose characters are mostly ASCII has a zero in
 * every other byte. At least 8 byte pairs, and at least 90 % of the pairs
 * with their zero on the same side.
 */
function utf16Without(sample: Uint8Array): Encoding | undefined {
  const pairs = Math.floor(sample.length / 2);
  if (pairs < 8) return undefined;
  let high = 0; // zero in the second byte: little-endian ASCII
  let low = 0; // zero in the first byte: big-endian ASCII
  for (let i = 0; i + 1 < sample.length; i += 2) {
    if (sample[i + 1] === 0 && sample[i] !== 0) high++;
    else if (sample[i] === 0 && sample[i + 1] !== 0) low++;
  }
  if (high >= pairs * 0.9) return "utf-16le";
  if (low >= pairs * 0.9) return "utf-16be";
  return undefined;
}

/** Whether `sample` is UTF-8, a sequence cut at its very end allowed. */
function isUtf8(sample: Uint8Array): boolean {
  return firstNotUtf8(sample, 0) === -1;
}

/**
 * Offset of the first byte of `bytes` that does not belong to a UTF-8
 * sequence, or -1; `skip` continuation bytes at the start belong to a
 * sequence begun before, and a sequence cut at the end is allowed (the next
 * chunk holds the rest). Overlong forms, surrogates and code points past
 * U+10FFFF count as not UTF-8, as TextDecoder has them.
 */
function firstNotUtf8(bytes: Uint8Array, skip: number): number {
  let i = skip;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) low = 0xa0;
      if (b === 0xed) high = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) low = 0x90;
      if (b === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k < length; k++) {
      if (i + k >= bytes.length) return -1; // cut at the end
      const c = bytes[i + k]!;
      if (c < (k === 1 ? low : 0x80) || c > (k === 1 ? high : 0xbf)) return i;
    }
    i += length;
  }
  return -1;
}

/** Windows-1252's undefined bytes. */
const UNDEFINED_1252 = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

/**
 * Offset of the first byte that is not text in Windows-1252 (an undefined
 * byte, or a control character other than tab, LF and CR), or -1.
 */
function notWindows1252(sample: Uint8Array): number {
  for (let i = 0; i < sample.length; i++) {
    const b = sample[i]!;
    if (UNDEFINED_1252.has(b)) return i;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return i;
    if (b === 0x7f) return i;
  }
  return -1;
}

/** A byte stream's text, decoded chunk by chunk; bad bytes throw. */
export class StrictDecoder {
  readonly encoding: Encoding;
  #decoder: TextDecoder;
  /** Bytes decoded so far. */
  #offset = 0;
  /** UTF-8: continuation bytes the next chunk starts with (a cut sequence). */
  #carry = 0;

  constructor(encoding: Encoding) {
    this.encoding = encoding;
    // fatal: a byte sequence the encoding cannot hold throws instead of
    // turning into U+FFFD. The BOM is dropped from the text.
    this.#decoder = new TextDecoder(encoding, { fatal: true });
  }

  /**
   * The text of the next chunk; with no chunk, the end of the stream.
   *
   * @throws {DecodeError} At bytes the encoding does not hold (for
   * Windows-1252: a byte it leaves undefined or a control character other
   * than tab, CR and LF), with their offset in the stream.
   */
  decode(chunk?: Uint8Array): string {
    if (chunk === undefined) {
      try {
        return this.#decoder.decode();
      } catch {
        throw new DecodeError(Math.max(0, this.#offset - 1), this.encoding);
      }
    }
    const at = this.#offset;
    this.#offset += chunk.length;
    if (this.encoding === "windows-1252") {
      const bad = notWindows1252(chunk);
      if (bad !== -1) throw new DecodeError(at + bad, this.encoding);
    }
    try {
      const text = this.#decoder.decode(chunk, { stream: true });
      if (this.encoding === "utf-8") this.#carry = cutAtEnd(chunk);
      return text;
    } catch {
      const bad = this.encoding === "utf-8"
        ? firstNotUtf8(chunk, this.#carry)
        : -1;
      throw new DecodeError(at + Math.max(0, bad), this.encoding);
    }
  }
}

/**
 * How many continuation bytes the next chunk must start with to finish a
 * UTF-8 sequence cut at the end of `chunk`.
 */
function cutAtEnd(chunk: Uint8Array): number {
  for (let back = 1; back <= 3 && back <= chunk.length; back++) {
    const b = chunk[chunk.length - back]!;
    if (b < 0x80) return 0;
    if (b >= 0xc0) {
      const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return Math.max(0, length - back);
    }
  }
  return 0;
}
