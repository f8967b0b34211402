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

/** Usage of `deno task worker`. */
export const WORKER_USAGE =
  `Usage: deno task worker [--data-dir DIR] [--concurrency N] [--stale-after S]

  --data-dir DIR    the data folder of the server or workers to share (default: ./data)
  --concurrency N   pages of the render pool (default: cores)
  --stale-after S   take over a running batch whose worker has been silent S
                    seconds (default: 5)
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
  await using store = await JobStore.open(v["data-dir"]!);
  await using worker = new BatchWorker(store, {
    concurrency: v.concurrency ? Number(v.concurrency) : undefined,
    staleAfterMs: staleAfter === undefined ? undefined : staleAfter * 1000,
    allowRemoteAssets: v["allow-remote-assets"],
    log,
  });
  worker.start();
  log("info", `Worker ${worker.id} waiting for batches in ${store.dir}`);
  const { promise, resolve } = Promise.withResolvers<void>();
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) Deno.exit(130);
    log("info", "Shutting down: the running batch will resume later");
    resolve();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  await promise;
  return 0;
}

if (import.meta.main) Deno.exit(await main());
