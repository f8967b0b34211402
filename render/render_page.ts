/**
 * One Chromium tab with the render page: served from a local static origin
 * (request interception, nothing else reachable), Fabric and the template
 * loaded once, then one `evaluate` per piece.
 *
 * @module
 */
import type { Page } from "puppeteer-core";
import { deadline } from "../common/async.ts";
import { PressrunError, TimeoutError } from "../common/errors.ts";
import type { EncodedImage } from "../pdf/writer.ts";
import { decodeBase64 } from "../template/_base64.ts";
import type { Browser } from "./browser.ts";
import type {
  Encoding,
  PageSpec,
  PageTimings,
  PiecePayload,
  RenderRequest,
} from "./page_api.ts";
import { staticFile, type StaticOrigin } from "./static_origin.ts";

/**
 * The origin a render page is served from through DevTools request
 * interception, when the browser cannot reach this machine's loopback origin
 * (a remote browser). Nothing else is reachable from it.
 */
export const INTERCEPTED_ORIGIN = "http://pressrun.invalid";

/** How a render page encodes its pieces, and how its tab is set up. */
export interface PageOptions {
  /**
   * Runs on the new tab before the render page loads: tracing, request
   * logging, or a test's fault injection.
   */
  setup?: (page: Page) => Promise<void>;
  /** @default "png" */
  format?: "png" | "jpeg";
  /** JPEG quality, 0..1. @default 0.92 */
  quality?: number;
  /** Also a PNG thumbnail this many pixels wide. @default none */
  thumbnail?: number;
}

/** Time spent per stage of one piece, in ms. */
export interface StageTimings extends PageTimings {
  /** The evaluate round trip less the in-page work, plus decoding. */
  transfer: number;
}

/** What a render page hands back for one piece. */
export interface RenderedPiece {
  image: EncodedImage;
  /** A small PNG of the piece, when asked for. */
  thumbnail?: Uint8Array;
  timings: StageTimings;
}

/** A piece passed its deadline; its tab was destroyed. */
export class RenderTimeoutError extends TimeoutError {
  override name = "RenderTimeoutError";
}

/** A tab with the template loaded, ready to render pieces. */
export class RenderPage implements AsyncDisposable {
  #page: Page;
  #encoding: Encoding;
  #thumbnail: number;
  #origin: StaticOrigin | undefined;
  #closing: Promise<void> | undefined;
  #crashed: ((error: Error) => void) | undefined;
  /** Pieces rendered on this tab. */
  renders = 0;

  private constructor(
    page: Page,
    encode: PageOptions,
    origin: StaticOrigin | undefined,
  ) {
    this.#page = page;
    this.#encoding = {
      format: encode.format ?? "png",
      quality: encode.quality ?? 0.92,
    };
    this.#thumbnail = encode.thumbnail ?? 0;
    this.#origin = origin;
    page.on("error", (error) => {
      this.#crashed?.(
        new PressrunError(`The render page crashed: ${error.message}`),
      );
      this.close();
    });
  }

  /** Opens a tab, loads the render page and then the template. */
  static async open(
    browser: Browser,
    spec: PageSpec,
    encode: PageOptions = {},
  ): Promise<RenderPage> {
    const page = await browser.newPage();
    const origin = browser.origin;
    const renderPage = new RenderPage(page, encode, origin);
    try {
      await encode.setup?.(page);
      if (origin) {
        await page.goto(`${origin.url}/render.html`, { waitUntil: "load" });
      } else {
        await serveByInterception(page);
        await page.goto(`${INTERCEPTED_ORIGIN}/render.html`, {
          waitUntil: "load",
        });
      }
      await page.evaluate((s) => globalThis.pressrun.load(s), spec);
      return renderPage;
    } catch (error) {
      await renderPage.close();
      throw error;
    }
  }

  /** The puppeteer page, for diagnostics and fault injection. */
  get page(): Page {
    return this.#page;
  }

  /**
   * Renders one piece. Past `timeoutMs` the tab is destroyed (not just
   * abandoned) and {@linkcode RenderTimeoutError} is thrown.
   */
  async render(
    payload: PiecePayload,
    timeoutMs = 30_000,
  ): Promise<RenderedPiece> {
    // A crashed tab (its renderer process killed, out of memory) fails the
    // piece at once instead of at the deadline.
    const crash = new AbortController();
    this.#crashed = (error) => crash.abort(error);
    try {
      return await deadline(this.#render(payload), timeoutMs, {
        signal: crash.signal,
        error: () =>
          new RenderTimeoutError(
            `Record ${payload.index} took longer than ${timeoutMs / 1000} s`,
          ),
      });
    } catch (error) {
      // Destroyed, not just abandoned: the page may still be busy with it.
      if (error instanceof RenderTimeoutError) this.close();
      throw error;
    } finally {
      this.#crashed = undefined;
    }
  }

  async #render(payload: PiecePayload): Promise<RenderedPiece> {
    const started = performance.now();
    const { format } = this.#encoding;
    const token = this.#origin?.token();
    const request: RenderRequest = { ...this.#encoding, payload };
    if (token) request.postTo = `${this.#origin!.url}/piece/${token}`;
    if (this.#thumbnail) request.thumbnail = this.#thumbnail;
    const posted = token ? this.#origin!.expect(token) : undefined;
    // Handled here so a page that dies first leaves no unhandled rejection;
    // awaiting it below still throws.
    posted?.bytes.catch(() => {});
    let out;
    try {
      out = await this.#page.evaluate(
        (r) => globalThis.pressrun.render(r),
        request,
      );
    } catch (error) {
      posted?.cancel(error as Error);
      throw error;
    }
    // The page posts the image while it takes the next record.
    const bytes = posted ? await posted.bytes : decodeBase64(out.data!);
    this.renders++;
    const inPage = out.timings.apply + out.timings.paint +
      out.timings.encode + out.timings.serialize;
    return {
      image: { format, bytes, width: out.width, height: out.height },
      thumbnail: out.thumbnail ? decodeBase64(out.thumbnail) : undefined,
      timings: {
        ...out.timings,
        transfer: Math.max(0, performance.now() - started - inPage),
      },
    };
  }

  /**
   * Paints and encodes the current piece `count` times inside the page, with
   * no transfer: the benchmark's floor. Returns the ms taken.
   */
  async floor(count: number): Promise<number> {
    const { ms } = await this.#page.evaluate(
      (r) => globalThis.pressrun.floor(r),
      { ...this.#encoding, count },
    );
    return ms;
  }

  /** Closes the tab. Safe to call twice: later calls wait for the first. */
  close(): Promise<void> {
    this.#closing ??= this.#page.close().catch(() => {});
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Serves the render page from memory; every other request is refused. */
async function serveByInterception(page: Page): Promise<void> {
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    const url = new URL(request.url());
    const file = url.origin === INTERCEPTED_ORIGIN
      ? staticFile(url.pathname)
      : undefined;
    if (!file) {
      request.abort("blockedbyclient").catch(() => {});
      return;
    }
    file.body.then((body) =>
      request.respond({ status: 200, contentType: file.type, body })
    ).catch(() => request.abort("failed").catch(() => {}));
  });
}
