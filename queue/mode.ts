/**
 * Queue mode for a process (`deno task serve --queue …`, `deno task worker
 * --queue …`): its flags, checked, and its parts — the job store on Redis
 * (batches, progress and the library) over the shared output root, the
 * BullMQ queue, and a worker for it.
 *
 * ```ts ignore
 * await using mode = await QueueMode.open(flags, { dataDir: "/mnt/pressrun" });
 * mode.worker.start();
 * ```
 *
 * @module
 */
import type { Redis } from "ioredis";
import { UsageError } from "../common/errors.ts";
import { JobStore } from "../batch/store.ts";
import { type Logger, silentLogger } from "../render/log.ts";
import { BatchQueue, DEFAULT_CHUNK_RECORDS } from "./batch_queue.ts";
import { queueUrl } from "./connection.ts";
import { relayPieces } from "./pieces.ts";
import { QueueWorker, type QueueWorkerOptions } from "./queue_worker.ts";
import { RedisKv } from "./redis_kv.ts";

/** Queue mode's flags as a process's command line gives them. */
export interface QueueFlags {
  /** `--queue URL`; else PRESSRUN_REDIS_URL. */
  queue?: string;
  /** `--chunk N`: records per chunk job. */
  chunk?: string;
  /** `--stale-after S`: a chunk whose worker is silent this long moves on. */
  "stale-after"?: string;
  /** `--rate-limit MAX/SECONDS`: chunks started over all workers. */
  "rate-limit"?: string;
}

/** Queue mode's settings, checked. */
export interface QueueSettings {
  url: string;
  chunk: number;
  staleAfterMs?: number;
  rateLimit?: { max: number; durationMs: number };
}

/** The usage lines of queue mode's flags, for serve's and worker's help. */
export const QUEUE_USAGE =
  `  --queue URL       queue mode: batches, progress and the library in the Redis
                    at URL (redis://HOST:PORT[/DB], or $PRESSRUN_REDIS_URL),
                    rendered by workers on any machine; --data-dir must be a
                    folder every machine mounts
  --chunk N         queue mode: records per chunk job (default: ${DEFAULT_CHUNK_RECORDS})
  --stale-after S   a running chunk (queue mode) or batch whose worker has been
                    silent S seconds is taken over (default: 30 queued, 5 embedded)
  --rate-limit M/S  queue mode: at most M chunks start per S seconds over all
                    workers (for Chromium hosts shared with others)`;

/**
 * Queue mode's settings from `flags`, or undefined for the embedded store.
 * @throws {UsageError} Naming the flag that is wrong.
 */
export function queueSettings(
  flags: QueueFlags,
  env?: { get(name: string): string | undefined },
): QueueSettings | undefined {
  const url = queueUrl(flags.queue, env);
  if (url === undefined) {
    for (const flag of ["chunk", "rate-limit"] as const) {
      if (flags[flag] !== undefined) {
        throw new UsageError(`--${flag} needs --queue (queue mode)`, {
          location: { field: `--${flag}` },
        });
      }
    }
    return undefined;
  }
  const chunk = flags.chunk === undefined
    ? DEFAULT_CHUNK_RECORDS
    : Number(flags.chunk);
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > 100_000) {
    throw new UsageError(
      `--chunk must be a whole number of records from 1 to 100000, got "${flags.chunk}"`,
      { location: { field: "--chunk" } },
    );
  }
  const stale = flags["stale-after"];
  const staleAfter = stale === undefined ? undefined : Number(stale);
  if (staleAfter !== undefined && !(staleAfter >= 1)) {
    throw new UsageError(
      `--stale-after must be a number of seconds of at least 1 in queue mode, got "${stale}"`,
      { location: { field: "--stale-after" } },
    );
  }
  return {
    url,
    chunk,
    staleAfterMs: staleAfter === undefined ? undefined : staleAfter * 1000,
    rateLimit: rateLimit(flags["rate-limit"]),
  };
}

/** `--rate-limit MAX/SECONDS`. */
function rateLimit(
  text: string | undefined,
): QueueSettings["rateLimit"] {
  if (text === undefined) return undefined;
  const m = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)\s*s?\s*$/.exec(text);
  const max = Number(m?.[1]);
  const seconds = Number(m?.[2]);
  if (!m || !(max >= 1) || !(seconds > 0)) {
    throw new UsageError(
      `--rate-limit must be MAX/SECONDS, as 10/60 for 10 chunks a minute, got "${text}"`,
      { location: { field: "--rate-limit" } },
    );
  }
  return { max, durationMs: Math.round(seconds * 1000) };
}

/** Options for {@linkcode QueueMode.open}. */
export interface QueueModeOptions
  extends Omit<QueueWorkerOptions, "staleAfterMs" | "rateLimit"> {
  /** The shared output root. */
  dataDir: string;
}

/** Queue mode's parts for one process. */
export class QueueMode implements AsyncDisposable {
  readonly store: JobStore;
  readonly worker: QueueWorker;
  readonly kv: RedisKv;
  readonly queue: BatchQueue;
  readonly settings: QueueSettings;
  #subscriber: Redis | undefined;
  #log: Logger;
  #closed = false;

  private constructor(
    parts: Pick<QueueMode, "store" | "worker" | "kv" | "queue" | "settings">,
    log: Logger,
  ) {
    this.store = parts.store;
    this.worker = parts.worker;
    this.kv = parts.kv;
    this.queue = parts.queue;
    this.settings = parts.settings;
    this.#log = log;
  }

  /**
   * Connects to the queue's Redis and opens the store over `dataDir`; the
   * worker is made, not started.
   * @throws {UsageError} If Redis cannot be reached (exit 2).
   */
  static async open(
    settings: QueueSettings,
    options: QueueModeOptions,
  ): Promise<QueueMode> {
    const log = options.log ?? silentLogger;
    const kv = await RedisKv.connect(settings.url, { log });
    try {
      const store = await JobStore.open(options.dataDir, { kv });
      const queue = BatchQueue.open(settings.url, {
        chunk: settings.chunk,
        log,
      });
      const worker = new QueueWorker(
        store,
        { url: settings.url, client: kv.client, queue },
        {
          ...options,
          staleAfterMs: settings.staleAfterMs,
          rateLimit: settings.rateLimit,
        },
      );
      return new QueueMode({ store, worker, kv, queue, settings }, log);
    } catch (error) {
      await kv.close();
      throw error;
    }
  }

  /** Relays every worker's finished records to `target` (`piece` events). */
  async relayPieces(target: EventTarget): Promise<void> {
    this.#subscriber ??= await this.kv.duplicate();
    await relayPieces(this.#subscriber, target, this.#log);
  }

  /** Stops the worker (its chunk finishes), then the connections. Safe twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.worker.close();
    await this.queue.close();
    this.#subscriber?.disconnect();
    await this.store.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
