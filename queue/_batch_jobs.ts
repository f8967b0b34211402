/**
 * What a queue worker does with each job: a chunk's records rendered
 * (keeping those already done), and a batch's finish (its outputs from the
 * records' entries). See `queue_worker.ts` for the guarantees.
 *
 * @module
 */
import { join } from "node:path";
import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import { DiskFullError, LeaseLostError } from "../common/errors.ts";
import { isTerminal } from "../common/rules.js";
import type { Browser } from "../render/browser.ts";
import type { Logger } from "../render/log.ts";
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
import { type JobStore, type PartProgress, runOf } from "../batch/store.ts";
import {
  CancelledError,
  storedBatch,
  writeThumbnail,
} from "../batch/worker.ts";
import {
  CHUNK_ATTEMPTS,
  CHUNK_QUEUE,
  type ChunkJob,
  FINISH_QUEUE,
  type FinishJob,
  QUEUE_PREFIX,
} from "./batch_queue.ts";
import { publishPiece } from "./pieces.ts";
import type { QueueWorkerOptions } from "./queue_worker.ts";
import type { WarmPools } from "./_warm_pools.ts";

/** What the jobs run with: the worker's store, browser, pools and settings. */
export interface JobsContext {
  workerId: string;
  store: JobStore;
  /** For its own commands: locks read, pieces published. */
  client: Redis;
  options: QueueWorkerOptions;
  log: Logger;
  browser(): Promise<Browser>;
  pools: WarmPools;
  /** The controllers of the chunks running, by batch: a cancel aborts them. */
  cancels: Map<string, Set<AbortController>>;
}

/** The processors of a queue worker's chunk and finish jobs. */
export class BatchJobs {
  #c: JobsContext;

  constructor(context: JobsContext) {
    this.#c = context;
  }

  /** A chunk job: its records rendered, skipping those already done. */
  async chunk(job: Job<ChunkJob>, token?: string): Promise<string> {
    const { batch: id, run, chunk, chunks, from, to } = job.data;
    const store = this.#c.store;
    const log: Logger = (level, message, fields) =>
      this.#c.log(level, message, { batch: id, chunk, ...fields });
    let status = await store.batch(id);
    if (isTerminal(status.state) || runOf(status) !== run) {
      return `skipped: the batch is ${status.state}`;
    }
    if (status.cancelRequested) {
      await store.endRun(id, run, { state: "cancelled" });
      return "skipped: cancelled";
    }
    if (status.state === "queued") {
      status = await store.updateBatch(
        id,
        (s) =>
          s.state === "queued" && runOf(s) === run
            ? {
              state: "running",
              startedAt: s.startedAt ?? new Date().toISOString(),
              worker: this.#c.workerId,
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
    const fence = this.#fence(CHUNK_QUEUE, job, token, controller);
    const options = await storedBatch(store, status, this.#c.options);
    const warm = await this.#c.pools.acquire(id, () => this.#openPool(options));
    // Registered once nothing before the try can throw: the finally below
    // removes it.
    const cancels = this.#c.cancels.get(id) ?? new Set();
    cancels.add(controller);
    this.#c.cancels.set(id, cancels);
    let lastWrite = 0;
    let pending: Promise<unknown> = Promise.resolve();
    const report = (
      p: Pick<PartProgress, "done" | "failed" | "skipped" | "overset" | "mode">,
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
        browser: await this.#c.browser(),
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
            this.#c.options.metrics?.counted(entry);
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
      report({
        done: result.total,
        failed: result.failed,
        skipped: result.skipped,
        overset: result.overset,
        mode: result.mode,
      });
      await pending;
      log(
        "info",
        `Batch ${id}: chunk ${chunk} of ${chunks} done, ${result.rendered} rendered, ${result.failed} failed`,
      );
      return `${result.rendered} rendered, ${result.failed} failed`;
    } catch (error) {
      if (error instanceof BatchFailedError) {
        // The counts the batch fails with.
        const { rendered, failed, skipped, overset, mode } = error.result;
        await pending;
        report({
          done: rendered + failed + skipped,
          failed,
          skipped,
          overset,
          mode,
        });
        await pending;
      }
      return await this.#chunkEnded(
        { id, run },
        error,
        controller.signal.reason,
        log,
      );
    } finally {
      this.#c.pools.release(id);
      cancels.delete(controller);
      if (cancels.size === 0) this.#c.cancels.delete(id);
    }
  }

  /**
   * How a chunk that threw ends: the batch cancelled, or failed (a record
   * failed under `onError: "fail"`, or the disk is full) — the chunk job
   * itself completes; any other error is thrown for BullMQ to retry.
   */
  async #chunkEnded(
    { id, run }: { id: string; run: number },
    error: unknown,
    reason: unknown,
    log: Logger,
  ): Promise<string> {
    if (reason instanceof CancelledError) {
      await this.#c.store.endRun(id, run, { state: "cancelled" });
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
      await this.#c.store.endRun(id, run, { state: "failed", error: message });
      log("error", `Batch ${id}: ${message}`);
      return "failed";
    }
    log("error", `Batch ${id}: ${(error as Error)?.message ?? error}`);
    throw error;
  }

  /** A chunk that failed its last try fails its batch, naming it. */
  chunkFailed(job: Job<ChunkJob> | undefined, error: Error): void {
    if (!job || job.attemptsMade < (job.opts.attempts ?? CHUNK_ATTEMPTS)) {
      return;
    }
    const { batch, run, chunk, from, to } = job.data;
    this.#c.store.endRun(batch, run, {
      state: "failed",
      error:
        `Chunk ${chunk} (records ${from}–${to}) failed ${job.attemptsMade} times: ${error.message}`,
    }).catch((e) =>
      this.#c.log(
        "error",
        `Batch ${batch}: cannot record its failure: ${(e as Error).message}`,
      )
    );
  }

  /**
   * The finish job, once every chunk is done: merged.pdf, proof, press
   * outputs and manifest.json from the records' entries, and the batch done.
   */
  async finish(job: Job<FinishJob>, token?: string): Promise<string> {
    const { batch: id, run } = job.data;
    const store = this.#c.store;
    const log: Logger = (level, message, fields) =>
      this.#c.log(level, message, { batch: id, ...fields });
    const status = await store.batch(id);
    if (isTerminal(status.state) || runOf(status) !== run) {
      return `skipped: the batch is ${status.state}`;
    }
    if (status.cancelRequested) {
      await store.endRun(id, run, { state: "cancelled" });
      return "cancelled";
    }
    // Its chunks are done: their pool is not needed any more.
    await this.#c.pools.retire(id);
    const resume = await store.pieces(id);
    const controller = new AbortController();
    const fence = this.#fence(FINISH_QUEUE, job, token, controller);
    log("info", `Batch ${id}: every chunk done; writing its outputs`);
    try {
      const result = await runBatch({
        ...await storedBatch(store, status, this.#c.options),
        browser: await this.#c.browser(),
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
      await store.endRun(id, run, {
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
        await store.endRun(id, run, { state: "failed", error: error.message });
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
      const holder = await this.#c.client.get(key);
      if (holder === token) return;
      const lost = new LeaseLostError(
        `Job ${job.id} is no longer ${this.#c.workerId}'s (its lock lapsed); it stops`,
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
      await this.#c.browser(),
      await pageSpec(template, assets),
      {
        ...options,
        log: this.#c.log,
        rendering: {
          onMode: (mode) => {
            if (this.#c.options.metrics) {
              this.#c.options.metrics.poolPages = mode === "persistent"
                ? this.#c.options.concurrency ?? navigator.hardwareConcurrency
                : 0;
            }
          },
        },
      },
    );
  }

  /** Tells this process and every server of a finished record. */
  #told(batch: string, entry: ManifestEntry): void {
    this.#c.options.onPiece?.(batch, entry);
    publishPiece(this.#c.client, batch, entry).catch(() => {});
  }
}
