/**
 * `/healthz` (Chromium answers) and `/metrics` (Prometheus text).
 *
 * @module
 */
import { deadline } from "../../common/async.ts";
import { Router } from "../_router.ts";
import type { ServerContext } from "./_context.ts";

/** How long /healthz waits for Chromium's version, ms. */
const HEALTH_TIMEOUT_MS = 5000;

/** The routes of health and metrics. */
export function healthRoutes(ctx: ServerContext): Router {
  return new Router()
    .get("/healthz", async () => {
      try {
        const browser = await ctx.worker.browser();
        const version = await deadline(
          browser.puppeteer.version(),
          HEALTH_TIMEOUT_MS,
        );
        return Response.json({ status: "ok", chromium: version });
      } catch (error) {
        return Response.json({
          status: "unavailable",
          message: (error as Error).message,
        }, { status: 503 });
      }
    })
    .get(
      "/metrics",
      async () =>
        new Response(ctx.metrics.format(await ctx.store.countByState()), {
          headers: { "content-type": "text/plain; version=0.0.4" },
        }),
    );
}
