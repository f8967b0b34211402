/**
 * A queue-mode worker: takes chunk jobs and finish jobs from BullMQ and
 * renders them with the shared core, on a browser of its own. Any number
 * run on any machines that share the Redis and the output root.
 *
 * Delivery is at least once (a worker killed mid-chunk, a lost lock, a
 * retry), output exactly once: a chunk keeps the pieces of its records
 * already written (file present, size and SHA-256 matching their entry)
 * and renders the rest; each record has one entry, overwritten, never a
 * second; files are written under a temporary name and renamed, and only
 * while the chunk's BullMQ lock is still this worker's. The finish job
 * then writes merged.pdf, the proof, the press outputs and manifest.json
 * from the entries in record order (re-rendering any piece whose file no
 * longer matches).
 *
 * The pool of pages stays warm across the chunks of one batch. On
 * `close()` (SIGTERM) the worker takes no new chunk and finishes the one
 * it runs; a worker that dies leaves its chunk to BullMQ's stalled-job
 * check, which gives it to another worker once its lock lapses.
 *
 * @module
 */
import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Browser, LaunchOptions } from "../render/browser.ts";
import { BrowserHolder } from "../render/browser_holder.ts";
import { type Logger, silentLogger } from "../render/log.ts";
import type { JobStore } from "../batch/store.ts";
import { CancelledError, type WorkerOptions } from "../batch/worker.ts";
import {
  type BatchQueue,
  CHUNK_QUEUE,
  type ChunkJob,
  FINISH_QUEUE,
  type FinishJob,
  QUEUE_PREFIX,
  type QueueStats,
} from "./batch_queue.ts";
import { bullConnection } from "./connection.ts";
import { WarmPools } from "./_warm_pools.ts";
import { BatchJobs } from "./_batch_jobs.ts";

/** Options for {@linkcode QueueWorker}. */
export interface QueueWorkerOptions extends
  Pick<
    WorkerOptions,
    | "concurrency"
    | "thumbnail"
    | "allowRemoteAssets"
    | "metrics"
    | "onPiece"
    | "log"
  > {
  /** A browser to share (kept open), or how to launch one. */
  browser?: Browser | LaunchOptions;
  /**
   * A chunk whose worker has not renewed its lock for this long is given to
   * another worker, ms. @default 30000
   */
  staleAfterMs?: number;
  /**
   * At most `max` chunks start per `durationMs` over all workers of the
   * queue (BullMQ's limiter): for Chromium hosts shared with others.
   * @default no limit
   */
  rateLimit?: { max: number; durationMs: number };
  /** How often waiting batches with no flow are looked for, ms. @default 2000 */
  sweepMs?: number;
}

/** Renders queue mode's chunk and finish jobs until closed. */
export class QueueWorker implements AsyncDisposable {
  readonly id = `worker-${crypto.randomUUID().slice(0, 8)}`;
  #store: JobStore;
  #client: Redis;
  #url: string;
  #queue: BatchQueue;
  #options: QueueWorkerOptions;
  #log: Logger;
  #browsers: BrowserHolder;
  #workers: Worker[] = [];
  #pools = new WarmPools(() => {
    if (this.#options.metrics) this.#options.metrics.poolPages = 0;
  });
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #cancels = new Map<string, Set<AbortController>>();
  #closed = false;
  #jobs: BatchJobs;

  /**
   * A worker over `store` (whose key-value store is the Redis at `url`),
   * `client` a Redis client for its own commands (locks, pieces published),
   * `queue` the queue it dispatches waiting batches to.
   */
  constructor(
    store: JobStore,
    redis: { url: string; client: Redis; queue: BatchQueue },
    options: QueueWorkerOptions = {},
  ) {
    this.#store = store;
    this.#url = redis.url;
    this.#client = redis.client;
    this.#queue = redis.queue;
    this.#options = options;
    this.#browsers = new BrowserHolder(options.browser);
    this.#log = options.log ?? silentLogger;
    this.#jobs = new BatchJobs({
      workerId: this.id,
      store,
      client: redis.client,
      options,
      log: this.#log,
      browser: () => this.browser(),
      pools: this.#pools,
      cancels: this.#cancels,
    });
  }

  /** Whether http(s) template images may be fetched (public addresses only). */
  get allowRemoteAssets(): boolean {
    return this.#options.allowRemoteAssets ?? false;
  }

  /** The browser, launched on first use (one launch at a time). */
  browser(): Promise<Browser> {
    return this.#browsers.get();
  }

  /**
   * The version of the browser this worker runs, or undefined when none is
   * running; never launches one.
   */
  browserVersion(timeoutMs = 5000): Promise<string | undefined> {
    return this.#browsers.version(timeoutMs);
  }

  /** Queues the batches waiting with no flow now (a new batch was stored). */
  poke(): void {
    this.#sweep();
  }

  /** Stops the chunk of batch `id` this worker runs, if any, as cancelled. */
  cancel(id: string): void {
    for (const c of this.#cancels.get(id) ?? []) c.abort(new CancelledError());
  }

  /** The queue's jobs by state and its workers, for /metrics. */
  stats(): Promise<QueueStats> {
    return this.#queue.stats();
  }

  /** Starts taking jobs, and queueing waiting batches every `sweepMs`. */
  start(): void {
    if (this.#workers.length > 0 || this.#closed) return;
    const connection = bullConnection(this.#url, this.#log);
    const staleAfterMs = this.#options.staleAfterMs ?? 30_000;
    const common = {
      connection,
      prefix: QUEUE_PREFIX,
      lockDuration: staleAfterMs,
      stalledInterval: Math.max(1000, Math.round(staleAfterMs / 2)),
      // A chunk that stalls because its worker died is not at fault.
      maxStalledCount: 100,
      name: this.id,
    };
    const chunks = new Worker<ChunkJob>(
      CHUNK_QUEUE,
      (job, token) => this.#jobs.chunk(job, token),
      {
        ...common,
        // Two chunks at once share the pool: while one prints its last
        // records, the other keeps the pages busy.
        concurrency: 2,
        ...(this.#options.rateLimit && {
          limiter: {
            max: this.#options.rateLimit.max,
            duration: this.#options.rateLimit.durationMs,
          },
        }),
      },
    );
    chunks.on("failed", (job, error) => this.#jobs.chunkFailed(job, error));
    const finishes = new Worker<FinishJob>(
      FINISH_QUEUE,
      (job, token) => this.#jobs.finish(job, token),
      { ...common, concurrency: 1 },
    );
    for (const w of [chunks, finishes]) {
      let last = 0;
      w.on("error", (error) => {
        // Redis away: BullMQ reconnects and says so on every call; once a
        // few seconds is enough.
        if (Date.now() - last < 5000) return;
        last = Date.now();
        this.#log("warn", `Queue: ${error.message}; retrying`);
      });
    }
    this.#workers = [chunks, finishes];
    this.#sweep();
    this.#sweeper = setInterval(
      () => this.#sweep(),
      this.#options.sweepMs ?? 2000,
    );
  }

  #sweeping = false;

  #sweep(): void {
    if (this.#sweeping || this.#closed) return;
    this.#sweeping = true;
    this.#queue.sweep(this.#store)
      .then((n) => {
        if (n > 0) {
          this.#log(
            "info",
            `Queued ${n} batch${
              n === 1 ? "" : "es"
            } as chunks of ${this.#queue.chunk} records`,
          );
        }
      })
      .catch((error) =>
        this.#log(
          "warn",
          `Cannot queue waiting batches: ${(error as Error).message}`,
        )
      )
      .finally(() => this.#sweeping = false);
  }

  /**
   * Stops: takes no new job, finishes the chunk it runs, closes the pool
   * and the browser it launched. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    await Promise.all(this.#workers.map((w) => w.close()));
    await this.#pools.close();
    await this.#browsers.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
