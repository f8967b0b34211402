/**
 * Routes as data, and the one dispatcher that runs them. Each resource's file
 * under routes/ builds a {@linkcode Router}; `createHandler()` mounts them
 * all under their prefixes (hono's `app.route("/books", books)`).
 *
 * @module
 */
import { HttpError } from "./errors.ts";

/** The named parts of a matched path, e.g. `{ id: "…" }` for `/:id`. */
export type Params = Record<string, string>;

/** Answers one request of a route. */
export type RouteHandler = (
  req: Request,
  params: Params,
  url: URL,
) => Promise<Response> | Response;

interface Route {
  method: string;
  path: string;
  pattern: URLPattern;
  handler: RouteHandler;
}

/** An ordered list of routes: method, path pattern, handler. */
export class Router {
  #routes: Route[] = [];

  /** Adds a route; `path` is a URLPattern pathname such as `/:id/cancel`. */
  on(method: string, path: string, handler: RouteHandler): this {
    const pattern = new URLPattern({ pathname: path });
    this.#routes.push({ method, path, pattern, handler });
    return this;
  }

  get(path: string, handler: RouteHandler): this {
    return this.on("GET", path, handler);
  }

  post(path: string, handler: RouteHandler): this {
    return this.on("POST", path, handler);
  }

  delete(path: string, handler: RouteHandler): this {
    return this.on("DELETE", path, handler);
  }

  /**
   * Mounts every route of `router` under `prefix`: its `/` is the prefix
   * itself, its `/:id` is `prefix/:id`.
   */
  route(prefix: string, router: Router): this {
    const base = prefix.replace(/\/$/, "");
    for (const { method, path, handler } of router.#routes) {
      this.on(method, path === "/" ? base || "/" : base + path, handler);
    }
    return this;
  }

  /**
   * The response of the first route whose method and path match.
   * @throws {HttpError} 404 when no path matches, 405 when only the method
   * does not.
   */
  async handle(req: Request, url: URL): Promise<Response> {
    let pathMatched = false;
    for (const { method, pattern, handler } of this.#routes) {
      const match = pattern.exec({ pathname: url.pathname });
      if (!match) continue;
      pathMatched = true;
      if (method !== req.method) continue;
      return await handler(req, match.pathname.groups as Params, url);
    }
    throw pathMatched
      ? new HttpError(
        405,
        "method_not_allowed",
        `${req.method} is not allowed on ${url.pathname}`,
      )
      : new HttpError(404, "not_found", `No route for ${url.pathname}`);
  }
}
