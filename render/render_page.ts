/**
 * One Chromium tab with the render page: served from a local static origin
 * (request interception, nothing else reachable), Fabric and the template
 * loaded once, then one `evaluate` per piece.
 *
 * @module
 */
import type { Page } from "puppeteer-core";
import type { EncodedImage } from "../pdf/writer.ts";
import { decodeBase64 } from "../template/_base64.ts";
import type { PageSpec } from "../template/page_spec.ts";
import type { PiecePayload } from "../template/payload.ts";
import type { Browser } from "./browser.ts";

/** The origin the render page is served from; it never reaches the network. */
export const STATIC_ORIGIN = "http://pressrun.invalid";

const FILES: Record<string, { url: URL; type: string }> = {
  "/render.html": {
    url: new URL("../static/render.html", import.meta.url),
    type: "text/html; charset=utf-8",
  },
  "/render.js": {
    url: new URL("../static/render.js", import.meta.url),
    type: "text/javascript; charset=utf-8",
  },
  "/fabric.js": {
    url: new URL("../node_modules/fabric/dist/index.min.js", import.meta.url),
    type: "text/javascript; charset=utf-8",
  },
};
const bodies = new Map<string, Promise<Uint8Array>>();

function staticFile(path: string): Promise<Uint8Array> | undefined {
  const file = FILES[path];
  if (!file) return undefined;
  let body = bodies.get(path);
  if (!body) {
    body = Deno.readFile(file.url);
    bodies.set(path, body);
  }
  return body;
}

/** Image encoding of the pieces. */
export interface EncodeOptions {
  /** @default "png" */
  format?: "png" | "jpeg";
  /** JPEG quality, 0..1. @default 0.92 */
  quality?: number;
}

/** Time spent per stage of one piece, in ms. */
export interface StageTimings {
  apply: number;
  paint: number;
  encode: number;
  /** Blob to base64 inside the page. */
  serialize: number;
  /** The evaluate round trip less the in-page work, plus decoding. */
  transfer: number;
}

/** What a render page hands back for one piece. */
export interface RenderedPiece {
  image: EncodedImage;
  timings: StageTimings;
}

/** A tab with the template loaded, ready to render pieces. */
export class RenderPage implements AsyncDisposable {
  #page: Page;
  #encode: Required<EncodeOptions>;
  #closed = false;
  /** Pieces rendered on this tab. */
  renders = 0;

  private constructor(page: Page, encode: Required<EncodeOptions>) {
    this.#page = page;
    this.#encode = encode;
  }

  /** Opens a tab, loads the render page and then the template. */
  static async open(
    browser: Browser,
    spec: PageSpec,
    encode: EncodeOptions = {},
  ): Promise<RenderPage> {
    const page = await browser.newPage();
    const renderPage = new RenderPage(page, {
      format: encode.format ?? "png",
      quality: encode.quality ?? 0.92,
    });
    try {
      await page.setRequestInterception(true);
      page.on("request", (request) => {
        const url = new URL(request.url());
        const body = url.origin === STATIC_ORIGIN
          ? staticFile(url.pathname)
          : undefined;
        if (!body) {
          request.abort("blockedbyclient").catch(() => {});
          return;
        }
        body.then((bytes) =>
          request.respond({
            status: 200,
            contentType: FILES[url.pathname]!.type,
            body: bytes,
          })
        ).catch(() => request.abort("failed").catch(() => {}));
      });
      await page.goto(`${STATIC_ORIGIN}/render.html`, { waitUntil: "load" });
      await page.evaluate(
        (s) => (globalThis as unknown as PageApi).pressrun.load(s),
        spec as unknown as Parameters<PageApi["pressrun"]["load"]>[0],
      );
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

  /** Renders one piece. */
  async render(payload: PiecePayload): Promise<RenderedPiece> {
    const started = performance.now();
    const { format, quality } = this.#encode;
    const out = await this.#page.evaluate(
      (p, f, q) => (globalThis as unknown as PageApi).pressrun.render(p, f, q),
      payload as unknown as Record<string, unknown>,
      format,
      quality,
    );
    const bytes = decodeBase64(out.data);
    this.renders++;
    const inPage = out.timings.apply + out.timings.paint +
      out.timings.encode + out.timings.serialize;
    return {
      image: { format, bytes, width: out.width, height: out.height },
      timings: {
        ...out.timings,
        transfer: Math.max(0, performance.now() - started - inPage),
      },
    };
  }

  /** Closes the tab. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#page.close().catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

interface PageApi {
  pressrun: {
    load(spec: Record<string, unknown>): Promise<{ ms: number }>;
    render(
      payload: Record<string, unknown>,
      format: string,
      quality: number,
    ): Promise<{
      data: string;
      width: number;
      height: number;
      timings: Omit<StageTimings, "transfer">;
    }>;
  };
}
