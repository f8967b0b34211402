// @ts-check
// Adding, removing and moving the objects of a design: text boxes, QR codes,
// photo fields and embedded images, and the keys that act on the selection.
import { showError } from "./dom.js";
import { objects, placeholder, selected } from "./editor_document.js";
import { collectFields } from "./editor_fields.js";
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
