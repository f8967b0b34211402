import assert from "node:assert/strict";
import { join } from "node:path";
import { runBatch } from "../batch/run.ts";
import { Browser } from "../render/browser.ts";
import {
  csvUrls,
  decodeQr,
  EXAMPLE_TEMPLATE,
  pdfInfo,
  pdfToPngs,
  tempDir,
  TRICKY_CSV,
} from "./_helpers.ts";

// A resumed batch merges pieces kept from the first run (read back from their
// files) with pieces rendered now; with several records in flight the reads
// and renders finish out of order. Once, the server's resume test found page 1
// of merged.pdf holding record 2: concurrent mergers each took the next page
// and added it when their file read finished. This pins the order down.
Deno.test("runBatch() with resume writes merged.pdf in record order, kept and new pieces interleaved", async () => {
  await using browser = await Browser.launch();
  await using out = await tempDir();
  await using pngs = await tempDir();
  const first = await runBatch({
    template: EXAMPLE_TEMPLATE,
    data: TRICKY_CSV,
    out: out.path,
    browser,
    concurrency: 2,
  });
  const kept = new Map(
    first.manifest.records
      .filter((r) => r.index % 2 === 0 || r.index === 1)
      .map((r) => [r.index, r]),
  );
  for (const record of first.manifest.records) {
    if (!kept.has(record.index)) {
      await Deno.remove(join(out.path, record.file!));
    }
  }
  const rendered: number[] = [];
  const second = await runBatch({
    template: EXAMPLE_TEMPLATE,
    data: TRICKY_CSV,
    out: out.path,
    browser,
    concurrency: 2,
    merge: true,
    resume: kept,
    onRecord: (entry, piece) => {
      if (piece) rendered.push(entry.index);
    },
  });
  assert.deepEqual(rendered.sort((a, b) => a - b), [3, 5, 7, 9, 11]);
  assert.equal(second.manifest.merged, "merged.pdf");
  const merged = join(out.path, "merged.pdf");
  assert.equal((await pdfInfo(merged)).pages, 12);
  const urls = await csvUrls(TRICKY_CSV);
  const pages = await pdfToPngs(merged, pngs.path, 100);
  for (const [i, png] of pages.entries()) {
    assert.equal(await decodeQr(png), urls[i], `page ${i + 1}`);
  }
});
