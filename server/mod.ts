/**
 * The HTTP side: the request handler over the job store and worker, its
 * errors, template previews and ZIP streaming.
 *
 * @module
 */
export * from "./api.ts";
export * from "./errors.ts";
export * from "./preview.ts";
export * from "./zip.ts";
