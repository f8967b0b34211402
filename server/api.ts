/**
 * The HTTP API and the web page, as one request handler over the job store
 * and the worker. Listening is the caller's (server.ts).
 *
 * @module
 */
import { dirname, join } from "node:path";
import type { Metrics } from "../batch/metrics.ts";
import type { JobStore } from "../batch/store.ts";
import type { BatchWorker } from "../batch/worker.ts";
import { type Logger, silentLogger } from "../render/log.ts";
import { staticFile } from "../render/static_origin.ts";
import { AssetResolver } from "../template/assets.ts";
import { hasPlaceholder } from "../template/fields.ts";
import { isTerminal } from "../common/rules.js";
import { errorResponse, HttpError } from "./errors.ts";
import { csvRow, readBatchRequest } from "./_batch_request.ts";
import { checkUpload } from "./check.ts";
import { eventStream, publicStatus } from "./_events.ts";
import {
  authorize,
  busy,
  fileResponse,
  Gate,
  page,
  readJson,
  wholeNumber,
  withTimeout,
} from "./_http.ts";
import { previewPng } from "./preview.ts";
import { zipStream } from "./zip.ts";

/** What the handler works with. */
export interface ServerDeps {
  store: JobStore;
  worker: BatchWorker;
  metrics: Metrics;
  /** Required as `Authorization: Bearer …` on /api when set. */
  token?: string;
  /** Largest request body, bytes. @default 50 MiB */
  maxUploadBytes?: number;
  /** Admission limits: past them new work gets 429 (or 413). */
  limits?: ServerLimits;
  /** Told of finished records, for the events stream. */
  pieces?: EventTarget;
  /** Aborted when the server shuts down: open event streams end. */
  shutdown?: AbortSignal;
  /** @default silent */
  log?: Logger;
}

/** Bounds on the work the server takes on. */
export interface ServerLimits {
  /** Batches queued or running at once. @default 100 */
  maxQueued?: number;
  /** Records in one batch. @default 100000 */
  maxRecordsPerBatch?: number;
  /** Records still to render over all queued and running batches. @default 1000000 */
  maxQueuedRecords?: number;
  /** Preview renders at once. @default 2 */
  maxPreviews?: number;
  /** Preview requests waiting for a turn. @default 16 */
  maxPreviewQueue?: number;
}

type Params = Record<string, string>;
type Route = [
  string,
  string,
  (req: Request, p: Params, url: URL) => Promise<Response> | Response,
];

/** The request handler: `Deno.serve(createHandler(deps))`. */
export function createHandler(
  deps: ServerDeps,
): (req: Request) => Promise<Response> {
  const { store, worker, metrics } = deps;
  const log = deps.log ?? silentLogger;
  const maxUpload = deps.maxUploadBytes ?? 50 * 2 ** 20;
  const previews = new Map<string, Promise<Uint8Array>>();
  const limits = {
    maxQueued: deps.limits?.maxQueued ?? 100,
    maxRecordsPerBatch: deps.limits?.maxRecordsPerBatch ?? 100_000,
    maxQueuedRecords: deps.limits?.maxQueuedRecords ?? 1_000_000,
  };
  const previewGate = new Gate(
    deps.limits?.maxPreviews ?? 2,
    deps.limits?.maxPreviewQueue ?? 16,
  );
  // Admission (check the queue, then add to it) runs one request at a time,
  // so two uploads cannot both take the last place.
  let admission: Promise<unknown> = Promise.resolve();
  const admit = <T>(step: () => Promise<T>): Promise<T> => {
    const run = admission.then(step);
    admission = run.catch(() => {});
    return run;
  };
  const queueFull = async (extraRecords: number) => {
    const active = (await store.listBatches()).filter((b) =>
      b.state === "queued" || b.state === "running"
    );
    const pending = active.reduce((n, b) => n + b.total - b.done, 0);
    if (active.length >= limits.maxQueued) {
      return `${active.length} batches are waiting or running (the limit is ${limits.maxQueued})`;
    }
    if (pending + extraRecords > limits.maxQueuedRecords) {
      return `${pending} records are waiting (the limit is ${limits.maxQueuedRecords})`;
    }
    return undefined;
  };

  const routes: Route[] = [
    ["GET", "/", () => page("app.html")],
    ["GET", "/editor", () => page("editor.html")],
    ["GET", "/web/:file", (_r, p) => page(p.file!)],
    ["GET", "/common/rules.js", () => page("rules.js", "common")],
    ["GET", "/fabric.js", async () => {
      const file = staticFile("/fabric.js")!;
      return new Response(await file.body as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": file.type },
      });
    }],
    ["GET", "/healthz", async () => {
      try {
        const browser = await worker.browser();
        const version = await withTimeout(browser.puppeteer.version(), 5000);
        return Response.json({ status: "ok", chromium: version });
      } catch (error) {
        return Response.json({
          status: "unavailable",
          message: (error as Error).message,
        }, {
          status: 503,
        });
      }
    }],
    [
      "GET",
      "/metrics",
      async () =>
        new Response(metrics.format(await store.countByState()), {
          headers: { "content-type": "text/plain; version=0.0.4" },
        }),
    ],
    [
      "GET",
      "/api/templates",
      async () => Response.json(await store.listTemplates()),
    ],
    ["POST", "/api/templates", async (req) => {
      const doc = await readJson(req, maxUpload);
      return Response.json(await store.addTemplate(doc), { status: 201 });
    }],
    ["GET", "/api/templates/:id", async (_r, p) => {
      const { info, path } = await store.template(p.id!);
      const doc = JSON.parse(await Deno.readTextFile(path));
      // Fixed images come inlined, so a copy saved from the editor needs
      // nothing from the original's folder.
      await inlineImages(doc, new AssetResolver(dirname(path)));
      return Response.json({ ...info, template: doc });
    }],
    ["DELETE", "/api/templates/:id", async (_r, p) => {
      await store.deleteTemplate(p.id!);
      previews.delete(p.id!);
      return new Response(null, { status: 204 });
    }],
    ["GET", "/api/templates/:id/preview.png", async (_r, p, url) => {
      const { path } = await store.template(p.id!);
      const row = url.searchParams.get("row");
      const batch = url.searchParams.get("batch");
      let values: Record<string, string> | undefined;
      if (row !== null && batch) {
        values = await csvRow(store, batch, Number(row));
      }
      const key = `${p.id}:${batch ?? ""}:${row ?? ""}`;
      let png = previews.get(key);
      if (!png) {
        png = previewGate.run(() =>
          worker.browser().then((b) => previewPng(b, path, values))
        );
        png.catch(() => previews.delete(key));
        previews.set(key, png);
        if (previews.size > 64) previews.delete(previews.keys().next().value!);
      }
      return new Response(await png as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "image/png", "cache-control": "no-cache" },
      });
    }],
    [
      "POST",
      "/api/check",
      (req) =>
        checkUpload(req, { store, ...limits, maxUploadBytes: maxUpload }),
    ],
    ["POST", "/api/batches", async (req) => {
      const early = await queueFull(0);
      if (early) throw busy(early);
      const request = await readBatchRequest(req, store, maxUpload);
      if (request.total > limits.maxRecordsPerBatch) {
        throw new HttpError(
          413,
          "too_many_records",
          `The CSV has ${request.total} records; one batch takes at most ${limits.maxRecordsPerBatch}`,
        );
      }
      const status = await admit(async () => {
        const full = await queueFull(request.total);
        if (full) throw busy(full);
        return await store.createBatch(request);
      });
      worker.poke();
      log("info", `Batch ${status.id} queued: ${status.total} records`, {
        batch: status.id,
      });
      return Response.json({ id: status.id }, { status: 202 });
    }],
    [
      "GET",
      "/api/batches",
      async () => Response.json((await store.listBatches()).map(publicStatus)),
    ],
    ["GET", "/api/batches/:id", async (_r, p) => {
      const status = await store.batch(p.id!);
      const pieces = [...(await store.pieces(p.id!)).values()]
        .sort((a, b) => a.index - b.index)
        .map(({ index, status, file, error }) => ({
          index,
          status,
          file,
          error,
        }));
      return Response.json({ ...publicStatus(status), pieces });
    }],
    [
      "GET",
      "/api/batches/:id/events",
      (_r, p) =>
        eventStream(store, p.id!, {
          pieces: deps.pieces,
          shutdown: deps.shutdown,
        }),
    ],
    ["GET", "/api/batches/:id/output.pdf", async (_r, p) => {
      await store.batch(p.id!);
      return fileResponse(
        join(store.batchDir(p.id!), "out", "merged.pdf"),
        "application/pdf",
        "merged PDF",
      );
    }],
    ["GET", "/api/batches/:id/manifest.json", async (_r, p) => {
      await store.batch(p.id!);
      return fileResponse(
        join(store.batchDir(p.id!), "out", "manifest.json"),
        "application/json",
        "manifest",
      );
    }],
    ["GET", "/api/batches/:id/output.zip", async (_r, p) => {
      await store.batch(p.id!);
      const out = join(store.batchDir(p.id!), "out");
      const files = [...(await store.pieces(p.id!)).values()]
        .filter((e) => e.status === "ok" && e.file)
        .sort((a, b) => a.index - b.index)
        .map((e) => [e.file!, join(out, e.file!)] as [string, string]);
      if (files.length === 0) {
        throw new HttpError(404, "not_ready", "No piece has been rendered yet");
      }
      return new Response(zipStream(files), {
        headers: {
          "content-type": "application/zip",
          "content-disposition": `attachment; filename="batch-${p.id}.zip"`,
        },
      });
    }],
    ["GET", "/api/batches/:id/pieces/:index.png", async (_r, p) => {
      await store.batch(p.id!);
      const index = wholeNumber(p.index!, "index");
      return fileResponse(
        join(store.batchDir(p.id!), "thumbs", `${index}.png`),
        "image/png",
        "thumbnail",
      );
    }],
    ["POST", "/api/batches/:id/cancel", async (_r, p) => {
      const status = await store.updateBatch(p.id!, (s) => {
        if (isTerminal(s.state)) {
          throw new HttpError(
            409,
            "conflict",
            `Batch ${s.id} is already ${s.state}`,
          );
        }
        return s.state === "queued"
          ? { state: "cancelled", finishedAt: new Date().toISOString() }
          : { cancelRequested: true };
      });
      worker.cancel(p.id!);
      return Response.json(publicStatus(status), { status: 202 });
    }],
    ["POST", "/api/batches/:id/retry", async (_r, p) => {
      const status = await store.updateBatch(p.id!, (s) => {
        if (!isTerminal(s.state)) {
          throw new HttpError(
            409,
            "conflict",
            `Batch ${s.id} is still ${s.state}`,
          );
        }
        if (s.state === "done" && s.failed === 0) {
          throw new HttpError(
            409,
            "conflict",
            `Batch ${s.id} has no failed records`,
          );
        }
        return {
          state: "queued",
          failed: 0,
          error: undefined,
          finishedAt: undefined,
          cancelRequested: false,
        };
      });
      worker.poke();
      return Response.json(publicStatus(status), { status: 202 });
    }],
  ];
  const compiled = routes.map(([method, path, fn]) =>
    [method, new URLPattern({ pathname: path }), fn] as const
  );

  return async function handle(req: Request): Promise<Response> {
    const requestId = crypto.randomUUID().slice(0, 8);
    try {
      const url = new URL(req.url);
      if (url.pathname.startsWith("/api/") && deps.token) {
        authorize(req, url, deps.token);
      }
      let pathMatched = false;
      for (const [method, pattern, fn] of compiled) {
        const match = pattern.exec({ pathname: url.pathname });
        if (!match) continue;
        pathMatched = true;
        if (method !== req.method) continue;
        const params = match.pathname.groups as Params;
        const response = await fn(req, params, url);
        response.headers.set("x-request-id", requestId);
        return response;
      }
      throw pathMatched
        ? new HttpError(
          405,
          "method_not_allowed",
          `${req.method} is not allowed on ${url.pathname}`,
        )
        : new HttpError(404, "not_found", `No route for ${url.pathname}`);
    } catch (error) {
      return errorResponse(error, requestId, log);
    }
  };
}

/** Replaces fixed relative image sources of a template with data: URLs. */
async function inlineImages(
  doc: unknown,
  assets: AssetResolver,
): Promise<void> {
  const canvas = (doc as { canvas?: unknown }).canvas ?? doc;
  const visit = async (objects: unknown) => {
    if (!Array.isArray(objects)) return;
    for (const o of objects as Record<string, unknown>[]) {
      const src = o?.src;
      if (
        typeof src === "string" && !hasPlaceholder(src) && !/^data:/i.test(src)
      ) {
        o.src = await assets.imageDataUrl(src, "template image");
      }
      await visit(o?.objects);
    }
  };
  await visit((canvas as { objects?: unknown }).objects);
}
