/**
 * Batches: reading the CSV, running a batch end to end, the output folder,
 * its manifest and the check of its pieces, and batches as jobs (store,
 * worker, metrics).
 *
 * @module
 */
export * from "./csv.ts";
export * from "./manifest.ts";
export * from "./kv_store.ts";
export * from "./metrics.ts";
export * from "./output.ts";
export * from "./piece_check.ts";
export * from "./run.ts";
export * from "./store.ts";
export * from "./worker.ts";
