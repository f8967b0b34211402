// @ts-check
// The batch on show at `/` (step 4): followed live through Server-Sent Events
// (or by polling when the stream closes), its progress bar and words, the
// download links, the latest finished pieces, and Cancel and Retry.
import { isTerminal } from "../common/rules.js";
import { batchUrl, changeBatch, getBatch, loadImage } from "./api.js";
import { state } from "./app_state.js";
import { refreshBatches } from "./batch_list.js";
import { $, h, setQuery, showError } from "./dom.js";
import { formatDuration, STATE_WORDS, timeAgo } from "./format.js";

/** @typedef {import("./api.js").BatchStatus} BatchStatus */
/** @typedef {import("./api.js").PieceStatus} PieceStatus */
/**
 * The events of GET /api/batches/:id/events and what each carries.
 * @typedef {import("../server/_events.ts").BatchEvents} BatchEvents
 */

const MAX_THUMBS = 24;
/** @type {Record<import("../render/renderer.ts").RendererMode, string>} */
const MODE_WORDS = { persistent: "fast renderer", cluster: "safe renderer" };
/** @type {Record<import("../render/renderer.ts").PdfMode, string>} */
const PDF_WORDS = { vector: "vector PDF", raster: "raster PDF" };

/** How the batch on show is followed. */
const view = {
  /** @type {string | undefined} */ batchState: undefined,
  /** @type {EventSource | null} */ source: null,
  /** @type {ReturnType<typeof setTimeout> | undefined} */ pollTimer: undefined,
  /** @type {number[]} */ pendingThumbs: [],
  /** @type {ReturnType<typeof setTimeout> | undefined} */ thumbTimer:
    undefined,
};
const enc = encodeURIComponent;

/** @param {string} id a batch to show, followed live while it runs */
export async function openBatch(id) {
  stopFollowing();
  state.batch = id;
  view.batchState = undefined;
  $("#thumbnails").replaceChildren();
  const status = await getBatch(id);
  showProgress(status);
  showPieces(status.pieces);
  setQuery("batch", id);
  $("#progress").scrollIntoView({ block: "start", behavior: "smooth" });
  if (!isTerminal(status.state)) follow(id);
}

/** @param {string} id the batch to follow through Server-Sent Events */
function follow(id) {
  const source = view.source = new EventSource(batchUrl(id, "events"));
  /**
   * @template {keyof BatchEvents} K
   * @param {K} type
   * @param {(data: BatchEvents[K]) => void} handle
   */
  const on = (type, handle) =>
    source.addEventListener(type, (e) => {
      // The stream carries the server's JSON: its type is BatchEvents[K].
      if (view.source === source) handle(JSON.parse(e.data));
    });
  on("progress", showProgress);
  on("piece", (piece) => piece.status === "ok" && queueThumb(piece.index));
  on("end", (status) => {
    stopFollowing();
    finish(id, status);
  });
  source.addEventListener("error", (e) => {
    if (view.source !== source) return;
    if (e instanceof MessageEvent) { // the server's own "error" event
      /** @type {BatchEvents["error"]} */
      const { message } = JSON.parse(e.data);
      showError(new Error(message), "Live progress stopped.");
    } else if (source.readyState !== EventSource.CLOSED) return; // reconnecting
    stopFollowing(); // closed for good: poll instead
    poll(id);
  });
}

/** @param {string} id a batch to follow by polling once a second */
function poll(id) {
  view.pollTimer = setTimeout(async () => {
    try {
      const status = await getBatch(id);
      if (state.batch !== id) return;
      showProgress(status);
      showPieces(status.pieces);
      if (isTerminal(status.state)) finish(id, status);
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
 * @param {BatchStatus} status its final status
 */
async function finish(id, status) {
  showProgress(status);
  try {
    const full = await getBatch(id);
    if (state.batch === id) showPieces(full.pieces);
  } catch (error) {
    showError(error, "Could not load the finished batch.");
  }
}

/** @param {BatchStatus} s a batch status: shows it */
function showProgress(s) {
  if (s.id !== state.batch) return;
  const { total, done, failed } = s;
  const ended = isTerminal(s.state);
  const pct = s.state === "done"
    ? 100
    : Math.min(100, Math.floor(total ? (done / total) * 100 : 0));
  const section = $("#progress");
  section.hidden = false;
  Object.assign(section.dataset, {
    state: s.state,
    batchId: s.id,
    percent: pct,
  });
  $("#progress-fill").style.width = `${pct}%`;
  $("#progress-bar").setAttribute("aria-valuenow", String(pct));
  $("#progress-percent").textContent = `${pct}%`;
  const title = $("#progress-title").lastChild;
  if (title) title.textContent = ` ${s.template.name}`;
  $("#progress-state").textContent = STATE_WORDS[s.state];
  $("#progress-state").className = `state state-${s.state}`;
  $("#progress-text").textContent = progressLine(s);
  $("#progress-failures").hidden = !failed;
  $("#progress-failures").textContent = `${failed} recipient${
    failed === 1 ? "" : "s"
  } could not be printed. The manifest says why.`;
  $("#progress-error").hidden = !s.error;
  $("#progress-error").textContent = `The batch stopped: ${s.error}`;
  $("#cancel").hidden = ended;
  $("#retry").hidden = !(ended && failed);
  showDownloads(s, ended);
  const row = document.querySelector(
    `.batch-item[data-id="${CSS.escape(s.id)}"] .batch-meta`,
  );
  if (row) row.textContent = `${done} of ${total} · ${timeAgo(s.createdAt)}`;
  if (s.state !== view.batchState) refreshBatches();
  view.batchState = s.state;
}

/** @param {BatchStatus} s a batch status @returns {string} "37 of 150 · 48 pieces/s · …" */
function progressLine(s) {
  const { total, done, failed, rate } = s;
  const renderer = s.mode && MODE_WORDS[s.mode];
  // Batches stored before vector mode have no pdfMode: they ran as vector.
  const pdf = PDF_WORDS[s.options.pdfMode ?? "vector"];
  const mode = renderer ? `${renderer}, ${pdf}` : pdf;
  const took = s.startedAt && s.finishedAt
    ? ` in ${
      formatDuration(
        new Date(s.finishedAt).getTime() - new Date(s.startedAt).getTime(),
      )
    }`
    : "";
  /** @type {Record<import("../common/rules.js").BatchState, (string | undefined)[]>} */
  const lines = {
    queued: [`Waiting to start · ${total} pieces`],
    running: rate > 0
      ? [
        `${done} of ${total}`,
        `${rate >= 10 ? Math.round(rate) : rate.toFixed(1)} pieces/s`,
        `about ${formatDuration(s.eta)} left`,
        mode,
      ]
      : [`${done} of ${total}`, "warming up", mode],
    done: [
      `${done - failed - (s.skipped ?? 0)} of ${total} pieces ready${took}`,
      s.overset ? `${s.overset} with overset text` : undefined,
      mode,
    ],
    failed: [`Stopped after ${done} of ${total} pieces`],
    cancelled: [`Cancelled after ${done} of ${total} pieces`],
  };
  return lines[s.state].filter(Boolean).join(" · ");
}

/**
 * Points the download links at the batch's files.
 * @param {BatchStatus} s a batch status
 * @param {boolean} ended whether the batch is over
 */
function showDownloads(s, ended) {
  const name = `${s.template.name.replace(/[^\w-]+/g, "-")}-${s.id}`;
  /** @type {[string, string, string][]} */
  const links = [
    ["#download-pdf", "output.pdf", `${name}.pdf`],
    ["#download-zip", "output.zip", `${name}.zip`],
    ["#download-manifest", "manifest.json", `${name}-manifest.json`],
    ["#download-imposed", "imposed.pdf", `${name}-sheets.pdf`],
    ["#download-proof", "proof.pdf", `${name}-proof.pdf`],
  ];
  for (const [selector, file, as] of links) {
    const link = $(selector, HTMLAnchorElement);
    link.href = batchUrl(s.id, file);
    link.download = as;
  }
  $("#downloads").hidden = !ended;
  $("#download-zip").hidden = s.state !== "done";
  $("#download-pdf").hidden = s.state !== "done" ||
    !(s.merged ?? s.options.merge);
  $("#download-imposed").hidden = s.state !== "done" ||
    !s.options.press?.impose;
  $("#download-proof").hidden = s.state !== "done" || !s.options.proof;
}

/** @param {number} index a finished piece: its thumbnail shows soon */
function queueThumb(index) {
  view.pendingThumbs.push(index);
  view.thumbTimer ??= setTimeout(() => {
    view.thumbTimer = undefined;
    // At high rates only the newest few are worth fetching.
    showPieces(
      view.pendingThumbs.splice(0).slice(-6).map((index) => ({
        index,
        status: "ok",
      })),
    );
  }, 400);
}

/** @param {Pick<PieceStatus, "index" | "status">[]} pieces adds thumbnails */
function showPieces(pieces) {
  const id = state.batch;
  if (!id) return;
  const grid = $("#thumbnails");
  const ok = pieces.filter((p) => p.status === "ok").map((p) => p.index);
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
      c instanceof HTMLElement && Number(c.dataset.index) < index
    );
    grid.insertBefore(item, next ?? null);
    loadImage(img, `/api/batches/${enc(id)}/pieces/${index}.png`);
  }
  while (grid.children.length > MAX_THUMBS) grid.lastElementChild?.remove();
}

/** @param {"cancel" | "retry"} action cancels or retries the open batch */
export async function batchAction(action) {
  const id = state.batch;
  if (!id) return;
  try {
    showProgress(await changeBatch(id, action));
    if (action === "retry") follow(id);
  } catch (error) {
    showError(error, `Could not ${action} the batch.`);
  }
}
