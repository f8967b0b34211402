/**
 * pressrun: personalised print from a Fabric.js design and a CSV of
 * recipients. One piece per record, each with its own text, images and QR
 * code, rendered in warm headless-Chromium pages and written as print PDFs.
 *
 * ```ts ignore
 * import { runBatch } from "./mod.ts";
 *
 * const result = await runBatch({
 *   template: "examples/postcard/template.json",
 *   data: "examples/postcard/recipients.csv",
 *   out: "out/demo",
 *   merge: true,
 *   onProgress: (p) => console.log(`${p.done}/${p.total} ${p.mode}`),
 * });
 * console.log(`${result.rendered} pieces in ${result.ms} ms`);
 * ```
 *
 * @module
 */
export * from "./batch/mod.ts";
export * from "./queue/mod.ts";
export * from "./common/mod.ts";
export * from "./pdf/mod.ts";
export * from "./render/mod.ts";
export * from "./template/mod.ts";
export * from "./server/mod.ts";
