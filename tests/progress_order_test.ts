import assert from "node:assert/strict";
import { runBatch } from "../batch/run.ts";
import { delay } from "../common/async.ts";
import { Browser } from "../render/browser.ts";
import { EXAMPLE_CSV, EXAMPLE_TEMPLATE, tempDir } from "./_helpers.ts";

// Records finish concurrently, and a caller's onRecord may take its time (the
// server writes each record to its store): a slow report for one record must
// not let a later record's progress overtake it or repeat its count.
Deno.test("runBatch() reports each finished record, then the progress, in order: done counts up by one", async () => {
  await using browser = await Browser.launch();
  await using out = await tempDir();
  const told: number[] = [];
  const done: number[] = [];
  let calls = 0;
  const result = await runBatch({
    template: EXAMPLE_TEMPLATE,
    data: EXAMPLE_CSV,
    out: out.path,
    browser,
    concurrency: 2,
    onRecord: async (entry) => {
      // Every other report is slow, so the next record finishes meanwhile.
      if (calls++ % 2 === 0) await delay(150);
      told.push(entry.index);
    },
    onProgress: (p) => done.push(p.done),
  });
  assert.equal(result.rendered, 8);
  assert.deepEqual(done, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...told].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
});
