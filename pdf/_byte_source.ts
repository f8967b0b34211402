/**
 * Random access to a PDF's bytes: in memory, or an open file read a range at
 * a time.
 *
 * @module
 */

/** Random access to a file's bytes. */
export interface ByteSource {
  /** Length of the file in bytes. */
  readonly size: number;
  /** `length` bytes from `offset` (fewer at the end of the file). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A {@linkcode ByteSource} over bytes in memory. */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) =>
      Promise.resolve(bytes.subarray(offset, offset + length)),
  };
}

/** A {@linkcode ByteSource} over an open file; reads run one at a time. */
export class FileBytes implements ByteSource, AsyncDisposable {
  readonly size: number;
  #file: Deno.FsFile | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(file: Deno.FsFile, size: number) {
    this.#file = file;
    this.size = size;
  }

  static async open(path: string): Promise<FileBytes> {
    const file = await Deno.open(path, { read: true });
    try {
      return new FileBytes(file, (await file.stat()).size);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    const done = this.#queue.then(() => this.#read(offset, length));
    this.#queue = done.catch(() => {});
    return done;
  }

  async #read(offset: number, length: number): Promise<Uint8Array> {
    const file = this.#file;
    if (!file) throw new Error("Cannot read the file: it was closed");
    length = Math.max(0, Math.min(length, this.size - offset));
    const bytes = new Uint8Array(length);
    await file.seek(offset, Deno.SeekMode.Start);
    let got = 0;
    while (got < length) {
      const n = await file.read(bytes.subarray(got));
      if (n === null) break;
      got += n;
    }
    return got === length ? bytes : bytes.subarray(0, got);
  }

  /** Closes the file; safe to call twice. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
