/**
 * A list preflight's overset check: records laid out in a pool of warm
 * render pages exactly as a render lays them out (same values, fonts and
 * copyfit), with nothing painted, encoded or exported — hundreds of records
 * per call, the pages side by side (`PersistentRenderer.layout()`). Only the texts and what shows are sent: images and
 * QR codes change no text's fit.
 *
 * ```ts ignore
 * await using layout = await layoutCheck({ concurrency: 2 });
 * const report = await preflightList({ template, data, layout: layout.check });
 * ```
 *
 * @module
 */
import { Browser, type LaunchOptions } from "../render/browser.ts";
import type { LayoutRecord, PiecePayload } from "../render/page_api.ts";
import { PersistentRenderer } from "../render/persistent.ts";
import {
  AssetResolver,
  type AssetResolverOptions,
} from "../template/assets.ts";
import { fieldsIn, substitute } from "../template/fields.ts";
import { shows } from "../template/payload.ts";
import { pageSpec } from "../template/page_spec.ts";
import type { Template } from "../template/parse.ts";
import type { CsvRecord } from "./csv.ts";
import type { LayoutCheck, ListProblem } from "./list_preflight.ts";

/** Options for {@linkcode layoutCheck}. */
export interface LayoutCheckOptions {
  /** Pages laying records out side by side. @default cores */
  concurrency?: number;
  /** A running browser (kept open), or how to launch one. */
  browser?: Browser | LaunchOptions;
  /** The asset policy for the template's fonts and images. */
  assets?: AssetResolverOptions;
  /** One layout call's deadline, ms. @default 60000 */
  timeoutMs?: number;
}

/** The pool of one template. */
interface Pool {
  template: Template;
  pool: PersistentRenderer;
}

/** Warm pages that lay out a list's records; close it when done. */
export class ListLayout implements AsyncDisposable {
  #browser: Browser;
  #ownBrowser: boolean;
  #options: LayoutCheckOptions;
  #pool: Pool | undefined;

  private constructor(
    browser: Browser,
    own: boolean,
    options: LayoutCheckOptions,
  ) {
    this.#browser = browser;
    this.#ownBrowser = own;
    this.#options = options;
  }

  /** Opens the browser (or takes the one given); pages open on first use. */
  static async open(options: LayoutCheckOptions = {}): Promise<ListLayout> {
    const given = options.browser instanceof Browser;
    const browser = given
      ? options.browser as Browser
      : await Browser.launch(options.browser as LaunchOptions | undefined);
    return new ListLayout(browser, !given, options);
  }

  /**
   * The overset texts of `records` by record: each names the object, the
   * field whose value is the longest in it, and what it was drawn with.
   */
  check: LayoutCheck = async (template, records) => {
    const pool = await this.#open(template);
    const laid = await pool.layout(
      records.map((r) => textPayload(template, r)),
    );
    const byIndex = new Map(records.map((r) => [r.index, r]));
    const out = new Map<
      number,
      Pick<ListProblem, "object" | "field" | "message">[]
    >();
    for (const one of laid) {
      const record = byIndex.get(one.index);
      if (!record || one.overset.length === 0) continue;
      out.set(
        one.index,
        one.overset.map((o) => oversetProblem(template, record, o)),
      );
    }
    return out;
  };

  /** The template's pool of pages, started once (a new template closes the old). */
  async #open(template: Template): Promise<PersistentRenderer> {
    if (this.#pool?.template === template) return this.#pool.pool;
    await this.#closePool();
    const assets = new AssetResolver(template.baseDir, this.#options.assets);
    const pool = await PersistentRenderer.start(
      this.#browser,
      await pageSpec(template, assets),
      {
        pages: this.#options.concurrency ?? navigator.hardwareConcurrency,
        renderTimeoutMs: this.#options.timeoutMs ?? 60_000,
      },
    );
    this.#pool = { template, pool };
    return pool;
  }

  async #closePool(): Promise<void> {
    const pool = this.#pool?.pool;
    this.#pool = undefined;
    await pool?.close();
  }

  /** Closes the pages, and the browser if it launched it. Safe twice. */
  async close(): Promise<void> {
    await this.#closePool();
    if (this.#ownBrowser) await this.#browser.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** {@linkcode ListLayout.open}. */
export function layoutCheck(
  options: LayoutCheckOptions = {},
): Promise<ListLayout> {
  return ListLayout.open(options);
}

/** A record's texts and what shows: the part of its payload a layout needs. */
function textPayload(template: Template, record: CsvRecord): PiecePayload {
  return {
    index: record.index,
    objects: template.variables.map((v) => {
      const visible = shows(v, record.values);
      return v.kind === "text"
        ? { id: v.id, visible, text: substitute(v.text!, record.values) }
        : { id: v.id, visible };
    }),
  };
}

/** An overset text as a problem: its object, its longest field, the sizes. */
function oversetProblem(
  template: Template,
  record: CsvRecord,
  o: LayoutRecord["overset"][number],
): Pick<ListProblem, "object" | "field" | "message"> {
  const v = template.variables.find((x) => x.id === o.id);
  const fields = fieldsIn(v?.text ?? "");
  const field = fields.reduce(
    (a, b) =>
      (record.values[b] ?? "").length > (record.values[a] ?? "").length ? b : a,
    fields[0] ?? "",
  );
  const narrowed = o.scaleX < 1 ? `, ${Math.round(o.scaleX * 100)} % wide` : "";
  const spacing = o.charSpacing !== 0
    ? `, letter spacing ${o.charSpacing}`
    : "";
  return {
    object: v?.path ?? o.id,
    field,
    message: `"${field}" is too long for its box (${
      v?.path ?? o.id
    }): the text overflows even at ${
      Math.round(o.fontSize * 10) / 10
    } px${spacing}${narrowed}`,
  };
}
