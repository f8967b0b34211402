import assert from "node:assert/strict";
import { join } from "node:path";
import { runBatch } from "../batch/run.ts";
import { TimeoutError } from "../common/errors.ts";
import { writeBenchData } from "../bench/data.ts";
import { Browser } from "../render/browser.ts";
import { PersistentRenderer } from "../render/persistent.ts";
import {
  chromiumPids,
  csvUrls,
  decodeQr,
  EXAMPLE_TEMPLATE,
  examplePieces,
  imageOf,
  pdfToPngs,
  tempDir,
  TRICKY_CSV,
  wrapPageApi,
} from "./_helpers.ts";

/** Makes record `index` hang forever in every render page opened later. */
function hangOn(index: number) {
  return wrapPageApi((value, n) => ({
    ...value,
    render: (request) =>
      request.payload.index === n
        ? new Promise(() => {})
        : value.render(request),
  }), index);
}

for (const renderer of ["persistent", "cluster"] as const) {
  Deno.test(`a record that hangs on the ${renderer} renderer is cut off at its deadline, retried once and marked failed; the rest render`, async () => {
    await using browser = await Browser.launch();
    await using out = await tempDir();
    const started = performance.now();
    const result = await runBatch({
      template: EXAMPLE_TEMPLATE,
      data: TRICKY_CSV,
      out: out.path,
      browser,
      renderer,
      // The injector wraps the page's raster render(); vector mode's deadline
      // per chunk is tests/vector_failures_test.ts's.
      pdfMode: "raster",
      limit: 5,
      onError: "skip",
      rendering: { renderTimeoutMs: 1500, encode: { setup: hangOn(3) } },
    });
    const seconds = (performance.now() - started) / 1000;
    assert.deepEqual(result.manifest.records.map((r) => r.status), [
      "ok",
      "ok",
      "failed",
      "ok",
      "ok",
    ]);
    assert.match(
      result.manifest.records[2]!.error!,
      /^Cannot render record 3: .*took longer than 1\.5 s/,
    );
    assert.ok(seconds < 15, `bounded: ${seconds.toFixed(1)} s`);
    assert.deepEqual(await browser.puppeteer.pages(), [], "no page left open");
  });
}

Deno.test("Chromium killed with -9 mid-batch is started again and every record is rendered exactly once", async () => {
  await using dir = await tempDir();
  const { template, data } = await writeBenchData(dir.path, "screen", 40);
  await using browser = await Browser.launch();
  const firstPid = browser.pid!;
  let killed = false;
  const result = await runBatch({
    template,
    data,
    out: join(dir.path, "out"),
    browser,
    renderer: "persistent",
    // Vector (the default) in small chunks, so the kill lands mid-batch.
    chunkSize: 4,
    onProgress: (p) => {
      if (!killed && p.done >= 10) {
        killed = true;
        Deno.kill(firstPid, "SIGKILL");
      }
    },
  });
  assert.ok(killed);
  assert.ok(browser.restarts >= 1, "Chromium was started again");
  assert.notEqual(browser.pid, firstPid);
  assert.equal(result.rendered, 40);
  assert.deepEqual(
    result.manifest.records.map((r) => r.index),
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  const files = [...Deno.readDirSync(join(dir.path, "out"))].filter((e) =>
    e.name.endsWith(".pdf")
  );
  assert.equal(files.length, 40);
  for (const i of [9, 10, 11, 39]) {
    const [png] = await pdfToPngs(
      join(dir.path, "out", result.manifest.records[i]!.file!),
      dir.path,
      100,
    );
    assert.equal(
      await decodeQr(png!),
      `https://example.com/r/${100000 + i}?c=bench`,
      `record ${i + 1}`,
    );
  }
});

Deno.test("a renderer process killed with -9 mid-batch costs nothing: its page is replaced and its record retried", async () => {
  await using dir = await tempDir();
  const { template, data } = await writeBenchData(dir.path, "screen", 30);
  await using browser = await Browser.launch();
  let killed = 0;
  const result = await runBatch({
    template,
    data,
    out: join(dir.path, "out"),
    browser,
    renderer: "auto",
    // Vector (the default) in small chunks, so the kill lands mid-batch.
    chunkSize: 4,
    onProgress: async (p) => {
      if (killed === 0 && p.done >= 8) {
        killed = -1;
        const renderers = await rendererPids(browser.profileDir!);
        for (const pid of renderers.slice(0, 1)) Deno.kill(pid, "SIGKILL");
        killed = renderers.length > 0 ? 1 : 0;
      }
    },
  });
  assert.equal(killed, 1);
  assert.equal(result.rendered, 30);
  assert.equal(result.failed, 0);
  assert.equal(new Set(result.manifest.records.map((r) => r.file)).size, 30);
});

async function rendererPids(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await chromiumPids(marker)) {
    const cmd = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
    if (cmd.includes("--type=renderer")) pids.push(pid);
  }
  return pids;
}

Deno.test("PersistentRenderer recycles its pages when Chromium passes its memory limit", async () => {
  const { spec, payloads } = await examplePieces(TRICKY_CSV);
  await using browser = await Browser.launch();
  let limitHit = 0;
  await using pool = await PersistentRenderer.start(browser, spec, {
    pages: 2,
    maxBrowserMemoryMB: 1,
    onMemoryLimit: () => limitHit++,
  });
  const first = new Set(pool.pages);
  const urls = await csvUrls(TRICKY_CSV);
  for (let i = 0; i < 120; i++) {
    const payload = payloads[i % payloads.length]!;
    const piece = await pool.render(payload);
    if (i % 20 === 19) {
      assert.equal(
        await decodeQr(imageOf(piece).bytes),
        urls[payload.index - 1],
      );
    }
  }
  assert.ok(limitHit >= 1, "the limit was seen");
  assert.ok(
    pool.pages.every((p) => !first.has(p)),
    "every first page was replaced",
  );
});

Deno.test("PersistentRenderer fails clearly when no page becomes free in time", async () => {
  const { spec, payloads } = await examplePieces(TRICKY_CSV, 2);
  await using browser = await Browser.launch();
  await using pool = await PersistentRenderer.start(browser, spec, {
    pages: 1,
    acquireTimeoutMs: 300,
    renderTimeoutMs: 3000,
    encode: { setup: hangOn(1) },
  });
  const busy = pool.render(payloads[0]!).catch((e: Error) => e);
  await assert.rejects(pool.render(payloads[1]!), (e: Error) => {
    assert.equal(e.name, "PoolTimeoutError");
    assert.ok(e instanceof TimeoutError, "a TimeoutError: 504 over HTTP");
    assert.match(
      e.message,
      /No render page became free within 0\.3 s \(1 pages, all busy\)/,
    );
    return true;
  });
  assert.match(String(await busy), /took longer than 3 s/);
});
