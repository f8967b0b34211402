/**
 * Reading a chunk PDF: pdf-lib parses it in one go, each page is checked
 * against the piece's geometry, and the objects a page uses are found by
 * following its references.
 *
 * @module
 */
import {
  ParseSpeeds,
  PDFArray,
  PDFDict,
  PDFDocument,
  PDFName,
  PDFNumber,
  type PDFObject,
  type PDFPageLeaf,
  PDFRef,
  PDFStream,
} from "pdf-lib";
import { PressrunError } from "../common/errors.ts";
import type { PageGeometry } from "./geometry.ts";

/** How far, in points, a chunk page's size may stray from the geometry's. */
export const DEFAULT_TOLERANCE_PT = 1;
/** Entries of a page that the writers write themselves. */
const PAGE_OWN = new Set(
  ["Parent", "MediaBox", "CropBox", "BleedBox", "TrimBox", "ArtBox"].map((n) =>
    PDFName.of(n)
  ),
);
const INHERITED = ["Resources", "Rotate"].map((n) => PDFName.of(n));

export interface SourcePage {
  ref: PDFRef;
  node: PDFPageLeaf;
  /** Left edge of Chromium's MediaBox, in points. */
  left: number;
  /** Top edge of Chromium's MediaBox, in points. */
  top: number;
}

export interface Source {
  doc: PDFDocument;
  pages: SourcePage[];
  /** "1.4", "1.7", … */
  version: string;
}

export async function readChunk(
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
export function pageEntries(page: SourcePage): [PDFName, PDFObject][] {
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
export function reachable(source: Source, pages: SourcePage[]): PDFRef[] {
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
export function refsIn(object: PDFObject): PDFRef[] {
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

function round(n: number): string {
  return Number.isFinite(n) ? String(Math.round(n * 100) / 100) : "?";
}
