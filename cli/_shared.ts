/**
 * What the CLI's commands share, apart from cli.ts (which imports the
 * commands: a command importing cli.ts would wait on its top-level await):
 * where output goes, the permissions check, exit codes, and the flags more
 * than one command reads.
 *
 * @module
 */
import type { Delimiter } from "../batch/csv.ts";
import { type Encoding, ENCODINGS, parseEncoding } from "../batch/encoding.ts";
import { InputError, UsageError } from "../common/errors.ts";
import { type PageOption, parsePageOption } from "../template/page_option.ts";

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  isTerminal: boolean;
}

/**
 * The permissions a render needs that this process lacks: Chromium is a
 * subprocess, templates and outputs are files, the render page's origin is
 * a loopback server, and puppeteer reads its environment.
 */
export function missingPermissions(): string[] {
  const names = ["read", "write", "env", "run", "net", "sys"] as const;
  return names.filter((name) =>
    Deno.permissions.querySync({ name }).state !== "granted"
  );
}

/**
 * Whether an error is the user's input (exit 2) rather than a render failure
 * or a bug (exit 1): one `instanceof` on the taxonomy.
 */
export function isInputError(error: unknown): boolean {
  return error instanceof InputError;
}

/** The exit code of a render that threw `error`: 2 for input, else 1. */
export function exitCode(error: unknown): 1 | 2 {
  return isInputError(error) ? 2 : 1;
}

/** `--encoding`, checked. */
export function encoding(value: string): Encoding {
  const e = parseEncoding(value);
  if (!e) {
    throw new UsageError(
      `--encoding must be ${ENCODINGS.join(", ")} (or latin1), got "${value}"`,
      { location: { field: "--encoding" } },
    );
  }
  return e;
}

/** The page of a bare Fabric document, from --page, --dpi, --bleed, --size. */
export function pageOption(
  v: { page?: string; dpi?: string; bleed?: string; size?: string },
): PageOption | undefined {
  try {
    return parsePageOption(v, (o) => `--${o}`);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const field = /^--\w+/.exec(error.message)?.[0];
    throw new UsageError(error.message, { cause: error, location: { field } });
  }
}

/** `--delimiter`, checked. */
export function delimiter(value: string): Delimiter {
  const named: Record<string, Delimiter> = {
    ",": ",",
    ";": ";",
    "\t": "\t",
    tab: "\t",
    comma: ",",
    semicolon: ";",
  };
  const d = named[value.toLowerCase()];
  if (!d) {
    throw new UsageError(`--delimiter must be , ; or tab, got "${value}"`, {
      location: { field: "--delimiter" },
    });
  }
  return d;
}

/**
 * The flags every command that reads a template and a list takes: where
 * they are, how to read them, the browser, the output form.
 */
export const INPUT_FLAGS = {
  template: { type: "string", short: "t" },
  data: { type: "string", short: "d" },
  concurrency: { type: "string", short: "c" },
  delimiter: { type: "string" },
  encoding: { type: "string" },
  sheet: { type: "string" },
  page: { type: "string" },
  dpi: { type: "string" },
  bleed: { type: "string" },
  size: { type: "string" },
  "browser-ws": { type: "string" },
  "allow-remote-assets": { type: "boolean", default: false },
  chromium: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;
