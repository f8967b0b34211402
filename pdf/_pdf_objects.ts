/**
 * The small PDF serializer the chunk writers share: {@linkcode PdfWriter}
 * writes PDF syntax (objects, stream data as is, cross-reference tables), and
 * {@linkcode writeObjects} writes a chunk's objects with references
 * renumbered and each page's boxes set from the geometry.
 *
 * @module
 */
import {
  PDFArray,
  PDFDict,
  PDFHexString,
  PDFName,
  PDFNumber,
  type PDFObject,
  PDFRef,
  PDFStream,
} from "pdf-lib";
import { pageEntries, type Source, type SourcePage } from "./_chunk_source.ts";
import type { PageGeometry } from "./geometry.ts";

const PRODUCER = "pressrun";
const LENGTH = PDFName.of("Length");
const encoder = new TextEncoder();

/** Writes every object in `numbers`; pages get the geometry's boxes and `parent`. */
export function writeObjects(
  out: PdfWriter,
  source: Source,
  objects: Map<PDFRef, number>,
  page: {
    numbers: Map<PDFRef, number>;
    geometry: PageGeometry;
    parent: number;
    /** More entries for a page's dictionary (`/DPart 12 0 R`). */
    extra?: (ref: PDFRef) => string;
  },
): void {
  const { numbers } = page;
  const pages = new Map(source.pages.map((p) => [p.ref, p]));
  const { widthPt, heightPt, bleedPt, trimWidthPt, trimHeightPt } =
    page.geometry;
  // Chromium lays the page out from its top-left corner, so the boxes keep
  // that corner when its page size was rounded.
  const boxes = ({ left, top }: SourcePage) => {
    const bottom = top - heightPt;
    const media = box(left, bottom, left + widthPt, top);
    const trim = box(
      left + bleedPt,
      bottom + bleedPt,
      left + bleedPt + trimWidthPt,
      bottom + bleedPt + trimHeightPt,
    );
    return `/Parent ${page.parent} 0 R/MediaBox${media}/BleedBox${media}/TrimBox${trim}`;
  };
  for (const [ref, number] of objects) {
    const sourcePage = pages.get(ref);
    out.begin(number);
    if (sourcePage) {
      out.text("<<");
      for (const [key, value] of pageEntries(sourcePage)) {
        out.text(key.asString());
        out.value(value, numbers);
      }
      out.text(`${boxes(sourcePage)}${page.extra?.(ref) ?? ""}>>`);
    } else {
      const object = source.doc.context.lookup(ref);
      if (object === undefined) out.text("null");
      else out.value(object, numbers);
    }
    out.finish();
  }
}

function box(x0: number, y0: number, x1: number, y1: number): string {
  return `[${
    [x0, y0, x1, y1].map((n) => PDFNumber.of(n).toString()).join(" ")
  }]`;
}

export function infoDict(title: string | undefined): string {
  const producer = PDFHexString.fromText(PRODUCER).toString();
  const entries = `/Producer${producer}/Creator${producer}`;
  return title === undefined
    ? `<<${entries}>>`
    : `<<${entries}/Title${PDFHexString.fromText(title).toString()}>>`;
}

/** A PDF text string (UTF-16BE with a byte order mark, in hex). */
export function textString(text: string): string {
  return PDFHexString.fromText(text).toString();
}

/** A PDF name for any text: characters outside the regular set as #xx. */
export function pdfName(text: string): string {
  let out = "/";
  for (const byte of new TextEncoder().encode(text)) {
    const c = String.fromCharCode(byte);
    out += byte > 0x20 && byte < 0x7f && !/[#()<>[\]{}/%]/.test(c)
      ? c
      : `#${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

export function concat(parts: Uint8Array[], length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

/**
 * Writes PDF syntax: ASCII text gathered in a string, binary data (streams,
 * strings) as given; remembers where each object starts.
 */
export class PdfWriter {
  #parts: Uint8Array[] = [];
  #text = "";
  #size = 0;
  #base: number;
  /** [object number, absolute byte offset] in the order written. */
  readonly offsets: [number, number][] = [];

  /** `base`: how many bytes of the file come before this writer's. */
  constructor(base: number) {
    this.#base = base;
  }

  header(version: string): void {
    this.text(`%PDF-${version}\n%`);
    this.binary(new Uint8Array([0xe2, 0xe3, 0xcf, 0xd3, 0x0a]));
  }

  begin(number: number): void {
    this.offsets.push([number, this.#base + this.#size + this.#text.length]);
    this.text(`${number} 0 obj\n`);
  }

  finish(): void {
    this.text("\nendobj\n");
  }

  /** An object serialised earlier, whole ("n 0 obj … endobj"). */
  cached(number: number, bytes: Uint8Array): void {
    this.offsets.push([number, this.#base + this.#size + this.#text.length]);
    this.binary(bytes);
  }

  /** An object's body serialised earlier (what goes between "obj" and "endobj"). */
  body(number: number, bytes: Uint8Array): void {
    this.begin(number);
    this.binary(bytes);
    this.finish();
  }

  object(number: number, body: string): void {
    this.begin(number);
    this.text(body);
    this.finish();
  }

  text(text: string): void {
    this.#text += text;
  }

  binary(bytes: Uint8Array): void {
    this.#flush();
    this.#parts.push(bytes);
    this.#size += bytes.length;
  }

  /** A direct value, with references renumbered (unknown ones become null). */
  value(object: PDFObject, numbers: Map<PDFRef, number>): void {
    if (object instanceof PDFRef) {
      const number = numbers.get(object);
      this.text(number === undefined ? " null" : ` ${number} 0 R`);
    } else if (object instanceof PDFDict) {
      this.text("<<");
      for (const [key, value] of object.entries()) {
        this.text(key.asString());
        this.value(value, numbers);
      }
      this.text(">>");
    } else if (object instanceof PDFArray) {
      this.text("[");
      for (const value of object.asArray()) this.value(value, numbers);
      this.text("]");
    } else if (object instanceof PDFStream) {
      const contents = object.getContents();
      this.text("<<");
      for (const [key, value] of object.dict.entries()) {
        if (key === LENGTH) continue;
        this.text(key.asString());
        this.value(value, numbers);
      }
      this.text(`/Length ${contents.length}>>\nstream\n`);
      this.binary(contents);
      this.text("\nendstream");
    } else if (object instanceof PDFName || object instanceof PDFNumber) {
      this.text(object instanceof PDFName ? object.asString() : ` ${object}`);
    } else {
      // Strings (possibly holding bytes past ASCII), booleans, null.
      const bytes = new Uint8Array(object.sizeInBytes());
      object.copyBytesInto(bytes, 0);
      this.text(" ");
      if (bytes.length <= 4096 && bytes.every((b) => b < 0x80)) {
        this.text(String.fromCharCode(...bytes));
      } else {
        this.binary(bytes);
      }
    }
  }

  /**
   * Cross-reference table and trailer for the objects written by this
   * writer, which may leave gaps in the numbering (one subsection per run).
   */
  trailer(root: number, info: number): void {
    const start = this.#base + this.#size + this.#text.length;
    const sorted = [...this.offsets].sort((a, b) => a[0] - b[0]);
    const lines = ["xref\n0 1\n0000000000 65535 f \n"];
    for (let i = 0; i < sorted.length;) {
      let j = i + 1;
      while (j < sorted.length && sorted[j]![0] === sorted[j - 1]![0] + 1) j++;
      lines.push(`${sorted[i]![0]} ${j - i}\n`);
      for (let k = i; k < j; k++) {
        lines.push(`${String(sorted[k]![1]).padStart(10, "0")} 00000 n \n`);
      }
      i = j;
    }
    const size = sorted[sorted.length - 1]![0] + 1;
    this.text(lines.join(""));
    this.text(
      `trailer\n<</Size ${size}/Root ${root} 0 R/Info ${info} 0 R>>\nstartxref\n${start}\n%%EOF\n`,
    );
  }

  xref(offsets: readonly number[], root: number, info: number): void {
    const start = this.#base + this.#size + this.#text.length;
    const lines = [`xref\n0 ${offsets.length}\n0000000000 65535 f \n`];
    for (let i = 1; i < offsets.length; i++) {
      lines.push(`${String(offsets[i]).padStart(10, "0")} 00000 n \n`);
    }
    this.text(lines.join(""));
    this.text(
      `trailer\n<</Size ${offsets.length}/Root ${root} 0 R/Info ${info} 0 R>>\nstartxref\n${start}\n%%EOF\n`,
    );
  }

  bytes(): Uint8Array {
    this.#flush();
    return concat(this.#parts, this.#size);
  }

  #flush(): void {
    if (this.#text === "") return;
    // Only ASCII reaches the text buffer, so UTF-8 is byte for byte.
    const bytes = encoder.encode(this.#text);
    this.#parts.push(bytes);
    this.#size += bytes.length;
    this.#text = "";
  }
}
