/**
 * The variants the OffscreenCanvas bench compares, and the config names that
 * pick them: `"<variant> p<pages>[w<workers>]"`, e.g. `"b-copy p1w2"`.
 *
 * @module
 */
import { UsageError } from "../../common/errors.ts";

/**
 * - `today`: the product's path — one `evaluate` per record on a
 *   `RenderPage`; the page paints on its DOM canvas, `toBlob`s and POSTs; a
 *   lane waits for the bytes, the PDF and the write before its next record.
 * - `pull` (c): the page pulls records over HTTP and renders each with
 *   render.js; no `evaluate` per record.
 * - `b-copy` (b): the page paints, copies its canvas into an ImageBitmap and
 *   hands it to one of W encoder workers, which encode and POST.
 * - `a` (a): Fabric and render.js in W workers per page, on OffscreenCanvas;
 *   the page forwards each record to a free worker.
 * - `a+c`: (a) with each worker pulling its own records.
 */
export type Variant = "today" | "pull" | "b-copy" | "a" | "a+c";

/** One configuration: a variant with its pages and workers per page. */
export interface Config {
  name: string;
  variant: Variant;
  pages: number;
  /** Encoder workers (b) or Fabric workers (a) per page; 0 for none. */
  workers: number;
}

const VARIANTS: readonly Variant[] = ["today", "pull", "b-copy", "a", "a+c"];
const WITH_WORKERS: readonly Variant[] = ["b-copy", "a", "a+c"];

/** The configs run when none are named. */
export const DEFAULT_CONFIGS = [
  "today p2",
  "pull p2",
  "b-copy p1w2",
  "b-copy p2w1",
  "a p1w2",
  "a+c p1w2",
];

/** Parses a config name; throws a {@linkcode UsageError} naming it. */
export function parseConfig(name: string): Config {
  const match = /^(\S+) p(\d+)(?:w(\d+))?$/.exec(name.trim());
  const variant = match?.[1] as Variant | undefined;
  const pages = Number(match?.[2]);
  const workers = Number(match?.[3] ?? 0);
  if (!variant || !VARIANTS.includes(variant) || !(pages >= 1)) {
    throw new UsageError(
      `Cannot read config "${name}": expected "<${
        VARIANTS.join("|")
      }> p<pages>[w<workers>]"`,
    );
  }
  if (WITH_WORKERS.includes(variant) !== workers >= 1) {
    throw new UsageError(
      `Cannot read config "${name}": ${
        WITH_WORKERS.includes(variant)
          ? "workers per page (w<N>) are missing"
          : `${variant} has no workers`
      }`,
    );
  }
  return { name: name.trim(), variant, pages, workers };
}

/**
 * Pieces a config holds in Chromium at once, for memory per piece: one per
 * page, one per Fabric worker, one painting plus one per encoder worker.
 */
export function piecesInFlight({ variant, pages, workers }: Config): number {
  if (variant === "a" || variant === "a+c") return pages * workers;
  if (variant === "b-copy") return pages * (workers + 1);
  return pages;
}
