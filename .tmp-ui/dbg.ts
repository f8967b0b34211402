import puppeteer from "puppeteer-core";
const browser = await puppeteer.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox","--headless=new"], userDataDir: await Deno.makeTempDir(), pipe: true });
const page = await browser.newPage();
await page.setViewport({ width: 1280, height: 900 });
await page.goto("http://127.0.0.1:8787/");
await page.waitForFunction(() => document.querySelectorAll(".thumb.loaded").length >= 2);
for (let i = 0; i < 4; i++) {
  console.log(await page.$$eval(".thumb img", (els) => els.map((e) => getComputedStyle(e).opacity + "/" + e.parentElement.className).join(" ")));
  await new Promise((r) => setTimeout(r, 300));
}
await page.screenshot({ path: "/tmp/pressrun-ui/library.png", fullPage: true });
await browser.close();
