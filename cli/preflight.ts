/**
 * `pressrun preflight`: checks every record of a list against a template
 * before anything is rendered, and says which recipients would come out
 * wrong. A thin shell over `batch/list_preflight.ts`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../common/errors.ts";
import {
  type CliIo,
  delimiter,
  encoding,
  exitCode,
  INPUT_FLAGS,
  missingPermissions,
  pageOption,
} from "./_shared.ts";

/** Usage text of `preflight`. */
export const PREFLIGHT_USAGE =
  `Usage: pressrun preflight --template FILE --data FILE [options]

Checks every record against the template without rendering: text that
overflows its box at its fitting bounds, characters the font cannot draw,
empty required fields, QR values too long or too dense for the code or not a
web address, images that do not load or print below the template's dpi.

Required:
  --template FILE       template JSON (as for render)
  --data FILE           recipients: CSV or .xlsx (as for render)

Options:
  --json                the whole report as JSON on stdout
  --report FILE         the problem rows as CSV (record, line, field, problem,
                        value, object, message), to fix the spreadsheet from
  --no-layout           skip the overset check (it lays records out in
                        Chromium; the others need no browser)
  --concurrency N       pages laying records out (default: cores)
  --encoding E, --sheet NAME, --delimiter D, --page SIZE, --dpi N,
  --bleed LENGTH, --size WxH, --allow-remote-assets, --chromium PATH,
  --browser-ws URL      as for render
  -h, --help            this help

Exit codes: 0 no problems, 1 problems found (listed), 2 bad usage or input.`;

/** Runs `preflight` with `args`; resolves to the exit code. */
export async function preflightMain(
  args: string[],
  io: CliIo,
  signal?: AbortSignal,
): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        ...INPUT_FLAGS,
        report: { type: "string" },
        "no-layout": { type: "boolean", default: false },
      },
    }).values;
    if (v.help) {
      io.stdout(`${PREFLIGHT_USAGE}\n`);
      return 0;
    }
    for (const flag of ["template", "data"] as const) {
      if (!v[flag]) {
        throw new UsageError(`--${flag} is required`, {
          location: { field: `--${flag}` },
        });
      }
    }
  } catch (error) {
    io.stderr(`error: ${(error as Error).message}\n\n${PREFLIGHT_USAGE}\n`);
    return 2;
  }
  const missing = missingPermissions();
  if (missing.length > 0) {
    io.stderr(
      `error: pressrun needs ${
        missing.join(", ")
      } access to check a list: run "deno run -A cli.ts preflight ${
        args.join(" ")
      }"\n`,
    );
    return 2;
  }
  const { preflightList } = await import("../batch/list_preflight.ts");
  const { formatListReport } = await import("../batch/list_report.ts");
  const { problemCsv } = await import("../common/rules.js");
  const { layoutCheck } = await import("../batch/list_layout.ts");
  const log = (level: string, message: string) => {
    if (level === "warn" || level === "error") {
      io.stderr(`${level}: ${message}\n`);
    }
  };
  try {
    const concurrency = v.concurrency === undefined
      ? undefined
      : Number(v.concurrency);
    if (
      concurrency !== undefined &&
      (!Number.isInteger(concurrency) || concurrency < 1)
    ) {
      throw new UsageError(
        `--concurrency must be a whole number ≥ 1, got "${v.concurrency}"`,
        { location: { field: "--concurrency" } },
      );
    }
    const options = {
      template: v.template!,
      data: v.data!,
      encoding: v.encoding === undefined ? undefined : encoding(v.encoding),
      delimiter: v.delimiter === undefined ? undefined : delimiter(v.delimiter),
      sheet: v.sheet,
      page: pageOption(v),
      assets: { allowRemote: v["allow-remote-assets"]! },
      signal,
      log,
    };
    await using layout = v["no-layout"] ? undefined : await layoutCheck({
      concurrency,
      browser: { wsEndpoint: v["browser-ws"], executablePath: v.chromium },
      assets: options.assets,
    });
    const report = await preflightList({ ...options, layout: layout?.check });
    if (v.report) {
      await Deno.writeTextFile(v.report, problemCsv(report.problems));
    }
    if (v.json) io.stdout(`${JSON.stringify(report)}\n`);
    else {
      io.stderr(formatListReport(report));
      if (v.report) io.stderr(`Problem rows written to ${v.report}\n`);
    }
    return report.problems.length > 0 ? 1 : 0;
  } catch (error) {
    const e = error as Error;
    if (v.json) {
      io.stdout(
        `${
          JSON.stringify({ type: "error", name: e.name, message: e.message })
        }\n`,
      );
    } else io.stderr(`error: ${e.message}\n`);
    return exitCode(error) === 2 ? 2 : 1;
  }
}
