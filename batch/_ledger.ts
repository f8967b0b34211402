/**
 * The running account of a batch: what each record came to, the time spent
 * per stage, the first failure, and from those the progress events and the
 * result (with its manifest).
 *
 * @module
 */
import type { PdfMode, RendererMode } from "../render/renderer.ts";
import type { Manifest, ManifestEntry } from "./manifest.ts";

/** A progress event, the same for both renderers. */
export interface Progress {
  /** Records finished, rendered or failed. */
  done: number;
  total: number;
  failed: number;
  /** Records not written because a text is overset (`onOverset: "skip"`). */
  skipped: number;
  /** Records with an overset text, however handled. */
  overset: number;
  mode: RendererMode;
  /** What the batch's PDF pages hold; absent for PNG and JPEG pieces. */
  pdfMode?: PdfMode;
  /** Pieces per second since the renderer was ready. */
  rate: number;
  elapsedMs: number;
  /** Estimated ms to go, from the rate so far. */
  etaMs: number;
}

/**
 * Where the time went: ms summed over all rendered pieces, per stage. A
 * raster piece spends it in apply, paint, encode, serialize and pdf; a
 * vector piece in apply, svg, layout, print and split (its share of its
 * chunk's); both in prepare, transfer, write and merge.
 */
export interface StageTotals {
  /** Deno side: placeholders, images, QR matrices. */
  prepare: number;
  /** In the page: setting the record's values. */
  apply: number;
  /** In the page: Fabric's paint (raster). */
  paint: number;
  /** In the page: the canvas to PNG or JPEG (raster). */
  encode: number;
  /** In the page: the encoded bytes to base64 (raster). */
  serialize: number;
  /** In the page: Fabric's `toSVG()` (vector). */
  svg: number;
  /** In the page: the chunk's print document and its images (vector). */
  layout: number;
  /** Chromium's `printToPDF` (vector). */
  print: number;
  /** The chunk PDF into one PDF per piece (vector). */
  split: number;
  /** In the page: the thumbnail, when asked for (vector). */
  thumbnail: number;
  /** Page to Deno, and decoding. */
  transfer: number;
  /** Wrapping the image into the piece's PDF (raster). */
  pdf: number;
  /** Writing the file and hashing it. */
  write: number;
  /** Appending the piece to merged.pdf, when asked for. */
  merge: number;
}

/** The outcome of a batch that ran. */
export interface BatchResult {
  total: number;
  rendered: number;
  failed: number;
  /** Records not written because a text is overset (`onOverset: "skip"`). */
  skipped: number;
  /** Records with an overset text: written with a warning, failed or skipped. */
  overset: number;
  ms: number;
  /** Mode at the end of the batch. */
  mode: RendererMode;
  /** What the PDF pages hold; absent for PNG and JPEG pieces. */
  pdfMode?: PdfMode;
  /** ms from the start until the renderer was ready (pool warm-up). */
  startupMs: number;
  /** ms from the start until the first piece was written. */
  firstPieceMs: number;
  stages: StageTotals;
  out: string;
  manifest: Manifest;
}

/** What the batch is, for the manifest; fixed for its run. */
export interface LedgerInfo {
  /** Records the batch renders. */
  total: number;
  /** The first one's index: 1, or a part's first. @default 1 */
  first?: number;
  /** The template's source and the data file, as the manifest names them. */
  template: string;
  data: string;
  format: string;
  /** What the PDF pages hold; undefined for PNG and JPEG pieces. */
  pdfMode?: PdfMode;
  out: string;
}

/** The account of one batch; created when its records start. */
export class BatchLedger {
  readonly stages: StageTotals = {
    prepare: 0,
    apply: 0,
    paint: 0,
    encode: 0,
    serialize: 0,
    svg: 0,
    layout: 0,
    print: 0,
    split: 0,
    thumbnail: 0,
    transfer: 0,
    pdf: 0,
    write: 0,
    merge: 0,
  };
  #info: LedgerInfo;
  #entries = new Map<number, ManifestEntry>();
  #failed = 0;
  #skipped = 0;
  #overset = 0;
  #firstFailure: Error | undefined;
  #startedAt = new Date();
  #started = performance.now();
  #startupMs = 0;
  #firstPieceMs = 0;
  #merged = false;
  #proof = false;
  #imposed = false;

  constructor(info: LedgerInfo) {
    this.#info = info;
  }

  /** The failure that stopped the batch (`onError: "fail"`), if one did. */
  get firstFailure(): Error | undefined {
    return this.#firstFailure;
  }

  /** Records finished so far: rendered, failed or kept. */
  get finished(): number {
    return this.#entries.size;
  }

  /** The renderer is ready: the time so far is start-up. */
  ready(): void {
    this.#startupMs = performance.now() - this.#started;
  }

  /** A record kept from an earlier run. */
  kept(entry: ManifestEntry): void {
    this.#finished(entry);
  }

  /** A record rendered and written, with the ms of each stage it took. */
  rendered(entry: ManifestEntry, stages: Partial<StageTotals>): void {
    this.spent(stages);
    this.#firstPieceMs ||= performance.now() - this.#started;
    this.#finished(entry);
  }

  /** A record rendered but not written: a text is overset. */
  skipped(entry: ManifestEntry): void {
    this.#skipped++;
    this.#finished(entry);
  }

  #finished(entry: ManifestEntry): void {
    if (entry.overset?.length) this.#overset++;
    this.#entries.set(entry.index, entry);
  }

  /** Time spent on the batch's pieces outside a record (the merge). */
  spent(stages: Partial<StageTotals>): void {
    for (const [stage, ms] of Object.entries(stages)) {
      if (stage in this.stages) this.stages[stage as keyof StageTotals] += ms;
    }
  }

  /** merged.pdf was written. */
  mergeWritten(): void {
    this.#merged = true;
  }

  /** proof.pdf was written. */
  proofWritten(): void {
    this.#proof = true;
  }

  /** imposed.pdf was written. */
  imposedWritten(): void {
    this.#imposed = true;
  }

  /** Whether merged.pdf was written. */
  get merged(): boolean {
    return this.#merged;
  }

  /** A record that failed. */
  failed(entry: ManifestEntry): void {
    this.#failed++;
    this.#finished(entry);
  }

  /** The batch stops at `error`; true if it is the first to stop it. */
  stop(error: Error): boolean {
    if (this.#firstFailure) return false;
    this.#firstFailure = error;
    return true;
  }

  /** The progress event of now. */
  progress(mode: RendererMode): Progress {
    const done = this.#entries.size;
    const { total } = this.#info;
    const elapsedMs = performance.now() - this.#started;
    // The rate counts from when the renderer was ready, so warm-up does not
    // skew the ETA.
    const rate = done / Math.max((elapsedMs - this.#startupMs) / 1000, 1e-3);
    return {
      done,
      total,
      failed: this.#failed,
      skipped: this.#skipped,
      overset: this.#overset,
      mode,
      ...(this.#info.pdfMode && { pdfMode: this.#info.pdfMode }),
      rate,
      elapsedMs,
      etaMs: rate > 0 ? ((total - done) / rate) * 1000 : 0,
    };
  }

  /** The result of now; records not finished are listed as not rendered. */
  result(mode: RendererMode): BatchResult {
    const info = this.#info;
    const ms = performance.now() - this.#started;
    const first = info.first ?? 1;
    const records = Array.from(
      { length: info.total },
      (_, i) =>
        this.#entries.get(first + i) ??
          { index: first + i, status: "not-rendered" as const },
    );
    const rendered = records.filter((r) => r.status === "ok").length;
    return {
      total: info.total,
      rendered,
      failed: this.#failed,
      skipped: this.#skipped,
      overset: this.#overset,
      ms,
      mode,
      ...(info.pdfMode && { pdfMode: info.pdfMode }),
      startupMs: this.#startupMs,
      firstPieceMs: this.#firstPieceMs,
      stages: this.stages,
      out: info.out,
      manifest: {
        template: info.template,
        data: info.data,
        format: info.format,
        pdfMode: info.pdfMode,
        total: info.total,
        rendered,
        failed: this.#failed,
        skipped: this.#skipped || undefined,
        overset: this.#overset || undefined,
        merged: this.#merged ? "merged.pdf" : undefined,
        proof: this.#proof ? "proof.pdf" : undefined,
        imposed: this.#imposed ? "imposed.pdf" : undefined,
        startedAt: this.#startedAt.toISOString(),
        ms: Math.round(ms),
        records,
      },
    };
  }
}
