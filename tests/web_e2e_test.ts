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
  run,
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
  // Check my list: every recipient checked before Generate; the tricky
  // list's CJK and Arabic names are in fonts the design lacks.
  await page.click("#check-list");
  await page.waitForFunction(
    () => !document.querySelector("#list-check-table")!.hasAttribute("hidden"),
    { timeout: 60_000 },
  );
  assert.match(
    await page.$eval("#list-check-status", (e) => e.textContent ?? ""),
    /of 12 recipients need a look/,
  );
  const kinds = await page.$$eval(
    "#list-check-kinds tbody tr",
    (rows) => rows.map((r) => r.getAttribute("data-kind")),
  );
  assert.ok(kinds.includes("missing-glyphs"), kinds.join(", "));
  // Press sheets and a proof, as a print buyer asks for them.
  await page.click("#proof");
  await page.click("#pdfx");
  await page.select("#impose", "2x2 12x18in");
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
  assert.match(await run("pdfinfo", [pdf]), /PDF subtype:\s+PDF\/X-4/);
  const info = await pdfInfo(pdf);
  assert.deepEqual([info.pages, info.width, info.height], [12, 450, 306]);
  const urls = await csvUrls(TRICKY_CSV);
  const pngs = await pdfToPngs(pdf, dir.path);
  for (const [i, png] of pngs.entries()) {
    assert.equal(await decodeQr(png), urls[i], `page ${i + 1}`);
  }
  // The press sheets and the proof, from their links.
  for (
    const [link, expect] of [["#download-imposed", 3], [
      "#download-proof",
      0,
    ]] as const
  ) {
    await page.waitForSelector(`${link}:not([hidden])`);
    const url = await page.$eval(link, (a) => (a as HTMLAnchorElement).href);
    const b64 = await page.evaluate(async (u) => {
      const res = await fetch(u);
      const buf = new Uint8Array(await res.arrayBuffer());
      let bin = "";
      for (const b of buf) bin += String.fromCharCode(b);
      return btoa(bin);
    }, url);
    const file = join(dir.path, `${link.slice(10)}.pdf`);
    await Deno.writeFile(
      file,
      Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)),
    );
    const pages = (await pdfInfo(file)).pages;
    // 12 records 2x2: 3 sheets; the proof: at least the first 5 records.
    if (expect) assert.equal(pages, expect, link);
    else assert.ok(pages >= 5, `${link}: ${pages} pages`);
  }
  assert.deepEqual(problems, []);
});

Deno.test("the page says before Generate that a design with a blend mode cannot print as vector pages, and lets the user pick raster", async () => {
  await using dir = await tempDir();
  await using store = await JobStore.open(join(dir.path, "data"));
  // No batch runs here (the worker is never started); the library's
  // previews render in this browser.
  await using renderBrowser = await Browser.launch();
  await using worker = new BatchWorker(store, { browser: renderBrowser });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createHandler({ store, worker, metrics: new Metrics() }),
  );
  const { id } = await store.addTemplate({
    name: "Multiply",
    size: { width: 6, height: 4, unit: "in" },
    canvas: {
      objects: [
        {
          type: "Rect",
          width: 100,
          height: 100,
          fill: "#f00",
          globalCompositeOperation: "multiply",
        },
        { type: "Textbox", text: "Hi {{firstName}}", top: 200 },
      ],
    },
  });
  await using user = await Browser.launch();
  const page = await user.newPage();
  const problems: string[] = [];
  page.on(
    "pageerror",
    (e) => problems.push(`page error: ${(e as Error).message}`),
  );
  await page.goto(`http://127.0.0.1:${server.addr.port}/`, {
    waitUntil: "networkidle0",
  });
  await page.waitForSelector(`.template-card[data-id="${id}"]`);
  await page.click(`.template-card[data-id="${id}"]`);
  const input = await page.$("input#csv-input");
  await (input as ElementHandle<HTMLInputElement>).uploadFile(TRICKY_CSV);
  await page.waitForFunction(
    () =>
      /blend mode/.test(document.querySelector("#field-check")!.textContent!),
    { timeout: 10_000 },
  );
  const said = await page.$eval("#field-check", (e) => e.textContent ?? "");
  assert.match(said, /canvas\.objects\[0\] \(Rect\).*"multiply".*Raster/);
  assert.ok(
    await page.$eval("#generate", (b) => (b as HTMLButtonElement).disabled),
    "Generate stays disabled",
  );
  await page.select("#pdf-mode", "raster");
  await page.waitForFunction(
    () => !document.querySelector<HTMLButtonElement>("#generate")!.disabled,
    { timeout: 10_000 },
  );
  assert.match(
    await page.$eval("#field-check", (e) => e.textContent ?? ""),
    /✓ Your file has a column for every field/,
  );
  assert.deepEqual(problems, []);
});
