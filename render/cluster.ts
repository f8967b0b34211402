/**
 * The cluster renderer: a fresh tab per piece — open, load Fabric and the
 * template, render, close. Slow but isolated; the fallback.
 *
 * @module
 */
import type { PageSpec } from "../template/page_spec.ts";
import type { PiecePayload } from "../template/payload.ts";
import type { Browser } from "./browser.ts";
import {
  type EncodeOptions,
  type RenderedPiece,
  RenderPage,
} from "./render_page.ts";
import type { Renderer } from "./renderer.ts";

/** A fresh page per piece. Concurrency is the caller's. */
export class ClusterRenderer implements Renderer {
  readonly mode = "cluster" as const;
  #browser: Browser;
  #spec: PageSpec;
  #encode: EncodeOptions;
  #open = new Set<RenderPage>();

  constructor(browser: Browser, spec: PageSpec, encode: EncodeOptions = {}) {
    this.#browser = browser;
    this.#spec = spec;
    this.#encode = encode;
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
      return await page.render(payload);
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
