/**
 * The running account of a batch: what each record came to, the time spent
 * per stage, the first failure, and from those the progress events and the
 * result (with its manifest).
 *
 * @module
 */
import type { RendererMode } from "../render/renderer.ts";
import type { Manifest, ManifestEntry } from "./manifest.ts";

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

/** What the batch is, for the manifest; fixed for its run. */
export interface LedgerInfo {
  /** Records the batch renders. */
  total: number;
  /** The template's source and the data file, as the manifest names them. */
  template: string;
  data: string;
  format: string;
  out: string;
  /** Whether a merged PDF was asked for. */
  merge: boolean;
}

/** The account of one batch; created when its records start. */
export class BatchLedger {
  readonly stages: StageTotals = {
    prepare: 0,
    apply: 0,
    paint: 0,
    encode: 0,
    serialize: 0,
    transfer: 0,
    pdf: 0,
    write: 0,
  };
  #info: LedgerInfo;
  #entries = new Map<number, ManifestEntry>();
  #failed = 0;
  #firstFailure: Error | undefined;
  #startedAt = new Date();
  #started = performance.now();
  #startupMs = 0;
  #firstPieceMs = 0;

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
    this.#entries.set(entry.index, entry);
  }

  /** A record rendered and written, with the ms of each stage it took. */
  rendered(entry: ManifestEntry, stages: Partial<StageTotals>): void {
    for (const [stage, ms] of Object.entries(stages)) {
      this.stages[stage as keyof StageTotals] += ms;
    }
    this.#firstPieceMs ||= performance.now() - this.#started;
    this.#entries.set(entry.index, entry);
  }

  /** A record that failed. */
  failed(entry: ManifestEntry): void {
    this.#failed++;
    this.#entries.set(entry.index, entry);
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
      mode,
      rate,
      elapsedMs,
      etaMs: rate > 0 ? ((total - done) / rate) * 1000 : 0,
    };
  }

  /** The result of now; records not finished are listed as not rendered. */
  result(mode: RendererMode): BatchResult {
    const info = this.#info;
    const ms = performance.now() - this.#started;
    const records = Array.from(
      { length: info.total },
      (_, i) =>
        this.#entries.get(i + 1) ??
          { index: i + 1, status: "not-rendered" as const },
    );
    const rendered = records.filter((r) => r.status === "ok").length;
    return {
      total: info.total,
      rendered,
      failed: this.#failed,
      ms,
      mode,
      startupMs: this.#startupMs,
      firstPieceMs: this.#firstPieceMs,
      stages: this.stages,
      out: info.out,
      manifest: {
        template: info.template,
        data: info.data,
        format: info.format,
        total: info.total,
        rendered,
        failed: this.#failed,
        merged: info.merge && !this.#firstFailure ? "merged.pdf" : undefined,
        startedAt: this.#startedAt.toISOString(),
        ms: Math.round(ms),
        records,
      },
    };
  }
}
