/**
 * The worker loop: claims queued batches from the store and renders them with
 * the shared core, one at a time, on one browser. A batch it was running when
 * its process died is taken up again (by it after a restart, or by another
 * worker) and finishes without re-rendering the pieces already done (those
 * whose files still match their entries).
 *
 * A claim is a lease: a thread of its own renews it (a busy main thread
 * cannot lose it), and every write for the batch — a piece's file, its
 * entry, the progress, the end — first checks that the lease still holds.
 * A worker that was silent long enough for another to take its batch over
 * stops rendering it and writes nothing more for it.
 *
 * A full disk ends the batch as failed ("disk full"; `retry()` resumes it
 * once there is room) and the worker takes no batch until the data folder
 * has room again. Nothing that goes wrong with one batch stops the loop.
 *
 * @module
 */
import { join } from "node:path";
import { delay } from "../common/async.ts";
import {
  DiskFullError,
  LeaseLostError,
  PressrunError,
} from "../common/errors.ts";
import type { Browser, LaunchOptions } from "../render/browser.ts";
import { BrowserHolder } from "../render/browser_holder.ts";
import { type Logger, silentLogger } from "../render/log.ts";
import { loadTemplate } from "../template/parse.ts";
import { PRESS_FIELDS } from "./_press.ts";
import { BatchFailedError, type BatchOptions, runBatch } from "./run.ts";
import type { RenderedPiece } from "../render/render_page.ts";
import type { Metrics, QueueCounts } from "./metrics.ts";
import type { BatchStatus, ClaimedBatch, JobStore } from "./store.ts";
import type { ManifestEntry } from "./manifest.ts";
import { writeFileAtomic } from "./output.ts";
import { Heartbeat } from "./_heartbeat.ts";

/** Options for {@linkcode BatchWorker}. */
export interface WorkerOptions {
  /** A browser to share (kept open), or how to launch one. */
  browser?: Browser | LaunchOptions;
  /** Pages of the pool. @default cores */
  concurrency?: number;
  /** How often an idle worker looks for work, ms. @default 500 */
  pollMs?: number;
  /** A running batch whose worker is silent this long is taken over, ms. @default 5000 */
  staleAfterMs?: number;
  /** How often the lease of the running batch is renewed, ms. @default 1000 */
  heartbeatMs?: number;
  /**
   * The lease is no longer renewed once this process's main thread has been
   * stuck this long, ms (see `Heartbeat`). @default 120000
   */
  maxStallMs?: number;
  /** Width of piece thumbnails, px. @default 320 */
  thumbnail?: number;
  /** Fetch http(s) template images (public addresses only). @default false */
  allowRemoteAssets?: boolean;
  metrics?: Metrics;
  /** Told of every finished record of any batch. */
  onPiece?: (batch: string, entry: ManifestEntry) => void;
  /** @default silent */
  log?: Logger;
}

/**
 * What the server needs of whatever runs its batches: the embedded
 * {@linkcode BatchWorker}, or queue mode's `QueueWorker`.
 */
export interface BatchRunner {
  /** Whether http(s) template images may be fetched (public addresses only). */
  readonly allowRemoteAssets: boolean;
  /** A browser for previews (launched on first use). */
  browser(): Promise<Browser>;
  /** The running browser's version, or undefined; never launches one. */
  browserVersion(timeoutMs?: number): Promise<string | undefined>;
  /** A batch was queued or retried: take it up now, not at the next poll. */
  poke(): void;
  /** Batch `id` is to stop, if this process runs it. */
  cancel(id: string): void;
  /** Queue mode: the queue's jobs and workers, for /metrics. */
  stats?(): Promise<QueueCounts>;
}

/** Renders queued batches until closed. */
export class BatchWorker implements AsyncDisposable, BatchRunner {
  readonly id = `worker-${crypto.randomUUID().slice(0, 8)}`;
  #store: JobStore;
  #options: WorkerOptions;
  #log: Logger;
  #browsers: BrowserHolder;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #current: { id: string; controller: AbortController } | undefined;
  /** Renews the running batch's lease off the main thread; made on first use. */
  #heartbeat: Heartbeat | undefined;
  /** Aborted to cut the idle wait short. */
  #wake = new AbortController();

  constructor(store: JobStore, options: WorkerOptions = {}) {
    this.#store = store;
    this.#options = options;
    this.#browsers = new BrowserHolder(options.browser);
    this.#log = options.log ?? silentLogger;
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

  /** Starts the loop. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** The heartbeat thread, started with the first batch claimed. */
  #startHeartbeat(): Heartbeat {
    const heartbeat = Heartbeat.start({
      kvPath: this.#store.kvPath,
      everyMs: this.#options.heartbeatMs,
      maxStallMs: this.#options.maxStallMs,
    });
    heartbeat.ready.then(() =>
      this.#log(
        "debug",
        `Worker ${this.id}: the heartbeat thread is up (leases are renewed off the main thread)`,
      )
    );
    return heartbeat;
  }

  /** Looks for work now instead of at the next poll. */
  poke(): void {
    this.#wake.abort();
  }

  /** Asks the batch to stop if this worker runs it; the state becomes cancelled. */
  cancel(id: string): void {
    if (this.#current?.id === id) {
      this.#current.controller.abort(new CancelledError());
    }
  }

  async #run(): Promise<void> {
    const staleAfterMs = this.#options.staleAfterMs ?? 5_000;
    let waitingForRoom = false;
    while (!this.#stopping) {
      let batch: ClaimedBatch | undefined;
      try {
        const room = await this.#store.hasRoom();
        if (room === waitingForRoom) {
          waitingForRoom = !room;
          this.#log(
            room ? "info" : "warn",
            room
              ? `The data folder ${this.#store.dir} has room again: taking batches`
              : `The data folder ${this.#store.dir} is nearly full: no batch is taken until there is room`,
          );
        }
        if (room) batch = await this.#store.claimNext(this.id, staleAfterMs);
      } catch (error) {
        this.#log(
          "error",
          `Cannot read the queue: ${(error as Error).message}`,
        );
      }
      if (batch) {
        try {
          await this.#render(batch);
        } catch (error) {
          // #render records every end itself; this is a bug, not a reason to
          // stop taking batches.
          this.#log(
            "error",
            `Batch ${batch.id}: ${(error as Error)?.stack ?? error}`,
            { batch: batch.id },
          );
        }
        continue;
      }
      // Until the next poll, or a poke.
      await delay(this.#options.pollMs ?? 500, this.#wake.signal).catch(
        () => {},
      );
      this.#wake = new AbortController();
    }
  }

  async #render(batch: ClaimedBatch): Promise<void> {
    const { id, lease } = batch;
    const store = this.#store;
    const controller = new AbortController();
    this.#current = { id, controller };
    const log: Logger = (level, message, fields) =>
      this.#log(level, message, { batch: id, ...fields });
    // Renewed by the heartbeat thread (a blocked main thread cannot stop it)
    // and from here (which covers the thread's start); stopped before the
    // run's end is recorded.
    const beat = this.#beat(batch, controller);
    // Before a file takes its final name, and on every store write: is the
    // batch still this worker's? If not, the run stops.
    const fence = async () => {
      const reason = controller.signal.reason;
      if (reason instanceof LeaseLostError) throw reason;
      await this.#holding(store.checkLease(lease), controller);
    };
    try {
      const resume = await store.pieces(id);
      const kept = [...resume.values()].filter((e) => e.status === "ok")
        .length;
      log(
        "info",
        `Batch ${id}: starting${kept ? ` (${kept} pieces already done)` : ""}`,
      );
      const result = await this.#runBatch(batch, {
        resume,
        controller,
        fence,
        log,
      });
      beat.stop();
      // With onError "fail" a failed record throws (below); here it is done.
      await store.finish(id, {
        state: "done",
        total: result.total,
        failed: result.failed,
        skipped: result.skipped,
        overset: result.overset,
        mode: result.mode,
        merged: result.manifest.merged !== undefined,
      }, lease);
      log(
        "info",
        `Batch ${id}: done, ${result.rendered} rendered, ${result.failed} failed`,
      );
    } catch (error) {
      beat.stop();
      await this.#ended(batch, error, controller.signal.reason, log);
    } finally {
      if (this.#options.metrics) this.#options.metrics.poolPages = 0;
      this.#current = undefined;
    }
  }

  /**
   * Renews `batch`'s lease until `stop()`: on the heartbeat thread, and
   * from this thread every `heartbeatMs`. A cancel request or the lease
   * lost aborts `controller`.
   */
  #beat(batch: ClaimedBatch, controller: AbortController): { stop(): void } {
    const { id, lease } = batch;
    const heartbeat = this.#heartbeat ??= this.#startHeartbeat();
    heartbeat.hold(lease, {
      cancel: () => controller.abort(new CancelledError()),
      lost: (error) => controller.abort(error),
    });
    const timer = setInterval(() => {
      this.#holding(this.#store.heartbeat(id, lease), controller)
        .then((s) => {
          if (s.cancelRequested) controller.abort(new CancelledError());
        })
        .catch(() => {});
    }, this.#options.heartbeatMs ?? 1000);
    let stopped = false;
    return {
      stop() {
        if (stopped) return;
        stopped = true;
        clearInterval(timer);
        heartbeat.release();
      },
    };
  }

  /** Runs the batch's records, writing each piece's entry under `lease`. */
  async #runBatch(
    batch: ClaimedBatch,
    run: {
      resume: Map<number, ManifestEntry>;
      controller: AbortController;
      fence: () => Promise<void>;
      log: Logger;
    },
  ) {
    const { id, lease } = batch;
    const { controller, fence } = run;
    const store = this.#store;
    const metrics = this.#options.metrics;
    const dir = store.batchDir(id);
    let lastWrite = 0;
    let fellBack = false;
    return await runBatch({
      ...await storedBatch(store, batch, this.#options),
      browser: await this.browser(),
      resume: run.resume,
      signal: controller.signal,
      fence,
      log: run.log,
      rendering: {
        onMode: (mode) => {
          if (metrics) {
            metrics.poolPages = mode === "persistent"
              ? this.#options.concurrency ?? navigator.hardwareConcurrency
              : 0;
          }
          if (
            mode === "cluster" && metrics && !fellBack &&
            batch.options.renderer === "auto"
          ) {
            fellBack = true;
            metrics.fallbacks++;
          }
        },
      },
      onRecord: async (entry, piece) => {
        await writeThumbnail(dir, entry, piece, fence);
        await this.#holding(store.putPiece(id, entry, lease), controller);
        if (piece) metrics?.counted(entry);
        this.#options.onPiece?.(id, entry);
      },
      onProgress: (p) => {
        const now = performance.now();
        if (now - lastWrite < 200 && p.done < p.total) return;
        lastWrite = now;
        this.#holding(store.progress(id, p, lease), controller).catch(
          () => {},
        );
      },
    });
  }

  /** `write`; a lost lease also stops the run (aborts `controller`). */
  async #holding<T>(
    write: Promise<T>,
    controller: AbortController,
  ): Promise<T> {
    try {
      return await write;
    } catch (error) {
      if (error instanceof LeaseLostError) controller.abort(error);
      throw error;
    }
  }

  /**
   * Records how a run that threw ended: cancelled, back in the queue for a
   * shutdown, or failed (a full disk as "disk full"). A worker that lost
   * its lease records nothing. Never throws: a write that fails is logged.
   */
  async #ended(
    batch: ClaimedBatch,
    error: unknown,
    reason: unknown,
    log: Logger,
  ): Promise<void> {
    const { id, lease } = batch;
    const store = this.#store;
    try {
      if (reason instanceof LeaseLostError || error instanceof LeaseLostError) {
        const lost = reason instanceof LeaseLostError ? reason : error;
        log("warn", `Batch ${id}: ${(lost as Error).message}`);
      } else if (reason instanceof CancelledError) {
        await store.finish(id, { state: "cancelled" }, lease);
        log("info", `Batch ${id}: cancelled`);
      } else if (reason instanceof ShutdownError) {
        // Checkpointed: the pieces done are stored; the batch waits in the
        // queue and resumes on the next start.
        await store.requeue(id, lease);
        log("info", `Batch ${id}: stopped for shutdown, will resume`);
      } else {
        const failed = error instanceof BatchFailedError
          ? error.result.failed
          : undefined;
        const message = error instanceof DiskFullError
          ? `${error.message}; free some space and retry the batch`
          : (error as Error).message;
        await store.finish(
          id,
          { state: "failed", failed, error: message },
          lease,
        );
        log("error", `Batch ${id}: ${message}`);
      }
    } catch (writeError) {
      log(
        "error",
        `Batch ${id}: cannot record how it ended (${
          (error as Error)?.message ?? error
        }): ${(writeError as Error).message}`,
      );
    }
  }

  /**
   * Stops: takes no more batches, stops the one running (its finished pieces
   * stay; it resumes later), closes the browser it launched. Safe twice.
   */
  async close(): Promise<void> {
    this.#stopping = true;
    this.#current?.controller.abort(new ShutdownError());
    this.#wake.abort();
    await this.#loop;
    await this.#heartbeat?.close();
    await this.#browsers.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** What every worker renders with, whatever runs its batches. */
export type WorkerSettings = Pick<
  WorkerOptions,
  "concurrency" | "thumbnail" | "allowRemoteAssets"
>;

/**
 * The options of `runBatch` for a stored batch, as its request asked and
 * as `settings` say: its template (named as its user knows it, not by its
 * path in the data folder), data, output folder and choices.
 */
export async function storedBatch(
  store: JobStore,
  batch: BatchStatus,
  settings: WorkerSettings,
): Promise<BatchOptions> {
  const dir = store.batchDir(batch.id);
  return {
    template: await loadTemplate(await store.batchTemplatePath(batch.id), {
      source: batch.template.name,
      page: batch.options.page,
    }),
    data: join(dir, "data.csv"),
    out: join(dir, "out"),
    renderer: batch.options.renderer,
    pdfMode: batch.options.pdfMode,
    chunkSize: batch.options.chunkSize,
    merge: batch.options.merge,
    onError: batch.options.onError,
    onOverset: batch.options.onOverset,
    encoding: batch.options.encoding,
    sheet: batch.options.sheet,
    recordKeys: batch.options.recordKeys,
    proof: batch.options.proof,
    press: batch.options.press,
    pdfx: batch.options.pdfx,
    pressNames: PRESS_FIELDS,
    concurrency: settings.concurrency,
    thumbnail: settings.thumbnail ?? 320,
    assets: { allowRemote: settings.allowRemoteAssets ?? false },
  };
}

/** Writes a rendered piece's thumbnail (if it has one) to the batch's thumbs/. */
export async function writeThumbnail(
  dir: string,
  entry: ManifestEntry,
  piece: RenderedPiece | undefined,
  fence?: () => Promise<void>,
): Promise<void> {
  if (!piece?.thumbnail) return;
  await writeFileAtomic(
    join(dir, "thumbs"),
    `${entry.index}.png`,
    piece.thumbnail,
    { beforeRename: fence },
  );
}

/** The batch was cancelled by a user. */
export class CancelledError extends PressrunError {
  override name = "CancelledError";
  constructor() {
    super("The batch was cancelled");
  }
}

/** The worker is shutting down. */
export class ShutdownError extends PressrunError {
  override name = "ShutdownError";
  constructor() {
    super("The worker is shutting down");
  }
}
