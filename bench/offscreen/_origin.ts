/**
 * The bench's loopback origin: its page (`page.html`, `offscreen.js`, the
 * workers and the shim from this folder; the render page's scripts and
 * Fabric exactly as `render/static_origin.ts` serves them to the product),
 * the pieces' uploads
 * and the record pull.
 *
 * @module
 */
import { PressrunError } from "../../common/errors.ts";
import { staticFile } from "../../render/static_origin.ts";
import { ERROR_HEADER, type PieceRequest } from "./api.ts";

const JS = "text/javascript; charset=utf-8";

/** The bench's own page files, by URL path. */
const OWN_FILES: Record<string, { url: URL; type: string }> = {
  "/page.html": {
    url: new URL("./page.html", import.meta.url),
    type: "text/html; charset=utf-8",
  },
  "/offscreen.js": {
    url: new URL("./offscreen.js", import.meta.url),
    type: JS,
  },
  "/shim.js": { url: new URL("./shim.js", import.meta.url), type: JS },
  "/worker_encode.js": {
    url: new URL("./worker_encode.js", import.meta.url),
    type: JS,
  },
  "/worker_fabric.js": {
    url: new URL("./worker_fabric.js", import.meta.url),
    type: JS,
  },
};

/** What the origin does with uploads and pulls. */
export interface OriginHandlers {
  /** The bytes posted under `token`, or the error a worker posted instead. */
  piece(token: string, body: Uint8Array | Error): void;
  /** Up to `n` records for a pulling page or worker; none left when empty. */
  pull(n: number): PieceRequest[];
}

/** The loopback server the bench's pages load from and post pieces to. */
export class BenchOrigin implements AsyncDisposable {
  #server: Deno.HttpServer<Deno.NetAddr>;
  #handlers: OriginHandlers;
  #closing: Promise<void> | undefined;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;

  private constructor(handlers: OriginHandlers) {
    this.#handlers = handlers;
    // Listening starts inside Deno.serve, so the address is known on return.
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Starts the server on a free loopback port. */
  static start(handlers: OriginHandlers): BenchOrigin {
    return new BenchOrigin(handlers);
  }

  /** The upload URL of the piece with `token`. */
  pieceUrl(token: string): string {
    return `${this.url}/piece/${token}`;
  }

  /** The URL pages and workers pull records from. */
  get pullUrl(): string {
    return `${this.url}/pull`;
  }

  async #handle(request: Request): Promise<Response> {
    const { pathname, searchParams } = new URL(request.url);
    if (request.method === "POST" && pathname.startsWith("/piece/")) {
      const token = pathname.slice("/piece/".length);
      const body = await request.bytes();
      this.#handlers.piece(
        token,
        request.headers.has(ERROR_HEADER)
          ? new PressrunError(new TextDecoder().decode(body))
          : body,
      );
      return new Response(null, { status: 204 });
    }
    if (request.method !== "GET") {
      return new Response("Method not allowed", { status: 405 });
    }
    if (pathname === "/pull") {
      const n = Number(searchParams.get("n") ?? 1);
      return Response.json(this.#handlers.pull(n));
    }
    const own = OWN_FILES[pathname];
    const file = own
      ? { body: Deno.readFile(own.url), type: own.type }
      : staticFile(pathname);
    if (!file) return new Response("Not found", { status: 404 });
    return new Response(await file.body as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": file.type, "cache-control": "no-store" },
    });
  }

  /** Stops the server. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#server.shutdown().catch(() => {});
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
