// @ts-check
// The render page, vector mode: each record of a chunk is applied and exported
// with Fabric's toSVG() (QR codes as one path, images as shared blob: URLs),
// and the chunk becomes one print document, one CSS page per record, that
// Deno prints. A classic script after apply.js; see scope.d.ts.
"use strict";

/**
 * @import { VectorResult } from "../page_api.ts"
 * @import { FabricObject } from "fabric"
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
