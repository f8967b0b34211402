// @ts-check
// The fields of a design: the {{ name }} placeholders its objects use, the
// field buttons that insert one into the selected object, and fields typed
// in or taken from the columns of a CSV.
import { fieldsIn } from "../common/rules.js";
import { checkCsv } from "./api.js";
import { $, h, hideError, showError } from "./dom.js";
import {
  isImage,
  isText,
  objects,
  placeholder,
  selected,
} from "./editor_document.js";
import { canvas, changed, fabric, state } from "./editor_state.js";

/** @typedef {import("./editor_document.js").EditorObject} EditorObject */

/**
 * Sets where an image comes from: a `{{field}}` or a file name.
 * @param {import("./editor_document.js").EditorImage} obj the image
 * @param {string} src its new source
 */
export async function setSource(obj, src) {
  if (!src.trim()) return;
  obj.pressrunSrc = src.trim();
  const { width, height, scaleX, scaleY } = obj;
  await obj.setSrc(placeholder(width, height, obj.pressrunSrc));
  obj.set({ width, height, scaleX, scaleY });
  canvas().requestRenderAll();
  collectFields();
  changed();
}

/**
 * Inserts `{{name}}` into the selected text at the cursor (or at the end),
 * appends it to a QR code's or a barcode's value, or makes it an image's
 * source.
 * @param {string} name a field name
 */
function insertField(name) {
  const obj = selected();
  const token = `{{${name}}}`;
  if (obj?.qr) obj.qr = { ...obj.qr, value: obj.qr.value + token };
  else if (obj?.barcode) {
    obj.barcode = { ...obj.barcode, value: obj.barcode.value + token };
  } else if (isImage(obj)) setSource(obj, token);
  else if (obj instanceof fabric().IText && obj.isEditing) {
    const start = obj.selectionStart;
    obj.insertChars(token, undefined, start, obj.selectionEnd);
    obj.selectionStart = obj.selectionEnd = start +
      obj.graphemeSplit(token).length;
    const textarea = obj.hiddenTextarea;
    if (textarea) {
      textarea.value = obj.text;
      obj._updateTextarea();
      textarea.focus();
    }
  } else if (isText(obj)) {
    obj.set("text", obj.text + token);
    obj.initDimensions();
  } else {
    return showError(
      new Error(
        `Select a text, image, QR code or barcode to insert ${token} into.`,
      ),
    );
  }
  obj.setCoords();
  canvas().requestRenderAll();
  state.fields.add(name);
  renderFields();
  // As Fabric does after a drag: the editor marks the design changed and
  // shows the new value in the "Selected" panel.
  canvas().fire("object:modified", { target: obj });
}

/** Gathers the fields the design uses into the field list. */
export function collectFields() {
  /** @param {EditorObject} obj */
  const visit = (obj) => {
    const texts = [
      isText(obj) ? obj.text : undefined,
      obj.pressrunSrc,
      obj.qr?.value,
      obj.barcode?.value,
    ];
    for (const text of texts) {
      for (const name of fieldsIn(text ?? "")) state.fields.add(name);
    }
    if (obj.visibleIf) state.fields.add(obj.visibleIf);
    if (obj instanceof fabric().Group) obj.getObjects().forEach(visit);
  };
  objects().forEach(visit);
  state.fields.delete("");
  renderFields();
}

/** Shows the field buttons, and the same names as input suggestions. */
export function renderFields() {
  const names = [...state.fields].sort((a, b) => a.localeCompare(b));
  const buttons = names.map((name) => {
    const button = h("button", {
      type: "button",
      class: "chip field-chip",
      "data-field": name,
      title: `Insert {{${name}}}`,
    }, name);
    // Keeps the text being edited focused: the field goes in at the cursor.
    button.addEventListener("mousedown", (e) => e.preventDefault());
    button.addEventListener("click", () => insertField(name));
    return button;
  });
  $("#field-list").replaceChildren(...buttons);
  if (!names.length) {
    $("#field-list").append(h("span", { class: "muted" }, "No fields yet."));
  }
  $("#field-options").replaceChildren(
    ...names.map((value) => h("option", { value })),
  );
}

/** Adds the field typed in the field name box. */
export function addTypedField() {
  const input = $("#field-name", HTMLInputElement);
  const name = input.value.replace(/[{}]/g, "").trim();
  if (!name) return;
  state.fields.add(name);
  input.value = "";
  renderFields();
}

/**
 * Adds the column names of a CSV as fields. The server reads the file, as it
 * would for a batch.
 * @param {File} file the CSV
 */
export async function fieldsFromCsv(file) {
  try {
    const { columns } = await checkCsv(file);
    for (const name of columns) state.fields.add(name);
    renderFields();
    hideError();
  } catch (error) {
    showError(error, `Could not read the column names of “${file.name}”.`);
  }
}
