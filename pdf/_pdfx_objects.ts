/**
 * The objects of a document being converted, and the bookkeeping every
 * converter shares: looking values up, replacing an object in place while
 * remembering the original (conversions always start from originals), and
 * converting each object once per mode, carrying along whether what it
 * reaches uses transparency.
 *
 * @module
 */
import {
  decodePDFRawStream,
  PDFArray,
  type PDFContext,
  PDFDict,
  PDFName,
  PDFNumber,
  type PDFObject,
  PDFRawStream,
  PDFRef,
} from "pdf-lib";
import { inflateSync } from "node:zlib";

/** Why a document cannot be converted: what, where. */
export class ConversionError extends Error {
  override name = "ConversionError";
}

/** CMYK for content; gray inside a luminosity soft mask. */
export type Mode = "cmyk" | "gray";

interface Memo {
  value: unknown;
  transparent: boolean;
}

/** Shorthand for a PDF name. */
export const N = (name: string): PDFName => PDFName.of(name);

/** A document's objects, as a conversion sees them. */
export class Objects {
  readonly context: PDFContext;
  /** Whether what was converted since the last reset uses transparency. */
  transparent = false;
  #memo: Record<Mode, Map<PDFObject, Memo>> = {
    cmyk: new Map(),
    gray: new Map(),
  };
  /** Objects replaced in place, as they were. */
  #original = new Map<PDFRef, PDFObject>();

  constructor(context: PDFContext) {
    this.context = context;
  }

  lookup(object: PDFObject | undefined): PDFObject | undefined {
    return object instanceof PDFRef ? this.context.lookup(object) : object;
  }

  /** An object as it was before any conversion replaced it. */
  source(object: PDFObject | undefined): PDFObject | undefined {
    if (!(object instanceof PDFRef)) return object;
    return this.#original.get(object) ?? this.context.lookup(object);
  }

  /** Puts `converted` at `ref`, remembering what was there. */
  assign(ref: PDFRef, converted: PDFObject): void {
    if (!this.#original.has(ref)) {
      const before = this.context.lookup(ref);
      if (before !== undefined) this.#original.set(ref, before);
    }
    this.context.assign(ref, converted);
  }

  number(object: PDFObject | undefined): number | undefined {
    const v = this.lookup(object);
    return v instanceof PDFNumber ? v.asNumber() : undefined;
  }

  name(object: PDFObject | undefined): string | undefined {
    const v = this.lookup(object);
    return v instanceof PDFName ? v.decodeText() : undefined;
  }

  /** Runs `convert` once per object and mode; repeats its transparency finding. */
  once<T>(object: PDFObject, mode: Mode, convert: () => T): T {
    const memo = this.#memo[mode];
    const hit = memo.get(object);
    if (hit) {
      if (hit.transparent) this.transparent = true;
      return hit.value as T;
    }
    const outer = this.transparent;
    this.transparent = false;
    // A placeholder against cycles (a form drawing itself).
    memo.set(object, { value: object, transparent: false });
    const value = convert();
    const transparent = this.transparent;
    memo.set(object, { value, transparent });
    this.transparent = outer || transparent;
    return value;
  }

  /**
   * Where a converted stream goes: over the original's number in CMYK mode,
   * a new object in gray mode. Returns what refers to it.
   */
  store(
    object: PDFObject,
    original: PDFRawStream,
    converted: PDFRawStream,
    mode: Mode,
  ): PDFObject {
    if (mode === "gray") {
      return converted === original ? object : this.context.register(converted);
    }
    if (converted !== original && object instanceof PDFRef) {
      this.assign(object, converted);
    }
    return object;
  }

  /** A shallow copy of a dictionary. */
  copy(dict: PDFDict): PDFDict {
    const copy = PDFDict.withContext(this.context);
    for (const [key, value] of dict.entries()) copy.set(key, value);
    return copy;
  }
}

/** A stream's decoded bytes (Flate natively, other filters through pdf-lib). */
export function decodeStream(stream: PDFRawStream): Uint8Array {
  const filter = stream.dict.get(N("Filter"));
  if (filter === undefined) return stream.contents;
  const only = filter instanceof PDFArray && filter.size() === 1
    ? filter.get(0)
    : filter;
  const name = only instanceof PDFName ? only.decodeText() : undefined;
  if (
    (name === "FlateDecode" || name === "Fl") &&
    stream.dict.get(N("DecodeParms")) === undefined
  ) {
    return new Uint8Array(inflateSync(stream.contents));
  }
  return decodePDFRawStream(stream).decode();
}

/** Bytes as hexadecimal digits. */
export function hex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    out += bytes[i]!.toString(16).padStart(2, "0");
  }
  return out;
}
