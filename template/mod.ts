/**
 * Templates: parsing and validation (the format's extensions in format.ts),
 * placeholders, preflight against the data's columns, assets, and what a
 * render page receives, and their fonts (fonts.ts: what Chromium will embed,
 * the bold fallbacks, the fontconfig file the browser is launched with).
 *
 * @module
 */
export * from "./assets.ts";
export * from "./barcode.ts";
export * from "./fabric_classes.ts";
export * from "./fields.ts";
export * from "./fonts.ts";
export * from "./format.ts";
export * from "./json_limits.ts";
export * from "./overset.ts";
export * from "./page_spec.ts";
export * from "./parse.ts";
export * from "./payload.ts";
export * from "./preflight.ts";
