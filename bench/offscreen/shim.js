// @ts-check
// Makes a dedicated worker look enough like a page for Fabric 7 and the
// repository's render.js, painting on OffscreenCanvas: `window`, a
// `devicePixelRatio` and a `document` whose canvases are OffscreenCanvases
// with the element methods Fabric touches (style, classList, attributes) and
// `toBlob` for render.js, and whose images are OffscreenCanvases that load a
// URL. Loaded with importScripts() before Fabric.
"use strict";

/** @import { WorkerScope } from "./api.ts" */

/**
 * An OffscreenCanvas with the element methods Fabric and render.js call.
 * @param {number} width
 * @param {number} height
 */
function canvasElement(width, height) {
  const canvas = new OffscreenCanvas(width, height);
  /** @type {Map<string, string>} */
  const attributes = new Map();
  return Object.assign(canvas, {
    style: { cssText: "" },
    classList: { add() {}, remove() {}, contains: () => false },
    /** @param {string} name */
    hasAttribute: (name) => attributes.has(name),
    /** @param {string} name */
    getAttribute: (name) => attributes.get(name) ?? null,
    /** @param {string} name @param {unknown} value */
    setAttribute: (name, value) => void attributes.set(name, String(value)),
    /** @param {string} name */
    removeAttribute: (name) => void attributes.delete(name),
    /**
     * @param {(blob: Blob | null) => void} callback
     * @param {string} [type]
     * @param {number} [quality]
     */
    toBlob(callback, type, quality) {
      canvas.convertToBlob({ type, quality }).then(
        callback,
        () => callback(null),
      );
    },
  });
}

/**
 * An "img" for Fabric's loadImage: an OffscreenCanvas (a valid drawImage
 * source) whose `src` setter fetches and decodes the image, draws it onto
 * itself and fires `onload`.
 */
function imageElement() {
  const image = Object.assign(canvasElement(1, 1), {
    naturalWidth: 0,
    naturalHeight: 0,
    /** @type {(() => void) | null} */ onload: null,
    /** @type {((error: unknown) => void) | null} */ onerror: null,
  });
  let src = "";
  Object.defineProperty(image, "src", {
    get: () => src,
    set(/** @type {string} */ value) {
      src = value;
      if (value) load(value).catch((error) => image.onerror?.(error));
    },
  });
  /** @param {string} url */
  async function load(url) {
    const bitmap = await createImageBitmap(await (await fetch(url)).blob());
    image.width = image.naturalWidth = bitmap.width;
    image.height = image.naturalHeight = bitmap.height;
    image.getContext("2d")?.drawImage(bitmap, 0, 0);
    bitmap.close();
    image.onload?.();
  }
  return image;
}

{
  const scope = /** @type {WorkerScope} */ (/** @type {unknown} */ (self));
  Object.assign(scope, {
    window: scope,
    devicePixelRatio: 1,
    document: {
      fonts: scope.fonts,
      /** @param {string} tag */
      createElement(tag) {
        if (tag === "canvas") return canvasElement(300, 150);
        if (tag === "img") return imageElement();
        throw new Error(`No <${tag}> in a worker`);
      },
      getElementById: () => null,
    },
  });
}
