/**
 * `proof.pdf`: the records a person should look at before a batch goes to
 * press — the first five, and those most likely to come out wrong: the
 * longest value of each field the template uses (the longest name is the
 * one a fitted text shrinks most, or that overflows), the first record where
 * each such field is empty, and the records that failed, named on a last
 * page (see pdf/proof.ts for the page).
 *
 * @module
 */
import { join } from "node:path";
import { proofPdf } from "../pdf/proof.ts";
import type { Template } from "../template/parse.ts";
import type { CsvRecord } from "./csv.ts";
import type { ManifestEntry } from "./manifest.ts";
import { writeFileAtomic } from "./output.ts";

/** The proof file's name in the output folder. */
export const PROOF = "proof.pdf";

/** The first records always on the proof. */
const FIRST = 5;

/**
 * Why each record is on the proof, by record number, in record order: the
 * first {@linkcode FIRST}, the longest value of each of `fields`, the first
 * empty value of each.
 */
export async function proofChoices(
  records: AsyncIterable<CsvRecord>,
  fields: readonly string[],
): Promise<Map<number, string[]>> {
  const why = new Map<number, string[]>();
  const add = (index: number, reason: string) =>
    why.set(index, [...(why.get(index) ?? []), reason]);
  const longest = new Map<string, { index: number; length: number }>();
  const empty = new Map<string, number>();
  for await (const { index, values } of records) {
    if (index <= FIRST) add(index, `one of the first ${FIRST}`);
    for (const field of fields) {
      const value = values[field] ?? "";
      const length = [...value.trim()].length;
      if (length === 0) {
        if (!empty.has(field)) empty.set(field, index);
        continue;
      }
      if (length > (longest.get(field)?.length ?? 0)) {
        longest.set(field, { index, length });
      }
    }
  }
  for (const [field, { index, length }] of longest) {
    add(
      index,
      `the longest ${field} (${length} character${length === 1 ? "" : "s"})`,
    );
  }
  for (const [field, index] of empty) add(index, `${field} empty`);
  return new Map([...why].sort(([a], [b]) => a - b));
}

/**
 * Writes `proof.pdf` in `out` (temp + rename): the chosen records that
 * rendered, each captioned, then the failed records. Returns the number of
 * pieces on it; none (and no file) when nothing rendered or failed.
 */
export async function writeProof(
  out: string,
  template: Template,
  choices: Map<number, string[]>,
  entries: ManifestEntry[],
  options: { beforeRename?: () => Promise<void> } = {},
): Promise<number> {
  const byIndex = new Map(entries.map((e) => [e.index, e]));
  const pieces = [];
  for (const [index, reasons] of choices) {
    const entry = byIndex.get(index);
    if (entry?.status !== "ok" || !entry.file) continue;
    pieces.push({
      pdf: await Deno.readFile(join(out, entry.file)),
      caption: `Record ${index}${entry.line ? ` (line ${entry.line})` : ""}: ${
        reasons.join("; ")
      }`,
    });
  }
  const failed = entries.filter((e) => e.status === "failed").map((e) => ({
    index: e.index,
    line: e.line,
    error: e.error ?? "failed",
  }));
  if (pieces.length === 0 && failed.length === 0) return 0;
  const bytes = await proofPdf(pieces, failed, template.geometry, {
    title: template.name,
  });
  await writeFileAtomic(out, PROOF, bytes, options);
  return pieces.length;
}
