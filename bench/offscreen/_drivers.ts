/**
 * How each variant's pages take their records: lanes that send one record
 * at a time through `page.evaluate()`, or pages and workers that pull.
 *
 * @module
 */
import type { Page } from "puppeteer-core";
import type { Browser } from "../../render/browser.ts";
import { RenderPage } from "../../render/render_page.ts";
import type { PageSpec, PieceRequest } from "./api.ts";
import type { Config } from "./_configs.ts";
import type { BenchOrigin } from "./_origin.ts";
import type { Job, PieceLedger } from "./_pieces.ts";

/** Records a pulling page or worker asks for at once. */
const PULL_BATCH = 2;

/** A variant's pages, open and loaded. `await using` closes them. */
export interface Driver extends AsyncDisposable {
  /** Sends one piece to every renderer (page or worker), not counted. */
  warm(jobs: Job[]): Promise<void>;
  /**
   * Renders the jobs of `queue` until it is empty: lanes that each send one
   * record at a time through `page.evaluate()`, or pages and workers that
   * pull them from the origin (which takes them off the same queue).
   */
  drain(queue: Job[]): Promise<void>;
  /** Errors the pages and their workers reported. */
  errors(): Promise<string[]>;
}

/** What opening a driver needs besides the browser. */
export interface DriverOptions {
  config: Config;
  spec: PageSpec;
  origin: BenchOrigin;
  ledger: PieceLedger;
  /** A job's upload request; the run waits for every piece requested. */
  request(job: Job): PieceRequest;
}

/** Opens the pages of `options.config` and loads the template. */
export function openDriver(
  browser: Browser,
  options: DriverOptions,
): Promise<Driver> {
  return options.config.variant === "today"
    ? todayDriver(browser, options)
    : offscreenDriver(browser, options);
}

/**
 * Today's path as `runBatch` drives it: the product's `RenderPage`s on the
 * product's origin; a lane per page waits for the bytes, the PDF and the
 * write before its next record.
 */
async function todayDriver(
  browser: Browser,
  { config, spec, ledger }: DriverOptions,
): Promise<Driver> {
  const pages: RenderPage[] = [];
  const close = () => Promise.all(pages.map((page) => page.close()));
  try {
    for (let i = 0; i < config.pages; i++) {
      pages.push(await RenderPage.open(browser, spec));
    }
  } catch (error) {
    await close();
    throw error;
  }
  const send = async (lane: number, job: Job) => {
    const piece = await pages[lane]!.render(job.payload);
    await ledger.write(job.index, piece.image.bytes);
  };
  return {
    drain: (queue) => lanes(pages.length, queue, send),
    async warm(jobs) {
      await Promise.all(pages.map((_, lane) => send(lane, jobs[0]!)));
    },
    errors: () => Promise.resolve([]),
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
}

/**
 * The offscreen variants on the bench's page: render.js loaded in the page
 * (pull, b-copy) and encoder workers started (b-copy), or the template
 * loaded in each Fabric worker (a, a+c).
 */
async function offscreenDriver(
  browser: Browser,
  { config, spec, origin, request }: DriverOptions,
): Promise<Driver> {
  const { variant, workers } = config;
  const fabric = variant === "a" || variant === "a+c";
  const pages: Page[] = [];
  const errors: string[] = [];
  const close = () =>
    Promise.all(pages.map((page) => page.close().catch(() => {})));
  try {
    for (let i = 0; i < config.pages; i++) {
      const page = await browser.newPage();
      pages.push(page);
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(`${origin.url}/page.html`, { waitUntil: "load" });
      if (fabric) {
        await page.evaluate(
          (r) => globalThis.offscreenBench.startFabricWorkers(r),
          { count: workers, spec },
        );
      } else {
        await page.evaluate((s) => globalThis.pressrun.load(s), spec);
      }
      if (variant === "b-copy") {
        await page.evaluate(
          (n) => globalThis.offscreenBench.startEncoders(n),
          workers,
        );
      }
    }
  } catch (error) {
    await close();
    throw error;
  }

  /** One record through `page` by `evaluate`, on the variant's path. */
  const sendTo = async (page: Page, job: Job) => {
    const piece = request(job);
    if (fabric) {
      await page.evaluate(
        (r) => globalThis.offscreenBench.workerRender(r),
        piece,
      );
    } else if (variant === "b-copy") {
      await page.evaluate((r) => globalThis.offscreenBench.handoff(r), piece);
    } else {
      await page.evaluate(
        (r) =>
          globalThis.pressrun.render({ ...r, format: "png", quality: 0.92 }),
        piece,
      );
    }
  };
  const pull = { url: origin.pullUrl, batch: PULL_BATCH };
  // (a) has a lane per Fabric worker; (b) one per page, as today.
  const lanesPerPage = variant === "a" ? workers : 1;
  const send = (lane: number, job: Job) =>
    sendTo(pages[Math.floor(lane / lanesPerPage)]!, job);
  return {
    async drain(queue) {
      if (variant === "pull" || variant === "a+c") {
        await Promise.all(
          pages.map((page) =>
            fabric
              ? page.evaluate(
                (r) => globalThis.offscreenBench.workerPull(r),
                pull,
              )
              : page.evaluate((r) => globalThis.offscreenBench.pull(r), pull)
          ),
        );
      } else await lanes(pages.length * lanesPerPage, queue, send);
    },
    async warm(jobs) {
      await Promise.all(pages.map(async (page) => {
        if (fabric) {
          // One piece per worker, at once: each goes to a free worker.
          await Promise.all(
            Array.from(
              { length: workers },
              (_, i) => sendTo(page, jobs[i % jobs.length]!),
            ),
          );
          return;
        }
        // One after the other (the pieces share the page's canvas); each
        // hands off while the one before encodes, so every encoder gets one.
        for (let i = 0; i < Math.max(1, workers); i++) {
          await sendTo(page, jobs[i % jobs.length]!);
        }
      }));
    },
    async errors() {
      const reported = await Promise.all(
        pages.map((page) =>
          page.evaluate(() => globalThis.offscreenBench.errors())
        ),
      );
      return [...errors, ...reported.flat()];
    },
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
}

/**
 * `count` lanes that each take the next job off `queue` and send it, until
 * the queue is empty.
 */
async function lanes(
  count: number,
  queue: Job[],
  send: (lane: number, job: Job) => Promise<void>,
): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async (_, lane) => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        await send(lane, job);
      }
    }),
  );
}
