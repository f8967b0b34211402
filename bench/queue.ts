/**
 * `deno task bench --queue`: one print-size batch of vector PDF pieces (no
 * merge) run three ways on this machine, in turn and a few times over —
 * the embedded worker (Deno KV), queue mode (Redis + BullMQ) with one
 * worker process, and queue mode with two worker processes sharing the
 * same pages — then the Redis work a chunk makes without rendering, and
 * what N machines on one Redis would do.
 *
 * Every worker is a `worker.ts` process of its own, started and waiting
 * before the batch is submitted: its Chromium launch and page pool are
 * inside the wall time, alike for each run. Wall time runs from the batch
 * stored (and, in queue mode, queued) to its state "done".
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Job, Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { ManifestEntry } from "../batch/manifest.ts";
import { type BatchRunOptions, JobStore, runOf } from "../batch/store.ts";
import { deadline, delay } from "../common/async.ts";
import {
  CHUNK_QUEUE,
  type ChunkJob,
  DEFAULT_CHUNK_RECORDS,
  QUEUE_PREFIX,
} from "../queue/batch_queue.ts";
import { bullConnection } from "../queue/connection.ts";
import { QueueMode } from "../queue/mode.ts";
import { publishPiece } from "../queue/pieces.ts";
import { startRedis } from "../tests/_redis.ts";
import { writeBenchData } from "./data.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** How often the batch's state is read while it runs, ms. */
const POLL_MS = 50;
/** How long a worker process has to say it is waiting, ms. */
const READY_TIMEOUT_MS = 30_000;
/** How long a worker has to stop after SIGTERM before SIGKILL, ms. */
const STOP_TIMEOUT_MS = 30_000;
/** A chunk's progress is written at most this often (QueueWorker's), ms. */
const PROGRESS_EVERY_MS = 250;
/**
 * Lock reads per record a chunk makes before its writes (QueueWorker's
 * fence): the piece file's rename, the thumbnail's rename, the entry.
 */
const FENCES_PER_RECORD = 3;
/** Chunks replayed for the Redis cost, at least. */
const REPLAY_CHUNKS = 8;
/** Machines of the projection. */
const MACHINES = [1, 2, 4, 8, 16];

/** Options for {@linkcode runQueueBench}. */
export interface QueueBenchOptions {
  /** Records of the batch. @default 1000 */
  records?: number;
  /** Pages per machine (the two-worker run splits them). @default cores */
  concurrency?: number;
  /** Records per chunk job. @default DEFAULT_CHUNK_RECORDS */
  chunk?: number;
  /**
   * Runs of each case, one after another in turn; the run of median wall
   * time is reported. @default 3
   */
  reps?: number;
  /** Progress lines. @default console.log */
  log?: (line: string) => void;
}

/** One case: its run of median wall time. */
export interface QueueBenchRow {
  run: string;
  /** Pages of each worker process. */
  pages: number[];
  pieces: number;
  /** Submit to "done", s. */
  wallS: number;
  /** Every run's wall time, s; this row is the run of their median. */
  walls?: number[];
  /** The 1-minute load average when the run started. */
  load1: number;
  perSecond: number;
  /** Wall time per piece over the embedded run's, %. */
  overheadPct: number;
  /** Submit to the first piece counted in the batch's status, s. */
  firstPieceS: number;
  /** From the workers' logs: submit to the first batch or chunk start, s. */
  startS: number;
  /** Each pool's "pages ready in", s. */
  poolS: number[];
  /** First start to the batch (queue: every chunk) done, s. */
  renderS: number;
  /** Queue: the finish job's start to the batch done, s. */
  finishS?: number;
  /** Queue: chunk jobs each worker rendered (not skipped). */
  chunksByWorker?: number[];
  /** Queue: chunk jobs of the batch. */
  chunks?: number;
  /** Queue: chunk jobs that ended "skipped" (rendered nothing). */
  chunksSkipped?: number;
  /** Queue: records the finish job rendered (no chunk job had). */
  finishRendered?: number;
  /** Queue: mean s from a chunk's start to its end. */
  chunkS?: number;
  /** Queue: Redis main-thread CPU over the run, ms per chunk. */
  redisCpuMsPerChunk?: number;
}

/** One kind of Redis call a chunk makes, replayed. */
export interface RedisOp {
  op: string;
  callsPerChunk: number;
  msPerCall: number;
  msPerChunk: number;
}

/** The Redis work of a chunk, replayed without rendering. */
export interface RedisCost {
  chunks: number;
  recordsPerChunk: number;
  ops: RedisOp[];
  /** Round trips one after another, ms per chunk and per piece. */
  msPerChunk: number;
  msPerPiece: number;
  /** Redis main-thread CPU, ms per chunk. */
  cpuMsPerChunk: number;
  /** partProgress's ms per call with this batch's parts and with 400. */
  progressMs: { parts: number; ms: number }[];
  /**
   * One sweep (each worker's, every 2 s: it reads every stored batch) with
   * the batches stored by then: ms, and Redis CPU ms.
   */
  sweep: { batches: number; ms: number; cpuMs: number };
}

/** One line of the projection. */
export interface Projection {
  machines: number;
  uncapped: number;
  capRoundTrips: number;
  capCpu: number;
  projected: number;
}

/** Everything the queue bench measured. */
export interface QueueBenchResult {
  records: number;
  concurrency: number;
  chunk: number;
  reps: number;
  rows: QueueBenchRow[];
  redis: RedisCost;
  /** The run whose rate the projection takes per machine. */
  perMachineRun: string;
  projection: Projection[];
}

/** What a batch is stored from. */
type BatchInput = Parameters<JobStore["createBatch"]>[0];

/**
 * Runs the batch embedded, on one queue worker and on two, measures a
 * chunk's Redis work and projects N machines. Starts its own redis-server
 * and stops it, and every worker process and Chromium, at the end.
 */
export async function runQueueBench(
  options: QueueBenchOptions = {},
): Promise<QueueBenchResult> {
  const records = options.records ?? 1000;
  const reps = options.reps ?? 3;
  const concurrency = options.concurrency ?? navigator.hardwareConcurrency;
  const chunk = options.chunk ?? DEFAULT_CHUNK_RECORDS;
  const say = options.log ?? console.log;
  const dir = await Deno.makeTempDir({ prefix: "pressrun-bench-queue-" });
  try {
    await using redis = await startRedis();
    const { template, data } = await writeBenchData(dir, "print", records);
    const input: BatchInput = {
      templatePath: template,
      template: { name: "bench print postcard" },
      csv: await Deno.readFile(data),
      total: records,
      options: {
        renderer: "auto",
        pdfMode: "vector",
        merge: false,
        onError: "fail",
      } satisfies BatchRunOptions,
    };
    const timeoutMs = 120_000 + records * 500;
    const shared = join(dir, "queue");
    await using mode = await QueueMode.open({ url: redis.url, chunk }, {
      dataDir: shared,
    });
    const splits = [[concurrency], [
      Math.ceil(concurrency / 2),
      Math.floor(concurrency / 2),
    ]].filter((pages) => pages.every((n) => n >= 1));
    const chunkQueue = new Queue(CHUNK_QUEUE, {
      connection: bullConnection(redis.url),
      prefix: QUEUE_PREFIX,
    });
    const runs = new Map<string, { row: QueueBenchRow; id: string }[]>();
    const keep = (run: { row: QueueBenchRow; id: string }) => {
      runs.set(run.row.run, [...runs.get(run.row.run) ?? [], run]);
      say(
        `  ${run.row.run}: ${run.row.perSecond} pieces/s (load ${run.row.load1})`,
      );
    };
    try {
      for (let rep = 1; rep <= reps; rep++) {
        keep(await embeddedRun(input, { dir, concurrency, timeoutMs }));
        for (const pages of splits) {
          keep(
            await queueRun(mode, input, { dir, pages, timeoutMs, chunkQueue }),
          );
        }
      }
    } finally {
      await chunkQueue.close();
    }
    // Each case's run of median wall time, with the walls of all.
    const medians = [...runs.values()].map((all) => {
      const sorted = all.toSorted((a, b) => a.row.wallS - b.row.wallS);
      const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
      median.row.walls = all.map((r) => r.row.wallS);
      return median;
    });
    const rows = medians.map((m) => m.row);
    for (const r of rows) {
      r.overheadPct = round(100 * (r.wallS / rows[0]!.wallS - 1));
    }
    // Per machine: the one-worker queue run.
    const oneRun = medians.find((m) =>
      m.row.pages.length === 1 && m.row.chunks
    )!;
    const one = oneRun.row;
    const redisCost = await replayChunks(mode, input, {
      entries: [...(await mode.store.pieces(oneRun.id)).values()],
      progressCalls: Math.floor((one.chunkS ?? 0) * 1000 / PROGRESS_EVERY_MS) +
        1,
    });
    say(`  Redis: ${redisCost.msPerChunk} ms per chunk`);
    return {
      records,
      concurrency,
      chunk,
      reps,
      rows,
      redis: redisCost,
      perMachineRun: one.run,
      projection: project(one.perSecond, redisCost),
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The batch on the embedded store (Deno KV) and one `worker.ts`. */
async function embeddedRun(
  input: BatchInput,
  run: { dir: string; concurrency: number; timeoutMs: number },
): Promise<{ row: QueueBenchRow; id: string }> {
  const dataDir = join(run.dir, "embedded");
  await using store = await JobStore.open(dataDir);
  await using worker = await WorkerProcess.start(
    ["--data-dir", dataDir, "--concurrency", String(run.concurrency)],
    join(run.dir, "tmp-embedded"),
  );
  const load1 = Deno.loadavg()[0]!;
  const timing = await timedBatch(store, input, [worker], run);
  return {
    row: row("embedded", [run.concurrency], timing, [worker], { load1 }),
    id: timing.id,
  };
}

/** The batch queued, on one `worker.ts --queue` per entry of `pages`. */
async function queueRun(
  mode: QueueMode,
  input: BatchInput,
  run: {
    dir: string;
    pages: number[];
    timeoutMs: number;
    /** The chunk queue: its jobs are read after the run. */
    chunkQueue: Queue;
  },
): Promise<{ row: QueueBenchRow; id: string }> {
  const { pages, chunkQueue } = run;
  const workers: WorkerProcess[] = [];
  try {
    for (const [i, n] of pages.entries()) {
      workers.push(
        await WorkerProcess.start([
          "--queue",
          mode.settings.url,
          "--chunk",
          String(mode.settings.chunk),
          "--data-dir",
          mode.store.dir,
          "--concurrency",
          String(n),
        ], join(run.dir, `tmp-${pages.length}-${i}`)),
      );
    }
    const client = mode.kv.client;
    const cpu0 = await redisCpuMs(client);
    const load1 = Deno.loadavg()[0]!;
    const timing = await timedBatch(mode.store, input, workers, {
      timeoutMs: run.timeoutMs,
      dispatch: (id) => mode.queue.dispatch(mode.store, id),
    });
    const cpu = await redisCpuMs(client) - cpu0;
    const label = `queue, ${pages.length} worker${
      pages.length === 1 ? "" : "s"
    }`;
    const chunks = Math.ceil(input.total / mode.settings.chunk);
    const r = row(label, pages, timing, workers, { load1, chunks });
    r.redisCpuMsPerChunk = round(cpu / chunks, 2);
    const jobs = await chunkQueue.getJobs(["completed", "failed"]);
    r.chunksSkipped = jobs.filter((j) =>
      j.data?.batch === timing.id && String(j.returnvalue).startsWith("skipped")
    ).length;
    return { row: r, id: timing.id };
  } finally {
    for (const w of workers.reverse()) await w.close();
  }
}

/** A line a worker logged (its JSON logger). */
interface LogLine {
  /** ms since the epoch. */
  at: number;
  message: string;
  chunk?: number;
}

/** A `worker.ts` process of the bench's own, its log kept. */
class WorkerProcess implements AsyncDisposable {
  readonly lines: LogLine[] = [];
  #child: Deno.ChildProcess;
  #tmp: string;
  #read: Promise<void>;
  #exited = false;
  #closed = false;

  private constructor(child: Deno.ChildProcess, tmp: string) {
    this.#child = child;
    this.#tmp = tmp;
    child.status.then(() => this.#exited = true);
    this.#read = (async () => {
      let rest = "";
      for await (
        const text of child.stderr.pipeThrough(new TextDecoderStream())
      ) {
        const parts = (rest + text).split("\n");
        rest = parts.pop()!;
        for (const line of parts) this.#keep(line);
      }
      if (rest) this.#keep(rest);
    })();
  }

  /**
   * Starts `worker.ts args` with `tmp` as its TMPDIR (its Chromium's
   * profile goes there); resolves once it waits for work.
   */
  static async start(args: string[], tmp: string): Promise<WorkerProcess> {
    await Deno.mkdir(tmp, { recursive: true });
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "worker.ts", ...args],
      cwd: ROOT,
      env: { TMPDIR: tmp, NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const worker = new WorkerProcess(child, tmp);
    try {
      const until = Date.now() + READY_TIMEOUT_MS;
      const ready = /^Worker \S+ (taking chunks|waiting for batches)/;
      while (!worker.lines.some((l) => ready.test(l.message))) {
        worker.assertRunning();
        if (Date.now() > until) {
          throw new Error(`The worker did not start: ${worker.tail()}`);
        }
        await delay(20);
      }
    } catch (error) {
      await worker.close();
      throw error;
    }
    return worker;
  }

  /** @throws {Error} With its last lines, if the process has exited. */
  assertRunning(): void {
    if (this.#exited) throw new Error(`A worker exited: ${this.tail()}`);
  }

  /** Its last log lines. */
  tail(): string {
    return this.lines.slice(-8).map((l) => l.message).join("\n");
  }

  #keep(line: string): void {
    if (!line.trim()) return;
    try {
      const { time, message, chunk } = JSON.parse(line);
      this.lines.push({ at: Date.parse(time), message, chunk });
    } catch {
      this.lines.push({ at: Date.now(), message: line });
    }
  }

  /**
   * SIGTERM, and SIGKILL if it has not stopped in time; then any process
   * left with its TMPDIR (a Chromium of a killed worker) is killed. Safe
   * to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    let status: Deno.CommandStatus;
    try {
      status = await deadline(this.#child.status, STOP_TIMEOUT_MS);
    } catch {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Exited meanwhile.
      }
      status = await this.#child.status;
    }
    await this.#read;
    if (!status.success) {
      console.warn(
        `  a worker exited with ${
          status.signal ?? `code ${status.code}`
        }: ${this.tail()}`,
      );
    }
    const killed = await killByEnv(`TMPDIR=${this.#tmp}`);
    if (killed > 0) {
      console.warn(`  killed ${killed} processes a worker left running`);
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** SIGKILLs every process whose environment holds `variable`; how many. */
async function killByEnv(variable: string): Promise<number> {
  let killed = 0;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
    try {
      const env = await Deno.readTextFile(`/proc/${entry.name}/environ`);
      if (!env.split("\0").includes(variable)) continue;
      Deno.kill(Number(entry.name), "SIGKILL");
      killed++;
    } catch {
      // Gone while we looked, or not ours to read.
    }
  }
  return killed;
}

/** When a batch was submitted, showed its first piece and was done. */
interface Timing {
  id: string;
  /** ms since the epoch when it was submitted. */
  submittedAt: number;
  wallMs: number;
  firstPieceMs: number;
  pieces: number;
}

/**
 * Stores the batch `input` (and queues it, with `dispatch`), then reads
 * its state every POLL_MS until it is done; checks its pieces.
 */
async function timedBatch(
  store: JobStore,
  input: BatchInput,
  workers: WorkerProcess[],
  run: { timeoutMs: number; dispatch?: (id: string) => Promise<unknown> },
): Promise<Timing> {
  const submittedAt = Date.now();
  const t0 = performance.now();
  const { id } = await store.createBatch(input);
  await run.dispatch?.(id);
  let firstPieceMs = NaN;
  for (;;) {
    const s = await store.batch(id);
    const t = performance.now() - t0;
    if (s.done > 0 && Number.isNaN(firstPieceMs)) firstPieceMs = t;
    if (s.state === "done") {
      const pieces = await countPieces(join(store.batchDir(id), "out"));
      if (s.failed > 0 || pieces !== input.total) {
        throw new Error(
          `Batch ${id} is done with ${pieces} of ${input.total} pieces, ${s.failed} failed`,
        );
      }
      // The worker logs "done" just after it stores it: wait for the line.
      const logged = Date.now() + 5000;
      while (
        !workers.some((w) =>
          w.lines.some((l) =>
            BATCH_DONE.test(l.message) && l.message.includes(id)
          )
        ) && Date.now() < logged
      ) await delay(20);
      return { id, submittedAt, wallMs: t, firstPieceMs, pieces };
    }
    if (s.state === "failed" || s.state === "cancelled") {
      throw new Error(`Batch ${id} ended ${s.state}: ${s.error ?? ""}`);
    }
    if (t > run.timeoutMs) {
      throw new Error(
        `Batch ${id} is not done after ${run.timeoutMs} ms (${s.state}, ${s.done} of ${s.total}): ${
          workers.map((w) => w.tail()).join("\n")
        }`,
      );
    }
    for (const w of workers) w.assertRunning();
    await delay(POLL_MS);
  }
}

/** PDF pieces in `out`. */
async function countPieces(out: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(out)) {
    if (/^\d+\.pdf$/.test(e.name)) n++;
  }
  return n;
}

const STARTED = /: starting|: chunk \d+ of \d+, records|: every chunk done/;
const CHUNK_STARTED = /: chunk \d+ of \d+, records/;
const CHUNK_DONE = /: chunk \d+ of \d+ done, (\d+) rendered/;
const FINISH_STARTED = /: every chunk done; writing its outputs/;
const BATCH_DONE = /^Batch \S+: done/;

/**
 * A row from a run's timing and its workers' logs; `chunks`, the chunk
 * jobs of the batch, for a queue run. Its overhead is set by the caller.
 */
function row(
  label: string,
  pages: number[],
  timing: Timing,
  workers: WorkerProcess[],
  facts: { load1: number; chunks?: number },
): QueueBenchRow {
  const { chunks } = facts;
  const logs = workers.map((w) =>
    w.lines.filter((l) => l.at >= timing.submittedAt)
  );
  const lines = logs.flat();
  const at = (pattern: RegExp) =>
    lines.filter((l) => pattern.test(l.message)).map((l) => l.at);
  const since = (ms: number) => round((ms - timing.submittedAt) / 1000, 2);
  const first = Math.min(...at(STARTED));
  const done = Math.max(...at(BATCH_DONE));
  const finish = Math.min(...at(FINISH_STARTED));
  const wallS = timing.wallMs / 1000;
  const r: QueueBenchRow = {
    run: label,
    pages,
    pieces: timing.pieces,
    wallS: round(wallS, 2),
    perSecond: round(timing.pieces / wallS),
    overheadPct: 0,
    load1: round(facts.load1, 2),
    firstPieceS: round(timing.firstPieceMs / 1000, 2),
    startS: since(first),
    poolS: lines.flatMap((l) => {
      const m = /pages ready in ([\d.]+) s/.exec(l.message);
      return m ? [Number(m[1])] : [];
    }),
    renderS: round(((chunks ? finish : done) - first) / 1000, 2),
  };
  if (!chunks) return r;
  r.chunks = chunks;
  r.finishS = round((done - finish) / 1000, 2);
  r.chunksByWorker = logs.map((log) =>
    log.filter((l) => CHUNK_DONE.test(l.message)).length
  );
  const byChunks = lines.reduce(
    (n, l) => n + Number(CHUNK_DONE.exec(l.message)?.[1] ?? 0),
    0,
  );
  r.finishRendered = timing.pieces - byChunks;
  const spans = logs.flatMap(chunkSpans);
  if (spans.length) {
    r.chunkS = round(spans.reduce((a, b) => a + b, 0) / spans.length, 2);
  }
  return r;
}

/** s from each chunk's start line to its done line, in one worker's log. */
function chunkSpans(lines: LogLine[]): number[] {
  const starts = new Map<number, number>();
  const spans: number[] = [];
  for (const l of lines) {
    if (l.chunk === undefined) continue;
    if (CHUNK_STARTED.test(l.message)) starts.set(l.chunk, l.at);
    const start = starts.get(l.chunk);
    if (CHUNK_DONE.test(l.message) && start !== undefined) {
      spans.push((l.at - start) / 1000);
    }
  }
  return spans;
}

/** The Redis main thread's CPU time so far (user + sys), ms. */
async function redisCpuMs(client: Redis): Promise<number> {
  const info = await client.info("cpu");
  const field = (name: string) =>
    Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1]);
  return (field("used_cpu_user_main_thread") +
    field("used_cpu_sys_main_thread")) * 1000;
}

/**
 * Queues batches like the bench's until there are REPLAY_CHUNKS chunks,
 * then takes their chunk jobs with a worker that renders nothing and makes
 * a chunk's Redis calls one after another as QueueWorker makes them: the
 * status, the range of entries, per record the lock reads, the entry and
 * the message, and `progressCalls` progress writes; the rest of the time
 * is BullMQ taking and completing the job.
 */
async function replayChunks(
  mode: QueueMode,
  input: BatchInput,
  replay: { entries: ManifestEntry[]; progressCalls: number },
): Promise<RedisCost> {
  const { store, kv } = mode;
  const client = kv.client;
  const perBatch = Math.ceil(input.total / mode.settings.chunk);
  const batches = Math.ceil(REPLAY_CHUNKS / perBatch);
  const chunks = batches * perBatch;
  const ms: Record<string, { calls: number; ms: number }> = {};
  const timed = async <T>(op: string, call: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await call();
    } finally {
      const o = ms[op] ??= { calls: 0, ms: 0 };
      o.calls++;
      o.ms += performance.now() - t0;
    }
  };
  let cpu = 0;
  for (let b = 0; b < batches; b++) {
    const { id } = await store.createBatch(input);
    const cpu0 = await redisCpuMs(client);
    await timed(
      "dispatch (record files, flow add, status)",
      () => mode.queue.dispatch(store, id),
    );
    cpu += await redisCpuMs(client) - cpu0;
  }
  let processed = 0;
  let inside = 0;
  const { promise: allDone, resolve } = Promise.withResolvers<void>();
  const worker = new Worker<ChunkJob>(
    CHUNK_QUEUE,
    async (job: Job<ChunkJob>) => {
      const t0 = performance.now();
      const { batch: id, from, to, run } = job.data;
      const s = await timed("batch()", () => store.batch(id));
      if (s.state === "queued") {
        await timed(
          "updateBatch() to running",
          () =>
            store.updateBatch(
              id,
              (s) =>
                s.state === "queued"
                  ? { state: "running", startedAt: new Date().toISOString() }
                  : {},
            ),
        );
      }
      await timed(
        "pieces(id, {from, to})",
        () => store.pieces(id, { from, to }),
      );
      const lock = `${QUEUE_PREFIX}:${CHUNK_QUEUE}:${job.id}:lock`;
      for (let i = from; i <= to; i++) {
        const entry = {
          ...replay.entries[(i - 1) % replay.entries.length]!,
          index: i,
        };
        for (let f = 0; f < FENCES_PER_RECORD; f++) {
          await timed("lock GET (fence)", () => client.get(lock));
        }
        await timed("putPiece()", () => store.putPiece(id, entry));
        await timed("publish piece", () => publishPiece(client, id, entry));
      }
      for (let p = 1; p <= replay.progressCalls; p++) {
        await timed("partProgress()", () =>
          store.partProgress(id, {
            run,
            from,
            done: Math.round((to - from + 1) * p / replay.progressCalls),
            failed: 0,
            mode: "persistent",
          }));
      }
      inside += performance.now() - t0;
    },
    {
      connection: bullConnection(kv.url),
      prefix: QUEUE_PREFIX,
      concurrency: 1,
      autorun: false,
    },
  );
  worker.on("completed", () => {
    if (++processed === chunks) resolve();
  });
  let windowMs: number;
  try {
    await worker.waitUntilReady();
    const cpu0 = await redisCpuMs(client);
    const t0 = performance.now();
    worker.run().catch(() => {});
    await deadline(allDone, 120_000);
    windowMs = performance.now() - t0;
    cpu += await redisCpuMs(client) - cpu0;
  } finally {
    await worker.close();
  }
  const ops: RedisOp[] = Object.entries(ms).map(([op, o]) => ({
    op,
    callsPerChunk: round(o.calls / chunks, 2),
    msPerCall: round(o.ms / o.calls, 3),
    msPerChunk: round(o.ms / chunks, 2),
  }));
  const bull = (windowMs - inside) / chunks;
  ops.push({
    op: "BullMQ: take and complete the job",
    callsPerChunk: 1,
    msPerCall: round(bull, 3),
    msPerChunk: round(bull, 2),
  });
  const msPerChunk = ops.reduce((n, o) => n + o.msPerChunk, 0);
  const recordsPerChunk = input.total / perBatch;
  return {
    chunks,
    recordsPerChunk: round(recordsPerChunk, 1),
    ops,
    msPerChunk: round(msPerChunk, 1),
    msPerPiece: round(msPerChunk / recordsPerChunk, 3),
    cpuMsPerChunk: round(cpu / chunks, 2),
    progressMs: await progressCost(store, input, [perBatch, 400]),
    sweep: await sweepCost(mode),
  };
}

/** A worker's sweep for waiting batches, timed over 20 calls. */
async function sweepCost(mode: QueueMode): Promise<RedisCost["sweep"]> {
  const sweeps = 20;
  const cpu0 = await redisCpuMs(mode.kv.client);
  const t0 = performance.now();
  for (let i = 0; i < sweeps; i++) await mode.queue.sweep(mode.store);
  const ms = (performance.now() - t0) / sweeps;
  const cpuMs = (await redisCpuMs(mode.kv.client) - cpu0) / sweeps;
  return {
    batches: (await mode.store.listBatches()).length,
    ms: round(ms, 2),
    cpuMs: round(cpuMs, 2),
  };
}

/**
 * partProgress's ms per call on a running batch of `parts` parts, for each
 * of `partCounts` (it sums every part of the batch on each call).
 */
async function progressCost(
  store: JobStore,
  input: BatchInput,
  partCounts: number[],
): Promise<{ parts: number; ms: number }[]> {
  const out = [];
  for (const parts of partCounts) {
    const { id } = await store.createBatch(input);
    const status = await store.updateBatch(id, {
      state: "running",
      startedAt: new Date().toISOString(),
    });
    const part = (from: number) => ({
      run: runOf(status),
      from,
      done: 1,
      failed: 0,
      mode: "persistent" as const,
    });
    for (let p = 1; p <= parts; p++) await store.partProgress(id, part(p));
    const calls = 50;
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await store.partProgress(id, part(1));
    out.push({ parts, ms: round((performance.now() - t0) / calls, 2) });
  }
  return out;
}

/** N machines at one machine's rate, capped by what one Redis takes. */
function project(perMachine: number, cost: RedisCost): Projection[] {
  const capRoundTrips = 1000 / cost.msPerChunk * cost.recordsPerChunk;
  const capCpu = 1000 / cost.cpuMsPerChunk * cost.recordsPerChunk;
  return MACHINES.map((machines) => ({
    machines,
    uncapped: round(machines * perMachine),
    capRoundTrips: Math.round(capRoundTrips),
    capCpu: Math.round(capCpu),
    projected: round(Math.min(machines * perMachine, capRoundTrips)),
  }));
}

/** The queue bench's results as Markdown tables. */
export function formatQueueReport(
  result: QueueBenchResult,
  machine: string,
): string {
  const { rows, redis } = result;
  const one = rows.find((r) => r.run === result.perMachineRun)!;
  const signed = (n: number) => `${n > 0 ? "+" : ""}${n} %`;
  return [
    `Machine: ${machine}. Records: ${result.records} (print size, vector PDF pieces, no merge), chunk jobs of ${result.chunk} records, ${result.concurrency} pages in all; ${result.reps} runs of each case in turn, the run of median wall time shown.`,
    "",
    "| run | pages per worker | wall s (median; every run) | load at start | pieces/s | wall per piece vs embedded | first piece s | start s | pool start s | render s | chunk jobs that rendered, per worker | skipped | mean chunk s | rendered by the finish job | finish s | Redis CPU ms/chunk |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) =>
      `| ${r.run} | ${r.pages.join(" + ")} | ${r.wallS} (${
        r.walls?.join(", ")
      }) | ${r.load1} | ${r.perSecond} | ${
        r.chunks ? signed(r.overheadPct) : "–"
      } | ${r.firstPieceS} | ${r.startS} | ${
        r.poolS.join(", ") || "–"
      } | ${r.renderS} | ${
        r.chunks ? `${r.chunksByWorker!.join(" + ")} of ${r.chunks}` : "–"
      } | ${r.chunksSkipped ?? "–"} | ${r.chunkS ?? "–"} | ${
        r.finishRendered ?? "–"
      } | ${r.finishS ?? "–"} | ${r.redisCpuMsPerChunk ?? "–"} |`
    ),
    "",
    `Wall: batch stored (and queued) to state "done", polled every ${POLL_MS} ms. From the workers' logs: start = submit to the first batch/chunk start line; pool start = each pool's "pages ready in"; render = first start to the batch done (embedded) or to the finish job's start (queue); finish = the finish job's start to the batch done. Skipped: chunk jobs whose result is "skipped…" (they render nothing and log no line); the finish job renders the records no chunk did. Redis CPU: its main thread's user+sys over the run, per chunk job of the batch.`,
    "",
    `Redis work of one chunk without rendering (${redis.chunks} chunks of ${redis.recordsPerChunk} records replayed one call after another; progress writes as for ${one.chunkS} s chunks, the mean of "${one.run}"):`,
    "",
    "| call | calls per chunk | ms per call | ms per chunk |",
    "| --- | ---: | ---: | ---: |",
    ...redis.ops.map((o) =>
      `| ${o.op} | ${o.callsPerChunk} | ${o.msPerCall} | ${o.msPerChunk} |`
    ),
    `| total | | | ${redis.msPerChunk} |`,
    "",
    `${redis.msPerChunk} ms of round trips per chunk, ${redis.msPerPiece} ms per piece; Redis main-thread CPU ${redis.cpuMsPerChunk} ms per chunk. Dispatch includes writing the chunks' record files (disk, not Redis). partProgress() per call: ${
      redis.progressMs.map((p) => `${p.ms} ms with ${p.parts} parts`).join(
        ", ",
      )
    } (it reads every part of the batch). One worker's sweep (every 2 s per worker; it reads every batch stored): ${redis.sweep.ms} ms, Redis CPU ${redis.sweep.cpuMs} ms, with ${redis.sweep.batches} batches stored.`,
    "",
    `Projection, per machine the rate of "${one.run}" (${one.perSecond} pieces/s):`,
    "",
    "| machines | N × per machine | cap: Redis round trips | cap: Redis CPU | projected pieces/s |",
    "| ---: | ---: | ---: | ---: | ---: |",
    ...result.projection.map((p) =>
      `| ${p.machines} | ${p.uncapped} | ${p.capRoundTrips} | ${p.capCpu} | ${p.projected} |`
    ),
    "",
    `projected = min(N × ${one.perSecond} pieces/s, 1000 ms / ${redis.msPerChunk} ms of Redis round trips per chunk × ${redis.recordsPerChunk} records per chunk). The CPU cap, 1000 / ${redis.cpuMsPerChunk} × ${redis.recordsPerChunk}, is what Redis's one thread would take if the round trips of many workers overlapped fully.`,
    "",
  ].join("\n");
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
