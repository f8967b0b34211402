/**
 * `POST /api/preflight`: every record of a list checked against a design
 * before Generate — the web page's "Check my list" step. The same form as
 * `POST /api/check` (`data`, and `template` or `templateFile`, `encoding`,
 * `sheet`, the page fields); the answer is the report of
 * `batch/list_preflight.ts`, its problems capped at
 * {@linkcode MAX_PROBLEMS_SHOWN} (`more` says how many were left out). The
 * overset check lays records out in the server's browser, a few pages.
 *
 * @module
 */
import { layoutCheck } from "../../batch/list_layout.ts";
import { type ListReport, preflightList } from "../../batch/list_preflight.ts";
import {
  csvFile,
  formTemplate,
  pageField,
  readForm,
  recipientFields,
  recordLimit,
  scanUpload,
  withScratch,
  writeCsv,
} from "../_batch_request.ts";
import { HttpError } from "../errors.ts";
import { Router } from "../_router.ts";
import type { ServerContext } from "./_context.ts";

/** Problems an answer lists at most (the counts cover all). */
export const MAX_PROBLEMS_SHOWN = 2000;

/** Pages one preflight lays records out with. */
const LAYOUT_PAGES = 2;

/** The answer of `POST /api/preflight`. */
export type PreflightAnswer = ListReport & {
  /** Problems found but not listed. */
  more: number;
};

/** The preflight's route, mounted at `/api/preflight`. */
export function preflightRoutes(ctx: ServerContext): Router {
  return new Router().post("/", async (req) => {
    const form = await readForm(req, ctx.maxUploadBytes);
    const data = csvFile(form);
    const reading = recipientFields(form);
    const { page } = pageField(form);
    const answer = await withScratch(async (scratch) => {
      const { csvPath, dataName } = await writeCsv(data, scratch);
      const given = await formTemplate(form, ctx.store, scratch, page);
      if (!given) {
        throw new HttpError(
          400,
          "bad_request",
          "A preflight needs a design: send template (a library id) or templateFile",
        );
      }
      const info = await scanUpload(csvPath, dataName, reading);
      recordLimit(info.count, ctx.limits.maxRecordsPerBatch);
      const assets = { allowRemote: ctx.worker.allowRemoteAssets };
      await using layout = await layoutCheck({
        concurrency: LAYOUT_PAGES,
        browser: await ctx.worker.browser(),
        assets,
      });
      const report = await preflightList({
        template: given.template,
        data: csvPath,
        ...reading,
        assets,
        layout: layout.check,
        signal: req.signal,
      });
      // Named as the user knows them, not by their scratch copies.
      return {
        ...report,
        data: dataName,
        problems: report.problems.slice(0, MAX_PROBLEMS_SHOWN),
        more: Math.max(0, report.problems.length - MAX_PROBLEMS_SHOWN),
      } satisfies PreflightAnswer;
    });
    return Response.json(answer);
  });
}
