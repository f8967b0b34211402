/**
 * Batches: reading the CSV, running a batch end to end, the output folder and
 * its manifest.
 *
 * @module
 */
export * from "./csv.ts";
export * from "./manifest.ts";
export * from "./output.ts";
export * from "./run.ts";
