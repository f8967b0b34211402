/**
 * The preflight of a whole list before it goes to press: every record
 * checked against the template without painting or encoding anything, and
 * each problem reported with its record, line, field and object — so the
 * person sending 10,000 postcards can fix the spreadsheet first.
 *
 * What it finds, per record and field:
 * - `empty-required`: a required field left empty (see
 *   `template/field_rules.ts`);
 * - `missing-glyphs`: characters the text's font cannot draw, with the font
 *   Chromium falls back to, or none;
 * - `qr-capacity`: a QR value that does not fit a QR code at the object's
 *   error correction, or whose modules would print smaller than
 *   {@linkcode MIN_QR_MODULE_MM} at the object's size;
 * - `barcode`: a barcode value its type cannot encode (a wrong EAN-13
 *   check digit, an IMb routing code of 7 digits, too much for the largest
 *   Data Matrix);
 * - `not-a-url`: a value used as a web address (a QR value that starts with
 *   http(s), or is one field named like "url") that is not one;
 * - `image-failed`, `image-low-dpi`: an image that cannot be loaded (as the
 *   render would load it), or that prints below the template's dpi;
 * - `overset`: a text that still overflows its box at its fitting bounds,
 *   laid out in warm pages as a render would (when `layout` is given).
 *
 * Bad input (template, spreadsheet, missing columns) throws the render's
 * input errors before any record is checked.
 *
 * @module
 */
import type { Logger } from "../render/log.ts";
import { silentLogger } from "../render/log.ts";
import {
  AssetResolver,
  type AssetResolverOptions,
} from "../template/assets.ts";
import { fieldsIn, substitute } from "../template/fields.ts";
import { shows } from "../template/payload.ts";
import { GlyphCoverage } from "../template/glyph_coverage.ts";
import { imagePixelSize } from "../template/image_size.ts";
import { qrModules } from "../template/qr_size.ts";
import { barcodeDrawing, checkedValue } from "../template/barcode.ts";
import { DataError } from "../common/errors.ts";
import type { PageOption } from "../template/page_option.ts";
import {
  type FabricObject,
  loadTemplate,
  type Template,
  type VariableObject,
} from "../template/parse.ts";
import { preflight } from "../template/preflight.ts";
import type { CsvRecord, Delimiter } from "./csv.ts";
import type { Encoding } from "./encoding.ts";
import { readRecipients, scanRecipients } from "./recipients.ts";
import { join, resolve } from "node:path";

/** What kind of problem a record has. */
export type ProblemKind =
  | "empty-required"
  | "missing-glyphs"
  | "qr-capacity"
  | "barcode"
  | "not-a-url"
  | "image-failed"
  | "image-low-dpi"
  | "overset";

/** The kinds, in the order a report lists them. */
export const PROBLEM_KINDS: readonly ProblemKind[] = [
  "overset",
  "missing-glyphs",
  "empty-required",
  "qr-capacity",
  "barcode",
  "not-a-url",
  "image-failed",
  "image-low-dpi",
];

/** One problem of one record. */
export interface ListProblem {
  /** 1-based record number, and the line of the data file it starts on. */
  record: number;
  line: number;
  kind: ProblemKind;
  /** The field (column) whose value causes it, and that value. */
  field: string;
  value: string;
  /** Where the object sits in the template, e.g. `canvas.objects[3]`. */
  object: string;
  /** The problem in a sentence, naming the field. */
  message: string;
}

/** The whole list's report. */
export interface ListReport {
  template: string;
  data: string;
  /** Records checked. */
  records: number;
  /** The kinds that were checked (overset only with a layout). */
  checked: ProblemKind[];
  problems: ListProblem[];
  /** Records with at least one problem. */
  recordsWithProblems: number;
  /** Problems of each kind. */
  byKind: Record<ProblemKind, number>;
  ms: number;
}

/** The overset texts of records, laid out as a render would. */
export type LayoutCheck = (
  template: Template,
  records: readonly CsvRecord[],
) => Promise<
  Map<number, Pick<ListProblem, "object" | "field" | "message">[]>
>;

/** Options for {@linkcode preflightList}. */
export interface ListPreflightOptions {
  /** A template file, or a parsed template. */
  template: string | Template;
  /** The recipient file (CSV or .xlsx). */
  data: string;
  delimiter?: Delimiter;
  encoding?: Encoding;
  sheet?: string;
  /** The page of a bare Fabric document (`--page` …). */
  page?: PageOption;
  /** The asset policy, as the render's. */
  assets?: AssetResolverOptions;
  /** Lays records out in warm pages for the overset check; none: not checked. */
  layout?: LayoutCheck;
  /** Records a layout call takes at once. @default 500 */
  layoutBatch?: number;
  /** Told of the records checked so far. */
  onProgress?: (checked: number, total: number) => void;
  log?: Logger;
  signal?: AbortSignal;
}

/** 2D barcode values longer than this are encoded to see that they fit. */
const LONG_2D_VALUE = 200;

/** Modules smaller than this, in mm, phones misread. */
export const MIN_QR_MODULE_MM = 0.25;

/**
 * Checks every record of `options.data` against `options.template`.
 * @throws The render's input errors for a bad template, spreadsheet or
 * missing columns, before any record is checked.
 */
export async function preflightList(
  options: ListPreflightOptions,
): Promise<ListReport> {
  const started = performance.now();
  const log = options.log ?? silentLogger;
  const template = typeof options.template === "string"
    ? await loadTemplate(options.template, { page: options.page })
    : options.template;
  const read = {
    delimiter: options.delimiter,
    encoding: options.encoding,
    sheet: options.sheet,
    signal: options.signal,
  };
  const info = await scanRecipients(options.data, read);
  preflight(template, info.headers, options.data);
  const checker = new RecordChecker(template, options.assets);
  const problems: ListProblem[] = [];
  const withProblems = new Set<number>();
  const note = (found: ListProblem[]) => {
    for (const p of found) {
      problems.push(p);
      withProblems.add(p.record);
    }
  };
  const batchSize = options.layoutBatch ?? 500;
  let pending: CsvRecord[] = [];
  // One layout call runs in the pages while the next records are checked
  // here; the next waits for it.
  let inFlight: Promise<void> = Promise.resolve();
  const laidOut = async () => {
    await inFlight;
    if (!options.layout || pending.length === 0) return;
    const records = pending;
    pending = [];
    const layout = options.layout(template, records).then((overset) => {
      for (const r of records) {
        for (const o of overset.get(r.index) ?? []) {
          note([{
            record: r.index,
            line: r.line,
            kind: "overset",
            value: r.values[o.field] ?? "",
            ...o,
          }]);
        }
      }
    });
    // Awaited by the next call, or at the end; a failure surfaces there.
    inFlight = layout;
    layout.catch(() => {});
  };
  let checked = 0;
  for await (const record of readRecipients(options.data, read)) {
    options.signal?.throwIfAborted();
    note(await checker.check(record));
    if (options.layout) {
      pending.push(record);
      if (pending.length >= batchSize) await laidOut();
    }
    if (++checked % 1000 === 0) options.onProgress?.(checked, info.count);
  }
  await laidOut();
  await inFlight;
  options.onProgress?.(checked, info.count);
  problems.sort((a, b) =>
    a.record - b.record ||
    PROBLEM_KINDS.indexOf(a.kind) - PROBLEM_KINDS.indexOf(b.kind)
  );
  const byKind = Object.fromEntries(PROBLEM_KINDS.map((k) => [k, 0])) as Record<
    ProblemKind,
    number
  >;
  for (const p of problems) byKind[p.kind]++;
  const ms = performance.now() - started;
  log(
    "info",
    `Preflight of ${checked} records: ${problems.length} problems in ${withProblems.size} records (${
      (checked / (ms / 1000)).toFixed(0)
    } records/s)`,
  );
  return {
    template: template.source,
    data: options.data,
    records: checked,
    checked: PROBLEM_KINDS.filter((k) => k !== "overset" || options.layout),
    problems,
    recordsWithProblems: withProblems.size,
    byKind,
    ms: Math.round(ms),
  };
}

/** The checks of one record that need no page, with what they cache. */
class RecordChecker {
  #template: Template;
  #assets: AssetResolver;
  #glyphs: GlyphCoverage;
  #objects: Map<string, FabricObject>;
  #required: string[];
  #images = new Map<string, Promise<ImageCheck>>();
  /** Design pixels per inch. */
  #perInch: number;

  constructor(template: Template, assets?: AssetResolverOptions) {
    this.#template = template;
    this.#assets = new AssetResolver(template.baseDir, assets);
    this.#glyphs = new GlyphCoverage(
      template.fonts.map((f) => ({
        family: f.family,
        path: resolve(join(template.baseDir, f.src)),
      })),
    );
    this.#objects = objectsById(template.canvas.objects);
    this.#required = template.fields.filter((f) =>
      !template.optionalFields.includes(f)
    );
    this.#perInch = template.designWidth / (template.geometry.widthPt / 72);
  }

  async check(record: CsvRecord): Promise<ListProblem[]> {
    const out: Omit<ListProblem, "value">[] = [];
    const at = { record: record.index, line: record.line };
    const { values } = record;
    for (const field of this.#required) {
      if ((values[field] ?? "").trim() !== "") continue;
      out.push({
        ...at,
        kind: "empty-required",
        field,
        object: this.#firstUse(field),
        message:
          `"${field}" is empty; the template requires it (mark it "optional" in the template's "fields" if it may be)`,
      });
    }
    for (const v of this.#template.variables) {
      if (!shows(v, values)) continue;
      if (v.kind === "text") out.push(...await this.#text(v, values, at));
      if (v.kind === "qr") out.push(...this.#qr(v, values, at));
      if (v.kind === "barcode") out.push(...this.#barcode(v, values, at));
      if (v.kind === "image") out.push(...await this.#image(v, values, at));
    }
    return out.map((p) => ({ ...p, value: values[p.field] ?? "" }));
  }

  async #text(
    v: VariableObject,
    values: Record<string, string>,
    at: Pick<ListProblem, "record" | "line">,
  ): Promise<Omit<ListProblem, "value">[]> {
    const object = this.#objects.get(v.id);
    const family = typeof object?.fontFamily === "string"
      ? object.fontFamily
      : "Times New Roman";
    const out: Omit<ListProblem, "value">[] = [];
    for (const field of fieldsIn(v.text!)) {
      const value = values[field] ?? "";
      const missing = await this.#glyphs.missing(family, value);
      if (!missing) continue;
      const chars = missing.chars.slice(0, 8).map((c) => `"${c}"`).join(", ") +
        (missing.chars.length > 8 ? ", …" : "");
      const by = [...new Set(missing.drawnBy)];
      const fallback = by.every((f) => f === undefined)
        ? "no installed font has them: they print as nothing"
        : by.includes(undefined)
        ? `Chromium draws some with ${
          by.filter(Boolean).join(", ")
        }; no installed font has the others: they print as nothing`
        : `Chromium draws them with ${by.join(", ")}`;
      out.push({
        ...at,
        kind: "missing-glyphs",
        field,
        object: v.path,
        message: `"${field}": ${family} has no ${chars}; ${fallback}`,
      });
    }
    return out;
  }

  #qr(
    v: VariableObject,
    values: Record<string, string>,
    at: Pick<ListProblem, "record" | "line">,
  ): Omit<ListProblem, "value">[] {
    const { value: pattern, ecc } = v.qr!;
    const text = substitute(pattern, values);
    const field = fieldsIn(pattern)[0] ?? "";
    const base = { ...at, field, object: v.path };
    if (text.trim() === "") return []; // an empty field: reported as such
    const out: Omit<ListProblem, "value">[] = [];
    if (usedAsUrl(pattern) && !isWebAddress(text)) {
      out.push({
        ...base,
        kind: "not-a-url",
        message: `"${field}" is not a web address: ${
          JSON.stringify(clip(text))
        }`,
      });
    }
    const size = qrModules(text, ecc);
    if (size === undefined) {
      out.push({
        ...base,
        kind: "qr-capacity",
        message:
          `"${field}" (${text.length} characters) does not fit a QR code at error correction ${ecc}, not even the largest (177×177 modules)`,
      });
      return out;
    }
    const object = this.#objects.get(v.id);
    const side = Math.min(printedSide(object, "x"), printedSide(object, "y"));
    const inches = side / this.#perInch;
    const quiet = v.style.kind === "qr" ? v.style.quietZone : 4;
    const moduleMm = inches * 25.4 / (size + 2 * quiet);
    if (moduleMm < MIN_QR_MODULE_MM) {
      out.push({
        ...base,
        kind: "qr-capacity",
        message:
          `"${field}" (${text.length} characters) needs a ${size}×${size} QR code: its modules print ${
            moduleMm.toFixed(2)
          } mm at the code's ${
            inches.toFixed(2)
          } in, below the ${MIN_QR_MODULE_MM} mm phones read reliably; shorten the value or enlarge the code`,
      });
    }
    return out;
  }

  #barcode(
    v: VariableObject,
    values: Record<string, string>,
    at: Pick<ListProblem, "record" | "line">,
  ): Omit<ListProblem, "value">[] {
    const spec = v.barcode!;
    const value = substitute(spec.value, values);
    if (value.trim() === "") return []; // an empty field: reported as such
    try {
      checkedValue(spec.type, value);
      // Only a long 2D value can be too much for the largest symbol: that
      // one is encoded to find out (a few ms; a short one never is).
      if (value.length > LONG_2D_VALUE && spec.type !== "code128") {
        barcodeDrawing(spec, value);
      }
      return [];
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
      const field = fieldsIn(spec.value)[0] ?? "";
      return [{
        ...at,
        kind: "barcode",
        field,
        object: v.path,
        message: `"${field}": ${error.message}`,
      }];
    }
  }

  async #image(
    v: VariableObject,
    values: Record<string, string>,
    at: Pick<ListProblem, "record" | "line">,
  ): Promise<Omit<ListProblem, "value">[]> {
    const fields = fieldsIn(v.src!);
    if (fields.length === 0) return []; // fixed: checked with the template
    const src = substitute(v.src!, values).trim();
    if (src === "") return [];
    const field = fields[0]!;
    const base = { ...at, field, object: v.path };
    const image = await this.#load(src, `${v.path}.src`);
    if ("error" in image) {
      return [{ ...base, kind: "image-failed", message: image.error }];
    }
    if (!image.size) return []; // SVG: no pixels
    const object = this.#objects.get(v.id);
    const wide = printedSide(object, "x") / this.#perInch;
    const high = printedSide(object, "y") / this.#perInch;
    const across = image.size.width / wide;
    const down = image.size.height / high;
    const fit = v.style.kind === "image" ? v.style.fit : "cover";
    // cover and fill spread the image's pixels the most along the side it
    // has fewest for; contain fits it by its tighter side.
    const dpi = fit === "contain"
      ? Math.max(across, down)
      : Math.min(across, down);
    const target = this.#template.geometry.dpi;
    if (dpi >= target * 0.99) return [];
    return [{
      ...base,
      kind: "image-low-dpi",
      message:
        `"${field}" (${src}, ${image.size.width}×${image.size.height} px) prints at ${
          Math.round(dpi)
        } dpi in its ${wide.toFixed(2)}×${
          high.toFixed(2)
        } in box, below the template's ${target} dpi`,
    }];
  }

  /** An image source loaded as the render loads it, once. */
  #load(src: string, where: string): Promise<ImageCheck> {
    let check = this.#images.get(src);
    if (!check) {
      check = this.#assets.imageDataUrl(src, where).then(
        (url) => ({ size: dataUrlSize(url) }),
        (error) => ({ error: (error as Error).message }),
      );
      this.#images.set(src, check);
    }
    return check;
  }

  /** The path of the first object that uses `field`. */
  #firstUse(field: string): string {
    for (const v of this.#template.variables) {
      const uses = [v.text, v.src, v.qr?.value, v.visibleIf]
        .some((t) =>
          t !== undefined && (t === field || fieldsIn(t).includes(field))
        );
      if (uses) return v.path;
    }
    return "";
  }
}

/** An image's load: its pixel size (none for SVG), or why it failed. */
type ImageCheck = { size?: { width: number; height: number } } | {
  error: string;
};

/** The pixel size of a `data:` URL's image (from its first bytes). */
function dataUrlSize(url: string) {
  const comma = url.indexOf(",");
  if (!/;base64$/.test(url.slice(0, comma))) return undefined;
  // Enough for any header: JPEG's SOF can sit after large metadata.
  const head = url.slice(comma + 1, comma + 1 + 262_144);
  const bytes = Uint8Array.from(
    atob(head.slice(0, head.length - head.length % 4)),
    (c) => c.charCodeAt(0),
  );
  return imagePixelSize(bytes);
}

/** Variable objects by their pressrun id, nested ones included. */
function objectsById(
  objects: FabricObject[],
  out = new Map<string, FabricObject>(),
): Map<string, FabricObject> {
  for (const o of objects) {
    if (typeof o.pressrunId === "string") out.set(o.pressrunId, o);
    if (Array.isArray(o.objects)) {
      objectsById(o.objects as FabricObject[], out);
    }
  }
  return out;
}

/** An object's printed width or height in design units. */
function printedSide(object: FabricObject | undefined, axis: "x" | "y") {
  const size = Number(axis === "x" ? object?.width : object?.height) || 0;
  const scale = Number(axis === "x" ? object?.scaleX : object?.scaleY);
  return size * (Number.isFinite(scale) && scale > 0 ? scale : 1);
}

/** Whether a QR value pattern is a web address: http(s), or one "url" field. */
function usedAsUrl(pattern: string): boolean {
  return /^\s*https?:/i.test(pattern) ||
    /^\s*\{\{\s*[\w.-]*(url|link|web|site)[\w.-]*\s*\}\}\s*$/i.test(pattern);
}

/** An http(s) address with a host name and no spaces. */
function isWebAddress(text: string): boolean {
  if (/\s/.test(text.trim())) return false;
  try {
    const url = new URL(text.trim());
    return (url.protocol === "http:" || url.protocol === "https:") &&
      url.hostname.includes(".");
  } catch {
    return false;
  }
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}
