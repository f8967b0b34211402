// @ts-check
// (a) A Fabric worker: Fabric 7 and the repository's unchanged page scripts in a
// dedicated worker, painting on an OffscreenCanvas (shim.js), driven by calls
// from the page or pulling records itself (a)+(c). Its PNGs are RGBA: an
// OffscreenCanvas encodes with alpha whatever its context says.
"use strict";

/**
 * @import {
 *   FabricWorkerCall,
 *   PieceRequest,
 *   PullRequest,
 *   WorkerScope,
 * } from "./api.ts"
 */

const scope = /** @type {WorkerScope} */ (/** @type {unknown} */ (self));
// The render page's scripts, in render/page/render.html's order.
scope.importScripts(
  "/shim.js",
  "/fabric.js",
  "/load.js",
  "/qr.js",
  "/apply.js",
  "/vector.js",
  "/render.js",
);

/**
 * Renders pulled records until none are left.
 * @param {PullRequest} request
 */
async function pull({ url, batch }) {
  let pieces = 0;
  for (;;) {
    const response = await fetch(`${url}?n=${batch}`);
    if (!response.ok) throw new Error(`Pull answered ${response.status}`);
    /** @type {PieceRequest[]} */
    const jobs = await response.json();
    if (jobs.length === 0) return pieces;
    for (const { payload, postTo } of jobs) {
      await globalThis.pressrun.render({
        payload,
        postTo,
        format: "png",
        quality: 0.92,
      });
      pieces++;
    }
  }
}

scope.onmessage = async (
  /** @type {MessageEvent<FabricWorkerCall>} */ { data },
) => {
  try {
    if (data.op === "load") await globalThis.pressrun.load(data.spec);
    else if (data.op === "render") {
      await globalThis.pressrun.render(data.request);
    } else {
      scope.postMessage({ id: data.id, pieces: await pull(data.pull) });
      return;
    }
    scope.postMessage({ id: data.id });
  } catch (error) {
    scope.postMessage({
      id: data.id,
      error: `${error instanceof Error ? error.stack : error}`,
    });
  }
};
