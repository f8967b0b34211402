// @ts-check
// The render page, last script: raster pieces — render() applies a record,
// paints and returns the encoded image; floor() is the benchmark's floor —
// and the page's API, `globalThis.pressrun`. The page's scripts are classic
// scripts loaded in order by render.html (load.js, qr.js, apply.js,
// vector.js, render.js) and share their top-level names (scope.d.ts). No
// build; `deno check` checks them against ../page_api.ts (see README.md).
"use strict";

/**
 * @import { Encoding, PageApi } from "../page_api.ts"
 */

/**
 * @param {Encoding} encoding
 * @returns {Promise<Blob>}
 */
function encode({ format, quality }) {
  const { element } = loaded();
  const type = format === "jpeg" ? "image/jpeg" : "image/png";
  return new Promise((resolve, reject) => {
    element.toBlob(
      (blob) => {
        if (!blob || blob.size === 0) {
          reject(new Error("The canvas encoded to an empty image"));
        } else resolve(blob);
      },
      type,
      quality,
    );
  });
}

/**
 * The blob as base64.
 * @param {Blob} blob
 * @returns {Promise<string>}
 */
function toBase64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(",") + 1));
    };
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/**
 * A small PNG of the current piece, `width` pixels wide, as base64.
 * @type {typeof globalThis.thumbnailOf}
 */
function thumbnailOf(width) {
  const source = loaded().element;
  const small = document.createElement("canvas");
  small.width = width;
  small.height = Math.round((source.height * width) / source.width);
  const ctx = small.getContext("2d", { alpha: false });
  if (!ctx) throw new Error("No 2D context for the thumbnail");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(source, 0, 0, small.width, small.height);
  // Encoded at once, not with toBlob(): a tab the browser counts as in the
  // background gets toBlob()'s callback late, and a print chunk of a
  // hundred thumbnails then passed its deadline (30 s) on the second page.
  const url = small.toDataURL("image/png");
  if (!url.startsWith("data:image/png;base64,")) {
    throw new Error("The thumbnail encoded to nothing");
  }
  return url.slice(url.indexOf(",") + 1);
}

/**
 * One piece: apply, paint, encode. The image is POSTed to `postTo` when given
 * (binary, to the page's own origin), else returned as base64.
 * @type {typeof globalThis.render}
 */
async function render({ payload, format, quality, postTo, thumbnail }) {
  const { canvas, element } = loaded();
  const t0 = performance.now();
  await apply(payload);
  const t1 = performance.now();
  canvas.renderAll();
  const t2 = performance.now();
  const blob = await encode({ format, quality });
  const t3 = performance.now();
  let data;
  if (postTo) {
    // Not awaited: Deno waits for the upload; the page is free for the next
    // record meanwhile.
    fetch(postTo, { method: "POST", body: blob }).catch((error) =>
      console.error(`Posting the piece failed: ${error}`)
    );
  } else {
    data = await toBase64(blob);
  }
  const t4 = performance.now();
  const { overset } = textFits();
  return {
    data,
    thumbnail: thumbnail ? thumbnailOf(thumbnail) : undefined,
    width: element.width,
    height: element.height,
    timings: {
      apply: t1 - t0,
      paint: t2 - t1,
      encode: t3 - t2,
      serialize: t4 - t3,
    },
    ...(overset.length > 0 ? { overset } : {}),
  };
}

/**
 * The in-page floor, for the benchmark: `count` × (paint + encode) of the
 * current state, nothing else.
 * @type {typeof globalThis.floor}
 */
async function floor({ count, format, quality }) {
  const { canvas } = loaded();
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    canvas.renderAll();
    await encode({ format, quality });
  }
  return { ms: performance.now() - started };
}

/** @type {PageApi} */
const api = { load, render, floor, vector, clearPrint, layout };
globalThis.pressrun = api;
