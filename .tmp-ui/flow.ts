import puppeteer from "puppeteer-core";
const BASE = Deno.env.get("BASE") ?? "http://127.0.0.1:8787";
const OUT = "/tmp/pressrun-ui";
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
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on("console", (m) => console.log("console:", m.type(), m.text()));
  page.on("pageerror", (e) => console.log("PAGEERROR:", e.message));
  page.on("dialog", (d) => {
    console.log("dialog:", d.message());
    d.accept();
  });
  await page.goto(BASE + "/");
  await page.waitForSelector(".template-card[data-id]");
  await page.waitForFunction(() =>
    [...document.querySelectorAll(".thumb")].every((t) =>
      t.classList.contains("loaded") || t.classList.contains("failed")
    )
  );
  await page.screenshot({ path: `${OUT}/library.png`, fullPage: true });
  await page.click('.template-card[data-built-in="true"]');
  const input = await page.$("#csv-input");
  await input.uploadFile("/tmp/ui-mock/missing.csv");
  await page.waitForSelector("#field-check:not([hidden])");
  console.log(
    "missing:",
    await page.$eval("#field-check", (e) => e.textContent),
    "generate disabled:",
    await page.$eval("#generate", (e) => e.disabled),
  );
  await page.screenshot({ path: `${OUT}/missing.png`, fullPage: true });
  await input.uploadFile("/tmp/ui-mock/bad.csv");
  await page.waitForSelector("#csv-error:not([hidden])");
  console.log("bad:", await page.$eval("#csv-error", (e) => e.textContent));
  await input.uploadFile("/tmp/ui-mock/big.csv");
  await page.waitForFunction(() =>
    !document.querySelector("#generate").disabled
  );
  console.log(
    "ok:",
    await page.$eval("#field-check", (e) => e.textContent),
    await page.$eval("#csv-summary", (e) => e.textContent),
  );
  await page.screenshot({ path: `${OUT}/ready.png`, fullPage: true });
  await page.select("#on-error", "skip");
  await page.click("#generate");
  await page.waitForFunction(() =>
    Number(document.querySelector("#progress").dataset.percent) >= 35
  );
  await new Promise((r) => setTimeout(r, 500));
  console.log(
    "running:",
    await page.$eval("#progress-text", (e) => e.textContent),
  );
  const prog = await page.$("#progress");
  await page.screenshot({ path: `${OUT}/progress.png`, fullPage: true });
  await prog.screenshot({ path: `${OUT}/progress-section.png` });
  await page.waitForSelector('#progress[data-state="done"]', {
    timeout: 60000,
  });
  await new Promise((r) => setTimeout(r, 800));
  console.log(
    "done:",
    await page.$eval("#progress-percent", (e) => e.textContent),
    await page.$eval("#progress-text", (e) => e.textContent),
    await page.$eval(
      "#progress-failures",
      (e) => e.hidden + " " + e.textContent,
    ),
  );
  const href = await page.$eval("#download-pdf", (e) => !e.hidden && e.href);
  console.log(
    "pdf href:",
    href,
    "zip:",
    await page.$eval("#download-zip", (e) => !e.hidden && e.href),
    "retry visible:",
    await page.$eval("#retry", (e) => !e.hidden),
  );
  console.log(
    "pdf head:",
    await page.evaluate(async (u) => {
      const r = await fetch(u);
      const b = new Uint8Array(await r.arrayBuffer());
      return r.status + " " + new TextDecoder().decode(b.slice(0, 5));
    }, href),
  );
  console.log(
    "thumbs:",
    await page.$$eval(
      ".piece",
      (els) => els.map((e) => e.dataset.index).join(","),
    ),
  );
  await prog.screenshot({ path: `${OUT}/done-section.png` });
  await page.screenshot({ path: `${OUT}/done.png`, fullPage: true });
  await page.click("#retry");
  await page.waitForFunction(
    () =>
      document.querySelector("#progress").dataset.state === "done" &&
      document.querySelector("#retry").hidden,
    { timeout: 60000 },
  );
  console.log(
    "after retry:",
    await page.$eval("#progress-text", (e) => e.textContent),
  );
  console.log(
    "recent:",
    await page.$$eval(
      ".batch-item",
      (els) => els.map((e) => e.textContent).join(" | "),
    ),
  );

  // Editor
  await page.goto(BASE + "/editor?id=postcard");
  await page.waitForFunction(() =>
    globalThis.pressrunEditor &&
    globalThis.pressrunEditor.canvas.getObjects().length > 5
  );
  await new Promise((r) => setTimeout(r, 500));
  await page.screenshot({ path: `${OUT}/editor.png` });
  // select the headline text and insert a field
  const info = await page.evaluate(() => {
    const { canvas } = globalThis.pressrunEditor;
    const t = canvas.getObjects().find((o) =>
      o.type.toLowerCase() === "textbox" && o.text.includes("spring")
    );
    canvas.setActiveObject(t);
    canvas.requestRenderAll();
    return {
      zoom: canvas.getZoom(),
      w: canvas.getWidth(),
      h: canvas.getHeight(),
    };
  });
  console.log("editor canvas:", JSON.stringify(info));
  await page.click('.field-chip[data-field="city"]');
  await page.click("#add-text");
  await page.click("#add-qr");
  await new Promise((r) => setTimeout(r, 300));
  console.log("qr panel:", await page.$eval("#prop-qr-value", (e) => !e.closest("[hidden]") && e.value), await page.$eval("#props-what", (e) => e.textContent));
  await page.click("#prop-qr-value", { clickCount: 3 });
  await page.type("#prop-qr-value", "https://x.example/r/{{id}}");
  await page.select("#prop-qr-ecc", "H");
  await page.screenshot({ path: `${OUT}/editor-selected.png` });
  // select the new text and turn on shrink + visibleIf
  await page.evaluate(() => { const { canvas } = globalThis.pressrunEditor; canvas.setActiveObject(canvas.getObjects().find((o) => o.text === "Your text here")); canvas.fire("selection:created", {}); });
  await page.click("#prop-fit");
  console.log("shrink row visible:", await page.$eval("#prop-box-height", (e) => !e.closest("[hidden]") && e.value));
  await page.type("#prop-min-font", "12");
  await page.type("#prop-visible-if", "company");
  const built = await page.evaluate(() =>
    globalThis.pressrunEditor.buildTemplate("Check")
  );
  const objs = built.canvas.objects;
  console.log(
    "built:",
    built.name,
    JSON.stringify(built.size),
    built.dpi,
    built.bleed,
    built.canvas.width,
    built.canvas.height,
    objs.length,
  );
  console.log(
    "qr objs:",
    JSON.stringify(
      objs.filter((o) => o.qr).map((o) => [o.type, o.qr, o.width, o.left]),
    ),
  );
  console.log(
    "img srcs:",
    JSON.stringify(
      objs.filter((o) => o.type === "Image").map((
        o,
      ) => [o.src.slice(0, 30), o.visibleIf]),
    ),
  );
  console.log(
    "shrink:",
    JSON.stringify(
      objs.filter((o) => o.fit).map((
        o,
      ) => [o.text, o.height, o.minFontSize, o.visibleIf]),
    ),
  );
  console.log(
    "pressrun keys left:",
    JSON.stringify(built).includes("pressrun"),
  );
  // double-click edit: enter editing and insert field at cursor
  const edited = await page.evaluate(() => {
    const { canvas } = globalThis.pressrunEditor;
    const t = canvas.getObjects().find((o) => o.text === "Your text here");
    console.log(JSON.stringify({ fit: t.fit, min: t.minFontSize, vis: t.visibleIf, box: t.pressrunBox }));
    canvas.setActiveObject(t);
    t.enterEditing();
    t.selectionStart = t.selectionEnd = 5;
    return t.text;
  });
  await page.click('.field-chip[data-field="firstName"]');
  console.log(
    "insert at cursor:",
    edited,
    "->",
    await page.evaluate(() =>
      globalThis.pressrunEditor.canvas.getActiveObject().text
    ),
  );
  await page.keyboard.type("X");
  console.log(
    "after typing:",
    await page.evaluate(() =>
      globalThis.pressrunEditor.canvas.getActiveObject().text
    ),
  );
  await page.click("#save");
  await page.waitForNavigation();
  console.log("after save url:", page.url());
  await page.waitForSelector(".template-card.selected");
  console.log(
    "selected:",
    await page.$eval(".template-card.selected", (e) => e.dataset.id),
  );

  // New design
  await page.goto(BASE + "/editor");
  await page.waitForFunction(() => globalThis.pressrunEditor);
  await page.click("#add-text");
  await page.click("#add-qr");
  await new Promise((r) => setTimeout(r, 300));
  await page.screenshot({ path: `${OUT}/editor-new.png` });
  await page.select("#size-unit", "mm");
  const nb = await page.evaluate(() =>
    globalThis.pressrunEditor.buildTemplate("New")
  );
  console.log(
    "new mm:",
    JSON.stringify(nb.size),
    nb.bleed,
    nb.dpi,
    nb.canvas.width,
    nb.canvas.height,
  );
} finally {
  await browser.close();
}
