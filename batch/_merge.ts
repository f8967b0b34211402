/**
 * The merged PDF of a batch: every piece in record order, the pages of
 * pieces kept from an earlier run read back from their files.
 *
 * @module
 */
import { MergedPdf } from "../pdf/writer.ts";
import type { Template } from "../template/parse.ts";
import { writeFileAtomic } from "./output.ts";
import type { MergePage } from "./_record.ts";

/** `merged.pdf`, built as the records' pages come, in record order. */
export class MergedOutput {
  #pdf: MergedPdf;
  #gap = false;

  constructor(template: Template) {
    this.#pdf = new MergedPdf(template.geometry, { title: template.name });
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
    if (typeof page === "string") {
      await this.#pdf.addPdf(await Deno.readFile(page));
    } else await this.#pdf.add(page);
  }

  /** Writes `out/merged.pdf`. */
  async write(out: string): Promise<void> {
    await writeFileAtomic(out, "merged.pdf", await this.#pdf.save());
  }
}
