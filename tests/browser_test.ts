import assert from "node:assert/strict";
import { Browser, chromiumArgs, chromiumPath } from "../render/browser.ts";
import { chromiumPids } from "./_helpers.ts";

async function profileDirs(): Promise<string[]> {
  const dirs: string[] = [];
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  for await (const e of Deno.readDir(tmp)) {
    if (e.name.startsWith("pressrun-chromium-")) dirs.push(e.name);
  }
  return dirs.sort();
}

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
        const pidsBefore = await chromiumPids();
        const dirsBefore = await profileDirs();
        const browser = await Browser.launch({ closeTimeoutMs });
        const page = await browser.newPage();
        await page.goto("about:blank");
        assert.ok(browser.pid && (await chromiumPids()).includes(browser.pid));
        assert.ok((await profileDirs()).length > dirsBefore.length);
        await browser.close();
        await browser.close();
        assert.deepEqual(await chromiumPids(), pidsBefore);
        assert.deepEqual(await profileDirs(), dirsBefore);
      },
    );
  }
});

Deno.test("Browser.launch() names the executable when Chromium cannot start", async () => {
  const dirsBefore = await profileDirs();
  await assert.rejects(
    Browser.launch({ executablePath: "/nonexistent/chromium" }),
    /Cannot start Chromium at \/nonexistent\/chromium/,
  );
  assert.deepEqual(await profileDirs(), dirsBefore);
});
