/**
 * `/api/batches`: creating a batch (admitted within the queue's limits),
 * listing, reading one with its pieces, its progress events, cancelling and
 * retrying. The state changes are the store's.
 *
 * @module
 */
import type { JobStore } from "../../batch/store.ts";
import { readBatchRequest, recordLimit } from "../_batch_request.ts";
import { eventStream, publicStatus } from "../_events.ts";
import { busy } from "../_http.ts";
import { Router } from "../_router.ts";
import type { ServerContext } from "./_context.ts";

/** The routes of batches, mounted at `/api/batches`. */
export function batchRoutes(ctx: ServerContext): Router {
  const { store, worker, limits, log } = ctx;
  const admission = new Admission();
  return new Router()
    .post("/", async (req) => {
      const early = await queueFull(store, limits, 0);
      if (early) throw busy(early);
      const request = await readBatchRequest(req, store, ctx.maxUploadBytes);
      recordLimit(request.total, limits.maxRecordsPerBatch);
      const status = await admission.run(async () => {
        const full = await queueFull(store, limits, request.total);
        if (full) throw busy(full);
        return await store.createBatch(request);
      });
      worker.poke();
      log("info", `Batch ${status.id} queued: ${status.total} records`, {
        batch: status.id,
      });
      return Response.json({ id: status.id }, { status: 202 });
    })
    .get(
      "/",
      async () => Response.json((await store.listBatches()).map(publicStatus)),
    )
    .get("/:id", async (_req, p) => {
      const status = await store.batch(p.id!);
      const pieces = [...(await store.pieces(p.id!)).values()]
        .sort((a, b) => a.index - b.index)
        .map(({ index, status, file, kind, overset, error }) => ({
          index,
          status,
          file,
          kind,
          overset,
          error,
        }));
      return Response.json({ ...publicStatus(status), pieces });
    })
    .get("/:id/events", (_req, p) =>
      eventStream(store, p.id!, {
        pieces: ctx.pieces,
        shutdown: ctx.shutdown,
      }))
    .post("/:id/cancel", async (_req, p) => {
      const status = await store.cancel(p.id!);
      worker.cancel(p.id!);
      return Response.json(publicStatus(status), { status: 202 });
    })
    .post("/:id/retry", async (_req, p) => {
      const status = await store.retry(p.id!);
      worker.poke();
      return Response.json(publicStatus(status), { status: 202 });
    });
}

/**
 * Admission (check the queue, then add to it) one request at a time, so two
 * uploads cannot both take the last place.
 */
class Admission {
  #last: Promise<unknown> = Promise.resolve();

  /** Runs `step` after every step before it has settled. */
  run<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#last.then(step);
    this.#last = run.catch(() => {});
    return run;
  }
}

/** Why the queue cannot take `extraRecords` more, or undefined if it can. */
async function queueFull(
  store: JobStore,
  limits: ServerContext["limits"],
  extraRecords: number,
): Promise<string | undefined> {
  const active = (await store.listBatches()).filter((b) =>
    b.state === "queued" || b.state === "running"
  );
  const pending = active.reduce((n, b) => n + b.total - b.done, 0);
  if (active.length >= limits.maxQueued) {
    return `${active.length} batches are waiting or running (the limit is ${limits.maxQueued})`;
  }
  if (pending + extraRecords > limits.maxQueuedRecords) {
    return `${pending} records are waiting (the limit is ${limits.maxQueuedRecords})`;
  }
  return undefined;
}
