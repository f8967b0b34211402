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
import { preflight, preflightRecordKeys } from "../template/preflight.ts";
import {
  checkVectorExport,
  vectorWarnings,
} from "../template/vector_preflight.ts";
import { openTypeCffFonts, syntheticBoldFallbacks } from "../template/fonts.ts";
import type { Logger } from "../render/log.ts";
import type { PdfMode } from "../render/renderer.ts";
import type { CsvRecord } from "./csv.ts";
import { LABELS } from "./encoding.ts";
import {
  readRecipients,
  type RecipientsInfo,
  type RecipientsOptions,
  scanRecipients,
} from "./recipients.ts";
import type { BatchOptions } from "./run.ts";
import { writingTo } from "./_disk.ts";

/** What a batch renders from, every part checked. */
export interface BatchInputs {
  template: Template;
  assets: AssetResolver;
  spec: PageSpec;
  /** Records to render: the CSV's, or `limit` if fewer. */
  total: number;
}

/**
 * Loads and checks the inputs of a batch. Throws the
 * input errors (template, CSV, missing columns, in vector mode a template
 * Fabric cannot export to SVG as drawn) before anything is written; logs
 * what a vector print will not keep as vector. A part of a batch (a queue
 * chunk) has its records checked already: only its template is.
 */
export async function prepareInputs(
  options: BatchOptions,
  { pdfMode, log }: { pdfMode: PdfMode; log: Logger },
): Promise<BatchInputs> {
  const template = typeof options.template === "string"
    ? await loadTemplate(options.template, { page: options.page })
    : options.template;
  if (pdfMode === "vector") {
    checkVectorExport(template);
    if (!options.part) {
      for (const warning of vectorWarnings(template)) log("warn", warning);
    }
  }
  if (options.part) {
    const assets = new AssetResolver(template.baseDir, options.assets);
    const spec = await pageSpec(template, assets);
    return { template, assets, spec, total: options.part.total };
  }
  const csv = await scanRecipients(options.data, {
    delimiter: options.delimiter,
    encoding: options.encoding,
    sheet: options.sheet,
    signal: options.signal,
  });
  log("info", describeRecipients(csv, options.data));
  if (csv.ignoredColumns > 0) {
    log(
      "info",
      `${options.data}: ${csv.ignoredColumns} column${
        csv.ignoredColumns === 1 ? "" : "s"
      } right of the table with no header and no values left out`,
    );
  }
  preflight(template, csv.headers, options.data);
  preflightRecordKeys(
    options.recordKeys ?? [],
    csv.headers,
    options.data,
    "--record-key",
  );
  const total = Math.min(csv.count, options.limit ?? Infinity);
  const assets = new AssetResolver(template.baseDir, options.assets);
  const spec = await pageSpec(template, assets);
  if (pdfMode === "vector") {
    await warnOfCffFonts(template, assets, options, log);
  }
  return { template, assets, spec, total };
}

/**
 * Makes the output folder, removing the temporary files an interrupted
 * earlier run left there (unless `leftovers` is false: a part of a batch,
 * whose folder other workers write to at the same time); called once every
 * input and option is checked.
 */
export async function prepareOutputFolder(
  out: string,
  { leftovers = true }: { leftovers?: boolean } = {},
): Promise<void> {
  await writingTo(
    out,
    "the output folder",
    () => Deno.mkdir(out, { recursive: true }),
  );
  if (leftovers) await removeLeftovers(out);
}

/** Characters of the first records read for the characters they use. */
const TEXT_SAMPLE_CHARS = 1 << 20;

/**
 * Logs a warning naming the OpenType-CFF fonts the template or its records'
 * characters (the first MiB of the data) would print with: Chromium writes
 * them as Type 3 fonts, so those records print as raster pages.
 */
async function warnOfCffFonts(
  template: Template,
  assets: AssetResolver,
  options: BatchOptions,
  log: Logger,
): Promise<void> {
  const text = await textSample(options);
  const bold = await syntheticBoldFallbacks(template, assets, { text });
  if (bold.length > 0) {
    const named = bold.map((b) => `${b.family} (${b.script})`).join(", ");
    log(
      "warn",
      `${template.source}: bold text falls back to ${named} with no real bold face, which Chromium emboldens itself and prints as Type 3 (presses reject those): records that use ${
        bold.length === 1 ? "it" : "them"
      } print as raster pages`,
    );
  }
  const fonts = await openTypeCffFonts(template, assets, { text });
  if (fonts.length === 0) return;
  const named = fonts.map((f) => `${f.family} (${f.file})`).join(", ");
  log(
    "warn",
    `${template.source}: ${named} ${
      fonts.length === 1 ? "is an OpenType-CFF font" : "are OpenType-CFF fonts"
    }, which Chromium prints as Type 3 (presses reject those): records that use ${
      fonts.length === 1 ? "it" : "them"
    } print as raster pages`,
  );
}

/**
 * The text of the first records (about {@linkcode TEXT_SAMPLE_CHARS}
 * characters of values), read as the batch reads them: decoded, from the
 * right sheet.
 */
async function textSample(options: BatchOptions): Promise<string> {
  const parts: string[] = [];
  let length = 0;
  for await (
    const { values } of readRecipients(options.data, {
      delimiter: options.delimiter,
      encoding: options.encoding,
      sheet: options.sheet,
      signal: options.signal,
    })
  ) {
    for (const value of Object.values(values)) {
      parts.push(value);
      length += value.length;
    }
    if (length >= TEXT_SAMPLE_CHARS) break;
  }
  return parts.join(" ");
}

/** How a batch's recipient file was read, for the log. */
function describeRecipients(info: RecipientsInfo, path: string): string {
  if (info.kind === "xlsx") {
    return `${path}: sheet "${info.sheet}" of ${info.sheets.length}, ${info.count} records`;
  }
  const how = info.encodingBy === "bom"
    ? "its byte order mark"
    : info.encodingBy === "forced"
    ? "--encoding"
    : "its bytes";
  return `${path}: ${info.count} records, read as ${
    LABELS[info.encoding]
  } (from ${how})`;
}

/** Options for {@linkcode recordFeed}: how to read the file, and how much. */
export interface FeedOptions
  extends Pick<RecipientsOptions, "delimiter" | "encoding" | "sheet"> {
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
  const records = readRecipients(path, {
    delimiter: options.delimiter,
    encoding: options.encoding,
    sheet: options.sheet,
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

/**
 * The records of a part of a batch (a queue chunk), one at a time, until
 * `stop` aborts.
 */
export async function* partFeed(
  records: readonly CsvRecord[],
  stop: AbortSignal,
): AsyncGenerator<CsvRecord, void, undefined> {
  for (const record of records) {
    if (stop.aborted) return;
    yield record;
  }
}
