// @ts-check
// (b) An encoder worker: takes the ImageBitmap of a painted piece, encodes it
// to PNG and POSTs the bytes itself. Shown through a `bitmaprenderer` context
// with `alpha: false`, a copy of the page's opaque canvas encodes as RGB, the
// same bytes as the page's own `toBlob` (every other OffscreenCanvas route
// gives RGBA in Chromium 156; see README.md).
"use strict";

/** @import { EncodeJob, WorkerScope } from "./api.ts" */

const scope = /** @type {WorkerScope} */ (/** @type {unknown} */ (self));

/** @type {{ canvas: OffscreenCanvas, context: ImageBitmapRenderingContext } | null} */
let target = null;

/**
 * An opaque `bitmaprenderer` canvas of the bitmap's size, reused while the
 * size stays.
 * @param {ImageBitmap} bitmap
 */
function targetFor(bitmap) {
  if (
    target?.canvas.width !== bitmap.width ||
    target.canvas.height !== bitmap.height
  ) {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext("bitmaprenderer", { alpha: false });
    if (!context) throw new Error("No bitmaprenderer context");
    target = { canvas, context };
  }
  return target;
}

scope.onmessage = async (/** @type {MessageEvent<EncodeJob>} */ event) => {
  const { bitmap, postTo } = event.data;
  try {
    const { canvas, context } = targetFor(bitmap);
    context.transferFromImageBitmap(bitmap);
    const blob = await canvas.convertToBlob({ type: "image/png" });
    // Free for the next piece as soon as it is encoded.
    scope.postMessage({});
    await fetch(postTo, { method: "POST", body: blob });
  } catch (error) {
    const message = `Cannot encode the piece: ${error}`;
    scope.postMessage({ error: message });
    // Deno fails the piece at once instead of waiting for it (the header is
    // ERROR_HEADER in api.ts).
    await fetch(postTo, {
      method: "POST",
      body: message,
      headers: { "x-offscreen-error": "1" },
    }).catch(() => {});
  }
};
