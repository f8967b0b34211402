/**
 * The browser: Debian's Chromium launched through puppeteer-core, or a remote
 * one reached by its WebSocket endpoint. Closing asks first, waits with a
 * deadline, then kills, then removes the profile folder.
 *
 * A profile folder is named after the process that launched Chromium
 * (`pressrun-chromium-<pid>-<random>` in the temp folder), so one left by a
 * process that was killed hard is removed at the next launch; a live
 * process's folder never is.
 *
 * @module
 */
import { deadline, delay } from "../common/async.ts";
import { PressrunError } from "../common/errors.ts";
import { dirname, join } from "node:path";
import process from "node:process";
import { fontconfigFile } from "../template/fonts.ts";
import { StaticOrigin } from "./static_origin.ts";
import puppeteer, {
  type Browser as PuppeteerBrowser,
  type Page,
} from "puppeteer-core";

/** Where Chromium is looked for when `PRESSRUN_CHROMIUM` is not set. */
export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/** Options for {@linkcode Browser.launch}. */
export interface LaunchOptions {
  /** @default Deno.env PRESSRUN_CHROMIUM, else "/usr/bin/chromium" */
  executablePath?: string;
  /** Connect to this WebSocket endpoint instead of launching. */
  wsEndpoint?: string;
  /** More Chromium switches. @default [] */
  args?: string[];
  /** How long close() waits before killing. @default 5000 */
  closeTimeoutMs?: number;
  /** How long a launch may take. @default 30000 */
  launchTimeoutMs?: number;
}

/** The switches Chromium is started with (pure; profile dir added by launch). */
export function chromiumArgs(extra: readonly string[] = []): string[] {
  return [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--font-render-hinting=none",
    "--force-color-profile=srgb",
    "--hide-scrollbars",
    "--mute-audio",
    // Every request that is not to loopback goes to a dead proxy: the render
    // page reaches its own origin and nothing else.
    "--proxy-server=http://127.0.0.1:9",
    ...extra,
  ];
}

/**
 * The environment Chromium is launched with: this process's, with
 * `FONTCONFIG_FILE` set to pressrun's fontconfig file (when there is one).
 * A remote browser (`wsEndpoint`) keeps its own fonts.
 */
export function chromiumEnv(
  base: Record<string, string> = Deno.env.toObject(),
): Record<string, string> {
  const file = fontconfigFile();
  return file ? { ...base, FONTCONFIG_FILE: file } : { ...base };
}

/** The Chromium executable to use, from the option or the environment. */
export function chromiumPath(executablePath?: string): string {
  return executablePath ?? Deno.env.get("PRESSRUN_CHROMIUM") ??
    DEFAULT_CHROMIUM;
}

/** A running (or connected) Chromium. `await using` closes it. */
export class Browser implements AsyncDisposable {
  #browser: PuppeteerBrowser;
  #profileDir: string | undefined;
  #options: LaunchOptions;
  #closing: Promise<void> | undefined;
  #restarting: Promise<void> | undefined;
  /** How many times Chromium was started again after it died. */
  restarts = 0;
  /**
   * The loopback origin render pages load from and post pieces to; only for
   * a browser on this machine (a remote one gets pages through DevTools).
   */
  readonly origin: StaticOrigin | undefined;

  private constructor(
    started: { browser: PuppeteerBrowser; profileDir?: string },
    options: LaunchOptions,
    origin?: StaticOrigin,
  ) {
    this.#browser = started.browser;
    this.#profileDir = started.profileDir;
    this.#options = options;
    this.origin = origin;
  }

  /** Launches Chromium (or connects when `wsEndpoint` is given). */
  static async launch(options: LaunchOptions = {}): Promise<Browser> {
    if (options.wsEndpoint) {
      return new Browser(await start(options), options);
    }
    const origin = await StaticOrigin.start();
    try {
      return new Browser(await start(options), options, origin);
    } catch (error) {
      await origin.close();
      throw error;
    }
  }

  /**
   * Starts Chromium again (or reconnects) when it died or went away: a
   * crash, a kill, a lost connection. Concurrent callers share one restart.
   */
  async #restart(): Promise<void> {
    this.#restarting ??= (async () => {
      const dead = this.#browser;
      const oldProfile = this.#profileDir;
      const pid = dead.process()?.pid;
      if (pid !== undefined) await killGroup(pid);
      if (oldProfile) {
        await Deno.remove(oldProfile, { recursive: true }).catch(() => {});
      }
      const started = await start(this.#options);
      this.#browser = started.browser;
      this.#profileDir = started.profileDir;
      this.restarts++;
    })().finally(() => (this.#restarting = undefined));
    await this.#restarting;
  }

  /** Whether the browser still answers. */
  get connected(): boolean {
    return this.#browser.connected;
  }

  /** The Chromium process id, when this process launched it. */
  get pid(): number | undefined {
    return this.#browser.process()?.pid;
  }

  /** The temporary profile folder, when this process launched Chromium. */
  get profileDir(): string | undefined {
    return this.#profileDir;
  }

  /** The underlying puppeteer browser. */
  get puppeteer(): PuppeteerBrowser {
    return this.#browser;
  }

  /** A new blank tab; starts Chromium again first if it died. */
  async newPage(): Promise<Page> {
    if (this.#closing) throw new PressrunError("The browser is closed");
    if (this.#restarting) await this.#restarting;
    if (!this.#browser.connected) await this.#restart();
    return await this.#browser.newPage();
  }

  /**
   * Closes (or disconnects): asks Chromium to quit, kills it after the
   * deadline, removes the profile folder. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#restarting?.catch(() => {});
    await this.origin?.close();
    if (!this.#profileDir) {
      await this.#browser.disconnect().catch(() => {});
      return;
    }
    const child = this.#browser.process();
    try {
      const closed = await deadline(
        this.#browser.close(),
        this.#options.closeTimeoutMs ?? 5000,
      ).then(() => true, () => false);
      if (!closed && child?.pid !== undefined) {
        // Chromium leads its own process group (puppeteer starts it
        // detached): kill the group, so no renderer or zygote outlives it.
        await killGroup(child.pid);
      }
    } finally {
      await Deno.remove(this.#profileDir, { recursive: true }).catch(() => {});
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The start of a profile folder's name; the owner's pid and a dash follow. */
const PROFILE_PREFIX = "pressrun-chromium-";
const PROFILE_NAME = /^pressrun-chromium-(\d+)-/;

/**
 * Removes the profile folders in `dir` whose owner (the pid in the name) is
 * no longer running: those of a pressrun killed before it could clean up.
 * This process's folders, a live process's and folders named otherwise
 * stay. Returns the paths removed.
 */
export async function removeStaleProfiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const pid = Number(PROFILE_NAME.exec(entry.name)?.[1] ?? NaN);
    if (!entry.isDirectory || !Number.isSafeInteger(pid) || pid <= 0) continue;
    if (pid === Deno.pid || isRunning(pid)) continue;
    const path = join(dir, entry.name);
    try {
      await Deno.remove(path, { recursive: true });
      removed.push(path);
    } catch {
      // Gone already (another launch swept it), or not ours to remove.
    }
  }
  return removed;
}

/** Whether process `pid` exists (EPERM: it does, owned by someone else). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}

/** Launches Chromium with a fresh profile, or connects to `wsEndpoint`. */
async function start(
  options: LaunchOptions,
): Promise<{ browser: PuppeteerBrowser; profileDir?: string }> {
  if (options.wsEndpoint) {
    const browser = await puppeteer.connect({
      browserWSEndpoint: options.wsEndpoint,
      protocolTimeout: 60_000,
    });
    return { browser };
  }
  const executablePath = chromiumPath(options.executablePath);
  const profileDir = await Deno.makeTempDir({
    prefix: `${PROFILE_PREFIX}${Deno.pid}-`,
  });
  await removeStaleProfiles(dirname(profileDir)).catch(() => []);
  try {
    const browser = await puppeteer.launch({
      executablePath,
      headless: true,
      pipe: true,
      userDataDir: profileDir,
      args: chromiumArgs(options.args),
      env: chromiumEnv(),
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      timeout: options.launchTimeoutMs ?? 30_000,
      protocolTimeout: 60_000,
    });
    // The blank tab puppeteer opens would cost a renderer process.
    for (const page of await browser.pages()) await page.close();
    return { browser, profileDir };
  } catch (error) {
    await Deno.remove(profileDir, { recursive: true }).catch(() => {});
    throw new PressrunError(
      `Cannot start Chromium at ${executablePath}: ${
        (error as Error).message.split("\n")[0]
      } (set PRESSRUN_CHROMIUM or install the chromium package)`,
      { cause: error },
    );
  }
}

/** SIGKILLs a process group and waits (up to 2 s) until it is gone. */
async function killGroup(pgid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    return; // already gone
  }
  for (let waited = 0; alive() && waited < 2000; waited += 20) {
    await delay(20);
  }
}
