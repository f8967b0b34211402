/**
 * The command line: `deno run -A cli.ts render --template T --data D --out DIR`.
 * Exit codes: 0 ok, 1 some records failed (or the disk filled: "disk full",
 * naming the folder), 2 bad usage or input.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Delimiter } from "./batch/csv.ts";
import type { Encoding } from "./batch/encoding.ts";
import type { PageOption } from "./template/page_option.ts";
import { type PressRequest, pressRequest } from "./batch/_press.ts";
import { IMPOSE_FLAGS } from "./pdf/_sheet.ts";
import type { OutputFormat, Progress } from "./batch/run.ts";
import { UsageError } from "./common/errors.ts";
import {
  type CliIo,
  delimiter,
  encoding,
  exitCode,
  INPUT_FLAGS,
  isInputError,
  missingPermissions,
  pageOption,
} from "./cli/_shared.ts";

export { exitCode, isInputError, missingPermissions };
export type { CliIo };
import { OVERSET_POLICIES, type OversetPolicy } from "./template/overset.ts";
import type { Logger } from "./render/log.ts";
import {
  parseRendererChoice,
  type PdfMode,
  rendererFromEnv,
} from "./render/renderer.ts";

/** Bad command-line usage; exit code 2. The taxonomy's, re-exported. */
export { UsageError };

/** Usage text of `render`. */
export const RENDER_USAGE =
  `Usage: pressrun render --template FILE --data FILE --out DIR [options]

Renders one personalised piece per CSV record from a Fabric template.

Required:
  --template FILE       template JSON (pressrun wrapper or bare Fabric toJSON())
  --data FILE           recipients: CSV with a header row (, ; or tab; UTF-8,
                        UTF-16 or Windows-1252, detected) or an .xlsx workbook
  --out DIR             output folder (created if missing)

Options:
  --renderer MODE       auto | persistent | cluster (default: $PRESSRUN_RENDERER,
                        else USE_PERSISTENT_RENDERING, else auto)
  --concurrency N       pages in the pool / pieces in flight (default: cores)
  --merge               also write merged.pdf with every piece in order
  --format F            pdf | png | jpeg per piece (default: pdf)
  --pdf-mode M          vector | raster, what a PDF page holds (default: vector):
                        vector prints each piece from its SVG (text stays text,
                        fonts embedded, shared images stored once); raster is one
                        image of the piece. PNG and JPEG pieces are raster always
  --chunk N             vector: records printed together by one page, 1-500
                        (default: 100)
  --pdf-image F         png | jpeg image inside each raster PDF (default: png)
  --quality Q           JPEG quality, above 0 and at most 1 (default: 0.92)
  --limit N             render only the first N records
  --timeout S           seconds one piece may take before its page is destroyed (default: 30)
  --on-error MODE       fail (stop at the first failed record) | skip (default: fail)
  --on-overset MODE     a record whose text overflows its box even at its
                        copyfit bounds: warn (write it, list it in the
                        manifest) | fail (the record fails; --on-error
                        applies) | skip (do not write it) (default: warn)
  --delimiter D         force the CSV delimiter: , ; or tab (default: detected)
  --encoding E          force the CSV encoding: utf-8, utf-16le, utf-16be,
                        windows-1252 (latin1) (default: detected from its bytes)
  --sheet NAME          the .xlsx sheet to read (default: the first visible
                        one); with --impose, --sheet is the press sheet: name
                        the .xlsx sheet with --worksheet then
  --page SIZE           a bare Fabric document's trim size: 6x4in, 152x102mm,
                        A6, Letter… (default: its workspace rectangle or size)
  --dpi N               with --page: raster resolution, 36-1200 (default: 300)
  --bleed LENGTH        with --page: bleed per side, e.g. 0.125in or 3mm
  --size WxH            a bare document's extent in its own units, e.g. 1800x1200
  --record-key COLS     with --merge: columns kept in each record's PDF/VT
                        document part besides its number, e.g. id,lastName
  --pdfx                PDF/X-4: every PDF piece and merged.pdf in CMYK through
                        an ICC output profile, embedded as the OutputIntent
  --icc FILE            with --pdfx: the printer's CMYK output profile (FOGRA39,
                        GRACoL, …) (default: Ghostscript's default_cmyk.icc)
  --marks               with --merge: crop and bleed marks on merged.pdf, in a
                        slug outside the bleed, the record in it (boxes kept)
  --impose NxM          also write imposed.pdf: N pieces across, M down on
                        press sheets, crop marks around the grid
  --sheet SIZE          with --impose: the press sheet: SRA3, A3, Letter,
                        Tabloid, 13x19in, 12x18in, WxHin, WxHmm
  --order O             with --impose: cut-stack (default) | step-repeat
  --duplex FILE         with --impose: a PDF of backs, one page for all or one
                        per record
  --flip E              with --duplex: long-edge (default) | short-edge
  --gutter LENGTH       with --impose: space between trims (default 2x bleed)
  --proof               also write proof.pdf: the first 5 records and those
                        most likely to go wrong (longest value of each field,
                        empty fields), watermarked, trim and safe zone drawn,
                        failed records listed
  --name PATTERN        file name label, e.g. "{{lastName}}" (default: index only)
  --allow-remote-assets fetch http(s) template images (public addresses only)
  --browser-ws URL      use a running Chromium at this WebSocket endpoint
  --chromium PATH       Chromium executable (default: $PRESSRUN_CHROMIUM or /usr/bin/chromium)
  --json                progress and result as JSON lines on stdout
  --quiet               no progress, only errors
  -h, --help            this help

Exit codes: 0 all records rendered, 1 some records failed (or the disk is full),
2 bad usage or input.`;

/** Top-level usage. */
export const USAGE = `Usage: pressrun <command> [options]

Commands:
  render     render a batch of pieces from a template and a CSV
  preflight  check every record of a list against a template before printing
  help       show help for a command

Run "pressrun render --help" for the options. Rendering needs every
permission: deno run -A cli.ts render … (or npx deno task render …).`;

/** Parsed `render` arguments. */
export interface RenderArgs {
  template: string;
  data: string;
  out: string;
  renderer: "auto" | "persistent" | "cluster";
  concurrency?: number;
  merge: boolean;
  format: OutputFormat;
  /** Asked for with --pdf-mode; undefined: the default (vector for PDF). */
  pdfMode?: PdfMode;
  /** Vector mode: records per print. */
  chunk?: number;
  pdfImage: "png" | "jpeg";
  quality?: number;
  limit?: number;
  /** Per-piece deadline, seconds. */
  timeout?: number;
  onError: "fail" | "skip";
  onOverset: OversetPolicy;
  delimiter?: Delimiter;
  encoding?: Encoding;
  sheet?: string;
  page?: PageOption;
  recordKeys?: string[];
  proof: boolean;
  press?: PressRequest;
  pdfx?: { icc?: string };
  name?: string;
  browserWs?: string;
  allowRemoteAssets: boolean;
  chromium?: string;
  json: boolean;
  quiet: boolean;
  help: boolean;
}

/** Parses the arguments after `render`. Throws {@linkcode UsageError}. */
export function parseRenderArgs(
  args: string[],
  env: { get(name: string): string | undefined } = Deno.env,
): RenderArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        ...INPUT_FLAGS,
        out: { type: "string", short: "o" },
        renderer: { type: "string" },
        merge: { type: "boolean", default: false },
        format: { type: "string", default: "pdf" },
        "pdf-mode": { type: "string" },
        chunk: { type: "string" },
        "pdf-image": { type: "string", default: "png" },
        quality: { type: "string" },
        limit: { type: "string" },
        timeout: { type: "string" },
        "on-error": { type: "string", default: "fail" },
        "on-overset": { type: "string", default: "warn" },
        "record-key": { type: "string" },
        proof: { type: "boolean", default: false },
        worksheet: { type: "string" },
        marks: { type: "boolean", default: false },
        pdfx: { type: "boolean", default: false },
        icc: { type: "string" },
        impose: { type: "string" },
        "press-sheet": { type: "string" },
        order: { type: "string" },
        duplex: { type: "string" },
        flip: { type: "string" },
        gutter: { type: "string" },
        name: { type: "string" },
        quiet: { type: "boolean", short: "q", default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  const v = parsed.values;
  const base = {
    merge: v.merge!,
    json: v.json!,
    quiet: v.quiet!,
    help: v.help!,
    allowRemoteAssets: v["allow-remote-assets"]!,
    proof: v.proof!,
  };
  if (v.help) {
    return {
      ...base,
      template: "",
      data: "",
      out: "",
      renderer: "auto",
      format: "pdf",
      pdfImage: "png",
      onError: "fail",
      onOverset: "warn",
    };
  }
  for (const name of ["template", "data", "out"] as const) {
    if (!v[name]) {
      throw new UsageError(`--${name} is required`, {
        location: { field: `--${name}` },
      });
    }
  }
  const renderer = v.renderer === undefined
    ? rendererFromEnv(env)
    : parseRendererChoice(v.renderer.trim().toLowerCase(), "--renderer");
  const format = oneOf(v.format!, "--format", ["pdf", "png", "jpeg"] as const);
  const pdfMode = v["pdf-mode"] === undefined
    ? undefined
    : oneOf(v["pdf-mode"], "--pdf-mode", ["vector", "raster"] as const);
  if (pdfMode !== undefined && format !== "pdf") {
    throw new UsageError(
      `--pdf-mode applies to --format pdf only (${format} pieces are images)`,
      { location: { field: "--pdf-mode" } },
    );
  }
  return {
    ...base,
    template: v.template!,
    data: v.data!,
    out: v.out!,
    renderer,
    concurrency: wholeNumber(v.concurrency, "--concurrency", 1, 64),
    format,
    pdfMode,
    chunk: wholeNumber(v.chunk, "--chunk", 1, 500),
    pdfImage: oneOf(v["pdf-image"]!, "--pdf-image", ["png", "jpeg"] as const),
    quality: fraction(v.quality, "--quality"),
    limit: wholeNumber(v.limit, "--limit", 1, Number.MAX_SAFE_INTEGER),
    timeout: wholeNumber(v.timeout, "--timeout", 1, 3600),
    onError: oneOf(v["on-error"]!, "--on-error", ["fail", "skip"] as const),
    onOverset: oneOf(v["on-overset"]!, "--on-overset", OVERSET_POLICIES),
    delimiter: v.delimiter === undefined ? undefined : delimiter(v.delimiter),
    encoding: v.encoding === undefined ? undefined : encoding(v.encoding),
    // --sheet is the press sheet with --impose (as print people say it),
    // the .xlsx sheet without; --worksheet and --press-sheet always mean one.
    sheet: v.worksheet ?? (v.impose === undefined ? v.sheet : undefined),
    press: press(v),
    pdfx: pdfx(v),
    page: pageOption(v),
    recordKeys: v["record-key"]?.split(",").map((k) => k.trim()).filter(
      Boolean,
    ),
    name: v.name,
    browserWs: v["browser-ws"],
    chromium: v.chromium,
  };
}

function oneOf<T extends string>(
  value: string,
  flag: string,
  allowed: readonly T[],
): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(
    `${flag} must be ${allowed.join(", ")}, got "${value}"`,
    {
      location: { field: flag },
    },
  );
}

function wholeNumber(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
    throw new UsageError(
      `${flag} must be a whole number from ${min} to ${max}, got "${value}"`,
      { location: { field: flag } },
    );
  }
  return n;
}

function fraction(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !(n > 0 && n <= 1)) {
    throw new UsageError(
      `${flag} must be a number above 0 and at most 1, got "${value}"`,
      { location: { field: flag } },
    );
  }
  return n;
}

/** PDF/X output: --pdfx, with --icc FILE. */
function pdfx(
  v: { pdfx?: boolean; icc?: string },
): { icc?: string } | undefined {
  if (v.icc !== undefined && !v.pdfx) {
    throw new UsageError("--icc is the profile of --pdfx: add --pdfx", {
      location: { field: "--icc" },
    });
  }
  return v.pdfx ? (v.icc === undefined ? {} : { icc: v.icc }) : undefined;
}

/** The press outputs asked for: --marks, --impose and its options. */
function press(v: {
  marks?: boolean;
  impose?: string;
  sheet?: string;
  "press-sheet"?: string;
  order?: string;
  duplex?: string;
  flip?: string;
  gutter?: string;
}): PressRequest | undefined {
  return pressRequest({
    ...v,
    sheet: v["press-sheet"] ?? (v.impose !== undefined ? v.sheet : undefined),
  }, IMPOSE_FLAGS);
}

const encoder = new TextEncoder();
const defaultIo: CliIo = {
  stdout: (text) => Deno.stdout.writeSync(encoder.encode(text)),
  stderr: (text) => Deno.stderr.writeSync(encoder.encode(text)),
  isTerminal: Deno.stderr.isTerminal(),
};

/** Runs the CLI with `args`; resolves to the exit code. */
export async function main(
  args: string[] = Deno.args,
  io: CliIo = defaultIo,
  signal?: AbortSignal,
): Promise<number> {
  const [command, ...rest] = args;
  if (
    command === undefined || command === "help" || command === "-h" ||
    command === "--help"
  ) {
    const { PREFLIGHT_USAGE } = await import("./cli/preflight.ts");
    io.stdout(
      `${
        rest[0] === "render"
          ? RENDER_USAGE
          : rest[0] === "preflight"
          ? PREFLIGHT_USAGE
          : USAGE
      }\n`,
    );
    return command === undefined ? 2 : 0;
  }
  if (command === "preflight") {
    const { preflightMain } = await import("./cli/preflight.ts");
    return await preflightMain(rest, io, signal);
  }
  if (command !== "render") {
    io.stderr(`error: unknown command "${command}"\n\n${USAGE}\n`);
    return 2;
  }
  const wantsHelp = rest.some((a) => a === "-h" || a === "--help");
  const missing = wantsHelp ? [] : missingPermissions();
  if (missing.length > 0) {
    io.stderr(
      `error: pressrun needs ${
        missing.join(", ")
      } access to render: run "deno run -A cli.ts ${
        args.join(" ")
      }" (or "npx deno task render …")\n`,
    );
    return 2;
  }
  let opts: RenderArgs;
  try {
    opts = parseRenderArgs(rest);
  } catch (error) {
    io.stderr(`error: ${(error as Error).message}\n\n${RENDER_USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    io.stdout(`${RENDER_USAGE}\n`);
    return 0;
  }
  const log: Logger = opts.json
    ? (level, message, fields) =>
      io.stderr(`${JSON.stringify({ level, message, ...fields })}\n`)
    : (level, message) => {
      if (opts.quiet && level !== "error") return;
      if (level === "debug") return;
      clearBar(io, opts);
      io.stderr(`${level === "info" ? "" : `${level}: `}${message}\n`);
    };
  const bar = progressPrinter(io, opts);
  // Loaded only to render: help and usage errors need no permissions.
  const { BatchFailedError, runBatch } = await import("./batch/run.ts");
  try {
    const result = await runBatch({
      template: opts.template,
      data: opts.data,
      out: opts.out,
      renderer: opts.renderer,
      concurrency: opts.concurrency,
      merge: opts.merge,
      format: opts.format,
      pdfMode: opts.pdfMode,
      chunkSize: opts.chunk,
      pdfImage: opts.pdfImage,
      quality: opts.quality,
      limit: opts.limit,
      onError: opts.onError,
      onOverset: opts.onOverset,
      delimiter: opts.delimiter,
      encoding: opts.encoding,
      sheet: opts.sheet,
      page: opts.page,
      recordKeys: opts.recordKeys,
      proof: opts.proof,
      press: opts.press,
      pdfx: opts.pdfx,
      name: opts.name,
      browser: { wsEndpoint: opts.browserWs, executablePath: opts.chromium },
      assets: { allowRemote: opts.allowRemoteAssets },
      rendering: opts.timeout
        ? { renderTimeoutMs: opts.timeout * 1000 }
        : undefined,
      onProgress: bar,
      log,
      signal,
    });
    clearBar(io, opts);
    if (opts.json) {
      const { manifest, ...summary } = result;
      io.stdout(
        `${
          JSON.stringify({
            type: "result",
            ...summary,
            merged: manifest.merged,
          })
        }\n`,
      );
    } else if (!opts.quiet) {
      io.stderr(
        `Wrote ${result.rendered} ${filesLabel(result)}${
          result.manifest.merged ? " and merged.pdf" : ""
        } to ${result.out} (manifest.json lists each record${
          result.overset
            ? `; ${result.overset} with overset text${
              result.skipped ? `, ${result.skipped} skipped` : ""
            }`
            : ""
        })\n`,
      );
    }
    return result.failed > 0 ? 1 : 0;
  } catch (error) {
    clearBar(io, opts);
    const e = error as Error;
    if (opts.json) {
      io.stdout(
        `${
          JSON.stringify({ type: "error", name: e.name, message: e.message })
        }\n`,
      );
    } else {
      io.stderr(`error: ${e.message}\n`);
    }
    if (error instanceof BatchFailedError) return 1;
    if (signal?.aborted) return 130;
    return exitCode(error);
  }
}

/**
 * "vector PDFs", "raster PDFs", "vector PDFs (2 raster)", "PNG files": what a
 * batch wrote, as the result line says it.
 */
export function filesLabel(
  result: { pdfMode?: PdfMode; manifest: { records: { kind?: PdfMode }[] } },
): string {
  const { pdfMode } = result;
  if (!pdfMode) return "files";
  const other = pdfMode === "vector" ? "raster" : "vector";
  const others = result.manifest.records.filter((r) => r.kind === other)
    .length;
  return `${pdfMode} PDFs${others ? ` (${others} ${other})` : ""}`;
}

let barShown = false;
function clearBar(io: CliIo, opts: RenderArgs): void {
  if (barShown && io.isTerminal && !opts.json) io.stderr("\r\x1b[2K");
  barShown = false;
}

/** The progress printer: a live bar on a TTY, a line every 10 % when piped, JSON with --json. */
function progressPrinter(io: CliIo, opts: RenderArgs): (p: Progress) => void {
  let lastDecile = -1;
  let lastDraw = 0;
  return (p) => {
    if (opts.json) {
      io.stdout(
        `${
          JSON.stringify({
            type: "progress",
            ...p,
            rate: round(p.rate),
            elapsedMs: Math.round(p.elapsedMs),
            etaMs: Math.round(p.etaMs),
          })
        }\n`,
      );
      return;
    }
    if (opts.quiet) return;
    const pct = p.total ? p.done / p.total : 1;
    const text = `${p.done}/${p.total} ${(pct * 100).toFixed(0)}%  ${
      p.rate.toFixed(1)
    }/s  ETA ${formatMs(p.etaMs)}  ${p.mode}${
      p.pdfMode ? ` ${p.pdfMode}` : ""
    }${p.failed ? `  failed ${p.failed}` : ""}`;
    if (io.isTerminal) {
      const now = performance.now();
      if (now - lastDraw < 80 && p.done < p.total) return;
      lastDraw = now;
      const width = 24;
      const full = Math.round(pct * width);
      io.stderr(
        `\r\x1b[2K[${"#".repeat(full)}${"-".repeat(width - full)}] ${text}`,
      );
      barShown = true;
    } else {
      const decile = Math.floor(pct * 10);
      if (decile !== lastDecile) {
        lastDecile = decile;
        io.stderr(`${text}\n`);
      }
    }
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function formatMs(ms: number): string {
  const s = Math.ceil(ms / 1000);
  return s >= 60
    ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
    : `${s}s`;
}

if (import.meta.main) {
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) Deno.exit(130);
    interrupted = true;
    defaultIo.stderr(
      "\nStopping: finishing pieces in flight (press Ctrl-C again to quit now)\n",
    );
    controller.abort(new DOMException("Interrupted", "AbortError"));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const code = await main(Deno.args, defaultIo, controller.signal);
  Deno.exit(code);
}
