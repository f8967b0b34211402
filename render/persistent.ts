/**
 * The persistent renderer: a pool of warm tabs, each with Fabric and the
 * template loaded once. Work goes to whichever tab is idle; a tab that fails is
 * replaced and its record retried once on the fresh tab; tabs are recycled
 * after a number of renders to bound memory.
 *
 * @module
 */
import { deadline } from "../common/async.ts";
import { PressrunError, TimeoutError } from "../common/errors.ts";
import type { PageSpec } from "../template/page_spec.ts";
import type { PiecePayload } from "../template/payload.ts";
import type { Browser } from "./browser.ts";
import {
  type PageOptions,
  type RenderedPiece,
  RenderPage,
} from "./render_page.ts";
import type { Renderer } from "./renderer.ts";
import { processTreeMemory } from "./process_memory.ts";

const MEMORY_CHECK_EVERY = 50;

/** No tab became free in time, or the pool did not start in time. */
export class PoolTimeoutError extends TimeoutError {
  override name = "PoolTimeoutError";
}

/** The pool has no tab left and cannot open one. */
export class PoolBrokenError extends PressrunError {
  override name = "PoolBrokenError";
}

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
  /** A tab is replaced after this many pieces (bounds Chromium memory). @default 100 */
  recycleAfter?: number;
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
  #onPageFailure: (error: unknown) => void;
  #onMemory: (pss: number) => void;
  #idle: RenderPage[] = [];
  #all = new Set<RenderPage>();
  #waiters: Waiter[] = [];
  #opening = 0;
  #closed = false;
  #releases = 0;
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
    this.#options = {
      pages: options.pages ?? navigator.hardwareConcurrency,
      acquireTimeoutMs: options.acquireTimeoutMs ?? 30_000,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
      recycleAfter: options.recycleAfter ?? 100,
      renderTimeoutMs: options.renderTimeoutMs ?? 30_000,
      maxBrowserMemoryMB: options.maxBrowserMemoryMB ?? 2048,
      encode: options.encode ?? {},
    };
    this.#onPageFailure = options.onPageFailure ?? (() => {});
    this.#onMemory = options.onMemoryLimit ?? (() => {});
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

  async render(
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
      this.#onPageFailure(error);
      await this.#destroy(page);
    }
    // Retry once on a fresh tab, which then joins the pool.
    let fresh: RenderPage;
    try {
      fresh = await this.#openPage();
    } catch (error) {
      this.#failWaitersIfEmpty();
      throw new PoolBrokenError(
        `Cannot open a fresh render page: ${(error as Error).message}`,
        { cause: error },
      );
    }
    try {
      const piece = await fresh.render(
        payload,
        this.#options.renderTimeoutMs,
      );
      this.#release(fresh);
      return piece;
    } catch (error) {
      this.#onPageFailure(error);
      await this.#destroy(fresh);
      this.#replaceInBackground();
      throw new PressrunError(
        `Record ${payload.index} failed on two render pages: ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
  }

  async #acquire(signal?: AbortSignal): Promise<RenderPage> {
    if (this.#closed) throw new PoolBrokenError("The page pool is closed");
    const page = this.#idle.pop();
    if (page) return page;
    if (this.#all.size + this.#opening === 0) {
      throw new PoolBrokenError("The page pool has no pages");
    }
    const { acquireTimeoutMs } = this.#options;
    const waiter: Waiter = Promise.withResolvers<RenderPage>();
    this.#waiters.push(waiter);
    try {
      return await deadline(waiter.promise, acquireTimeoutMs, {
        signal,
        error: () =>
          new PoolTimeoutError(
            `No render page became free within ${acquireTimeoutMs / 1000} s ` +
              `(${this.#all.size} pages, all busy)`,
          ),
      });
    } catch (error) {
      const i = this.#waiters.indexOf(waiter);
      if (i >= 0) this.#waiters.splice(i, 1);
      // Handed a page just as the wait ended: it goes back to the pool.
      else waiter.promise.then((late) => this.#release(late), () => {});
      throw error;
    }
  }

  #release(page: RenderPage): void {
    if (this.#closed) {
      this.#destroy(page);
      return;
    }
    if (++this.#releases % MEMORY_CHECK_EVERY === 0) this.#checkMemory();
    if (page.renders >= this.#options.recycleAfter || this.#recycleNext > 0) {
      if (page.renders < this.#options.recycleAfter) this.#recycleNext--;
      this.#destroy(page);
      this.#replaceInBackground();
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(page);
    else this.#idle.push(page);
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
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(new PoolBrokenError("The page pool has no pages left"));
    }
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
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(new PoolBrokenError("The page pool is closed"));
    }
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
