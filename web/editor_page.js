// The editor's page set-up: size, unit, resolution and bleed (editable for a
// new design only), and the zoom that fits the page to the window.
import { $ } from "./dom.js";
import { changed, state } from "./editor_state.js";
import { formatSize } from "./format.js";

/**
 * @param {{ size: { width: number, height: number, unit: string }, dpi: number, bleed: number }} page
 * @returns {{ width: number, height: number }} the design space in pixels
 */
export function designSize({ size, dpi, bleed }) {
  const perInch = { in: 1, mm: 25.4, px: dpi }[size.unit] ?? 1;
  const px = (v) => Math.round(((v + 2 * bleed) / perInch) * dpi);
  return { width: px(size.width), height: px(size.height) };
}

/** @param {boolean} editable fills the page inputs; locked for a saved design */
export function showPage(editable) {
  const { size, dpi, bleed } = state.page;
  $("#size-width").value = size.width;
  $("#size-height").value = size.height;
  $("#size-unit").value = size.unit;
  $("#dpi").value = dpi;
  $("#bleed").value = bleed;
  $("#page-setup").disabled = !editable;
  $("#page-details").open = editable;
  $("#page-note").textContent = editable
    ? "The dashed line is where the page is trimmed."
    : "A saved design keeps its page size. The dashed line is the trim.";
}

/** Applies the page inputs (a new design only): resizes the design space. */
export function applyPage() {
  const num = (id) => Number($(id).value);
  const unit = $("#size-unit").value;
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

/** @param {Event} e the unit's change: converts the numbers, then applies */
export function changeUnit(e) {
  const perInch = { in: 1, mm: 25.4, px: Number($("#dpi").value) || 300 };
  const ratio = perInch[e.target.value] / perInch[state.page.size.unit];
  for (const id of ["#size-width", "#size-height", "#bleed"]) {
    $(id).value = String(Math.round(Number($(id).value) * ratio * 1000) / 1000);
  }
  applyPage();
}

/** Scales the canvas to fit the stage, keeping design coordinates. */
export function fit() {
  const stage = $("#stage");
  const zoom = Math.min(
    (stage.clientWidth - 48) / state.width,
    (stage.clientHeight - 48) / state.height,
  );
  state.canvas.setDimensions({
    width: Math.round(state.width * zoom),
    height: Math.round(state.height * zoom),
  });
  state.canvas.setZoom(zoom);
  const { size, bleed, dpi } = state.page;
  const extra = bleed ? ` + ${bleed} ${size.unit} bleed` : "";
  const page = `${formatSize(size)}${extra}`;
  const pixels = `${state.width} × ${state.height} px`;
  $("#page-summary").textContent = `${page} · ${dpi} dpi`;
  $("#editor-status").textContent = `${page === pixels ? "" : `${page} · `}` +
    `${pixels} · ${Math.round(zoom * 100)}%`;
}
