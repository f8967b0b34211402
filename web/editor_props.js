// @ts-check
// The "Selected" panel of the editor: the settings of the selected object
// (font size, colour, shrink-to-fit, QR and barcode content, image source…),
// read from it and written back as they are edited.
import { $ } from "./dom.js";
import {
  BARCODE_NAMES,
  isBarcodeType,
  isImage,
  isText,
  selected,
} from "./editor_document.js";
import { setSource } from "./editor_fields.js";
import { canvas, changed, fabric } from "./editor_state.js";

/** @typedef {import("./editor_document.js").EditorObject} EditorObject */
/** @typedef {import("../template/format.ts").QrEcc} QrEcc */
/** @typedef {import("../template/format.ts").ImageFit} ImageFit */

const HEX = /^#[0-9a-f]{6}$/i;

/**
 * How each text input or select of the "Selected" panel reads and writes
 * the selected object: `[get, set]`, by element id.
 * @type {Record<string, [(o: EditorObject) => string, (o: EditorObject, v: string) => unknown]>}
 */
const FIELDS = {
  "prop-font-size": [
    (o) => isText(o) ? String(o.fontSize) : "",
    (o, v) => isText(o) && Number(v) > 0 && o.set("fontSize", Number(v)),
  ],
  "prop-fill": [
    (o) => typeof o.fill === "string" && HEX.test(o.fill) ? o.fill : "#000000",
    (o, v) => o.set("fill", v),
  ],
  "prop-min-font": [
    (o) => String(o.minFontSize ?? ""),
    (o, v) => o.minFontSize = Number(v) > 0 ? Number(v) : undefined,
  ],
  "prop-box-height": [
    (o) => String(Math.round(o.pressrunBox ?? o.height)),
    (o, v) => Number(v) > 0 && (o.pressrunBox = Number(v)),
  ],
  "prop-qr-value": [
    (o) => o.qr?.value ?? "",
    (o, v) => o.qr && (o.qr = { ...o.qr, value: v }),
  ],
  "prop-qr-ecc": [
    (o) => o.qr?.ecc ?? "M",
    (o, v) => o.qr && isEcc(v) && (o.qr = { ...o.qr, ecc: v }),
  ],
  "prop-barcode-type": [
    (o) => o.barcode?.type ?? "code128",
    (o, v) => {
      if (!o.barcode || !isBarcodeType(v)) return;
      // Only Code 128 and EAN-13 print their value as text.
      const { text, ...rest } = o.barcode;
      const keepsText = v === "code128" || v === "ean13";
      o.barcode = {
        ...rest,
        ...(keepsText && text !== undefined ? { text } : {}),
        type: v,
      };
    },
  ],
  "prop-barcode-value": [
    (o) => o.barcode?.value ?? "",
    (o, v) => o.barcode && (o.barcode = { ...o.barcode, value: v }),
  ],
  "prop-src": [
    (o) => o.pressrunSrc ?? "",
    (o, v) => isImage(o) && setSource(o, v),
  ],
  "prop-image-fit": [
    (o) => o.fit ?? "cover",
    (o, v) => isImageFit(v) && (o.fit = v),
  ],
  "prop-visible-if": [
    (o) => o.visibleIf ?? "",
    (o, v) => o.visibleIf = v.trim() || undefined,
  ],
};

/**
 * How each checkbox of the panel reads and writes the selected object.
 * @type {Record<string, [(o: EditorObject) => boolean, (o: EditorObject, on: boolean) => unknown]>}
 */
const CHECKS = {
  // Shrinking long text: "shrink", or "fit" (which also grows short text to
  // its maxFontSize); off, a "fit" text keeps growing ("grow"), and a text
  // with no fit left drops the bounds that need one.
  "prop-fit": [shrinks, (o, on) => {
    o.fit = on
      ? o.fit === "grow" ? "fit" : "shrink"
      : o.fit === "fit"
      ? "grow"
      : undefined;
    if (on) o.pressrunBox ??= o.height;
    if (!o.fit) {
      o.maxFontSize = o.minCharSpacing = o.minScaleX = undefined;
    }
  }],
};

/** @param {EditorObject} o @returns {boolean} a text that shrinks to fit? */
function shrinks(o) {
  return o.fit === "shrink" || o.fit === "fit";
}

/** @param {string} v @returns {v is QrEcc} a QR error-correction level? */
function isEcc(v) {
  return v === "L" || v === "M" || v === "Q" || v === "H";
}

/** @param {string} v @returns {v is ImageFit} an image fit? */
function isImageFit(v) {
  return v === "cover" || v === "contain" || v === "fill";
}

/** @param {string} id @returns {HTMLInputElement | HTMLSelectElement} a panel input */
function field(id) {
  const el = document.getElementById(id);
  if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement) {
    return el;
  }
  throw new TypeError(`The page has no input #${id}`);
}

/** Shows the settings of the selected object in the "Selected" panel. */
export function showProps() {
  const obj = selected();
  const many = obj instanceof fabric().ActiveSelection ? obj : undefined;
  const kind = !obj || many
    ? ""
    : obj.qr
    ? "qr"
    : obj.barcode
    ? "barcode"
    : isText(obj)
    ? "text"
    : isImage(obj)
    ? "image"
    : "shape";
  $("#props-what").textContent = {
    "": many
      ? `${many.size()} objects selected.`
      : "Nothing selected. Click an object on the page.",
    qr: "QR code: each recipient gets their own.",
    barcode: `${
      obj?.barcode ? BARCODE_NAMES[obj.barcode.type] : "Barcode"
    }: each recipient gets their own.`,
    text: "Text. Double-click it to edit.",
    image: "Image.",
    shape: "Shape.",
  }[kind];
  for (const section of document.querySelectorAll("#props [data-for]")) {
    if (!(section instanceof HTMLElement)) continue;
    const want = section.dataset.for;
    section.hidden = want === "one"
      ? !kind
      : want === "shrink"
      ? !(kind === "text" && obj && shrinks(obj))
      : want !== kind;
  }
  if (!obj) return;
  for (const [id, [get]] of Object.entries(FIELDS)) {
    const input = field(id);
    if (!input.closest("[hidden]")) input.value = get(obj);
  }
  for (const [id, [get]] of Object.entries(CHECKS)) {
    const box = $(`#${id}`, HTMLInputElement);
    if (!box.closest("[hidden]")) box.checked = get(obj);
  }
}

/** Wires the "Selected" panel's inputs to the selected object. */
export function wireProps() {
  /**
   * @param {HTMLElement} input the panel's input
   * @param {string} type the event that means it changed
   * @param {(obj: EditorObject) => void} apply writes it to the object
   */
  const wire = (input, type, apply) =>
    input.addEventListener(type, () => {
      const obj = selected();
      if (!obj) return;
      apply(obj);
      obj.setCoords();
      canvas().requestRenderAll();
      changed();
    });
  for (const [id, [, set]] of Object.entries(FIELDS)) {
    const input = field(id);
    wire(input, "input", (obj) => set(obj, input.value));
  }
  for (const [id, [, set]] of Object.entries(CHECKS)) {
    const box = $(`#${id}`, HTMLInputElement);
    wire(box, "change", (obj) => {
      set(obj, box.checked);
      showProps();
    });
  }
}
