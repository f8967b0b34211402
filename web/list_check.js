// @ts-check
// "Check my list" on the page at `/` (step 2): every recipient of the list
// checked against the chosen design before Generate (POST /api/preflight):
// what was found, by kind and column, the first rows to fix, and all the
// problem rows as a CSV to download.
import { problemCsv } from "../common/rules.js";
import { preflightList } from "./api.js";
import { state } from "./app_state.js";
import { $, h } from "./dom.js";

/** How each kind of problem reads on the page. */
const KIND_WORDS = {
  "overset": "Text too long for its box",
  "missing-glyphs": "Characters the font cannot draw",
  "empty-required": "Required field empty",
  "qr-capacity": "QR code too long or too dense",
  "barcode": "Barcode value that cannot be encoded",
  "not-a-url": "Not a web address",
  "image-failed": "Photo does not load",
  "image-low-dpi": "Photo too small to print sharp",
};

/** Rows of problems the page lists. */
const SHOWN = 20;

/** Counts the checks asked for: only the latest answer is shown. */
let asked = 0;
/** The object URL of the last problem CSV, released when replaced. */
let download = "";

/** Wires the button; the step shows once a design and a list are chosen. */
export function wireListCheck() {
  $("#check-list").addEventListener("click", checkList);
}

/** Shows or hides the step, and forgets an answer about another list. */
export function refreshListCheck() {
  const ready = Boolean(state.selected && state.file && state.csv);
  $("#list-check-wrap").hidden = !ready;
  const key = listKey();
  if (state.listCheck && state.listCheck.key !== key) {
    state.listCheck = null;
    $("#list-check-status").hidden = true;
    $("#list-check-table").hidden = true;
  }
}

/** The design, file and sheet an answer is about. */
function listKey() {
  return `${state.selected?.id}|${state.file?.name}|${state.file?.size}|${
    state.sheet ?? ""
  }`;
}

/** Asks the server to check every record, and shows what it found. */
async function checkList() {
  const { selected, file } = state;
  if (!selected || !file) return;
  const ask = ++asked;
  const status = $("#list-check-status");
  const button = $("#check-list", HTMLButtonElement);
  button.disabled = true;
  status.hidden = false;
  status.className = "check";
  status.textContent = "Checking every recipient…";
  $("#list-check-table").hidden = true;
  try {
    const answer = await preflightList(file, selected.id, state.sheet);
    if (ask !== asked) return;
    state.listCheck = { key: listKey(), answer };
    show(answer);
  } catch (error) {
    if (ask !== asked) return;
    status.className = "check missing";
    status.textContent = `The check did not run: ${
      error instanceof Error ? error.message : String(error)
    }`;
  } finally {
    if (ask === asked) button.disabled = false;
  }
}

/** @param {import("./api.js").PreflightAnswer} answer */
function show(answer) {
  const status = $("#list-check-status");
  const n = (/** @type {number} */ x) => x.toLocaleString();
  const seconds = (answer.ms / 1000).toFixed(1);
  if (answer.problems.length === 0) {
    status.className = "check ok";
    status.textContent = `✓ All ${
      n(answer.records)
    } recipients checked in ${seconds} s: nothing to fix.`;
    $("#list-check-table").hidden = true;
    return;
  }
  status.className = "check missing";
  status.textContent = `${n(answer.recordsWithProblems)} of ${
    n(answer.records)
  } recipients need a look (checked in ${seconds} s).`;
  /** @type {Map<string, { records: Set<number>, fields: Set<string> }>} */
  const kinds = new Map();
  for (const p of answer.problems) {
    const k = kinds.get(p.kind) ?? { records: new Set(), fields: new Set() };
    k.records.add(p.record);
    k.fields.add(p.field);
    kinds.set(p.kind, k);
  }
  $("#list-check-kinds tbody").replaceChildren(
    ...[...kinds].map(([kind, k]) =>
      h(
        "tr",
        { "data-kind": kind },
        h("td", {}, KIND_WORDS[/** @type {keyof KIND_WORDS} */ (kind)] ?? kind),
        h("td", {}, n(k.records.size)),
        h("td", {}, [...k.fields].join(", ")),
      )
    ),
  );
  $("#list-check-rows tbody").replaceChildren(
    ...answer.problems.slice(0, SHOWN).map((p) =>
      h(
        "tr",
        {},
        h("td", {}, `${p.record} (line ${p.line})`),
        h("td", {}, p.field),
        h("td", {}, p.message),
      )
    ),
  );
  if (download) URL.revokeObjectURL(download);
  download = URL.createObjectURL(
    new Blob([problemCsv(answer.problems)], { type: "text/csv" }),
  );
  const link = $("#list-check-download", HTMLAnchorElement);
  link.href = download;
  link.hidden = false;
  $("#list-check-table").hidden = false;
}
