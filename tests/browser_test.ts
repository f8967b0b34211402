import assert from "node:assert/strict";
import { Browser, chromiumArgs, chromiumPath } from "../render/browser.ts";
import { chromiumPids, tempDir } from "./_helpers.ts";

Deno.test("chromiumArgs() starts Chromium headless-safe and quiet on the network", () => {
  const args = chromiumArgs(["--foo"]);
  for (
    const flag of [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ]
  ) {
    assert.ok(args.includes(flag), flag);
  }
  assert.equal(args.at(-1), "--foo");
});

Deno.test("chromiumPath() prefers the option, then PRESSRUN_CHROMIUM, then /usr/bin/chromium", () => {
  const saved = Deno.env.get("PRESSRUN_CHROMIUM");
  try {
    Deno.env.delete("PRESSRUN_CHROMIUM");
    assert.equal(chromiumPath(), "/usr/bin/chromium");
    Deno.env.set("PRESSRUN_CHROMIUM", "/opt/chrome");
    assert.equal(chromiumPath(), "/opt/chrome");
    assert.equal(chromiumPath("/x/chromium"), "/x/chromium");
  } finally {
    if (saved === undefined) Deno.env.delete("PRESSRUN_CHROMIUM");
    else Deno.env.set("PRESSRUN_CHROMIUM", saved);
  }
});

Deno.test("Browser.close() leaves no Chromium process and no profile folder, and is safe to call twice", async (t) => {
  for (const closeTimeoutMs of [5000, 1]) {
    await t.step(
      closeTimeoutMs === 1 ? "killed after a missed deadline" : "asked to quit",
      async () => {
        const browser = await Browser.launch({ closeTimeoutMs });
        const profile = browser.profileDir!;
        const page = await browser.newPage();
        await page.goto("about:blank");
        const running = await chromiumPids(profile);
        assert.ok(browser.pid && running.includes(browser.pid));
        assert.ok(running.length > 1, "renderer and helper processes too");
        assert.ok((await Deno.stat(profile)).isDirectory);
        await browser.close();
        await browser.close();
        assert.deepEqual(await chromiumPids(profile), []);
        await assert.rejects(Deno.stat(profile), Deno.errors.NotFound);
      },
    );
  }
});

Deno.test("Browser.launch() names the executable when Chromium cannot start, and leaves no profile", async () => {
  await using tmp = await tempDir();
  const saved = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", tmp.path);
  try {
    await assert.rejects(
      Browser.launch({ executablePath: "/nonexistent/chromium" }),
      /Cannot start Chromium at \/nonexistent\/chromium/,
    );
  } finally {
    if (saved === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", saved);
  }
  assert.deepEqual([...Deno.readDirSync(tmp.path)], []);
});
