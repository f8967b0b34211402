/**
 * Printer's marks on pieces (`--marks`): crop marks at the trim's corners and
 * bleed marks at the bleed's edges, in a slug that grows the MediaBox around
 * the BleedBox, with one line of small text (the batch and the record). The
 * TrimBox and BleedBox stay where they were, and so does the page's content:
 * nothing inside the bleed box changes. The marks are in registration colour
 * (a /Separation named /All: on every plate) and the slug line is real text.
 *
 * Works on a piece or on the merged PDF: the file is copied object by object
 * as it stands (object numbers kept), each page's dictionary is rewritten —
 * MediaBox and CropBox grown, BleedBox, TrimBox and ArtBox written out as
 * they were, the content wrapped (clipped to the bleed box) and followed by
 * the marks — and a new cross-reference table is written. A file is read an
 * object at a time, so a 10,000-page merged PDF is never in memory whole.
 *
 * @example Usage
 * ```ts ignore
 * import { markPdfFile, recordSlug } from "./marks.ts";
 *
 * await markPdfFile("out/demo/0007.pdf", "out/demo/0007.pdf", {
 *   slug: recordSlug("Spring postcards", 7, 120),
 * });
 * ```
 *
 * @module
 */
import { PDFArray, PDFDict, PDFName, type PDFObject } from "pdf-lib";
import { basename, dirname, join } from "node:path";
import { InputError } from "../common/errors.ts";
import { CopySink, identity } from "./_copy_sink.ts";
import { bytesSource, FileBytes } from "./_byte_source.ts";
import { type Box, PdfReader, type ReaderPage } from "./_pdf_reader.ts";
import {
  MARK_GAP_PT,
  MARK_LENGTH_PT,
  type MarkNames,
  num,
  pieceMarks,
  REGISTRATION_SPACE,
  SLUG_FONT,
  SLUG_LINE_PT,
  slugLine,
} from "./_marks_draw.ts";

/** Options for {@linkcode markPdf} and {@linkcode markPdfFile}. */
export interface MarksOptions {
  /**
   * The slug line: one text for every page, or one per page from its
   * 0-based index and the page count (see {@linkcode recordSlug}).
   * @default {no slug line}
   */
  slug?: string | ((page: number, pages: number) => string);
  /**
   * Width of the slug around the bleed box, in points: the marks take the
   * first 21 pt (3 pt gap, 18 pt marks).
   * @default {24}
   */
  slugPt?: number;
  /**
   * Bleed marks at the bleed box's edges, besides the crop marks.
   * @default {true}
   */
  bleedMarks?: boolean;
  signal?: AbortSignal;
}

/** What {@linkcode markPdfFile} wrote. */
export interface MarksResult {
  pages: number;
  bytes: number;
}

/** The slug's default width: the marks' 21 pt and a little paper. */
export const DEFAULT_SLUG_PT = 24;
const MIN_SLUG_PT = MARK_GAP_PT + MARK_LENGTH_PT;
const PAGE_OWN = new Set(
  [
    "MediaBox",
    "CropBox",
    "BleedBox",
    "TrimBox",
    "ArtBox",
    "Contents",
    "Resources",
  ].map((n) => PDFName.of(n)),
);
/** Resource kinds the marks add an entry to. */
const KINDS = {
  colour: PDFName.of("ColorSpace"),
  font: PDFName.of("Font"),
  marks: PDFName.of("XObject"),
} as const;

/**
 * The slug line of a record: "Spring postcards · record 7 of 120".
 */
export function recordSlug(
  batch: string | undefined,
  record: number,
  total: number,
): string {
  const line = `record ${record} of ${total}`;
  return batch ? `${batch} · ${line}` : line;
}

/**
 * Adds marks to every page of a PDF in memory (a piece, say).
 *
 * @throws {InputError} If `pdf` is no PDF, has no page, is encrypted, or a
 * page has no usable boxes.
 * @throws {RangeError} If `slugPt` is under 21 pt.
 */
export async function markPdf(
  pdf: Uint8Array,
  options: MarksOptions = {},
): Promise<Uint8Array> {
  const reader = await PdfReader.open(bytesSource(pdf), "the PDF");
  const parts: Uint8Array[] = [];
  let length = 0;
  await mark(reader, options, (bytes) => {
    parts.push(bytes);
    length += bytes.length;
    return Promise.resolve();
  });
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Adds marks to every page of the PDF file `input`, writing `output` (which
 * may be `input`) through a temporary file: on error, `output` is untouched.
 *
 * @throws As {@linkcode markPdf}, naming the file.
 */
export async function markPdfFile(
  input: string,
  output: string,
  options: MarksOptions = {},
): Promise<MarksResult> {
  checkSlug(options);
  await using file = await FileBytes.open(input);
  const reader = await PdfReader.open(file, basename(input));
  const tmp = join(
    dirname(output),
    `.${basename(output)}.${crypto.randomUUID().slice(0, 8)}.tmp`,
  );
  const out = await Deno.open(tmp, { write: true, create: true });
  try {
    let bytes = 0;
    let pages: number;
    try {
      pages = await mark(reader, options, async (chunk) => {
        bytes += chunk.length;
        for (let at = 0; at < chunk.length;) {
          at += await out.write(chunk.subarray(at));
        }
      });
    } finally {
      out.close();
    }
    await Deno.rename(tmp, output);
    return { pages, bytes };
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}

function checkSlug(options: MarksOptions): number {
  const slugPt = options.slugPt ?? DEFAULT_SLUG_PT;
  if (!(slugPt >= MIN_SLUG_PT) || !Number.isFinite(slugPt)) {
    throw new RangeError(
      `slugPt must be at least ${MIN_SLUG_PT} (the marks' room), got ${slugPt}`,
    );
  }
  return slugPt;
}

/** Writes the marked copy of `reader`'s file; returns its page count. */
async function mark(
  reader: PdfReader,
  options: MarksOptions,
  write: (bytes: Uint8Array) => Promise<void>,
): Promise<number> {
  const slugPt = checkSlug(options);
  options.signal?.throwIfAborted();
  if (reader.trailer.get(PDFName.of("Encrypt")) !== undefined) {
    throw new InputError(
      `Cannot add marks to ${reader.name}: it is encrypted`,
      {
        location: { source: reader.name },
      },
    );
  }
  const refs = reader.objectRefs();
  const edited = refs.find((ref) => ref.generationNumber !== 0);
  if (edited) {
    throw new InputError(
      `Cannot add marks to ${reader.name}: it was edited in place (object ${edited.objectNumber} is of generation ${edited.generationNumber}); save it as a new file first`,
      { location: { source: reader.name } },
    );
  }
  const pageIndex = new Map(reader.pageRefs().map((ref, i) => [ref, i]));
  const size = refs.reduce(
    (n, ref) => Math.max(n, ref.objectNumber + 1),
    numberOf(reader.trailer.get(PDFName.of("Size"))),
  );
  const sink = new CopySink(size, reader.version);
  const shared = new Shared(sink, options.bleedMarks ?? true);
  for (const ref of refs) {
    const index = pageIndex.get(ref);
    if (index !== undefined) {
      options.signal?.throwIfAborted();
      const page = await reader.page(index);
      const text = typeof options.slug === "function"
        ? options.slug(index, pageIndex.size)
        : options.slug ?? "";
      await markedPage(reader, page, index, { slugPt, text, shared, sink });
    } else {
      const raw = await reader.raw(ref);
      if (raw) sink.raw(ref.objectNumber, raw.bytes, raw.whole);
      else {
        const object = await reader.lookup(ref);
        if (object !== undefined) sink.value(ref.objectNumber, object);
      }
    }
    if (sink.pending > 1 << 20) await write(sink.take());
  }
  await write(sink.end(reader.trailer));
  return pageIndex.size;
}

/** Writes one page's new dictionary, and its marks' objects. */
async function markedPage(
  reader: PdfReader,
  page: ReaderPage,
  index: number,
  how: { slugPt: number; text: string; shared: Shared; sink: CopySink },
): Promise<void> {
  const { trimBox: trim, bleedBox: bleed } = page;
  if (!(trim[2] > trim[0] && trim[3] > trim[1])) {
    throw new InputError(
      `Cannot add marks to ${reader.name} page ${
        index + 1
      }: its TrimBox is empty`,
      { location: { source: reader.name } },
    );
  }
  const { shared, sink, slugPt } = how;
  const resources = await reader.resolve(page.resources);
  const dict = resources instanceof PDFDict ? resources : undefined;
  const names = {
    colour: await freeName(reader, dict, KINDS.colour, "PRreg"),
    font: await freeName(reader, dict, KINDS.font, "PRslug"),
    marks: await freeName(reader, dict, KINDS.marks, "PRmarks"),
  };
  const clip = shared.clip(bleed);
  const marks = shared.marks(trim, bleed);
  const slug = slugLine(how.text, {
    x: trim[0] + 4,
    y: bleed[1] - MARK_GAP_PT - SLUG_LINE_PT,
    maxWidth: trim[2] - trim[0] - 8,
  }, names);
  const after = sink.stream(`Q\nq /${names.marks} Do Q\n${slug}`);
  const media: Box = [
    bleed[0] - slugPt,
    bleed[1] - slugPt,
    bleed[2] + slugPt,
    bleed[3] + slugPt,
  ];
  // Shared objects first: nothing may be written inside the page object.
  const added = new Map<PDFName, string>([
    [KINDS.colour, `/${names.colour} ${shared.colour} 0 R`],
    [KINDS.font, `/${names.font} ${shared.font} 0 R`],
    [KINDS.marks, `/${names.marks} ${marks} 0 R`],
  ]);
  const out = sink.begin(page.ref.objectNumber);
  out.text("<<");
  for (const [key, value] of page.dict.entries()) {
    if (PAGE_OWN.has(key)) continue;
    out.text(key.asString());
    out.value(value, identity(value));
  }
  out.text(
    `/MediaBox${box(media)}/CropBox${box(media)}/BleedBox${box(bleed)}/TrimBox${
      box(trim)
    }/ArtBox${box(page.artBox)}`,
  );
  const own = page.dict.get(PDFName.of("Contents"));
  const contents = await reader.resolve(own);
  const parts = contents instanceof PDFArray
    ? contents.asArray()
    : own === undefined
    ? []
    : [own];
  out.text(`/Contents[${clip} 0 R`);
  for (const part of parts) out.value(part, identity(part));
  out.text(` ${after} 0 R]/Resources<<`);
  for (const [key, value] of dict?.entries() ?? []) {
    out.text(key.asString());
    const extra = added.get(key);
    if (extra === undefined) {
      out.value(value, identity(value));
      continue;
    }
    // The page's own entries of this kind, then the marks'.
    const sub = await reader.resolve(value);
    out.text("<<");
    for (const [k, v] of sub instanceof PDFDict ? sub.entries() : []) {
      out.text(k.asString());
      out.value(v, identity(v));
    }
    out.text(`${extra}>>`);
    added.delete(key);
  }
  for (const [key, extra] of added) out.text(`${key.asString()}<<${extra}>>`);
  out.text(">>>>");
  sink.finish();
}

/** A resource name not yet used in the page's `kind` dictionary. */
async function freeName(
  reader: PdfReader,
  resources: PDFDict | undefined,
  kind: PDFName,
  base: string,
): Promise<string> {
  const sub = await reader.resolve(resources?.get(kind));
  if (!(sub instanceof PDFDict)) return base;
  let name = base;
  for (let i = 1; sub.get(PDFName.of(name)) !== undefined; i++) {
    name = `${base}${i}`;
  }
  return name;
}

/** The objects pages share: colour, font, clips and marks by geometry. */
class Shared {
  #sink: CopySink;
  #bleedMarks: boolean;
  #clips = new Map<string, number>();
  #marks = new Map<string, number>();
  #colour: number | undefined;
  #font: number | undefined;

  constructor(sink: CopySink, bleedMarks: boolean) {
    this.#sink = sink;
    this.#bleedMarks = bleedMarks;
  }

  get colour(): number {
    return this.#colour ??= this.#sink.object(REGISTRATION_SPACE);
  }

  get font(): number {
    return this.#font ??= this.#sink.object(SLUG_FONT);
  }

  /** "q, clip to the bleed box": what goes before the page's content. */
  clip(bleed: Box): number {
    const key = box(bleed);
    let n = this.#clips.get(key);
    if (n === undefined) {
      const [l, b, r, t] = bleed;
      n = this.#sink.stream(
        `q ${num(l)} ${num(b)} ${num(r - l)} ${num(t - b)} re W n\n`,
      );
      this.#clips.set(key, n);
    }
    return n;
  }

  /** A form drawing the crop and bleed marks of this trim and bleed. */
  marks(trim: Box, bleed: Box): number {
    const key = box(trim) + box(bleed);
    let n = this.#marks.get(key);
    if (n === undefined) {
      const names: MarkNames = { colour: "R", font: "F" };
      const ops = pieceMarks(trim, bleed, names, this.#bleedMarks);
      const m = MIN_SLUG_PT + 1;
      const area = [bleed[0] - m, bleed[1] - m, bleed[2] + m, bleed[3] + m];
      n = this.#sink.stream(
        ops,
        `/Type/XObject/Subtype/Form/BBox[${
          area.map(num).join(" ")
        }]/Resources<</ColorSpace<</R ${this.colour} 0 R>>>>`,
      );
      this.#marks.set(key, n);
    }
    return n;
  }
}

function numberOf(value: PDFObject | undefined): number {
  const n = Number(value?.toString());
  return Number.isFinite(n) ? n : 0;
}

function box(b: Box): string {
  return `[${b.map(num).join(" ")}]`;
}
