// The design editor at /editor?id=… (blank for a new design): a Fabric canvas
// in design coordinates, scaled to fit the window. Saving posts a new template
// and goes back to the library. Plain ES modules, no build step; Fabric comes
// from the classic script /fabric.js. This one opens and saves the design and
// wires the page; the editor_*.js modules do the rest.
import { api } from "./api.js";
import { $, hideError, showError } from "./dom.js";
import { buildTemplate, prepare } from "./editor_document.js";
import {
  addTypedField,
  collectFields,
  fieldsFromCsv,
  renderFields,
} from "./editor_fields.js";
import { drawGuides } from "./editor_guides.js";
import {
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
import { changed, state } from "./editor_state.js";

const fabric = globalThis.fabric;

/** Saves the design as a new template, then goes back to the library. */
async function save() {
  const name = $("#template-name").value.trim();
  if (!name) return showError(new Error("Give the design a name first."));
  $("#save").disabled = true;
  try {
    const body = buildTemplate(name);
    const created = await api("/api/templates", { method: "POST", body });
    state.dirty = false;
    location.href = `/?template=${encodeURIComponent(created.id)}`;
  } catch (error) {
    showError(error, "Could not save the design.");
  } finally {
    $("#save").disabled = false;
  }
}

/** @param {string} id opens this template (GET /api/templates/:id) */
async function openTemplate(id) {
  const { name, template } = await api(
    `/api/templates/${encodeURIComponent(id)}`,
  );
  const doc = template.canvas ?? template;
  state.bare = !template.canvas;
  state.page = state.bare
    ? {
      size: { width: doc.width, height: doc.height, unit: "px" },
      dpi: 72,
      bleed: 0,
    }
    : {
      size: template.size,
      dpi: template.dpi ?? 300,
      bleed: template.bleed ?? 0,
    };
  state.fonts = template.fonts;
  const size = designSize(state.page);
  state.width = doc.width ?? size.width;
  state.height = doc.height ?? size.height;
  $("#template-name").value = `${template.name ?? name} (copy)`;
  showPage(false);
  // Fabric would set width/height as plain properties of the canvas.
  const { objects = [], width: _w, height: _h, ...rest } = structuredClone(doc);
  objects.forEach(prepare);
  await state.canvas.loadFromJSON({ ...rest, objects });
  state.canvas.backgroundColor ||= "#ffffff";
  collectFields();
  fit();
}

/** Wires the editor up and opens the template named in the address. */
async function main() {
  if (!fabric) return showError(new Error("The drawing library did not load."));
  const canvas = state.canvas = new fabric.Canvas("canvas", {
    preserveObjectStacking: true,
    backgroundColor: "#ffffff",
  });
  canvas.on("after:render", drawGuides);
  for (const type of ["created", "updated", "cleared"]) {
    canvas.on(`selection:${type}`, showProps);
  }
  canvas.on("object:modified", () => {
    changed();
    showProps();
  });
  canvas.on("text:changed", () => {
    changed();
    collectFields();
  });
  const on = (id, type, fn) => $(id).addEventListener(type, fn);
  const file = (fn) => (e) => e.target.files[0] && fn(e.target.files[0]);
  on("#save", "click", save);
  on("#add-text", "click", addText);
  on("#add-qr", "click", addQr);
  on("#add-photo", "click", addPhoto);
  on("#add-image", "click", () => $("#image-input").click());
  on("#image-input", "change", file(addImage));
  on("#delete", "click", removeSelected);
  on("#bring-forward", "click", () => restack("bringObjectForward"));
  on("#send-backward", "click", () => restack("sendObjectBackwards"));
  on("#add-field", "click", addTypedField);
  on("#field-name", "keydown", (e) => e.key === "Enter" && addTypedField());
  on("#field-csv", "change", file(fieldsFromCsv));
  on("#error-dismiss", "click", hideError);
  on("#size-unit", "change", changeUnit);
  for (const id of ["#size-width", "#size-height", "#dpi", "#bleed"]) {
    on(id, "change", applyPage);
  }
  wireProps();
  document.addEventListener("keydown", onKey);
  addEventListener("resize", fit);
  addEventListener("beforeunload", (e) => state.dirty && e.preventDefault());
  // For end-to-end tests: the canvas and the document Save would post.
  globalThis.pressrunEditor = { canvas, buildTemplate };

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
