/**
 * Reading a batch upload: the multipart form, its template and CSV checked
 * (parse, preflight) before anything is stored.
 *
 * @module
 */
import { join } from "node:path";
import { readCsv, scanCsv } from "../batch/csv.ts";
import type { BatchRunOptions, JobStore } from "../batch/store.ts";
import { parseRendererChoice } from "../render/orchestrator.ts";
import { loadTemplate, parseTemplate } from "../template/parse.ts";
import { preflight } from "../template/preflight.ts";
import { HttpError } from "./errors.ts";
import { readBody } from "./_http.ts";

/** A validated batch request: template, CSV and options, not yet stored. */
export type BatchRequest = Parameters<JobStore["createBatch"]>[0];

export async function readBatchRequest(
  req: Request,
  store: JobStore,
  max: number,
): Promise<BatchRequest> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.startsWith("multipart/form-data")) {
    throw new HttpError(
      400,
      "bad_request",
      "Send the batch as multipart/form-data",
    );
  }
  const bytes = await readBody(req, max);
  let form: FormData;
  try {
    form = await new Response(bytes as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": type },
    }).formData();
  } catch (error) {
    throw new HttpError(
      400,
      "bad_request",
      `Cannot read the form: ${(error as Error).message}`,
    );
  }
  const data = form.get("data");
  if (!(data instanceof File)) {
    throw new HttpError(400, "bad_request", `The form needs a "data" CSV file`);
  }
  const options: BatchRunOptions = {
    renderer: field(
      form,
      "renderer",
      "auto",
      (v) => parseRendererChoice(v, "renderer"),
    ),
    merge: field(form, "merge", false, (v) => {
      if (v !== "true" && v !== "false") {
        throw new TypeError(`merge must be true or false, got "${v}"`);
      }
      return v === "true";
    }),
    onError: field(form, "onError", "fail" as const, (v) => {
      if (v !== "fail" && v !== "skip") {
        throw new TypeError(`onError must be fail or skip, got "${v}"`);
      }
      return v;
    }),
  };
  const scratch = await Deno.makeTempDir({ prefix: "pressrun-upload-" });
  try {
    const csvPath = join(
      scratch,
      data.name && /^[\w.-]+$/.test(data.name) ? data.name : "data.csv",
    );
    const csv = new Uint8Array(await data.arrayBuffer());
    await Deno.writeFile(csvPath, csv);
    let templatePath: string;
    let templateRef: { id?: string; name: string };
    let templateDoc: unknown;
    const templateId = form.get("template");
    const templateFile = form.get("templateFile");
    if (typeof templateId === "string" && templateId) {
      const { info, path } = await store.template(templateId);
      templatePath = path;
      templateRef = { id: info.id, name: info.name };
    } else if (templateFile instanceof File) {
      let doc: unknown;
      try {
        doc = JSON.parse(await templateFile.text());
      } catch (error) {
        throw new SyntaxError(
          `Cannot parse template ${templateFile.name}: ${
            (error as Error).message
          }`,
        );
      }
      const parsed = parseTemplate(doc, {
        source: templateFile.name || "templateFile",
        baseDir: scratch,
      });
      templatePath = join(scratch, "template.json");
      templateDoc = doc;
      await Deno.writeTextFile(templatePath, JSON.stringify(doc));
      templateRef = { name: parsed.name };
    } else {
      throw new HttpError(
        400,
        "bad_request",
        `The form needs "template" (an id) or "templateFile"`,
      );
    }
    const template = await loadTemplate(templatePath);
    const info = await scanCsv(csvPath);
    if (info.count === 0) {
      throw new RangeError(`${data.name || "The CSV"} has no records`);
    }
    preflight(template, info.headers, data.name || "the CSV");
    // A library template stays where it is; an uploaded one travels as its
    // document, so the scratch folder can go.
    return {
      templatePath: templateDoc === undefined ? templatePath : "",
      templateDoc,
      template: templateRef,
      csv,
      total: info.count,
      options,
    };
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

function field<T>(
  form: FormData,
  name: string,
  fallback: T,
  parse: (v: string) => T,
): T {
  const value = form.get(name);
  if (value === null || value === "") return fallback;
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a text field`);
  }
  try {
    return parse(value);
  } catch (error) {
    throw new HttpError(400, "bad_request", (error as Error).message);
  }
}

export async function csvRow(
  store: JobStore,
  batch: string,
  row: number,
): Promise<Record<string, string>> {
  for await (const record of readCsv(join(store.batchDir(batch), "data.csv"))) {
    if (record.index === row) return record.values;
  }
  throw new HttpError(404, "not_found", `Batch ${batch} has no row ${row}`);
}
