import puppeteer from "puppeteer-core";
const browser = await puppeteer.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox","--headless=new"], userDataDir: await Deno.makeTempDir(), pipe: true });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on("pageerror", (e) => console.log("PAGEERROR:", e.message));
  page.on("console", (m) => m.type() === "error" && console.log("console:", m.text()));
  await page.goto("http://127.0.0.1:8788/");
  await page.waitForSelector("#token-dialog[open]");
  await page.type("#token-input", "wrong");
  await page.click("#token-submit");
  await page.waitForFunction(() => document.querySelector("#token-dialog").open && !document.querySelector("#token-wrong").hidden);
  await page.screenshot({ path: "/tmp/pressrun-ui/token.png" });
  await page.type("#token-input", "s3cret");
  await page.click("#token-submit");
  await page.waitForSelector(".template-card[data-id]");
  await page.waitForFunction(() => document.querySelectorAll(".thumb.loaded").length >= 2, { timeout: 10000 });
  console.log("thumb src:", await page.$eval(".thumb img", (e) => e.src.slice(0, 20)));
  await page.click('.template-card[data-built-in="true"]');
  await (await page.$("#csv-input")).uploadFile("/tmp/ui-mock/big.csv");
  await page.select("#on-error", "skip");
  await page.click("#generate");
  await page.waitForSelector('#progress[data-state="done"]', { timeout: 30000 });
  await new Promise((r) => setTimeout(r, 800));
  const href = await page.$eval("#download-pdf", (e) => e.href);
  console.log("pdf:", href, await page.evaluate(async (u) => (await fetch(u)).status, href));
  console.log("pieces loaded:", await page.$$eval(".piece img", (els) => els.filter((e) => e.complete && e.naturalWidth > 0).length));
  console.log("error banner:", await page.$eval("#error", (e) => e.hidden ? "hidden" : e.textContent));
} finally { await browser.close(); }
