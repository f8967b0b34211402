// @ts-check
// The template library of the page at `/` (step 1): a card per design, with
// its preview and fields; choosing, editing and deleting designs.
import { deleteTemplate, listTemplates, loadImage } from "./api.js";
import { state } from "./app_state.js";
import { $, clone, h, setQuery, showError, within } from "./dom.js";
import { formatSize } from "./format.js";
import { recheck } from "./recipients.js";

/** @typedef {import("./api.js").TemplateInfo} TemplateInfo */

/** @type {TemplateInfo[]} the designs the server knows */
let templates = [];
const enc = encodeURIComponent;

/** @param {string | null} [selectId] loads the library, then selects this */
export async function loadTemplates(selectId) {
  const list = $("#template-list");
  try {
    templates = await listTemplates();
  } catch (error) {
    list.replaceChildren(h("li", { class: "empty" }, "Could not load."));
    return showError(error, "Could not load the designs.");
  }
  list.replaceChildren(...templates.map(templateCard));
  if (!templates.length) {
    list.append(h("li", { class: "empty" }, "No designs yet: make one."));
  }
  selectTemplate(selectId ?? state.selected?.id);
}

/** @param {TemplateInfo} t a template from the list @returns {HTMLElement} its card */
function templateCard(t) {
  const card = clone("card-template");
  card.dataset.id = t.id;
  card.dataset.builtIn = String(t.builtIn);
  const img = within(card, "img", HTMLImageElement);
  const thumb = within(card, ".thumb");
  img.addEventListener("load", () => thumb.classList.add("loaded"));
  img.addEventListener("error", () => thumb.classList.add("failed"));
  loadImage(img, `/api/templates/${enc(t.id)}/preview.png`);
  within(card, ".template-name").textContent = t.name;
  within(card, ".template-size").textContent = formatSize(t.size);
  const fields = within(card, ".template-fields");
  fields.setAttribute("aria-label", `Fields of ${t.name}`);
  fields.append(...t.fields.map((f) => h("li", {}, f)));
  const edit = within(card, ".template-edit", HTMLAnchorElement);
  edit.href = `/editor?id=${enc(t.id)}`;
  edit.setAttribute("aria-label", `Edit ${t.name}`);
  const del = within(card, ".template-delete");
  del.setAttribute("aria-label", `Delete ${t.name}`);
  del.addEventListener("click", () => removeTemplate(t));
  (t.builtIn ? del : within(card, ".badge")).remove();
  card.addEventListener("click", (e) => {
    const target = e.target instanceof Element ? e.target : null;
    if (!target?.closest(".card-actions")) selectTemplate(t.id);
  });
  return card;
}

/** @param {string} [id] the template to select (none when unknown) */
function selectTemplate(id) {
  state.selected = templates.find((t) => t.id === id) ?? null;
  for (const card of document.querySelectorAll(".template-card")) {
    if (!(card instanceof HTMLElement)) continue;
    const on = card.dataset.id === state.selected?.id;
    card.classList.toggle("selected", on);
    card.firstElementChild?.setAttribute("aria-pressed", String(on));
  }
  if (state.selected) setQuery("template", state.selected.id);
  recheck();
}

/** @param {TemplateInfo} t the template to delete, after asking */
async function removeTemplate(t) {
  if (!confirm(`Delete the design “${t.name}”? This cannot be undone.`)) return;
  try {
    await deleteTemplate(t.id);
    await loadTemplates();
  } catch (error) {
    showError(error, `Could not delete “${t.name}”.`);
  }
}
