/**
 * Splitting a chunk PDF into one PDF per page (see `chunks.ts`).
 *
 * @module
 */
import type { PDFRef } from "pdf-lib";
import { DEFAULT_TOLERANCE_PT, reachable, readChunk } from "./_chunk_source.ts";
import { infoDict, PdfWriter, writeObjects } from "./_pdf_objects.ts";
import type { PageGeometry } from "./geometry.ts";

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
