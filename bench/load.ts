/**
 * `deno task load`: a bounded load test of the server on loopback — many
 * small batches and preview requests at once from concurrent clients — with
 * throughput and latency percentiles. Only 127.0.0.1 is ever contacted.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { Metrics } from "../batch/metrics.ts";
import { JobStore } from "../batch/store.ts";
import { delay } from "../common/async.ts";
import { BatchWorker } from "../batch/worker.ts";
import { Browser } from "../render/browser.ts";
import { createHandler, type ServerLimits } from "../server/api.ts";
import { writeBenchData } from "./data.ts";

/** Options for {@linkcode runLoad}. */
export interface LoadOptions {
  /** Batch uploads in all. @default 60 */
  batches?: number;
  /** Records per batch. @default 5 */
  records?: number;
  /** Preview requests in all. @default 60 */
  previews?: number;
  /** Clients sending at once. @default 16 */
  clients?: number;
  /** Pages of the render pool. @default 2 */
  concurrency?: number;
  /** Give up after this long, ms. @default 120000 */
  deadlineMs?: number;
  limits?: ServerLimits;
}

/** What the load test saw. */
export interface LoadReport {
  requests: number;
  /** Count per HTTP status. */
  statuses: Record<string, number>;
  /** Failures other than 429: status and message. */
  errors: string[];
  accepted: number;
  completed: number;
  /** Batches that ended in a state other than done. */
  unfinished: string[];
  /** Most render pages open at once, seen while sampling. */
  maxPages: number;
  wallS: number;
  requestsPerS: number;
  piecesPerS: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
}

/** Runs the load against an in-process server on a loopback port. */
export async function runLoad(options: LoadOptions = {}): Promise<LoadReport> {
  const batches = options.batches ?? 60;
  const previews = options.previews ?? 60;
  const clients = options.clients ?? 16;
  const dir = await Deno.makeTempDir({ prefix: "pressrun-load-" });
  const records = options.records ?? 5;
  const { data } = await writeBenchData(dir, "screen", records);
  const csv = await Deno.readFile(data);
  const browser = await Browser.launch();
  const store = await JobStore.open(join(dir, "data"));
  const metrics = new Metrics();
  const worker = new BatchWorker(store, {
    browser,
    metrics,
    concurrency: options.concurrency ?? 2,
    pollMs: 50,
  });
  worker.start();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createHandler({ store, worker, metrics, limits: options.limits }),
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  const statuses: Record<string, number> = {};
  const errors: string[] = [];
  const latencies: number[] = [];
  const accepted: string[] = [];
  let maxPages = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      maxPages = Math.max(maxPages, (await browser.puppeteer.pages()).length);
      await delay(50);
    }
  })();
  const jobs: (() => Promise<Response>)[] = [];
  for (let i = 0; i < Math.max(batches, previews); i++) {
    if (i < batches) {
      jobs.push(() => {
        const form = new FormData();
        form.append("template", "postcard");
        form.append("data", new File([csv], "load.csv"));
        return fetch(`${base}/api/batches`, { method: "POST", body: form });
      });
    }
    if (i < previews) {
      // Different rows defeat the preview cache after the first batch exists.
      jobs.push(() =>
        fetch(
          `${base}/api/templates/postcard/preview.png${
            accepted[0] ? `?batch=${accepted[0]}&row=${1 + (i % records)}` : ""
          }`,
        )
      );
    }
  }
  const deadline = Date.now() + (options.deadlineMs ?? 120_000);
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < jobs.length && Date.now() < deadline) {
      const job = jobs[next++]!;
      const t0 = performance.now();
      const res = await job();
      latencies.push(performance.now() - t0);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      const body = res.headers.get("content-type")?.includes("json")
        ? await res.json()
        : (await res.arrayBuffer(), undefined);
      if (res.status === 202) accepted.push(body.id);
      else if (res.status === 429) {
        if (!res.headers.get("retry-after")) {
          errors.push("429 without Retry-After");
        }
      } else if (res.status !== 200) {
        errors.push(`${res.status} ${body?.message ?? ""}`);
      }
    }
  }));
  // Wait for every accepted batch to finish.
  const unfinished: string[] = [];
  let completed = 0;
  for (const id of accepted) {
    for (;;) {
      const s = await store.batch(id);
      if (s.state === "done") {
        completed++;
        break;
      }
      if (s.state !== "queued" && s.state !== "running") {
        unfinished.push(`${id}: ${s.state} ${s.error ?? ""}`);
        break;
      }
      if (Date.now() > deadline) {
        unfinished.push(`${id}: still ${s.state} at the deadline`);
        break;
      }
      await delay(100);
    }
  }
  const wallS = (performance.now() - started) / 1000;
  sampling = false;
  await sampler;
  await server.shutdown();
  await worker.close();
  await store.close();
  await browser.close();
  await Deno.remove(dir, { recursive: true });
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    Math.round(
      latencies[
        Math.min(latencies.length - 1, Math.floor(p * latencies.length))
      ] ?? 0,
    );
  return {
    requests: latencies.length,
    statuses,
    errors,
    accepted: accepted.length,
    completed,
    unfinished,
    maxPages,
    wallS: Math.round(wallS * 10) / 10,
    requestsPerS: Math.round((latencies.length / wallS) * 10) / 10,
    piecesPerS: Math.round((metrics.piecesRendered / wallS) * 10) / 10,
    latencyMs: {
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
      max: Math.round(latencies.at(-1) ?? 0),
    },
  };
}

if (import.meta.main) {
  const { values: v } = parseArgs({
    options: {
      batches: { type: "string", default: "60" },
      previews: { type: "string", default: "60" },
      clients: { type: "string", default: "16" },
      "max-queued": { type: "string", default: "8" },
    },
  });
  const report = await runLoad({
    batches: Number(v.batches),
    previews: Number(v.previews),
    clients: Number(v.clients),
    limits: { maxQueued: Number(v["max-queued"]) },
  });
  console.log(JSON.stringify(report, null, 2));
  Deno.exit(
    report.errors.length === 0 && report.unfinished.length === 0 ? 0 : 1,
  );
}
