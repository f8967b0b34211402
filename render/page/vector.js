// @ts-check
// The render page, vector mode: each record of a chunk is applied and exported
// with Fabric's toSVG() (QR codes as one path, images as shared blob: URLs),
// and the chunk becomes one print document, one CSS page per record, that
// Deno prints. A classic script after apply.js; see scope.d.ts.
"use strict";

/**
 * @import { VectorResult } from "../page_api.ts"
 * @import { FabricObject, Pattern, TMat2D } from "fabric"
 * @import {} from "./globals.d.ts"
 */

const BLOB_CACHE_SIZE = 64;
/**
 * A `blob:` URL per distinct `data:` URL, most recently used last. Every
 * `<image>` of a chunk showing the same picture names the same short URL, so
 * the SVG stays small and Chromium's PDF writer stores the picture once per
 * chunk. Entries are revoked only between chunks.
 * @type {Map<string, string>}
 */
const blobUrls = new Map();

/** @param {string} src a `data:` URL */
function blobUrlOf(src) {
  let url = blobUrls.get(src);
  if (url) {
    blobUrls.delete(src);
  } else {
    const comma = src.indexOf(",");
    const meta = src.slice(5, comma);
    const type = meta.split(";")[0] ?? "";
    const body = src.slice(comma + 1);
    const bytes = meta.endsWith(";base64")
      ? Uint8Array.from(atob(body), (c) => c.charCodeAt(0))
      : new TextEncoder().encode(decodeURIComponent(body));
    url = URL.createObjectURL(new Blob([bytes], { type }));
  }
  blobUrls.set(src, url);
  return url;
}

/** Revokes the oldest blob URLs past the cache size; only between chunks. */
function trimBlobUrls() {
  while (blobUrls.size > BLOB_CACHE_SIZE) {
    const oldest = blobUrls.entries().next();
    if (oldest.done) break;
    URL.revokeObjectURL(oldest.value[1]);
    blobUrls.delete(oldest.value[0]);
  }
}

/** Past this many `<image>` tiles a pattern keeps Fabric's own `<pattern>`. */
const MAX_PATTERN_TILES = 4000;
/** Ids of tile clip paths, unique across the pages of a print document. */
let tileClips = 0;

/**
 * The `<image>` tiles of a pattern fill, in the object's own (centred)
 * coordinates, placed as the canvas places them: the tile's pixels are
 * design units, its origin the object's top left corner plus the pattern's
 * offset, then its `patternTransform`. Undefined when the pattern is not an
 * image or needs too many tiles.
 * @param {FabricObject} obj
 * @param {Pattern} pattern
 * @returns {string | undefined}
 */
function patternTiles(obj, pattern) {
  const f = globalThis.fabric;
  const source = pattern.source;
  if (!(source instanceof HTMLImageElement)) return undefined;
  const tw = source.naturalWidth, th = source.naturalHeight;
  if (!tw || !th) return undefined;
  const ox = -obj.width / 2 + (pattern.offsetX || 0);
  const oy = -obj.height / 2 + (pattern.offsetY || 0);
  /** @type {TMat2D} */
  const t = pattern.patternTransform ?? [1, 0, 0, 1, 0, 0];
  const inverse = f.util.invertTransform(t);
  const corners = [
    [-obj.width / 2, -obj.height / 2],
    [obj.width / 2, -obj.height / 2],
    [obj.width / 2, obj.height / 2],
    [-obj.width / 2, obj.height / 2],
  ].map(([x, y]) =>
    f.util.transformPoint(new f.Point((x ?? 0) - ox, (y ?? 0) - oy), inverse)
  );
  const xs = corners.map((p) => p.x), ys = corners.map((p) => p.y);
  const repeat = pattern.repeat;
  const across = repeat === "repeat" || repeat === "repeat-x";
  const down = repeat === "repeat" || repeat === "repeat-y";
  const i0 = across ? Math.floor(Math.min(...xs) / tw) : 0;
  const i1 = across ? Math.ceil(Math.max(...xs) / tw) : 1;
  const j0 = down ? Math.floor(Math.min(...ys) / th) : 0;
  const j1 = down ? Math.ceil(Math.max(...ys) / th) : 1;
  if ((i1 - i0) * (j1 - j0) > MAX_PATTERN_TILES) return undefined;
  const src = pattern.sourceToString();
  const href = (src.startsWith("data:") ? blobUrlOf(src) : src)
    .replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;");
  /** @type {string[]} */
  const tiles = [];
  for (let j = j0; j < j1; j++) {
    for (let i = i0; i < i1; i++) {
      tiles.push(
        `<image x="${i * tw}" y="${j * th}" width="${tw}" height="${th}" ` +
          `preserveAspectRatio="none" href="${href}"></image>`,
      );
    }
  }
  const matrix = f.util.multiplyTransformMatrices([1, 0, 0, 1, ox, oy], t);
  return `<g transform="${f.util.matrixToSVG(matrix)}">${tiles.join("")}</g>`;
}

/**
 * Chromium's PDF writer rasterises an SVG `<pattern>` at 72 dpi, whatever
 * the print's resolution; the canvas draws the pattern's image at its own
 * pixels. So an object filled with an image pattern exports its fill as
 * that image's tiles, clipped to its shape (one image object in the PDF,
 * drawn once per tile), and its stroke as the object without fill. Text,
 * and objects with a shadow, keep Fabric's `<pattern>`.
 * @param {FabricObject} obj
 */
function exportPatternAsTiles(obj) {
  const f = globalThis.fabric;
  const base = obj._createBaseSVGMarkup.bind(obj);
  /**
   * @param {string[]} objectMarkup
   * @param {Parameters<typeof base>[1]} options
   */
  obj._createBaseSVGMarkup = (objectMarkup, options = {}) => {
    const fill = obj.fill;
    const tiles = fill instanceof f.Pattern && !obj.shadow
      ? patternTiles(obj, fill)
      : undefined;
    if (!(fill instanceof f.Pattern) || tiles === undefined) {
      return base(objectMarkup, options);
    }
    const at = objectMarkup.indexOf("COMMON_PARTS");
    const shape = objectMarkup.slice();
    shape[at] = (obj.fillRule === "evenodd" ? 'clip-rule="evenodd" ' : "") +
      (options.additionalTransform
        ? `transform="${options.additionalTransform}" `
        : "");
    const id = `PR_TILES_${++tileClips}`;
    const opacity = obj.opacity === 1 ? "" : ` opacity="${obj.opacity}"`;
    const stroke = obj.stroke;
    obj.fill = "";
    try {
      obj.stroke = null;
      const fillMarkup = obj.visible
        ? base([
          `<clipPath id="${id}">${shape.join("")}</clipPath>` +
          `<g clip-path="url(#${id})"${opacity} `,
          "COMMON_PARTS",
          `>${tiles}</g>\n`,
        ], { ...options, noStyle: true, additionalTransform: undefined })
        : "";
      obj.stroke = stroke;
      const strokeMarkup = stroke ? base(objectMarkup, options) : "";
      return obj.paintFirst === "stroke"
        ? strokeMarkup + fillMarkup
        : fillMarkup + strokeMarkup;
    } finally {
      obj.fill = fill;
      obj.stroke = stroke;
    }
  };
}

/**
 * Once per loaded template: QR objects export their modules as one path, and
 * images name a shared `blob:` URL instead of their `data:` URL.
 */
function prepareVector() {
  if (state.vectorReady) return;
  const f = globalThis.fabric;
  for (const slot of state.slots.values()) {
    if (slot.kind !== "qr") continue;
    slot.obj._toSVG = () => qrSvg(slot);
  }
  /** @param {FabricObject[]} objects */
  const visit = (objects) => {
    for (const obj of objects) {
      if (obj instanceof f.FabricImage) {
        const image = obj;
        const original = image.getSrc.bind(image);
        image.getSrc = (filtered) => {
          const src = original(filtered);
          return src.startsWith("data:") ? blobUrlOf(src) : src;
        };
      }
      if (
        obj.fill instanceof f.Pattern && !(obj instanceof f.FabricText) &&
        !(obj instanceof f.Group)
      ) exportPatternAsTiles(obj);
      if (obj instanceof f.Group) visit(obj.getObjects());
    }
  };
  visit(loaded().canvas.getObjects());
  state.vectorReady = true;
}

/** The print document's style: one CSS page per record at trim + bleed. */
function printStyle() {
  const print = state.print;
  if (!print) throw new Error("No template loaded");
  const w = `${print.geometry.widthPt}pt`;
  const h = `${print.geometry.heightPt}pt`;
  return `@page{size:${w} ${h};margin:0}` +
    "html,body{margin:0;padding:0;background:transparent}" +
    `.pr-page{width:${w};height:${h};overflow:hidden;position:relative;` +
    "break-after:page}.pr-page:last-child{break-after:auto}" +
    `.pr-page>svg{display:block;width:${w};height:${h}}`;
}

/**
 * Resolves when the image has loaded; rejects when it cannot.
 * @param {Element} image
 * @returns {Promise<void>}
 */
function imageLoaded(image) {
  return new Promise((resolve, reject) => {
    image.addEventListener("load", () => resolve(), { once: true });
    image.addEventListener(
      "error",
      () =>
        reject(
          new Error(
            `An image of the print document did not load: ${
              image.getAttribute("href") ?? image.getAttribute("xlink:href")
            }`,
          ),
        ),
      { once: true },
    );
  });
}

/**
 * One print document for a chunk of records: each record is applied and
 * exported with `toSVG()`; a record that throws is left out and reported.
 * Resolves when every image of the document has loaded.
 * @type {typeof globalThis.vector}
 */
// Used by render.js: classic scripts share their top-level names.
// deno-lint-ignore no-unused-vars
async function vector({ payloads, thumbnail }) {
  const { canvas } = loaded();
  const print = state.print;
  if (!print) throw new Error("No template loaded");
  prepareVector();
  clearPrint();
  trimBlobUrls();
  const vpt = canvas.viewportTransform;
  const options = {
    suppressPreamble: true,
    width: `${print.geometry.widthPt}pt`,
    height: `${print.geometry.heightPt}pt`,
    viewBox: {
      x: 0,
      y: 0,
      width: canvas.width / vpt[0],
      height: canvas.height / vpt[3],
    },
  };
  /** @type {VectorResult} */
  const result = {
    pages: [],
    timings: [],
    thumbnails: [],
    failed: [],
    layout: 0,
    svgChars: 0,
  };
  /** @type {string[]} */
  const parts = [];
  for (const payload of payloads) {
    try {
      const t0 = performance.now();
      await apply(payload);
      const t1 = performance.now();
      const svg = canvas.toSVG(options);
      const t2 = performance.now();
      let small;
      if (thumbnail) {
        canvas.renderAll();
        small = await thumbnailOf(thumbnail);
      }
      const t3 = performance.now();
      parts.push(`<div class="pr-page">${svg}</div>`);
      result.svgChars += svg.length;
      result.pages.push(payload.index);
      result.timings.push({ apply: t1 - t0, svg: t2 - t1, thumbnail: t3 - t2 });
      if (small) result.thumbnails.push(small);
    } catch (error) {
      result.failed.push({
        index: payload.index,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }
  const started = performance.now();
  const style = document.createElement("style");
  style.textContent = printStyle();
  document.head.append(style);
  document.body.innerHTML = parts.join("");
  await Promise.all(
    [...document.body.querySelectorAll("image")].map(imageLoaded),
  );
  await document.fonts.ready;
  result.layout = performance.now() - started;
  return result;
}

/**
 * Empties the print document (after printing, or before the next chunk).
 * @type {typeof globalThis.clearPrint}
 */
function clearPrint() {
  document.body.replaceChildren();
  for (const style of document.head.querySelectorAll("style")) style.remove();
}
