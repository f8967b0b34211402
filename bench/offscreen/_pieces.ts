/**
 * The Deno side of each piece, as in the product: the PNG wrapped into its
 * one-page PDF and written atomically; plus the bench's own check that the
 * bytes (or at least the pixels) are today's.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { PNG } from "pngjs";
import { sha256, writeFileAtomic } from "../../batch/output.ts";
import { PressrunError } from "../../common/errors.ts";
import { piecePdf } from "../../pdf/writer.ts";
import type { Browser } from "../../render/browser.ts";
import { RenderPage } from "../../render/render_page.ts";
import type { Template } from "../../template/parse.ts";
import type { PageSpec, PiecePayload } from "./api.ts";

/** One record to render. */
export interface Job {
  /** 1-based record number. */
  index: number;
  payload: PiecePayload;
}

/** Today's PNG of every record: the yardstick for identity. */
export interface Reference {
  /** SHA-256 of each record's PNG, by record number. */
  shas: Map<number, string>;
  /** The folder holding `<index>.png`. */
  dir: string;
}

/** Differing pieces whose pixels are compared, per run. */
const PIXEL_CHECKS = 10;

/** PNG colour type 6: RGBA, which the PDF writer refuses to embed. */
const RGBA = 6;

/**
 * Renders every job once through today's path (one `RenderPage`) and keeps
 * the PNGs in `dir`: not timed.
 */
export async function renderReference(
  browser: Browser,
  spec: PageSpec,
  { jobs, dir }: { jobs: Job[]; dir: string },
): Promise<Reference> {
  await using page = await RenderPage.open(browser, spec);
  const shas = new Map<number, string>();
  for (const job of jobs) {
    const { image } = await page.render(job.payload);
    await Deno.writeFile(join(dir, `${job.index}.png`), image.bytes);
    shas.set(job.index, await sha256(image.bytes));
  }
  return { shas, dir };
}

/** Options for {@linkcode PieceLedger}. */
export interface LedgerOptions {
  /** Where the pieces are written. */
  out: string;
  template: Template;
  reference: Reference;
}

/** How a run's pieces compare with today's. */
export interface Identity {
  written: number;
  /** Pieces byte-identical to today's PNG. */
  identical: number;
  /** Pieces that came back RGBA, written as PNG (no PDF). */
  rgba: number;
  /** Of the differing pieces, how many were decoded and compared. */
  pixelsChecked: number;
  /** Of those, how many have exactly today's pixels. */
  pixelsIdentical: number;
}

/**
 * Takes a run's pieces: the product's work on each (PDF, atomic write) and
 * the comparison with today's bytes. Pieces come in by upload token
 * ({@linkcode PieceLedger.expect}, {@linkcode PieceLedger.receive}) or
 * directly ({@linkcode PieceLedger.write}).
 */
export class PieceLedger {
  #options: LedgerOptions;
  #waiting = new Map<
    string,
    { index: number; done: PromiseWithResolvers<void> }
  >();
  #written = 0;
  #identical = 0;
  #rgba = 0;
  #differing: { index: number; bytes: Uint8Array }[] = [];

  constructor(options: LedgerOptions) {
    this.#options = options;
  }

  /**
   * A token for record `index`'s upload, and a promise that settles once the
   * piece is written (rejects if a worker posted an error instead).
   */
  expect(index: number): { token: string; written: Promise<void> } {
    const token = crypto.randomUUID();
    const done = Promise.withResolvers<void>();
    // Awaited by the run; handled here so a failed run leaves none unhandled.
    done.promise.catch(() => {});
    this.#waiting.set(token, { index, done });
    return { token, written: done.promise };
  }

  /** Takes what was posted under `token`: the PNG, or a worker's error. */
  receive(token: string, body: Uint8Array | Error): void {
    const waiting = this.#waiting.get(token);
    if (!waiting) return;
    this.#waiting.delete(token);
    const { index, done } = waiting;
    if (body instanceof Error) {
      done.reject(
        new PressrunError(`Cannot render record ${index}: ${body.message}`),
      );
    } else this.write(index, body).then(done.resolve, done.reject);
  }

  /**
   * What the product does with a piece — its PDF, written atomically — and
   * the comparison with today's bytes. An RGBA PNG cannot go into the PDF
   * without re-encoding: it is written as PNG, and counted.
   */
  async write(index: number, png: Uint8Array): Promise<void> {
    const { out, template, reference } = this.#options;
    const { pixelWidth: width, pixelHeight: height } = template.geometry;
    if (png[25] === RGBA) {
      this.#rgba++;
      await writeFileAtomic(out, `${index}.png`, png);
    } else {
      const pdf = await piecePdf(
        { format: "png", bytes: png, width, height },
        template.geometry,
        { title: `${template.name} — record ${index}` },
      );
      await writeFileAtomic(out, `${index}.pdf`, pdf);
    }
    if (await sha256(png) === reference.shas.get(index)) this.#identical++;
    else if (this.#differing.length < PIXEL_CHECKS) {
      this.#differing.push({ index, bytes: png });
    }
    this.#written++;
  }

  /** Forgets the pieces so far (the warm-up). */
  reset(): void {
    this.#written = this.#identical = this.#rgba = 0;
    this.#differing = [];
  }

  /** The comparison with today's pieces; decodes up to 10 differing ones. */
  async identity(): Promise<Identity> {
    let pixelsIdentical = 0;
    for (const { index, bytes } of this.#differing) {
      const ours = PNG.sync.read(Buffer.from(bytes));
      const path = join(this.#options.reference.dir, `${index}.png`);
      const today = PNG.sync.read(Buffer.from(await Deno.readFile(path)));
      if (
        ours.width === today.width && ours.height === today.height &&
        Buffer.compare(ours.data, today.data) === 0
      ) pixelsIdentical++;
    }
    return {
      written: this.#written,
      identical: this.#identical,
      rgba: this.#rgba,
      pixelsChecked: this.#differing.length,
      pixelsIdentical,
    };
  }
}
