// @ts-check
// The editor's page set-up: size, unit, resolution and bleed (editable for a
// new design only), and the zoom that fits the page to the window.
import { $ } from "./dom.js";
import { canvas, changed, state } from "./editor_state.js";
import { formatSize } from "./format.js";

/** @typedef {import("./editor_state.js").PageSetup} PageSetup */
/** @typedef {import("./editor_state.js").Unit} Unit */

/**
 * @param {Unit} unit a page unit
 * @param {number} dpi the resolution
 * @returns {number} how many of it make an inch
 */
function perInch(unit, dpi) {
  return { in: 1, mm: 25.4, px: dpi }[unit];
}

/**
 * @param {string} value the unit input's value
 * @returns {value is Unit} whether it is a page unit
 */
function isUnit(value) {
  return value === "in" || value === "mm" || value === "px";
}

/**
 * @param {PageSetup} page
 * @returns {{ width: number, height: number }} the design space in pixels
 */
export function designSize({ size, dpi, bleed }) {
  /** @param {number} v a length in the size's unit */
  const px = (v) =>
    Math.round(((v + 2 * bleed) / perInch(size.unit, dpi)) * dpi);
  return { width: px(size.width), height: px(size.height) };
}

/** @returns {number} design pixels to an inch of the printed page */
export function designPerInch() {
  const { size, dpi, bleed } = state.page;
  return state.width * perInch(size.unit, dpi) / (size.width + 2 * bleed);
}

/** @param {string} id a number input's id @returns {HTMLInputElement} */
function numberInput(id) {
  return $(id, HTMLInputElement);
}

/** @param {boolean} editable fills the page inputs; locked for a saved design */
export function showPage(editable) {
  const { size, dpi, bleed } = state.page;
  numberInput("#size-width").value = String(size.width);
  numberInput("#size-height").value = String(size.height);
  $("#size-unit", HTMLSelectElement).value = size.unit;
  numberInput("#dpi").value = String(dpi);
  numberInput("#bleed").value = String(bleed);
  $("#page-setup", HTMLFieldSetElement).disabled = !editable;
  $("#page-details", HTMLDetailsElement).open = editable;
  $("#page-note").textContent = editable
    ? "The dashed line is where the page is trimmed."
    : "A saved design keeps its page size. The dashed line is the trim.";
}

/** Applies the page inputs (a new design only): resizes the design space. */
export function applyPage() {
  const unit = $("#size-unit", HTMLSelectElement).value;
  if (!isUnit(unit)) return;
  const size = { width: num("#size-width"), height: num("#size-height"), unit };
  const page = { size, dpi: num("#dpi"), bleed: num("#bleed") || 0 };
  const problem = !(size.width > 0 && size.height > 0)
    ? "Width and height must be more than 0."
    : !(page.dpi >= 36 && page.dpi <= 1200)
    ? "The resolution must be between 36 and 1200 dpi."
    : page.bleed < 0 || page.bleed * 2 >= Math.min(size.width, size.height)
    ? "The bleed must be 0 or more, and less than half the page."
    : "";
  $("#page-note").className = problem ? "check missing" : "muted";
  $("#page-note").textContent = problem ||
    "The dashed line is where the page is trimmed.";
  if (problem) return;
  state.page = page;
  Object.assign(state, designSize(page));
  fit();
  changed();
}

/** The unit's change: converts the numbers to the new unit, then applies. */
export function changeUnit() {
  const unit = $("#size-unit", HTMLSelectElement).value;
  if (!isUnit(unit)) return;
  const dpi = num("#dpi") || 300;
  const ratio = perInch(unit, dpi) / perInch(state.page.size.unit, dpi);
  for (const id of ["#size-width", "#size-height", "#bleed"]) {
    const input = numberInput(id);
    input.value = String(Math.round(Number(input.value) * ratio * 1000) / 1000);
  }
  applyPage();
}

/** @param {string} id @returns {number} the number in an input */
function num(id) {
  return Number(numberInput(id).value);
}

/** Scales the canvas to fit the stage, keeping design coordinates. */
export function fit() {
  const stage = $("#stage");
  const zoom = Math.min(
    (stage.clientWidth - 48) / state.width,
    (stage.clientHeight - 48) / state.height,
  );
  canvas().setDimensions({
    width: Math.round(state.width * zoom),
    height: Math.round(state.height * zoom),
  });
  // A bare document's page may sit elsewhere in its design (a workspace at
  // -115.5, -296.5): the view starts there.
  const { x, y } = state.origin;
  canvas().setViewportTransform([zoom, 0, 0, zoom, -x * zoom, -y * zoom]);
  const { size, bleed, dpi } = state.page;
  const extra = bleed ? ` + ${bleed} ${size.unit} bleed` : "";
  const page = `${formatSize(size)}${extra}`;
  const pixels = `${state.width} × ${state.height} px`;
  $("#page-summary").textContent = `${page} · ${dpi} dpi`;
  $("#editor-status").textContent = `${page === pixels ? "" : `${page} · `}` +
    `${pixels} · ${Math.round(zoom * 100)}%`;
}
