/**
 * Chunk PDFs into the product's print outputs, with no browser involved.
 *
 * In vector mode Chromium prints a chunk of records as one PDF, one page per
 * record, and the objects the pages share (the background image, the font
 * subsets) are stored once in it. This module turns chunks into:
 *
 * - per-piece files: {@linkcode splitChunk} writes one PDF per page holding
 *   only the objects that page uses;
 * - the merged file: {@linkcode MergedChunks} appends chunk after chunk (or
 *   one-page piece after piece) and hands back the bytes to write at once,
 *   so a batch of any size is merged with one chunk in memory; an object
 *   identical to one already written (the font subsets and images pieces of
 *   one chunk share, a background image) is stored once.
 *
 * Every page gets MediaBox = BleedBox = trim + bleed and TrimBox inset by the
 * bleed, from the piece's {@linkcode PageGeometry} (Chromium writes only a
 * MediaBox). Output is deterministic: no dates, no random ids.
 *
 * How: pdf-lib parses the chunk (in one go); the objects a page reaches are
 * written straight out by a small serializer here, stream data as is, never
 * re-encoded. A split keeps the chunk's object numbers, so an object shared
 * by many pages (fonts, the background image) is serialised once per chunk
 * and its bytes reused by every piece; a join renumbers chunk after chunk.
 *
 * Why not qpdf or pdf-lib's copyPages: measured side by side on the bench's
 * print postcard (6×4 in + bleed, chunks of 50 and 100 pages printed by
 * Chromium; 2 cores shared with other jobs, load ≈ 10; median of 5, files
 * written), ms per page:
 *
 * | chunk | split: this | `qpdf --split-pages` | + boxes via pdf-lib | pdf-lib `copyPages` | join: this | `qpdf --empty --pages` | pdf-lib |
 * | ----: | ----------: | -------------------: | ------------------: | ------------------: | ---------: | ---------------------: | ------: |
 * |    50 |         2.5 |                  7.1 |                 8.2 |                 6.9 |       0.38 |                   0.54 |    1.93 |
 * |   100 |         2.8 |                  5.8 |                 5.7 |                13.0 |       0.38 |                   0.60 |    0.76 |
 *
 * (On a quieter moment: this split 0.4–0.8 ms, qpdf 1.6–1.8 ms, pdf-lib
 * 3.3–4.3 ms a page.) qpdf also writes no TrimBox/BleedBox, needs files on
 * disk and a subprocess; pdf-lib holds the whole merged document until
 * `save()`. Sizes are the same for all three: ≈ 64 KB a split piece (its
 * font subsets and the background image travel with it), 6.5–7.3 KB a page
 * merged.
 *
 * @example Usage
 * ```ts ignore
 * import { MergedChunks, splitChunk } from "./chunks.ts";
 * import { pageGeometry } from "./geometry.ts";
 *
 * const geometry = pageGeometry({ width: 6, height: 4, unit: "in" }, { bleed: 0.125 });
 * const merged = new MergedChunks(geometry, { title: "Spring postcards" });
 * using file = await Deno.open("merged.pdf", { write: true, create: true });
 * for await (const chunk of chunks) {
 *   const pieces = await splitChunk(chunk, geometry);
 *   // … write each piece …
 *   await file.write(await merged.add(chunk));
 * }
 * await file.write(merged.end());
 * ```
 *
 * @module
 */

import {
  ParseSpeeds,
  PDFArray,
  PDFDict,
  PDFDocument,
  PDFHexString,
  PDFName,
  PDFNumber,
  type PDFObject,
  type PDFPageLeaf,
  PDFRef,
  PDFStream,
} from "pdf-lib";
import { createHash } from "node:crypto";
import { PressrunError } from "../common/errors.ts";
import type { PageGeometry } from "./geometry.ts";
import type { PdfMeta } from "./writer.ts";

/** Options for {@linkcode splitChunk}. */
export interface SplitOptions {
  /**
   * A title per page, in page order (the record's label, say); must have one
   * entry per page of the chunk when given.
   * @default {no title}
   */
  titles?: readonly string[];
  /**
   * How far, in points, a chunk page's size may stray from the geometry's
   * before the chunk is refused. Chromium rounds page sizes to whole 1/300
   * in (up to ≈ 0.5 pt off for millimetre sizes); the boxes are then placed
   * from the page's top-left corner, where Chromium's layout starts.
   * @default {1}
   */
  tolerancePt?: number;
}

/** Options for {@linkcode MergedChunks}. */
export interface MergedChunksOptions extends PdfMeta {
  /**
   * As {@linkcode SplitOptions.tolerancePt}.
   * @default {1}
   */
  tolerancePt?: number;
}

const PRODUCER = "pressrun";
const DEFAULT_TOLERANCE_PT = 1;
/** Pages under one intermediate node of the merged file's page tree. */
const PAGES_PER_NODE = 100;
/** Entries of a page that this module writes itself. */
const PAGE_OWN = new Set(
  ["Parent", "MediaBox", "CropBox", "BleedBox", "TrimBox", "ArtBox"].map((n) =>
    PDFName.of(n)
  ),
);
const INHERITED = ["Resources", "Rotate"].map((n) => PDFName.of(n));
const LENGTH = PDFName.of("Length");
const encoder = new TextEncoder();

/**
 * Splits a chunk PDF into one PDF per page, in page order. Each holds the
 * page with the objects it uses, MediaBox/BleedBox/TrimBox from `geometry`,
 * and producer (plus title, when given) metadata.
 *
 * @example Usage
 * ```ts ignore
 * const pieces = await splitChunk(chunk, geometry, { titles: ["0001", "0002"] });
 * ```
 *
 * @throws {PressrunError} If `chunk` is not a readable PDF, has no page, or a
 * page's size is not the geometry's.
 * @throws {TypeError} If `chunk` is not a Uint8Array.
 * @throws {RangeError} If `titles` does not have one entry per page.
 */
export async function splitChunk(
  chunk: Uint8Array,
  geometry: PageGeometry,
  options: SplitOptions = {},
): Promise<Uint8Array[]> {
  const source = await readChunk(
    chunk,
    geometry,
    options.tolerancePt ?? DEFAULT_TOLERANCE_PT,
  );
  const { titles } = options;
  if (titles !== undefined && titles.length !== source.pages.length) {
    throw new RangeError(
      `titles must have one entry per page: the chunk has ${source.pages.length} pages, got ${titles.length} titles`,
    );
  }
  // Objects keep their chunk numbers, so each is serialised once and its
  // bytes reused by every piece that uses it (the font subsets, the shared
  // image); a piece's cross-reference table lists only what it holds.
  const context = source.doc.context;
  const numbers = new Map<PDFRef, number>();
  for (const [ref] of context.enumerateIndirectObjects()) {
    numbers.set(ref, ref.objectNumber);
  }
  const catalog = context.largestObjectNumber + 1;
  const tree = catalog + 1;
  const info = tree + 1;
  const cache = new Map<PDFRef, Uint8Array>();
  const serialised = (ref: PDFRef): Uint8Array => {
    let bytes = cache.get(ref);
    if (!bytes) {
      const out = new PdfWriter(0);
      writeObjects(out, source, new Map([[ref, numbers.get(ref)!]]), {
        numbers,
        geometry,
        parent: tree,
      });
      bytes = out.bytes();
      cache.set(ref, bytes);
    }
    return bytes;
  };
  return source.pages.map((page, i) => {
    const out = new PdfWriter(0);
    out.header(source.version);
    for (const ref of reachable(source, [page])) {
      if (ref === page.ref) {
        writeObjects(out, source, new Map([[ref, ref.objectNumber]]), {
          numbers,
          geometry,
          parent: tree,
        });
      } else {
        out.cached(ref.objectNumber, serialised(ref));
      }
    }
    out.object(catalog, `<</Type/Catalog/Pages ${tree} 0 R>>`);
    out.object(
      tree,
      `<</Type/Pages/Kids[${page.ref.objectNumber} 0 R]/Count 1>>`,
    );
    out.object(info, infoDict(titles?.[i]));
    out.trailer(catalog, info);
    return out.bytes();
  });
}

/**
 * The merged PDF, built chunk by chunk (or piece by piece) in the order of
 * the `add()` calls: each call returns the bytes to append to the file (the
 * PDF header comes with the first), `end()` the tail (page tree, catalog,
 * cross-reference table).
 *
 * Identical objects are stored once: an object whose bytes, once its
 * references are renumbered, equal those of an object already written is
 * not written again, and references to it point at the first. So one-page
 * PDFs split from the same chunk (which carry byte-identical font subsets
 * and images) merge back to one copy of each, and the same background image
 * in every raster piece is stored once too. Memory stays bounded: the chunk
 * being added, and one digest per object written.
 *
 * @example Usage
 * ```ts ignore
 * const merged = new MergedChunks(geometry, { title: "Spring postcards" });
 * const parts = [];
 * for (const chunk of chunks) parts.push(await merged.add(chunk));
 * parts.push(merged.end());
 * ```
 */
export class MergedChunks {
  #geometry: PageGeometry;
  #meta: MergedChunksOptions;
  /** Byte offset of each object, by object number (1 catalog, 2 root, 3 info). */
  #offsets: number[] = [0, 0, 0, 0];
  /** The next free object number. */
  #next = 4;
  /** The intermediate page-tree nodes written, and their page counts. */
  #nodes: { number: number; count: number }[] = [];
  /** The node pages go under now (written when full, or by `end()`). */
  #open: { number: number; kids: number[] } | undefined;
  #pages = 0;
  /** Object number of each object written, by the digest of its bytes. */
  #digests = new Map<string, number>();
  #reused = 0;
  #written = 0;
  #version = "1.4";
  #queue: Promise<unknown> = Promise.resolve();
  #ended = false;

  constructor(geometry: PageGeometry, options: MergedChunksOptions = {}) {
    this.#geometry = geometry;
    this.#meta = options;
  }

  /** Pages added so far. */
  get pageCount(): number {
    return this.#pages;
  }

  /** Bytes handed out so far by `add()` (and `end()`). */
  get byteLength(): number {
    return this.#written;
  }

  /** Objects not written again because an identical one was. */
  get reusedObjects(): number {
    return this.#reused;
  }

  /**
   * Appends every page of `chunk` (a chunk, or a one-page piece) and returns
   * the bytes to write after those returned before. Calls keep their order
   * even when not awaited one by one.
   *
   * @throws {PressrunError} As {@linkcode splitChunk} does for a bad chunk;
   * nothing is added then.
   * @throws {Error} If `end()` was already called.
   */
  add(chunk: Uint8Array): Promise<Uint8Array> {
    if (this.#ended) {
      throw new Error("Cannot add a chunk: the merged PDF was already ended");
    }
    const added = this.#queue.then(() => this.#add(chunk));
    this.#queue = added.catch(() => {});
    return added;
  }

  async #add(chunk: Uint8Array): Promise<Uint8Array> {
    const source = await readChunk(
      chunk,
      this.#geometry,
      this.#meta.tolerancePt ?? DEFAULT_TOLERANCE_PT,
    );
    const out = new PdfWriter(this.#written);
    if (this.#written === 0) out.header(source.version);
    if (source.version > this.#version) this.#version = source.version;
    // Pages are never shared: two identical records are two pages.
    const numbers = new Map<PDFRef, number>();
    for (const page of source.pages) numbers.set(page.ref, this.#next++);
    const context = source.doc.context;
    const visiting = new Set<PDFRef>();
    const cyclic = new Set<PDFRef>();
    // Children first, so an object's bytes name its children's final numbers.
    const visit = (ref: PDFRef): void => {
      if (numbers.has(ref)) return;
      if (visiting.has(ref)) {
        // A cycle: this object keeps a number of its own, not shared.
        numbers.set(ref, this.#next++);
        cyclic.add(ref);
        return;
      }
      const object = context.lookup(ref);
      visiting.add(ref);
      if (object !== undefined) {
        for (const child of refsIn(object)) visit(child);
      }
      visiting.delete(ref);
      const body = new PdfWriter(0);
      if (object === undefined) body.text("null");
      else body.value(object, numbers);
      const bytes = body.bytes();
      if (cyclic.has(ref)) {
        out.body(numbers.get(ref)!, bytes);
        return;
      }
      const digest = createHash("sha256").update(bytes).digest("base64");
      const seen = this.#digests.get(digest);
      if (seen !== undefined) {
        numbers.set(ref, seen);
        this.#reused++;
        return;
      }
      const number = this.#next++;
      numbers.set(ref, number);
      this.#digests.set(digest, number);
      out.body(number, bytes);
    };
    for (const page of source.pages) {
      for (const [, value] of pageEntries(page)) {
        for (const ref of refsIn(value)) visit(ref);
      }
    }
    for (const page of source.pages) {
      const number = numbers.get(page.ref)!;
      this.#open ??= { number: this.#next++, kids: [] };
      writeObjects(out, source, new Map([[page.ref, number]]), {
        numbers,
        geometry: this.#geometry,
        parent: this.#open.number,
      });
      this.#open.kids.push(number);
      this.#pages++;
      if (this.#open.kids.length >= PAGES_PER_NODE) this.#closeNode(out);
    }
    for (const [number, offset] of out.offsets) this.#offsets[number] = offset;
    const bytes = out.bytes();
    this.#written += bytes.length;
    return bytes;
  }

  /** Writes the page-tree node pages go under now. */
  #closeNode(out: PdfWriter): void {
    const node = this.#open;
    if (!node) return;
    this.#open = undefined;
    const kids = node.kids.map((n) => `${n} 0 R`).join(" ");
    out.object(
      node.number,
      `<</Type/Pages/Parent 2 0 R/Kids[${kids}]/Count ${node.kids.length}>>`,
    );
    this.#nodes.push({ number: node.number, count: node.kids.length });
  }

  /**
   * The last bytes of the file: page tree root, catalog, info, cross-reference
   * table and trailer. Call it once, after the last `add()` has settled.
   *
   * @throws {Error} If no page was added, or `end()` was already called.
   */
  end(): Uint8Array {
    if (this.#ended) {
      throw new Error("Cannot end the merged PDF: it was already ended");
    }
    if (this.#pages === 0) {
      throw new Error("Cannot end the merged PDF: no chunk was added");
    }
    this.#ended = true;
    this.#digests.clear();
    const out = new PdfWriter(this.#written);
    this.#closeNode(out);
    const kids = this.#nodes.map((n) => `${n.number} 0 R`).join(" ");
    const version = this.#version > "1.4" ? `/Version/${this.#version}` : "";
    out.object(1, `<</Type/Catalog/Pages 2 0 R${version}>>`);
    out.object(2, `<</Type/Pages/Kids[${kids}]/Count ${this.#pages}>>`);
    out.object(3, infoDict(this.#meta.title));
    for (const [number, offset] of out.offsets) this.#offsets[number] = offset;
    out.xref(this.#offsets, 1, 3);
    const bytes = out.bytes();
    this.#written += bytes.length;
    return bytes;
  }
}

/**
 * Joins chunk PDFs into one merged PDF in memory, in the order given: the
 * convenience form of {@linkcode MergedChunks}.
 *
 * @throws {PressrunError} As {@linkcode splitChunk} does for a bad chunk.
 * @throws {Error} If there is no chunk.
 */
export async function joinChunks(
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  geometry: PageGeometry,
  options: MergedChunksOptions = {},
): Promise<Uint8Array> {
  const merged = new MergedChunks(geometry, options);
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(await merged.add(chunk));
  parts.push(merged.end());
  return concat(parts, merged.byteLength);
}

// ---------------------------------------------------------------------------

interface SourcePage {
  ref: PDFRef;
  node: PDFPageLeaf;
  /** Left edge of Chromium's MediaBox, in points. */
  left: number;
  /** Top edge of Chromium's MediaBox, in points. */
  top: number;
}

interface Source {
  doc: PDFDocument;
  pages: SourcePage[];
  /** "1.4", "1.7", … */
  version: string;
}

async function readChunk(
  chunk: Uint8Array,
  geometry: PageGeometry,
  tolerancePt: number,
): Promise<Source> {
  if (!(chunk instanceof Uint8Array)) {
    throw new TypeError("chunk must be a Uint8Array");
  }
  let doc: PDFDocument;
  try {
    doc = await PDFDocument.load(chunk, {
      updateMetadata: false,
      // Parse in one go: yielding every 100 objects (the default) costs a
      // timer turn each time.
      parseSpeed: ParseSpeeds.Fastest,
      throwOnInvalidObject: true,
    });
  } catch (error) {
    throw new PressrunError(
      `Cannot read the chunk PDF: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const pages = doc.getPages().map((p, i) =>
    sourcePage(p.ref, p.node, i, { geometry, tolerancePt })
  );
  if (pages.length === 0) {
    throw new PressrunError("Cannot read the chunk PDF: it has no page");
  }
  const header = /%PDF-(\d\.\d)/.exec(doc.context.header.toString());
  return { doc, pages, version: header?.[1] ?? "1.4" };
}

/**
 * A chunk page whose size is the geometry's, give or take `tolerancePt`:
 * Chromium rounds a CSS page size to whole 1/300 in, so a millimetre size
 * comes out up to about half a point off (A6 + 3 mm bleed: 315.12×437.04 pt
 * for 314.65×436.54 pt).
 */
function sourcePage(
  ref: PDFRef,
  node: PDFPageLeaf,
  index: number,
  options: { geometry: PageGeometry; tolerancePt: number },
): SourcePage {
  const { geometry, tolerancePt } = options;
  let box: number[] | undefined;
  try {
    box = node.MediaBox().asArray().map((n) =>
      n instanceof PDFNumber ? n.asNumber() : NaN
    );
  } catch {
    // No MediaBox, or not an array: refused below.
  }
  const width = box && box.length === 4 ? box[2]! - box[0]! : NaN;
  const height = box && box.length === 4 ? box[3]! - box[1]! : NaN;
  if (
    !(Math.abs(width - geometry.widthPt) <= tolerancePt &&
      Math.abs(height - geometry.heightPt) <= tolerancePt)
  ) {
    throw new PressrunError(
      `Cannot use chunk page ${index + 1}: it is ${round(width)}×${
        round(height)
      } pt, the piece is ${round(geometry.widthPt)}×${
        round(geometry.heightPt)
      } pt`,
    );
  }
  return { ref, node, left: box![0]!, top: box![3]! };
}

/** A page's entries as written: its own, less the boxes and parent, plus inherited ones. */
function pageEntries(page: SourcePage): [PDFName, PDFObject][] {
  const entries = page.node.entries().filter(([key]) => !PAGE_OWN.has(key));
  for (const key of INHERITED) {
    if (page.node.get(key) !== undefined) continue;
    const value = page.node.getInheritableAttribute(key);
    if (value !== undefined) entries.push([key, value]);
  }
  return entries;
}

/**
 * The indirect objects the given pages use, pages first, in a stable order.
 * Other pages of the chunk are not followed (a link to one is written as null
 * by a split).
 */
function reachable(source: Source, pages: SourcePage[]): PDFRef[] {
  const pageRefs = new Set(source.pages.map((p) => p.ref));
  const wanted = new Set(pages.map((p) => p.ref));
  const seen = new Set<PDFRef>();
  const order: PDFRef[] = [];
  const stack: PDFObject[] = [];
  for (const page of pages) {
    seen.add(page.ref);
    order.push(page.ref);
  }
  for (const page of pages) {
    for (const [, value] of pageEntries(page)) stack.push(value);
  }
  while (stack.length > 0) {
    const object = stack.pop()!;
    if (object instanceof PDFRef) {
      if (seen.has(object)) continue;
      if (pageRefs.has(object) && !wanted.has(object)) continue;
      seen.add(object);
      order.push(object);
      const target = source.doc.context.lookup(object);
      if (target !== undefined) stack.push(target);
    } else if (object instanceof PDFDict) {
      for (const [, value] of object.entries()) stack.push(value);
    } else if (object instanceof PDFArray) {
      for (const value of object.asArray()) stack.push(value);
    } else if (object instanceof PDFStream) {
      stack.push(object.dict);
    }
  }
  return order;
}

/** The references inside a value (not followed into the objects they name). */
function refsIn(object: PDFObject): PDFRef[] {
  const refs: PDFRef[] = [];
  const stack: PDFObject[] = [object];
  while (stack.length > 0) {
    const value = stack.pop()!;
    if (value instanceof PDFRef) refs.push(value);
    else if (value instanceof PDFDict) {
      for (const [, v] of value.entries()) stack.push(v);
    } else if (value instanceof PDFArray) stack.push(...value.asArray());
    else if (value instanceof PDFStream) stack.push(value.dict);
  }
  return refs.reverse();
}

/** Writes every object in `numbers`; pages get the geometry's boxes and `parent`. */
function writeObjects(
  out: PdfWriter,
  source: Source,
  objects: Map<PDFRef, number>,
  page: {
    numbers: Map<PDFRef, number>;
    geometry: PageGeometry;
    parent: number;
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
      out.text(`${boxes(sourcePage)}>>`);
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

function infoDict(title: string | undefined): string {
  const producer = PDFHexString.fromText(PRODUCER).toString();
  const entries = `/Producer${producer}/Creator${producer}`;
  return title === undefined
    ? `<<${entries}>>`
    : `<<${entries}/Title${PDFHexString.fromText(title).toString()}>>`;
}

function round(n: number): string {
  return Number.isFinite(n) ? String(Math.round(n * 100) / 100) : "?";
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
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
class PdfWriter {
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
