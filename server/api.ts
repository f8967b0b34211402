/**
 * The HTTP API and the web page, as one request handler over the job store
 * and the worker: each resource's routes live in routes/ and are mounted
 * here, behind the Host, origin and token checks, the upload budget and the
 * one error handler. Listening is the caller's (server.ts).
 *
 * @module
 */
import type { Metrics } from "../batch/metrics.ts";
import type { JobStore } from "../batch/store.ts";
import type { BatchRunner } from "../batch/worker.ts";
import type { Logger } from "../render/log.ts";
import { errorResponse } from "./errors.ts";
import { authorize, withRequestScope } from "./_http.ts";
import { Router } from "./_router.ts";
import {
  checkHost,
  checkOrigin,
  LOOPBACK_HOSTS,
  normalizeHost,
  secureHeaders,
} from "./_security.ts";
import { meteredRequest, UploadBudget } from "./_upload_budget.ts";
import { serverContext } from "./routes/_context.ts";
import { batchFileRoutes } from "./routes/batch_files.ts";
import { batchRoutes } from "./routes/batches.ts";
import { checkRoutes } from "./routes/check.ts";
import { preflightRoutes } from "./routes/preflight.ts";
import { healthRoutes } from "./routes/health.ts";
import { pageRoutes } from "./routes/pages.ts";
import { templateRoutes } from "./routes/templates.ts";

/** What the handler works with. */
export interface ServerDeps {
  store: JobStore;
  /** Whatever runs the batches: the embedded worker or a queue worker. */
  worker: BatchRunner;
  metrics: Metrics;
  /**
   * Required as `Authorization: Bearer …` (or `?token=`) on /api, /metrics
   * and /healthz when set.
   */
  token?: string;
  /** Answer /healthz without the token (a probe that cannot send one). @default false */
  publicHealthz?: boolean;
  /**
   * Host names (any port) the server answers to besides localhost,
   * 127.0.0.1 and [::1]; a request naming another gets 421. "*" answers
   * any name. Unset, no name is refused: the handler does not know where it
   * listens, so server.ts passes its listen address and --allow-host.
   * @default any name
   */
  allowedHosts?: readonly string[];
  /** Largest request body, bytes. @default 50 MiB */
  maxUploadBytes?: number;
  /**
   * Bytes of request bodies held at once over all requests in flight
   * (declared, or read so far); past it a new upload gets 429.
   * @default 256 MiB
   */
  maxUploadBytesInFlight?: number;
  /** Admission limits: past them new work gets 429 (or 413). */
  limits?: ServerLimits;
  /** Told of finished records, for the events stream. */
  pieces?: EventTarget;
  /** Aborted when the server shuts down: open event streams end. */
  shutdown?: AbortSignal;
  /** @default silent */
  log?: Logger;
}

/** Bounds on the work the server takes on. */
export interface ServerLimits {
  /** Batches queued or running at once. @default 100 */
  maxQueued?: number;
  /** Records in one batch. @default 100000 */
  maxRecordsPerBatch?: number;
  /** Records still to render over all queued and running batches. @default 1000000 */
  maxQueuedRecords?: number;
  /** Preview renders at once. @default 2 */
  maxPreviews?: number;
  /** Preview requests waiting for a turn. @default 16 */
  maxPreviewQueue?: number;
}

/** The request handler: `Deno.serve(createHandler(deps))`. */
export function createHandler(
  deps: ServerDeps,
): (req: Request) => Promise<Response> {
  const ctx = serverContext(deps);
  const { log } = ctx;
  const hosts = deps.allowedHosts &&
    new Set([...LOOPBACK_HOSTS, ...deps.allowedHosts.map(normalizeHost)]);
  const budget = new UploadBudget(
    deps.maxUploadBytesInFlight ?? 256 * 2 ** 20,
  );
  const app = new Router()
    .route("/", pageRoutes())
    .route("/", healthRoutes(ctx))
    .route("/api/templates", templateRoutes(ctx))
    .route("/api/check", checkRoutes(ctx))
    .route("/api/preflight", preflightRoutes(ctx))
    .route("/api/batches", batchRoutes(ctx))
    .route("/api/batches", batchFileRoutes(ctx));

  return async function handle(req: Request): Promise<Response> {
    const requestId = crypto.randomUUID().slice(0, 8);
    let response: Response;
    let metered: Request | undefined;
    try {
      const url = new URL(req.url);
      if (hosts) checkHost(url, hosts);
      checkOrigin(req, url);
      if (deps.token && needsToken(url.pathname, deps.publicHealthz)) {
        authorize(req, url, deps.token);
      }
      using lease = budget.lease();
      const counted = metered = meteredRequest(req, lease, ctx.maxUploadBytes);
      response = await withRequestScope(
        counted,
        () => app.handle(counted, url),
      );
      response.headers.set("x-request-id", requestId);
    } catch (error) {
      response = errorResponse(error, requestId, log);
    }
    // A body the answer did not need (a 401, a 429 before reading, a route
    // with no body) is let go, so its stream is not left open.
    const body = metered?.body ?? req.body;
    if (body && !body.locked) await body.cancel().catch(() => {});
    secureHeaders(response.headers);
    return response;
  };
}

/** Whether `path` is behind the token: the API, metrics and health. */
function needsToken(path: string, publicHealthz = false): boolean {
  if (path === "/healthz") return !publicHealthz;
  return path.startsWith("/api/") || path === "/metrics";
}
