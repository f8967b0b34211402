import puppeteer from "puppeteer-core";
const OUT = "/tmp/pressrun-ui";
const browser = await puppeteer.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox","--headless=new"], userDataDir: await Deno.makeTempDir(), pipe: true });
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.log("PAGEERROR:", e.message));
  page.on("console", (m) => m.type() === "error" && console.log("console:", m.text()));
  page.on("dialog", (d) => { console.log("dialog:", d.type(), d.message()); d.accept(); });
  await page.setViewport({ width: 1000, height: 800 });
  // bare template in editor
  await page.goto("http://127.0.0.1:8787/editor?id=bare");
  await page.waitForFunction(() => globalThis.pressrunEditor?.canvas.getObjects().length === 1);
  const upload = await page.$("#image-input");
  await upload.uploadFile("/work/main/examples/postcard/portrait-ak.jpg");
  await page.waitForFunction(() => globalThis.pressrunEditor.canvas.getObjects().length === 2);
  await page.click("#add-photo");
  await page.waitForFunction(() => globalThis.pressrunEditor.canvas.getObjects().length === 3);
  await new Promise((r) => setTimeout(r, 300));
  await page.screenshot({ path: `${OUT}/editor-1000.png` });
  const t = await page.evaluate(() => globalThis.pressrunEditor.buildTemplate("Bare copy"));
  console.log("bare saved:", Object.keys(t).join(","), t.width, t.height, t.objects.map((o) => `${o.type}:${(o.src ?? o.text).slice(0, 22)}:${o.scaleX}`).join(" "));
  // delete with keyboard
  await page.evaluate(() => { const c = globalThis.pressrunEditor.canvas; c.setActiveObject(c.getObjects()[2]); });
  await page.keyboard.press("Delete");
  console.log("after Delete key:", await page.evaluate(() => globalThis.pressrunEditor.canvas.getObjects().length));
  // new design in mm with validation
  await page.goto("http://127.0.0.1:8787/editor");
  await page.waitForFunction(() => globalThis.pressrunEditor);
  await page.select("#size-unit", "mm");
  await page.$eval("#size-width", (e) => { e.value = "148"; e.dispatchEvent(new Event("change")); });
  await page.$eval("#size-height", (e) => { e.value = "210"; e.dispatchEvent(new Event("change")); });
  await page.$eval("#bleed", (e) => { e.value = "3"; e.dispatchEvent(new Event("change")); });
  console.log("A5:", await page.$eval("#editor-status", (e) => e.textContent));
  await page.$eval("#dpi", (e) => { e.value = "5000"; e.dispatchEvent(new Event("change")); });
  console.log("bad dpi note:", await page.$eval("#page-note", (e) => e.className + ": " + e.textContent));
  await page.$eval("#dpi", (e) => { e.value = "300"; e.dispatchEvent(new Event("change")); });
  await page.click("#add-text");
  await page.screenshot({ path: `${OUT}/editor-new-a5.png` });
  // the field CSV loader
  await (await page.$("#field-csv")).uploadFile("/work/shared/fixtures/recipients-tricky-bom-semicolon.csv");
  await page.waitForFunction(() => document.querySelectorAll(".field-chip").length > 5);
  console.log("fields from csv:", await page.$$eval(".field-chip", (els) => els.map((e) => e.dataset.field).join(",")));
  // app at 1000px with a missing-column check and the bare template
  await page.goto("http://127.0.0.1:8787/?template=postcard");
  await page.waitForSelector(".template-card.selected");
  await (await page.$("#csv-input")).uploadFile("/work/shared/fixtures/recipients-tricky.csv");
  await page.waitForSelector("#field-check:not([hidden])");
  await page.waitForFunction(() => document.querySelectorAll(".thumb.loaded").length >= 3);
  await new Promise((r) => setTimeout(r, 400));
  console.log("tricky:", await page.$eval("#field-check", (e) => e.textContent), await page.$eval("#generate", (e) => e.disabled));
  await page.screenshot({ path: `${OUT}/library-1000.png`, fullPage: true });
  // delete a non-built-in template (confirm accepted above)
  await page.click('.template-card[data-id="flyer"] .template-delete');
  await page.waitForFunction(() => !document.querySelector('.template-card[data-id="flyer"]'));
  console.log("flyer deleted; cards:", await page.$$eval(".template-card", (els) => els.map((e) => e.dataset.id).join(",")));
  // generate with cluster + no merge; cancel midway
  await page.select("#renderer", "cluster");
  await page.click("#merge");
  await (await page.$("#csv-input")).uploadFile("/tmp/ui-mock/big.csv");
  await page.select("#on-error", "skip");
  await page.click("#generate");
  await page.waitForFunction(() => Number(document.querySelector("#progress").dataset.percent) >= 10);
  console.log("cluster text:", await page.$eval("#progress-text", (e) => e.textContent));
  await page.click("#cancel");
  await page.waitForSelector('#progress[data-state="cancelled"]');
  await new Promise((r) => setTimeout(r, 500));
  console.log("cancelled:", await page.$eval("#progress-text", (e) => e.textContent), "pdf hidden:", await page.$eval("#download-pdf", (e) => e.hidden), "zip hidden:", await page.$eval("#download-zip", (e) => e.hidden), "downloads:", await page.$eval("#downloads", (e) => !e.hidden));
  // reopen from recent list via URL
  const id = await page.$eval("#progress", (e) => e.dataset.batchId);
  await page.goto(`http://127.0.0.1:8787/?batch=${id}`);
  await page.waitForSelector('#progress[data-state="cancelled"]');
  console.log("reopened:", await page.$eval("#progress-text", (e) => e.textContent), await page.$$eval(".piece", (e) => e.length));
  // API error banner: unknown batch
  await page.goto(`http://127.0.0.1:8787/?batch=nope`);
  await page.waitForSelector("#error:not([hidden])");
  console.log("banner:", await page.$eval("#error", (e) => e.textContent.replace(/\s+/g, " ").trim()));
  await page.screenshot({ path: `${OUT}/error-banner.png` });
} finally { await browser.close(); }
