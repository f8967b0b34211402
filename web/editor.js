// @ts-check
// The design editor at /editor?id=… (blank for a new design): a Fabric canvas
// in design coordinates, scaled to fit the window. Saving posts a new template
// and goes back to the library. Plain ES modules, no build step; Fabric comes
// from the classic script /fabric.js. This one opens and saves the design and
// wires the page; the editor_*.js modules do the rest.
import { addTemplate, getTemplate } from "./api.js";
import { $, showError } from "./dom.js";
import { buildTemplate, prepare } from "./editor_document.js";
import {
  addTypedField,
  collectFields,
  fieldsFromCsv,
  renderFields,
} from "./editor_fields.js";
import { drawGuides } from "./editor_guides.js";
import {
  addBarcode,
  addImage,
  addPhoto,
  addQr,
  addText,
  onKey,
  removeSelected,
  restack,
} from "./editor_objects.js";
import {
  applyPage,
  changeUnit,
  designSize,
  fit,
  showPage,
} from "./editor_page.js";
import { showProps, wireProps } from "./editor_props.js";
import { canvas, changed, fabric, state } from "./editor_state.js";

/** Saves the design as a new template, then goes back to the library. */
async function save() {
  const name = $("#template-name", HTMLInputElement).value.trim();
  if (!name) return showError(new Error("Give the design a name first."));
  const button = $("#save", HTMLButtonElement);
  button.disabled = true;
  try {
    const created = await addTemplate(buildTemplate(name));
    state.dirty = false;
    location.href = `/?template=${encodeURIComponent(created.id)}`;
  } catch (error) {
    showError(error, "Could not save the design.");
  } finally {
    button.disabled = false;
  }
}

/** @param {string} id opens this template (GET /api/templates/:id) */
async function openTemplate(id) {
  const { name, template, size: trim, origin } = await getTemplate(id);
  state.origin = origin ?? { x: 0, y: 0 };
  const doc = "canvas" in template ? template.canvas : template;
  state.bare = !("canvas" in template);
  state.fonts = "canvas" in template ? template.fonts : undefined;
  state.page = "canvas" in template
    ? {
      size: template.size,
      dpi: template.dpi ?? 300,
      bleed: template.bleed ?? 0,
    }
    : doc.width && doc.height
    ? {
      size: { width: doc.width, height: doc.height, unit: "px" },
      dpi: 72,
      bleed: 0,
    }
    // As canvas.toJSON() writes it, with no size: the page the server found
    // (its workspace rectangle), a design unit a point.
    : { size: trim, dpi: 72, bleed: 0 };
  const size = designSize(state.page);
  state.width = doc.width ?? size.width;
  state.height = doc.height ?? size.height;
  $("#template-name", HTMLInputElement).value = `${
    template.name ?? name
  } (copy)`;
  showPage(false);
  // Fabric would set width/height as plain properties of the canvas.
  const { objects = [], width: _w, height: _h, ...rest } = structuredClone(doc);
  objects.forEach(prepare);
  await canvas().loadFromJSON({ ...rest, objects });
  canvas().backgroundColor ||= "#ffffff";
  collectFields();
  fit();
}

/** Wires the editor up and opens the template named in the address. */
async function main() {
  let lib;
  try {
    lib = fabric();
  } catch (error) {
    return showError(error);
  }
  const c = state.canvas = new lib.Canvas("canvas", {
    preserveObjectStacking: true,
    backgroundColor: "#ffffff",
  });
  c.on("after:render", drawGuides);
  c.on("selection:created", showProps);
  c.on("selection:updated", showProps);
  c.on("selection:cleared", showProps);
  c.on("object:modified", () => {
    changed();
    showProps();
  });
  c.on("text:changed", () => {
    changed();
    collectFields();
  });
  /**
   * @param {string} id an element
   * @param {string} type an event
   * @param {(e: Event) => void} fn what it does
   */
  const on = (id, type, fn) => $(id).addEventListener(type, fn);
  /** @param {(file: File) => void} fn @returns {(e: Event) => void} */
  const file = (fn) => (e) => {
    const chosen = e.target instanceof HTMLInputElement && e.target.files?.[0];
    if (chosen) fn(chosen);
  };
  on("#save", "click", save);
  on("#add-text", "click", addText);
  on("#add-qr", "click", addQr);
  on("#add-barcode", "click", addBarcode);
  on("#add-photo", "click", addPhoto);
  on("#add-image", "click", () => $("#image-input").click());
  on("#image-input", "change", file(addImage));
  on("#delete", "click", removeSelected);
  on("#bring-forward", "click", () => restack("bringObjectForward"));
  on("#send-backward", "click", () => restack("sendObjectBackwards"));
  on("#add-field", "click", addTypedField);
  on("#field-name", "keydown", (e) => {
    if (e instanceof KeyboardEvent && e.key === "Enter") addTypedField();
  });
  on("#field-csv", "change", file(fieldsFromCsv));
  on("#size-unit", "change", changeUnit);
  for (const id of ["#size-width", "#size-height", "#dpi", "#bleed"]) {
    on(id, "change", applyPage);
  }
  wireProps();
  document.addEventListener("keydown", onKey);
  addEventListener("resize", fit);
  addEventListener("beforeunload", (e) => state.dirty && e.preventDefault());
  // For end-to-end tests: the canvas and the document Save would post.
  Object.assign(globalThis, { pressrunEditor: { canvas: c, buildTemplate } });

  const id = new URLSearchParams(location.search).get("id");
  let opened = false;
  try {
    if (id) {
      await openTemplate(id);
      opened = true;
    }
  } catch (error) {
    showError(error, "Could not open the design.");
  }
  if (!opened) {
    showPage(true);
    applyPage();
    state.dirty = false;
  }
  renderFields();
  showProps();
}

main();
