/**
 * Print PDF output: page geometry (trim, bleed, raster size), writers for
 * single-piece and merged PDFs that embed rendered images without
 * re-encoding them, and print production: printer's marks on pieces and
 * imposition on press sheets.
 *
 * @module
 */

export * from "./geometry.ts";
export * from "./writer.ts";
export * from "./impose.ts";
export * from "./marks.ts";
