/**
 * The merged PDF of a batch: every piece in record order, written to a
 * temporary file as the pieces come and renamed to `merged.pdf` at the end.
 * One path for every piece: a vector piece's PDF, a raster piece's, or a
 * piece kept from an earlier run (read back and checked). Objects the pieces
 * share (the font subsets and images of one print chunk, a background image)
 * are stored once ({@linkcode MergedChunks}). A piece that cannot be merged
 * is named in the error; the merged.pdf of an earlier run is removed when a
 * new one starts, so no stale file stands under the name.
 *
 * @module
 */
import { join } from "node:path";
import { PressrunError } from "../common/errors.ts";
import { MergedChunks } from "../pdf/chunks.ts";
import type { Template } from "../template/parse.ts";
import type { BatchLedger } from "./_ledger.ts";
import type { MergePage } from "./_record.ts";
import { randomTag, writingTo } from "./_disk.ts";

const MERGED = "merged.pdf";

/** `merged.pdf`, built as the records' pages come, in record order. */
export class MergedOutput implements AsyncDisposable {
  #merged: MergedChunks;
  #file: Deno.FsFile | undefined;
  #dir: string;
  #tmp: string;
  #ledger: BatchLedger;
  #gap = false;
  /** finish() renamed the file (or close() removed it). */
  #renamed = false;
  #recordKeys: string[];

  private constructor(
    dir: string,
    tmp: string,
    file: Deno.FsFile,
    options: { template: Template; ledger: BatchLedger; recordKeys: string[] },
  ) {
    this.#dir = dir;
    this.#tmp = tmp;
    this.#file = file;
    this.#ledger = options.ledger;
    this.#recordKeys = options.recordKeys;
    // PDF/VT's record structure: a document part per record, with its
    // number and the fields of `recordKeys` (the file is not PDF/X-4, so it
    // is not marked PDF/VT-1).
    this.#merged = new MergedChunks(options.template.geometry, {
      title: options.template.name,
      records: true,
    });
  }

  /**
   * Removes the merged.pdf of an earlier run, and opens the temporary file
   * in `out` (named so that a later run removes it if this one is killed).
   * `fence` is called before anything under a final name changes.
   */
  static async open(
    out: string,
    template: Template,
    options: {
      ledger: BatchLedger;
      fence?: () => Promise<void>;
      /** Fields kept in each record's document part. @default none */
      recordKeys?: string[];
    },
  ): Promise<MergedOutput> {
    await options.fence?.();
    await Deno.remove(join(out, MERGED)).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    const tmp = join(out, `.${MERGED}.${randomTag()}.tmp`);
    const file = await writingTo(
      out,
      MERGED,
      () => Deno.open(tmp, { write: true, createNew: true }),
    );
    return new MergedOutput(out, tmp, file, {
      template,
      ledger: options.ledger,
      recordKeys: options.recordKeys ?? [],
    });
  }

  /** Pages added so far. */
  get pageCount(): number {
    return this.#merged.pageCount;
  }

  /**
   * Adds the next record's page. A record that was not rendered (the batch
   * was aborted) leaves a gap: no later page is added after it.
   */
  async add(page: MergePage): Promise<void> {
    if (page === undefined) {
      this.#gap = true;
      return;
    }
    if (this.#gap || page === null) return;
    const t0 = performance.now();
    let bytes: Uint8Array;
    try {
      const { index, values } = page.record;
      bytes = await this.#merged.add(page.pdf, [{
        index,
        fields: Object.fromEntries(
          this.#recordKeys.map((key) => [key, values[key] ?? ""]),
        ),
      }]);
    } catch (error) {
      throw new PressrunError(
        `Cannot add ${page.file} to ${MERGED}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    await this.#write(bytes);
    this.#ledger.spent({ merge: performance.now() - t0 });
  }

  /**
   * Writes the end of the file and renames it to `merged.pdf`; `fence` is
   * called right before the rename.
   */
  async finish(
    fence?: () => Promise<void>,
    prepare?: (path: string) => Promise<void>,
  ): Promise<void> {
    await this.#write(this.#merged.end());
    await writingTo(this.#dir, MERGED, () => this.#file!.sync());
    this.#file?.close();
    this.#file = undefined;
    // The whole file, before it takes its name (PDF/X's identity).
    await prepare?.(this.#tmp);
    await fence?.();
    await Deno.rename(this.#tmp, join(this.#dir, MERGED));
    this.#renamed = true;
  }

  /** Closes and removes the temporary file unless `finish()` renamed it. Safe twice. */
  async close(): Promise<void> {
    this.#file?.close();
    this.#file = undefined;
    if (this.#renamed) return;
    this.#renamed = true; // nothing left to remove the second time
    await Deno.remove(this.#tmp).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #write(bytes: Uint8Array): Promise<void> {
    const file = this.#file;
    if (!file) throw new Error(`Cannot write ${MERGED}: it is closed`);
    await writingTo(this.#dir, MERGED, async () => {
      for (let written = 0; written < bytes.length;) {
        written += await file.write(bytes.subarray(written));
      }
    });
  }
}
