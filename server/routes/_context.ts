/**
 * What every route works with: the store, the worker, the limits with their
 * defaults filled in.
 *
 * @module
 */
import type { Metrics } from "../../batch/metrics.ts";
import type { JobStore } from "../../batch/store.ts";
import type { BatchRunner } from "../../batch/worker.ts";
import { type Logger, silentLogger } from "../../render/log.ts";
import type { ServerDeps, ServerLimits } from "../api.ts";

/** The server's dependencies and settings, defaults applied. */
export interface ServerContext {
  store: JobStore;
  worker: BatchRunner;
  metrics: Metrics;
  log: Logger;
  /** Largest request body, bytes. */
  maxUploadBytes: number;
  limits: Required<ServerLimits>;
  /** Told of finished records, for the events stream. */
  pieces?: EventTarget;
  /** Aborted when the server shuts down: open event streams end. */
  shutdown?: AbortSignal;
}

/** `deps` with every default of {@linkcode ServerDeps} filled in. */
export function serverContext(deps: ServerDeps): ServerContext {
  const limits = deps.limits ?? {};
  return {
    store: deps.store,
    worker: deps.worker,
    metrics: deps.metrics,
    log: deps.log ?? silentLogger,
    maxUploadBytes: deps.maxUploadBytes ?? 50 * 2 ** 20,
    limits: {
      maxQueued: limits.maxQueued ?? 100,
      maxRecordsPerBatch: limits.maxRecordsPerBatch ?? 100_000,
      maxQueuedRecords: limits.maxQueuedRecords ?? 1_000_000,
      maxPreviews: limits.maxPreviews ?? 2,
      maxPreviewQueue: limits.maxPreviewQueue ?? 16,
    },
    pieces: deps.pieces,
    shutdown: deps.shutdown,
  };
}
