/**
 * The persistent renderer: a pool of warm tabs, each with Fabric and the
 * template loaded once. Work goes to whichever tab is idle; a tab that fails is
 * replaced and its record retried once on the fresh tab; tabs are recycled
 * after a number of renders to bound memory.
 *
 * In vector mode the pool keeps a queue of the records asked for; a tab that
 * becomes free takes up to `chunkSize` of them at once and prints them as one
 * document, so chunks follow the load with no timer. A record that fails in
 * the page fails alone; when the print or the tab fails, the tab is replaced
 * and each record of the chunk is retried once, alone, on a fresh tab
 * (the queue is `_chunk_queue.ts`, a chunk's run and retries `_chunk_run.ts`).
 *
 * @module
 */
import { deadline, pooledMap } from "../common/async.ts";
import { PressrunError } from "../common/errors.ts";
import type { PageSpec } from "../template/page_spec.ts";
import type { PiecePayload } from "../template/payload.ts";
import { ChunkQueue, clampChunkSize } from "./_chunk_queue.ts";
import { type ChunkPool, runChunk } from "./_chunk_run.ts";
import {
  freshPageError,
  PoolBrokenError,
  PoolTimeoutError,
  twoPagesError,
} from "./_pool_errors.ts";
import type { Browser } from "./browser.ts";
import {
  type PageOptions,
  type RenderedPiece,
  RenderPage,
  type VectorPiece,
} from "./render_page.ts";
import type { PdfMode, Renderer } from "./renderer.ts";
import type { LayoutRecord } from "./page_api.ts";
import { processTreeMemory } from "./process_memory.ts";

export { clampChunkSize, DEFAULT_CHUNK_SIZE } from "./_chunk_queue.ts";
export { PoolBrokenError, PoolTimeoutError } from "./_pool_errors.ts";

const MEMORY_CHECK_EVERY = 50;
/** Records one tab lays out per `evaluate` in {@linkcode PersistentRenderer.layout}. */
export const LAYOUT_BATCH = 250;

/** Options for {@linkcode PersistentRenderer.start}. */
export interface PersistentOptions {
  /** Tabs in the pool. @default navigator.hardwareConcurrency */
  pages?: number;
  /** Longest wait for a free tab, ms. @default 30000 */
  acquireTimeoutMs?: number;
  /** Longest time to open the pool, ms. @default 30000 */
  startTimeoutMs?: number;
  /** Deadline of one piece, ms; past it the tab is destroyed. @default 30000 */
  renderTimeoutMs?: number;
  /**
   * When the whole Chromium process tree passes this many MiB (PSS), every
   * tab is recycled. Checked every 50 pieces. @default 2048
   */
  maxBrowserMemoryMB?: number;
  /**
   * A tab is replaced after this many records (bounds Chromium memory).
   * @default 100 in raster mode, 10 × chunkSize in vector mode
   */
  recycleAfter?: number;
  /** Images per piece (raster) or one print per chunk (vector). @default "raster" */
  pdfMode?: PdfMode;
  /**
   * Vector mode: most records one tab prints at once, 1–500.
   * @default DEFAULT_CHUNK_SIZE
   */
  chunkSize?: number;
  encode?: PageOptions;
  /** Told of every tab that failed (before it is replaced). */
  onPageFailure?: (error: unknown) => void;
  /** Told when Chromium passed its memory limit (PSS bytes) and tabs recycle. */
  onMemoryLimit?: (pss: number) => void;
}

/** A caller waiting for a free tab. */
type Waiter = PromiseWithResolvers<RenderPage>;

/** A pool of warm render tabs. */
export class PersistentRenderer implements Renderer {
  readonly mode = "persistent" as const;
  #browser: Browser;
  #spec: PageSpec;
  #options: Required<
    Omit<PersistentOptions, "onPageFailure" | "onMemoryLimit">
  >;
  /** Vector mode: records waiting for a tab, oldest first. */
  #queue = new ChunkQueue(() => this.#dispatch());
  /** What a vector chunk needs of the pool. */
  #chunkPool: ChunkPool;
  #sinceMemoryCheck = 0;
  #onPageFailure: (error: unknown) => void;
  #onMemory: (pss: number) => void;
  #idle: RenderPage[] = [];
  #all = new Set<RenderPage>();
  #waiters: Waiter[] = [];
  #opening = 0;
  #closed = false;
  /** Tabs being opened, so close() can wait for them. */
  #openings = new Set<Promise<RenderPage>>();
  /** Pages still to recycle because Chromium passed its memory limit. */
  #recycleNext = 0;

  private constructor(
    browser: Browser,
    spec: PageSpec,
    options: PersistentOptions,
  ) {
    this.#browser = browser;
    this.#spec = spec;
    const pdfMode = options.pdfMode ?? "raster";
    const chunkSize = clampChunkSize(options.chunkSize);
    this.#options = {
      pdfMode,
      chunkSize,
      pages: options.pages ?? navigator.hardwareConcurrency,
      acquireTimeoutMs: options.acquireTimeoutMs ?? 30_000,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
      recycleAfter: options.recycleAfter ??
        (pdfMode === "vector" ? 10 * chunkSize : 100),
      renderTimeoutMs: options.renderTimeoutMs ?? 30_000,
      maxBrowserMemoryMB: options.maxBrowserMemoryMB ?? 2048,
      encode: options.encode ?? {},
    };
    this.#onPageFailure = options.onPageFailure ?? (() => {});
    this.#onMemory = options.onMemoryLimit ?? (() => {});
    this.#chunkPool = {
      renderTimeoutMs: this.#options.renderTimeoutMs,
      openPage: () => this.#openPage(),
      discard: (page, error) => this.#discard(page, error),
      release: (page, records) => this.#release(page, records),
      failWaitersIfEmpty: () => this.#failWaitersIfEmpty(),
      replaceInBackground: () => this.#replaceInBackground(),
    };
  }

  /** Opens every tab of the pool; rejects if any cannot start in time. */
  static async start(
    browser: Browser,
    spec: PageSpec,
    options: PersistentOptions = {},
  ): Promise<PersistentRenderer> {
    const pool = new PersistentRenderer(browser, spec, options);
    const { pages, startTimeoutMs } = pool.#options;
    if (!Number.isInteger(pages) || pages < 1) {
      throw new RangeError(`pages must be a whole number ≥ 1, got ${pages}`);
    }
    const opened = Promise.all(
      Array.from(
        { length: pages },
        () => pool.#openPage().then((page) => pool.#release(page)),
      ),
    );
    try {
      await deadline(opened, startTimeoutMs, {
        error: () =>
          new PoolTimeoutError(
            `The page pool did not start within ${startTimeoutMs} ms`,
          ),
      });
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** The live tabs, for diagnostics and fault-injection tests. */
  get pages(): RenderPage[] {
    return [...this.#all];
  }

  /** Images per piece, or one print per chunk. */
  get pdfMode(): PdfMode {
    return this.#options.pdfMode;
  }

  render(
    payload: PiecePayload,
    signal?: AbortSignal,
  ): Promise<RenderedPiece> {
    return this.#options.pdfMode === "vector"
      ? this.#renderVector(payload, signal)
      : this.#renderRaster(payload, signal);
  }

  async #renderRaster(
    payload: PiecePayload,
    signal?: AbortSignal,
  ): Promise<RenderedPiece> {
    signal?.throwIfAborted();
    const page = await this.#acquire(signal);
    try {
      const piece = await page.render(payload, this.#options.renderTimeoutMs);
      this.#release(page);
      return piece;
    } catch (error) {
      await this.#discard(page, error);
    }
    // Retry once on a fresh tab, which then joins the pool.
    let fresh: RenderPage;
    try {
      fresh = await this.#openPage();
    } catch (error) {
      this.#failWaitersIfEmpty();
      throw freshPageError(error);
    }
    try {
      const piece = await fresh.render(
        payload,
        this.#options.renderTimeoutMs,
      );
      this.#release(fresh);
      return piece;
    } catch (error) {
      await this.#discard(fresh, error);
      this.#replaceInBackground();
      throw twoPagesError(payload.index, error);
    }
  }

  /**
   * Queues the record; a free tab takes it with up to `chunkSize - 1` others.
   * Waiting for a tab is bounded by `acquireTimeoutMs` and `signal`; once
   * taken, the record's chunk runs to its end (or its deadline).
   */
  async #renderVector(
    payload: PiecePayload,
    signal?: AbortSignal,
  ): Promise<VectorPiece> {
    signal?.throwIfAborted();
    this.#checkOpen();
    const pending = this.#queue.add(payload);
    try {
      await this.#waitForTab(pending.taken.promise, signal);
    } catch (error) {
      if (!this.#queue.remove(pending)) return await pending.result.promise;
      throw error;
    }
    return await pending.result.promise;
  }

  /**
   * Lays records out without drawing them, for preflight: each applied as
   * `render()` would (the same values, fonts and copyfit), its fitted and
   * overset texts reported; one result per payload, in order. The records
   * go to the pool's tabs {@linkcode LAYOUT_BATCH} at a time, one
   * `evaluate` each, every tab busy at once (in either PDF mode; vector
   * chunks wait for a tab as usual). A tab that fails is replaced and its
   * batch retried once on a fresh tab.
   */
  async layout(
    payloads: readonly PiecePayload[],
    signal?: AbortSignal,
  ): Promise<LayoutRecord[]> {
    signal?.throwIfAborted();
    const batches: PiecePayload[][] = [];
    for (let i = 0; i < payloads.length; i += LAYOUT_BATCH) {
      batches.push(payloads.slice(i, i + LAYOUT_BATCH));
    }
    const out: LayoutRecord[] = [];
    const laidOut = pooledMap(
      this.#options.pages,
      batches,
      (batch) => this.#layoutBatch(batch, signal),
    );
    for await (const records of laidOut) out.push(...records);
    return out;
  }

  async #layoutBatch(
    batch: PiecePayload[],
    signal?: AbortSignal,
  ): Promise<LayoutRecord[]> {
    signal?.throwIfAborted();
    const { renderTimeoutMs } = this.#options;
    const page = await this.#acquire(signal);
    try {
      const records = await page.layout(batch, renderTimeoutMs);
      this.#release(page, 0);
      return records;
    } catch (error) {
      await this.#discard(page, error);
    }
    signal?.throwIfAborted();
    let fresh: RenderPage;
    try {
      fresh = await this.#openPage();
    } catch (error) {
      this.#failWaitersIfEmpty();
      throw freshPageError(error);
    }
    try {
      const records = await fresh.layout(batch, renderTimeoutMs);
      this.#release(fresh, 0);
      return records;
    } catch (error) {
      await this.#discard(fresh, error);
      this.#replaceInBackground();
      throw new PressrunError(
        `Laying out records ${batch[0]?.index}–${
          batch.at(-1)?.index
        } failed on two render pages: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Hands queued records to idle tabs, up to `chunkSize` a tab. */
  #dispatch(): void {
    while (this.#queue.length > 0 && this.#idle.length > 0) {
      const page = this.#idle.pop()!;
      const chunk = this.#queue.take(this.#options.chunkSize);
      runChunk(this.#chunkPool, page, chunk);
    }
  }

  async #acquire(signal?: AbortSignal): Promise<RenderPage> {
    this.#checkOpen();
    const page = this.#idle.pop();
    if (page) return page;
    const waiter: Waiter = Promise.withResolvers<RenderPage>();
    this.#waiters.push(waiter);
    try {
      return await this.#waitForTab(waiter.promise, signal);
    } catch (error) {
      const i = this.#waiters.indexOf(waiter);
      if (i >= 0) this.#waiters.splice(i, 1);
      // Handed a page just as the wait ended: it goes back to the pool.
      else waiter.promise.then((late) => this.#release(late), () => {});
      throw error;
    }
  }

  /** Throws unless the pool is open and has a tab, or one opening. */
  #checkOpen(): void {
    if (this.#closed) throw new PoolBrokenError("The page pool is closed");
    if (this.#all.size + this.#opening === 0) {
      throw new PoolBrokenError("The page pool has no pages");
    }
  }

  /** Waits for `taken`, up to `acquireTimeoutMs` or until `signal` aborts. */
  #waitForTab<T>(taken: Promise<T>, signal?: AbortSignal): Promise<T> {
    const { acquireTimeoutMs } = this.#options;
    return deadline(taken, acquireTimeoutMs, {
      signal,
      error: () =>
        new PoolTimeoutError(
          `No render page became free within ${acquireTimeoutMs / 1000} s ` +
            `(${this.#all.size} pages, all busy)`,
        ),
    });
  }

  /** A tab is free again after `records` more records. */
  #release(page: RenderPage, records = 1): void {
    if (this.#closed) {
      this.#destroy(page);
      return;
    }
    this.#sinceMemoryCheck += records;
    if (this.#sinceMemoryCheck >= MEMORY_CHECK_EVERY) {
      this.#sinceMemoryCheck = 0;
      this.#checkMemory();
    }
    if (page.renders >= this.#options.recycleAfter || this.#recycleNext > 0) {
      if (page.renders < this.#options.recycleAfter) this.#recycleNext--;
      this.#destroy(page);
      this.#replaceInBackground();
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve(page);
      return;
    }
    this.#idle.push(page);
    this.#dispatch();
  }

  #checkMemory(): void {
    const profile = this.#browser.profileDir;
    if (!profile || this.#recycleNext > 0) return;
    processTreeMemory(profile).then(({ pss }) => {
      if (pss / 2 ** 20 > this.#options.maxBrowserMemoryMB) {
        this.#recycleNext = this.#all.size;
        this.#onMemory(pss);
      }
    }).catch(() => {});
  }

  #openPage(): Promise<RenderPage> {
    const opening = this.#open();
    this.#openings.add(opening);
    opening.catch(() => {}).finally(() => this.#openings.delete(opening));
    return opening;
  }

  async #open(): Promise<RenderPage> {
    this.#opening++;
    try {
      const page = await RenderPage.open(
        this.#browser,
        this.#spec,
        this.#options.encode,
      );
      if (this.#closed) {
        await page.close();
        throw new PoolBrokenError("The page pool is closed");
      }
      this.#all.add(page);
      return page;
    } finally {
      this.#opening--;
    }
  }

  #replaceInBackground(): void {
    if (this.#closed) return;
    this.#openPage().then(
      (page) => this.#release(page),
      (error) => {
        this.#onPageFailure(error);
        this.#failWaitersIfEmpty();
      },
    );
  }

  #failWaitersIfEmpty(): void {
    if (this.#all.size + this.#opening > 0) return;
    this.#failWaiters("The page pool has no pages left");
  }

  /** Fails every caller waiting for a tab and every queued record. */
  #failWaiters(message: string): void {
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(new PoolBrokenError(message));
    }
    this.#queue.rejectAll(() => new PoolBrokenError(message));
  }

  /** Tells the listener that `page` failed, then closes it. */
  async #discard(page: RenderPage, error: unknown): Promise<void> {
    this.#onPageFailure(error);
    await this.#destroy(page);
  }

  async #destroy(page: RenderPage): Promise<void> {
    this.#all.delete(page);
    const i = this.#idle.indexOf(page);
    if (i >= 0) this.#idle.splice(i, 1);
    await page.close();
  }

  /** Closes every tab and fails waiting callers. Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#failWaiters("The page pool is closed");
    const pages = [...this.#all];
    this.#all.clear();
    this.#idle = [];
    await Promise.all(pages.map((page) => page.close()));
    // A tab still opening closes itself when it sees the pool closed.
    await Promise.allSettled([...this.#openings]);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
