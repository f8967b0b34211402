import assert from "node:assert/strict";
import { runLoad } from "../bench/load.ts";

Deno.test("under many concurrent batches and previews the server answers only 200, 202 or 429, finishes every accepted batch and never opens more pages than configured", async () => {
  const report = await runLoad({
    batches: 24,
    records: 3,
    previews: 24,
    clients: 8,
    concurrency: 2,
    deadlineMs: 90_000,
    limits: { maxQueued: 3, maxPreviews: 1, maxPreviewQueue: 2 },
  });
  assert.deepEqual(report.errors, []);
  assert.deepEqual(report.unfinished, []);
  assert.equal(report.requests, 48);
  assert.ok(
    (report.statuses["429"] ?? 0) > 0,
    `the queue limit was reached: ${JSON.stringify(report.statuses)}`,
  );
  assert.ok(report.accepted > 0 && report.completed === report.accepted);
  // Two pool pages plus one preview page at most.
  assert.ok(report.maxPages <= 3, `pages open at once: ${report.maxPages}`);
});
