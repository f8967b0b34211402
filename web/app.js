// @ts-check
// The pressrun web app at `/`: choose a design, add a CSV, generate a batch
// and follow it live. Plain ES modules, no build step: this one starts
// batches and wires the page; each step of the page has its own module.
import { createBatch } from "./api.js";
import { state } from "./app_state.js";
import { onBatchChosen, refreshBatches } from "./batch_list.js";
import { $, hideError, showError } from "./dom.js";
import { loadTemplates } from "./library.js";
import { batchAction, openBatch } from "./progress.js";
import { recheck, refreshChecks, wireDropzone } from "./recipients.js";
import { wireListCheck } from "./list_check.js";

/** Starts a batch (POST /api/batches) from the selected design and CSV. */
async function generate() {
  const { selected, file } = state;
  if (!selected || !file) return;
  const form = new FormData();
  form.set("template", selected.id);
  form.set("data", file, file.name);
  form.set("renderer", $("#renderer", HTMLSelectElement).value);
  form.set("pdfMode", $("#pdf-mode", HTMLSelectElement).value);
  if (state.sheet) form.set("sheet", state.sheet);
  form.set("merge", String($("#merge", HTMLInputElement).checked));
  form.set("onError", $("#on-error", HTMLSelectElement).value);
  form.set("marks", String($("#marks", HTMLInputElement).checked));
  form.set("pdfx", String($("#pdfx", HTMLInputElement).checked));
  form.set("proof", String($("#proof", HTMLInputElement).checked));
  const [grid, sheet] = $("#impose", HTMLSelectElement).value.split(" ");
  if (grid && sheet) {
    form.set("impose", grid);
    form.set("pressSheet", sheet);
  }
  state.starting = true;
  $("#generate", HTMLButtonElement).disabled = true;
  $("#generate-hint").textContent = "Starting…";
  try {
    const { id } = await createBatch(form);
    hideError();
    await openBatch(id);
  } catch (error) {
    showError(error, "Could not start the batch.");
  } finally {
    state.starting = false;
    refreshChecks();
  }
}

/** @param {string} id a batch to show: its errors go to the banner */
function showBatch(id) {
  openBatch(id).catch((e) => showError(e, "Could not open the batch."));
}

/** Wires the page up and loads its data. */
function main() {
  wireDropzone();
  wireListCheck();
  $("#generate").addEventListener("click", generate);
  $("#pdf-mode").addEventListener("change", recheck);
  $("#cancel").addEventListener("click", () => batchAction("cancel"));
  $("#retry").addEventListener("click", () => batchAction("retry"));
  $("#refresh-batches").addEventListener("click", refreshBatches);
  onBatchChosen(showBatch);
  const params = new URLSearchParams(location.search);
  loadTemplates(params.get("template"));
  const batch = params.get("batch");
  if (batch) showBatch(batch);
  else refreshBatches();
}

if (globalThis.document?.body?.dataset.page === "app") main();
