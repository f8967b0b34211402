/**
 * `deno task bench`: the same batch through the persistent renderer (raster
 * PDF), the vector PDF path (per-piece files, and per-piece files plus
 * merged.pdf), the cluster renderer and the in-page floor (paint + encode
 * only), in one run, with wall time, rates, latency percentiles, warm-up,
 * peak memory of Deno and of the whole Chromium tree, bytes per PDF and per
 * merged page, and where the time goes per stage.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { runBatch, type StageTotals } from "../batch/run.ts";
import { delay } from "../common/async.ts";
import { Browser } from "../render/browser.ts";
import { clampChunkSize } from "../render/persistent.ts";
import { processTreeMemory } from "../render/process_memory.ts";
import { RenderPage } from "../render/render_page.ts";
import { AssetResolver } from "../template/assets.ts";
import { pageSpec } from "../template/page_spec.ts";
import { loadTemplate } from "../template/parse.ts";
import { imposePdfFile, PieceSource } from "../pdf/impose.ts";
import { markPdfFile, recordSlug } from "../pdf/marks.ts";
import { PdfXConverter } from "../pdf/pdfx.ts";
import { piecePayload } from "../template/payload.ts";
import { readCsv } from "../batch/csv.ts";
import { type BenchSize, writeBenchData } from "./data.ts";
import { formatPreflightBench, runPreflightBench } from "./preflight.ts";
import {
  formatQueueReport,
  type QueueBenchOptions,
  runQueueBench,
} from "./queue.ts";

/**
 * `persistent` and `cluster`: raster PDF pieces. `vector`: vector PDF pieces
 * from the persistent pool; `vector-merged`: the same plus merged.pdf.
 */
type Mode = "persistent" | "cluster" | "floor" | "vector" | "vector-merged";
const MODES: readonly Mode[] = [
  "floor",
  "persistent",
  "vector",
  "vector-merged",
  "cluster",
];

/** One row of the results table. */
export interface BenchRow {
  size: BenchSize;
  mode: Mode;
  pieces: number;
  wallS: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
  firstPieceMs: number;
  peakDenoMB: number;
  peakChromiumMB: number;
  bytesPerPdf: number;
  /** Bytes of merged.pdf per page, when the run wrote one. */
  bytesPerMergedPage?: number;
  /** What the PDF pages held; absent for the floor. */
  pdfMode?: "raster" | "vector";
  /** Vector: records per print. */
  chunkSize?: number;
  /** ms per piece, per stage (end-to-end modes). */
  stages?: StageTotals;
  /**
   * vector-merged: the extra ms per piece of each press output made from
   * its merged.pdf afterwards, one at a time.
   */
  press?: Record<string, number>;
  /** Memory samples over time: [s, done, deno MB, chromium MB]. */
  samples: [number, number, number, number][];
}

const USAGE = `Usage: deno task bench [options]

  --records N       records per run (default 150; 1000 with --queue)
  --concurrency N   pages of the pool / pieces in flight (default: cores)
  --size S          screen (1536×1024) | print (6×4 in, 300 dpi, bleed) | both (default both)
  --modes LIST      comma list of floor, persistent (raster PDF), vector (vector
                    PDF pieces), vector-merged (vector pieces and merged.pdf),
                    cluster (default all; cluster is skipped above 1000 records
                    unless named)
  --chunk N         vector: records per print (default: the renderer's, 100)
  --queue           only the queue bench: the print batch (vector pieces, no
                    merge) embedded, then on 1 and 2 queue workers (Redis +
                    BullMQ, its own redis-server), the Redis work per chunk
                    and a projection for N machines; --size and --modes do
                    not apply
  --queue-chunk N   --queue: records per chunk job (default: queue mode's)
  --queue-reps N    --queue: runs of each case, in turn (default 3)
  --preflight       only the list preflight (records/s, with and without its
                    layout pass in the pages) beside a vector render of the
                    same list (pieces/s); --records defaults to 10000
  --json FILE       also write the figures to FILE
  -h, --help        this help

Results are saved under bench/results/.`;

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      records: { type: "string" },
      concurrency: {
        type: "string",
        default: String(navigator.hardwareConcurrency),
      },
      size: { type: "string", default: "both" },
      modes: { type: "string" },
      chunk: { type: "string" },
      json: { type: "string" },
      queue: { type: "boolean", default: false },
      preflight: { type: "boolean", default: false },
      "queue-chunk": { type: "string" },
      "queue-reps": { type: "string", default: "3" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const records = Number(
    v.records ?? (v.preflight ? "10000" : v.queue ? "1000" : "150"),
  );
  const concurrency = Number(v.concurrency);
  const sizes: BenchSize[] = v.size === "both"
    ? ["screen", "print"]
    : [v.size as BenchSize];
  const modes = (v.modes ??
    MODES.filter((m) => m !== "cluster" || records <= 1000).join(","))
    .split(",") as Mode[];
  const chunkSize = v.chunk === undefined ? undefined : Number(v.chunk);
  const queueChunk = v["queue-chunk"] === undefined
    ? undefined
    : Number(v["queue-chunk"]);
  if (
    !(records >= 1) || !(concurrency >= 1) ||
    (queueChunk !== undefined &&
      !(Number.isInteger(queueChunk) && queueChunk >= 1)) ||
    !(Number.isInteger(Number(v["queue-reps"])) &&
      Number(v["queue-reps"]) >= 1) ||
    !sizes.every((s) => s === "screen" || s === "print") ||
    !modes.every((m) => MODES.includes(m)) ||
    (chunkSize !== undefined && !(chunkSize >= 1 && chunkSize <= 500))
  ) {
    console.error(USAGE);
    return 2;
  }
  const machine = `${navigator.hardwareConcurrency} cores, ${
    Math.round(Deno.systemMemoryInfo().total / 2 ** 30)
  } GiB, ${Deno.build.os}/${Deno.build.arch}, Deno ${Deno.version.deno}`;
  console.log(
    `pressrun bench: ${records} records, concurrency ${concurrency}, ${machine}\n`,
  );
  if (v.preflight) {
    return await preflightMain({ records, concurrency }, {
      machine,
      json: v.json,
    });
  }
  if (v.queue) {
    return await queueMain({
      records,
      concurrency,
      chunk: queueChunk,
      reps: Number(v["queue-reps"]),
    }, { machine, json: v.json });
  }
  const rows: BenchRow[] = [];
  for (const size of sizes) {
    const dir = await Deno.makeTempDir({ prefix: "pressrun-bench-" });
    try {
      const { template, data } = await writeBenchData(dir, size, records);
      for (const mode of modes) {
        const run = {
          template,
          data,
          size,
          records,
          concurrency,
          chunkSize,
          dir,
        };
        const row = mode === "floor"
          ? await floorRun(run)
          : await endToEnd(run, mode);
        rows.push(row);
        console.log(`  ${size} ${mode}: ${row.perSecond.toFixed(1)} pieces/s`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  const report = formatReport(rows, records, concurrency, machine);
  await saveResults(
    "",
    { machine, records, concurrency, rows },
    report,
    v.json,
  );
  return 0;
}

/** `--queue`: the queue bench alone, its report printed and saved. */
async function queueMain(
  options: QueueBenchOptions,
  { machine, json }: { machine: string; json?: string },
): Promise<number> {
  const result = await runQueueBench(options);
  const report = formatQueueReport(result, machine);
  await saveResults("queue-", { machine, ...result }, report, json);
  return 0;
}

/** `--preflight`: the list preflight beside the render, printed and saved. */
async function preflightMain(
  options: { records: number; concurrency: number },
  { machine, json }: { machine: string; json?: string },
): Promise<number> {
  const rows = await runPreflightBench(options);
  const report =
    `List preflight vs render, ${options.records} records (print postcard), ${options.concurrency} pages, ${machine}\n\n${
      formatPreflightBench(rows)
    }`;
  await saveResults("preflight-", { machine, ...options, rows }, report, json);
  return 0;
}

/**
 * Prints `report` and saves it with `figures` (dated) under bench/results/
 * as `PREFIX<date>.md` and `.json`, and the figures to `json` if given.
 */
async function saveResults(
  prefix: string,
  figures: object,
  report: string,
  json?: string,
): Promise<void> {
  console.log(`\n${report}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const saved = JSON.stringify(
    { date: new Date().toISOString(), ...figures },
    null,
    2,
  );
  const resultsDir = new URL("./results/", import.meta.url);
  await Deno.writeTextFile(
    new URL(`${prefix}${stamp}.json`, resultsDir),
    saved,
  );
  await Deno.writeTextFile(new URL(`${prefix}${stamp}.md`, resultsDir), report);
  if (json) await Deno.writeTextFile(json, saved);
  console.log(`Saved bench/results/${prefix}${stamp}.json and .md`);
}

/** Samples peak memory of this process and of one Chromium profile. */
function memorySampler(profile: string, done: () => number) {
  const started = performance.now();
  const samples: [number, number, number, number][] = [];
  let peakDeno = 0;
  let peakChromium = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const deno = Deno.memoryUsage().rss;
      const chromium = (await processTreeMemory(profile)).pss;
      peakDeno = Math.max(peakDeno, deno);
      peakChromium = Math.max(peakChromium, chromium);
      samples.push([
        round((performance.now() - started) / 1000),
        done(),
        round(deno / 2 ** 20),
        round(chromium / 2 ** 20),
      ]);
      await delay(250);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return {
        peakDenoMB: peakDeno / 2 ** 20,
        peakChromiumMB: peakChromium / 2 ** 20,
        samples,
      };
    },
  };
}

/** One measured run: its data, size and parallelism. */
interface Run {
  template: string;
  data: string;
  size: BenchSize;
  records: number;
  concurrency: number;
  /** Vector: records per print. @default the renderer's */
  chunkSize?: number;
  /** Scratch folder for outputs. */
  dir: string;
}

async function endToEnd(
  { template, data, size, concurrency, chunkSize, dir }: Run,
  mode: Exclude<Mode, "floor">,
): Promise<BenchRow> {
  await using browser = await Browser.launch();
  const out = join(dir, `out-${mode}`);
  const vector = mode === "vector" || mode === "vector-merged";
  const merge = mode === "vector-merged";
  let done = 0;
  const sampler = memorySampler(browser.profileDir!, () => done);
  const started = performance.now();
  const result = await runBatch({
    template,
    data,
    out,
    browser,
    renderer: mode === "cluster" ? "cluster" : "persistent",
    pdfMode: vector ? "vector" : "raster",
    chunkSize,
    merge,
    concurrency,
    onProgress: (p) => (done = p.done),
  });
  const wallS = (performance.now() - started) / 1000;
  const memory = await sampler.stop();
  const mergedBytes = merge
    ? (await Deno.stat(join(out, "merged.pdf"))).size
    : undefined;
  const press = merge
    ? await pressCosts(out, template, result.rendered)
    : undefined;
  await Deno.remove(out, { recursive: true });
  const kinds = result.manifest.records.map((r) => r.kind);
  const raster = kinds.filter((k) => k !== "vector").length;
  if (vector && raster > 0) {
    console.warn(`  ${mode}: ${raster} pieces came out raster (Type 3 fonts)`);
  }
  if (result.failed > 0) {
    throw new Error(`${result.failed} records failed in the ${mode} run`);
  }
  const ms = result.manifest.records.map((r) => r.ms!).sort((a, b) => a - b);
  const bytes = result.manifest.records.reduce((n, r) => n + r.bytes!, 0);
  const stages = Object.fromEntries(
    Object.entries(result.stages).map((
      [k, total],
    ) => [k, round(total / result.rendered)]),
  ) as unknown as StageTotals;
  return {
    size,
    mode,
    pieces: result.rendered,
    wallS: round(wallS),
    perSecond: round(result.rendered / ((result.ms - result.startupMs) / 1000)),
    p50Ms: percentile(ms, 0.5),
    p95Ms: percentile(ms, 0.95),
    firstPieceMs: Math.round(result.firstPieceMs),
    peakDenoMB: Math.round(memory.peakDenoMB),
    peakChromiumMB: Math.round(memory.peakChromiumMB),
    bytesPerPdf: Math.round(bytes / result.rendered),
    bytesPerMergedPage: mergedBytes === undefined
      ? undefined
      : Math.round(mergedBytes / result.rendered),
    pdfMode: result.pdfMode,
    chunkSize: vector ? clampChunkSize(chunkSize) : undefined,
    stages,
    press,
    samples: memory.samples,
  };
}

/**
 * ms per piece of each press output made from `out`'s merged.pdf: imposed
 * 2x2 on 12x18in sheets and crop marks (each alone, as `--impose` and
 * `--marks` add them after the batch), and `--pdfx`'s conversion of every
 * piece (which the batch does as it writes them).
 */
async function pressCosts(
  out: string,
  templatePath: string,
  pieces: number,
): Promise<Record<string, number>> {
  const template = await loadTemplate(templatePath);
  const merged = join(out, "merged.pdf");
  const timed = async (work: () => Promise<unknown>) => {
    const t0 = performance.now();
    await work();
    return Math.round((performance.now() - t0) / pieces * 100) / 100;
  };
  const costs: Record<string, number> = {};
  costs.impose = await timed(async () => {
    await using source = await PieceSource.open(merged);
    await imposePdfFile(source, join(out, "imposed.pdf"), {
      grid: "2x2",
      sheet: "12x18in",
      piece: template.geometry,
      title: template.name,
    });
  });
  costs.marks = await timed(() =>
    markPdfFile(merged, join(out, "marked.pdf"), {
      slug: (page, pages) => recordSlug(template.name, page + 1, pages),
    })
  );
  // --pdfx: each piece converted as the batch converts it (the profile
  // opened once, outside the timing), and merged.pdf's identity.
  await using pdfx = await PdfXConverter.open();
  const files: string[] = [];
  for await (const e of Deno.readDir(out)) {
    if (/^\d+\.pdf$/.test(e.name)) files.push(join(out, e.name));
  }
  const date = new Date();
  costs.pdfx = await timed(async () => {
    for (const file of files) {
      await pdfx.convert(await Deno.readFile(file), { date });
    }
  });
  return costs;
}

async function floorRun(
  { template: templatePath, data, size, records, concurrency }: Run,
): Promise<BenchRow> {
  await using browser = await Browser.launch();
  const template = await loadTemplate(templatePath);
  const assets = new AssetResolver(template.baseDir);
  const spec = await pageSpec(template, assets);
  let first;
  for await (const record of readCsv(data)) {
    first = await piecePayload(template, record, assets);
    break;
  }
  const started = performance.now();
  const pages = await Promise.all(
    Array.from({ length: concurrency }, () => RenderPage.open(browser, spec)),
  );
  const firstPieceMs = performance.now() - started;
  const sampler = memorySampler(browser.profileDir!, () => 0);
  for (const page of pages) await page.render(first!);
  const share = (i: number) =>
    Math.floor(records / concurrency) + (i < records % concurrency ? 1 : 0);
  const t0 = performance.now();
  const perPage = await Promise.all(
    pages.map((page, i) => page.floor(share(i))),
  );
  const wallS = (performance.now() - t0) / 1000;
  const memory = await sampler.stop();
  await Promise.all(pages.map((page) => page.close()));
  const each = perPage.map((ms, i) => ms / share(i));
  return {
    size,
    mode: "floor",
    pieces: records,
    wallS: round(wallS),
    perSecond: round(records / wallS),
    p50Ms: round(each.sort((a, b) => a - b)[Math.floor(each.length / 2)]!),
    p95Ms: round(Math.max(...each)),
    firstPieceMs: Math.round(firstPieceMs),
    peakDenoMB: Math.round(memory.peakDenoMB),
    peakChromiumMB: Math.round(memory.peakChromiumMB),
    bytesPerPdf: 0,
    samples: memory.samples,
  };
}

/** The results as Markdown tables. */
export function formatReport(
  rows: BenchRow[],
  records: number,
  concurrency: number,
  machine: string,
): string {
  const lines = [
    `Machine: ${machine}. Records: ${records}, concurrency: ${concurrency}.`,
    "",
    "| size | mode | PDF | pieces | wall s | pieces/s | p50 ms | p95 ms | first piece ms | peak Deno MB | peak Chromium MB | bytes/PDF | bytes/merged page |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) =>
      `| ${r.size} | ${r.mode} | ${
        pdfLabel(r)
      } | ${r.pieces} | ${r.wallS} | ${r.perSecond} | ${r.p50Ms} | ${r.p95Ms} | ${r.firstPieceMs} | ${r.peakDenoMB} | ${r.peakChromiumMB} | ${
        r.bytesPerPdf || "–"
      } | ${r.bytesPerMergedPage ?? "–"} |`
    ),
    "",
  ];
  for (const size of new Set(rows.map((r) => r.size))) {
    const get = (mode: Mode) =>
      rows.find((r) => r.size === size && r.mode === mode);
    const p = get("persistent");
    const c = get("cluster");
    const f = get("floor");
    const ratios = [];
    if (p && c) {
      ratios.push(
        `persistent/cluster ${(p.perSecond / c.perSecond).toFixed(1)}×`,
      );
    }
    if (p && f) {
      ratios.push(
        `persistent/floor ${(100 * p.perSecond / f.perSecond).toFixed(0)}%`,
      );
    }
    for (const vector of [get("vector"), get("vector-merged")]) {
      if (p && vector) {
        ratios.push(
          `${vector.mode}/persistent ${
            (vector.perSecond / p.perSecond).toFixed(1)
          }×`,
        );
      }
    }
    if (ratios.length) lines.push(`${size}: ${ratios.join(", ")}`);
  }
  const pressed = rows.filter((r) => r.press);
  if (pressed.length) {
    const names = Object.keys(pressed[0]!.press!);
    lines.push(
      "",
      "Press outputs made from merged.pdf after the batch, extra ms per piece (impose: 2x2 on 12x18in):",
      "",
      `| size | ${names.join(" | ")} |`,
      `| --- | ${names.map(() => "---:").join(" | ")} |`,
      ...pressed.map((r) =>
        `| ${r.size} | ${names.map((n) => r.press![n] ?? "–").join(" | ")} |`
      ),
    );
  }
  const staged = rows.filter((r) => r.stages);
  if (staged.length) {
    // The stages some run spent time in: raster's paint/encode/serialize/pdf,
    // vector's svg/layout/print/split, merge when merged.
    const names = (Object.keys(staged[0]!.stages!) as (keyof StageTotals)[])
      .filter((n) => staged.some((r) => r.stages![n] > 0));
    lines.push(
      "",
      "ms per piece, per stage (summed over pages; in-page stages run in Chromium):",
      "",
      `| size | mode | ${names.join(" | ")} |`,
      `| --- | --- | ${names.map(() => "---:").join(" | ")} |`,
      ...staged.map((r) =>
        `| ${r.size} | ${r.mode} | ${
          names.map((n) => r.stages![n]).join(" | ")
        } |`
      ),
    );
  }
  return lines.join("\n") + "\n";
}

/** "raster", or "vector, chunks of 100". */
function pdfLabel(row: BenchRow): string {
  if (!row.pdfMode) return "–";
  return row.chunkSize
    ? `${row.pdfMode}, chunks of ${row.chunkSize}`
    : row.pdfMode;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ??
    0;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

if (import.meta.main) Deno.exit(await main());
