/**
 * `deno task serve`: the HTTP API and web page over the shared core, with an
 * embedded job store (Deno KV in `--data-dir`) and a worker in the same
 * process.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Metrics } from "./batch/metrics.ts";
import { JobStore } from "./batch/store.ts";
import { BatchWorker } from "./batch/worker.ts";
import { UsageError } from "./common/errors.ts";
import { maskUrl } from "./queue/redis_client.ts";
import { QUEUE_USAGE, QueueMode, queueSettings } from "./queue/mode.ts";
import type { QueueWorker } from "./queue/queue_worker.ts";
import type { Logger } from "./render/log.ts";
import { createHandler, type ServerDeps } from "./server/api.ts";
import { LOOPBACK_HOSTS, normalizeHost } from "./server/_security.ts";

export { createHandler, type ServerDeps };

/** Usage of `deno task serve`. */
export const SERVE_USAGE =
  `Usage: deno task serve [--port N] [--data-dir DIR] [--concurrency N]

  --port N          port to listen on (default: $PORT or 8000)
  --host H          address to bind, also --hostname (default: 127.0.0.1,
                    this machine only; 0.0.0.0 for every interface)
  --allow-host A,B  more host names to answer to (default:
                    $PRESSRUN_ALLOW_HOSTS); localhost, 127.0.0.1, [::1] and
                    the bound address always are, any other gets 421;
                    "*" for any (behind a proxy that checks Host itself)
  --data-dir DIR    where templates, batches and outputs live (default: ./data)
  --concurrency N   pages of the render pool (default: cores)
  --no-worker       serve only; run "deno task worker" separately
${QUEUE_USAGE}
  --allow-remote-assets  fetch http(s) template images (public addresses only)
  --upload-budget MIB  request bodies held at once over all uploads; past
                    it 429 (default: 256)
  --public-healthz  answer /healthz without the token (a liveness probe)
  -h, --help        this help

Environment: PRESSRUN_TOKEN requires "Authorization: Bearer <token>" on /api,
/metrics and /healthz.`;

/** A JSON-lines logger on stderr. */
export function jsonLogger(): Logger {
  const encoder = new TextEncoder();
  return (level, message, fields) => {
    if (level === "debug") return;
    Deno.stderr.writeSync(encoder.encode(
      `${
        JSON.stringify({
          time: new Date().toISOString(),
          level,
          message,
          ...fields,
        })
      }\n`,
    ));
  };
}

/** Runs the server until SIGINT/SIGTERM; resolves to the exit code. */
export async function main(args: string[] = Deno.args): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      port: { type: "string", default: Deno.env.get("PORT") ?? "8000" },
      host: { type: "string" },
      hostname: { type: "string" },
      "allow-host": { type: "string", multiple: true },
      "upload-budget": { type: "string", default: "256" },
      "public-healthz": { type: "boolean", default: false },
      "data-dir": { type: "string", default: "data" },
      concurrency: { type: "string" },
      "no-worker": { type: "boolean", default: false },
      queue: { type: "string" },
      chunk: { type: "string" },
      "stale-after": { type: "string" },
      "rate-limit": { type: "string" },
      "allow-remote-assets": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (v.help) {
    console.log(SERVE_USAGE);
    return 0;
  }
  const port = Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(
      `error: --port must be 0..65535, got "${v.port}"\n\n${SERVE_USAGE}`,
    );
    return 2;
  }
  const hostname = v.host ?? v.hostname ?? "127.0.0.1";
  const budget = Number(v["upload-budget"]);
  if (!(budget > 0)) {
    console.error(
      `error: --upload-budget must be a number of MiB above 0, got "${
        v["upload-budget"]
      }"\n\n${SERVE_USAGE}`,
    );
    return 2;
  }
  const allow = v["allow-host"] ??
    [Deno.env.get("PRESSRUN_ALLOW_HOSTS") ?? ""];
  let allowedHosts: string[];
  try {
    allowedHosts = serverHosts(
      hostname,
      allow.flatMap((list) => list.split(",")).filter((h) => h.trim()),
    );
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n\n${SERVE_USAGE}`);
    return 2;
  }
  const token = Deno.env.get("PRESSRUN_TOKEN") || undefined;
  const log = jsonLogger();
  const metrics = new Metrics();
  const pieces = new EventTarget();
  const shutdown = new AbortController();
  const workerOptions = {
    concurrency: v.concurrency ? Number(v.concurrency) : undefined,
    allowRemoteAssets: v["allow-remote-assets"],
    metrics,
    log,
  };
  let queued: QueueMode | undefined;
  let store: JobStore;
  let worker: BatchWorker | QueueWorker;
  let settings;
  try {
    settings = queueSettings(v);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}\n\n${SERVE_USAGE}`);
    return 2;
  }
  try {
    if (settings) {
      queued = await QueueMode.open(settings, {
        ...workerOptions,
        dataDir: v["data-dir"]!,
      });
      // Pieces come from every worker, through Redis.
      await queued.relayPieces(pieces);
      store = queued.store;
      worker = queued.worker;
      log(
        "info",
        `Queue mode: batches in ${
          maskUrl(settings.url)
        }, outputs in ${store.dir} (shared by every machine)`,
      );
    } else {
      store = await JobStore.open(v["data-dir"]!);
      worker = new BatchWorker(store, {
        ...workerOptions,
        onPiece: (batch, entry) =>
          pieces.dispatchEvent(
            new CustomEvent("piece", { detail: { batch, entry } }),
          ),
      });
    }
  } catch (error) {
    // Redis cannot be reached.
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}`);
    return 2;
  }
  if (!v["no-worker"]) worker.start();
  // A server that runs no worker still queues the batches it stores.
  else queued?.worker.poke();
  const server = Deno.serve(
    {
      port,
      hostname,
      onListen: ({ hostname, port }) => {
        log(
          "info",
          `pressrun listening on http://${hostname}:${port} (data in ${store.dir})`,
        );
        if (!token && !isLoopback(hostname)) {
          log(
            "warn",
            `No PRESSRUN_TOKEN: anyone who can reach ${hostname}:${port} can use the API`,
          );
        }
      },
    },
    createHandler({
      shutdown: shutdown.signal,
      store,
      worker,
      metrics,
      pieces,
      log,
      token,
      publicHealthz: v["public-healthz"],
      allowedHosts,
      maxUploadBytesInFlight: budget * 2 ** 20,
    }),
  );

  const { promise: stopped, resolve: stop } = Promise.withResolvers<void>();
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) Deno.exit(130);
    log(
      "info",
      "Shutting down: finishing pieces in flight (signal again to quit now)",
    );
    stop();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  await stopped;
  shutdown.abort();
  await server.shutdown();
  if (queued) await queued.close();
  else {
    await worker.close();
    await store.close();
  }
  log("info", "Stopped");
  return 0;
}

/**
 * The host names a server bound to `hostname` answers to besides its
 * loopback names: that address (every interface's, and the machine's name,
 * when it binds all of them) and `allow`.
 * @throws {TypeError} naming an entry of `allow` that is not a host name
 */
export function serverHosts(hostname: string, allow: string[]): string[] {
  if (hostname !== "0.0.0.0" && hostname !== "::") {
    return [hostname, ...allow].map(normalizeHost);
  }
  const names = [
    ...Deno.networkInterfaces().map((i) => i.address),
    Deno.hostname(),
  ].flatMap((name) => {
    try {
      return [normalizeHost(name)];
    } catch {
      return []; // an IPv6 address with a zone (fe80::1%eth0): no URL has it
    }
  });
  return [...names, ...allow.map(normalizeHost)];
}

/** Whether `hostname` is a loopback address: only this machine reaches it. */
function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.includes(normalizeHost(hostname)) ||
    /^127\./.test(hostname);
}

if (import.meta.main) Deno.exit(await main());
