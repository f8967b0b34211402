// What the design editor knows, shared by its modules: the Fabric canvas, the
// page set-up and the design space, the fields, and whether it has unsaved
// changes.

export const state = {
  /** @type {any} */ canvas: null,
  /** Page set-up as the template states it (trim size, dpi, bleed). */
  page: { size: { width: 6, height: 4, unit: "in" }, dpi: 300, bleed: 0.125 },
  /** The design space: the page with bleed, in pixels at the dpi. */
  width: 1875,
  height: 1275,
  /** Whether the template was a bare Fabric document (saved back as one). */
  bare: false,
  /** @type {unknown} */ fonts: undefined,
  /** @type {Set<string>} */ fields: new Set(),
  dirty: false,
};

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
