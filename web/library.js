// The template library of the page at `/` (step 1): a card per design, with
// its preview and fields; choosing, editing and deleting designs.
import { api, loadImage } from "./api.js";
import { state } from "./app_state.js";
import { $, clone, h, setQuery, showError } from "./dom.js";
import { formatSize } from "./format.js";
import { refreshChecks } from "./recipients.js";

/** @type {any[]} the designs the server knows */
let templates = [];
const enc = encodeURIComponent;

/** @param {string | null} [selectId] loads the library, then selects this */
export async function loadTemplates(selectId) {
  const list = $("#template-list");
  try {
    templates = await api("/api/templates");
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

/** @param {any} t a template from the list @returns {HTMLElement} its card */
function templateCard(t) {
  const card = clone("card-template");
  card.dataset.id = t.id;
  card.dataset.builtIn = String(Boolean(t.builtIn));
  const img = card.querySelector("img");
  const thumb = card.querySelector(".thumb");
  img.addEventListener("load", () => thumb.classList.add("loaded"));
  img.addEventListener("error", () => thumb.classList.add("failed"));
  loadImage(img, `/api/templates/${enc(t.id)}/preview.png`);
  card.querySelector(".template-name").textContent = t.name;
  card.querySelector(".template-size").textContent = formatSize(t.size);
  const fields = card.querySelector(".template-fields");
  fields.setAttribute("aria-label", `Fields of ${t.name}`);
  fields.append(...(t.fields ?? []).map((f) => h("li", {}, f)));
  const edit = card.querySelector(".template-edit");
  edit.href = `/editor?id=${enc(t.id)}`;
  edit.setAttribute("aria-label", `Edit ${t.name}`);
  const del = card.querySelector(".template-delete");
  del.setAttribute("aria-label", `Delete ${t.name}`);
  del.addEventListener("click", () => deleteTemplate(t));
  (t.builtIn ? del : card.querySelector(".badge")).remove();
  card.addEventListener("click", (e) => {
    if (!e.target.closest(".card-actions")) selectTemplate(t.id);
  });
  return card;
}

/** @param {string} [id] the template to select (none when unknown) */
function selectTemplate(id) {
  state.selected = templates.find((t) => t.id === id) ?? null;
  for (const card of document.querySelectorAll(".template-card")) {
    const on = card.dataset.id === state.selected?.id;
    card.classList.toggle("selected", on);
    card.firstElementChild.setAttribute("aria-pressed", String(on));
  }
  if (state.selected) setQuery("template", state.selected.id);
  refreshChecks();
}

/** @param {any} t the template to delete, after asking */
async function deleteTemplate(t) {
  if (!confirm(`Delete the design “${t.name}”? This cannot be undone.`)) return;
  try {
    await api(`/api/templates/${enc(t.id)}`, { method: "DELETE" });
    await loadTemplates();
  } catch (error) {
    showError(error, `Could not delete “${t.name}”.`);
  }
}
