/**
 * Queue mode end to end, as processes: servers and workers sharing a Redis
 * of the test's own and one data folder; a worker killed with SIGKILL in
 * the middle of a chunk, and Redis itself killed and restarted.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { sha256 } from "../batch/output.ts";
import { startRedis } from "./_redis.ts";
import { serveProcess } from "./_serve_process.ts";
import { type WorkerProcess, workerProcess } from "./_worker_process.ts";
import {
  cli,
  decodeQr,
  EXAMPLE_CSV,
  pdfInfo,
  pdfToPngs,
  renderArgs,
  tempDir,
} from "./_helpers.ts";

/** `n` records cycled from the example, each with its own id and URL. */
async function recipients(path: string, n: number): Promise<string[]> {
  const lines = (await Deno.readTextFile(EXAMPLE_CSV)).trimEnd().split("\n");
  const [header, ...rows] = lines;
  assert.deepEqual(
    [header!.split(",")[0], header!.split(",")[9]],
    ["id", "url"],
  );
  const urls: string[] = [];
  const out = [header];
  for (let i = 0; i < n; i++) {
    const cells = rows[i % rows.length]!.split(",");
    // id is the first column and url the tenth; no quoted commas.
    assert.equal(cells.length, header!.split(",").length, "a plain row");
    const id = String(10_000 + i);
    const url = `https://example.com/r/${id}`;
    cells[0] = id;
    cells[9] = url;
    urls.push(url);
    out.push(cells.join(","));
  }
  await Deno.writeTextFile(path, out.join("\n") + "\n");
  return urls;
}

/** Submits a batch of the built-in postcard; its id. */
async function submit(
  base: string,
  csv: string,
  fields: Record<string, string>,
): Promise<string> {
  const form = new FormData();
  form.append("template", "postcard");
  form.append("data", new File([await Deno.readFile(csv)], "recipients.csv"));
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const res = await fetch(`${base}/api/batches`, {
    method: "POST",
    body: form,
  });
  const body = await res.json();
  assert.equal(res.status, 202, JSON.stringify(body));
  return body.id;
}

/** The batch's status as a server answers it. */
async function status(base: string, id: string) {
  const res = await fetch(`${base}/api/batches/${id}`);
  assert.equal(res.status, 200);
  return await res.json();
}

/** Polls until the batch has ended (or `timeoutMs` passed). */
async function ended(base: string, id: string, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(base, id);
    if (["done", "failed", "cancelled"].includes(s.state)) return s;
    if (Date.now() > until) {
      throw new Error(`Batch still ${s.state}: ${JSON.stringify(s)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The `piece` indexes and the last event a batch's stream sends. */
async function listen(base: string, id: string) {
  const res = await fetch(`${base}/api/batches/${id}/events`);
  const seen = new Set<number>();
  let end: { state: string } | undefined;
  let text = "";
  for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    let cut;
    while ((cut = text.indexOf("\n\n")) >= 0) {
      const event = text.slice(0, cut);
      text = text.slice(cut + 2);
      const name = /^event: (\w+)/m.exec(event)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(event)?.[1] ?? "null");
      if (name === "piece") seen.add(data.index);
      if (name === "end") end = data;
    }
  }
  return { seen, end };
}

/**
 * The manifest's records, checked: each index once, each ok, each file's
 * SHA-256 the one its entry holds, no other piece file and no temporary
 * file in the folder.
 */
async function checkExactlyOnce(out: string, total: number) {
  const manifest = JSON.parse(
    await Deno.readTextFile(join(out, "manifest.json")),
  );
  const records = manifest.records as {
    index: number;
    status: string;
    file: string;
    sha256: string;
  }[];
  assert.equal(records.length, total, "one manifest line per record");
  assert.deepEqual(
    records.map((r) => r.index),
    Array.from({ length: total }, (_, i) => i + 1),
    "every record once, in order",
  );
  for (const r of records) {
    assert.equal(r.status, "ok", `record ${r.index}`);
    const bytes = await Deno.readFile(join(out, r.file));
    assert.equal(await sha256(bytes), r.sha256, `record ${r.index}'s file`);
  }
  const names: string[] = [];
  for await (const e of Deno.readDir(out)) names.push(e.name);
  assert.ok(!names.some((n) => n.endsWith(".tmp")), names.join(" "));
  const pieces = names.filter((n) => /^\d+\.pdf$/.test(n));
  assert.equal(pieces.length, total, "one file per record");
  return records;
}

/** The chunk a worker's log shows it started last and has not finished. */
function chunkInFlight(worker: WorkerProcess): string | undefined {
  const started = [...worker.log().matchAll(/chunk (\d+) of \d+, records/g)];
  const last = started.at(-1)?.[1];
  if (!last) return undefined;
  const done = new RegExp(`chunk ${last} of \\d+ done`);
  return done.test(worker.log()) ? undefined : last;
}

Deno.test({
  name:
    "queue mode: a server, 3 workers, one killed with kill -9 mid-chunk: 1,000 records each exactly once",
  // Processes of its own: their pipes and timers outlive single awaits.
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await using redis = await startRedis();
  await using tmp = await tempDir();
  const data = join(tmp.path, "data");
  const csv = join(tmp.path, "recipients.csv");
  const urls = await recipients(csv, 1000);
  const queue = ["--queue", redis.url, "--chunk", "50"];
  await using server = await serveProcess({
    dataDir: data,
    tmp: tmp.path,
    args: [...queue, "--no-worker"],
  });
  // A second server, no worker either: the same batch seen from it.
  await using second = await serveProcess({
    dataDir: data,
    tmp: tmp.path,
    args: [...queue, "--no-worker"],
  });
  const workerArgs = [
    ...queue,
    "--data-dir",
    data,
    "--concurrency",
    "1",
    "--stale-after",
    "3",
  ];
  const workers = [0, 1, 2].map(() =>
    workerProcess({ args: workerArgs, tmp: tmp.path })
  );
  try {
    const id = await submit(server.url, csv, {
      merge: "true",
      pdfMode: "raster",
    });
    const events = listen(second.url, id);
    // Kill a worker while a chunk of its is half rendered.
    let victim: { worker: WorkerProcess; chunk: string } | undefined;
    const until = Date.now() + 120_000;
    while (!victim && Date.now() < until) {
      const s = await status(second.url, id);
      if (s.done >= 150) {
        for (const worker of workers) {
          const chunk = chunkInFlight(worker);
          if (chunk) {
            victim = { worker, chunk };
            break;
          }
        }
      }
      if (!victim) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(
      victim,
      `no worker with a chunk in flight: ${
        JSON.stringify(await status(second.url, id))
      }\n${workers.map((w) => w.log().slice(-3000)).join("\n")}`,
    );
    await victim.worker.kill9();
    const s = await ended(second.url, id, 300_000);
    assert.equal(s.state, "done", JSON.stringify(s));
    assert.deepEqual([s.done, s.total, s.failed, s.merged], [
      1000,
      1000,
      0,
      true,
    ]);

    // Another worker took the chunk over and kept what was written of it.
    const others = workers.filter((w) => w !== victim.worker);
    const retaken = new RegExp(
      `chunk ${victim.chunk} of 20, records \\d+–\\d+`,
    );
    assert.ok(
      others.some((w) => retaken.test(w.log())),
      `chunk ${victim.chunk} was not taken over:\n${
        others.map((w) => w.log()).join("\n")
      }`,
    );

    const out = join(data, "batches", id, "out");
    const records = await checkExactlyOnce(out, 1000);
    assert.equal((await pdfInfo(join(out, "merged.pdf"))).pages, 1000);

    // Each file is what a fresh render of its record gives (raster pieces
    // are the same bytes for the same record).
    const fresh = join(tmp.path, "fresh");
    const run = await cli(renderArgs(csv, fresh, "--pdf-mode", "raster"));
    assert.equal(run.code, 0, run.stderr);
    for (const r of records) {
      const again = await sha256(await Deno.readFile(join(fresh, r.file)));
      assert.equal(r.sha256, again, `record ${r.index} against a fresh render`);
    }

    // QR codes of a sample decode to their rows, from the merged file too.
    await Deno.mkdir(join(tmp.path, "png"));
    for (const index of [1, 333, 777, 1000]) {
      const [png] = await pdfToPngs(
        join(out, records[index - 1]!.file),
        join(tmp.path, "png"),
      );
      assert.equal(await decodeQr(png!), urls[index - 1], `record ${index}`);
    }

    // The second server streamed the pieces rendered by the workers, and
    // serves the outputs.
    const { seen, end } = await events;
    assert.equal(end?.state, "done");
    assert.ok(seen.size >= 950, `${seen.size} piece events`);
    const merged = await fetch(`${second.url}/api/batches/${id}/output.pdf`);
    assert.equal(merged.status, 200);
    assert.equal(
      await sha256(new Uint8Array(await merged.arrayBuffer())),
      await sha256(await Deno.readFile(join(out, "merged.pdf"))),
    );
    const manifest = await fetch(
      `${second.url}/api/batches/${id}/manifest.json`,
    );
    assert.equal((await manifest.json()).records.length, 1000);
    const metrics = await (await fetch(`${second.url}/metrics`)).text();
    assert.match(metrics, /^pressrun_queue_depth 0$/m);
    assert.match(metrics, /^pressrun_queue_workers 2$/m);
    assert.match(metrics, /^pressrun_queue_chunks\{state="completed"\} 20$/m);
  } finally {
    for (const w of workers) await w[Symbol.asyncDispose]();
  }
});

Deno.test({
  name:
    "queue mode: Redis killed with kill -9 mid-batch and restarted: the batch completes, nothing lost or doubled",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await using redis = await startRedis({ appendonly: true });
  await using tmp = await tempDir();
  const data = join(tmp.path, "data");
  const csv = join(tmp.path, "recipients.csv");
  await recipients(csv, 300);
  const queue = ["--queue", redis.url, "--chunk", "50"];
  await using server = await serveProcess({
    dataDir: data,
    tmp: tmp.path,
    args: [...queue, "--no-worker"],
  });
  await using worker = workerProcess({
    args: [...queue, "--data-dir", data, "--stale-after", "3"],
    tmp: tmp.path,
  });
  const id = await submit(server.url, csv, { merge: "true" });
  await worker.waitFor(/chunk 2 of 6 done/, 120_000);
  await redis.kill9();
  await new Promise((r) => setTimeout(r, 1500));
  await redis.restart();
  const s = await ended(server.url, id, 180_000);
  assert.equal(s.state, "done", JSON.stringify(s));
  assert.deepEqual([s.done, s.failed], [300, 0]);
  const out = join(data, "batches", id, "out");
  await checkExactlyOnce(out, 300);
  assert.equal((await pdfInfo(join(out, "merged.pdf"))).pages, 300);
  assert.match(
    worker.log(),
    /does not answer; trying again in \d+ ms|retrying/,
    "the worker says it lost Redis",
  );
});

Deno.test("queue mode: an unreachable Redis stops serve and worker at start, exit 2", async () => {
  await using tmp = await tempDir();
  // A port nothing listens on.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const url = `redis://127.0.0.1:${port}`;
  for (const script of ["server.ts", "worker.ts"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, "--queue", url, "--data-dir", tmp.path],
      env: { NO_COLOR: "1", TMPDIR: tmp.path },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, `${script}: ${stderr}`);
    assert.match(stderr, new RegExp(`Cannot reach Redis at ${url}`), script);
    assert.doesNotMatch(
      stderr,
      /^\s+at .*:\d+:\d+\)?$/m,
      `${script}: no stack trace`,
    );
  }
  const bad = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "worker.ts", "--chunk", "50", "--data-dir", tmp.path],
    env: { NO_COLOR: "1", TMPDIR: tmp.path, PRESSRUN_REDIS_URL: "" },
    stderr: "piped",
    stdout: "null",
  }).output();
  assert.equal(bad.code, 2);
  assert.match(new TextDecoder().decode(bad.stderr), /--chunk needs --queue/);
});

Deno.test({
  name:
    "queue mode: a cancelled batch stops its chunks; retry runs again and renders only what is missing",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await using redis = await startRedis();
  await using tmp = await tempDir();
  const data = join(tmp.path, "data");
  const csv = join(tmp.path, "recipients.csv");
  await recipients(csv, 400);
  await using server = await serveProcess({
    dataDir: data,
    tmp: tmp.path,
    args: ["--queue", redis.url, "--chunk", "50", "--concurrency", "1"],
  });
  const id = await submit(server.url, csv, { merge: "true" });
  const until = Date.now() + 120_000;
  while ((await status(server.url, id)).done < 60 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const cancel = await fetch(`${server.url}/api/batches/${id}/cancel`, {
    method: "POST",
  });
  assert.equal(cancel.status, 202);
  await cancel.body?.cancel();
  const cancelled = await ended(server.url, id, 60_000);
  assert.equal(cancelled.state, "cancelled");
  assert.ok(cancelled.done < 400, `${cancelled.done} done before the cancel`);
  const out = join(data, "batches", id, "out");
  const before = new Map<string, number>();
  for await (const e of Deno.readDir(out)) {
    if (/^\d+\.pdf$/.test(e.name)) {
      before.set(e.name, (await Deno.stat(join(out, e.name))).mtime!.getTime());
    }
  }
  const retry = await fetch(`${server.url}/api/batches/${id}/retry`, {
    method: "POST",
  });
  assert.equal(retry.status, 202);
  await retry.body?.cancel();
  const s = await ended(server.url, id, 180_000);
  assert.equal(s.state, "done", JSON.stringify(s));
  assert.deepEqual([s.done, s.failed, s.merged], [400, 0, true]);
  await checkExactlyOnce(out, 400);
  // The pieces of the first run were kept, not written again.
  for (const [name, mtime] of before) {
    const now = (await Deno.stat(join(out, name))).mtime!.getTime();
    assert.equal(now, mtime, `${name} was written again`);
  }
  assert.ok(before.size > 0);
});

Deno.test({
  name:
    "queue mode: a worker stopped with SIGTERM finishes its chunks, takes no more, and exits 0",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await using redis = await startRedis();
  await using tmp = await tempDir();
  const data = join(tmp.path, "data");
  const csv = join(tmp.path, "recipients.csv");
  await recipients(csv, 300);
  const queue = ["--queue", redis.url, "--chunk", "50"];
  await using server = await serveProcess({
    dataDir: data,
    tmp: tmp.path,
    args: [...queue, "--no-worker"],
  });
  const args = [...queue, "--data-dir", data, "--concurrency", "1"];
  const first = workerProcess({ args, tmp: tmp.path });
  const id = await submit(server.url, csv, { merge: "true" });
  await first.waitFor(/chunk \d+ of 6, records/, 120_000);
  Deno.kill(first.pid, "SIGTERM");
  const exit = await first.status;
  assert.equal(exit.code, 0, first.log());
  const log = first.log();
  assert.match(log, /Shutting down: the chunk in flight finishes first/);
  const started = [...log.matchAll(/chunk (\d+) of 6, records/g)].map((m) =>
    m[1]
  );
  const finished = [...log.matchAll(/chunk (\d+) of 6 done/g)].map((m) => m[1]);
  assert.ok(started.length > 0 && started.length < 6, log);
  assert.deepEqual(
    finished.sort(),
    started.sort(),
    "each chunk it began, done",
  );
  // The rest waits for a worker; a new one finishes the batch.
  assert.equal((await status(server.url, id)).state, "running");
  await using second = workerProcess({ args, tmp: tmp.path });
  const s = await ended(server.url, id, 180_000);
  assert.equal(s.state, "done", JSON.stringify(s));
  await checkExactlyOnce(join(data, "batches", id, "out"), 300);
  for (const chunk of started) {
    assert.doesNotMatch(
      second.log(),
      new RegExp(`chunk ${chunk} of 6, records`),
      `chunk ${chunk} ran again`,
    );
  }
});
