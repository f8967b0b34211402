// The editor's side of a template document: which objects are text and
// images, stand-ins for images the editor cannot load, and the conversion
// between the saved JSON and what the Fabric canvas holds.
import { state } from "./editor_state.js";

/** Custom properties Fabric must keep when it serialises. */
const KEEP = [
  "qr",
  "fit",
  "minFontSize",
  "visibleIf",
  "pressrunSrc",
  "pressrunBox",
];
const TEXT_TYPES = new Set(["textbox", "i-text", "itext", "text"]);

/** @param {any} o a Fabric object or its JSON @returns {boolean} text? */
export function isText(o) {
  return TEXT_TYPES.has(String(o?.type).toLowerCase());
}

/** @param {any} o a Fabric object or its JSON @returns {boolean} image? */
export function isImage(o) {
  return String(o?.type).toLowerCase() === "image";
}

/**
 * A grey box standing in for an image the editor cannot load (a `{{photo}}`
 * field or a file beside the template), exactly the object's size.
 * @param {number} width in pixels
 * @param {number} height in pixels
 * @param {string} label what it stands for
 * @returns {string} an SVG data: URL
 */
export function placeholder(width, height, label) {
  const w = Math.max(1, Math.round(width || 300));
  const ht = Math.max(1, Math.round(height || 300));
  const size = Math.max(12, Math.round(Math.min(w, ht) / 8));
  const text = label.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${ht}">` +
    `<rect width="100%" height="100%" fill="#dbe4ee"/>` +
    `<path d="M0 0L${w} ${ht}M${w} 0L0 ${ht}" stroke="#a9bbcd" stroke-width="${
      size / 8
    }"/>` +
    `<text x="50%" y="50%" font-family="sans-serif" font-size="${size}" fill="#2f4a66" ` +
    `text-anchor="middle" dominant-baseline="middle">${text}</text></svg>`;
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

/**
 * Readies one serialised object for the editor: an image source the editor
 * cannot load becomes a placeholder (the source kept in `pressrunSrc`); a
 * shrink-to-fit text keeps its stated box height in `pressrunBox`, since
 * Fabric recomputes `height` from the text.
 * @param {any} o a serialised Fabric object, changed in place
 */
export function prepare(o) {
  if (isImage(o) && !/^(data|blob):/.test(o.src ?? "")) {
    o.pressrunSrc = o.src;
    o.src = placeholder(o.width, o.height, String(o.src ?? "image"));
  }
  if (isText(o) && o.fit === "shrink") o.pressrunBox ??= o.height;
  o.objects?.forEach(prepare);
}

/** @param {any} o a saved object: undoes {@linkcode prepare} in place */
function restore(o) {
  if (o.pressrunSrc) o.src = o.pressrunSrc;
  if (o.fit === "shrink" && o.pressrunBox) o.height = o.pressrunBox;
  for (const key of KEEP) {
    if (o[key] == null || key.startsWith("pressrun")) delete o[key];
  }
  o.objects?.forEach(restore);
}

/**
 * The template document to save. The trim line is painted after each render,
 * never an object, so it is never saved.
 * @param {string} name the design's name
 * @returns {any} the template JSON
 */
export function buildTemplate(name) {
  state.canvas.discardActiveObject(); // ends text editing too
  const doc = state.canvas.toObject(KEEP);
  doc.objects.forEach(restore);
  const canvas = { ...doc, width: state.width, height: state.height };
  if (state.bare) return { name, ...canvas };
  const { size, dpi, bleed } = state.page;
  const fonts = state.fonts ? { fonts: state.fonts } : {};
  return { name, size, dpi, bleed, ...fonts, canvas };
}
