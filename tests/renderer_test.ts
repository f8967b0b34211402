import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { runBatch } from "../batch/run.ts";
import { Browser } from "../render/browser.ts";
import { ClusterRenderer } from "../render/cluster.ts";
import type { LogLevel } from "../render/log.ts";
import { PersistentRenderer } from "../render/persistent.ts";
import {
  csvUrls,
  decodeQr,
  EXAMPLE_CSV,
  EXAMPLE_TEMPLATE,
  examplePieces,
  imageOf,
  pdfToPngs,
  readPng,
  tempDir,
  TRICKY_CSV,
} from "./_helpers.ts";

Deno.test("PersistentRenderer.render() reuses its warm pages for the next records", async () => {
  await using browser = await Browser.launch();
  const { spec, payloads } = await examplePieces(EXAMPLE_CSV, 4);
  await using pool = await PersistentRenderer.start(browser, spec, {
    pages: 2,
  });
  const before = pool.pages;
  assert.equal(before.length, 2);
  for (const payload of payloads) {
    const piece = await pool.render(payload);
    assert.deepEqual([imageOf(piece).width, imageOf(piece).height], [
      1875,
      1275,
    ]);
  }
  assert.deepEqual(pool.pages, before, "no page was replaced");
  assert.equal(before.reduce((n, p) => n + p.renders, 0), 4);
});

Deno.test("PersistentRenderer replaces a page that dies and retries its record on a fresh one", async () => {
  await using browser = await Browser.launch();
  const { spec, payloads } = await examplePieces(EXAMPLE_CSV, 2);
  await using pool = await PersistentRenderer.start(browser, spec, {
    pages: 1,
  });
  const [first] = pool.pages;
  await first!.page.close();
  const piece = await pool.render(payloads[1]!);
  assert.equal(
    await decodeQr(imageOf(piece).bytes),
    "https://example.com/r/1002",
  );
  assert.equal(pool.pages.length, 1);
  assert.notEqual(pool.pages[0], first);
});

Deno.test("persistent and cluster renderers produce identical pixels for the same records", async () => {
  await using browser = await Browser.launch();
  const { spec, payloads } = await examplePieces(EXAMPLE_CSV, 3);
  await using pool = await PersistentRenderer.start(browser, spec, {
    pages: 1,
  });
  await using cluster = new ClusterRenderer(browser, spec);
  // The pool renders all records on one page (so state from earlier records
  // would show), the cluster renders each on a fresh page.
  for (const payload of [...payloads, ...payloads.slice().reverse()]) {
    const a = await readPng(imageOf(await pool.render(payload)).bytes);
    const b = await readPng(imageOf(await cluster.render(payload)).bytes);
    assert.deepEqual([a.width, a.height], [b.width, b.height]);
    assert.ok(
      Buffer.compare(a.data, b.data) === 0,
      `record ${payload.index} differs`,
    );
  }
});

Deno.test("a record's image and texts never leak into the next record on a persistent page", async () => {
  await using browser = await Browser.launch();
  const { spec, payloads } = await examplePieces(EXAMPLE_CSV, 3);
  await using pool = await PersistentRenderer.start(browser, spec, {
    pages: 1,
  });
  await using cluster = new ClusterRenderer(browser, spec);
  // Record 2 has a photo and a company; record 3 has neither.
  await pool.render(payloads[1]!);
  const after = await readPng(imageOf(await pool.render(payloads[2]!)).bytes);
  const fresh = await readPng(
    imageOf(await cluster.render(payloads[2]!)).bytes,
  );
  assert.ok(Buffer.compare(after.data, fresh.data) === 0);
});

function collectLog() {
  const lines: string[] = [];
  return {
    lines,
    log: (level: LogLevel, message: string) =>
      lines.push(`${level}: ${message}`),
  };
}

Deno.test("auto falls back to cluster when the pool cannot start, and renders every record", async () => {
  await using out = await tempDir();
  const { lines, log } = collectLog();
  const modes: string[] = [];
  const result = await runBatch({
    template: EXAMPLE_TEMPLATE,
    data: TRICKY_CSV,
    out: out.path,
    renderer: "auto",
    limit: 4,
    rendering: { persistent: { startTimeoutMs: 1 } },
    onProgress: (p) => modes.push(p.mode),
    log,
  });
  assert.equal(result.rendered, 4);
  assert.equal(result.mode, "cluster");
  assert.deepEqual(new Set(modes), new Set(["cluster"]));
  assert.ok(
    lines.some((l) => /falling back to CLUSTER/.test(l)),
    lines.join("\n"),
  );
  assert.ok(
    result.manifest.records.every((r) =>
      r.status === "ok" && r.mode === "cluster"
    ),
  );
});

Deno.test("auto falls back to cluster when pool pages keep dying mid-batch, with every record rendered exactly once", async () => {
  await using browser = await Browser.launch();
  await using out = await tempDir();
  await using pngs = await tempDir();
  const { lines, log } = collectLog();
  let kills = 0;
  const result = await runBatch({
    template: EXAMPLE_TEMPLATE,
    data: TRICKY_CSV,
    out: out.path,
    browser,
    renderer: "auto",
    concurrency: 2,
    // Vector (the default) in chunks of 2, so pages die mid-batch.
    chunkSize: 2,
    onProgress: (p) => {
      if (p.mode !== "persistent" || p.done < 3) return;
      // Kill every page that exists right now: all are pool pages.
      browser.puppeteer.pages().then((pages) => {
        for (const page of pages) {
          kills++;
          page.close().catch(() => {});
        }
      });
    },
    log,
  });
  assert.ok(kills > 0);
  assert.ok(
    lines.some((l) => /falling back to CLUSTER/.test(l)),
    lines.join("\n"),
  );
  assert.equal(result.mode, "cluster");
  const records = result.manifest.records;
  assert.deepEqual(
    records.map((r) => [r.index, r.status]),
    Array.from({ length: 12 }, (_, i) => [i + 1, "ok"]),
  );
  assert.ok(
    records.some((r) => r.mode === "persistent") &&
      records.some((r) => r.mode === "cluster"),
  );
  const files = new Set(records.map((r) => r.file));
  assert.equal(files.size, 12);
  const urls = await csvUrls(TRICKY_CSV);
  for (const record of records) {
    const [png] = await pdfToPngs(join(out.path, record.file!), pngs.path);
    assert.equal(
      await decodeQr(png!),
      urls[record.index - 1],
      `record ${record.index}`,
    );
  }
});
