/**
 * `/healthz` (the data folder takes writes and has room; Chromium answers if
 * it runs) and `/metrics` (Prometheus text). Neither starts Chromium.
 *
 * @module
 */
import { Router } from "../_router.ts";
import type { ServerContext } from "./_context.ts";

/** How long /healthz waits for Chromium's version, ms. */
const HEALTH_TIMEOUT_MS = 5000;

/** The body of `/healthz`. */
export interface Health {
  /** "ok", or "unavailable" (HTTP 503) with a message saying why. */
  status: "ok" | "unavailable";
  message?: string;
  data: {
    /** Bytes free in the data folder. */
    freeBytes: number;
    /** Below this, new batches are refused (507). */
    minFreeBytes: number;
    /** Whether a file could be written there just now. */
    writable: boolean;
    /** Whether the reserve kept for a full disk is in place. */
    reserve: boolean;
  };
  /** Chromium's version, or "not running" until a batch or preview needs it. */
  chromium: string;
}

/** The routes of health and metrics. */
export function healthRoutes(ctx: ServerContext): Router {
  return new Router()
    .get("/healthz", async () => {
      const data = await ctx.store.space();
      const problems: string[] = [];
      if (!data.writable) problems.push("the data folder takes no writes");
      else if (data.freeBytes < data.minFreeBytes) {
        problems.push("the data folder is nearly full (disk full)");
      }
      let chromium = "not running";
      try {
        chromium = await ctx.worker.browserVersion(HEALTH_TIMEOUT_MS) ??
          chromium;
      } catch (error) {
        chromium = "not answering";
        problems.push(`Chromium does not answer: ${(error as Error).message}`);
      }
      const body: Health = {
        status: problems.length ? "unavailable" : "ok",
        ...(problems.length && { message: problems.join("; ") }),
        data,
        chromium,
      };
      return Response.json(body, { status: problems.length ? 503 : 200 });
    })
    .get(
      "/metrics",
      async () =>
        new Response(
          ctx.metrics.format(
            await ctx.store.countByState(),
            await ctx.worker.stats?.(),
          ),
          {
            headers: { "content-type": "text/plain; version=0.0.4" },
          },
        ),
    );
}
