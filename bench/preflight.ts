/**
 * `deno task bench --preflight`: the list preflight beside the render, on
 * the same list (the bench's print postcard): records/s of the preflight
 * with its layout pass (the warm pages), without it (the checks Deno makes
 * alone), and pieces/s of a vector render; the ratio is the goal
 * (≥ 1,000 records/s, ≥ 20× the render).
 *
 * @module
 */
import { join } from "node:path";
import { layoutCheck } from "../batch/list_layout.ts";
import { preflightList } from "../batch/list_preflight.ts";
import { runBatch } from "../batch/run.ts";
import { Browser } from "../render/browser.ts";
import { writeBenchData } from "./data.ts";

/** One row of the preflight table. */
export interface PreflightBenchRow {
  run: "preflight" | "preflight, no layout" | "render (vector)";
  records: number;
  wallS: number;
  perSecond: number;
  problems?: number;
}

/** Runs the three on `records` records with `concurrency` pages each. */
export async function runPreflightBench(
  options: { records: number; concurrency: number; renderRecords?: number },
): Promise<PreflightBenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "pressrun-bench-pf-" });
  await using browser = await Browser.launch();
  try {
    const { template, data } = await writeBenchData(
      dir,
      "print",
      options.records,
    );
    const rows: PreflightBenchRow[] = [];
    {
      await using layout = await layoutCheck({
        concurrency: options.concurrency,
        browser,
      });
      // Warm: the pages open and the fonts load once, as in a server.
      await preflightList({ template, data, layout: layout.check });
      const t0 = performance.now();
      const report = await preflightList({
        template,
        data,
        layout: layout.check,
      });
      rows.push(row("preflight", report.records, t0, report.problems.length));
    }
    const t1 = performance.now();
    const quick = await preflightList({ template, data });
    rows.push(
      row("preflight, no layout", quick.records, t1, quick.problems.length),
    );
    // The render of (a part of) the same list, warm-up left out of the rate.
    const limit = Math.min(options.records, options.renderRecords ?? 1000);
    const result = await runBatch({
      template,
      data,
      out: join(dir, "out"),
      limit,
      concurrency: options.concurrency,
      browser,
    });
    const seconds = (result.ms - result.startupMs) / 1000;
    rows.push({
      run: "render (vector)",
      records: result.rendered,
      wallS: round(seconds),
      perSecond: round(result.rendered / seconds),
    });
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The table, with each preflight's rate as a multiple of the render's. */
export function formatPreflightBench(rows: PreflightBenchRow[]): string {
  const render = rows.find((r) => r.run === "render (vector)")?.perSecond ?? 0;
  const lines = [
    "| run | records | wall s | records/s | × render | problems |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) =>
      `| ${r.run} | ${r.records} | ${r.wallS} | ${r.perSecond} | ${
        render && r.run !== "render (vector)" ? round(r.perSecond / render) : ""
      } | ${r.problems ?? ""} |`
    ),
  ];
  return lines.join("\n") + "\n";
}

function row(
  run: PreflightBenchRow["run"],
  records: number,
  started: number,
  problems: number,
): PreflightBenchRow {
  const seconds = (performance.now() - started) / 1000;
  return {
    run,
    records,
    wallS: round(seconds),
    perSecond: round(records / seconds),
    problems,
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
