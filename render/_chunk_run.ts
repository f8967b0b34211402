/**
 * Running one vector chunk on a tab of the pool. A record that fails in the
 * page fails alone; when the print or the tab fails, the tab is replaced and
 * each record of the chunk is retried once, alone, on a fresh tab.
 *
 * @module
 */
import { type Pending, settle } from "./_chunk_queue.ts";
import { freshPageError, twoPagesError } from "./_pool_errors.ts";
import type { ChunkOutcome, RenderPage } from "./render_page.ts";

/** What a chunk needs of the pool that runs it. */
export interface ChunkPool {
  /** Deadline of one print, ms. */
  readonly renderTimeoutMs: number;
  /** Opens a fresh tab (not yet free for others). */
  openPage(): Promise<RenderPage>;
  /** Tells the pool's listener that a tab failed, then closes the tab. */
  discard(page: RenderPage, error: unknown): Promise<void>;
  /** The tab is free again after `records` more records. */
  release(page: RenderPage, records: number): void;
  /** Fails the callers still waiting when no tab is left. */
  failWaitersIfEmpty(): void;
  /** Opens a tab in place of one closed, in the background. */
  replaceInBackground(): void;
}

/** Prints `chunk` on `page` and settles each record with its outcome. */
export async function runChunk(
  pool: ChunkPool,
  page: RenderPage,
  chunk: Pending[],
): Promise<void> {
  let outcomes: ChunkOutcome[];
  try {
    outcomes = await page.renderChunk(
      chunk.map((p) => p.payload),
      pool.renderTimeoutMs,
    );
  } catch (error) {
    await pool.discard(page, error);
    await _retrySingly(pool, chunk);
    return;
  }
  pool.release(page, chunk.length);
  chunk.forEach((pending, i) => settle(pending, outcomes[i]!));
}

/**
 * After a print or a tab failed: each record of the chunk once more, alone,
 * on a fresh tab (another one after a tab dies); the last one joins the pool.
 */
async function _retrySingly(pool: ChunkPool, chunk: Pending[]): Promise<void> {
  let fresh: RenderPage | undefined;
  for (const [i, pending] of chunk.entries()) {
    try {
      fresh ??= await pool.openPage();
    } catch (error) {
      const broken = freshPageError(error);
      for (const rest of chunk.slice(i)) rest.result.reject(broken);
      pool.failWaitersIfEmpty();
      return;
    }
    try {
      const [outcome] = await fresh.renderChunk(
        [pending.payload],
        pool.renderTimeoutMs,
      );
      settle(pending, outcome!);
    } catch (error) {
      await pool.discard(fresh, error);
      fresh = undefined;
      pending.result.reject(twoPagesError(pending.payload.index, error));
    }
  }
  if (fresh) pool.release(fresh, 0);
  else pool.replaceInBackground();
}
