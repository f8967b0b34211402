/**
 * One batch, end to end: CSV → records → renderer → PDF → output folder, with
 * progress events and a manifest.
 *
 * @module
 */
import { type EncodedImage, MergedPdf, piecePdf } from "../pdf/writer.ts";
import { Browser, type LaunchOptions } from "../render/browser.ts";
import { type Logger, silentLogger } from "../render/log.ts";
import {
  createRenderer,
  type RendererChoice,
  type RendererOptions,
} from "../render/orchestrator.ts";
import type { Renderer, RendererMode } from "../render/renderer.ts";
import type { RenderedPiece } from "../render/render_page.ts";
import { join } from "node:path";
import {
  AssetResolver,
  type AssetResolverOptions,
} from "../template/assets.ts";
import { substitute } from "../template/fields.ts";
import { pageSpec } from "../template/page_spec.ts";
import { loadTemplate, type Template } from "../template/parse.ts";
import { piecePayload, RecordError } from "../template/payload.ts";
import { preflight } from "../template/preflight.ts";
import { type CsvRecord, type Delimiter, readCsv, scanCsv } from "./csv.ts";
import {
  type Manifest,
  type ManifestEntry,
  writeManifest,
} from "./manifest.ts";
import { pieceFileName, sha256, writeFileAtomic } from "./output.ts";

/** What a batch writes for each piece. */
export type OutputFormat = "pdf" | "png" | "jpeg";

/** A progress event, the same for both renderers. */
export interface Progress {
  /** Records finished, rendered or failed. */
  done: number;
  total: number;
  failed: number;
  mode: RendererMode;
  /** Pieces per second since the renderer was ready. */
  rate: number;
  elapsedMs: number;
  /** Estimated ms to go, from the rate so far. */
  etaMs: number;
}

/** Options for {@linkcode runBatch}. */
export interface BatchOptions {
  /** A template file, or a parsed template. */
  template: string | Template;
  /** The CSV file of records. */
  data: string;
  /** Output folder; created if missing. */
  out: string;
  /** @default rendererFromEnv() ("auto") */
  renderer?: RendererChoice;
  /** Pages of the pool, or pieces in flight for cluster. @default cores */
  concurrency?: number;
  /** Also write `merged.pdf` with every piece in record order. @default false */
  merge?: boolean;
  /** @default "pdf" */
  format?: OutputFormat;
  /** Encoding of the image inside each PDF. @default "png" */
  pdfImage?: "png" | "jpeg";
  /** JPEG quality 0..1. @default 0.92 */
  quality?: number;
  /** Render at most this many records. @default all */
  limit?: number;
  /** `fail` stops at the first failed record; `skip` goes on. @default "fail" */
  onError?: "fail" | "skip";
  /** @default auto-detected */
  delimiter?: Delimiter;
  /** File name label with placeholders, e.g. "{{lastName}}". @default "" */
  name?: string;
  /** A running browser to use (kept open), or how to launch one. */
  browser?: Browser | LaunchOptions;
  /** More renderer settings (pool options, fallback threshold). */
  rendering?: Omit<RendererOptions, "renderer" | "pages" | "log">;
  onProgress?: (progress: Progress) => void;
  /**
   * Told of every finished record (rendered, failed, or kept from `resume`),
   * after its file is written; awaited.
   */
  onRecord?: (
    entry: ManifestEntry,
    piece?: RenderedPiece,
  ) => void | Promise<void>;
  /**
   * Records already rendered by an earlier run into the same `out` folder:
   * those with status "ok" are kept as they are, not rendered again.
   */
  resume?: ReadonlyMap<number, ManifestEntry>;
  /** Also make a PNG thumbnail this many pixels wide per piece. */
  thumbnail?: number;
  /** The asset policy (remote images are off unless enabled here). */
  assets?: AssetResolverOptions;
  /** @default silent */
  log?: Logger;
  signal?: AbortSignal;
}

/** Where the time went: ms summed over all rendered pieces, per stage. */
export interface StageTotals {
  /** Deno side: placeholders, images, QR matrices. */
  prepare: number;
  /** In the page: setting the record's values. */
  apply: number;
  /** In the page: Fabric's paint. */
  paint: number;
  /** In the page: the canvas to PNG or JPEG. */
  encode: number;
  /** In the page: the encoded bytes to base64. */
  serialize: number;
  /** Page to Deno, and decoding. */
  transfer: number;
  /** Wrapping the image into the piece's PDF. */
  pdf: number;
  /** Writing the file and hashing it. */
  write: number;
}

/** The outcome of a batch that ran. */
export interface BatchResult {
  total: number;
  rendered: number;
  failed: number;
  ms: number;
  /** Mode at the end of the batch. */
  mode: RendererMode;
  /** ms from the start until the renderer was ready (pool warm-up). */
  startupMs: number;
  /** ms from the start until the first piece was written. */
  firstPieceMs: number;
  stages: StageTotals;
  out: string;
  manifest: Manifest;
}

/** The batch stopped on a failed record (`onError: "fail"`). */
export class BatchFailedError extends Error {
  override name = "BatchFailedError";
  readonly result: BatchResult;
  constructor(message: string, result: BatchResult, options?: ErrorOptions) {
    super(message, options);
    this.result = result;
  }
}

/**
 * Renders every record of `data` with `template` into `out`. Input errors
 * (template, CSV, missing columns) throw before anything is written. Failed
 * records are listed in the manifest; with `onError: "fail"` the batch stops
 * and throws {@linkcode BatchFailedError}.
 */
export async function runBatch(options: BatchOptions): Promise<BatchResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const log = options.log ?? silentLogger;
  const format = options.format ?? "pdf";
  const onError = options.onError ?? "fail";
  const concurrency = options.concurrency ?? navigator.hardwareConcurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(
      `concurrency must be a whole number ≥ 1, got ${concurrency}`,
    );
  }
  const template = typeof options.template === "string"
    ? await loadTemplate(options.template)
    : options.template;
  const csv = await scanCsv(options.data, {
    delimiter: options.delimiter,
    signal,
  });
  preflight(template, csv.headers, options.data);
  const total = Math.min(csv.count, options.limit ?? Infinity);
  const assets = new AssetResolver(template.baseDir, options.assets);
  const spec = await pageSpec(template, assets);
  await Deno.mkdir(options.out, { recursive: true });
  await removeLeftovers(options.out);
  log(
    "info",
    `Batch: ${total} records from ${options.data}, template ${template.source} → ${options.out}`,
  );

  const startedAt = new Date();
  const started = performance.now();
  const entries = new Map<number, ManifestEntry>();
  const merged = options.merge
    ? new MergedPdf(template.geometry, { title: template.name })
    : undefined;
  // Pieces waiting for their turn in the merged PDF: an image, the path of a
  // piece kept from an earlier run, or null for a record with no page.
  const ordered = new Map<number, EncodedImage | string | null>();
  let nextMerged = 1;
  let failed = 0;
  let firstFailure: Error | undefined;
  const stop = new AbortController();
  // Stopping (first failure, or the caller's signal) takes no new records;
  // pieces already in flight finish unless the caller's signal aborts them.
  const stopSignal = signal
    ? AbortSignal.any([signal, stop.signal])
    : stop.signal;

  const ownBrowser = !(options.browser instanceof Browser);
  const browser = options.browser instanceof Browser
    ? options.browser
    : await Browser.launch(options.browser);
  let renderer: Renderer | undefined;
  let startupMs = 0;
  let firstPieceMs = 0;
  const stages: StageTotals = {
    prepare: 0,
    apply: 0,
    paint: 0,
    encode: 0,
    serialize: 0,
    transfer: 0,
    pdf: 0,
    write: 0,
  };
  const result = (): BatchResult => {
    const ms = performance.now() - started;
    const records = Array.from(
      { length: total },
      (_, i) =>
        entries.get(i + 1) ?? { index: i + 1, status: "not-rendered" as const },
    );
    return {
      total,
      rendered: records.filter((r) => r.status === "ok").length,
      failed,
      ms,
      mode: renderer?.mode ?? "persistent",
      startupMs,
      firstPieceMs,
      stages,
      out: options.out,
      manifest: {
        template: template.source,
        data: options.data,
        format,
        total,
        rendered: records.filter((r) => r.status === "ok").length,
        failed,
        merged: merged && !firstFailure ? "merged.pdf" : undefined,
        startedAt: startedAt.toISOString(),
        ms: Math.round(ms),
        records,
      },
    };
  };
  const progress = () => {
    const done = entries.size;
    const elapsedMs = performance.now() - started;
    // The rate counts from when the renderer was ready, so warm-up does not
    // skew the ETA.
    const rate = done / Math.max((elapsedMs - startupMs) / 1000, 1e-3);
    options.onProgress?.({
      done,
      total,
      failed,
      mode: renderer!.mode,
      rate,
      elapsedMs,
      etaMs: rate > 0 ? ((total - done) / rate) * 1000 : 0,
    });
  };

  const imageFormat = format === "pdf" ? options.pdfImage ?? "png" : format;
  const one = async (record: CsvRecord) => {
    const kept = options.resume?.get(record.index);
    if (kept?.status === "ok" && kept.file) {
      entries.set(record.index, kept);
      if (merged) {
        ordered.set(
          record.index,
          format === "pdf" ? join(options.out, kept.file) : null,
        );
      }
      await options.onRecord?.(kept);
      progress();
      return;
    }
    const t0 = performance.now();
    const entry: ManifestEntry = {
      index: record.index,
      line: record.line,
      status: "ok",
    };
    let piece: RenderedPiece | undefined;
    try {
      const payload = await piecePayload(template, record, assets);
      const t1 = performance.now();
      piece = await renderer!.render(payload, signal);
      entry.mode = renderer!.mode;
      const t2 = performance.now();
      const bytes = format === "pdf"
        ? await piecePdf(piece.image, template.geometry, {
          title: `${template.name} — record ${record.index}`,
        })
        : piece.image.bytes;
      const label = options.name ? substitute(options.name, record.values) : "";
      const file = pieceFileName(
        record.index,
        total,
        format === "jpeg" ? "jpg" : format,
        label,
      );
      const t3 = performance.now();
      await writeFileAtomic(options.out, file, bytes);
      entry.file = file;
      entry.bytes = bytes.length;
      entry.sha256 = await sha256(bytes);
      const t4 = performance.now();
      stages.prepare += t1 - t0;
      for (const [stage, ms] of Object.entries(piece.timings)) {
        stages[stage as keyof StageTotals] += ms;
      }
      stages.pdf += t3 - t2;
      stages.write += t4 - t3;
      firstPieceMs ||= t4 - started;
      if (merged) {
        ordered.set(record.index, format === "pdf" ? piece.image : null);
      }
    } catch (error) {
      if (signal?.aborted) return; // not rendered: listed as such
      entry.status = "failed";
      entry.error = error instanceof RecordError
        ? error.message
        : `Cannot render record ${record.index}: ${(error as Error).message}`;
      failed++;
      log("error", entry.error, { record: record.index });
      if (merged) ordered.set(record.index, null);
      if (onError === "fail" && !firstFailure) {
        firstFailure = error as Error;
        stop.abort(error);
      }
    }
    entry.ms = Math.round(performance.now() - t0);
    entries.set(record.index, entry);
    await options.onRecord?.(entry, piece);
    progress();
  };

  try {
    renderer = await createRenderer(browser, spec, {
      ...options.rendering,
      renderer: options.renderer,
      pages: concurrency,
      encode: {
        ...options.rendering?.encode,
        format: imageFormat,
        quality: options.quality,
        thumbnail: options.thumbnail,
      },
      log,
    });
    startupMs = performance.now() - started;
    const records = readCsv(options.data, {
      delimiter: options.delimiter,
      signal,
    });
    let taken = 0;
    const next = async (): Promise<CsvRecord | undefined> => {
      // Claim the slot before awaiting, so concurrent workers never take
      // more than `total` records between them.
      if (taken >= total || stopSignal.aborted) return undefined;
      taken++;
      const item = await records.next();
      return item.done ? undefined : item.value;
    };
    const inFlight = renderer.mode === "persistent"
      ? concurrency * 2
      : concurrency;
    const worker = async () => {
      for (let record = await next(); record; record = await next()) {
        await one(record);
        if (merged) {
          while (ordered.has(nextMerged)) {
            const page = ordered.get(nextMerged);
            ordered.delete(nextMerged++);
            if (typeof page === "string") {
              await merged.addPdf(await Deno.readFile(page));
            } else if (page) await merged.add(page);
          }
        }
      }
    };
    // Every worker settles before the renderer closes: none is cut off.
    const settled = await Promise.allSettled(
      Array.from({ length: inFlight }, worker),
    );
    await records.return(undefined);
    const broken = settled.find((s) => s.status === "rejected");
    if (broken) throw broken.reason;
    if (merged && !firstFailure) {
      await writeFileAtomic(options.out, "merged.pdf", await merged.save());
    }
  } catch (error) {
    if (!firstFailure) throw error;
  } finally {
    await renderer?.close();
    if (ownBrowser) await browser.close();
    if (entries.size > 0 || firstFailure) {
      await writeManifest(options.out, result().manifest);
    }
  }
  signal?.throwIfAborted();
  const out = result();
  if (firstFailure) {
    throw new BatchFailedError(
      `Batch stopped at the first failed record: ${firstFailure.message} (${out.rendered} rendered before it)`,
      out,
      { cause: firstFailure },
    );
  }
  log(
    "info",
    `Done: ${out.rendered} rendered, ${out.failed} failed in ${
      (out.ms / 1000).toFixed(2)
    } s ` +
      `(${(out.rendered / (out.ms / 1000)).toFixed(1)} pieces/s, ${out.mode})`,
  );
  return out;
}

/** Removes temporary files an interrupted earlier run left in `dir`. */
async function removeLeftovers(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && /^\..+\.[0-9a-f]{8}\.tmp$/.test(entry.name)) {
      await Deno.remove(join(dir, entry.name)).catch(() => {});
    }
  }
}
