/**
 * Reading a PDF an object at a time: the cross-reference table says where
 * each object starts, and an object is read and parsed (by pdf-lib's object
 * parser) only when asked for. A 10,000-page merged PDF is then walked with
 * the page tree and the objects of the pages at hand in memory, not the
 * whole file.
 *
 * Files with classic cross-reference tables (what pressrun, pdf-lib and qpdf
 * write by default) are read this way; others (cross-reference streams,
 * object streams, a damaged table) are loaded whole by pdf-lib and served
 * from memory.
 *
 * @module
 */
import {
  ParseSpeeds,
  PDFArray,
  PDFContext,
  PDFDict,
  PDFDocument,
  PDFName,
  PDFNumber,
  type PDFObject,
  PDFObjectParser,
  PDFRef,
} from "pdf-lib";
import { InputError } from "../common/errors.ts";
import type { ByteSource } from "./_byte_source.ts";

/** A page as the page tree gives it: its dictionary and inherited entries. */
export interface ReaderPage {
  ref: PDFRef;
  dict: PDFDict;
  /** Resources, own or inherited. */
  resources: PDFObject | undefined;
  mediaBox: Box;
  cropBox: Box;
  bleedBox: Box;
  trimBox: Box;
  artBox: Box;
  /** /Rotate, own or inherited: 0, 90, 180 or 270. */
  rotate: number;
}

/** A rectangle [left, bottom, right, top] in points. */
export type Box = [number, number, number, number];

/** Where an object starts, and its generation. */
interface XrefEntry {
  offset: number;
  gen: number;
}

const INHERITED = ["Resources", "MediaBox", "CropBox", "Rotate"] as const;
type Inherited = Partial<Record<(typeof INHERITED)[number], PDFObject>>;
const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** pdf-lib's object parser, and how far one has read. */
class ObjectParser extends PDFObjectParser {
  /** Bytes read so far by `parser` (its stream is protected, not private). */
  static offsetOf(parser: PDFObjectParser): number {
    return (parser as ObjectParser).bytes.offset();
  }
}

/**
 * A PDF read an object at a time (see the module doc). Objects are parsed
 * afresh on each lookup, except the page tree's nodes.
 */
export class PdfReader {
  /** How the file is named in errors. */
  readonly name: string;
  /** "1.4", "1.7", … */
  readonly version: string;
  /** The trailer dictionary (of the newest section). */
  readonly trailer: PDFDict;
  /** Every page, in page order, with the entries it inherits. */
  readonly #pages: { ref: PDFRef; inherited: Inherited }[] = [];
  readonly #context = PDFContext.create();
  #source: ByteSource;
  #xref: Map<number, XrefEntry | null> | undefined;
  /** Sorted offsets where an object or a cross-reference section starts. */
  #bounds = new Float64Array(0);
  #doc: PDFDocument | undefined;
  #sections = 0;
  #tree = new Set<PDFRef>();

  private constructor(source: ByteSource, name: string, version: string) {
    this.#source = source;
    this.name = name;
    this.version = version;
    this.trailer = this.#context.obj({});
  }

  /**
   * Opens a PDF: reads its cross-reference table and page tree.
   *
   * @throws {InputError} Naming `name`, if it is no PDF, cannot be read or
   * has no page.
   */
  static async open(source: ByteSource, name: string): Promise<PdfReader> {
    const head = latin1.decode(await source.read(0, 1024));
    const version = /%PDF-(\d\.\d)/.exec(head)?.[1];
    if (version === undefined) {
      throw new InputError(`Cannot read ${name}: it is not a PDF file`, {
        location: { source: name },
      });
    }
    const reader = new PdfReader(source, name, version);
    try {
      if (!(await reader.#readXref()) || !(await reader.#walk())) {
        await reader.#loadWhole();
        if (!(await reader.#walk())) {
          throw new Error("it has no page tree");
        }
      }
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new InputError(
        `Cannot read ${name}: ${(error as Error).message}`,
        { cause: error, location: { source: name } },
      );
    }
    if (reader.#pages.length === 0) {
      throw new InputError(`Cannot read ${name}: it has no page`, {
        location: { source: name },
      });
    }
    return reader;
  }

  /** Number of pages. */
  get pageCount(): number {
    return this.#pages.length;
  }

  /** Each page's object, in page order. */
  pageRefs(): PDFRef[] {
    return this.#pages.map((p) => p.ref);
  }

  /** Whether `ref` is a node of the page tree (not a page). */
  isPageTree(ref: PDFRef): boolean {
    return this.#tree.has(ref);
  }

  /** The object `ref` names; undefined when the file has none. */
  async lookup(ref: PDFRef): Promise<PDFObject | undefined> {
    if (this.#doc) return this.#doc.context.lookup(ref);
    return (await this.#read(ref))?.object;
  }

  /** `value` itself, or the object it names when it is a reference. */
  async resolve(value: PDFObject | undefined): Promise<PDFObject | undefined> {
    return value instanceof PDFRef ? await this.lookup(value) : value;
  }

  /**
   * Object `ref` as it stands in the file: "n g obj" to "endobj" when the
   * file has a single cross-reference section (so nothing but the object
   * stands between its offset and the next one), else "n g obj" to the end
   * of its value (`whole` false: no "endobj"). Undefined when objects are
   * served from memory.
   */
  async raw(
    ref: PDFRef,
  ): Promise<{ bytes: Uint8Array; whole: boolean } | undefined> {
    if (this.#doc) return undefined;
    const entry = this.#xref!.get(ref.objectNumber);
    if (this.#sections === 1 && entry) {
      const bytes = await this.#span(entry);
      const head = /^(\d+)\s+\d+\s+obj\b/.exec(
        latin1.decode(bytes.subarray(0, 24)),
      );
      const tail = latin1.decode(
        bytes.subarray(Math.max(0, bytes.length - 16)),
      );
      if (Number(head?.[1]) === ref.objectNumber && /endobj\s*$/.test(tail)) {
        return { bytes, whole: true };
      }
    }
    const read = await this.#read(ref);
    return read && { bytes: read.raw, whole: false };
  }

  /**
   * A cheap look at object `ref`, with no parse: its bytes as they stand and
   * the references its dictionary part seems to hold (a reference-like text
   * in a string counts too). Undefined when objects are served from memory.
   */
  async look(
    ref: PDFRef,
  ): Promise<{ bytes: Uint8Array; refs: PDFRef[] } | undefined> {
    const entry = this.#xref?.get(ref.objectNumber);
    if (!entry) return undefined;
    const bytes = await this.#span(entry);
    const text = latin1.decode(bytes.subarray(0, streamStart(bytes)));
    const refs: PDFRef[] = [];
    for (const m of text.matchAll(REF_TEXT)) {
      refs.push(PDFRef.of(Number(m[1]), Number(m[2])));
    }
    refs.shift(); // The "n g obj" header looks like one.
    return { bytes, refs };
  }

  /** Every object the file holds, in the order they stand in it. */
  objectRefs(): PDFRef[] {
    if (this.#doc) {
      return this.#doc.context.enumerateIndirectObjects().map(([ref]) => ref);
    }
    const entries: [PDFRef, number][] = [];
    for (const [number, entry] of this.#xref!) {
      if (entry) entries.push([PDFRef.of(number, entry.gen), entry.offset]);
    }
    return entries.sort((a, b) => a[1] - b[1]).map(([ref]) => ref);
  }

  /** Page `index` (0-based) with its boxes resolved. */
  async page(index: number): Promise<ReaderPage> {
    const entry = this.#pages[index];
    if (!entry) throw new RangeError(`${this.name} has no page ${index + 1}`);
    const dict = await this.lookup(entry.ref);
    if (!(dict instanceof PDFDict)) {
      throw new InputError(
        `Cannot read ${this.name}: page ${index + 1} is not a dictionary`,
        { location: { source: this.name } },
      );
    }
    const own = (key: string) => dict.get(PDFName.of(key));
    const boxOf = async (value: PDFObject | undefined) =>
      value === undefined ? undefined : await this.#box(value);
    const mediaBox = await boxOf(own("MediaBox") ?? entry.inherited.MediaBox);
    if (!mediaBox) {
      throw new InputError(
        `Cannot read ${this.name}: page ${index + 1} has no MediaBox`,
        { location: { source: this.name } },
      );
    }
    const cropBox = clip(
      await boxOf(own("CropBox") ?? entry.inherited.CropBox) ?? mediaBox,
      mediaBox,
    );
    const within = async (key: string) =>
      clip(await boxOf(own(key)) ?? cropBox, cropBox);
    const rotate = await this.resolve(own("Rotate") ?? entry.inherited.Rotate);
    return {
      ref: entry.ref,
      dict,
      resources: own("Resources") ?? entry.inherited.Resources,
      mediaBox,
      cropBox,
      bleedBox: await within("BleedBox"),
      trimBox: await within("TrimBox"),
      artBox: await within("ArtBox"),
      rotate: rotate instanceof PDFNumber
        ? ((rotate.asNumber() % 360) + 360) % 360
        : 0,
    };
  }

  async #box(value: PDFObject): Promise<Box | undefined> {
    const array = await this.resolve(value);
    if (!(array instanceof PDFArray) || array.size() !== 4) return undefined;
    const n: number[] = [];
    for (const item of array.asArray()) {
      const v = await this.resolve(item);
      if (!(v instanceof PDFNumber)) return undefined;
      n.push(v.asNumber());
    }
    return [
      Math.min(n[0]!, n[2]!),
      Math.min(n[1]!, n[3]!),
      Math.max(n[0]!, n[2]!),
      Math.max(n[1]!, n[3]!),
    ];
  }

  /** Reads the page tree; false when it cannot be found this way. */
  async #walk(): Promise<boolean> {
    this.#pages.length = 0;
    this.#tree.clear();
    let root: PDFObject | undefined;
    try {
      const catalog = await this.resolve(this.trailer.get(PDFName.of("Root")));
      if (!(catalog instanceof PDFDict)) return false;
      root = catalog.get(PDFName.of("Pages"));
    } catch {
      return false;
    }
    if (!(root instanceof PDFRef)) return false;
    const visit = async (ref: PDFRef, inherited: Inherited, depth: number) => {
      if (this.#tree.has(ref) || depth > 64) return;
      const node = await this.lookup(ref);
      if (!(node instanceof PDFDict)) return;
      const type = node.get(PDFName.of("Type"));
      const kids = await this.resolve(node.get(PDFName.of("Kids")));
      if (type === PDFName.of("Pages") || kids instanceof PDFArray) {
        this.#tree.add(ref);
        const own: Inherited = { ...inherited };
        for (const key of INHERITED) {
          const value = node.get(PDFName.of(key));
          if (value !== undefined) own[key] = value;
        }
        if (!(kids instanceof PDFArray)) return;
        for (const kid of kids.asArray()) {
          if (kid instanceof PDFRef) await visit(kid, own, depth + 1);
        }
      } else {
        this.#pages.push({ ref, inherited });
      }
    };
    try {
      await visit(root, {}, 0);
    } catch {
      return false;
    }
    return true;
  }

  /** Reads the classic cross-reference sections; false for any other kind. */
  async #readXref(): Promise<boolean> {
    const { size } = this.#source;
    const tailLength = Math.min(size, 2048);
    const tail = latin1.decode(
      await this.#source.read(size - tailLength, tailLength),
    );
    const at = tail.lastIndexOf("startxref");
    const start = Number(/^startxref\s+(\d+)/.exec(tail.slice(at))?.[1]);
    if (at < 0 || !Number.isInteger(start)) return false;
    const xref = new Map<number, XrefEntry | null>();
    const starts: number[] = [];
    let trailer: PDFDict | undefined;
    for (let offset: number | undefined = start; offset !== undefined;) {
      if (starts.includes(offset) || offset >= size) return false;
      starts.push(offset);
      const section = await this.#section(offset);
      if (!section) return false;
      for (const [number, entry] of section.entries) {
        if (!xref.has(number)) xref.set(number, entry);
      }
      trailer ??= section.trailer;
      if (section.trailer.get(PDFName.of("XRefStm")) !== undefined) {
        return false;
      }
      const prev = section.trailer.get(PDFName.of("Prev"));
      offset = prev instanceof PDFNumber ? prev.asNumber() : undefined;
    }
    for (const [key, value] of trailer!.entries()) this.trailer.set(key, value);
    const bounds = new Set<number>([...starts, size]);
    for (const entry of xref.values()) if (entry) bounds.add(entry.offset);
    this.#bounds = Float64Array.from(bounds).sort();
    this.#xref = xref;
    this.#sections = starts.length;
    return true;
  }

  /** One "xref … trailer <<…>>" section, read in growing pieces. */
  async #section(
    offset: number,
  ): Promise<
    { entries: [number, XrefEntry | null][]; trailer: PDFDict } | undefined
  > {
    for (let length = 1 << 16;; length *= 4) {
      const bytes = await this.#source.read(offset, length);
      const text = latin1.decode(bytes);
      if (!/^\s*xref\s/.test(text)) return undefined;
      const at = text.indexOf("trailer");
      let trailer: PDFObject | undefined;
      if (at >= 0) {
        try {
          trailer = ObjectParser.forBytes(bytes.subarray(at + 7), this.#context)
            .parseObject();
        } catch {
          // Cut short: read more.
        }
      }
      if (trailer instanceof PDFDict) {
        const entries = xrefEntries(text.slice(text.indexOf("xref") + 4, at));
        return entries && { entries, trailer };
      }
      if (bytes.length < length) return undefined;
    }
  }

  async #read(
    ref: PDFRef,
  ): Promise<{ object: PDFObject; raw: Uint8Array } | undefined> {
    const entry = this.#xref!.get(ref.objectNumber);
    if (!entry) return undefined;
    const bytes = await this.#span(entry);
    const header = /^\s*(\d+)\s+(\d+)\s+obj\b/.exec(
      latin1.decode(bytes.subarray(0, 40)),
    );
    if (!header || Number(header[1]) !== ref.objectNumber) {
      throw new InputError(
        `Cannot read ${this.name}: object ${ref.objectNumber} is not where its cross-reference table says`,
        { location: { source: this.name } },
      );
    }
    const parser = ObjectParser.forBytes(
      bytes.subarray(header[0].length),
      this.#context,
    );
    const object = parser.parseObject();
    return {
      object,
      raw: bytes.subarray(0, header[0].length + ObjectParser.offsetOf(parser)),
    };
  }

  /** The bytes from an object's offset to the next object or section. */
  #span(entry: XrefEntry): Promise<Uint8Array> {
    const end = this.#bounds[upperBound(this.#bounds, entry.offset)] ??
      this.#source.size;
    return this.#source.read(entry.offset, end - entry.offset);
  }

  async #loadWhole(): Promise<void> {
    const bytes = await this.#source.read(0, this.#source.size);
    this.#doc = await PDFDocument.load(bytes, {
      updateMetadata: false,
      parseSpeed: ParseSpeeds.Fastest,
      throwOnInvalidObject: true,
    });
    this.#xref = undefined;
    const root = this.#doc.context.trailerInfo.Root;
    if (root instanceof PDFRef) this.trailer.set(PDFName.of("Root"), root);
    const info = this.#doc.context.trailerInfo.Info;
    if (info instanceof PDFRef) this.trailer.set(PDFName.of("Info"), info);
  }
}

/** The entries of one section's subsections; undefined when malformed. */
function xrefEntries(text: string): [number, XrefEntry | null][] | undefined {
  const tokens = text.trim().split(/\s+/);
  const entries: [number, XrefEntry | null][] = [];
  for (let i = 0; i + 1 < tokens.length;) {
    const first = Number(tokens[i]), count = Number(tokens[i + 1]);
    if (!Number.isInteger(first) || !Number.isInteger(count)) return undefined;
    i += 2;
    for (let k = 0; k < count; k++, i += 3) {
      const offset = Number(tokens[i]), gen = Number(tokens[i + 1]);
      const kind = tokens[i + 2];
      if (kind === "n") entries.push([first + k, { offset, gen }]);
      else if (kind === "f") entries.push([first + k, null]);
      else return undefined;
    }
  }
  return entries;
}

const REF_TEXT = /(\d+)\s+(\d+)\s+(?:R|obj)(?![A-Za-z0-9])/g;
const STREAM = [...ascii("stream")];
const WHITESPACE = new Set([0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]);

/**
 * Where an object's stream keyword stands ("stream" right after the
 * dictionary's ">>"), or its length when it has none.
 */
function streamStart(bytes: Uint8Array): number {
  for (let at = bytes.indexOf(STREAM[0]!); at >= 0;) {
    if (STREAM.every((b, i) => bytes[at + i] === b)) {
      let before = at - 1;
      while (before > 0 && WHITESPACE.has(bytes[before]!)) before--;
      if (bytes[before] === 0x3e && bytes[before - 1] === 0x3e) return at;
    }
    at = bytes.indexOf(STREAM[0]!, at + 1);
  }
  return bytes.length;
}

/** Index of the first value greater than `value` in sorted `values`. */
function upperBound(values: Float64Array, value: number): number {
  let lo = 0, hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function clip(box: Box, within: Box): Box {
  return [
    Math.max(box[0], within[0]),
    Math.max(box[1], within[1]),
    Math.min(box[2], within[2]),
    Math.min(box[3], within[3]),
  ];
}

/** ASCII text as bytes. */
function ascii(text: string): Uint8Array {
  return encoder.encode(text);
}
