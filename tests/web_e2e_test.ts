import assert from "node:assert/strict";
import type { ElementHandle } from "puppeteer-core";
import { join } from "node:path";
import { Metrics } from "../batch/metrics.ts";
import { JobStore } from "../batch/store.ts";
import { BatchWorker } from "../batch/worker.ts";
import { Browser } from "../render/browser.ts";
import { createHandler } from "../server.ts";
import {
  csvUrls,
  decodeQr,
  pdfInfo,
  pdfToPngs,
  tempDir,
  TRICKY_CSV,
} from "./_helpers.ts";

Deno.test("a user opens the page, uploads recipients-tricky.csv, generates, and downloads a merged PDF whose QR codes scan", async () => {
  await using dir = await tempDir();
  await using store = await JobStore.open(join(dir.path, "data"));
  await using renderBrowser = await Browser.launch();
  const metrics = new Metrics();
  const pieces = new EventTarget();
  await using worker = new BatchWorker(store, {
    browser: renderBrowser,
    metrics,
    pollMs: 50,
    onPiece: (batch, entry) =>
      pieces.dispatchEvent(
        new CustomEvent("piece", { detail: { batch, entry } }),
      ),
  });
  worker.start();
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createHandler({ store, worker, metrics, pieces }),
  );
  const base = `http://127.0.0.1:${server.addr.port}`;

  // The user's own browser: a separate headless Chromium.
  await using user = await Browser.launch();
  const page = await user.newPage();
  const problems: string[] = [];
  page.on(
    "pageerror",
    (e) => problems.push(`page error: ${(e as Error).message}`),
  );
  page.on(
    "console",
    (m) => m.type() === "error" && problems.push(`console: ${m.text()}`),
  );
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(`${base}/`, { waitUntil: "networkidle0" });

  await page.waitForSelector('.template-card[data-id="postcard"]');
  await page.click('.template-card[data-id="postcard"]');
  const input = await page.$("input#csv-input");
  await (input as ElementHandle<HTMLInputElement>).uploadFile(TRICKY_CSV);
  await page.waitForFunction(
    () => !document.querySelector<HTMLButtonElement>("#generate")!.disabled,
    { timeout: 10_000 },
  );
  await page.screenshot({ path: join(dir.path, "ready.png") });
  await page.click("#generate");
  await page.waitForFunction(
    () =>
      document.querySelector("#progress")?.getAttribute("data-state") ===
        "done",
    { timeout: 60_000 },
  );
  const text = await page.$eval(
    "#progress-percent",
    (e) => e.textContent ?? "",
  );
  assert.match(text, /100\s*%/);
  await page.waitForSelector("#download-pdf:not([hidden])");
  const href = await page.$eval(
    "#download-pdf",
    (a) => (a as HTMLAnchorElement).href,
  );
  // Download it as the page would (same origin, same URL).
  const bytes = await page.evaluate(async (url) => {
    const res = await fetch(url);
    const buf = new Uint8Array(await res.arrayBuffer());
    let bin = "";
    for (const b of buf) bin += String.fromCharCode(b);
    return btoa(bin);
  }, href);
  const pdf = join(dir.path, "downloaded.pdf");
  await Deno.writeFile(
    pdf,
    Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0)),
  );
  const info = await pdfInfo(pdf);
  assert.deepEqual([info.pages, info.width, info.height], [12, 450, 306]);
  const urls = await csvUrls(TRICKY_CSV);
  const pngs = await pdfToPngs(pdf, dir.path);
  for (const [i, png] of pngs.entries()) {
    assert.equal(await decodeQr(png), urls[i], `page ${i + 1}`);
  }
  assert.deepEqual(problems, []);
});
