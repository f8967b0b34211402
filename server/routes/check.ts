/**
 * `POST /api/check`: what a batch of this CSV would be, without creating it.
 * The web page shows the answer before Generate: the number of records, the
 * columns, the delimiter, the first rows and the fields the design has no
 * column for. The CSV is read by the server's own reader, with the limits and
 * the errors of `POST /api/batches` (a 422 naming the file and the line).
 *
 * @module
 */
import { type Delimiter, readCsv } from "../../batch/csv.ts";
import { MissingFieldsError, preflight } from "../../template/preflight.ts";
import type { Template } from "../../template/parse.ts";
import {
  csvFile,
  formTemplate,
  readForm,
  recordLimit,
  scanUpload,
  withScratch,
  writeCsv,
} from "../_batch_request.ts";
import { Router } from "../_router.ts";
import type { ServerContext } from "./_context.ts";

/** How many rows of the CSV the answer previews. */
export const PREVIEW_ROWS = 5;

/** The answer of `POST /api/check`. */
export interface CheckAnswer {
  /** Records after the header row. */
  records: number;
  /** The header row, trimmed, in file order. */
  columns: string[];
  delimiter: Delimiter;
  /** The first {@linkcode PREVIEW_ROWS} records, values in column order. */
  preview: string[][];
  /** The design's fields with no column, in the design's order. */
  missing: string[];
}

/**
 * The check's route, mounted at `/api/check`: a multipart form with `data`
 * (the CSV) and `template` (a library id) or `templateFile` (a template JSON
 * upload). With neither, the CSV is read and nothing is checked against a
 * design (`missing` is empty): the editor takes column names this way.
 */
export function checkRoutes(ctx: ServerContext): Router {
  return new Router().post("/", async (req) => {
    const form = await readForm(req, ctx.maxUploadBytes);
    const data = csvFile(form);
    const answer = await withScratch(async (scratch): Promise<CheckAnswer> => {
      const { csvPath, dataName } = await writeCsv(data, scratch);
      const given = await formTemplate(form, ctx.store, scratch);
      const info = await scanUpload(csvPath, dataName);
      recordLimit(info.count, ctx.limits.maxRecordsPerBatch);
      const preview: string[][] = [];
      for await (const { values } of readCsv(csvPath)) {
        preview.push(info.headers.map((column) => values[column] ?? ""));
        if (preview.length === PREVIEW_ROWS) break;
      }
      return {
        records: info.count,
        columns: info.headers,
        delimiter: info.delimiter,
        preview,
        missing: given ? missingFields(given.template, info.headers) : [],
      };
    });
    return Response.json(answer);
  });
}

/** The fields preflight finds no column for; none when it passes. */
function missingFields(template: Template, headers: string[]): string[] {
  try {
    preflight(template, headers, "the CSV");
    return [];
  } catch (error) {
    if (error instanceof MissingFieldsError) return error.missing;
    throw error;
  }
}
