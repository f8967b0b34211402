/**
 * Templates: parsing and validation (the format's extensions in format.ts),
 * placeholders, preflight against the data's columns, assets, and what a
 * render page receives.
 *
 * @module
 */
export * from "./assets.ts";
export * from "./fields.ts";
export * from "./format.ts";
export * from "./page_spec.ts";
export * from "./parse.ts";
export * from "./payload.ts";
export * from "./preflight.ts";
