/**
 * The cluster renderer: a fresh tab per piece — open, load Fabric and the
 * template, render, close. Slow but isolated; the fallback. In vector mode
 * each tab prints a chunk of one record.
 *
 * @module
 */
import type { PageSpec } from "../template/page_spec.ts";
import type { PiecePayload } from "../template/payload.ts";
import type { Browser } from "./browser.ts";
import {
  type PageOptions,
  type RenderedPiece,
  RenderPage,
} from "./render_page.ts";
import type { PdfMode, Renderer } from "./renderer.ts";

/** Options for {@linkcode ClusterRenderer}. */
export interface ClusterOptions {
  encode?: PageOptions;
  /** @default "raster" */
  pdfMode?: PdfMode;
  /** Deadline of one piece, ms. @default 30000 */
  renderTimeoutMs?: number;
}

/** A fresh page per piece. Concurrency is the caller's. */
export class ClusterRenderer implements Renderer {
  readonly mode = "cluster" as const;
  #browser: Browser;
  #spec: PageSpec;
  #encode: PageOptions;
  #timeoutMs: number;
  #pdfMode: PdfMode;
  #open = new Set<RenderPage>();

  constructor(browser: Browser, spec: PageSpec, options: ClusterOptions = {}) {
    this.#browser = browser;
    this.#spec = spec;
    this.#encode = options.encode ?? {};
    this.#timeoutMs = options.renderTimeoutMs ?? 30_000;
    this.#pdfMode = options.pdfMode ?? "raster";
  }

  /** Images per piece, or one print per piece. */
  get pdfMode(): PdfMode {
    return this.#pdfMode;
  }

  /** Renders on a fresh tab; a failure is retried once on another fresh tab. */
  async render(
    payload: PiecePayload,
    signal?: AbortSignal,
  ): Promise<RenderedPiece> {
    signal?.throwIfAborted();
    try {
      return await this.#once(payload);
    } catch {
      signal?.throwIfAborted();
      return await this.#once(payload);
    }
  }

  async #once(payload: PiecePayload): Promise<RenderedPiece> {
    const page = await RenderPage.open(this.#browser, this.#spec, this.#encode);
    this.#open.add(page);
    try {
      if (this.#pdfMode === "raster") {
        return await page.render(payload, this.#timeoutMs);
      }
      const [outcome] = await page.renderChunk([payload], this.#timeoutMs);
      if ("error" in outcome!) throw outcome.error;
      return outcome!.piece;
    } finally {
      this.#open.delete(page);
      await page.close();
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#open].map((page) => page.close()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
