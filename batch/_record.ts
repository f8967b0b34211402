/**
 * One record of a batch, start to finish: kept from an earlier run, or
 * rendered and written, or failed — and then the `onError` policy (`fail`
 * stops the batch taking records, `skip` goes on), the ledger, `onRecord`
 * and a progress event. (A tab that fails is retried by the renderer itself,
 * on a fresh tab, before the record counts as failed.) A record with an
 * overset text (template/overset.ts) is written with a warning, failed or
 * skipped, as `onOverset` says.
 *
 * @module
 */
import { DiskFullError, LeaseLostError } from "../common/errors.ts";
import type { Logger } from "../render/log.ts";
import type { RenderedPiece } from "../render/render_page.ts";
import type { Renderer } from "../render/renderer.ts";
import type { AssetResolver } from "../template/assets.ts";
import { piecePayload, RecordError } from "../template/payload.ts";
import {
  describeOverset,
  OversetError,
  oversetTexts,
} from "../template/overset.ts";
import type { OversetInfo } from "../render/page_api.ts";
import type { CsvRecord } from "./csv.ts";
import type { BatchLedger } from "./_ledger.ts";
import type { ManifestEntry } from "./manifest.ts";
import { type PieceOutput, writePiece } from "./_piece.ts";
import { checkPiece } from "./piece_check.ts";
import type { BatchOptions } from "./run.ts";

/**
 * What a record adds to the merged PDF: its piece's one-page PDF (rendered
 * now, or kept from an earlier run and checked) and its file name, or null
 * for no page (failed, or not a PDF); undefined when it was not rendered
 * because the batch was aborted.
 */
export type MergePage =
  | { file: string; pdf: Uint8Array; record: CsvRecord }
  | null
  | undefined;

/** What {@linkcode RecordRunner} works with; fixed for a batch. */
export interface RecordJob {
  output: PieceOutput;
  assets: AssetResolver;
  renderer: Renderer;
  ledger: BatchLedger;
  /** Aborted on the first failure when `onError` is "fail". */
  stop: AbortController;
  log: Logger;
  options: Pick<
    BatchOptions,
    | "onError"
    | "onOverset"
    | "resume"
    | "keepFailed"
    | "onRecord"
    | "onProgress"
    | "signal"
  >;
}

/** Runs the records of one batch, each on its own. */
export class RecordRunner {
  #job: RecordJob;
  /** The last report handed out; the next one waits for it. */
  #reported: Promise<void> = Promise.resolve();

  constructor(job: RecordJob) {
    this.#job = job;
  }

  /**
   * Keeps, renders or fails `record`; its page for the merged PDF. A piece
   * of an earlier run is kept only if its file still matches its entry
   * (size and SHA-256); one that does not is logged and rendered again.
   * With `keepFailed`, one that failed stays failed.
   */
  async run(record: CsvRecord): Promise<MergePage> {
    const kept = this.#job.options.resume?.get(record.index);
    if (
      this.#job.options.keepFailed &&
      (kept?.status === "failed" || kept?.status === "skipped")
    ) {
      if (kept.status === "failed") this.#job.ledger.failed(kept);
      else this.#job.ledger.skipped(kept);
      await this.#told(kept);
      return null;
    }
    if (kept?.status === "ok" && kept.file) {
      const check = await checkPiece(this.#job.output.out, kept);
      if (check.ok) return await this.#keep(kept, check.bytes, record);
      this.#job.log(
        "warn",
        `Record ${record.index}: ${check.problem}; rendering it again`,
        { record: record.index, file: kept.file },
      );
    }
    return await this.#render(record);
  }

  async #keep(
    kept: ManifestEntry,
    bytes: Uint8Array,
    record: CsvRecord,
  ): Promise<MergePage> {
    const { ledger, output } = this.#job;
    ledger.kept(kept);
    await this.#told(kept);
    return output.format === "pdf"
      ? { file: kept.file!, pdf: bytes, record }
      : null;
  }

  async #render(record: CsvRecord): Promise<MergePage> {
    const { renderer, ledger, output, options } = this.#job;
    const t0 = performance.now();
    const entry: ManifestEntry = {
      index: record.index,
      line: record.line,
      status: "ok",
    };
    let piece: RenderedPiece | undefined;
    let page: MergePage = null;
    try {
      const payload = await piecePayload(
        output.template,
        record,
        this.#job.assets,
      );
      const t1 = performance.now();
      const drawn = await renderer.render(payload, options.signal);
      entry.mode = renderer.mode;
      if (drawn.overset?.length && this.#overset(entry, drawn.overset)) {
        entry.ms = Math.round(performance.now() - t0);
      } else {
        piece = drawn;
        const written = await writePiece(piece, record, output);
        if (written.kind) entry.kind = written.kind;
        entry.file = written.file;
        entry.bytes = written.bytes;
        entry.sha256 = written.sha256;
        entry.ms = Math.round(performance.now() - t0);
        ledger.rendered(entry, {
          prepare: t1 - t0,
          ...piece.timings,
          pdf: written.pdfMs,
          write: written.writeMs,
        });
        page = written.pdf
          ? { file: written.file, pdf: written.pdf, record }
          : null;
      }
    } catch (error) {
      if (options.signal?.aborted) return undefined; // listed as not rendered
      // Not the record's fault: the batch stops (the record is listed as not
      // rendered), whatever `onError` says.
      if (error instanceof DiskFullError || error instanceof LeaseLostError) {
        throw error;
      }
      this.#fail(entry, record, error as Error);
      entry.ms = Math.round(performance.now() - t0);
    }
    await this.#told(entry, piece);
    return page;
  }

  /**
   * Applies `onOverset` to a record drawn with overset texts, which its
   * entry then lists: `warn` logs them (the record is written), `fail`
   * throws an {@linkcode OversetError}, `skip` marks the record skipped.
   * Returns whether it is skipped.
   */
  #overset(entry: ManifestEntry, overset: readonly OversetInfo[]): boolean {
    const { index } = entry;
    const texts = oversetTexts(this.#job.output.template, overset);
    entry.overset = texts;
    const policy = this.#job.options.onOverset ?? "warn";
    if (policy === "fail") throw new OversetError(index, texts);
    const described = texts.map(describeOverset).join("; ");
    const fields = { record: index, field: texts[0]?.fields[0] };
    if (policy === "warn") {
      this.#job.log(
        "warn",
        `Record ${index}: ${described}; written overset`,
        fields,
      );
      return false;
    }
    entry.status = "skipped";
    this.#job.ledger.skipped(entry);
    this.#job.log("warn", `Record ${index} skipped: ${described}`, fields);
    return true;
  }

  /** Records the failure; with `onError: "fail"` the batch stops at it. */
  #fail(entry: ManifestEntry, record: CsvRecord, error: Error): void {
    const { ledger, stop, log, options } = this.#job;
    entry.status = "failed";
    entry.error = error instanceof RecordError
      ? error.message
      : `Cannot render record ${record.index}: ${error.message}`;
    ledger.failed(entry);
    log("error", entry.error, {
      record: record.index,
      ...(error instanceof OversetError &&
        { field: error.texts[0]?.fields[0] }),
    });
    if ((options.onError ?? "fail") === "fail" && ledger.stop(error)) {
      stop.abort(error);
    }
  }

  /**
   * Tells the caller of a finished record, then of the progress as it stood
   * when this record finished. Records finish concurrently: the reports go
   * out one at a time in the order the records finished, so `done` counts up
   * by one from event to event.
   */
  #told(entry: ManifestEntry, piece?: RenderedPiece): Promise<void> {
    const { renderer, ledger, options } = this.#job;
    const progress = ledger.progress(renderer.mode);
    const turn = this.#reported.then(async () => {
      await options.onRecord?.(entry, piece);
      options.onProgress?.(progress);
    });
    this.#reported = turn.catch(() => {});
    return turn;
  }
}
