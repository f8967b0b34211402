import assert from "node:assert/strict";
import { join } from "node:path";
import { writeBenchData } from "../bench/data.ts";
import { Metrics } from "../batch/metrics.ts";
import { damagedPieces } from "../batch/piece_check.ts";
import { type BatchStatus, JobStore } from "../batch/store.ts";
import { BatchWorker } from "../batch/worker.ts";
import { Browser } from "../render/browser.ts";
import { EXAMPLE_TEMPLATE, tempDir } from "./_helpers.ts";

/** A batch of `records` bench records, in small print chunks. */
async function queueBatch(store: JobStore, dir: string, records: number) {
  const { data } = await writeBenchData(dir, "print", records);
  return await store.createBatch({
    templatePath: EXAMPLE_TEMPLATE,
    template: { name: "Postcard" },
    csv: await Deno.readFile(data),
    total: records,
    options: { renderer: "auto", chunkSize: 4, merge: true, onError: "fail" },
  });
}

async function finished(store: JobStore, id: string): Promise<BatchStatus> {
  for (let i = 0; i < 1200; i++) {
    const status = await store.batch(id);
    if (status.state !== "running" && status.state !== "queued") return status;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Batch ${id} did not finish`);
}

/** Waits until `worker` has claimed the batch. */
async function runningUnder(store: JobStore, id: string, worker: string) {
  for (let i = 0; i < 600; i++) {
    if ((await store.batch(id)).worker === worker) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${worker} did not claim batch ${id}`);
}

/**
 * What a finished batch must show: done with every record, one manifest
 * line per record, each rendered file matching its stored entry and its
 * manifest line, no temporary file left.
 */
async function assertWholeOnce(store: JobStore, id: string, total: number) {
  const status = await store.batch(id);
  assert.deepEqual(
    [status.state, status.done, status.failed],
    ["done", total, 0],
    String(status.error),
  );
  const out = join(store.batchDir(id), "out");
  const pieces = await store.pieces(id);
  assert.equal(pieces.size, total);
  assert.deepEqual(await damagedPieces(out, pieces.values()), []);
  const manifest = JSON.parse(
    await Deno.readTextFile(join(out, "manifest.json")),
  );
  assert.deepEqual(
    manifest.records.map((r: { index: number }) => r.index),
    Array.from({ length: total }, (_, i) => i + 1),
    "one manifest line per record",
  );
  for (const line of manifest.records) {
    assert.equal(line.status, "ok");
    assert.equal(line.sha256, pieces.get(line.index)!.sha256, line.file);
  }
  const names = [...Deno.readDirSync(out)].map((e) => e.name);
  assert.deepEqual(names.filter((n) => n.endsWith(".tmp")), []);
  assert.equal(
    names.filter((n) => /^\d+\.pdf$/.test(n)).length,
    total,
    "one file per record",
  );
}

Deno.test("a worker whose batch is taken over stops rendering and writing: two workers on one data folder render each record once", async () => {
  await using dir = await tempDir();
  await using browser = await Browser.launch();
  const dataDir = join(dir.path, "data");
  await using storeA = await JobStore.open(dataDir);
  await using storeB = await JobStore.open(dataDir);
  const total = 60;
  const { id } = await queueBatch(storeA, dir.path, total);
  const metricsA = new Metrics();
  const metricsB = new Metrics();
  const workerB = new BatchWorker(storeB, {
    browser,
    concurrency: 2,
    pollMs: 50,
    // B takes any running batch it finds: to it, A looks dead (as a worker
    // stalled past the lease would), while A goes on rendering.
    staleAfterMs: 0,
    metrics: metricsB,
  });
  let takenOver = false;
  const workerA = new BatchWorker(storeA, {
    browser,
    concurrency: 2,
    pollMs: 50,
    metrics: metricsA,
    onPiece: () => {
      if (metricsA.piecesRendered >= 12 && !takenOver) {
        takenOver = true;
        workerB.start();
      }
    },
  });
  try {
    workerA.start();
    const status = await finished(storeA, id);
    assert.equal(status.worker, workerB.id, "B finished the batch");
    assert.ok(
      metricsA.piecesRendered >= 12 && metricsA.piecesRendered < total,
      `A stopped part way: ${metricsA.piecesRendered}`,
    );
    assert.equal(
      metricsA.piecesRendered + metricsB.piecesRendered,
      total,
      `each record rendered once: A ${metricsA.piecesRendered}, B ${metricsB.piecesRendered}`,
    );
    await assertWholeOnce(storeA, id, total);
  } finally {
    await workerA.close();
    await workerB.close();
  }
});

/** `deno task worker` as its own process; resolves once it polls. */
async function startWorker(dataDir: string, tmp: string, staleAfter: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "worker.ts",
      "--data-dir",
      dataDir,
      "--stale-after",
      String(staleAfter),
    ],
    env: { TMPDIR: tmp, NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("waiting for batches")) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`The worker exited: ${text}`);
    text += value;
  }
  const log = (async () => {
    for (;;) {
      const { value, done } = await lines.read();
      if (done) return text;
      text += value;
    }
  })();
  return {
    /** Stops the worker; resolves to all it logged. */
    async stop(): Promise<string> {
      child.kill("SIGTERM");
      await child.status;
      return await log;
    },
  };
}

/** Blocks this process's event loop for `ms`, as a huge request would. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Busy: no timer, no I/O callback runs in this process meanwhile.
  }
}

Deno.test("a worker whose event loop is blocked longer than the stale time keeps its batch: its lease is renewed off the main thread", async () => {
  await using dir = await tempDir();
  await using browser = await Browser.launch();
  const dataDir = join(dir.path, "data");
  await using store = await JobStore.open(dataDir);
  const total = 150;
  const { id } = await queueBatch(store, dir.path, total);
  const metrics = new Metrics();
  let otherReady = false;
  let threadUp = false;
  let stalled = false;
  const worker = new BatchWorker(store, {
    browser,
    concurrency: 2,
    pollMs: 50,
    metrics,
    log: (_level, message) => {
      if (message.includes("heartbeat thread is up")) threadUp = true;
    },
    onPiece: () => {
      if (otherReady && threadUp && !stalled) {
        stalled = true;
        stall(6_000);
      }
    },
  });
  let other: Awaited<ReturnType<typeof startWorker>> | undefined;
  let log = "";
  try {
    worker.start();
    await runningUnder(store, id, worker.id);
    // The other worker takes over a batch whose worker is silent 2 s.
    other = await startWorker(dataDir, dir.path, 2);
    otherReady = true;
    const status = await finished(store, id);
    assert.ok(stalled, "the event loop was blocked");
    assert.equal(status.worker, worker.id, "the batch stayed with its worker");
    assert.equal(metrics.piecesRendered, total, "every record rendered here");
  } finally {
    await worker.close();
    log = await other?.stop() ?? "";
  }
  assert.ok(
    !log.includes(`Batch ${id}: starting`),
    `the other worker never took the batch: ${log}`,
  );
  await assertWholeOnce(store, id, total);
});

Deno.test("a worker stuck past maxStallMs loses its batch to another, and once it wakes writes nothing for it", async () => {
  await using dir = await tempDir();
  await using browser = await Browser.launch();
  const dataDir = join(dir.path, "data");
  await using store = await JobStore.open(dataDir);
  const total = 150;
  const { id } = await queueBatch(store, dir.path, total);
  const metrics = new Metrics();
  let otherReady = false;
  let threadUp = false;
  let stalled = false;
  const worker = new BatchWorker(store, {
    browser,
    concurrency: 2,
    pollMs: 50,
    // Stuck for more than 0.5 s counts as stuck for good: the heartbeat
    // thread lets the lease go.
    maxStallMs: 500,
    heartbeatMs: 100,
    metrics,
    log: (_level, message) => {
      if (message.includes("heartbeat thread is up")) threadUp = true;
    },
    onPiece: () => {
      if (otherReady && threadUp && !stalled) {
        stalled = true;
        stall(6_000);
      }
    },
  });
  let other: Awaited<ReturnType<typeof startWorker>> | undefined;
  let log = "";
  try {
    worker.start();
    await runningUnder(store, id, worker.id);
    // The other worker takes over a batch whose worker is silent 1 s.
    other = await startWorker(dataDir, dir.path, 1);
    otherReady = true;
    const status = await finished(store, id);
    assert.ok(stalled, "the event loop was blocked");
    assert.notEqual(status.worker, worker.id, "the other worker took it over");
  } finally {
    await worker.close();
    log = await other?.stop() ?? "";
  }
  // It kept what this worker had stored and rendered the rest.
  const kept = /"message":"Batch [^ ]+: starting \((\d+) pieces already done\)/
    .exec(log);
  assert.ok(kept, `the other worker resumed the batch: ${log}`);
  assert.match(log, /"message":"Batch [^ ]+: done, /);
  assert.equal(
    metrics.piecesRendered,
    Number(kept[1]),
    "each record rendered once: every piece rendered here was kept there",
  );
  await assertWholeOnce(store, id, total);
});
