/**
 * Rendering: the browser, render pages and their contract (page_api.ts), the
 * persistent and cluster renderers and the orchestrator that falls back from
 * one to the other.
 *
 * @module
 */
export * from "./browser.ts";
export * from "./cluster.ts";
export * from "./log.ts";
export * from "./orchestrator.ts";
export * from "./page_api.ts";
export * from "./persistent.ts";
export * from "./process_memory.ts";
export * from "./render_page.ts";
export * from "./renderer.ts";
