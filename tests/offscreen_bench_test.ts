import assert from "node:assert/strict";
import {
  formatOffscreenReport,
  runOffscreenBench,
} from "../bench/offscreen.ts";

Deno.test("runOffscreenBench() reports today's path and b-copy, whose pieces are today's PNG bytes", async () => {
  const report = await runOffscreenBench({
    records: 6,
    reps: 1,
    configs: ["today p2", "b-copy p1w2"],
  });
  assert.deepEqual(report.failures, []);
  assert.equal(report.baseline, "today p2");
  assert.deepEqual(report.rows.map((r) => r.config), [
    "today p2",
    "b-copy p1w2",
  ]);
  for (const row of report.rows) {
    assert.equal(row.written, 6, `${row.config}: pieces written`);
    assert.equal(row.identical, 6, `${row.config}: byte-identical PNGs`);
    assert.equal(row.rgba, 0, `${row.config}: RGB, so they went into PDFs`);
    assert.ok(row.perSecond > 0 && row.runs.length === 1);
    assert.ok((row.cpu.renderer ?? 0) > 0, `${row.config}: renderer CPU`);
    assert.ok(row.peakPssMB > 0, `${row.config}: Chromium PSS`);
  }
  assert.equal(report.rows[0]!.ratio, 1);
  assert.ok(report.runs.every((r) => r.errors.length === 0));
  const table = formatOffscreenReport(report);
  assert.match(table, /^\| today p2 \|.*\| 6\/6 \| – \|$/m);
  assert.match(table, /^\| b-copy p1w2 \|.*\| 6\/6 \| – \|$/m);
});
