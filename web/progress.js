// The batch on show at `/` (step 4): followed live through Server-Sent Events
// (or by polling when the stream closes), its progress bar and words, the
// download links, the latest finished pieces, and Cancel and Retry.
import { api, loadImage, tokenQuery } from "./api.js";
import { state } from "./app_state.js";
import { refreshBatches } from "./batch_list.js";
import { $, h, setQuery, showError } from "./dom.js";
import { formatDuration, STATE_WORDS, timeAgo } from "./format.js";

const MAX_THUMBS = 24;
const TERMINAL = new Set(["done", "failed", "cancelled"]);
const MODE_WORDS = { persistent: "fast renderer", cluster: "safe renderer" };

/** How the batch on show is followed. */
const view = {
  /** @type {string | undefined} */ batchState: undefined,
  /** @type {EventSource | null} */ source: null,
  pollTimer: 0,
  /** @type {number[]} */ pendingThumbs: [],
  thumbTimer: 0,
};
const enc = encodeURIComponent;

/** @param {string} id a batch to show, followed live while it runs */
export async function openBatch(id) {
  stopFollowing();
  state.batch = id;
  view.batchState = undefined;
  $("#thumbnails").replaceChildren();
  const status = await api(`/api/batches/${enc(id)}`);
  showProgress(status);
  showPieces(status.pieces);
  setQuery("batch", id);
  $("#progress").scrollIntoView({ block: "start", behavior: "smooth" });
  if (!TERMINAL.has(status.state)) follow(id);
}

/** @param {string} id the batch to follow through Server-Sent Events */
function follow(id) {
  const url = `/api/batches/${enc(id)}/events${tokenQuery()}`;
  const source = view.source = new EventSource(url);
  const on = (type, handle) =>
    source.addEventListener(type, (e) => {
      if (view.source === source) handle(JSON.parse(e.data));
    });
  on("progress", showProgress);
  on("piece", (piece) => isOk(piece.status) && queueThumb(piece.index));
  on("end", (status) => {
    stopFollowing();
    finish(id, status);
  });
  source.addEventListener("error", (e) => {
    if (view.source !== source) return;
    if (e.data) { // the server's own "error" event
      showError(
        new Error(JSON.parse(e.data).message),
        "Live progress stopped.",
      );
    } else if (source.readyState !== 2) return; // reconnecting by itself
    stopFollowing(); // closed for good (EventSource.CLOSED): poll instead
    poll(id);
  });
}

/** @param {string} id a batch to follow by polling once a second */
function poll(id) {
  view.pollTimer = setTimeout(async () => {
    try {
      const status = await api(`/api/batches/${enc(id)}`);
      if (state.batch !== id) return;
      showProgress(status);
      showPieces(status.pieces);
      if (TERMINAL.has(status.state)) finish(id, status);
      else poll(id);
    } catch (error) {
      showError(error, "Lost track of the batch.");
    }
  }, 1000);
}

/** Closes the event stream and stops polling. */
function stopFollowing() {
  view.source?.close();
  view.source = null;
  clearTimeout(view.pollTimer);
}

/**
 * Shows the final status, then fetches every finished piece.
 * @param {string} id the batch
 * @param {any} status its final status
 */
async function finish(id, status) {
  showProgress(status);
  try {
    const full = await api(`/api/batches/${enc(id)}`);
    if (state.batch === id) showPieces(full.pieces);
  } catch (error) {
    showError(error, "Could not load the finished batch.");
  }
}

/** @param {string} status a piece's status @returns {boolean} rendered */
function isOk(status) {
  return status === "ok" || status === "done" || status === "rendered";
}

/** @param {any} s a batch status (pieces optional): shows it */
function showProgress(s) {
  if (s.id && s.id !== state.batch) return;
  const { total = 0, done = 0, failed = 0 } = s;
  const ended = TERMINAL.has(s.state);
  const pct = s.state === "done"
    ? 100
    : Math.min(100, Math.floor(total ? (done / total) * 100 : 0));
  const section = $("#progress");
  section.hidden = false;
  Object.assign(section.dataset, {
    state: s.state,
    batchId: state.batch,
    percent: pct,
  });
  $("#progress-fill").style.width = `${pct}%`;
  $("#progress-bar").setAttribute("aria-valuenow", String(pct));
  $("#progress-percent").textContent = `${pct}%`;
  $("#progress-title").lastChild.textContent = ` ${s.template?.name ?? ""}`;
  $("#progress-state").textContent = STATE_WORDS[s.state] ?? s.state;
  $("#progress-state").className = `state state-${s.state}`;
  $("#progress-text").textContent = progressLine(s);
  $("#progress-failures").hidden = !failed;
  $("#progress-failures").textContent = `${failed} recipient${
    failed === 1 ? "" : "s"
  } could not be printed. The manifest says why.`;
  const error = typeof s.error === "string" ? s.error : s.error?.message;
  $("#progress-error").hidden = !error;
  $("#progress-error").textContent = `The batch stopped: ${error}`;
  $("#cancel").hidden = ended;
  $("#retry").hidden = !(ended && failed);
  showDownloads(s, ended);
  const row = document.querySelector(
    `.batch-item[data-id="${CSS.escape(String(state.batch))}"] .batch-meta`,
  );
  if (row) row.textContent = `${done} of ${total} · ${timeAgo(s.createdAt)}`;
  if (s.state !== view.batchState) refreshBatches();
  view.batchState = s.state;
}

/** @param {any} s a batch status @returns {string} "37 of 150 · 48 pieces/s · …" */
function progressLine(s) {
  const { total = 0, done = 0, failed = 0, rate = 0 } = s;
  const mode = MODE_WORDS[s.mode] ?? s.mode;
  const took = s.startedAt && s.finishedAt
    ? ` in ${formatDuration(new Date(s.finishedAt) - new Date(s.startedAt))}`
    : "";
  const lines = {
    queued: [`Waiting to start · ${total} pieces`],
    running: rate > 0
      ? [
        `${done} of ${total}`,
        `${rate >= 10 ? Math.round(rate) : rate.toFixed(1)} pieces/s`,
        `about ${formatDuration(s.eta ?? 0)} left`,
        mode,
      ]
      : [`${done} of ${total}`, "warming up", mode],
    done: [`${done - failed} of ${total} pieces ready${took}`, mode],
    failed: [`Stopped after ${done} of ${total} pieces`],
    cancelled: [`Cancelled after ${done} of ${total} pieces`],
  };
  return (lines[s.state] ?? [`${done} of ${total}`]).filter(Boolean)
    .join(" · ");
}

/**
 * Points the download links at the batch's files.
 * @param {any} s a batch status
 * @param {boolean} ended whether the batch is over
 */
function showDownloads(s, ended) {
  const id = state.batch;
  const base = `/api/batches/${enc(id)}/`;
  const name = `${
    (s.template?.name ?? "batch").replace(/[^\w-]+/g, "-")
  }-${id}`;
  for (
    const [sel, file, as] of [
      ["#download-pdf", "output.pdf", `${name}.pdf`],
      ["#download-zip", "output.zip", `${name}.zip`],
      ["#download-manifest", "manifest.json", `${name}-manifest.json`],
    ]
  ) Object.assign($(sel), { href: base + file + tokenQuery(), download: as });
  $("#downloads").hidden = !ended;
  $("#download-zip").hidden = s.state !== "done";
  const merged = s.merged ?? s.options?.merge ?? state.merged.get(id);
  $("#download-pdf").hidden = s.state !== "done" || !merged;
  if (s.state === "done" && merged === undefined) { // ask the server
    state.merged.set(id, false);
    api(`${base}output.pdf`, { method: "HEAD", as: "response" }).then(() => {
      state.merged.set(id, true);
      if (state.batch === id) $("#download-pdf").hidden = false;
    }, () => {});
  }
}

/** @param {number} index a finished piece: its thumbnail shows soon */
function queueThumb(index) {
  view.pendingThumbs.push(index);
  view.thumbTimer ||= setTimeout(() => {
    view.thumbTimer = 0;
    // At high rates only the newest few are worth fetching.
    showPieces(
      view.pendingThumbs.splice(0).slice(-6).map((index) => ({
        index,
        status: "ok",
      })),
    );
  }, 400);
}

/** @param {Array<{ index: number, status: string }>} [pieces] adds thumbnails */
function showPieces(pieces = []) {
  const grid = $("#thumbnails");
  const ok = pieces.filter((p) => isOk(p.status)).map((p) => p.index);
  for (const index of ok.sort((a, b) => a - b).slice(-MAX_THUMBS)) {
    if (grid.querySelector(`[data-index="${index}"]`)) continue;
    const img = h("img", { class: "piece-thumb", alt: `Piece ${index}` });
    const item = h(
      "li",
      { class: "piece", "data-index": index },
      img,
      `#${index}`,
    );
    // Newest first; existing items stay put (moving one restarts its fade-in).
    const next = [...grid.children].find((c) =>
      Number(c.dataset.index) < index
    );
    grid.insertBefore(item, next ?? null);
    loadImage(img, `/api/batches/${enc(state.batch)}/pieces/${index}.png`);
  }
  while (grid.children.length > MAX_THUMBS) grid.lastElementChild.remove();
}

/** @param {"cancel" | "retry"} action cancels or retries the open batch */
export async function batchAction(action) {
  const id = state.batch;
  try {
    const url = `/api/batches/${enc(id)}/${action}`;
    const status = await api(url, { method: "POST" });
    if (status) showProgress(status);
    if (action === "retry") follow(id);
  } catch (error) {
    showError(error, `Could not ${action} the batch.`);
  }
}
