/**
 * Print PDF output: page geometry (trim, bleed, raster size), writers for
 * single-piece and merged PDFs that embed rendered images without
 * re-encoding them, and print production: printer's marks on pieces,
 * imposition on press sheets, and PDF/X-4 files in the printer's CMYK
 * with a structural check of them.
 *
 * @module
 */

export * from "./geometry.ts";
export * from "./writer.ts";
export * from "./impose.ts";
export * from "./marks.ts";
export * from "./pdfx.ts";
export * from "./pdfx_report.ts";
