/**
 * Small HTTP helpers of the server: authorisation, static files, bodies with
 * a size limit, what a request owns until it is answered, and admission
 * (429) gates.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { QueueFullError } from "../common/errors.ts";
import { checkJsonText } from "../template/json_limits.ts";
import { HttpError } from "./errors.ts";
import { PAGE_CSP } from "./_security.ts";

/** What the browser may load: the web app, and modules it shares with Deno. */
const FOLDERS = {
  web: new URL("../web/", import.meta.url),
  common: new URL("../common/", import.meta.url),
};

/** Throws 401 unless the request carries `token` (header or `?token=`). */
export function authorize(req: Request, url: URL, token: string): void {
  const header = req.headers.get("authorization") ?? "";
  const given = header.startsWith("Bearer ")
    ? header.slice(7)
    : url.searchParams.get("token");
  if (given !== token) {
    throw new HttpError(
      401,
      "unauthorized",
      "A valid API token is required (Authorization: Bearer …)",
      {
        headers: { "www-authenticate": "Bearer" },
      },
    );
  }
}

/**
 * A file of web/ (the web app and its scripts), or of common/ (a module both
 * sides import), as a response with a CSP.
 */
export async function page(
  name: string,
  folder: keyof typeof FOLDERS = "web",
): Promise<Response> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith(".")) {
    throw new HttpError(404, "not_found", `No file ${name}`);
  }
  const types: Record<string, string> = {
    html: "text/html; charset=utf-8",
    js: "text/javascript; charset=utf-8",
    css: "text/css; charset=utf-8",
    png: "image/png",
    svg: "image/svg+xml",
  };
  const type = types[name.split(".").pop()!];
  if (!type) throw new HttpError(404, "not_found", `No file ${name}`);
  try {
    const body = await Deno.readFile(new URL(name, FOLDERS[folder]));
    return new Response(body, {
      headers: {
        "content-type": type,
        "content-security-policy": PAGE_CSP,
      },
    });
  } catch {
    throw new HttpError(404, "not_found", `No file ${name}`);
  }
}

/** A file streamed as a response; 404 naming `what` when it is not there. */
export async function fileResponse(
  path: string,
  type: string,
  what: string,
): Promise<Response> {
  try {
    const file = await Deno.open(path);
    return new Response(file.readable, { headers: { "content-type": type } });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new HttpError(404, "not_ready", `The ${what} is not there (yet)`);
    }
    throw error;
  }
}

/** A path parameter as a whole number; 400 otherwise. */
export function wholeNumber(value: string, name: string): number {
  if (!/^\d{1,9}$/.test(value)) {
    throw new HttpError(400, "bad_request", `${name} must be a whole number`);
  }
  return Number(value);
}

/** Reads a body up to `max` bytes; 413 past it. */
export async function readBody(req: Request, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (declared > max) throw tooLarge(max);
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    if (size > max) throw tooLarge(max);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The 413 for a body over `max` bytes. */
export function tooLarge(max: number): HttpError {
  return new HttpError(
    413,
    "too_large",
    `The request is larger than ${Math.round(max / 2 ** 20)} MiB`,
  );
}

/**
 * A JSON body up to `max` bytes; 415 unless it is sent as application/json
 * (a form of another site can send text/plain without asking), 400 when it
 * is not JSON.
 */
export async function readJson(req: Request, max: number): Promise<unknown> {
  const type = req.headers.get("content-type") ?? "";
  if (type.split(";")[0]!.trim().toLowerCase() !== "application/json") {
    throw new HttpError(
      415,
      "unsupported_media_type",
      `Send the body as application/json, not ${
        type ? `"${type}"` : "without a Content-Type"
      }`,
    );
  }
  const text = new TextDecoder().decode(await readBody(req, max));
  // Its nesting and size first: JSON.parse() of a 10 MB array nested 5
  // million deep takes seconds (and the rest of the server with it).
  checkJsonText(text, "the JSON body");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(
      400,
      "bad_request",
      `The body is not JSON: ${(error as Error).message}`,
    );
  }
}

/** What each request in flight owns until it has been answered. */
const scopes = new WeakMap<Request, AsyncDisposableStack>();

/**
 * Runs `handle` with `scope` tied to `req`: what
 * {@linkcode disposeWithRequest} hands it is disposed once `handle` is done.
 */
export async function withRequestScope<T>(
  req: Request,
  handle: () => Promise<T>,
): Promise<T> {
  await using scope = new AsyncDisposableStack();
  scopes.set(req, scope);
  try {
    return await handle();
  } finally {
    scopes.delete(req);
  }
}

/**
 * `resource`, disposed when `req` has been answered; a caller outside any
 * request's scope disposes it itself.
 */
export function disposeWithRequest<T extends AsyncDisposable>(
  req: Request,
  resource: T,
): T {
  scopes.get(req)?.use(resource);
  return resource;
}

/** The server is at its limits (429, Retry-After 5 s). */
export function busy(reason: string): QueueFullError {
  return new QueueFullError(
    `The server is busy: ${reason}; try again shortly`,
    5,
  );
}

/** At most `size` tasks at once and `queue` waiting; past that, 429. */
export class Gate {
  #size: number;
  #queue: number;
  #running = 0;
  #waiting: (() => void)[] = [];

  constructor(size: number, queue: number) {
    this.#size = size;
    this.#queue = queue;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#size) {
      if (this.#waiting.length >= this.#queue) {
        throw busy(
          `${this.#running} previews are rendering and ${this.#waiting.length} waiting`,
        );
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }
}
