/**
 * Helpers for the vector-mode tests: render the same records as raster and
 * vector pieces, and compare two PDFs' pixels as poppler draws them.
 *
 * @module
 */
import { join } from "node:path";
import { piecePdf } from "../pdf/writer.ts";
import type { Browser } from "../render/browser.ts";
import type { PageSpec, PiecePayload } from "../render/page_api.ts";
import { RenderPage, type VectorPiece } from "../render/render_page.ts";
import { AssetResolver } from "../template/assets.ts";
import { pageSpec } from "../template/page_spec.ts";
import { parseTemplate } from "../template/parse.ts";
import { piecePayload } from "../template/payload.ts";
import type * as Fabric from "fabric";
import { pdfToPngs, readPng } from "./_helpers.ts";

/** How far a channel may stray, 0–255: 10 %. */
export const CHANNEL_TOLERANCE = 25.5;

/**
 * The share of pixels (0–1) that differ by more than 10 % between two PDFs'
 * first pages, rasterised by pdftoppm at `dpi`, antialiasing aside: a pixel
 * matches when each of its channels lies within the range of the other
 * image's pixels within 1 px of it, widened by 10 %. A glyph or module edge
 * that one rasteriser antialiases (Skia in the page, or Splash here on the
 * vector PDF) and the other draws crisp, or 1 px over (poppler draws the
 * raster PDF's image about 1 px off its own pixels), is a blend of its
 * neighbours there and matches; a pixel no blend of them explains counts.
 * `piece` is the PDF under test, `reference` the one it should look like:
 * `piece` counts the piece's pixels unexplained by the reference;
 * `reference` the other way round. `block` is the worst share among the
 * 32×32-pixel blocks of the page, either way: what noise is left spreads
 * thinly over the page, while a missing word, a wrong size or a shifted
 * object piles up in the blocks it touches — a whole-page share alone cannot
 * tell those apart (a missing word is ≈ 0.4 % of the page).
 */
export async function pdfDifference(
  a: Uint8Array,
  b: Uint8Array,
  dir: string,
  dpi = 150,
): Promise<{ piece: number; reference: number; block: number }> {
  const files = [
    join(dir, `${crypto.randomUUID()}.pdf`),
    join(dir, `${crypto.randomUUID()}.pdf`),
  ];
  await Deno.writeFile(files[0]!, a);
  await Deno.writeFile(files[1]!, b);
  const [pa] = await pdfToPngs(files[0]!, dir, dpi);
  const [pb] = await pdfToPngs(files[1]!, dir, dpi);
  return imageDifference(await readPng(pa!), await readPng(pb!));
}

/** {@linkcode pdfDifference} of two images of one size: `a` under test, `b` the reference. */
export function imageDifference(
  a: Image,
  b: Image,
): { piece: number; reference: number; block: number } {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(
      `Sizes differ: ${a.width}×${a.height} and ${b.width}×${b.height}`,
    );
  }
  const piece = unmatched(a, b);
  const reference = unmatched(b, a);
  return {
    piece: piece.share,
    reference: reference.share,
    block: Math.max(piece.block, reference.block),
  };
}

/**
 * The fidelity bounds a vector piece keeps against its raster piece: the
 * issue's ≤ 1 % of the page, and ≤ 20 % in the worst 32×32 block. Measured
 * on the example and the tricky fixtures: 0.10–0.31 % of a page, worst
 * block 6–14 %, the differences left being glyph edges a fraction of a
 * pixel apart. A whole-page share cannot catch a small real error on its
 * own (a missing word measured 0.42 % of the page), the worst block does:
 * a missing word or a headline 10 % smaller 50 %, every object 2 px off
 * 30 % (vector_render_test.ts tests these fail).
 */
export const MAX_DIFFERENCE = 0.01;
/** The worst 32×32 block's share of differing pixels; see MAX_DIFFERENCE. */
export const MAX_BLOCK = 0.20;

/** The side of the square blocks whose worst share `block` reports. */
export const BLOCK = 32;

/** RGBA pixels, as readPng() gives them. */
export type Image = { width: number; height: number; data: Uint8Array };

/** Pixels of `a` that no blend of `b`'s within 1 px explains: their share, overall and in the worst block. */
function unmatched(a: Image, b: Image): { share: number; block: number } {
  const { width, height } = a;
  const across = Math.ceil(width / BLOCK);
  const blocks = new Uint32Array(across * Math.ceil(height / BLOCK));
  let differ = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      let explained = true;
      for (let c = 0; c < 3 && explained; c++) {
        let low = 255;
        let high = 0;
        for (
          let yy = Math.max(0, y - 1);
          yy <= Math.min(height - 1, y + 1);
          yy++
        ) {
          for (
            let xx = Math.max(0, x - 1);
            xx <= Math.min(width - 1, x + 1);
            xx++
          ) {
            const v = b.data[(yy * width + xx) * 4 + c]!;
            if (v < low) low = v;
            if (v > high) high = v;
          }
        }
        const v = a.data[i + c]!;
        explained = v >= low - CHANNEL_TOLERANCE &&
          v <= high + CHANNEL_TOLERANCE;
      }
      if (!explained) {
        differ++;
        blocks[Math.floor(y / BLOCK) * across + Math.floor(x / BLOCK)]!++;
      }
    }
  }
  let worst = 0;
  for (const [k, count] of blocks.entries()) {
    const bx = (k % across) * BLOCK;
    const by = Math.floor(k / across) * BLOCK;
    const area = (Math.min(BLOCK, width - bx)) * Math.min(BLOCK, height - by);
    worst = Math.max(worst, count / area);
  }
  return { share: differ / (width * height), block: worst };
}

/** The raster path's piece PDF of a record, as raster mode writes it. */
export async function rasterPdf(
  page: RenderPage,
  spec: PageSpec,
  payload: PiecePayload,
): Promise<Uint8Array> {
  const piece = await page.render(payload);
  return await piecePdf(piece.image, spec.print.geometry, {
    title: `${spec.print.name} — record ${payload.index}`,
  });
}

/** The vector pieces of a chunk; fails for a record that failed. */
export async function vectorPieces(
  page: RenderPage,
  payloads: PiecePayload[],
): Promise<VectorPiece[]> {
  const outcomes = await page.renderChunk(payloads);
  return outcomes.map((o) => {
    if ("error" in o) throw o.error;
    return o.piece;
  });
}

/**
 * A small template built in a test: `objects` on a 6×4 in canvas at `dpi`
 * (150 by default: 900×600 design units) with 1/8 in bleed, one design unit
 * a pixel, the spec and payloads of `records`.
 */
export async function smallTemplate(
  objects: Record<string, unknown>[],
  records: Record<string, string>[] = [{}],
  background = "#ffffff",
  dpi = 150,
) {
  const template = parseTemplate({
    name: "Object test",
    size: { width: 6, height: 4, unit: "in" },
    dpi,
    bleed: 0.125,
    canvas: {
      version: "7.4.0",
      width: 6.25 * dpi,
      height: 4.25 * dpi,
      background,
      objects,
    },
  }, { source: "object-test.json", baseDir: "examples/postcard" });
  const assets = new AssetResolver(template.baseDir);
  const spec = await pageSpec(template, assets);
  const payloads = await Promise.all(
    records.map((values, i) =>
      piecePayload(template, { index: i + 1, values }, assets)
    ),
  );
  return { template, spec, payloads };
}

/** A tab for `spec`, closed by `await using`. */
export function openPage(
  browser: Browser,
  spec: PageSpec,
): Promise<RenderPage> {
  return RenderPage.open(browser, spec);
}

/** Rows in eight scripts (Latin with accents, Cyrillic, Greek, Chinese, Japanese, Korean, Arabic, Hebrew). */
export const SCRIPTS_CSV = "tests/fixtures/recipients-scripts.csv";

/**
 * A small template that shows a record's name, street and offer top to
 * bottom in regular-weight Noto Sans (no bold, so no synthetic bold in a
 * fallback font), and its `url` as a QR code.
 */
export function plainFieldsTemplate(records: Record<string, string>[]) {
  const text = {
    type: "Text",
    fontFamily: "Noto Sans",
    fontSize: 40,
    fill: "#1F3A5F",
    left: 60,
    originX: "left",
    originY: "top",
  };
  return smallTemplate([
    { ...text, text: "{{firstName}} {{lastName}}", top: 60 },
    { ...text, text: "{{street}}", top: 160 },
    { ...text, text: "{{offer}}", top: 260 },
    {
      type: "Rect",
      left: 620,
      top: 300,
      originX: "left",
      originY: "top",
      width: 260,
      height: 260,
      fill: "#ffffff",
      qr: { value: "{{url}}", ecc: "M" },
    },
  ], records);
}

/** The bidi controls pdftotext puts around right-to-left runs. */
export const BIDI = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Whether `text` holds each of `values`, in this order. */
export function inOrder(text: string, values: string[]): boolean {
  let at = 0;
  for (const value of values) {
    const found = text.indexOf(value, at);
    if (found < 0) return false;
    at = found + value.length;
  }
  return true;
}

/**
 * The page of `spec` drawn by plain Fabric with its own settings (object
 * caching on) in the page's tab, `{{field}}` placeholders in texts replaced
 * by `values`: what an editor shows. A group's bounds are fitted to the
 * record's content, as an editor fits a group whose text was edited (Fabric
 * keeps the saved bounds and would cut a longer name at them).
 */
export async function plainFabric(
  page: RenderPage,
  spec: PageSpec,
  values: Record<string, string>,
): Promise<Image> {
  const b64 = await page.page.evaluate(
    async (s, record) => {
      const f = (globalThis as unknown as { fabric: typeof Fabric }).fabric;
      const json = structuredClone(s.canvas);
      const walk = (list: { text?: string; objects?: unknown[] }[]) => {
        for (const o of list) {
          if (typeof o.text === "string") {
            o.text = o.text.replace(
              /\{\{\s*([^}]+?)\s*\}\}/g,
              (_, k: string) => record[k] ?? "",
            );
          }
          if (Array.isArray(o.objects)) walk(o.objects as typeof list);
        }
      };
      walk(json.objects as never);
      const element = document.createElement("canvas");
      const canvas = new f.StaticCanvas(element, {
        enableRetinaScaling: false,
      });
      await canvas.loadFromJSON(json);
      for (const o of canvas.getObjects()) {
        if (o instanceof f.Group) o.triggerLayout();
      }
      canvas.setDimensions({ width: s.pixelWidth, height: s.pixelHeight });
      const { x, y } = s.origin;
      canvas.setViewportTransform([
        s.zoom,
        0,
        0,
        s.zoom,
        -x * s.zoom,
        -y * s.zoom,
      ]);
      if (!canvas.backgroundColor) canvas.backgroundColor = "#ffffff";
      canvas.renderAll();
      const url = canvas.toDataURL({ format: "png", multiplier: 1 });
      canvas.dispose();
      return url.slice(url.indexOf(",") + 1);
    },
    spec,
    values,
  );
  return await readPng(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
}
