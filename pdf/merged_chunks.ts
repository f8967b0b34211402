/**
 * Merging chunk PDFs into one file, chunk by chunk, with identical objects
 * stored once (see `chunks.ts`).
 *
 * @module
 */
import type { PDFRef } from "pdf-lib";
import { createHash } from "node:crypto";
import {
  DEFAULT_TOLERANCE_PT,
  pageEntries,
  readChunk,
  refsIn,
} from "./_chunk_source.ts";
import {
  concat,
  infoDict,
  pdfName,
  PdfWriter,
  textString,
  writeObjects,
} from "./_pdf_objects.ts";
import type { PageGeometry } from "./geometry.ts";
import type { PdfMeta } from "./writer.ts";

/** Options for {@linkcode MergedChunks}. */
export interface MergedChunksOptions extends PdfMeta {
  /**
   * As {@linkcode SplitOptions.tolerancePt}.
   * @default {1}
   */
  tolerancePt?: number;
  /**
   * Write the record structure of PDF/VT: a document part (DPart) per
   * record, its page and its metadata (`add()`'s `records`), under a
   * DPartRoot in the catalog; each page names its part. @default false
   */
  records?: boolean;
}

/** A record's document part: its number and the metadata fields to keep. */
export interface DPartRecord {
  /** The record's number (1-based), kept as `RecordNumber`. */
  index: number;
  /** Fields kept in the part's metadata (e.g. those of `--record-key`). */
  fields?: Record<string, string>;
}

/** Most references in one inner array of a DPart's `DParts`. */
const DPARTS_PER_ARRAY = 8000;

/** Pages under one intermediate node of the merged file's page tree. */
const PAGES_PER_NODE = 100;

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
  /** With `records`: the DPartRoot and root node numbers, and each record's part. */
  #dparts: { root: number; node: number; leaves: number[] } | undefined;

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
  add(chunk: Uint8Array, records?: DPartRecord[]): Promise<Uint8Array> {
    if (this.#ended) {
      throw new Error("Cannot add a chunk: the merged PDF was already ended");
    }
    if (this.#meta.records && records === undefined) {
      throw new TypeError(
        "Cannot add a chunk: the merged PDF keeps records, so add() needs one per page",
      );
    }
    const added = this.#queue.then(() => this.#add(chunk, records));
    this.#queue = added.catch(() => {});
    return added;
  }

  async #add(
    chunk: Uint8Array,
    records: DPartRecord[] | undefined,
  ): Promise<Uint8Array> {
    const source = await readChunk(
      chunk,
      this.#geometry,
      this.#meta.tolerancePt ?? DEFAULT_TOLERANCE_PT,
    );
    if (records !== undefined && records.length !== source.pages.length) {
      throw new RangeError(
        `records must have one entry per page: the chunk has ${source.pages.length} pages, got ${records.length}`,
      );
    }
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
    if (records && !this.#dparts) {
      this.#dparts = { root: this.#next++, node: this.#next++, leaves: [] };
    }
    for (const [i, page] of source.pages.entries()) {
      const number = numbers.get(page.ref)!;
      this.#open ??= { number: this.#next++, kids: [] };
      const leaf = records ? this.#next++ : undefined;
      writeObjects(out, source, new Map([[page.ref, number]]), {
        numbers,
        geometry: this.#geometry,
        parent: this.#open.number,
        extra: leaf === undefined ? undefined : () => `/DPart ${leaf} 0 R`,
      });
      if (leaf !== undefined) {
        out.object(leaf, this.#dpart(records![i]!, number));
        this.#dparts!.leaves.push(leaf);
      }
      this.#open.kids.push(number);
      this.#pages++;
      if (this.#open.kids.length >= PAGES_PER_NODE) this.#closeNode(out);
    }
    for (const [number, offset] of out.offsets) this.#offsets[number] = offset;
    const bytes = out.bytes();
    this.#written += bytes.length;
    return bytes;
  }

  /** A record's document part: its page, and its metadata. */
  #dpart(record: DPartRecord, page: number): string {
    const fields = Object.entries(record.fields ?? {})
      .map(([key, value]) => `${pdfName(key)}${textString(value)}`).join("");
    return `<</Type/DPart/Parent ${this.#dparts!.node} 0 R/Start ${page} 0 R` +
      `/DPM<</RecordNumber ${record.index}${fields}>>>>`;
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
    const dparts = this.#dparts;
    let catalogExtra = "";
    if (dparts) {
      const arrays: string[] = [];
      for (let i = 0; i < dparts.leaves.length; i += DPARTS_PER_ARRAY) {
        arrays.push(
          `[${
            dparts.leaves.slice(i, i + DPARTS_PER_ARRAY)
              .map((n) => `${n} 0 R`).join(" ")
          }]`,
        );
      }
      out.object(
        dparts.node,
        `<</Type/DPart/Parent ${dparts.root} 0 R/DParts[${arrays.join("")}]>>`,
      );
      out.object(
        dparts.root,
        `<</Type/DPartRoot/DPartRootNode ${dparts.node} 0 R/RecordLevel 1>>`,
      );
      catalogExtra = `/DPartRoot ${dparts.root} 0 R`;
    }
    out.object(1, `<</Type/Catalog/Pages 2 0 R${version}${catalogExtra}>>`);
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
