// @ts-check
// Words for what the pages show: page sizes, durations, times and batch states.

/**
 * How a batch's state reads on the page.
 * @type {Record<import("../common/rules.js").BatchState, string>}
 */
export const STATE_WORDS = {
  queued: "Waiting",
  running: "Printing",
  done: "Finished",
  failed: "Stopped",
  cancelled: "Cancelled",
};

/**
 * @param {{ width: number, height: number, unit?: string }} [size] a page size
 * @returns {string} e.g. "6 × 4 in"
 */
export function formatSize(size) {
  if (!size) return "";
  /** @param {number} x */
  const num = (x) => String(Math.round(x * 1000) / 1000);
  return `${num(size.width)} × ${num(size.height)} ${size.unit ?? "px"}`;
}

/** @param {number} ms a duration @returns {string} e.g. "3 s", "2 min 5 s" */
export function formatDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** @param {string | number} when a date @returns {string} e.g. "5 min ago" */
export function timeAgo(when) {
  const ms = Date.now() - new Date(when).getTime();
  if (!Number.isFinite(ms)) return "";
  if (ms < 60_000) return "just now";
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} h ago`;
  return new Date(when).toLocaleDateString();
}
