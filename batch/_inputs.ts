/**
 * A batch's inputs, checked before anything renders — the template, the
 * CSV read once to the end, the preflight of its columns, the page spec —
 * and the feed of its records while it runs.
 *
 * @module
 */
import { join } from "node:path";
import { AssetResolver } from "../template/assets.ts";
import { type PageSpec, pageSpec } from "../template/page_spec.ts";
import { loadTemplate, type Template } from "../template/parse.ts";
import { preflight } from "../template/preflight.ts";
import {
  checkVectorExport,
  vectorWarnings,
} from "../template/vector_preflight.ts";
import type { Logger } from "../render/log.ts";
import type { PdfMode } from "../render/renderer.ts";
import { type CsvRecord, type Delimiter, readCsv, scanCsv } from "./csv.ts";
import type { BatchOptions } from "./run.ts";

/** What a batch renders from, every part checked. */
export interface BatchInputs {
  template: Template;
  assets: AssetResolver;
  spec: PageSpec;
  /** Records to render: the CSV's, or `limit` if fewer. */
  total: number;
}

/**
 * Loads and checks the inputs of a batch, then makes the output folder
 * (removing the temporary files an interrupted run left there). Throws the
 * input errors (template, CSV, missing columns, in vector mode a template
 * Fabric cannot export to SVG as drawn) before anything is written; logs
 * what a vector print will not keep as vector.
 */
export async function prepareInputs(
  options: BatchOptions,
  { pdfMode, log }: { pdfMode: PdfMode; log: Logger },
): Promise<BatchInputs> {
  const template = typeof options.template === "string"
    ? await loadTemplate(options.template)
    : options.template;
  if (pdfMode === "vector") {
    checkVectorExport(template);
    for (const warning of vectorWarnings(template)) log("warn", warning);
  }
  const csv = await scanCsv(options.data, {
    delimiter: options.delimiter,
    signal: options.signal,
  });
  preflight(template, csv.headers, options.data);
  const total = Math.min(csv.count, options.limit ?? Infinity);
  const assets = new AssetResolver(template.baseDir, options.assets);
  const spec = await pageSpec(template, assets);
  await Deno.mkdir(options.out, { recursive: true });
  await removeLeftovers(options.out);
  return { template, assets, spec, total };
}

/** Options for {@linkcode recordFeed}. */
export interface FeedOptions {
  delimiter?: Delimiter;
  /** Gives at most this many records. */
  total: number;
  /** Aborted: no further record is read, and a read in progress stops. */
  signal?: AbortSignal;
  /** Aborted: no further record is given (the batch stops taking work). */
  stop: AbortSignal;
}

/**
 * The records of `path`, one at a time, as long as fewer than `total` were
 * given and `stop` has not aborted — checked each time one is asked for, so
 * a loop that asks only when it has room stops taking records at once.
 * Closes the file when it ends or is left.
 */
export async function* recordFeed(
  path: string,
  options: FeedOptions,
): AsyncGenerator<CsvRecord, void, undefined> {
  const records = readCsv(path, {
    delimiter: options.delimiter,
    signal: options.signal,
  });
  try {
    for (let taken = 0; taken < options.total && !options.stop.aborted;) {
      const next = await records.next();
      if (next.done) return;
      taken++;
      yield next.value;
    }
  } finally {
    await records.return(undefined);
  }
}

/** Removes temporary files an interrupted earlier run left in `dir`. */
async function removeLeftovers(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && /^\..+\.[0-9a-f]{8}\.tmp$/.test(entry.name)) {
      await Deno.remove(join(dir, entry.name)).catch(() => {});
    }
  }
}
