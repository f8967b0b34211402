/**
 * What every part of pressrun shares: the error taxonomy and the small async
 * primitives. (The rules the web page shares too live in `rules.js`.)
 *
 * @module
 */
export * from "./async.ts";
export * from "./errors.ts";
