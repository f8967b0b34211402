/**
 * Choosing the renderer, and falling back: `auto` starts the persistent pool;
 * if it cannot start or keeps failing, the rest of the batch goes to the
 * cluster renderer. The log says which mode is active and when it changes.
 *
 * @module
 */
import type { PageSpec } from "../template/page_spec.ts";
import type { PiecePayload } from "../template/payload.ts";
import type { Browser } from "./browser.ts";
import { ClusterRenderer } from "./cluster.ts";
import { type Logger, silentLogger } from "./log.ts";
import {
  clampChunkSize,
  type PersistentOptions,
  PersistentRenderer,
  PoolBrokenError,
  PoolTimeoutError,
} from "./persistent.ts";
import type { PageOptions, RenderedPiece } from "./render_page.ts";
import {
  parseRendererChoice,
  type PdfMode,
  type Renderer,
  type RendererChoice,
  rendererFromEnv,
  type RendererMode,
} from "./renderer.ts";

export { parseRendererChoice, type RendererChoice, rendererFromEnv };

/** Options for {@linkcode createRenderer}. */
export interface RendererOptions {
  /** @default rendererFromEnv() */
  renderer?: RendererChoice;
  /** Tabs of the persistent pool. @default navigator.hardwareConcurrency */
  pages?: number;
  /** More settings of the persistent pool. */
  persistent?: Omit<
    PersistentOptions,
    "pages" | "encode" | "onPageFailure" | "pdfMode" | "chunkSize"
  >;
  /**
   * `raster`: each piece is one image. `vector`: pieces are printed by
   * Chromium from their SVG, a chunk of records per print, and each resolves
   * as a one-page PDF (`VectorPiece`). @default "raster"
   */
  pdfMode?: PdfMode;
  /**
   * Vector mode: most records one page prints at once, clamped to 1–500; the
   * caller keeps about pages × chunkSize records in flight.
   * @default DEFAULT_CHUNK_SIZE (100)
   */
  chunkSize?: number;
  encode?: PageOptions;
  /** Deadline of one piece, ms, for either renderer. @default 30000 */
  renderTimeoutMs?: number;
  /** `auto` falls back after this many tab failures among the last 50 renders. @default 3 */
  maxPoolFailures?: number;
  /**
   * Start no page until the first piece is asked for: for a run that
   * expects to render nothing (every record kept from an earlier run).
   * @default false
   */
  lazy?: boolean;
  /** @default silent */
  log?: Logger;
  /** Told when the active mode changes (also at start). */
  onMode?: (mode: RendererMode) => void;
}

/** Starts the chosen renderer; `auto` gets the fallback. */
export async function createRenderer(
  browser: Browser,
  spec: PageSpec,
  options: RendererOptions = {},
): Promise<Renderer> {
  const choice = options.renderer ?? rendererFromEnv();
  if (options.lazy) {
    return new LazyRenderer(
      choice,
      () => createRenderer(browser, spec, { ...options, lazy: false }),
    );
  }
  const log = options.log ?? silentLogger;
  const pages = options.pages ?? navigator.hardwareConcurrency;
  const encode = options.encode ?? {};
  const renderer = await start(choice, browser, spec, options, pages, encode);
  return options.pdfMode === "vector"
    ? new Type3Warnings(renderer, log)
    : renderer;
}

async function start(
  choice: RendererChoice,
  browser: Browser,
  spec: PageSpec,
  options: RendererOptions,
  pages: number,
  encode: PageOptions,
): Promise<Renderer> {
  const log = options.log ?? silentLogger;
  if (choice === "cluster") {
    log(
      "info",
      `Using CLUSTER renderer (a fresh page per piece, ${
        options.pdfMode ?? "raster"
      } PDF)`,
    );
    options.onMode?.("cluster");
    return new ClusterRenderer(browser, spec, {
      encode,
      renderTimeoutMs: options.renderTimeoutMs,
      pdfMode: options.pdfMode,
    });
  }
  if (choice === "persistent") {
    const pool = await startPool(browser, spec, { ...options, pages }, log);
    options.onMode?.("persistent");
    return pool;
  }
  const auto = new AutoRenderer(browser, spec, encode, log, options);
  try {
    auto.pool = await startPool(
      browser,
      spec,
      { ...options, pages, onPageFailure: (e) => auto.pageFailed(e) },
      log,
    );
    options.onMode?.("persistent");
  } catch (error) {
    auto.fallBack(`the page pool could not start: ${(error as Error).message}`);
  }
  return auto;
}

async function startPool(
  browser: Browser,
  spec: PageSpec,
  options:
    & RendererOptions
    & { pages: number }
    & Pick<
      PersistentOptions,
      "onPageFailure"
    >,
  log: Logger,
): Promise<PersistentRenderer> {
  const started = performance.now();
  const vector = options.pdfMode === "vector"
    ? `, vector PDF in chunks of up to ${clampChunkSize(options.chunkSize)}`
    : "";
  log(
    "info",
    `Using PERSISTENT renderer: starting ${options.pages} pages${vector}`,
  );
  const pool = await PersistentRenderer.start(browser, spec, {
    renderTimeoutMs: options.renderTimeoutMs,
    ...options.persistent,
    pages: options.pages,
    encode: options.encode,
    onPageFailure: options.onPageFailure,
    pdfMode: options.pdfMode,
    chunkSize: options.chunkSize,
  });
  log(
    "info",
    `${options.pages} pages ready in ${
      ((performance.now() - started) / 1000).toFixed(2)
    } s`,
  );
  return pool;
}

/** A renderer started by the first piece asked of it. */
class LazyRenderer implements Renderer {
  #choice: RendererChoice;
  #open: () => Promise<Renderer>;
  #renderer: Promise<Renderer> | undefined;
  #started: Renderer | undefined;

  constructor(choice: RendererChoice, open: () => Promise<Renderer>) {
    this.#choice = choice;
    this.#open = open;
  }

  get mode(): RendererMode {
    return this.#started?.mode ??
      (this.#choice === "cluster" ? "cluster" : "persistent");
  }

  async render(
    payload: PiecePayload,
    signal?: AbortSignal,
  ): Promise<RenderedPiece> {
    this.#renderer ??= this.#open().then((r) => this.#started = r);
    return await (await this.#renderer).render(payload, signal);
  }

  async close(): Promise<void> {
    const renderer = this.#renderer;
    this.#renderer = undefined;
    await (await renderer?.catch(() => undefined))?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

const WINDOW = 50;

/** Persistent while it works; cluster for the rest once it does not. */
class AutoRenderer implements Renderer {
  pool: PersistentRenderer | undefined;
  #cluster: ClusterRenderer | undefined;
  #browser: Browser;
  #spec: PageSpec;
  #encode: PageOptions;
  #log: Logger;
  #options: RendererOptions;
  #recent: boolean[] = [];

  constructor(
    browser: Browser,
    spec: PageSpec,
    encode: PageOptions,
    log: Logger,
    options: RendererOptions,
  ) {
    this.#browser = browser;
    this.#spec = spec;
    this.#encode = encode;
    this.#log = log;
    this.#options = options;
  }

  get mode(): RendererMode {
    return this.#cluster ? "cluster" : "persistent";
  }

  pageFailed(error: unknown): void {
    this.#note(false);
    this.#log(
      "warn",
      `A render page failed and is replaced: ${message(error)}`,
    );
    // The pool retries a record on a fresh page, so its renders may keep
    // succeeding while its pages keep dying: the count decides, here.
    if (this.#failing()) {
      this.fallBack(
        `${this.#failures()} of its last ${WINDOW} renders lost their page`,
      );
    }
  }

  #note(ok: boolean): void {
    this.#recent.push(ok);
    if (this.#recent.length > WINDOW) this.#recent.shift();
  }

  #failures(): number {
    return this.#recent.filter((ok) => !ok).length;
  }

  #failing(): boolean {
    return this.#failures() >= (this.#options.maxPoolFailures ?? 3);
  }

  fallBack(reason: string): void {
    if (this.#cluster) return;
    this.#log(
      "warn",
      `Persistent rendering failed (${reason}), falling back to CLUSTER renderer`,
    );
    this.#cluster = new ClusterRenderer(this.#browser, this.#spec, {
      encode: this.#encode,
      renderTimeoutMs: this.#options.renderTimeoutMs,
      pdfMode: this.#options.pdfMode,
    });
    const pool = this.pool;
    this.pool = undefined;
    pool?.close();
    this.#options.onMode?.("cluster");
  }

  async render(
    payload: PiecePayload,
    signal?: AbortSignal,
  ): Promise<RenderedPiece> {
    signal?.throwIfAborted();
    const pool = this.pool;
    if (!pool || this.#cluster) return this.#cluster!.render(payload, signal);
    try {
      const piece = await pool.render(payload, signal);
      this.#note(true);
      return piece;
    } catch (error) {
      signal?.throwIfAborted();
      if (
        !this.#cluster &&
        (error instanceof PoolBrokenError ||
          error instanceof PoolTimeoutError ||
          this.#failing())
      ) {
        this.fallBack(message(error));
      }
      // fallBack() may have run meanwhile, in this call or another one.
      const cluster = this.#cluster as ClusterRenderer | undefined;
      if (cluster) return cluster.render(payload, signal);
      throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.pool?.close(), this.#cluster?.close()]);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Vector mode: forwards to the renderer and notes the records printed with
 * Type 3 fonts (rendered as raster pages instead); `close()` logs one warning
 * naming the fonts and the records.
 */
class Type3Warnings implements Renderer {
  #renderer: Renderer;
  #log: Logger;
  #fonts = new Set<string>();
  #records: number[] = [];
  #closed = false;

  constructor(renderer: Renderer, log: Logger) {
    this.#renderer = renderer;
    this.#log = log;
  }

  get mode(): RendererMode {
    return this.#renderer.mode;
  }

  async render(
    payload: PiecePayload,
    signal?: AbortSignal,
  ): Promise<RenderedPiece> {
    const piece = await this.#renderer.render(payload, signal);
    if (piece.kind === "vector" && piece.type3Fonts) {
      for (const font of piece.type3Fonts) this.#fonts.add(font);
      this.#records.push(payload.index);
    }
    return piece;
  }

  async close(): Promise<void> {
    await this.#renderer.close();
    if (this.#closed || this.#records.length === 0) return;
    this.#closed = true;
    const records = this.#records.sort((a, b) => a - b);
    const shown = records.length > 20
      ? `${records.slice(0, 20).join(", ")} and ${records.length - 20} more`
      : records.join(", ");
    this.#log(
      "warn",
      `Chromium printed Type 3 fonts (${
        [...this.#fonts].join(", ")
      }), which presses reject; ${records.length} record(s) went out as raster pages instead: ${shown}`,
      { records, fonts: [...this.#fonts] },
    );
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
