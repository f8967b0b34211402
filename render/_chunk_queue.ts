/**
 * Vector mode's queue: the records asked for wait here, oldest first, until a
 * free tab takes up to `chunkSize` of them at once. Dispatch runs on a
 * microtask after each record queued, so records asked for in one task go out
 * in one chunk with no timer.
 *
 * @module
 */
import type { PiecePayload } from "../template/payload.ts";
import type { ChunkOutcome, VectorPiece } from "./render_page.ts";

/**
 * Records per print in vector mode, measured on the postcard (2 cores):
 * printToPDF took 11.5 ms a piece in chunks of 25, 4–8 ms in chunks of 50,
 * 3.6 ms in chunks of 100 and no less in chunks of 200.
 */
export const DEFAULT_CHUNK_SIZE = 100;
const MAX_CHUNK_SIZE = 500;

/** The chunk size asked for, whole and within 1–500. */
export function clampChunkSize(size = DEFAULT_CHUNK_SIZE): number {
  if (!Number.isFinite(size)) return DEFAULT_CHUNK_SIZE;
  return Math.min(MAX_CHUNK_SIZE, Math.max(1, Math.round(size)));
}

/** A record waiting in the vector queue, then in its chunk. */
export interface Pending {
  payload: PiecePayload;
  /** Settles when a tab takes the record. */
  taken: PromiseWithResolvers<void>;
  result: PromiseWithResolvers<VectorPiece>;
}

/** Records waiting for a tab, oldest first. */
export class ChunkQueue {
  #pending: Pending[] = [];
  #dispatchQueued = false;
  #dispatch: () => void;

  /** `dispatch` hands queued records to idle tabs ({@linkcode take}). */
  constructor(dispatch: () => void) {
    this.#dispatch = dispatch;
  }

  /** Records waiting. */
  get length(): number {
    return this.#pending.length;
  }

  /** Queues the record and dispatches soon. */
  add(payload: PiecePayload): Pending {
    const pending: Pending = {
      payload,
      taken: Promise.withResolvers<void>(),
      result: Promise.withResolvers<VectorPiece>(),
    };
    // Rejected by close() or an empty pool while still queued: the rejection
    // is read through `taken`.
    pending.result.promise.catch(() => {});
    pending.taken.promise.catch(() => {});
    this.#pending.push(pending);
    this.#dispatchSoon();
    return pending;
  }

  /** The oldest `size` records, each told it was taken. */
  take(size: number): Pending[] {
    const chunk = this.#pending.splice(0, size);
    for (const pending of chunk) pending.taken.resolve();
    return chunk;
  }

  /** Takes a record out of the queue; false once a tab took it. */
  remove(pending: Pending): boolean {
    const i = this.#pending.indexOf(pending);
    if (i < 0) return false;
    this.#pending.splice(i, 1);
    return true;
  }

  /** Fails every record still waiting, each with an error of its own. */
  rejectAll(error: () => Error): void {
    for (const pending of this.#pending.splice(0)) {
      const reason = error();
      pending.result.reject(reason);
      pending.taken.reject(reason);
    }
  }

  /**
   * Dispatches once the current task's synchronous work is done, so records
   * asked for together go out in one chunk (a microtask, not a timer).
   */
  #dispatchSoon(): void {
    if (this.#dispatchQueued) return;
    this.#dispatchQueued = true;
    queueMicrotask(() => {
      this.#dispatchQueued = false;
      this.#dispatch();
    });
  }
}

/** Settles a queued record with what its chunk made of it. */
export function settle(pending: Pending, outcome: ChunkOutcome): void {
  if ("piece" in outcome) pending.result.resolve(outcome.piece);
  else pending.result.reject(outcome.error);
}
