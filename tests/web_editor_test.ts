import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "puppeteer-core";
import { Metrics } from "../batch/metrics.ts";
import { JobStore } from "../batch/store.ts";
import { BatchWorker } from "../batch/worker.ts";
import { Browser } from "../render/browser.ts";
import { createHandler } from "../server.ts";
import { tempDir } from "./_helpers.ts";

/** The newest object's `barcode`, as it is on the editor's canvas. */
function lastBarcode(page: Page): Promise<unknown> {
  return page.evaluate(() =>
    Reflect.get(globalThis, "pressrunEditor").canvas.getObjects().at(-1)
      ?.barcode
  );
}

Deno.test("the editor adds a barcode of the type and field picked, edits its type and value, and saves a template the server takes", async () => {
  await using dir = await tempDir();
  await using store = await JobStore.open(join(dir.path, "data"));
  // No batch runs here; the library's previews render in this browser.
  await using renderBrowser = await Browser.launch();
  await using worker = new BatchWorker(store, { browser: renderBrowser });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createHandler({ store, worker, metrics: new Metrics() }),
  );
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
  await page.goto(`http://127.0.0.1:${server.addr.port}/editor`, {
    waitUntil: "networkidle0",
  });

  await page.select("#barcode-type", "imb");
  await page.type("#barcode-field", "tracking");
  await page.click("#add-barcode");
  assert.deepEqual(await lastBarcode(page), {
    type: "imb",
    value: "{{tracking}}",
  });
  // An IMb comes in at its printed size: 3.1 × 0.2 in at 300 dpi.
  const size = await page.evaluate(() => {
    const last = Reflect.get(globalThis, "pressrunEditor").canvas.getObjects()
      .at(-1);
    return [last.width, last.height];
  });
  assert.deepEqual(size, [930, 60]);
  assert.match(
    await page.$eval("#props-what", (e) => e.textContent ?? ""),
    /USPS IMb: each recipient gets their own/,
  );
  // The field is offered, and a click on another appends it to the value.
  await page.waitForSelector('.field-chip[data-field="tracking"]');
  await page.type("#field-name", "zip");
  await page.click("#add-field");
  await page.click('.field-chip[data-field="zip"]');
  assert.deepEqual(await lastBarcode(page), {
    type: "imb",
    value: "{{tracking}}{{zip}}",
  });

  await page.select("#prop-barcode-type", "ean13");
  await page.$eval(
    "#prop-barcode-value",
    (e) => ((e as HTMLInputElement).value = ""),
  );
  await page.type("#prop-barcode-value", "{{ean}}");
  assert.deepEqual(await lastBarcode(page), {
    type: "ean13",
    value: "{{ean}}",
  });

  await page.type("#template-name", "Barcode label");
  await Promise.all([
    page.waitForNavigation({ waitUntil: "networkidle0" }),
    page.click("#save"),
  ]);
  const id = new URL(page.url()).searchParams.get("template");
  assert.ok(id, page.url());
  const { path } = await store.template(id);
  const saved = JSON.parse(await Deno.readTextFile(path));
  assert.deepEqual(saved.canvas.objects.at(-1).barcode, {
    type: "ean13",
    value: "{{ean}}",
  });
  assert.deepEqual(problems, []);
});
