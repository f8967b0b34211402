/**
 * Reading a batch upload: the multipart form streamed to disk, its template
 * and CSV checked (parse, preflight) before anything is stored. Files go
 * under names of the server's own; the client's file names only name the
 * upload in messages.
 *
 * @module
 */
import { join } from "node:path";
import { ENCODINGS, parseEncoding } from "../batch/encoding.ts";
import {
  readRecipients,
  type RecipientsInfo,
  type RecipientsOptions,
  scanRecipients,
} from "../batch/recipients.ts";
import { type PageOption, parsePageOption } from "../template/page_option.ts";
import {
  planPress,
  PRESS_FIELDS,
  type PressRequest,
  pressRequest,
} from "../batch/_press.ts";
import type { BatchRunOptions, JobStore } from "../batch/store.ts";
import { parseRendererChoice } from "../render/orchestrator.ts";
import type { PdfMode } from "../render/renderer.ts";
import {
  loadTemplate,
  parseTemplate,
  type Template,
} from "../template/parse.ts";
import { checkJsonText } from "../template/json_limits.ts";
import { OVERSET_POLICIES, type OversetPolicy } from "../template/overset.ts";
import { preflight, preflightRecordKeys } from "../template/preflight.ts";
import { checkVectorExport } from "../template/vector_preflight.ts";
import {
  DataError,
  NotFoundError,
  TemplateError,
  UsageError,
} from "../common/errors.ts";
import { HttpError } from "./errors.ts";
import { disposeWithRequest } from "./_http.ts";
import {
  multipartBoundary,
  readMultipart,
  UploadedFile,
  type UploadForm,
} from "./_multipart.ts";

/** A validated batch request: template, CSV and options, not yet stored. */
export type BatchRequest = Parameters<JobStore["createBatch"]>[0];

export async function readBatchRequest(
  req: Request,
  store: JobStore,
  max: number,
): Promise<BatchRequest> {
  await using form = await readForm(req, max);
  const data = csvFile(form);
  const options: BatchRunOptions = {
    renderer: field(
      form,
      "renderer",
      "auto",
      (v) => parseRendererChoice(v, "renderer"),
    ),
    pdfMode: pdfModeField(form),
    chunkSize: chunkSizeField(form),
    merge: booleanField(form, "merge"),
    onError: field(form, "onError", "fail" as const, (v) => {
      if (v !== "fail" && v !== "skip") {
        throw new UsageError(`onError must be fail or skip, got "${v}"`);
      }
      return v;
    }),
    ...oversetField(form),
    ...recipientFields(form),
    ...pageField(form),
    ...recordKeyField(form),
    ...booleanField(form, "proof") && { proof: true },
    ...pressField(form),
    // The API converts through Ghostscript's default profile; a printer's
    // own profile is the CLI's --icc.
    ...booleanField(form, "pdfx") && { pdfx: {} },
  };
  return await withScratch(async (scratch) => {
    const { csvPath, dataName } = await writeCsv(data, scratch);
    const given = await formTemplate(form, store, scratch, options.page);
    if (!given) {
      throw new HttpError(
        400,
        "bad_request",
        `The form needs "template" (an id) or "templateFile"`,
      );
    }
    const info = await scanUpload(csvPath, dataName, options);
    preflight(given.template, info.headers, dataName);
    preflightRecordKeys(
      options.recordKeys ?? [],
      info.headers,
      dataName,
      "recordKey",
    );
    if (options.press) {
      planPress(options.press, given.template, info.count, {
        merge: options.merge,
        pdfx: options.pdfx !== undefined,
        names: PRESS_FIELDS,
      });
    }
    if (options.pdfMode === "vector") checkVectorExport(given.template);
    // A library template stays where it is; an uploaded one travels as its
    // document, so the scratch folder can go.
    return {
      templatePath: given.doc === undefined ? given.path : "",
      templateDoc: given.doc,
      template: given.ref,
      csv: await Deno.readFile(csvPath),
      total: info.count,
      options,
    };
  });
}

/**
 * The multipart form of an upload, its files streamed to a folder of their
 * own that is removed once the request has been answered (or when the form
 * is disposed); 400 when it is not a form, 413 past `max` bytes.
 */
export async function readForm(
  req: Request,
  max: number,
): Promise<UploadForm> {
  const boundary = multipartBoundary(req.headers.get("content-type") ?? "");
  const dir = await Deno.makeTempDir({ prefix: "pressrun-upload-" });
  try {
    const form = await readMultipart(
      req.body ?? ReadableStream.from([]),
      boundary,
      { dir, maxBytes: max },
    );
    return disposeWithRequest(req, form);
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** The form's `data` file (the CSV); 400 when there is none. */
export function csvFile(form: UploadForm): UploadedFile {
  const data = form.get("data");
  if (!(data instanceof UploadedFile)) {
    throw new HttpError(400, "bad_request", `The form needs a "data" CSV file`);
  }
  return data;
}

/** Runs `use` with a scratch folder, removed afterwards. */
export async function withScratch<T>(
  use: (scratch: string) => Promise<T>,
): Promise<T> {
  const scratch = await Deno.makeTempDir({ prefix: "pressrun-upload-" });
  try {
    return await use(scratch);
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

/**
 * A client's file name fit to be the last part of a path: letters, digits,
 * `_`, `.` and `-`, not starting with a dot (so never `.` or `..`).
 */
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

/**
 * An uploaded CSV moved into the scratch folder; `dataName` is the client's
 * name for it, for messages. The CSV reader names a file by its base name,
 * so a plain client name is kept as that, in a folder of its own where it
 * can neither leave the folder nor meet another file (`template.json`);
 * any other name becomes `data.csv`.
 */
export async function writeCsv(
  data: UploadedFile,
  scratch: string,
): Promise<{ csvPath: string; dataName: string }> {
  const dir = join(scratch, "csv");
  await Deno.mkdir(dir);
  const csvPath = join(
    dir,
    PLAIN_NAME.test(data.name) ? data.name : "data.csv",
  );
  await Deno.rename(data.path, csvPath);
  return { csvPath, dataName: data.name || "the CSV" };
}

/** The template an upload names, loaded and validated. */
export interface FormTemplate {
  template: Template;
  /** Where it was read from (inside the scratch folder for an upload). */
  path: string;
  ref: { id?: string; name: string };
  /** The uploaded document; undefined for a library template. */
  doc?: unknown;
}

/**
 * The form's `template` (a library id) or `templateFile` (a JSON upload,
 * written to `scratch`); undefined when it has neither.
 */
export async function formTemplate(
  form: UploadForm,
  store: JobStore,
  scratch: string,
  page?: PageOption,
): Promise<FormTemplate | undefined> {
  const templateId = form.get("template");
  const templateFile = form.get("templateFile");
  if (typeof templateId === "string" && templateId) {
    const { info, path } = await store.template(templateId);
    const template = await loadTemplate(path, { source: info.name, page });
    return { template, path, ref: { id: info.id, name: info.name } };
  }
  if (!(templateFile instanceof UploadedFile)) return undefined;
  let doc: unknown;
  const text = await templateFile.text();
  checkJsonText(text, templateFile.name || "templateFile");
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new TemplateError(
      `Cannot parse template ${templateFile.name}: ${(error as Error).message}`,
      { cause: error, location: { source: templateFile.name } },
    );
  }
  // Messages name the upload as the user knows it, not the scratch copy.
  const template = parseTemplate(doc, {
    source: templateFile.name || "templateFile",
    baseDir: scratch,
    page,
  });
  const path = join(scratch, "template.json");
  await Deno.writeTextFile(path, JSON.stringify(doc));
  return { template, path, ref: { name: template.name }, doc };
}

/** 413 when a CSV of `total` records is more than one batch takes (`max`). */
export function recordLimit(total: number, max: number): void {
  if (total > max) {
    throw new HttpError(
      413,
      "too_many_records",
      `The CSV has ${total} records; one batch takes at most ${max}`,
    );
  }
}

/**
 * Reads the whole recipient file once, CSV or .xlsx (every line checked);
 * 422 when it has no records.
 */
export async function scanUpload(
  csvPath: string,
  dataName: string,
  options: Pick<RecipientsOptions, "encoding" | "sheet"> = {},
): Promise<RecipientsInfo> {
  const info = await scanRecipients(csvPath, {
    encoding: options.encoding,
    sheet: options.sheet,
  });
  if (info.count === 0) {
    throw new DataError(`Cannot read ${dataName}: it has no records`, {
      location: { source: dataName },
    });
  }
  return info;
}

/**
 * The form's `encoding` (a CSV's, when not detected: utf-8, utf-16le,
 * utf-16be, windows-1252 or latin1) and `sheet` (an .xlsx file's); a
 * {@linkcode UsageError} (422) naming the field for an unknown encoding.
 */
export function recipientFields(
  form: UploadForm,
): Pick<RecipientsOptions, "encoding" | "sheet"> {
  const out: Pick<RecipientsOptions, "encoding" | "sheet"> = {};
  const encoding = textField(form, "encoding");
  if (encoding !== undefined) {
    out.encoding = parseEncoding(encoding);
    if (!out.encoding) {
      throw new UsageError(
        `encoding must be ${
          ENCODINGS.join(", ")
        } (or latin1), got "${encoding}"`,
        { location: { field: "encoding" } },
      );
    }
  }
  const sheet = textField(form, "sheet");
  if (sheet !== undefined) out.sheet = sheet;
  return out;
}

/**
 * The form's page of a bare Fabric document: `page` (6x4in, A6), `dpi`,
 * `bleed` (0.125in, 3mm), `size` (1800x1200); a {@linkcode UsageError}
 * (422) naming the field for a value it does not take.
 */
export function pageField(form: UploadForm): { page?: PageOption } {
  try {
    const page = parsePageOption({
      page: textField(form, "page"),
      dpi: textField(form, "dpi"),
      bleed: textField(form, "bleed"),
      size: textField(form, "size"),
    }, (o) => o);
    return page ? { page } : {};
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new UsageError(error.message, {
      cause: error,
      location: { field: /^\w+/.exec(error.message)?.[0] },
    });
  }
}

/**
 * The form's `recordKey`: columns (comma-separated) kept in each record's
 * document part of merged.pdf (PDF/VT), besides its number.
 */
function recordKeyField(form: UploadForm): { recordKeys?: string[] } {
  const keys = textField(form, "recordKey")?.split(",").map((k) => k.trim())
    .filter(Boolean);
  return keys?.length ? { recordKeys: keys } : {};
}

/**
 * The form's press options: `marks` (true/false), `impose` (`2x2`) with
 * `pressSheet` (`12x18in`), `order`, `flip`, `gutter` (no duplex backs from
 * the API). Checked against the template by {@linkcode planPress} once it is
 * read.
 */
function pressField(form: UploadForm): { press?: PressRequest } {
  const press = pressRequest({
    marks: booleanField(form, "marks"),
    impose: textField(form, "impose"),
    sheet: textField(form, "pressSheet"),
    order: textField(form, "order"),
    flip: textField(form, "flip"),
    gutter: textField(form, "gutter"),
  }, PRESS_FIELDS);
  return press ? { press } : {};
}

/** A true/false field (absent: false); anything else is a 422 naming it. */
function booleanField(form: UploadForm, name: string): boolean {
  const value = textField(form, name);
  if (value === undefined) return false;
  if (value !== "true" && value !== "false") {
    throw new UsageError(`${name} must be true or false, got "${value}"`, {
      location: { field: name },
    });
  }
  return value === "true";
}

/** A text field's value; undefined when absent or empty. */
function textField(form: UploadForm, name: string): string | undefined {
  const value = form.get(name);
  if (value === null || value === "") return undefined;
  if (typeof value !== "string") {
    throw new UsageError(`${name} must be a text field`, {
      location: { field: name },
    });
  }
  return value;
}

/**
 * The form's `pdfMode`: vector (the default) or raster; anything else is a
 * {@linkcode UsageError} (422) naming the field.
 */
export function pdfModeField(form: UploadForm): PdfMode {
  const value = form.get("pdfMode");
  if (value === null || value === "") return "vector";
  if (value === "vector" || value === "raster") return value;
  const got = typeof value === "string" ? `"${value}"` : "a file";
  throw new UsageError(`pdfMode must be vector or raster, got ${got}`, {
    location: { field: "pdfMode" },
  });
}

/**
 * The form's `onOverset`: what becomes of a record with a text that
 * overflows its box even at its copyfit bounds — warn (the default), fail
 * or skip; anything else is a {@linkcode UsageError} (422) naming the field.
 */
function oversetField(form: UploadForm): { onOverset?: OversetPolicy } {
  const value = form.get("onOverset");
  if (value === null || value === "") return {};
  const policy = OVERSET_POLICIES.find((p) => p === value);
  if (policy) return { onOverset: policy };
  const got = typeof value === "string" ? `"${value}"` : "a file";
  throw new UsageError(
    `onOverset must be ${OVERSET_POLICIES.join(", ")}, got ${got}`,
    { location: { field: "onOverset" } },
  );
}

/**
 * The form's `chunkSize` (vector: records per print), a whole number from 1
 * to 500; absent for the renderer's default. Anything else is a
 * {@linkcode UsageError} (422) naming the field.
 */
function chunkSizeField(form: UploadForm): number | undefined {
  const value = form.get("chunkSize");
  if (value === null || value === "") return undefined;
  const n = typeof value === "string" && /^\d+$/.test(value)
    ? Number(value)
    : NaN;
  if (!(n >= 1 && n <= 500)) {
    const got = typeof value === "string" ? `"${value}"` : "a file";
    throw new UsageError(
      `chunkSize must be a whole number from 1 to 500, got ${got}`,
      { location: { field: "chunkSize" } },
    );
  }
  return n;
}

function field<T>(
  form: UploadForm,
  name: string,
  fallback: T,
  parse: (v: string) => T,
): T {
  const value = form.get(name);
  if (value === null || value === "") return fallback;
  if (typeof value !== "string") {
    throw new UsageError(`${name} must be a text field`, {
      location: { field: name },
    });
  }
  try {
    return parse(value);
  } catch (error) {
    throw new HttpError(400, "bad_request", (error as Error).message);
  }
}

/** Row `row` of batch `batch`'s CSV; 404 when there is no such batch or row. */
export async function csvRow(
  store: JobStore,
  batch: string,
  row: number,
): Promise<Record<string, string>> {
  const { options } = await store.batch(batch);
  const path = join(store.batchDir(batch), "data.csv");
  for await (
    const record of readRecipients(path, {
      encoding: options.encoding,
      sheet: options.sheet,
    })
  ) {
    if (record.index === row) return record.values;
  }
  throw new NotFoundError(`Batch ${batch} has no row ${row}`, {
    location: { record: row },
  });
}
