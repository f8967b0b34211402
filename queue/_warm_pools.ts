/**
 * The pools of pages a queue worker keeps warm: one per batch, shared by
 * the chunks of that batch it runs (at once or one after another), so a
 * chunk does not pay the pool's start. A pool no chunk uses is closed once
 * a chunk of another batch starts, or when its batch's finish job runs.
 *
 * @module
 */
import type { Renderer } from "../render/renderer.ts";

interface Pool {
  renderer: Promise<Renderer>;
  users: number;
}

/** Warm renderers by batch. */
export class WarmPools implements AsyncDisposable {
  #pools = new Map<string, Pool>();
  #onIdle: () => void;

  /** `onIdle` is told when the last pool closes. */
  constructor(onIdle: () => void = () => {}) {
    this.#onIdle = onIdle;
  }

  /**
   * Batch `batch`'s renderer, started with `open()` if it has none; the
   * pools of other batches that no chunk uses are closed first. Give it
   * back with `release()`.
   */
  async acquire(
    batch: string,
    open: () => Promise<Renderer>,
  ): Promise<Renderer> {
    let pool = this.#pools.get(batch);
    if (!pool) {
      // Registered before anything is awaited: a second chunk of the batch
      // starting meanwhile shares this pool, not a second one.
      const closing = this.#closeIdle((other) => other !== batch);
      pool = { renderer: closing.then(open), users: 0 };
      this.#pools.set(batch, pool);
      pool.renderer.catch(() => this.#pools.delete(batch));
    }
    pool.users++;
    try {
      return await pool.renderer;
    } catch (error) {
      pool.users--;
      throw error;
    }
  }

  /** A chunk of `batch` is done with its renderer (which stays warm). */
  release(batch: string): void {
    const pool = this.#pools.get(batch);
    if (pool) pool.users--;
  }

  /** Closes `batch`'s pool if no chunk uses it (its chunks are done). */
  async retire(batch: string): Promise<void> {
    await this.#closeIdle((other) => other === batch);
  }

  async #closeIdle(which: (batch: string) => boolean): Promise<void> {
    for (const [batch, pool] of [...this.#pools]) {
      if (pool.users > 0 || !which(batch)) continue;
      this.#pools.delete(batch);
      await (await pool.renderer.catch(() => undefined))?.close();
    }
    if (this.#pools.size === 0) this.#onIdle();
  }

  /** Closes every pool. Safe to call twice. */
  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    for (const pool of pools) {
      await (await pool.renderer.catch(() => undefined))?.close();
    }
    this.#onIdle();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
