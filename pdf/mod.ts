/**
 * Print PDF output: page geometry (trim, bleed, raster size) and writers for
 * single-piece and merged PDFs that embed rendered images without
 * re-encoding them.
 *
 * @module
 */

export * from "./geometry.ts";
export * from "./writer.ts";
