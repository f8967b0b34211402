/**
 * Queue mode's jobs: a queued batch becomes a BullMQ flow — one chunk job
 * per `chunk` records under a finish job that BullMQ starts when every
 * chunk is done. A chunk's records are read from the batch's spreadsheet
 * once, here, and written to the batch folder on the shared output root
 * (`records/FROM-TO.json`), so a worker reads only its own.
 *
 * Queueing a batch is idempotent: the files are the same whoever writes
 * them, and the flow's job ids are fixed by the batch, its run and the
 * chunk (BullMQ adds a job whose id exists only once). So a server queues
 * a batch right after storing it, and every worker also queues any it
 * finds waiting with no flow (a server that died in between leaves none
 * behind).
 *
 * @module
 */
import { join } from "node:path";
import { FlowProducer, Queue } from "bullmq";
import { isTerminal } from "../common/rules.js";
import type { Logger } from "../render/log.ts";
import type { CsvRecord } from "../batch/csv.ts";
import { writeFileAtomic } from "../batch/output.ts";
import { readRecipients } from "../batch/recipients.ts";
import type { QueueCounts } from "../batch/metrics.ts";
import { type BatchStatus, type JobStore, runOf } from "../batch/store.ts";
import { type BullConnection, bullConnection } from "./connection.ts";

/** The queue of chunk jobs (records to render). */
export const CHUNK_QUEUE = "pressrun-chunks";
/** The queue of finish jobs (merged PDF, proof, press, manifest). */
export const FINISH_QUEUE = "pressrun-batches";
/** The prefix of BullMQ's keys in Redis. */
export const QUEUE_PREFIX = "pressrun:bull";
/** Records a chunk job renders, when not set: see the README's measurement. */
export const DEFAULT_CHUNK_RECORDS = 250;
/** Tries of a chunk job that throws (a crashed browser, say). */
export const CHUNK_ATTEMPTS = 3;

/** What a chunk job carries. */
export interface ChunkJob {
  batch: string;
  /** The batch's run (`runOf()`). */
  run: number;
  /** 1-based chunk number, and its records `from`–`to` (both included). */
  chunk: number;
  chunks: number;
  from: number;
  to: number;
  /** Its records' file, in the batch folder. */
  file: string;
}

/** What a finish job carries. */
export interface FinishJob {
  batch: string;
  run: number;
  chunks: number;
}

/** The queue's jobs by state and its workers, for /metrics. */
export type QueueStats = QueueCounts;

/** Options for {@linkcode BatchQueue.open}. */
export interface BatchQueueOptions {
  /** Records per chunk job. @default DEFAULT_CHUNK_RECORDS */
  chunk?: number;
  /** @default silent */
  log?: Logger;
}

/** Puts batches on the queue as flows; counts the queue's jobs. */
export class BatchQueue implements AsyncDisposable {
  #flow: FlowProducer;
  #chunks: Queue;
  #finishes: Queue;
  #chunk: number;
  #closed = false;

  private constructor(connection: BullConnection, chunk: number) {
    this.#chunk = chunk;
    const opts = { connection, prefix: QUEUE_PREFIX };
    this.#flow = new FlowProducer(opts);
    this.#chunks = new Queue(CHUNK_QUEUE, opts);
    this.#finishes = new Queue(FINISH_QUEUE, opts);
  }

  /** The queue on the Redis at `url` (already known to answer). */
  static open(url: string, options: BatchQueueOptions = {}): BatchQueue {
    const chunk = options.chunk ?? DEFAULT_CHUNK_RECORDS;
    if (!Number.isInteger(chunk) || chunk < 1) {
      throw new RangeError(`chunk must be a whole number ≥ 1, got ${chunk}`);
    }
    return new BatchQueue(bullConnection(url, options.log), chunk);
  }

  /** Records per chunk job. */
  get chunk(): number {
    return this.#chunk;
  }

  /**
   * Queues batch `id`'s run as a flow if it is queued with none yet; the
   * status as it is after. Safe to call again, from any process.
   */
  async dispatch(store: JobStore, id: string): Promise<BatchStatus> {
    const status = await store.batch(id);
    if (status.state !== "queued" || status.flow) return status;
    const run = runOf(status);
    const chunks = await writeChunks(store, status, this.#chunk);
    const flow = `${id}-${run}`;
    await this.#flow.add({
      name: "finish",
      queueName: FINISH_QUEUE,
      data: { batch: id, run, chunks: chunks.length } satisfies FinishJob,
      opts: {
        jobId: flow,
        removeOnComplete: { age: 86_400 },
        removeOnFail: { age: 7 * 86_400 },
      },
      children: chunks.map((c) => ({
        name: "chunk",
        queueName: CHUNK_QUEUE,
        data: { ...c, batch: id, run } satisfies ChunkJob,
        opts: {
          jobId: `${flow}-${c.chunk}`,
          attempts: CHUNK_ATTEMPTS,
          backoff: { type: "exponential", delay: 1000 },
          failParentOnFailure: true,
          removeOnComplete: { age: 86_400 },
          removeOnFail: { age: 7 * 86_400 },
        },
      })),
    });
    return await store.updateBatch(
      id,
      (s) => !s.flow && runOf(s) === run ? { flow } : {},
    );
  }

  /** Queues every batch that waits with no flow; how many it queued. */
  async sweep(store: JobStore): Promise<number> {
    let queued = 0;
    for (const b of await store.listBatches()) {
      if (b.state !== "queued" || b.flow) continue;
      const after = await this.dispatch(store, b.id);
      if (after.flow) queued++;
    }
    return queued;
  }

  /** Jobs by state in both queues, and the workers connected. */
  async stats(): Promise<QueueStats> {
    const states = [
      "waiting",
      "active",
      "delayed",
      "completed",
      "failed",
      "waiting-children",
      "prioritized",
    ] as const;
    const [chunks, finishes, workers] = await Promise.all([
      this.#chunks.getJobCounts(...states),
      this.#finishes.getJobCounts(...states),
      this.#chunks.getWorkersCount(),
    ]);
    return { chunks, finishes, workers };
  }

  /** Closes the Redis connections. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([
      this.#flow.close(),
      this.#chunks.close(),
      this.#finishes.close(),
    ]);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A chunk before it is a job: its number and records, and their file. */
type ChunkPlan = Omit<ChunkJob, "batch" | "run">;

/**
 * Reads the batch's records once and writes them, `size` a file, to its
 * folder's `records/`; the chunks in record order.
 */
async function writeChunks(
  store: JobStore,
  status: BatchStatus,
  size: number,
): Promise<ChunkPlan[]> {
  if (isTerminal(status.state)) return [];
  const dir = store.batchDir(status.id);
  const records = readRecipients(join(dir, "data.csv"), {
    encoding: status.options.encoding,
    sheet: status.options.sheet,
  });
  const chunks: ChunkPlan[] = [];
  const chunkCount = Math.ceil(status.total / size);
  let part: CsvRecord[] = [];
  const flush = async () => {
    const from = part[0]!.index;
    const to = part.at(-1)!.index;
    const file = `records/${from}-${to}.json`;
    await writeFileAtomic(
      join(dir, "records"),
      `${from}-${to}.json`,
      JSON.stringify(part),
    );
    chunks.push({
      chunk: chunks.length + 1,
      chunks: chunkCount,
      from,
      to,
      file,
    });
    part = [];
  };
  await Deno.mkdir(join(dir, "records"), { recursive: true });
  for await (const record of records) {
    if (record.index > status.total) break;
    part.push(record);
    if (part.length === size) await flush();
  }
  if (part.length > 0) await flush();
  return chunks;
}
