// The "Selected" panel of the editor: the settings of the selected object
// (font size, colour, shrink-to-fit, QR content, image source…), read from
// it and written back as they are edited.
import { $ } from "./dom.js";
import { isImage, isText } from "./editor_document.js";
import { setSource } from "./editor_fields.js";
import { changed, state } from "./editor_state.js";

const HEX = /^#[0-9a-f]{6}$/i;

/**
 * How each input of the "Selected" panel reads and writes the selected
 * object: `[get, set]`, by input id.
 * @type {Record<string, [(o: any) => unknown, (o: any, v: any) => unknown]>}
 */
const PROPS = {
  "prop-font-size": [
    (o) => o.fontSize,
    (o, v) => v > 0 && o.set("fontSize", +v),
  ],
  "prop-fill": [
    (o) => HEX.test(o.fill) ? o.fill : "#000000",
    (o, v) => o.set("fill", v),
  ],
  "prop-fit": [(o) => o.fit === "shrink", (o, on) => {
    o.fit = on ? "shrink" : undefined;
    if (on) o.pressrunBox ??= o.height;
  }],
  "prop-min-font": [
    (o) => o.minFontSize ?? "",
    (o, v) => o.minFontSize = v > 0 ? +v : undefined,
  ],
  "prop-box-height": [
    (o) => Math.round(o.pressrunBox ?? o.height),
    (o, v) => v > 0 && (o.pressrunBox = +v),
  ],
  "prop-qr-value": [(o) => o.qr.value, (o, v) => o.qr = { ...o.qr, value: v }],
  "prop-qr-ecc": [(o) => o.qr.ecc ?? "M", (o, v) => o.qr = { ...o.qr, ecc: v }],
  "prop-src": [(o) => o.pressrunSrc ?? "", (o, v) => setSource(o, v)],
  "prop-image-fit": [(o) => o.fit ?? "cover", (o, v) => o.fit = v],
  "prop-visible-if": [
    (o) => o.visibleIf ?? "",
    (o, v) => o.visibleIf = v.trim() || undefined,
  ],
};

/** Shows the settings of the selected object in the "Selected" panel. */
export function showProps() {
  const obj = state.canvas.getActiveObject();
  const many = obj?.type.toLowerCase() === "activeselection";
  const kind = !obj || many
    ? ""
    : obj.qr
    ? "qr"
    : isText(obj)
    ? "text"
    : isImage(obj)
    ? "image"
    : "shape";
  $("#props-what").textContent = {
    "": many
      ? `${obj.size()} objects selected.`
      : "Nothing selected. Click an object on the page.",
    qr: "QR code: each recipient gets their own.",
    text: "Text. Double-click it to edit.",
    image: "Image.",
    shape: "Shape.",
  }[kind];
  for (const section of document.querySelectorAll("#props [data-for]")) {
    const want = section.dataset.for;
    section.hidden = want === "one"
      ? !kind
      : want === "shrink"
      ? !(kind === "text" && obj.fit === "shrink")
      : want !== kind;
  }
  for (const [id, [get]] of Object.entries(PROPS)) {
    const input = document.getElementById(id);
    if (input.closest("[hidden]")) continue;
    if (input.type === "checkbox") input.checked = Boolean(get(obj));
    else input.value = String(get(obj));
  }
}

/** Wires the "Selected" panel's inputs to the selected object. */
export function wireProps() {
  for (const [id, [, set]] of Object.entries(PROPS)) {
    const input = document.getElementById(id);
    const box = input.type === "checkbox";
    input.addEventListener(box ? "change" : "input", () => {
      const obj = state.canvas.getActiveObject();
      if (!obj) return;
      set(obj, box ? input.checked : input.value);
      obj.setCoords();
      state.canvas.requestRenderAll();
      if (box) showProps();
      changed();
    });
  }
}
