/**
 * `deno task worker`: a worker alone, rendering the batches queued in the same
 * data folder as a server (or another worker).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { JobStore } from "./batch/store.ts";
import { BatchWorker } from "./batch/worker.ts";
import { jsonLogger } from "./server.ts";
import { UsageError } from "./common/errors.ts";
import type { Logger } from "./render/log.ts";
import { maskUrl } from "./queue/redis_client.ts";
import { QUEUE_USAGE, QueueMode, queueSettings } from "./queue/mode.ts";

/** Usage of `deno task worker`. */
export const WORKER_USAGE =
  `Usage: deno task worker [--data-dir DIR] [--concurrency N] [--queue URL]

  --data-dir DIR    the data folder of the server or workers to share (default: ./data)
  --concurrency N   pages of the render pool (default: cores)
${QUEUE_USAGE}
  --allow-remote-assets  fetch http(s) template images (public addresses only)
  -h, --help        this help`;

/** Runs the worker until SIGINT/SIGTERM. */
export async function main(args: string[] = Deno.args): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      "data-dir": { type: "string", default: "data" },
      concurrency: { type: "string" },
      "stale-after": { type: "string" },
      queue: { type: "string" },
      chunk: { type: "string" },
      "rate-limit": { type: "string" },
      "allow-remote-assets": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (v.help) {
    console.log(WORKER_USAGE);
    return 0;
  }
  const staleAfter = v["stale-after"] === undefined
    ? undefined
    : Number(v["stale-after"]);
  if (staleAfter !== undefined && !(staleAfter > 0)) {
    console.error(
      `error: --stale-after must be a number of seconds above 0, got "${
        v["stale-after"]
      }"\n\n${WORKER_USAGE}`,
    );
    return 2;
  }
  const log = jsonLogger();
  const options = {
    concurrency: v.concurrency ? Number(v.concurrency) : undefined,
    allowRemoteAssets: v["allow-remote-assets"],
    log,
  };
  let settings;
  try {
    settings = queueSettings(v);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}\n\n${WORKER_USAGE}`);
    return 2;
  }
  if (settings) {
    let mode: QueueMode;
    try {
      mode = await QueueMode.open(settings, {
        ...options,
        dataDir: v["data-dir"]!,
      });
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      console.error(`error: ${error.message}`);
      return 2;
    }
    await using _mode = mode;
    mode.worker.start();
    log(
      "info",
      `Worker ${mode.worker.id} taking chunks from ${
        maskUrl(settings.url)
      }, outputs in ${mode.store.dir}`,
    );
    await shutdownSignal(log, "the chunk in flight finishes first");
    return 0;
  }
  await using store = await JobStore.open(v["data-dir"]!);
  await using worker = new BatchWorker(store, {
    ...options,
    staleAfterMs: staleAfter === undefined ? undefined : staleAfter * 1000,
  });
  worker.start();
  log("info", `Worker ${worker.id} waiting for batches in ${store.dir}`);
  await shutdownSignal(log, "the running batch will resume later");
  return 0;
}

/**
 * Resolves at the first SIGINT or SIGTERM (logging what happens next); a
 * second one exits at once.
 */
function shutdownSignal(log: Logger, next: string): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) Deno.exit(130);
    log("info", `Shutting down: ${next} (signal again to quit now)`);
    resolve();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  return promise;
}

if (import.meta.main) Deno.exit(await main());
