/**
 * The life of a batch: which state changes are allowed, and what each one
 * writes. Pure functions from a batch's status to the fields that change;
 * `JobStore`'s `cancel()`, `retry()`, `finish()`, `requeue()`,
 * `heartbeat()` and `progress()` apply them atomically.
 *
 * ```
 * queued ──claim──► running ──finish──► done | failed | cancelled
 *   ▲  │               │  └──requeue (worker shut down)──► queued
 *   │  └──cancel──► cancelled        (cancel: cancelRequested, the worker stops)
 *   └──retry── done with failed records | failed | cancelled
 * ```
 *
 * @module
 */
import { ConflictError } from "../common/errors.ts";
import { isTerminal } from "../common/rules.js";
import type { RendererMode } from "../render/renderer.ts";
import type { BatchStatus } from "./store.ts";

/** How a run of a batch ended, for `JobStore.finish()`. */
export type BatchEnd =
  | {
    state: "done";
    /** Records of the batch. */
    total: number;
    /** Records that failed (rendered with `onError: "skip"`). */
    failed: number;
    /** Records skipped for an overset text, and those with one. */
    skipped?: number;
    overset?: number;
    mode: RendererMode;
    /** Whether merged.pdf was written. */
    merged: boolean;
  }
  | {
    state: "failed";
    /** Why, in a sentence for the user. */
    error: string;
    /** Records that failed, when known. @default the count so far */
    failed?: number;
  }
  | { state: "cancelled" };

/** A batch's progress, for `JobStore.progress()`. */
export interface BatchProgress {
  done: number;
  total: number;
  failed: number;
  /** Records skipped for an overset text, and those with one. */
  skipped?: number;
  overset?: number;
  mode: RendererMode;
  /** Pieces per second. */
  rate: number;
  /** Estimated ms to go. */
  etaMs: number;
}

/** The change of a status; what `JobStore.updateBatch()` takes. */
export type StatusChange = (s: BatchStatus) => Partial<BatchStatus>;

/**
 * Cancelling: a queued batch is cancelled at once; a running one is asked to
 * stop (its worker sees `cancelRequested`). A finished batch cannot be.
 * @throws {ConflictError} If the batch is done, failed or cancelled.
 */
export function cancelling(now: Date): StatusChange {
  return (s) => {
    if (isTerminal(s.state)) {
      throw new ConflictError(`Batch ${s.id} is already ${s.state}`);
    }
    return s.state === "queued"
      ? { state: "cancelled", finishedAt: now.toISOString() }
      : { cancelRequested: true };
  };
}

/**
 * Retrying: a finished batch with something left to render goes back to the
 * queue; its pieces already done are kept.
 * @throws {ConflictError} If the batch is still queued or running, or done
 * with no failed record.
 */
export function retrying(s: BatchStatus): Partial<BatchStatus> {
  if (!isTerminal(s.state)) {
    throw new ConflictError(`Batch ${s.id} is still ${s.state}`);
  }
  if (s.state === "done" && s.failed === 0) {
    throw new ConflictError(`Batch ${s.id} has no failed records`);
  }
  return {
    state: "queued",
    failed: 0,
    skipped: undefined,
    overset: undefined,
    error: undefined,
    finishedAt: undefined,
    cancelRequested: false,
    // Queue mode: the next run is a new flow; jobs of this one stop.
    flow: undefined,
    run: (s.run ?? 1) + 1,
  };
}

/** Finishing a run: done, failed or cancelled, stamped with `now`. */
export function finishing(end: BatchEnd, now: Date): StatusChange {
  const finishedAt = now.toISOString();
  return (s) => {
    switch (end.state) {
      case "done":
        return {
          state: "done",
          done: end.total,
          failed: end.failed,
          skipped: end.skipped,
          overset: end.overset,
          mode: end.mode,
          eta: 0,
          merged: end.merged,
          finishedAt,
          error: end.failed > 0 ? `${end.failed} records failed` : undefined,
        };
      case "failed":
        return {
          state: "failed",
          failed: end.failed ?? s.failed,
          error: end.error,
          finishedAt,
        };
      case "cancelled":
        return { state: "cancelled", finishedAt };
    }
  };
}

/**
 * Back to the queue after its worker stopped for a shutdown: the pieces done
 * are stored, and the next worker resumes from them.
 */
export function requeueing(): Partial<BatchStatus> {
  return { state: "queued", worker: undefined };
}

/** The worker's sign of life, at `now`. */
export function beating(now: number): StatusChange {
  return () => ({ heartbeatAt: now });
}

/** Progress of a running batch, rounded for display; also a heartbeat. */
export function progressing(p: BatchProgress, now: number): StatusChange {
  return () => ({
    done: p.done,
    total: p.total,
    failed: p.failed,
    skipped: p.skipped,
    overset: p.overset,
    mode: p.mode,
    rate: Math.round(p.rate * 10) / 10,
    eta: Math.round(p.etaMs),
    heartbeatAt: now,
  });
}
