/**
 * One Chromium tab with the render page: served from a local static origin
 * (request interception, nothing else reachable), Fabric and the template
 * loaded once, then one `evaluate` per piece.
 *
 * @module
 */
import type { CDPSession, Page } from "puppeteer-core";
import { deadline } from "../common/async.ts";
import { PressrunError, TimeoutError } from "../common/errors.ts";
import { splitChunk } from "../pdf/chunks.ts";
import { type EncodedImage, piecePdf } from "../pdf/writer.ts";
import { decodeBase64 } from "../template/_base64.ts";
import type { Browser } from "./browser.ts";
import type {
  Encoding,
  LayoutRecord,
  OversetInfo,
  PageSpec,
  PageTimings,
  PiecePayload,
  RenderRequest,
  VectorRequest,
} from "./page_api.ts";
import { printToPdf, type3Fonts } from "./_print.ts";
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
  /**
   * Vector mode: told of every chunk PDF Chromium printed, before it is
   * split, with the record numbers of its pages in page order. Its shared
   * objects (background image, font subsets) are stored once: the merged
   * file can be built from chunks instead of pieces.
   */
  onChunk?: (chunk: PrintedChunk) => void;
}

/** A chunk as Chromium printed it (vector mode). */
export interface PrintedChunk {
  pdf: Uint8Array;
  /** The record number of each page, in page order. */
  records: number[];
}

/** Time spent per stage of one piece, in ms. */
export interface StageTimings extends PageTimings {
  /** The evaluate round trip less the in-page work, plus decoding. */
  transfer: number;
}

/** What a render page hands back for one piece in raster mode. */
export interface RasterPiece {
  kind: "raster";
  image: EncodedImage;
  /** A small PNG of the piece, when asked for. */
  thumbnail?: Uint8Array;
  timings: StageTimings;
  /** Its texts that overflow their boxes even at their copyfit bounds. */
  overset?: OversetInfo[];
}

/**
 * Time spent per stage of one vector piece, in ms: the record's own in the
 * page (apply, svg, thumbnail), and its share of its chunk's (layout, print,
 * split, transfer).
 */
export interface VectorTimings {
  /** Setting the record's values (as in raster mode). */
  apply: number;
  /** Fabric's `toSVG()`. */
  svg: number;
  /** Painting and encoding the thumbnail; 0 when none was asked for. */
  thumbnail: number;
  /** Setting the print document and waiting for its images. */
  layout: number;
  /** Chromium's `Page.printToPDF`, and clearing the print document. */
  print: number;
  /** `splitChunk()`: the chunk PDF into one PDF per piece. */
  split: number;
  /** The evaluate round trip less the work in the page. */
  transfer: number;
}

/** What a render page hands back for one piece in vector mode. */
export interface VectorPiece {
  kind: "vector";
  /**
   * The piece as a one-page PDF: MediaBox = BleedBox = trim + bleed,
   * TrimBox, title "<template name> — record N".
   */
  pdf: Uint8Array;
  /** A small PNG of the piece, when asked for. */
  thumbnail?: Uint8Array;
  timings: VectorTimings;
  /**
   * Set when the printed page used Type 3 fonts (named here): `pdf` is then
   * the record's raster piece PDF instead, as in raster mode.
   */
  type3Fonts?: string[];
  /** Its texts that overflow their boxes even at their copyfit bounds. */
  overset?: OversetInfo[];
}

/** A rendered piece: an image (raster mode) or a one-page PDF (vector mode). */
export type RenderedPiece = RasterPiece | VectorPiece;

/** What became of one record of a chunk. */
export type ChunkOutcome =
  | { index: number; piece: VectorPiece }
  | { index: number; error: Error };

/** A piece passed its deadline; its tab was destroyed. */
export class RenderTimeoutError extends TimeoutError {
  override name = "RenderTimeoutError";
}

/** A tab with the template loaded, ready to render pieces. */
export class RenderPage implements AsyncDisposable {
  #page: Page;
  #encoding: Encoding;
  #thumbnail: number;
  #onChunk: ((chunk: PrintedChunk) => void) | undefined;
  #origin: StaticOrigin | undefined;
  #closing: Promise<void> | undefined;
  #crashed: ((error: Error) => void) | undefined;
  #spec: PageSpec;
  #session: Promise<CDPSession> | undefined;
  /** Records rendered on this tab (in vector mode, every record of a chunk). */
  renders = 0;

  private constructor(
    page: Page,
    spec: PageSpec,
    encode: PageOptions,
    origin: StaticOrigin | undefined,
  ) {
    this.#page = page;
    this.#spec = spec;
    this.#encoding = {
      format: encode.format ?? "png",
      quality: encode.quality ?? 0.92,
    };
    this.#thumbnail = encode.thumbnail ?? 0;
    this.#onChunk = encode.onChunk;
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
    const renderPage = new RenderPage(page, spec, encode, origin);
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
  ): Promise<RasterPiece> {
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

  async #render(payload: PiecePayload): Promise<RasterPiece> {
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
      kind: "raster",
      image: { format, bytes, width: out.width, height: out.height },
      thumbnail: out.thumbnail ? decodeBase64(out.thumbnail) : undefined,
      timings: {
        ...out.timings,
        transfer: Math.max(0, performance.now() - started - inPage),
      },
      ...(out.overset ? { overset: out.overset } : {}),
    };
  }

  /**
   * Renders a chunk of records as vector pieces: one print document, one
   * `Page.printToPDF`, split into one PDF per record. Resolves with one
   * outcome per payload, in order: a record that failed in the page (its
   * values, its SVG export) fails alone. Rejects when the print or the tab
   * fails; past `timeoutMs` (for the whole chunk) the tab is destroyed and
   * {@linkcode RenderTimeoutError} is thrown. A record whose printed page
   * uses Type 3 fonts gets its raster piece PDF instead (`type3Fonts` says
   * which).
   */
  async renderChunk(
    payloads: PiecePayload[],
    timeoutMs = 30_000,
  ): Promise<ChunkOutcome[]> {
    const crash = new AbortController();
    this.#crashed = (error) => crash.abort(error);
    try {
      return await deadline(this.#renderChunk(payloads), timeoutMs, {
        signal: crash.signal,
        error: () =>
          new RenderTimeoutError(
            `${recordsLabel(payloads)} took longer than ${timeoutMs / 1000} s`,
          ),
      });
    } catch (error) {
      if (error instanceof RenderTimeoutError) this.close();
      throw error;
    } finally {
      this.#crashed = undefined;
    }
  }

  async #renderChunk(payloads: PiecePayload[]): Promise<ChunkOutcome[]> {
    const { geometry, name } = this.#spec.print;
    const started = performance.now();
    const request: VectorRequest = { payloads };
    if (this.#thumbnail) request.thumbnail = this.#thumbnail;
    const out = await this.#page.evaluate(
      (r) => globalThis.pressrun.vector(r),
      request,
    );
    const evaluated = performance.now();
    this.renders += payloads.length;
    const outcomes = new Map<number, ChunkOutcome>();
    for (const { index, message } of out.failed) {
      outcomes.set(index, {
        index,
        error: new PressrunError(`Cannot render record ${index}: ${message}`),
      });
    }
    const n = out.pages.length;
    if (n > 0) {
      this.#session ??= this.#page.createCDPSession();
      const chunk = await printToPdf(await this.#session);
      await this.#page.evaluate(() => globalThis.pressrun.clearPrint());
      const printed = performance.now();
      this.#onChunk?.({ pdf: chunk, records: out.pages });
      const pdfs = await splitChunk(chunk, geometry, {
        titles: out.pages.map((index) => `${name} — record ${index}`),
      });
      const split = performance.now();
      let inPage = out.layout;
      for (const t of out.timings) inPage += t.apply + t.svg + t.thumbnail;
      const shared = {
        layout: out.layout / n,
        print: (printed - evaluated) / n,
        split: (split - printed) / n,
        transfer: Math.max(0, evaluated - started - inPage) / n,
      };
      const mayHaveType3 = type3Fonts(chunk).length > 0;
      for (const [i, index] of out.pages.entries()) {
        const thumbnail = out.thumbnails[i];
        const overset = out.overset[i] ?? [];
        const piece: VectorPiece = {
          kind: "vector",
          pdf: pdfs[i]!,
          thumbnail: thumbnail ? decodeBase64(thumbnail) : undefined,
          timings: { ...out.timings[i]!, ...shared },
          ...(overset.length > 0 ? { overset } : {}),
        };
        const fonts = mayHaveType3 ? type3Fonts(piece.pdf) : [];
        if (fonts.length > 0) {
          const payload = payloads.find((p) => p.index === index)!;
          const raster = await this.#render(payload);
          piece.pdf = await piecePdf(raster.image, geometry, {
            title: `${name} — record ${index}`,
          });
          piece.type3Fonts = fonts;
        }
        outcomes.set(index, { index, piece });
      }
    }
    return payloads.map((p) =>
      outcomes.get(p.index) ?? {
        index: p.index,
        error: new PressrunError(
          `Cannot render record ${p.index}: the page did not print it`,
        ),
      }
    );
  }

  /**
   * Lays `payloads` out as a render would (the same values, fonts and
   * copyfit) and reports each record's fitted and overset texts, drawing
   * nothing: one `evaluate` for them all. Images and QR matrices are left
   * out of the payloads (they change no text's fit): none is sent, decoded
   * or drawn. Past
   * `timeoutMs` the tab is destroyed and {@linkcode RenderTimeoutError} is
   * thrown.
   */
  async layout(
    payloads: PiecePayload[],
    timeoutMs = 30_000,
  ): Promise<LayoutRecord[]> {
    const crash = new AbortController();
    this.#crashed = (error) => crash.abort(error);
    const records = payloads.map(textsOnly);
    try {
      const out = await deadline(
        this.#page.evaluate((r) => globalThis.pressrun.layout(r), { records }),
        timeoutMs,
        {
          signal: crash.signal,
          error: () =>
            new RenderTimeoutError(
              `Laying out ${
                recordsLabel(payloads).toLowerCase()
              } took longer than ${timeoutMs / 1000} s`,
            ),
        },
      );
      return out.records;
    } catch (error) {
      if (error instanceof RenderTimeoutError) this.close();
      throw error;
    } finally {
      this.#crashed = undefined;
    }
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

/**
 * A payload without its images and QR matrices: what a layout needs. An
 * image or a QR code left unset keeps what the page has; visibility still
 * follows the record.
 */
function textsOnly(payload: PiecePayload): PiecePayload {
  return {
    index: payload.index,
    objects: payload.objects.map(({ image: _image, qr: _qr, ...update }) =>
      update
    ),
  };
}

/** "Record 3", or "Records 1–50" for a chunk. */
function recordsLabel(payloads: PiecePayload[]): string {
  if (payloads.length === 1) return `Record ${payloads[0]!.index}`;
  const first = payloads[0]?.index;
  const last = payloads[payloads.length - 1]?.index;
  return `Records ${first}–${last} (${payloads.length})`;
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
