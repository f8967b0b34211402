/**
 * Counters for `/metrics`, in Prometheus' text format.
 *
 * @module
 */

import type { ManifestEntry } from "./manifest.ts";

const BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Queue mode's jobs by state, and the workers connected. */
export interface QueueCounts {
  /** Chunk jobs (records to render) by BullMQ state. */
  chunks: Record<string, number>;
  /** Finish jobs (a batch's merged PDF and manifest) by BullMQ state. */
  finishes: Record<string, number>;
  /** Workers connected to the queue now. */
  workers: number;
}

/** What the worker counts while it renders. */
export class Metrics {
  piecesRendered = 0;
  piecesFailed = 0;
  fallbacks = 0;
  poolPages = 0;
  #buckets = BUCKETS.map(() => 0);
  #count = 0;
  #sum = 0;

  /** Counts a record this process rendered, or tried to. */
  counted(entry: Pick<ManifestEntry, "status" | "ms">): void {
    if (entry.status === "ok") {
      this.piecesRendered++;
      this.observe((entry.ms ?? 0) / 1000);
    } else this.piecesFailed++;
  }

  /** Records one piece's render time in seconds. */
  observe(seconds: number): void {
    this.#count++;
    this.#sum += seconds;
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.#buckets[i]!++;
    });
  }

  /**
   * The exposition text; `batches` gives the count per state, `queue` (in
   * queue mode) the queue's jobs and workers.
   */
  format(batches: Record<string, number>, queue?: QueueCounts): string {
    const lines = [
      "# HELP pressrun_batches Batches in the store by state.",
      "# TYPE pressrun_batches gauge",
      ...Object.entries(batches).map(([state, n]) =>
        `pressrun_batches{state="${state}"} ${n}`
      ),
      "# HELP pressrun_pieces_rendered_total Pieces rendered by this process.",
      "# TYPE pressrun_pieces_rendered_total counter",
      `pressrun_pieces_rendered_total ${this.piecesRendered}`,
      "# HELP pressrun_pieces_failed_total Records that failed in this process.",
      "# TYPE pressrun_pieces_failed_total counter",
      `pressrun_pieces_failed_total ${this.piecesFailed}`,
      "# HELP pressrun_render_seconds Time to render one piece, end to end.",
      "# TYPE pressrun_render_seconds histogram",
      ...BUCKETS.map((le, i) =>
        `pressrun_render_seconds_bucket{le="${le}"} ${this.#buckets[i]}`
      ),
      `pressrun_render_seconds_bucket{le="+Inf"} ${this.#count}`,
      `pressrun_render_seconds_sum ${this.#sum.toFixed(6)}`,
      `pressrun_render_seconds_count ${this.#count}`,
      "# HELP pressrun_pool_pages Render pages of the persistent pool.",
      "# TYPE pressrun_pool_pages gauge",
      `pressrun_pool_pages ${this.poolPages}`,
      "# HELP pressrun_fallbacks_total Batches that fell back to the cluster renderer.",
      "# TYPE pressrun_fallbacks_total counter",
      `pressrun_fallbacks_total ${this.fallbacks}`,
    ];
    if (queue) lines.push(...queueLines(queue));
    return lines.join("\n") + "\n";
  }
}

/** The queue's gauges: depth, chunks and finishes by state, workers seen. */
function queueLines(queue: QueueCounts): string[] {
  return [
    "# HELP pressrun_queue_depth Chunk jobs waiting for a worker.",
    "# TYPE pressrun_queue_depth gauge",
    `pressrun_queue_depth ${
      (queue.chunks.waiting ?? 0) + (queue.chunks.prioritized ?? 0)
    }`,
    "# HELP pressrun_queue_chunks Chunk jobs in the queue by state.",
    "# TYPE pressrun_queue_chunks gauge",
    ...Object.entries(queue.chunks).map(([state, n]) =>
      `pressrun_queue_chunks{state="${state}"} ${n}`
    ),
    "# HELP pressrun_queue_finishes Finish jobs (merge, manifest) by state.",
    "# TYPE pressrun_queue_finishes gauge",
    ...Object.entries(queue.finishes).map(([state, n]) =>
      `pressrun_queue_finishes{state="${state}"} ${n}`
    ),
    "# HELP pressrun_queue_workers Workers connected to the queue.",
    "# TYPE pressrun_queue_workers gauge",
    `pressrun_queue_workers ${queue.workers}`,
  ];
}
