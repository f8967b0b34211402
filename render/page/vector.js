// @ts-check
// The render page, vector mode: each record of a chunk is applied and exported
// with Fabric's toSVG() (QR codes and barcodes as paths, images as shared
// blob: URLs), and the chunk becomes one print document, one CSS page per
// record, that Deno prints. A classic script after apply.js; see scope.d.ts.
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
 * drawn once per tile), and its stroke as the object without fill. Text
 * keeps Fabric's `<pattern>`; a shadow is exported apart
 * (`exportShadowAsImage()`), so its object's fill becomes tiles too.
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
 * Chromium's limits for one canvas, as `template/parse.ts` checks them for
 * the raster page (`MAX_PIXEL_SIDE`, `MAX_PIXEL_AREA`).
 */
const MAX_SHADOW_SIDE = 32_767;
const MAX_SHADOW_AREA = 268_435_456;

/**
 * An object's shadow alone, as an `<image>` in its parent's coordinates:
 * rasterised by the canvas at the page's raster scale (the template's dpi),
 * over the shadow's box clipped to the page. The object is drawn far off the
 * canvas and its shadow offset back onto it (canvas shadow offsets ignore
 * the transform), so only the shadow's pixels are kept, as the raster path
 * draws them. Empty when the shadow misses the page.
 * @param {FabricObject} obj
 * @param {import("fabric").Shadow} shadow
 * @returns {string}
 */
function shadowImage(obj, shadow) {
  const f = globalThis.fabric;
  const canvas = loaded().canvas;
  const zoom = canvas.viewportTransform[0];
  const matrix = obj.calcTransformMatrix();
  const scaling = shadow.nonScaling
    ? new f.Point(1, 1)
    : obj.getObjectScaling();
  // Fabric's _setShadow(), in design units.
  const blur = shadow.blur * f.config.browserShadowBlurConstant *
    (scaling.x + scaling.y) / 2;
  const dx = shadow.offsetX * scaling.x, dy = shadow.offsetY * scaling.y;
  const dim = obj._getNonTransformedDimensions();
  const corners = [[-1, -1], [1, -1], [1, 1], [-1, 1]].map(([x, y]) =>
    f.util.transformPoint(
      new f.Point((x ?? 0) * dim.x / 2, (y ?? 0) * dim.y / 2),
      matrix,
    )
  );
  const box = f.util.makeBoundingBoxFromPoints(corners);
  // A blur spreads about 1.5 × its canvas radius; glyphs and miters may
  // overhang the box.
  const pad = 1.5 * blur + 0.1 * Math.max(box.width, box.height) + 4 / zoom;
  // The page in design units: it starts where the viewport's origin is.
  const left = -canvas.viewportTransform[4] / zoom;
  const top = -canvas.viewportTransform[5] / zoom;
  const right = left + canvas.width / zoom, bottom = top + canvas.height / zoom;
  const x0 = Math.max(left, Math.floor((box.left + dx - pad) * zoom) / zoom);
  const y0 = Math.max(top, Math.floor((box.top + dy - pad) * zoom) / zoom);
  const x1 = Math.min(
    right,
    Math.ceil((box.left + box.width + dx + pad) * zoom) / zoom,
  );
  const y1 = Math.min(
    bottom,
    Math.ceil((box.top + box.height + dy + pad) * zoom) / zoom,
  );
  if (x1 <= x0 || y1 <= y0) return "";
  // The page's raster fits the limits, so a box within it does too; the cap
  // only guards against rounding.
  let scale = zoom;
  const fit = Math.min(
    1,
    MAX_SHADOW_SIDE / ((x1 - x0) * scale),
    MAX_SHADOW_SIDE / ((y1 - y0) * scale),
    Math.sqrt(MAX_SHADOW_AREA / ((x1 - x0) * (y1 - y0) * scale * scale)),
  );
  scale *= fit;
  const el = document.createElement("canvas");
  el.width = Math.max(1, Math.round((x1 - x0) * scale));
  el.height = Math.max(1, Math.round((y1 - y0) * scale));
  const ctx = el.getContext("2d");
  if (!ctx) return "";
  // Far enough that the object itself lands off the canvas.
  const away = 2 * (el.width + (box.width + 2 * pad) * scale) + 1000;
  ctx.setTransform(scale, 0, 0, scale, -x0 * scale + away, -y0 * scale);
  const own = {
    setShadow: obj._setShadow,
    setOpacity: obj._setOpacity,
  };
  /** @param {CanvasRenderingContext2D} c */
  obj._setShadow = (c) => {
    c.shadowColor = shadow.color;
    c.shadowBlur = blur * scale;
    c.shadowOffsetX = dx * scale - away;
    c.shadowOffsetY = dy * scale;
  };
  // The image sits in the parent's SVG group, which applies the parents'
  // opacity.
  /** @param {CanvasRenderingContext2D} c */
  obj._setOpacity = (c) => {
    c.globalAlpha = obj.opacity;
  };
  try {
    obj.render(ctx);
  } finally {
    obj._setShadow = own.setShadow;
    obj._setOpacity = own.setOpacity;
  }
  const href = blobUrlOf(el.toDataURL("image/png"));
  const parent = obj.group
    ? f.util.matrixToSVG(
      f.util.invertTransform(obj.group.calcTransformMatrix()),
    )
    : undefined;
  const image = `<image x="${x0}" y="${y0}" width="${x1 - x0}" ` +
    `height="${y1 - y0}" preserveAspectRatio="none" href="${href}"></image>`;
  return parent ? `<g transform="${parent}">${image}</g>\n` : `${image}\n`;
}

/**
 * Chromium's PDF writer rasterises an SVG filter at 300 dpi, whatever the
 * template's dpi, and the text under it with it. So an object with a shadow
 * exports its shadow as an image at the template's dpi (`shadowImage()`),
 * then itself without the shadow, as vector.
 * @param {FabricObject} obj
 */
function exportShadowAsImage(obj) {
  const toSVG = obj.toSVG.bind(obj);
  /** @param {Parameters<typeof toSVG>[0]} reviver */
  obj.toSVG = (reviver) => {
    const shadow = obj.shadow;
    if (!shadow || obj.isNotVisible()) return toSVG(reviver);
    const image = shadowImage(obj, shadow);
    obj.shadow = null;
    try {
      return image + toSVG(reviver);
    } finally {
      obj.shadow = shadow;
    }
  };
}

/**
 * Once per loaded template: QR objects export their modules as one path,
 * barcodes their bars and text as paths, images name a shared `blob:` URL
 * instead of their `data:` URL, pattern fills export as image tiles and
 * shadows as images.
 */
function prepareVector() {
  if (state.vectorReady) return;
  const f = globalThis.fabric;
  for (const slot of state.slots.values()) {
    if (slot.kind === "qr") slot.obj._toSVG = () => qrSvg(slot);
    if (slot.kind === "barcode") slot.obj._toSVG = () => barcodeSvg(slot);
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
      if (obj.shadow) exportShadowAsImage(obj);
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
      x: -vpt[4] / vpt[0],
      y: -vpt[5] / vpt[3],
      width: canvas.width / vpt[0],
      height: canvas.height / vpt[3],
    },
  };
  /** @type {VectorResult} */
  const result = {
    pages: [],
    timings: [],
    thumbnails: [],
    overset: [],
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
        small = thumbnailOf(thumbnail);
      }
      const t3 = performance.now();
      parts.push(`<div class="pr-page">${svg}</div>`);
      result.svgChars += svg.length;
      result.pages.push(payload.index);
      result.overset.push(textFits().overset);
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
