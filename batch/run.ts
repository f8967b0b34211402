/**
 * One batch, end to end: CSV → records → renderer → PDF → output folder, with
 * progress events and a manifest. The parts: the inputs checked before
 * anything renders and the record feed (_inputs.ts), one record kept,
 * rendered or failed under the `onError` policy (_record.ts) and written
 * (_piece.ts), the merged PDF (_merge.ts), and the account of it all, from
 * which progress and the result come (_ledger.ts).
 *
 * @module
 */
import { pooledMap } from "../common/async.ts";
import { PressrunError } from "../common/errors.ts";
import { Browser, type LaunchOptions } from "../render/browser.ts";
import { type Logger, silentLogger } from "../render/log.ts";
import {
  createRenderer,
  type RendererChoice,
  type RendererOptions,
} from "../render/orchestrator.ts";
import { clampChunkSize } from "../render/persistent.ts";
import type { PdfMode, Renderer } from "../render/renderer.ts";
import type { RenderedPiece } from "../render/render_page.ts";
import type { AssetResolverOptions } from "../template/assets.ts";
import type { OversetPolicy } from "../template/overset.ts";
import type { PageSpec } from "../template/page_spec.ts";
import type { Template } from "../template/parse.ts";
import type { PageOption } from "../template/page_option.ts";
import type { CsvRecord, Delimiter } from "./csv.ts";
import type { Encoding } from "./encoding.ts";
import {
  partFeed,
  prepareInputs,
  prepareOutputFolder,
  recordFeed,
} from "./_inputs.ts";
import { BatchLedger, type BatchResult, type Progress } from "./_ledger.ts";
import { type ManifestEntry, writeManifest } from "./manifest.ts";
import { MergedOutput } from "./_merge.ts";
import { PdfXConverter } from "../pdf/pdfx.ts";
import { PROOF, proofChoices, writeProof } from "./_proof.ts";
import { planPress, type PressRequest, writePress } from "./_press.ts";
import type { ImposeOptionNames } from "../pdf/impose.ts";
import { RecordRunner } from "./_record.ts";

export type { BatchResult, Progress, StageTotals } from "./_ledger.ts";

/** What a batch writes for each piece. */
export type OutputFormat = "pdf" | "png" | "jpeg";

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
  /**
   * What a PDF page holds: `vector` (Chromium prints each piece from its
   * SVG, a chunk of records per print: text stays text, shared images are
   * stored once) or `raster` (one image of the piece). Only `format: "pdf"`
   * has a choice; PNG and JPEG pieces are raster always.
   * @default "vector" for PDF
   */
  pdfMode?: PdfMode;
  /**
   * Vector mode: most records one page prints at once (1–500).
   * @default 100 (the renderer's measured default)
   */
  chunkSize?: number;
  /** Encoding of the image inside each raster PDF. @default "png" */
  pdfImage?: "png" | "jpeg";
  /** JPEG quality 0..1. @default 0.92 */
  quality?: number;
  /** Render at most this many records. @default all */
  limit?: number;
  /** `fail` stops at the first failed record; `skip` goes on. @default "fail" */
  onError?: "fail" | "skip";
  /**
   * A record with a text that overflows its box even at its copyfit bounds
   * (overset; see template/overset.ts): `warn` writes it as drawn, lists
   * the texts in its manifest entry and logs a warning naming the record
   * and the field; `fail` fails the record (then `onError` applies); `skip`
   * does not write it, listed as "skipped". The result counts them all as
   * `overset`. @default "warn"
   */
  onOverset?: OversetPolicy;
  /** @default auto-detected */
  delimiter?: Delimiter;
  /** The CSV's text encoding. @default detected from its bytes */
  encoding?: Encoding;
  /** An .xlsx file's sheet. @default its first visible sheet */
  sheet?: string;
  /**
   * The page of a bare Fabric document given as a path (`--page`, `--dpi`,
   * `--bleed`, `--size`). @default the document's workspace or own size
   */
  page?: PageOption;
  /**
   * Columns kept in each record's document part of `merged.pdf` (PDF/VT's
   * record metadata), besides its number. @default none
   */
  recordKeys?: string[];
  /**
   * Also write `proof.pdf`: the first records and those most likely to go
   * wrong, watermarked, with trim and safe-zone lines; failed records listed.
   * PDF pieces only. @default false
   */
  proof?: boolean;
  /**
   * Press outputs: `imposed.pdf` (pieces on press sheets) and printer's marks
   * on `merged.pdf`; checked before anything renders. PDF pieces only.
   */
  press?: PressRequest;
  /**
   * PDF/X-4 output: every PDF piece (and merged.pdf) converted to CMYK
   * through the printer's ICC output profile (`icc`, a path; default
   * Ghostscript's default_cmyk.icc), which is embedded as the OutputIntent.
   */
  pdfx?: { icc?: string };
  /** How press options are named in errors. @default the CLI's flags */
  pressNames?: Partial<ImposeOptionNames> & { marks?: string };
  /** File name label with placeholders, e.g. "{{lastName}}". @default "" */
  name?: string;
  /** A running browser to use (kept open), or how to launch one. */
  browser?: Browser | LaunchOptions;
  /**
   * A renderer already started for this template and these options (kept
   * open): a queue worker's, shared by the chunks of one batch. See
   * {@linkcode batchRenderer}.
   */
  warm?: Renderer;
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
  /**
   * Records whose `resume` entry failed (or was skipped for an overset
   * text) stay so (listed, not rendered again): a queue batch's finish,
   * whose chunks already tried them.
   * @default false (they are rendered again)
   */
  keepFailed?: boolean;
  /**
   * One part of the batch's records, read and checked when the batch was
   * queued (a queue chunk): rendered instead of reading `data`, with no
   * scan or column check, `total` being the whole batch's (for the width
   * of file numbers). A part writes its pieces only: no merged.pdf, proof,
   * press outputs or manifest.json (the batch's finish writes those).
   */
  part?: { records: readonly CsvRecord[]; total: number };
  /** Also make a PNG thumbnail this many pixels wide per piece. */
  thumbnail?: number;
  /** The asset policy (remote images are off unless enabled here). */
  assets?: AssetResolverOptions;
  /**
   * Called before each file the batch writes takes its final name (a
   * piece, merged.pdf, manifest.json); throwing stops that write. A worker
   * passes a check of its lease on the batch, so that once another worker
   * has taken the batch over it writes nothing more.
   */
  fence?: () => Promise<void>;
  /** @default silent */
  log?: Logger;
  signal?: AbortSignal;
}

/** The batch stopped on a failed record (`onError: "fail"`). */
export class BatchFailedError extends PressrunError {
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
 * and throws {@linkcode BatchFailedError}. A full disk stops it whatever
 * `onError` says, with a `DiskFullError` naming the folder; every file is
 * written under a temporary name first, so none is left half-written, and
 * manifest.json is the last complete one.
 */
export async function runBatch(options: BatchOptions): Promise<BatchResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const log = options.log ?? silentLogger;
  const concurrency = options.concurrency ?? navigator.hardwareConcurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(
      `concurrency must be a whole number ≥ 1, got ${concurrency}`,
    );
  }
  const format = options.format ?? "pdf";
  const pdfMode = pdfModeOf(options);
  const chunkSize = clampChunkSize(options.chunkSize);
  const inputs = await prepareInputs(options, { pdfMode, log });
  const part = options.part;
  if (part && (options.merge || options.proof || options.press)) {
    throw new TypeError(
      "A part of a batch writes pieces only: merge, proof and press are its finish's",
    );
  }
  if (options.press && format === "pdf") {
    const plan = planPress(options.press, inputs.template, inputs.total, {
      merge: options.merge ?? false,
      pdfx: options.pdfx !== undefined,
      names: options.pressNames,
    });
    if (plan) log("info", plan);
  }
  await using pdfx = options.pdfx && format === "pdf"
    ? await PdfXConverter.open({ icc: options.pdfx.icc, signal })
    : undefined;
  if (pdfx) {
    log(
      "info",
      `${pdfx.standard}: CMYK through ${pdfx.profile.description} (${pdfx.profile.path})`,
    );
  }
  const pdfxDate = new Date();
  // Other workers write the other parts of a batch into the same folder
  // meanwhile: their temporary files are not leftovers.
  await prepareOutputFolder(options.out, { leftovers: !part });
  const which = part
    ? `records ${part.records[0]?.index}–${
      part.records.at(-1)?.index
    } of ${inputs.total}`
    : `${inputs.total} records`;
  log(
    "info",
    `Batch: ${which} from ${options.data}, template ${inputs.template.source} → ${options.out} (${format}${
      format === "pdf" ? `, ${pdfMode}` : ""
    })`,
  );
  const toRun = part?.records.length ?? inputs.total;
  const ledger = new BatchLedger({
    total: toRun,
    first: part?.records[0]?.index,
    template: inputs.template.source,
    data: options.data,
    format,
    pdfMode: format === "pdf" ? pdfMode : undefined,
    out: options.out,
  });
  // Stopping (first failure, or the caller's signal) takes no new records;
  // pieces already in flight finish unless the caller's signal aborts them.
  const stop = new AbortController();
  const stopSignal = signal
    ? AbortSignal.any([signal, stop.signal])
    : stop.signal;
  const ownBrowser = !(options.browser instanceof Browser);
  const browser = options.browser instanceof Browser
    ? options.browser
    : await Browser.launch(options.browser);
  let renderer: Renderer | undefined;
  let merged: MergedOutput | undefined;
  let thrown: { error: unknown } | undefined;
  try {
    renderer = options.warm ??
      await openRenderer(browser, inputs.spec, options, {
        concurrency,
        pdfMode,
        chunkSize,
        log,
        // Every record kept from an earlier run: no page until one is not.
        lazy: (options.resume?.size ?? 0) >= toRun,
      });
    if (options.merge) {
      merged = await MergedOutput.open(options.out, inputs.template, {
        ledger,
        fence: options.fence,
        recordKeys: options.recordKeys,
      });
    }
    ledger.ready();
    const runner = new RecordRunner({
      output: {
        out: options.out,
        format,
        total: inputs.total,
        name: options.name,
        template: inputs.template,
        fence: options.fence,
        pdfx: pdfx && { converter: pdfx, date: pdfxDate },
      },
      assets: inputs.assets,
      renderer,
      ledger,
      stop,
      log,
      options,
    });
    const records = part
      ? partFeed(part.records, stopSignal)
      : recordFeed(options.data, {
        delimiter: options.delimiter,
        encoding: options.encoding,
        sheet: options.sheet,
        total: inputs.total,
        signal,
        stop: stopSignal,
      });
    const inFlight = recordsInFlight(renderer, {
      concurrency,
      pdfMode,
      chunkSize,
    });
    // Records render in parallel; their pages come out in record order for
    // the merge. Every record in flight settles before the renderer closes.
    const pages = pooledMap(inFlight, records, (r) => runner.run(r));
    for await (const page of pages) await merged?.add(page);
    // A stopped or aborted batch, or one with no page, leaves no merged.pdf.
    if (
      merged && merged.pageCount > 0 && !ledger.firstFailure &&
      !signal?.aborted
    ) {
      await merged.finish(
        options.fence,
        pdfx &&
          ((path) =>
            pdfx.identifyFile(path, {
              title: inputs.template.name,
              date: pdfxDate,
              // PDF/X-4 with a document part per record: PDF/VT-1.
              pdfvt: true,
              signal,
            })),
      );
      ledger.mergeWritten();
    }
    // The outputs made from the pieces once they are all written: none for a
    // batch that was aborted; none but the proof (which lists the failure)
    // for one that stopped at a failed record.
    const finished = format === "pdf" && !signal?.aborted &&
        ledger.finished > 0
      ? ledger.result(modeOf(renderer)).manifest.records
      : undefined;
    if (options.proof && finished) {
      const choices = await proofChoices(
        recordFeed(options.data, {
          delimiter: options.delimiter,
          encoding: options.encoding,
          sheet: options.sheet,
          total: inputs.total,
          signal,
          stop: new AbortController().signal,
        }),
        inputs.template.fields,
      );
      const shown = await writeProof(
        options.out,
        inputs.template,
        choices,
        finished,
        { beforeRename: options.fence },
      );
      ledger.proofWritten();
      log("info", `Wrote ${PROOF}: ${shown} pieces to check`);
    }
    if (options.press && finished && !ledger.firstFailure) {
      const written = await writePress(
        options.press,
        options.out,
        inputs.template,
        finished,
        { merged: ledger.merged, log, signal },
      );
      if (written.imposed) ledger.imposedWritten();
    }
  } catch (error) {
    if (!ledger.firstFailure) thrown = { error };
  } finally {
    // The merge's temporary file goes first: on a full disk that frees room
    // for the manifest.
    await merged?.close();
    if (renderer !== options.warm) await renderer?.close();
    if (ownBrowser) await browser.close();
  }
  if (!part && (ledger.finished > 0 || ledger.firstFailure)) {
    try {
      await writeManifest(
        options.out,
        ledger.result(modeOf(renderer)).manifest,
        { beforeRename: options.fence },
      );
    } catch (error) {
      // The error that stopped the batch says more; the manifest left in
      // place is the last complete one.
      if (!thrown) throw error;
      log("warn", `Cannot write manifest.json: ${(error as Error).message}`);
    }
  }
  if (thrown) throw thrown.error;
  signal?.throwIfAborted();
  return finish(ledger.result(modeOf(renderer)), ledger.firstFailure, log);
}

/**
 * The PDF mode a batch runs in: vector unless raster is asked for; PNG and
 * JPEG pieces are images, so raster.
 */
export function pdfModeOf(
  options: Pick<BatchOptions, "format" | "pdfMode">,
): PdfMode {
  if ((options.format ?? "pdf") !== "pdf") return "raster";
  return options.pdfMode ?? "vector";
}

/**
 * Records a batch keeps in flight: enough that every tab of the pool is busy
 * and, in vector mode, that a full chunk is queued for the next tab to come
 * free (the pool takes up to `chunkSize` queued records per print).
 */
function recordsInFlight(
  renderer: Renderer,
  options: { concurrency: number; pdfMode: PdfMode; chunkSize: number },
): number {
  const { concurrency, pdfMode, chunkSize } = options;
  if (renderer.mode !== "persistent") return concurrency;
  return pdfMode === "vector" ? (concurrency + 1) * chunkSize : concurrency * 2;
}

/**
 * A renderer for batches of `spec` run with `options` (pool size, PDF mode,
 * chunk size, encoding), to pass to several as their `warm` renderer.
 */
export function batchRenderer(
  browser: Browser,
  spec: PageSpec,
  options: BatchOptions,
): Promise<Renderer> {
  return openRenderer(browser, spec, options, {
    concurrency: options.concurrency ?? navigator.hardwareConcurrency,
    pdfMode: pdfModeOf(options),
    chunkSize: clampChunkSize(options.chunkSize),
    log: options.log ?? silentLogger,
    lazy: false,
  });
}

/** The renderer of a batch, encoding as `options` ask. */
function openRenderer(
  browser: Browser,
  spec: PageSpec,
  options: BatchOptions,
  { concurrency, pdfMode, chunkSize, log, lazy }: {
    concurrency: number;
    pdfMode: PdfMode;
    chunkSize: number;
    log: Logger;
    lazy: boolean;
  },
): Promise<Renderer> {
  const format = options.format ?? "pdf";
  return createRenderer(browser, spec, {
    ...options.rendering,
    renderer: options.renderer,
    pages: concurrency,
    pdfMode,
    chunkSize,
    lazy,
    encode: {
      ...options.rendering?.encode,
      format: format === "pdf" ? options.pdfImage ?? "png" : format,
      quality: options.quality,
      thumbnail: options.thumbnail,
    },
    log,
  });
}

function modeOf(renderer: Renderer | undefined) {
  return renderer?.mode ?? "persistent";
}

/** The result, logged; or the {@linkcode BatchFailedError} of a stopped batch. */
function finish(
  out: BatchResult,
  firstFailure: Error | undefined,
  log: Logger,
): BatchResult {
  if (firstFailure) {
    throw new BatchFailedError(
      `Batch stopped at the first failed record: ${firstFailure.message} (${out.rendered} rendered before it)`,
      out,
      { cause: firstFailure },
    );
  }
  const overset = out.overset
    ? `, ${out.overset} with overset text${
      out.skipped ? ` (${out.skipped} skipped)` : ""
    }`
    : "";
  log(
    "info",
    `Done: ${out.rendered} rendered, ${out.failed} failed${overset} in ${
      (out.ms / 1000).toFixed(2)
    } s ` +
      `(${(out.rendered / (out.ms / 1000)).toFixed(1)} pieces/s, ${out.mode}${
        out.pdfMode ? `, ${out.pdfMode} PDF` : ""
      })`,
  );
  return out;
}
