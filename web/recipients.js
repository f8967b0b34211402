// @ts-check
// The recipient list of the page at `/` (step 2): the CSV the user chooses or
// drops, what the server reads in it (count, columns, delimiter, first rows,
// and the design's fields it has no column for), and whether Generate is
// ready. The server reads the file with the same reader and limits as a
// batch, so what the page shows is what a batch would get.
import { checkCsv } from "./api.js";
import { state } from "./app_state.js";
import { $, h } from "./dom.js";
import { refreshListCheck } from "./list_check.js";

/** How each delimiter reads on the page. */
const DELIMITER_WORDS = { ",": "commas", ";": "semicolons", "\t": "tabs" };
/** How each encoding reads on the page. */
const ENCODING_WORDS = {
  "utf-8": "UTF-8",
  "utf-16le": "UTF-16",
  "utf-16be": "UTF-16",
  "windows-1252": "Windows-1252 (Excel on Windows)",
};

/** Counts the checks asked for: only the latest answer is shown. */
let asked = 0;

/** Wires the file input and the drop zone around it, and the sheet picker. */
export function wireDropzone() {
  const input = $("#csv-input", HTMLInputElement);
  const sheet = $("#sheet-select", HTMLSelectElement);
  sheet.addEventListener("change", () => {
    state.sheet = sheet.value;
    if (state.file) check(state.file);
  });
  input.addEventListener("change", () => {
    const file = input.files?.[0];
    if (file) takeFile(file);
  });
  const zone = $("#dropzone");
  /** @param {boolean} on @returns {(e: DragEvent) => void} */
  const over = (on) => (e) => {
    e.preventDefault();
    zone.classList.toggle("over", on);
  };
  zone.addEventListener("dragover", over(true));
  zone.addEventListener("dragleave", over(false));
  zone.addEventListener("drop", (e) => {
    over(false)(e);
    const files = e.dataTransfer?.files;
    if (!files?.[0]) return;
    input.files = files;
    takeFile(files[0]);
  });
}

/** @param {File} file a CSV the user chose or dropped: checked by the server */
function takeFile(file) {
  state.file = file;
  state.csv = null;
  state.sheet = undefined;
  $("#csv-name").textContent = file.name;
  check(file);
}

/**
 * The chosen design changed: asks again about the file on show, since the
 * missing columns depend on the design.
 */
export function recheck() {
  if (
    state.file && (state.csv?.template !== state.selected?.id ||
      state.csv?.print?.pdfMode !== pdfMode())
  ) {
    check(state.file);
  } else refreshChecks();
}

/** @param {File} file asks the server what it reads in the file */
async function check(file) {
  const ask = ++asked;
  const template = state.selected?.id;
  state.checking = true;
  $("#csv-error").hidden = true;
  refreshChecks();
  try {
    const answer = await checkCsv(file, template, pdfMode(), state.sheet);
    if (ask !== asked) return;
    state.csv = { ...answer, template };
  } catch (error) {
    if (ask !== asked) return;
    state.csv = null;
    const why = error instanceof Error ? error.message : String(error);
    $("#csv-error").textContent = `We couldn't use “${file.name}”. ${why}` +
      (/[.!?]$/.test(why) ? "" : ".");
    $("#csv-error").hidden = false;
  } finally {
    if (ask === asked) {
      state.checking = false;
      refreshChecks();
    }
  }
}

/** The PDF mode chosen in the options. */
function pdfMode() {
  return $("#pdf-mode", HTMLSelectElement).value;
}

/** Shows the CSV preview and its check against the design; updates Generate. */
export function refreshChecks() {
  const { selected: t, csv } = state;
  const missing = csv?.missing ?? [];
  $("#csv-summary").hidden = $("#csv-preview-wrap").hidden = !csv;
  if (csv) {
    const s = csv.records === 1 ? "" : "s";
    const how = csv.sheet !== undefined
      ? `sheet “${csv.sheet}”`
      : `separated by ${
        csv.delimiter ? DELIMITER_WORDS[csv.delimiter] : "commas"
      } · ${csv.encoding ? ENCODING_WORDS[csv.encoding] : "UTF-8"}`;
    $("#csv-summary").textContent = `${csv.records} recipient${s} · ` +
      `${csv.columns.length} columns · ${how}`;
    const used = new Set(t?.fields);
    $("#csv-preview thead").replaceChildren(h(
      "tr",
      {},
      ...csv.columns.map((name) =>
        h("th", { scope: "col", class: used.has(name) && "used" }, name)
      ),
    ));
    $("#csv-preview tbody").replaceChildren(
      ...csv.preview.map((row) =>
        h("tr", {}, ...row.map((v) => h("td", {}, v)))
      ),
    );
  }
  const refused = csv?.print?.refused;
  const sheets = csv?.sheets ?? [];
  $("#sheet-field").hidden = sheets.length < 2;
  const select = $("#sheet-select", HTMLSelectElement);
  if (sheets.length > 1 && select.options.length !== sheets.length) {
    select.replaceChildren(...sheets.map((name) => h("option", {}, name)));
  }
  if (csv?.sheet) select.value = csv.sheet;
  const check = $("#field-check");
  check.hidden = !(t && csv);
  check.className = missing.length || refused ? "check missing" : "check ok";
  check.textContent = missing.length
    ? `Your file has no column for: ${missing.join(", ")}`
    : refused
    ? `${refused}. Choose “Raster” under PDF pages.`
    : `✓ Your file has a column for every field of “${t?.name}”.`;
  const warnings = csv?.print?.warnings ?? [];
  $("#print-warnings").hidden = !(t && csv && warnings.length);
  $("#print-warnings").textContent = warnings.join(" ");
  const ready = Boolean(
    t && csv && !state.checking && !missing.length && !refused,
  );
  $("#generate", HTMLButtonElement).disabled = !ready || state.starting;
  refreshListCheck();
  $("#generate-hint").textContent = !t
    ? "Choose a design first."
    : state.checking
    ? "Reading your recipient list…"
    : !csv
    ? "Add your recipient list."
    : ready
    ? `Ready: ${csv.records} pieces of “${t.name}”.`
    : refused
    ? "This design cannot print as vector PDF pages."
    : "Add the missing columns to your file, or choose another design.";
}
