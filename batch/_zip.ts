/**
 * Reads the parts of a zip file one at a time, as streams, through its
 * central directory: nothing is inflated that is not asked for, and a part
 * is never held whole. What an .xlsx needs and nothing more: stored and
 * deflated parts, ZIP64 sizes, no encryption, no multi-disk archives.
 *
 * Inflating counts the bytes it makes against a bound the caller gives, so
 * a zip bomb stops at the bound; a part that inflates to another size than
 * its directory entry says is damaged.
 *
 * @module
 */

/** A zip file that cannot be read; `message` says why, in words. */
export class ZipError extends Error {
  override name = "ZipError";
}

/** One part of the archive, as its central directory describes it. */
export interface ZipEntry {
  /** Its path inside the archive, as stored ("xl/workbook.xml"). */
  name: string;
  /** 0 stored, 8 deflated; others are refused when read. */
  method: number;
  /** General purpose flags; bit 0 means encrypted. */
  flags: number;
  compressedSize: number;
  size: number;
  /** Offset of its local header in the file. */
  headerOffset: number;
}

/** Options for {@linkcode ZipArchive.read}. */
export interface ZipReadOptions {
  /** Bytes the part may inflate to; past them a ZipError. */
  maxBytes: number;
  signal?: AbortSignal;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** The end record (22 bytes) and the longest comment after it. */
const TAIL = 22 + 0xffff;
/** A central directory larger than this is refused (an .xlsx's is a few KiB). */
const MAX_DIRECTORY = 64 * 1024 * 1024;
/**
 * Compressed bytes read at a time. Deflate inflates at most 1032 times, so
 * no inflated chunk is larger than 16 MiB, even a zip bomb's.
 */
const CHUNK_SIZE = 16 * 1024;

/** An open zip file; close it with `using` or {@linkcode ZipArchive.close}. */
export class ZipArchive implements Disposable {
  readonly #file: Deno.FsFile;
  readonly #entries: Map<string, ZipEntry>;
  #closed = false;
  /** A part is being read: the file has one position, so one at a time. */
  #busy = false;

  private constructor(file: Deno.FsFile, entries: Map<string, ZipEntry>) {
    this.#file = file;
    this.#entries = entries;
  }

  /**
   * Reads the central directory of the zip file `file`, which the archive
   * then owns (closed by {@linkcode close}); the caller still owns it when
   * this throws.
   *
   * @throws {ZipError} When there is no directory to read, or it is damaged.
   */
  static async open(file: Deno.FsFile, size: number): Promise<ZipArchive> {
    return new ZipArchive(file, await _directory(file, size));
  }

  /** Every entry, in directory order. */
  get entries(): ZipEntry[] {
    return [...this.#entries.values()];
  }

  /** The entry named `name`, ignoring case (OPC part names are case-blind). */
  get(name: string): ZipEntry | undefined {
    return this.#entries.get(name.replace(/^\//, "").toLowerCase());
  }

  /**
   * Streams the inflated bytes of `entry`. Leaving the loop early stops
   * inflating and lets the reads in flight settle. One part at a time: the
   * next read starts once this one has ended.
   *
   * @throws {ZipError} When the part is encrypted, compressed in a way other
   * than deflate, damaged, or inflates past `options.maxBytes`.
   */
  async *read(
    entry: ZipEntry,
    options: ZipReadOptions,
  ): AsyncGenerator<Uint8Array> {
    const { maxBytes, signal } = options;
    signal?.throwIfAborted();
    if (entry.flags & 1) throw new ZipError(`${entry.name} is encrypted`);
    if (entry.method !== 0 && entry.method !== 8) {
      throw new ZipError(
        `${entry.name} is compressed with method ${entry.method}, not deflate`,
      );
    }
    if (entry.size > maxBytes) throw _tooLarge(entry, maxBytes);
    if (this.#busy) throw new Error("ZipArchive reads one part at a time");
    this.#busy = true;
    try {
      yield* this.#inflate(entry, maxBytes, signal);
    } finally {
      this.#busy = false;
    }
  }

  async *#inflate(
    entry: ZipEntry,
    maxBytes: number,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Uint8Array> {
    const start = await this.#dataStart(entry);
    let total = 0;
    if (entry.method === 0) {
      for await (const chunk of this.#raw(start, entry.compressedSize)) {
        total += chunk.length;
        yield chunk;
      }
    } else {
      const inflate = new DecompressionStream("deflate-raw");
      const reader = inflate.readable.getReader();
      const pump = this.#pump(start, entry.compressedSize, inflate.writable);
      try {
        while (true) {
          signal?.throwIfAborted();
          const { done, value } = await reader.read().catch((error) => {
            throw new ZipError(`${entry.name} is damaged`, { cause: error });
          });
          if (done) break;
          total += value.length;
          if (total > maxBytes) throw _tooLarge(entry, maxBytes);
          yield value;
        }
      } finally {
        await reader.cancel().catch(() => {});
        await pump;
      }
    }
    if (total !== entry.size) {
      throw new ZipError(
        `${entry.name} is damaged: it holds ${total} bytes, its zip directory says ${entry.size}`,
      );
    }
  }

  /** Closes the file; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Where the data of `entry` starts, after its local header. */
  async #dataStart(entry: ZipEntry): Promise<number> {
    const header = await _readAt(this.#file, entry.headerOffset, 30);
    const view = new DataView(header.buffer);
    if (header.length < 30 || view.getUint32(0, true) !== LOCAL) {
      throw new ZipError(`${entry.name} is damaged: its local header is gone`);
    }
    return entry.headerOffset + 30 + view.getUint16(26, true) +
      view.getUint16(28, true);
  }

  /** The `length` bytes at `start`, in chunks. */
  async *#raw(
    start: number,
    length: number,
  ): AsyncGenerator<Uint8Array<ArrayBuffer>> {
    for (let at = start; at < start + length; at += CHUNK_SIZE) {
      const want = Math.min(CHUNK_SIZE, start + length - at);
      const chunk = await _readAt(this.#file, at, want);
      if (chunk.length < want) throw new ZipError("the file is cut short");
      yield chunk;
    }
  }

  /**
   * Writes the compressed bytes into the inflater until they end or it is
   * cancelled; never rejects (the reader sees the error).
   */
  async #pump(
    start: number,
    length: number,
    sink: WritableStream<BufferSource>,
  ): Promise<void> {
    const writer = sink.getWriter();
    try {
      for await (const chunk of this.#raw(start, length)) {
        await writer.write(chunk);
      }
      await writer.close();
    } catch (error) {
      await writer.abort(error).catch(() => {});
    }
  }
}

/** Reads the central directory of `file` into entries by lowercase name. */
async function _directory(
  file: Deno.FsFile,
  size: number,
): Promise<Map<string, ZipEntry>> {
  const tailStart = Math.max(0, size - TAIL);
  const tail = await _readAt(file, tailStart, size - tailStart);
  const end = _lastSignature(tail, EOCD);
  if (end === -1) {
    throw new ZipError(
      "it is damaged or incomplete: there is no zip directory at its end",
    );
  }
  const view = new DataView(tail.buffer, end);
  let count = view.getUint16(10, true);
  let length = view.getUint32(12, true);
  let offset = view.getUint32(16, true);
  if (view.getUint16(4, true) !== 0 || view.getUint16(6, true) !== 0) {
    throw new ZipError("it is one part of a split (multi-disk) zip file");
  }
  if (count === 0xffff || length === 0xffffffff || offset === 0xffffffff) {
    ({ count, length, offset } = await _zip64(file, tailStart + end));
  }
  if (length > MAX_DIRECTORY || offset + length > size) {
    throw new ZipError("it is damaged: its zip directory is out of bounds");
  }
  const directory = await _readAt(file, offset, length);
  const dv = new DataView(directory.buffer);
  const entries = new Map<string, ZipEntry>();
  const names = new TextDecoder();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directory.length || dv.getUint32(at, true) !== CENTRAL) {
      throw new ZipError("it is damaged: its zip directory is cut short");
    }
    const nameLength = dv.getUint16(at + 28, true);
    const extraLength = dv.getUint16(at + 30, true);
    const commentLength = dv.getUint16(at + 32, true);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > directory.length) {
      throw new ZipError("it is damaged: its zip directory is cut short");
    }
    const entry: ZipEntry = {
      name: names.decode(directory.subarray(at + 46, at + 46 + nameLength)),
      flags: dv.getUint16(at + 8, true),
      method: dv.getUint16(at + 10, true),
      compressedSize: dv.getUint32(at + 20, true),
      size: dv.getUint32(at + 24, true),
      headerOffset: dv.getUint32(at + 42, true),
    };
    const extra = at + 46 + nameLength;
    _zip64Sizes(entry, dv, extra, extra + extraLength);
    if (entry.headerOffset + 30 > size) {
      throw new ZipError(`${entry.name} is damaged: it lies past the file end`);
    }
    entries.set(entry.name.toLowerCase(), entry);
    at = next;
  }
  return entries;
}

/** The counts of the ZIP64 end record the locator before `end` points at. */
async function _zip64(
  file: Deno.FsFile,
  end: number,
): Promise<{ count: number; length: number; offset: number }> {
  const locator = await _readAt(file, Math.max(0, end - 20), 20);
  const lv = new DataView(locator.buffer);
  if (locator.length < 20 || lv.getUint32(0, true) !== EOCD64_LOCATOR) {
    throw new ZipError("it is damaged: its ZIP64 directory is missing");
  }
  const record = await _readAt(file, _uint64(lv, 8), 56);
  const rv = new DataView(record.buffer);
  if (record.length < 56 || rv.getUint32(0, true) !== EOCD64) {
    throw new ZipError("it is damaged: its ZIP64 directory is missing");
  }
  return {
    count: _uint64(rv, 32),
    length: _uint64(rv, 40),
    offset: _uint64(rv, 48),
  };
}

/** Fills in the sizes and offset an entry keeps in its ZIP64 extra field. */
function _zip64Sizes(
  entry: ZipEntry,
  view: DataView,
  from: number,
  to: number,
): void {
  for (let at = from; at + 4 <= to;) {
    const id = view.getUint16(at, true);
    const length = view.getUint16(at + 2, true);
    if (id === 0x0001) {
      let field = at + 4;
      const take = () => {
        const value = field + 8 <= at + 4 + length ? _uint64(view, field) : -1;
        field += 8;
        if (value === -1) throw new ZipError(`${entry.name} is damaged`);
        return value;
      };
      if (entry.size === 0xffffffff) entry.size = take();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = take();
      if (entry.headerOffset === 0xffffffff) entry.headerOffset = take();
      return;
    }
    at += 4 + length;
  }
}

function _uint64(view: DataView, at: number): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ZipError("it is damaged: a zip size is out of range");
  }
  return Number(value);
}

/** The offset of the last `signature` in `bytes`, or -1. */
function _lastSignature(bytes: Uint8Array, signature: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  for (let at = bytes.length - 22; at >= 0; at--) {
    if (view.getUint32(at, true) === signature) return at;
  }
  return -1;
}

/** Up to `length` bytes of `file` from `offset` (fewer only at its end). */
async function _readAt(
  file: Deno.FsFile,
  offset: number,
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  await file.seek(offset, Deno.SeekMode.Start);
  const bytes = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = await file.read(bytes.subarray(got));
    if (n === null) return bytes.slice(0, got);
    got += n;
  }
  return bytes;
}

function _tooLarge(entry: ZipEntry, maxBytes: number): ZipError {
  return new ZipError(
    `${entry.name} inflates to more than ${maxBytes} bytes (${entry.compressedSize} compressed): it may be a zip bomb`,
  );
}
