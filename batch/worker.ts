/**
 * The worker loop: claims queued batches from the store and renders them with
 * the shared core, one at a time, on one browser. A batch it was running when
 * its process died is taken up again (by it after a restart, or by another
 * worker) and finishes without re-rendering the pieces already done.
 *
 * @module
 */
import { join } from "node:path";
import { delay } from "../common/async.ts";
import { PressrunError } from "../common/errors.ts";
import { Browser, type LaunchOptions } from "../render/browser.ts";
import { type Logger, silentLogger } from "../render/log.ts";
import { BatchFailedError, runBatch } from "./run.ts";
import type { Metrics } from "./metrics.ts";
import type { BatchStatus, JobStore } from "./store.ts";
import type { ManifestEntry } from "./manifest.ts";

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

/** Renders queued batches until closed. */
export class BatchWorker implements AsyncDisposable {
  readonly id = `worker-${crypto.randomUUID().slice(0, 8)}`;
  #store: JobStore;
  #options: WorkerOptions;
  #log: Logger;
  #browser: Browser | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #current: { id: string; controller: AbortController } | undefined;
  /** Aborted to cut the idle wait short. */
  #wake = new AbortController();

  constructor(store: JobStore, options: WorkerOptions = {}) {
    this.#store = store;
    this.#options = options;
    this.#log = options.log ?? silentLogger;
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

  /** Starts the loop. */
  start(): void {
    this.#loop ??= this.#run();
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
    while (!this.#stopping) {
      let batch: BatchStatus | undefined;
      try {
        batch = await this.#store.claimNext(this.id, staleAfterMs);
      } catch (error) {
        this.#log(
          "error",
          `Cannot read the queue: ${(error as Error).message}`,
        );
      }
      if (batch) {
        await this.#render(batch);
        continue;
      }
      // Until the next poll, or a poke.
      await delay(this.#options.pollMs ?? 500, this.#wake.signal).catch(
        () => {},
      );
      this.#wake = new AbortController();
    }
  }

  async #render(batch: BatchStatus): Promise<void> {
    const { id } = batch;
    const store = this.#store;
    const controller = new AbortController();
    this.#current = { id, controller };
    const log: Logger = (level, message, fields) =>
      this.#log(level, message, { batch: id, ...fields });
    const resume = await store.pieces(id);
    const kept = [...resume.values()].filter((e) => e.status === "ok").length;
    log(
      "info",
      `Batch ${id}: starting${kept ? ` (${kept} pieces already done)` : ""}`,
    );
    const beat = setInterval(() => {
      store.heartbeat(id)
        .then((s) => {
          if (s.cancelRequested) controller.abort(new CancelledError());
        })
        .catch(() => {});
    }, 1000);
    let lastWrite = 0;
    const metrics = this.#options.metrics;
    const dir = store.batchDir(id);
    let fellBack = false;
    try {
      const result = await runBatch({
        template: await store.batchTemplatePath(id),
        data: join(dir, "data.csv"),
        out: join(dir, "out"),
        renderer: batch.options.renderer,
        pdfMode: batch.options.pdfMode,
        chunkSize: batch.options.chunkSize,
        merge: batch.options.merge,
        onError: batch.options.onError,
        concurrency: this.#options.concurrency,
        browser: await this.browser(),
        resume,
        thumbnail: this.#options.thumbnail ?? 320,
        assets: { allowRemote: this.#options.allowRemoteAssets ?? false },
        signal: controller.signal,
        log,
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
          await store.putPiece(id, entry);
          if (piece?.thumbnail) {
            await Deno.writeFile(
              join(dir, "thumbs", `${entry.index}.png`),
              piece.thumbnail,
            );
          }
          if (piece && metrics) {
            if (entry.status === "ok") {
              metrics.piecesRendered++;
              metrics.observe((entry.ms ?? 0) / 1000);
            } else metrics.piecesFailed++;
          }
          this.#options.onPiece?.(id, entry);
        },
        onProgress: (p) => {
          const now = performance.now();
          if (now - lastWrite < 200 && p.done < p.total) return;
          lastWrite = now;
          store.progress(id, p).catch(() => {});
        },
      });
      // With onError "fail" a failed record throws (below); here it is done.
      await store.finish(id, {
        state: "done",
        total: result.total,
        failed: result.failed,
        mode: result.mode,
        merged: result.manifest.merged !== undefined,
      });
      log(
        "info",
        `Batch ${id}: done, ${result.rendered} rendered, ${result.failed} failed`,
      );
    } catch (error) {
      const reason = controller.signal.reason;
      if (reason instanceof CancelledError) {
        await store.finish(id, { state: "cancelled" });
        log("info", `Batch ${id}: cancelled`);
      } else if (reason instanceof ShutdownError) {
        // Checkpointed: the pieces done are stored; the batch waits in the
        // queue and resumes on the next start.
        await store.requeue(id);
        log("info", `Batch ${id}: stopped for shutdown, will resume`);
      } else {
        const failed = error instanceof BatchFailedError
          ? error.result.failed
          : undefined;
        await store.finish(id, {
          state: "failed",
          failed,
          error: (error as Error).message,
        });
        log("error", `Batch ${id}: ${(error as Error).message}`);
      }
    } finally {
      clearInterval(beat);
      if (metrics) metrics.poolPages = 0;
      this.#current = undefined;
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
    await this.#browser?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
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
