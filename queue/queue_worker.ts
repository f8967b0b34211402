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
import { join } from "node:path";
import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { deadline } from "../common/async.ts";
import { DiskFullError, LeaseLostError } from "../common/errors.ts";
import { isTerminal } from "../common/rules.js";
import { Browser, type LaunchOptions } from "../render/browser.ts";
import { type Logger, silentLogger } from "../render/log.ts";
import type { Renderer } from "../render/renderer.ts";
import { AssetResolver } from "../template/assets.ts";
import { pageSpec } from "../template/page_spec.ts";
import type { Template } from "../template/parse.ts";
import type { CsvRecord } from "../batch/csv.ts";
import type { ManifestEntry } from "../batch/manifest.ts";
import {
  BatchFailedError,
  type BatchOptions,
  batchRenderer,
  runBatch,
} from "../batch/run.ts";
import type { JobStore } from "../batch/store.ts";
import {
  CancelledError,
  storedBatch,
  type WorkerOptions,
  writeThumbnail,
} from "../batch/worker.ts";
import {
  BatchQueue,
  CHUNK_ATTEMPTS,
  CHUNK_QUEUE,
  type ChunkJob,
  FINISH_QUEUE,
  type FinishJob,
  QUEUE_PREFIX,
  type QueueStats,
} from "./batch_queue.ts";
import { bullConnection } from "./connection.ts";
import { publishPiece } from "./pieces.ts";
import { WarmPools } from "./_warm_pools.ts";

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
  #browser: Browser | undefined;
  #workers: Worker[] = [];
  #pools = new WarmPools(() => {
    if (this.#options.metrics) this.#options.metrics.poolPages = 0;
  });
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #cancels = new Map<string, Set<AbortController>>();
  #closed = false;

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
    this.#log = options.log ?? silentLogger;
  }

  /** Whether http(s) template images may be fetched (public addresses only). */
  get allowRemoteAssets(): boolean {
    return this.#options.allowRemoteAssets ?? false;
  }

  /** The browser, launched on first use. */
  async browser(): Promise<Browser> {
    if (this.#options.browser instanceof Browser) return this.#options.browser;
    if (!this.#browser || !this.#browser.connected) {
      await this.#browser?.close();
      this.#browser = await Browser.launch(this.#options.browser);
    }
    return this.#browser;
  }

  /** The running browser's version, or undefined; never launches one. */
  async browserVersion(timeoutMs = 5000): Promise<string | undefined> {
    const browser = this.#options.browser instanceof Browser
      ? this.#options.browser
      : this.#browser;
    if (!browser?.connected) return undefined;
    return await deadline(browser.puppeteer.version(), timeoutMs);
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
      (job, token) => this.#chunk(job, token),
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
    chunks.on("failed", (job, error) => this.#chunkFailed(job, error));
    const finishes = new Worker<FinishJob>(
      FINISH_QUEUE,
      (job, token) => this.#finish(job, token),
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

  /** A chunk job: its records rendered, skipping those already done. */
  async #chunk(job: Job<ChunkJob>, token?: string): Promise<string> {
    const { batch: id, run, chunk, chunks, from, to } = job.data;
    const store = this.#store;
    const log: Logger = (level, message, fields) =>
      this.#log(level, message, { batch: id, chunk, ...fields });
    let status = await store.batch(id);
    if (isTerminal(status.state) || (status.runs ?? 0) !== run) {
      return `skipped: the batch is ${status.state}`;
    }
    if (status.cancelRequested) {
      await store.finish(id, { state: "cancelled" });
      return "skipped: cancelled";
    }
    if (status.state === "queued") {
      status = await store.updateBatch(
        id,
        (s) =>
          s.state === "queued"
            ? {
              state: "running",
              startedAt: s.startedAt ?? new Date().toISOString(),
              worker: this.id,
            }
            : {},
      );
    }
    const dir = store.batchDir(id);
    const records = JSON.parse(
      await Deno.readTextFile(join(dir, job.data.file)),
    ) as CsvRecord[];
    const resume = await store.pieces(id, { from, to });
    const kept = [...resume.values()].filter((e) => e.status === "ok").length;
    log(
      "info",
      `Batch ${id}: chunk ${chunk} of ${chunks}, records ${from}–${to}${
        kept ? ` (${kept} already done)` : ""
      }`,
    );
    const controller = new AbortController();
    const cancels = this.#cancels.get(id) ?? new Set();
    cancels.add(controller);
    this.#cancels.set(id, cancels);
    const fence = this.#fence(CHUNK_QUEUE, job, token, controller);
    const options = await storedBatch(store, status, this.#options);
    const warm = await this.#pools.acquire(id, () => this.#openPool(options));
    let lastWrite = 0;
    let pending: Promise<unknown> = Promise.resolve();
    const report = (
      p: { done: number; failed: number; mode: "persistent" | "cluster" },
    ) => {
      pending = store.partProgress(id, { run, from, ...p })
        .then((s) => {
          if (s.cancelRequested) controller.abort(new CancelledError());
        })
        .catch((error) =>
          log("warn", `Cannot record progress: ${(error as Error).message}`)
        );
    };
    try {
      const result = await runBatch({
        ...options,
        merge: false,
        proof: false,
        press: undefined,
        part: { records, total: status.total },
        browser: await this.browser(),
        warm,
        resume,
        signal: controller.signal,
        fence,
        log,
        onRecord: async (entry, piece) => {
          if (resume.get(entry.index) === entry) return; // kept as it was
          await writeThumbnail(dir, entry, piece, fence);
          await fence();
          await store.putPiece(id, entry);
          if (piece || entry.status === "failed") {
            this.#options.metrics?.counted(entry);
          }
          this.#told(id, entry);
        },
        onProgress: (p) => {
          const now = performance.now();
          if (now - lastWrite < 250 && p.done < p.total) return;
          lastWrite = now;
          report(p);
        },
      });
      await pending;
      report({ done: result.total, failed: result.failed, mode: result.mode });
      await pending;
      log(
        "info",
        `Batch ${id}: chunk ${chunk} of ${chunks} done, ${result.rendered} rendered, ${result.failed} failed`,
      );
      return `${result.rendered} rendered, ${result.failed} failed`;
    } catch (error) {
      if (error instanceof BatchFailedError) {
        // The counts the batch fails with.
        const { rendered, failed, mode } = error.result;
        await pending;
        report({ done: rendered + failed, failed, mode });
        await pending;
      }
      return await this.#chunkEnded(id, error, controller.signal.reason, log);
    } finally {
      this.#pools.release(id);
      cancels.delete(controller);
      if (cancels.size === 0) this.#cancels.delete(id);
    }
  }

  /**
   * How a chunk that threw ends: the batch cancelled, or failed (a record
   * failed under `onError: "fail"`, or the disk is full) — the chunk job
   * itself completes; any other error is thrown for BullMQ to retry.
   */
  async #chunkEnded(
    id: string,
    error: unknown,
    reason: unknown,
    log: Logger,
  ): Promise<string> {
    if (reason instanceof CancelledError) {
      await this.#end(id, { state: "cancelled" });
      log("info", `Batch ${id}: cancelled`);
      return "cancelled";
    }
    if (reason instanceof LeaseLostError || error instanceof LeaseLostError) {
      // Another worker has the chunk now: it writes the rest.
      log("warn", `Batch ${id}: ${((reason ?? error) as Error).message}`);
      throw error;
    }
    if (error instanceof BatchFailedError || error instanceof DiskFullError) {
      const message = error instanceof DiskFullError
        ? `${error.message}; free some space and retry the batch`
        : error.message;
      await this.#end(id, { state: "failed", error: message });
      log("error", `Batch ${id}: ${message}`);
      return "failed";
    }
    log("error", `Batch ${id}: ${(error as Error)?.message ?? error}`);
    throw error;
  }

  /** Ends the batch unless it has ended already. */
  async #end(
    id: string,
    end: Parameters<JobStore["finish"]>[1],
  ): Promise<void> {
    if (isTerminal((await this.#store.batch(id)).state)) return;
    await this.#store.finish(id, end);
  }

  /** A chunk that failed its last try fails its batch, naming it. */
  #chunkFailed(job: Job<ChunkJob> | undefined, error: Error): void {
    if (!job || job.attemptsMade < (job.opts.attempts ?? CHUNK_ATTEMPTS)) {
      return;
    }
    const { batch, chunk, from, to } = job.data;
    this.#end(batch, {
      state: "failed",
      error:
        `Chunk ${chunk} (records ${from}–${to}) failed ${job.attemptsMade} times: ${error.message}`,
    }).catch((e) =>
      this.#log(
        "error",
        `Batch ${batch}: cannot record its failure: ${(e as Error).message}`,
      )
    );
  }

  /**
   * The finish job, once every chunk is done: merged.pdf, proof, press
   * outputs and manifest.json from the records' entries, and the batch done.
   */
  async #finish(job: Job<FinishJob>, token?: string): Promise<string> {
    const { batch: id, run } = job.data;
    const store = this.#store;
    const log: Logger = (level, message, fields) =>
      this.#log(level, message, { batch: id, ...fields });
    const status = await store.batch(id);
    if (isTerminal(status.state) || (status.runs ?? 0) !== run) {
      return `skipped: the batch is ${status.state}`;
    }
    if (status.cancelRequested) {
      await this.#end(id, { state: "cancelled" });
      return "cancelled";
    }
    // Its chunks are done: their pool is not needed any more.
    await this.#pools.retire(id);
    const resume = await store.pieces(id);
    const controller = new AbortController();
    const fence = this.#fence(FINISH_QUEUE, job, token, controller);
    log("info", `Batch ${id}: every chunk done; writing its outputs`);
    try {
      const result = await runBatch({
        ...await storedBatch(store, status, this.#options),
        browser: await this.browser(),
        resume,
        keepFailed: true,
        signal: controller.signal,
        fence,
        log,
        onRecord: async (entry, piece) => {
          // Only a piece whose file was missing or damaged renders here.
          if (resume.get(entry.index) === entry) return;
          await writeThumbnail(store.batchDir(id), entry, piece, fence);
          await store.putPiece(id, entry);
          this.#told(id, entry);
        },
      });
      await fence();
      await store.finish(id, {
        state: "done",
        total: result.total,
        failed: result.failed,
        mode: result.mode,
        merged: result.manifest.merged !== undefined,
      });
      log(
        "info",
        `Batch ${id}: done, ${
          result.total - result.failed
        } pieces, ${result.failed} failed`,
      );
      return "done";
    } catch (error) {
      if (error instanceof BatchFailedError || error instanceof DiskFullError) {
        await this.#end(id, { state: "failed", error: error.message });
        log("error", `Batch ${id}: ${error.message}`);
        return "failed";
      }
      throw error;
    }
  }

  /**
   * Before a file takes its final name or an entry is written: the job's
   * BullMQ lock must still be this worker's; if not, the run stops.
   */
  #fence(
    queue: string,
    job: Job,
    token: string | undefined,
    controller: AbortController,
  ): () => Promise<void> {
    const key = `${QUEUE_PREFIX}:${queue}:${job.id}:lock`;
    return async () => {
      const reason = controller.signal.reason;
      if (reason instanceof LeaseLostError) throw reason;
      if (token === undefined) return;
      const holder = await this.#client.get(key);
      if (holder === token) return;
      const lost = new LeaseLostError(
        `Job ${job.id} is no longer ${this.id}'s (its lock lapsed); it stops`,
      );
      controller.abort(lost);
      throw lost;
    };
  }

  /** A pool of pages for batch `id`'s options and template. */
  async #openPool(options: BatchOptions): Promise<Renderer> {
    const template = options.template as Template;
    const assets = new AssetResolver(template.baseDir, options.assets);
    return await batchRenderer(
      await this.browser(),
      await pageSpec(template, assets),
      {
        ...options,
        log: this.#log,
        rendering: {
          onMode: (mode) => {
            if (this.#options.metrics) {
              this.#options.metrics.poolPages = mode === "persistent"
                ? this.#options.concurrency ?? navigator.hardwareConcurrency
                : 0;
            }
          },
        },
      },
    );
  }

  /** Tells this process and every server of a finished record. */
  #told(batch: string, entry: ManifestEntry): void {
    this.#options.onPiece?.(batch, entry);
    publishPiece(this.#client, batch, entry).catch(() => {});
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
    await this.#browser?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

