/**
 * Rendering: the browser, render pages, the persistent and cluster renderers
 * and the orchestrator that falls back from one to the other.
 *
 * @module
 */
export * from "./browser.ts";
export * from "./cluster.ts";
export * from "./log.ts";
export * from "./orchestrator.ts";
export * from "./persistent.ts";
export * from "./process_memory.ts";
export * from "./render_page.ts";
export * from "./renderer.ts";
