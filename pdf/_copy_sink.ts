/**
 * The writer of a PDF copied object by object: objects at the numbers they
 * had (copied as they stand, or serialised), new objects after the largest,
 * then a cross-reference table of the numbers written.
 *
 * @module
 */
import { type PDFDict, PDFName, type PDFObject, type PDFRef } from "pdf-lib";
import { refsIn } from "./_chunk_source.ts";
import { PdfWriter } from "./_pdf_objects.ts";

const latin1 = new TextDecoder("latin1");

/**
 * The output: objects at the numbers given (the source's), new ones after
 * them, then a cross-reference table of the numbers written.
 */
export class CopySink {
  #out: PdfWriter;
  #written = 0;
  #next: number;
  #offsets = new Map<number, number>();

  constructor(firstFree: number, version: string) {
    this.#next = firstFree;
    this.#out = new PdfWriter(0);
    this.#out.header(version);
  }

  #pending = 0;

  /** Bytes waiting in the writer, roughly. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Object `number` copied as it stands: "n g obj" to "endobj" when
   * `whole`, else without the "endobj".
   */
  raw(number: number, bytes: Uint8Array, whole: boolean): void {
    this.#pending += bytes.length;
    if (whole) {
      this.#out.cached(number, bytes);
      if (bytes[bytes.length - 1] !== 0x0a) this.#out.text("\n");
      return;
    }
    const header = /^\s*\d+\s+\d+\s+obj/.exec(
      latin1.decode(bytes.subarray(0, 40)),
    )!;
    this.#out.body(number, bytes.subarray(header[0].length));
  }

  value(number: number, object: PDFObject): void {
    this.#out.begin(number);
    this.#out.value(object, identity(object));
    this.#out.finish();
    this.#pending += 64;
  }

  /** A new object; returns its number. */
  object(body: string): number {
    const n = this.#next++;
    this.#out.object(n, body);
    return n;
  }

  /** A new stream object holding `content`; returns its number. */
  stream(content: string, dict = ""): number {
    return this.object(
      `<<${dict}/Length ${content.length}>>\nstream\n${content}\nendstream`,
    );
  }

  /** Starts object `number`: write its body, then call `finish()`. */
  begin(number: number): PdfWriter {
    this.#out.begin(number);
    return this.#out;
  }

  finish(): void {
    this.#out.finish();
    this.#pending += 256;
  }

  take(): Uint8Array {
    const bytes = this.#out.bytes();
    for (const [n, offset] of this.#out.offsets) this.#offsets.set(n, offset);
    this.#written += bytes.length;
    this.#out = new PdfWriter(this.#written);
    this.#pending = 0;
    return bytes;
  }

  /** The rest, with the cross-reference table and trailer. */
  end(trailer: PDFDict): Uint8Array {
    const bytes = this.take();
    const start = this.#written;
    const numbers = [...this.#offsets.keys()].sort((a, b) => a - b);
    const lines = ["xref\n0 1\n0000000000 65535 f \n"];
    for (let i = 0; i < numbers.length;) {
      let j = i + 1;
      while (j < numbers.length && numbers[j] === numbers[j - 1]! + 1) j++;
      lines.push(`${numbers[i]} ${j - i}\n`);
      for (let k = i; k < j; k++) {
        const offset = this.#offsets.get(numbers[k]!)!;
        lines.push(`${String(offset).padStart(10, "0")} 00000 n \n`);
      }
      i = j;
    }
    const out = new PdfWriter(0);
    out.text(lines.join(""));
    out.text(`trailer\n<</Size ${this.#next}`);
    for (const key of ["Root", "Info", "ID"]) {
      const value = trailer.get(PDFName.of(key));
      if (value === undefined) continue;
      out.text(`/${key}`);
      out.value(value, identity(value));
    }
    out.text(`>>\nstartxref\n${start}\n%%EOF\n`);
    const tail = out.bytes();
    const all = new Uint8Array(bytes.length + tail.length);
    all.set(bytes);
    all.set(tail, bytes.length);
    return all;
  }
}

/** References kept at their own numbers. */
export function identity(value: PDFObject): Map<PDFRef, number> {
  return new Map(refsIn(value).map((ref) => [ref, ref.objectNumber]));
}
