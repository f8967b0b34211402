/**
 * `deno task bench:offscreen`: today's raster path against the
 * OffscreenCanvas variants of issue 8 on the bench's print-size data —
 * record pull (c), PNG encode in workers (b), Fabric in workers (a) and
 * (a)+(c) — with pieces/s, CPU per piece by process type, peak Chromium PSS
 * per piece in flight, and whether the pieces are today's bytes (or pixels).
 *
 * Every config runs in a fresh Chromium; reps are interleaved (all configs,
 * then all again) so a change in the machine's load hits every config alike.
 * The page side is in `offscreen/` (see its README.md).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { readCsv } from "../batch/csv.ts";
import { UsageError } from "../common/errors.ts";
import { Browser } from "../render/browser.ts";
import { AssetResolver } from "../template/assets.ts";
import { pageSpec } from "../template/page_spec.ts";
import { loadTemplate } from "../template/parse.ts";
import { piecePayload } from "../template/payload.ts";
import { writeBenchData } from "./data.ts";
import {
  type Config,
  DEFAULT_CONFIGS,
  parseConfig,
} from "./offscreen/_configs.ts";
import { type Job, renderReference } from "./offscreen/_pieces.ts";
import { runConfig, type RunResult } from "./offscreen/_run.ts";

/** Options for {@linkcode runOffscreenBench}. */
export interface OffscreenBenchOptions {
  /** Print-size records per run. @default 150 */
  records?: number;
  /** Runs of each config, interleaved. @default 3 */
  reps?: number;
  /** Config names ("today p2", "b-copy p1w2", …). @default DEFAULT_CONFIGS */
  configs?: string[];
  /** Called after each run, e.g. to print progress. @default none */
  onRun?: (run: RunResult | RunFailure, rep: number) => void;
}

/** A run that did not finish. */
export interface RunFailure {
  config: string;
  error: string;
}

/** The medians of one config's runs. */
export interface OffscreenRow {
  config: string;
  /** Pieces per second of each run, in run order. */
  runs: number[];
  perSecond: number;
  /** Median pieces/s over the first today config's; undefined without one. */
  ratio?: number;
  /** Median share of the machine's CPU other processes took, in %. */
  othersCpuPct: number;
  /** Median CPU ms per piece by process type, and `total` over all. */
  cpu: Record<string, number>;
  peakPssMB: number;
  pssPerPieceMB: number;
  /** Summed over the runs. */
  identical: number;
  written: number;
  rgba: number;
  pixelsChecked: number;
  pixelsIdentical: number;
}

/** Everything a bench run found. */
export interface OffscreenReport {
  date: string;
  machine: string;
  /** `/proc/loadavg`'s 1-minute load average before and after. */
  load: { before: number; after: number };
  records: number;
  reps: number;
  /** The config the ratios are against. */
  baseline?: string;
  rows: OffscreenRow[];
  runs: RunResult[];
  failures: RunFailure[];
}

const USAGE = `Usage: deno task bench:offscreen [options]

  --records N     print-size records per run (default 150)
  --reps N        runs of each config, interleaved (default 3)
  --configs LIST  comma list of "<variant> p<pages>[w<workers>]"
                  (default "${DEFAULT_CONFIGS.join(",")}")
                  variants: today, pull, b-copy, a, a+c
  --json FILE     also write the figures to FILE
  -h, --help      this help

Results are saved under bench/results/offscreen-*.`;

/**
 * Renders the bench's print-size data through every config, `reps` times,
 * and returns the runs and their medians. Today's bytes for the identity
 * check come from one untimed pass through a `RenderPage` first.
 */
export async function runOffscreenBench(
  options: OffscreenBenchOptions = {},
): Promise<OffscreenReport> {
  const records = options.records ?? 150;
  const reps = options.reps ?? 3;
  const configs = (options.configs ?? DEFAULT_CONFIGS).map(parseConfig);
  if (!(records >= 1) || !(reps >= 1) || configs.length === 0) {
    throw new UsageError("Records, reps and configs must be at least 1");
  }
  const loadBefore = await loadAverage();
  const dir = await Deno.makeTempDir({ prefix: "pressrun-offscreen-" });
  try {
    const { template: path, data } = await writeBenchData(
      dir,
      "print",
      records,
    );
    const template = await loadTemplate(path);
    const assets = new AssetResolver(template.baseDir);
    const spec = await pageSpec(template, assets);
    const jobs: Job[] = [];
    for await (const record of readCsv(data)) {
      jobs.push({
        index: record.index,
        payload: await piecePayload(template, record, assets),
      });
    }
    const referenceDir = join(dir, "reference");
    const out = join(dir, "out");
    await Deno.mkdir(referenceDir);
    await Deno.mkdir(out);
    let chromium;
    let reference;
    {
      await using browser = await Browser.launch();
      chromium = await browser.puppeteer.version();
      reference = await renderReference(browser, spec, {
        jobs,
        dir: referenceDir,
      });
    }
    const runs: RunResult[] = [];
    const failures: RunFailure[] = [];
    for (let rep = 1; rep <= reps; rep++) {
      for (const config of configs) {
        let run: RunResult | RunFailure;
        try {
          run = await runConfig(config, {
            spec,
            template,
            jobs,
            reference,
            out,
          });
          runs.push(run);
        } catch (error) {
          run = { config: config.name, error: firstLine(error) };
          failures.push(run);
        }
        options.onRun?.(run, rep);
      }
    }
    const baseline = configs.find((c) => c.variant === "today");
    return {
      date: new Date().toISOString(),
      machine: `${navigator.hardwareConcurrency} cores, ${
        Math.round(Deno.systemMemoryInfo().total / 2 ** 30)
      } GiB, ${Deno.build.os}/${Deno.build.arch}, Deno ${Deno.version.deno}, ${chromium}`,
      load: { before: loadBefore, after: await loadAverage() },
      records,
      reps,
      baseline: baseline?.name,
      rows: summarise(configs, runs, baseline),
      runs,
      failures,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** One row per config with runs: medians, identity summed. */
function summarise(
  configs: Config[],
  runs: RunResult[],
  baseline: Config | undefined,
): OffscreenRow[] {
  const of = (name: string) => runs.filter((r) => r.config === name);
  const base = baseline && of(baseline.name).length
    ? median(of(baseline.name).map((r) => r.perSecond))
    : undefined;
  return configs.flatMap((config) => {
    const mine = of(config.name);
    if (mine.length === 0) return [];
    const med = (f: (r: RunResult) => number) => median(mine.map(f));
    const types = new Set(mine.flatMap((r) => Object.keys(r.cpu)));
    const cpu: Record<string, number> = {};
    for (const type of types) cpu[type] = med((r) => r.cpu[type] ?? 0);
    cpu.total = med((r) => Object.values(r.cpu).reduce((a, b) => a + b, 0));
    const sum = (f: (r: RunResult) => number) =>
      mine.reduce((n, r) => n + f(r), 0);
    const perSecond = med((r) => r.perSecond);
    return [{
      config: config.name,
      runs: mine.map((r) => r.perSecond),
      perSecond,
      ratio: base ? perSecond / base : undefined,
      othersCpuPct: med((r) => r.othersCpuPct),
      cpu,
      peakPssMB: med((r) => r.peakPssMB),
      pssPerPieceMB: med((r) => r.pssPerPieceMB),
      identical: sum((r) => r.identity.identical),
      written: sum((r) => r.identity.written),
      rgba: sum((r) => r.identity.rgba),
      pixelsChecked: sum((r) => r.identity.pixelsChecked),
      pixelsIdentical: sum((r) => r.identity.pixelsIdentical),
    }];
  });
}

/** The report as Markdown: the table and what its columns mean. */
export function formatOffscreenReport(report: OffscreenReport): string {
  const n1 = (x: number) => x.toFixed(1);
  const lines = [
    `Machine: ${report.machine}. Records: ${report.records} (print size), reps: ${report.reps}, load average ${
      n1(report.load.before)
    } before, ${n1(report.load.after)} after.`,
    "",
    `| config | pieces/s (runs) | median | vs ${
      report.baseline ?? "today"
    } | others' CPU % | renderer ms | browser ms | utility ms | Deno ms | total CPU ms | peak PSS MB | PSS MB / piece in flight | identical bytes | identical pixels |`,
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ...report.rows.map((r) =>
      `| ${r.config} | ${r.runs.map(n1).join(", ")} | ${n1(r.perSecond)} | ${
        r.ratio === undefined ? "–" : `${r.ratio.toFixed(2)}×`
      } | ${Math.max(0, Math.round(r.othersCpuPct))} | ${
        n1(r.cpu.renderer ?? 0)
      } | ${n1(r.cpu.browser ?? 0)} | ${n1(r.cpu.utility ?? 0)} | ${
        n1(r.cpu.deno ?? 0)
      } | ${n1(r.cpu.total ?? 0)} | ${Math.round(r.peakPssMB)} | ${
        Math.round(r.pssPerPieceMB)
      } | ${r.identical}/${r.written}${
        r.rgba ? ` (${r.rgba} RGBA, no PDF)` : ""
      } | ${
        r.pixelsChecked
          ? `${r.pixelsIdentical}/${r.pixelsChecked} checked`
          : "–"
      } |`
    ),
    "",
    "Medians over the runs. Others' CPU: the share of the machine's CPU time",
    "that other processes took during the timed window (0 on a quiet machine;",
    "/proc's 10 ms ticks make it ±2). When it is not 0, the runs met different",
    "competition and their ratios mean little; CPU ms per piece hold up better.",
    "CPU: ms per piece over the timed window, summed",
    "over the Chromium processes of each type (the GPU process and zygote are",
    "in the total only) and this Deno process (origin, PDF, write, hash).",
    "Pieces in flight: a page each (today, pull), a page and its encoders",
    "(b-copy), a Fabric worker each (a, a+c). Identity is against today's",
    "PNG of the same record, summed over the runs; RGBA pieces cannot go into",
    "the PDF unchanged and are written as PNG, so their Deno ms lack the PDF.",
  ];
  for (const f of report.failures) {
    lines.push(`\nFailed: ${f.config}: ${f.error}`);
  }
  for (const run of report.runs.filter((r) => r.errors.length)) {
    lines.push(
      `\nErrors in ${run.config}: ${run.errors.slice(0, 3).join("; ")}`,
    );
  }
  return lines.join("\n") + "\n";
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      records: { type: "string", default: "150" },
      reps: { type: "string", default: "3" },
      configs: { type: "string" },
      json: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  let report: OffscreenReport;
  try {
    report = await runOffscreenBench({
      records: Number(v.records),
      reps: Number(v.reps),
      configs: v.configs?.split(",").map((c) => c.trim()).filter(Boolean),
      onRun: (run, rep) =>
        console.log(
          "error" in run
            ? `  [${rep}] ${run.config}: failed: ${run.error}`
            : `  [${rep}] ${run.config}: ${
              run.perSecond.toFixed(1)
            } pieces/s, ${run.identity.identical}/${run.identity.written} identical, others took ${
              Math.max(0, Math.round(run.othersCpuPct))
            }% of the CPU`,
        ),
    });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  const table = formatOffscreenReport(report);
  console.log(`\n${table}`);
  const stamp = report.date.replace(/[:.]/g, "-");
  const resultsDir = new URL("./results/", import.meta.url);
  const json = JSON.stringify(report, null, 2);
  await Deno.writeTextFile(
    new URL(`offscreen-${stamp}.json`, resultsDir),
    json,
  );
  await Deno.writeTextFile(new URL(`offscreen-${stamp}.md`, resultsDir), table);
  if (v.json) await Deno.writeTextFile(v.json, json);
  console.log(`Saved bench/results/offscreen-${stamp}.json and .md`);
  return report.failures.length > 0 ? 1 : 0;
}

/** The 1-minute load average. */
async function loadAverage(): Promise<number> {
  return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split(
    "\n",
  )[0]!;
}

if (import.meta.main) Deno.exit(await main());
