// The "Recent batches" list of the page at `/`: the latest batches with their
// state and counts; choosing one shows it in the batch view.
import { api } from "./api.js";
import { $, clone, showError } from "./dom.js";
import { STATE_WORDS, timeAgo } from "./format.js";

/** Loads the recent batches list (GET /api/batches). */
export async function refreshBatches() {
  let list;
  try {
    list = await api("/api/batches");
  } catch (error) {
    return showError(error, "Could not load recent batches.");
  }
  if (!Array.isArray(list)) list = list?.batches ?? [];
  $("#recent-empty").hidden = list.length > 0;
  $("#batch-list").replaceChildren(
    ...list.slice(0, 12).map((b) => {
      const item = clone("batch-template");
      const button = item.firstElementChild;
      Object.assign(button.dataset, { id: b.id, state: b.state });
      const stateLabel = button.querySelector(".state");
      stateLabel.textContent = STATE_WORDS[b.state] ?? b.state;
      stateLabel.classList.add(`state-${b.state}`);
      button.querySelector(".batch-name").textContent = b.template?.name ?? "";
      button.querySelector(".batch-meta").textContent =
        `${b.done} of ${b.total}` +
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
    const button = e.target.closest(".batch-item");
    if (button) open(button.dataset.id);
  });
}
