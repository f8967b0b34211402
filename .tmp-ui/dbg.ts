import puppeteer from "puppeteer-core";
const browser = await puppeteer.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless=new"],
  userDataDir: await Deno.makeTempDir(),
  pipe: true,
});
const page = await browser.newPage();
page.on(
  "console",
  (m) => console.log("console:", m.type(), m.text(), m.location()?.url),
);
page.on("pageerror", (e) => console.log("PAGEERROR:", e.message));
await page.goto("http://127.0.0.1:8787/");
await page.waitForSelector(".template-card[data-id]");
await page.click('.template-card[data-built-in="true"]');
await (await page.$("#csv-input")).uploadFile("/tmp/ui-mock/big.csv");
await page.waitForFunction(() => !document.querySelector("#generate").disabled);
await page.click("#generate");
for (let i = 0; i < 5; i++) {
  await new Promise((r) => setTimeout(r, 1000));
  console.log(
    await page.$eval("#progress", (e) =>
      JSON.stringify({
        ...e.dataset,
        hidden: e.hidden,
        text: document.querySelector("#progress-text").textContent,
        err: document.querySelector("#error-message").textContent,
      })),
  );
}
await browser.close();
