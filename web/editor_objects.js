// @ts-check
// Adding, removing and moving the objects of a design: text boxes, QR codes,
// barcodes, photo fields and embedded images, and the keys that act on the
// selection.
import { $, showError } from "./dom.js";
import {
  isBarcodeType,
  objects,
  placeholder,
  selected,
} from "./editor_document.js";
import { collectFields } from "./editor_fields.js";
import { designPerInch } from "./editor_page.js";
import { canvas, changed, fabric, state, trimInset } from "./editor_state.js";

/** @typedef {import("./editor_document.js").EditorObject} EditorObject */

/** @param {EditorObject} obj a new object: placed, added and selected */
function addObject(obj) {
  const { x, y } = trimInset();
  const n = objects().length % 6;
  obj.set({
    originX: "left",
    originY: "top",
    left: x + state.width * (0.05 + n * 0.04),
    top: y + state.height * (0.05 + n * 0.04),
  });
  canvas().add(obj);
  canvas().setActiveObject(obj);
  canvas().requestRenderAll();
  collectFields();
  changed();
}

/** Adds a text box. */
export function addText() {
  addObject(
    new (fabric().Textbox)("Your text here", {
      width: Math.round(state.width * 0.4),
      fontSize: Math.round(state.height / 20),
      fontFamily: "Noto Sans",
      fill: "#1F3A5F",
    }),
  );
}

/** Adds a QR code: a white square whose `qr.value` is encoded per record. */
export function addQr() {
  const side = Math.round(Math.min(300, state.width / 2, state.height / 2));
  /** @type {EditorObject} */
  const rect = new (fabric().Rect)({
    width: side,
    height: side,
    fill: "#FFFFFF",
  });
  rect.qr = { value: "{{url}}", ecc: "M" };
  addObject(rect);
}

/**
 * A new barcode's box in inches, a size each scans at (an IMb's is its
 * printed size), and the field it reads when none is named.
 * @type {Record<import("../template/format.ts").BarcodeType, { size: [number, number], field: string }>}
 */
const NEW_BARCODES = {
  code128: { size: [2.5, 0.8], field: "sku" },
  ean13: { size: [1.5, 1], field: "ean" },
  datamatrix: { size: [0.8, 0.8], field: "url" },
  pdf417: { size: [2.5, 0.8], field: "id" },
  imb: { size: [3.1, 0.2], field: "imb" },
};

/**
 * Adds a barcode of the type picked, reading the field named (or the usual
 * one): a white box whose `barcode.value` is encoded per record.
 */
export function addBarcode() {
  const type = $("#barcode-type", HTMLSelectElement).value;
  if (!isBarcodeType(type)) return;
  const { size: [w, h], field } = NEW_BARCODES[type];
  const named = $("#barcode-field", HTMLInputElement).value;
  const name = named.replace(/[{}]/g, "").trim() || field;
  const inch = designPerInch();
  // Smaller on a page too small for it.
  const k = Math.min(
    1,
    (state.width * 0.8) / (w * inch),
    (state.height * 0.8) / (h * inch),
  );
  /** @type {EditorObject} */
  const rect = new (fabric().Rect)({
    width: Math.round(w * inch * k),
    height: Math.round(h * inch * k),
    fill: "#FFFFFF",
  });
  rect.barcode = { type, value: `{{${name}}}` };
  addObject(rect);
}

/** Adds an image filled from a field for each record (`src: "{{photo}}"`). */
export async function addPhoto() {
  const side = Math.round(Math.min(state.width, state.height) * 0.3);
  const url = placeholder(side, side, "{{photo}}");
  /** @type {EditorObject} */
  const img = await fabric().FabricImage.fromURL(url);
  img.pressrunSrc = "{{photo}}";
  addObject(img);
}

/**
 * Adds an image file, embedded as a data: URL no larger than it can show.
 * @param {File} file the image the user chose
 */
export async function addImage(file) {
  if (file.type === "image/svg+xml") {
    // An SVG logo stays an SVG, so it prints as vector paths.
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      let binary = "";
      for (const b of bytes) binary += String.fromCharCode(b);
      addObject(
        await fabric().FabricImage.fromURL(
          `data:image/svg+xml;base64,${btoa(binary)}`,
        ),
      );
    } catch (error) {
      showError(error, `Could not add “${file.name}”: is it an SVG image?`);
    }
    return;
  }
  const url = URL.createObjectURL(file);
  try {
    const source = new Image();
    source.src = url;
    await source.decode();
    const { naturalWidth: w, naturalHeight: ht } = source;
    const scale = Math.min(
      1,
      (Math.max(state.width, state.height) * 0.6) / Math.max(w, ht),
    );
    const el = document.createElement("canvas");
    el.width = Math.max(1, Math.round(w * scale));
    el.height = Math.max(1, Math.round(ht * scale));
    el.getContext("2d")?.drawImage(source, 0, 0, el.width, el.height);
    const type = file.type === "image/jpeg" ? "image/jpeg" : "image/png";
    addObject(await fabric().FabricImage.fromURL(el.toDataURL(type, 0.9)));
  } catch (error) {
    showError(error, `Could not add “${file.name}”: is it an image?`);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Deletes the selected objects. */
export function removeSelected() {
  const chosen = canvas().getActiveObjects();
  canvas().discardActiveObject();
  canvas().remove(...chosen);
  canvas().requestRenderAll();
  changed();
}

/** @param {"bringObjectForward" | "sendObjectBackwards"} method moves the selection */
export function restack(method) {
  const obj = selected();
  if (!obj) return;
  canvas()[method](obj);
  canvas().requestRenderAll();
  changed();
}

/** @type {Record<string, [number, number]>} a nudge's direction, by key */
const NUDGES = {
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
  ArrowUp: [0, -1],
  ArrowDown: [0, 1],
};

/** @param {KeyboardEvent} e Delete removes the selection, arrows nudge it */
export function onKey(e) {
  const obj = selected();
  const inField = e.target instanceof Element &&
    e.target.closest("input, select, textarea");
  const editing = obj instanceof fabric().IText && obj.isEditing;
  if (!obj || editing || inField) return;
  if (e.key === "Delete" || e.key === "Backspace") {
    e.preventDefault();
    return removeSelected();
  }
  const [dx, dy] = NUDGES[e.key] ?? [];
  if (dx === undefined || dy === undefined) return;
  const step = e.shiftKey ? 10 : 1;
  e.preventDefault();
  obj.set({ left: obj.left + dx * step, top: obj.top + dy * step });
  obj.setCoords();
  canvas().requestRenderAll();
  changed();
}
