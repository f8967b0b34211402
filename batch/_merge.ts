/**
 * The merged PDF of a batch: every piece in record order, written to a
 * temporary file as the pieces come and renamed to `merged.pdf` at the end.
 * One path for every piece: a vector piece's PDF, a raster piece's, or a
 * piece kept from an earlier run read back from its file. Objects the pieces
 * share (the font subsets and images of one print chunk, a background image)
 * are stored once ({@linkcode MergedChunks}).
 *
 * @module
 */
import { join } from "node:path";
import { MergedChunks } from "../pdf/chunks.ts";
import type { Template } from "../template/parse.ts";
import type { BatchLedger } from "./_ledger.ts";
import type { MergePage } from "./_record.ts";

/** `merged.pdf`, built as the records' pages come, in record order. */
export class MergedOutput implements AsyncDisposable {
  #merged: MergedChunks;
  #file: Deno.FsFile | undefined;
  #dir: string;
  #tmp: string;
  #ledger: BatchLedger;
  #gap = false;

  private constructor(
    dir: string,
    tmp: string,
    file: Deno.FsFile,
    options: { template: Template; ledger: BatchLedger },
  ) {
    this.#dir = dir;
    this.#tmp = tmp;
    this.#file = file;
    this.#ledger = options.ledger;
    this.#merged = new MergedChunks(options.template.geometry, {
      title: options.template.name,
    });
  }

  /**
   * Opens the temporary file in `out` (named so that a later run removes it
   * if this one is killed).
   */
  static async open(
    out: string,
    template: Template,
    ledger: BatchLedger,
  ): Promise<MergedOutput> {
    const tmp = join(out, `.merged.pdf.${crypto.randomUUID().slice(0, 8)}.tmp`);
    const file = await Deno.open(tmp, { write: true, createNew: true });
    return new MergedOutput(out, tmp, file, { template, ledger });
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
    const pdf = typeof page === "string" ? await Deno.readFile(page) : page;
    await this.#write(await this.#merged.add(pdf));
    this.#ledger.spent({ merge: performance.now() - t0 });
  }

  /** Writes the end of the file and renames it to `merged.pdf`. */
  async finish(): Promise<void> {
    await this.#write(this.#merged.end());
    this.#file?.close();
    this.#file = undefined;
    await Deno.rename(this.#tmp, join(this.#dir, "merged.pdf"));
  }

  /** Closes and removes the temporary file unless `finish()` renamed it. Safe twice. */
  async close(): Promise<void> {
    if (!this.#file) return;
    this.#file.close();
    this.#file = undefined;
    await Deno.remove(this.#tmp).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #write(bytes: Uint8Array): Promise<void> {
    const file = this.#file;
    if (!file) throw new Error("Cannot write merged.pdf: it is closed");
    for (let written = 0; written < bytes.length;) {
      written += await file.write(bytes.subarray(written));
    }
  }
}
