// @ts-check
// The "Recent batches" list of the page at `/`: the latest batches with their
// state and counts; choosing one shows it in the batch view.
import { listBatches } from "./api.js";
import { $, clone, showError, within } from "./dom.js";
import { STATE_WORDS, timeAgo } from "./format.js";

/** Loads the recent batches list (GET /api/batches). */
export async function refreshBatches() {
  let list;
  try {
    list = await listBatches();
  } catch (error) {
    return showError(error, "Could not load recent batches.");
  }
  $("#recent-empty").hidden = list.length > 0;
  $("#batch-list").replaceChildren(
    ...list.slice(0, 12).map((b) => {
      const item = clone("batch-template");
      const button = within(item, ".batch-item");
      Object.assign(button.dataset, { id: b.id, state: b.state });
      const stateLabel = within(button, ".state");
      stateLabel.textContent = STATE_WORDS[b.state];
      stateLabel.classList.add(`state-${b.state}`);
      within(button, ".batch-name").textContent = b.template.name;
      within(button, ".batch-meta").textContent = `${b.done} of ${b.total}` +
        ` · ${timeAgo(b.createdAt)}`;
      return item;
    }),
  );
}

/**
 * Calls `open` with the id of the batch the user chooses in the list.
 * @param {(id: string) => void} open shows a batch
 */
export function onBatchChosen(open) {
  $("#batch-list").addEventListener("click", (e) => {
    const target = e.target instanceof Element ? e.target : null;
    const button = target?.closest(".batch-item");
    const id = button instanceof HTMLElement && button.dataset.id;
    if (id) open(id);
  });
}
