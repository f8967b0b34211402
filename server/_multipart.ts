/**
 * A streaming `multipart/form-data` reader: text fields are kept (each up to
 * a small limit), file parts are written to a folder of their own as they
 * arrive, so an upload never sits whole in memory. Files are stored under
 * names of the reader's (`part-1`, `part-2`, …); the client's file name is
 * kept only to name the upload in messages.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { HttpError } from "./errors.ts";
import { tooLarge } from "./_http.ts";

/** One file of a form, on disk. */
export class UploadedFile {
  /** The client's file name, for messages only: never part of a path. */
  readonly name: string;
  /** The part's Content-Type, or "". */
  readonly type: string;
  /** Where the bytes are. */
  readonly path: string;
  readonly size: number;

  constructor(
    init: { name: string; type: string; path: string; size: number },
  ) {
    this.name = init.name;
    this.type = init.type;
    this.path = init.path;
    this.size = init.size;
  }

  /** The file as UTF-8 text. */
  text(): Promise<string> {
    return Deno.readTextFile(this.path);
  }
}

/** A value of a form: a text field or a file on disk. */
export type FormValue = string | UploadedFile;

/** The parts of a form, in order; owns the folder its files are in. */
export class UploadForm implements AsyncDisposable {
  readonly #entries: [string, FormValue][];
  readonly #dir: string;
  #removed?: Promise<void>;

  constructor(entries: [string, FormValue][], dir: string) {
    this.#entries = entries;
    this.#dir = dir;
  }

  /** The first value named `name`, or null (as `FormData.get()`). */
  get(name: string): FormValue | null {
    return this.#entries.find(([n]) => n === name)?.[1] ?? null;
  }

  /** Removes the form's files; safe to call twice. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#removed ??= Deno.remove(this.#dir, { recursive: true }).catch(
      () => {},
    );
    return this.#removed;
  }
}

/** Limits of {@linkcode readMultipart}. */
export interface MultipartOptions {
  /** The folder file parts are written to; the form owns it afterwards. */
  dir: string;
  /** Bytes the whole body may hold; 413 past it. */
  maxBytes: number;
  /** Bytes one text field may hold. @default 65536 */
  maxFieldBytes?: number;
  /** Parts the form may hold. @default 64 */
  maxParts?: number;
  /** Bytes one part's headers may hold. @default 16384 */
  maxHeaderBytes?: number;
}

/**
 * The boundary of a `multipart/form-data` Content-Type; 400 when it is not
 * one or names none.
 */
export function multipartBoundary(contentType: string): string {
  const [type, ...params] = contentType.split(";");
  if (type?.trim().toLowerCase() !== "multipart/form-data") {
    throw new HttpError(
      400,
      "bad_request",
      "Send the form as multipart/form-data",
    );
  }
  for (const param of params) {
    const match = /^\s*boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))\s*$/i.exec(param);
    const boundary = match?.[1] ?? match?.[2];
    if (boundary && boundary.length <= 70) return boundary;
  }
  throw badForm("its Content-Type names no boundary");
}

/**
 * Reads a multipart body: fields into memory, files into `options.dir`.
 * 400 when the body is not a well-formed form, 413 past a limit; an error
 * of the body stream itself (a 429 of the upload budget, say) passes
 * through. On failure the files written so far are left in `options.dir`
 * for its owner to remove.
 */
export async function readMultipart(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  options: MultipartOptions,
): Promise<UploadForm> {
  const limits = {
    field: options.maxFieldBytes ?? 65536,
    parts: options.maxParts ?? 64,
    header: options.maxHeaderBytes ?? 16384,
  };
  const entries: [string, FormValue][] = [];
  const reader = new ChunkReader(body, options.maxBytes);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  try {
    // The first delimiter has no CRLF before it: pretend it had.
    reader.unshift(Buffer.from("\r\n"));
    if (!(await reader.skipPast(delimiter))) {
      throw badForm("it has no part");
    }
    for (let n = 1;; n++) {
      const after = await reader.take(2);
      if (after === "--") break;
      if (after !== "\r\n") throw badForm("a boundary is not followed by CRLF");
      if (n > limits.parts) {
        throw new HttpError(
          413,
          "too_large",
          `The form has more than ${limits.parts} parts`,
        );
      }
      const head = await reader.readUntil(
        Buffer.from("\r\n\r\n"),
        limits.header,
      );
      if (head === undefined) throw badForm("a part's headers do not end");
      const part = partHeaders(head);
      if (part.filename === undefined) {
        const bytes = await reader.readUntil(delimiter, limits.field);
        if (bytes === undefined) {
          throw new HttpError(
            413,
            "too_large",
            `The form field "${part.name}" is larger than ${limits.field} bytes`,
          );
        }
        entries.push([part.name, new TextDecoder().decode(bytes)]);
      } else {
        const path = join(options.dir, `part-${n}`);
        const size = await reader.writeUntil(delimiter, path);
        entries.push([
          part.name,
          new UploadedFile({
            name: part.filename,
            type: part.type,
            path,
            size,
          }),
        ]);
      }
    }
  } finally {
    await reader.cancel();
  }
  return new UploadForm(entries, options.dir);
}

/** The 400 of a body that is not a well-formed form. */
function badForm(why: string): HttpError {
  return new HttpError(400, "bad_request", `Cannot read the form: ${why}`);
}

/** A part's name, file name (files only) and type, from its headers. */
function partHeaders(
  head: Uint8Array,
): { name: string; filename?: string; type: string } {
  let disposition: string | undefined;
  let type = "";
  for (const line of new TextDecoder().decode(head).split("\r\n")) {
    const colon = line.indexOf(":");
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === "content-disposition") disposition = value;
    if (key === "content-type") type = value;
  }
  if (!disposition || !/^form-data\s*(;|$)/i.test(disposition)) {
    throw badForm("a part is not form-data");
  }
  const params = new Map<string, string>();
  const param = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (const m of disposition.matchAll(param)) {
    const value = m[2] !== undefined
      ? m[2].replace(/\\(.)/g, "$1")
      : m[3]!.trim();
    params.set(m[1]!.toLowerCase(), value);
  }
  const name = params.get("name");
  if (!name) throw badForm("a part has no name");
  return { name, filename: fileName(params), type };
}

/** `filename*` (RFC 5987, UTF-8) over `filename`; undefined for a field. */
function fileName(params: Map<string, string>): string | undefined {
  const extended = /^utf-8''(.*)$/i.exec(params.get("filename*") ?? "");
  if (extended) {
    try {
      return decodeURIComponent(extended[1]!);
    } catch {
      // Malformed: fall back to the plain parameter.
    }
  }
  return params.get("filename");
}

/**
 * The body as a byte queue: look for a delimiter, take what comes before it
 * (into memory up to a limit, or into a file), counting every byte read.
 */
class ChunkReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer: Buffer = Buffer.alloc(0);
  #read = 0;
  #max: number;
  #done = false;

  constructor(body: ReadableStream<Uint8Array>, max: number) {
    this.#reader = body.getReader();
    this.#max = max;
  }

  /** Puts `bytes` before what is left to read. */
  unshift(bytes: Uint8Array): void {
    this.#buffer = Buffer.concat([bytes, this.#buffer]);
  }

  /** Reads one more chunk into the buffer; false at the end of the body. */
  async #more(): Promise<boolean> {
    if (this.#done) return false;
    const { value, done } = await this.#reader.read();
    if (done) {
      this.#done = true;
      return false;
    }
    this.#read += value.length;
    if (this.#read > this.#max) throw tooLarge(this.#max);
    this.#buffer = Buffer.concat([this.#buffer, value]);
    return true;
  }

  /** The next `n` bytes as Latin-1 text; 400 when the body ends first. */
  async take(n: number): Promise<string> {
    while (this.#buffer.length < n) {
      if (!(await this.#more())) throw badForm("it ends before its last part");
    }
    const text = this.#buffer.toString("latin1", 0, n);
    this.#buffer = this.#buffer.subarray(n);
    return text;
  }

  /** Drops everything up to and including `needle`; false if never found. */
  async skipPast(needle: Uint8Array): Promise<boolean> {
    for (;;) {
      const at = this.#buffer.indexOf(needle);
      if (at >= 0) {
        this.#buffer = this.#buffer.subarray(at + needle.length);
        return true;
      }
      this.#buffer = this.#keepTail(needle.length);
      if (!(await this.#more())) return false;
    }
  }

  /**
   * The bytes before `needle` (which is consumed); undefined when more than
   * `max` bytes come first.
   */
  async readUntil(
    needle: Uint8Array,
    max: number,
  ): Promise<Uint8Array | undefined> {
    for (;;) {
      const at = this.#buffer.indexOf(needle);
      if (at >= 0) {
        if (at > max) return undefined;
        const bytes = this.#buffer.subarray(0, at);
        this.#buffer = this.#buffer.subarray(at + needle.length);
        return bytes;
      }
      if (this.#buffer.length > max + needle.length) return undefined;
      if (!(await this.#more())) throw badForm("it ends inside a part");
    }
  }

  /** Writes the bytes before `needle` to a new file at `path`; their count. */
  async writeUntil(needle: Uint8Array, path: string): Promise<number> {
    using file = await Deno.open(path, { write: true, createNew: true });
    let size = 0;
    for (;;) {
      const at = this.#buffer.indexOf(needle);
      // Without the needle, all but its length less one byte are body for
      // sure; the rest may be the start of the needle.
      const end = at >= 0
        ? at
        : Math.max(0, this.#buffer.length - needle.length + 1);
      size += await writeAll(file, this.#buffer.subarray(0, end));
      if (at >= 0) {
        this.#buffer = this.#buffer.subarray(at + needle.length);
        return size;
      }
      this.#buffer = this.#buffer.subarray(end);
      if (!(await this.#more())) throw badForm("it ends inside a file");
    }
  }

  /** The buffer's last `n - 1` bytes, which may start a needle of `n`. */
  #keepTail(n: number): Buffer {
    return this.#buffer.subarray(Math.max(0, this.#buffer.length - n + 1));
  }

  /** Stops reading the body (the epilogue, or the rest after an error). */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** Writes every byte of `bytes`; their count. */
async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<number> {
  let written = 0;
  while (written < bytes.length) {
    written += await file.write(bytes.subarray(written));
  }
  return written;
}
