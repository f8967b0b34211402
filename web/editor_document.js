// @ts-check
// The editor's side of a template document: the format's extensions on
// Fabric objects, which objects are text and images, stand-ins for images
// the editor cannot load, and the conversion between the saved JSON and what
// the Fabric canvas holds.
import { canvas, fabric, state } from "./editor_state.js";

/**
 * A QR code's content: `value` with placeholders, filled in per record.
 * @typedef {{ value: string, ecc?: import("../template/format.ts").QrEcc }} QrSpec
 */
/**
 * A barcode: its type and its `value` with placeholders, encoded per record
 * by the server; the other keys of the template format are kept as they came.
 * @typedef {{ type: import("../template/format.ts").BarcodeType, value: string, text?: boolean, quietZone?: number, color?: string, background?: string }} BarcodeSpec
 */
/**
 * The template format's properties on a Fabric object (see DESIGN.md), and
 * the editor's bookkeeping: `pressrunSrc` is an image's source while a
 * stand-in shows, `pressrunBox` a fitted text's box height (Fabric
 * recomputes `height` from the text). Neither is saved under its own name.
 * @typedef {object} Extensions
 * @property {QrSpec} [qr] draws a QR code over the object's box
 * @property {BarcodeSpec} [barcode] draws a barcode over the object's box
 * @property {import("../template/format.ts").TextFit | import("../template/format.ts").ImageFit} [fit]
 *   "shrink", "grow" or "fit" on a text; "cover", "contain" or "fill" on an image
 * @property {number} [minFontSize] smallest size a shrinking text may reach
 * @property {number} [maxFontSize] largest size a growing text may reach
 * @property {number} [minCharSpacing] tightest letter spacing of a fitted text
 * @property {number} [minScaleX] narrowest horizontal scale of a fitted text
 * @property {string} [visibleIf] the field that must be set for it to show
 * @property {string} [pressrunSrc]
 * @property {number} [pressrunBox]
 */
/** @typedef {import("fabric").FabricObject & Extensions} EditorObject */
/** @typedef {import("fabric").FabricText & Extensions} EditorText */
/** @typedef {import("fabric").FabricImage & Extensions} EditorImage */
/**
 * One object of a saved canvas: Fabric's JSON with the extensions.
 * @typedef {Extensions & { type?: string, src?: string, width?: number, height?: number, objects?: SavedObject[], [key: string]: unknown }} SavedObject
 */
/**
 * A saved canvas: what Fabric's `toObject()` writes, in design pixels.
 * @typedef {{ objects: SavedObject[], width?: number, height?: number }} SavedCanvas
 */
/**
 * A template document as the editor opens and saves it: a page set-up and a
 * canvas, or a bare Fabric document (its page is its pixel size).
 * @typedef {TemplateWithPage | ({ name?: string } & SavedCanvas)} TemplateDoc
 */
/**
 * A template document with a page set-up; the server takes 300 dpi and no
 * bleed when they are left out.
 * @typedef {object} TemplateWithPage
 * @property {string} name
 * @property {import("./editor_state.js").PageSetup["size"]} size
 * @property {number} [dpi]
 * @property {number} [bleed]
 * @property {unknown[]} [fonts] kept as they came
 * @property {SavedCanvas} canvas
 */

/** Custom properties Fabric must keep when it serialises. */
const KEEP = [
  "qr",
  "barcode",
  "fit",
  "minFontSize",
  "maxFontSize",
  "minCharSpacing",
  "minScaleX",
  "visibleIf",
  "pressrunSrc",
  "pressrunBox",
];
const TEXT_TYPES = new Set(["textbox", "i-text", "itext", "text"]);

/**
 * The barcode types of the template format, as people call them.
 * @type {Record<import("../template/format.ts").BarcodeType, string>}
 */
export const BARCODE_NAMES = {
  code128: "Code 128",
  ean13: "EAN-13",
  datamatrix: "Data Matrix",
  pdf417: "PDF417",
  imb: "USPS IMb",
};

/**
 * @param {string} v
 * @returns {v is import("../template/format.ts").BarcodeType} a barcode type?
 */
export function isBarcodeType(v) {
  return Object.hasOwn(BARCODE_NAMES, v);
}

/** @returns {EditorObject | undefined} the selected object, if any */
export function selected() {
  return canvas().getActiveObject();
}

/** @returns {EditorObject[]} the design's objects, bottom first */
export function objects() {
  return canvas().getObjects();
}

/** @param {EditorObject | undefined} o @returns {o is EditorText} text? */
export function isText(o) {
  return o instanceof fabric().FabricText;
}

/** @param {EditorObject | undefined} o @returns {o is EditorImage} image? */
export function isImage(o) {
  return o instanceof fabric().FabricImage;
}

/**
 * A grey box standing in for an image the editor cannot load (a `{{photo}}`
 * field or a file beside the template), exactly the object's size.
 * @param {number | undefined} width in pixels
 * @param {number | undefined} height in pixels
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
 * Readies one saved object for the editor: an image source the editor
 * cannot load becomes a placeholder (the source kept in `pressrunSrc`); a
 * text with a `fit` keeps its stated box height in `pressrunBox`.
 * @param {SavedObject} o changed in place
 */
export function prepare(o) {
  const type = String(o.type).toLowerCase();
  if (type === "image" && !/^(data|blob):/.test(o.src ?? "")) {
    o.pressrunSrc = o.src;
    o.src = placeholder(o.width, o.height, String(o.src ?? "image"));
  }
  if (TEXT_TYPES.has(type) && o.fit) o.pressrunBox ??= o.height;
  o.objects?.forEach(prepare);
}

/** @param {SavedObject} o a saved object: undoes {@linkcode prepare} in place */
function restore(o) {
  if (o.pressrunSrc) o.src = o.pressrunSrc;
  if (o.fit && o.pressrunBox) o.height = o.pressrunBox;
  for (const key of KEEP) {
    if (o[key] == null || key.startsWith("pressrun")) delete o[key];
  }
  o.objects?.forEach(restore);
}

/**
 * The template document to save. The trim line is painted after each render,
 * never an object, so it is never saved.
 * @param {string} name the design's name
 * @returns {TemplateDoc} the template JSON
 */
export function buildTemplate(name) {
  canvas().discardActiveObject(); // ends text editing too
  // Fabric's toObject() answers `any`: it is the canvas as SavedCanvas says.
  /** @type {SavedCanvas} */
  const doc = canvas().toObject(KEEP);
  doc.objects.forEach(restore);
  const saved = { ...doc, width: state.width, height: state.height };
  if (state.bare) return { name, ...saved };
  const { size, dpi, bleed } = state.page;
  const fonts = state.fonts ? { fonts: state.fonts } : {};
  return { name, size, dpi, bleed, ...fonts, canvas: saved };
}
