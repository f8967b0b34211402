// @ts-check
// What the design editor knows, shared by its modules: Fabric.js and the
// canvas, the page set-up and the design space, the fields, and whether it
// has unsaved changes.

/** @typedef {import("fabric").Canvas} Canvas */
/** @typedef {import("../pdf/geometry.ts").Unit} Unit */
/**
 * A page set-up as a template states it: trim size, resolution and bleed
 * (in the size's unit).
 * @typedef {{ size: { width: number, height: number, unit: Unit }, dpi: number, bleed: number }} PageSetup
 */

/**
 * Fabric.js, which editor.html loads as the classic script /fabric.js before
 * the modules run. A classic script's global has no static type:
 * `Reflect.get` answers `any`, given here the npm package's own types, once.
 * @type {typeof import("fabric") | undefined}
 */
const loaded = Reflect.get(globalThis, "fabric");

/**
 * @returns {typeof import("fabric")} Fabric.js
 * @throws {Error} when /fabric.js did not load
 */
export function fabric() {
  if (!loaded) throw new Error("The drawing library did not load.");
  return loaded;
}

export const state = {
  /** @type {Canvas | null} the canvas, once the editor has started */
  canvas: null,
  /** @type {PageSetup} page set-up as the template states it */
  page: { size: { width: 6, height: 4, unit: "in" }, dpi: 300, bleed: 0.125 },
  /** The design space: the page with bleed, in pixels at the dpi. */
  width: 1875,
  height: 1275,
  /** Whether the template was a bare Fabric document (saved back as one). */
  bare: false,
  /** The design-space point at the page's top-left (a bare document's workspace). */
  origin: { x: 0, y: 0 },
  /** @type {unknown[] | undefined} the template's fonts, kept as they came */
  fonts: undefined,
  /** @type {Set<string>} */
  fields: new Set(),
  dirty: false,
};

/**
 * @returns {Canvas} the editor's canvas
 * @throws {Error} before the editor has started
 */
export function canvas() {
  if (!state.canvas) throw new Error("The editor has not started.");
  return state.canvas;
}

/** Marks the design as changed. */
export function changed() {
  state.dirty = true;
}

/** @returns {{ x: number, y: number }} the bleed, in design pixels */
export function trimInset() {
  const { size, bleed } = state.page;
  return {
    x: (state.width * bleed) / (size.width + 2 * bleed),
    y: (state.height * bleed) / (size.height + 2 * bleed),
  };
}
