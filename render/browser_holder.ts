/**
 * The browser a long-lived worker renders with: one it was given (kept
 * open), or one it launches on first use, launched again if it died. One
 * launch at a time — two batches or chunks starting together, or a preview
 * beside them, share it.
 *
 * @module
 */
import { deadline } from "../common/async.ts";
import { Browser, type LaunchOptions } from "./browser.ts";

/** A worker's browser, launched on first use. */
export class BrowserHolder implements AsyncDisposable {
  #given: Browser | LaunchOptions | undefined;
  #browser: Browser | undefined;
  #launching: Promise<Browser | undefined> = Promise.resolve(undefined);

  /** `given`: a browser to share (kept open), or how to launch one. */
  constructor(given?: Browser | LaunchOptions) {
    this.#given = given;
  }

  /** The browser, launched if none runs (a failed launch is tried again next time). */
  get(): Promise<Browser> {
    const given = this.#given;
    if (given instanceof Browser) return Promise.resolve(given);
    const next = this.#launching.catch(() => undefined).then(async () => {
      if (!this.#browser || !this.#browser.connected) {
        await this.#browser?.close();
        this.#browser = await Browser.launch(given);
      }
      return this.#browser;
    });
    this.#launching = next;
    return next;
  }

  /**
   * The running browser's version, or undefined when none runs; never
   * launches one.
   */
  async version(timeoutMs = 5000): Promise<string | undefined> {
    const browser = this.#given instanceof Browser
      ? this.#given
      : this.#browser;
    if (!browser?.connected) return undefined;
    return await deadline(browser.puppeteer.version(), timeoutMs);
  }

  /** Closes the browser it launched (after a launch in progress). Safe twice. */
  async close(): Promise<void> {
    await this.#launching.catch(() => undefined);
    await this.#browser?.close();
    this.#browser = undefined;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
