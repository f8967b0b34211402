/**
 * `POST /api/check`: what a batch of this CSV would be, without creating it.
 * The web page shows the answer before Generate: the number of records, the
 * columns, the delimiter, the first rows, the fields the design has no
 * column for and, for the PDF mode chosen (`pdfMode`, vector by default),
 * whether the design prints that way. The CSV is read by the server's own reader, with the limits and
 * the errors of `POST /api/batches` (a 422 naming the file and the line).
 *
 * @module
 */
import type { Delimiter } from "../../batch/csv.ts";
import type { Encoding } from "../../batch/encoding.ts";
import { readRecipients } from "../../batch/recipients.ts";
import { MissingFieldsError, preflight } from "../../template/preflight.ts";
import type { Template } from "../../template/parse.ts";
import {
  checkVectorExport,
  vectorWarnings,
} from "../../template/vector_preflight.ts";
import { TemplateError } from "../../common/errors.ts";
import type { PdfMode } from "../../render/renderer.ts";
import {
  csvFile,
  formTemplate,
  pageField,
  pdfModeField,
  readForm,
  recipientFields,
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
  /** A CSV's delimiter; none for an .xlsx workbook. */
  delimiter?: Delimiter;
  /** A CSV's text encoding, as found or as `encoding` said. */
  encoding?: Encoding;
  /** An .xlsx workbook's sheet read, and all its sheets in tab order. */
  sheet?: string;
  sheets?: string[];
  /** The first {@linkcode PREVIEW_ROWS} records, values in column order. */
  preview: string[][];
  /** The design's fields with no column, in the design's order. */
  missing: string[];
  /** How the design prints in the PDF mode asked for; none without a design. */
  print?: PrintCheck;
}

/** Whether a design prints in a PDF mode, as `POST /api/batches` would find. */
export interface PrintCheck {
  pdfMode: PdfMode;
  /** Why a batch in this mode would be refused (422), e.g. a blend mode in vector mode. */
  refused?: string;
  /** What prints, but not as asked: stroked text as raster pages in vector mode. */
  warnings: string[];
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
    const pdfMode = pdfModeField(form);
    const reading = recipientFields(form);
    const { page } = pageField(form);
    const answer = await withScratch(async (scratch): Promise<CheckAnswer> => {
      const { csvPath, dataName } = await writeCsv(data, scratch);
      const given = await formTemplate(form, ctx.store, scratch, page);
      const info = await scanUpload(csvPath, dataName, reading);
      recordLimit(info.count, ctx.limits.maxRecordsPerBatch);
      const preview: string[][] = [];
      for await (const { values } of readRecipients(csvPath, reading)) {
        preview.push(info.headers.map((column) => values[column] ?? ""));
        if (preview.length === PREVIEW_ROWS) break;
      }
      return {
        records: info.count,
        columns: info.headers,
        ...info.kind === "csv"
          ? { delimiter: info.delimiter, encoding: info.encoding }
          : { sheet: info.sheet, sheets: info.sheets },
        preview,
        missing: given ? missingFields(given.template, info.headers) : [],
        ...given && { print: printCheck(given.template, pdfMode) },
      };
    });
    return Response.json(answer);
  });
}

/** What a batch of `template` in `pdfMode` would be told before it starts. */
function printCheck(template: Template, pdfMode: PdfMode): PrintCheck {
  if (pdfMode === "raster") return { pdfMode, warnings: [] };
  try {
    checkVectorExport(template);
  } catch (error) {
    if (error instanceof TemplateError) {
      return { pdfMode, refused: error.message, warnings: [] };
    }
    throw error;
  }
  return { pdfMode, warnings: vectorWarnings(template) };
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
