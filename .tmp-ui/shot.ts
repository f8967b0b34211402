import puppeteer from "puppeteer-core";
const browser = await puppeteer.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--headless=new",
  ],
  userDataDir: await Deno.makeTempDir(),
  pipe: true,
});
const page = await browser.newPage();
await page.goto("http://127.0.0.1:8787/");
console.log(await page.title());
await browser.close();
