/**
 * The render page's origin: a loopback HTTP server that serves the page, its
 * scripts and Fabric's browser build from the installed npm package, and takes
 * the encoded pieces back as binary POSTs (no base64, no DevTools message).
 *
 * @module
 */
import { deadline } from "../common/async.ts";
import { PressrunError, TimeoutError } from "../common/errors.ts";

/**
 * The render page's scripts, in the order `page/render.html` loads them:
 * classic scripts sharing their top-level names (`page/scope.d.ts`).
 */
export const PAGE_SCRIPTS = [
  "/load.js",
  "/qr.js",
  "/barcode.js",
  "/apply.js",
  "/vector.js",
  "/render.js",
] as const;

/** The files of the render page, by URL path. */
const FILES: Record<string, { url: URL; type: string }> = {
  "/render.html": {
    url: new URL("./page/render.html", import.meta.url),
    type: "text/html; charset=utf-8",
  },
  ...Object.fromEntries(
    PAGE_SCRIPTS.map((path) => [path, {
      url: new URL(`./page${path}`, import.meta.url),
      type: "text/javascript; charset=utf-8",
    }]),
  ),
  "/fabric.js": {
    url: new URL("../node_modules/fabric/dist/index.min.js", import.meta.url),
    type: "text/javascript; charset=utf-8",
  },
};
const bodies = new Map<string, Promise<Uint8Array>>();

/** A file of the render page and its content type, or undefined. */
export function staticFile(
  path: string,
): { body: Promise<Uint8Array>; type: string } | undefined {
  const file = FILES[path];
  if (!file) return undefined;
  let body = bodies.get(path);
  if (!body) {
    body = Deno.readFile(file.url);
    body.catch(() => bodies.delete(path));
    bodies.set(path, body);
  }
  return { body, type: file.type };
}

/** The loopback server render pages load from and post pieces to. */
export class StaticOrigin implements AsyncDisposable {
  #server: Deno.HttpServer<Deno.NetAddr>;
  #waiting = new Map<string, (result: Uint8Array | Error) => void>();
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>) {
    this.#server = server;
    this.url = `http://127.0.0.1:${server.addr.port}`;
  }

  /** Starts the server on a free loopback port. */
  static start(): Promise<StaticOrigin> {
    // Listening starts inside Deno.serve, so the address is known on return.
    const handler = (request: Request) => origin.#handle(request);
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
    }, handler);
    const origin: StaticOrigin = new StaticOrigin(server);
    return Promise.resolve(origin);
  }

  /** A fresh upload token for one piece. */
  token(): string {
    return crypto.randomUUID();
  }

  /**
   * Waits for the piece the page will post under `token`: call it before
   * asking the page to render. `cancel()` stops waiting (the page failed).
   */
  expect(
    token: string,
    timeoutMs = 30_000,
  ): { bytes: Promise<Uint8Array>; cancel(reason: Error): void } {
    const { promise, resolve, reject } = Promise.withResolvers<Uint8Array>();
    this.#waiting.set(token, (result) => {
      if (result instanceof Error) reject(result);
      else resolve(result);
    });
    const bytes = deadline(promise, timeoutMs, {
      error: () =>
        new TimeoutError(
          `The render page posted no image within ${timeoutMs} ms`,
        ),
    }).finally(() => this.#waiting.delete(token));
    return { bytes, cancel: reject };
  }

  async #handle(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (request.method === "POST" && pathname.startsWith("/piece/")) {
      const finish = this.#waiting.get(pathname.slice("/piece/".length));
      if (!finish) return new Response("Unknown piece", { status: 404 });
      finish(await request.bytes());
      return new Response(null, { status: 204 });
    }
    const file = request.method === "GET" ? staticFile(pathname) : undefined;
    if (!file) return new Response("Not found", { status: 404 });
    return new Response(await file.body as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": file.type, "cache-control": "no-store" },
    });
  }

  /** Stops the server. Safe to call twice. */
  async close(): Promise<void> {
    for (const finish of [...this.#waiting.values()]) {
      finish(new PressrunError("The render origin closed"));
    }
    await this.#server.shutdown().catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
