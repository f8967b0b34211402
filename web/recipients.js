// The recipient list of the page at `/` (step 2): the CSV the user chooses or
// drops, its preview, the check of its columns against the chosen design,
// and whether Generate is ready.
import { state } from "./app_state.js";
import { missingFields, parseCsv } from "./csv.js";
import { $, h } from "./dom.js";

/** Wires the file input and the drop zone around it. */
export function wireDropzone() {
  const input = $("#csv-input");
  input.addEventListener(
    "change",
    () => input.files[0] && takeFile(input.files[0]),
  );
  const zone = $("#dropzone");
  const over = (on) => (e) => {
    e.preventDefault();
    zone.classList.toggle("over", on);
  };
  zone.addEventListener("dragover", over(true));
  zone.addEventListener("dragleave", over(false));
  zone.addEventListener("drop", (e) => {
    over(false)(e);
    if (!e.dataTransfer?.files[0]) return;
    input.files = e.dataTransfer.files;
    takeFile(input.files[0]);
  });
}

/** @param {File} file a CSV the user chose or dropped: parsed for the preview */
async function takeFile(file) {
  state.csv = null;
  $("#csv-name").textContent = file.name;
  $("#csv-error").hidden = true;
  try {
    const parsed = parseCsv(await file.text());
    if (!parsed.count) throw new SyntaxError("There are no recipients in it");
    state.csv = { file, ...parsed };
  } catch (error) {
    const why = error instanceof Error ? error.message : error;
    $("#csv-error").textContent = `We couldn't read “${file.name}”. ${why}.`;
    $("#csv-error").hidden = false;
  }
  refreshChecks();
}

/** Shows the CSV preview, checks it against the design, updates Generate. */
export function refreshChecks() {
  const { selected: t, csv } = state;
  const missing = t && csv ? missingFields(t.fields, csv.headers) : [];
  $("#csv-summary").hidden = $("#csv-preview-wrap").hidden = !csv;
  if (csv) {
    const by =
      { ",": "commas", ";": "semicolons", "\t": "tabs" }[csv.delimiter];
    const s = csv.count === 1 ? "" : "s";
    $("#csv-summary").textContent = `${csv.count} recipient${s} · ` +
      `${csv.headers.length} columns · separated by ${by}`;
    const used = new Set(t?.fields);
    $("#csv-preview thead").replaceChildren(h(
      "tr",
      {},
      ...csv.headers.map((name) =>
        h("th", { scope: "col", class: used.has(name) && "used" }, name)
      ),
    ));
    $("#csv-preview tbody").replaceChildren(
      ...csv.rows.map((row) => h("tr", {}, ...row.map((v) => h("td", {}, v)))),
    );
  }
  const check = $("#field-check");
  check.hidden = !(t && csv);
  check.className = missing.length ? "check missing" : "check ok";
  check.textContent = missing.length
    ? `Your file has no column for: ${missing.join(", ")}`
    : `✓ Your file has a column for every field of “${t?.name}”.`;
  const ready = Boolean(t && csv && !missing.length);
  $("#generate").disabled = !ready || state.starting;
  $("#generate-hint").textContent = !t
    ? "Choose a design first."
    : !csv
    ? "Add your recipient list."
    : ready
    ? `Ready: ${csv.count} pieces of “${t.name}”.`
    : "Add the missing columns to your file, or choose another design.";
}
