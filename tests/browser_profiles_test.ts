/**
 * Chromium profile folders carry the pid of the process that launched
 * Chromium; a launch removes the ones whose process is gone (a pressrun
 * killed hard) and never a live process's.
 */
import assert from "node:assert/strict";
import { basename, dirname, join } from "node:path";
import { Browser, removeStaleProfiles } from "../render/browser.ts";
import { tempDir } from "./_helpers.ts";

const SANITIZED = { sanitizeOps: true, sanitizeResources: true };

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true", { stdout: "null", stderr: "null" })
    .spawn();
  await child.status;
  return child.pid;
}

/** A profile-like folder `name` in `dir`, with a file in it. */
async function folder(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  await Deno.mkdir(join(path, "Default"), { recursive: true });
  await Deno.writeTextFile(join(path, "Default", "Preferences"), "{}");
  return path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test(
  "removeStaleProfiles() removes the folders of dead owners only",
  SANITIZED,
  async () => {
    await using dir = await tempDir();
    const dead = await deadPid();
    const stale = await folder(dir.path, `pressrun-chromium-${dead}-a1b2c3`);
    const own = await folder(dir.path, `pressrun-chromium-${Deno.pid}-d4e5f6`);
    // pid 1 (init) runs as long as the machine does.
    const live = await folder(dir.path, "pressrun-chromium-1-0a0b0c");
    const unnamed = await folder(dir.path, "pressrun-chromium-9f8e7d");
    const other = await folder(dir.path, `other-${dead}-x`);
    await Deno.writeTextFile(join(dir.path, `pressrun-chromium-${dead}-f`), "");

    assert.deepEqual(await removeStaleProfiles(dir.path), [stale]);
    assert.equal(await exists(stale), false);
    for (const kept of [own, live, unnamed, other]) {
      assert.ok(await exists(kept), `${basename(kept)} kept`);
    }
  },
);

Deno.test(
  "Browser.launch() names its profile after this process and removes a dead process's",
  SANITIZED,
  async () => {
    // The temp folder Chromium's profile goes to.
    const probe = await Deno.makeTempDir();
    const tmp = dirname(probe);
    await Deno.remove(probe);
    const dead = await deadPid();
    const stale = await folder(tmp, `pressrun-chromium-${dead}-stale0`);
    const live = await folder(tmp, `pressrun-chromium-${Deno.pid}-live00`);
    try {
      await using browser = await Browser.launch();
      const profile = browser.profileDir!;
      assert.match(
        basename(profile),
        new RegExp(`^pressrun-chromium-${Deno.pid}-`),
      );
      assert.equal(dirname(profile), tmp);
      assert.equal(await exists(stale), false, "the dead process's folder");
      assert.ok(await exists(live), "this live process's folder is kept");
      assert.ok(
        await exists(join(live, "Default", "Preferences")),
        "with its files",
      );
    } finally {
      await Deno.remove(stale, { recursive: true }).catch(() => {});
      await Deno.remove(live, { recursive: true });
    }
  },
);
