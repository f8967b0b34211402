/**
 * Test pieces for imposition and marks: vector pages made with pdf-lib and
 * split or merged by pressrun's own chunk writers, so they carry the boxes
 * every piece has. Each page shows its label (R0007, say) as text centred
 * on the trim, so poppler reads back which piece lies where.
 *
 * @module
 */
import assert from "node:assert/strict";
import { PDFDocument, rgb, StandardFonts } from "pdf-lib";
import { joinChunks, splitChunk } from "../pdf/chunks.ts";
import { type PageGeometry, pageGeometry } from "../pdf/geometry.ts";

/** A business card: 3.5×2 in, 1/8 in bleed. */
export const CARD = pageGeometry({ width: 3.5, height: 2, unit: "in" }, {
  bleed: 0.125,
});
/** A postcard: 6×4 in, 1/8 in bleed. */
export const POSTCARD = pageGeometry({ width: 6, height: 4, unit: "in" }, {
  bleed: 0.125,
});

/** Labels R0001 … for `count` records. */
export function labels(count: number, prefix = "R"): string[] {
  return Array.from(
    { length: count },
    (_, i) => `${prefix}${String(i + 1).padStart(4, "0")}`,
  );
}

/** Options for {@linkcode chunkOf}. */
export interface ChunkOptions {
  /** Draw a red band 30 pt past the right of the page too (to be clipped). */
  overdraw?: boolean;
}

/**
 * A chunk as Chromium prints one (MediaBox only): per page a tinted
 * background over the whole page, a dark frame on the trim and the label
 * centred on the trim.
 */
export async function chunkOf(
  names: string[],
  geometry: PageGeometry,
  options: ChunkOptions = {},
): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const { widthPt, heightPt, bleedPt: b, trimWidthPt, trimHeightPt } = geometry;
  for (const name of names) {
    const page = doc.addPage([widthPt, heightPt]);
    page.drawRectangle({
      x: 0,
      y: 0,
      width: widthPt,
      height: heightPt,
      color: rgb(0.75, 0.85, 1),
    });
    if (options.overdraw) {
      page.drawRectangle({
        x: widthPt - 20,
        y: 0,
        width: 50,
        height: heightPt,
        color: rgb(1, 0, 0),
      });
    }
    page.drawRectangle({
      x: b + 6,
      y: b + 6,
      width: trimWidthPt - 12,
      height: trimHeightPt - 12,
      borderColor: rgb(0.1, 0.1, 0.3),
      borderWidth: 1,
    });
    const size = 20;
    page.drawText(name, {
      x: b + (trimWidthPt - font.widthOfTextAtSize(name, size)) / 2,
      y: b + trimHeightPt / 2 - size * 0.35,
      size,
      font,
    });
  }
  return await doc.save({ useObjectStreams: false });
}

/** One-page piece PDFs, as a batch writes them (`0001.pdf` …). */
export async function piecesOf(
  names: string[],
  geometry: PageGeometry,
  options: ChunkOptions = {},
): Promise<Uint8Array[]> {
  return await splitChunk(await chunkOf(names, geometry, options), geometry);
}

/** The merged PDF of those pieces, as a batch writes it, in chunks of 50. */
export async function mergedOf(
  names: string[],
  geometry: PageGeometry,
  options: ChunkOptions = {},
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < names.length; i += 50) {
    chunks.push(await chunkOf(names.slice(i, i + 50), geometry, options));
  }
  return await joinChunks(chunks, geometry);
}

/** Runs a tool, asserts it succeeded and returns its stdout as text. */
export async function tool(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `${cmd} ${args.join(" ")} failed: ${err}`);
  return new TextDecoder().decode(out.stdout);
}

/** Runs `fn` with a fresh temporary folder, removed afterwards. */
export async function withTempDir<T>(
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "pressrun_print_" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A word poppler found: its text and centre, in PDF points (y up). */
export interface Word {
  text: string;
  x: number;
  y: number;
}

/** One page as `pdftotext -bbox` reads it. */
export interface PageWords {
  width: number;
  height: number;
  words: Word[];
}

/** Every word of every page, with where it stands (`pdftotext -bbox`). */
export async function wordsOf(path: string): Promise<PageWords[]> {
  const html = await tool("pdftotext", "-bbox", path, "-");
  const pages: PageWords[] = [];
  const re =
    /<page width="([\d.]+)" height="([\d.]+)">|<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g;
  for (const m of html.matchAll(re)) {
    if (m[1] !== undefined) {
      pages.push({ width: Number(m[1]), height: Number(m[2]), words: [] });
      continue;
    }
    const page = pages[pages.length - 1]!;
    page.words.push({
      text: decodeEntities(m[7]!),
      x: (Number(m[3]) + Number(m[5])) / 2,
      y: page.height - (Number(m[4]) + Number(m[6])) / 2,
    });
  }
  return pages;
}

function decodeEntities(text: string): string {
  return text.replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(
    /&gt;/g,
    ">",
  ).replace(/&quot;/g, '"').replace(/&#39;/g, "'");
}
