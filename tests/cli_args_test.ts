import assert from "node:assert/strict";
import { BatchFailedError, type BatchResult } from "../batch/run.ts";
import { exitCode, isInputError, parseRenderArgs, UsageError } from "../cli.ts";
import {
  DataError,
  NotFoundError,
  TemplateError,
  TimeoutError,
} from "../common/errors.ts";
import {
  parseRendererChoice,
  rendererFromEnv,
} from "../render/orchestrator.ts";
import { loadTemplate } from "../template/parse.ts";
import { RecordError } from "../template/payload.ts";
import { MissingFieldsError } from "../template/preflight.ts";

/**
 * This Deno (2.9) leaves the ops and resources sanitizers off unless asked:
 * turn them on, as everywhere else in the suite.
 */
const SANITIZED = { sanitizeOps: true, sanitizeResources: true };
const REQUIRED = ["--template", "t.json", "--data", "d.csv", "--out", "out"];

/** A fake `Deno.env` holding only `vars`. */
function env(vars: Record<string, string> = {}) {
  return { get: (name: string) => vars[name] };
}

function parse(args: string[], vars: Record<string, string> = {}) {
  return parseRenderArgs(args, env(vars));
}

/** Asserts parsing `args` throws a UsageError whose message names each of `parts`. */
function assertUsage(
  args: string[],
  parts: string[],
  vars: Record<string, string> = {},
): void {
  assert.throws(() => parse(args, vars), (error: unknown) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.equal(error.name, "UsageError");
    for (const part of parts) {
      assert.ok(
        error.message.includes(part),
        `"${error.message}" should name ${part}`,
      );
    }
    return true;
  });
}

Deno.test(
  "parseRenderArgs() reads the required flags and applies the documented defaults",
  SANITIZED,
  () => {
    const args = parse(REQUIRED);
    assert.equal(args.template, "t.json");
    assert.equal(args.data, "d.csv");
    assert.equal(args.out, "out");
    assert.equal(args.renderer, "auto");
    assert.equal(args.format, "pdf");
    assert.equal(args.pdfImage, "png");
    assert.equal(args.onError, "fail");
    assert.equal(args.merge, false);
    assert.equal(args.json, false);
    assert.equal(args.quiet, false);
    assert.equal(args.help, false);
    assert.equal(args.concurrency, undefined);
    assert.equal(args.limit, undefined);
    assert.equal(args.quality, undefined);
    assert.equal(args.delimiter, undefined);
    assert.equal(args.name, undefined);
    assert.equal(args.pdfMode, undefined, "runBatch's default: vector");
    assert.equal(args.chunk, undefined);
  },
);

Deno.test(
  "parseRenderArgs() reads short flags, --flag=value and every option",
  SANITIZED,
  () => {
    const args = parse([
      "-t",
      "tpl.json",
      "-d",
      "people.csv",
      "-o",
      "out dir",
      "--renderer=cluster",
      "-c",
      "3",
      "--merge",
      "--format",
      "png",
      "--pdf-image",
      "jpeg",
      "--quality",
      "0.8",
      "--limit",
      "25",
      "--on-error",
      "skip",
      "--delimiter",
      "tab",
      "--name",
      "{{lastName}}",
      "--browser-ws",
      "ws://127.0.0.1:9222/devtools/browser/x",
      "--chromium",
      "/opt/chromium",
      "--json",
      "-q",
    ]);
    assert.deepEqual(
      {
        template: args.template,
        data: args.data,
        out: args.out,
        renderer: args.renderer,
        concurrency: args.concurrency,
        merge: args.merge,
        format: args.format,
        pdfImage: args.pdfImage,
        quality: args.quality,
        limit: args.limit,
        onError: args.onError,
        delimiter: args.delimiter,
        name: args.name,
        browserWs: args.browserWs,
        chromium: args.chromium,
        json: args.json,
        quiet: args.quiet,
      },
      {
        template: "tpl.json",
        data: "people.csv",
        out: "out dir",
        renderer: "cluster",
        concurrency: 3,
        merge: true,
        format: "png",
        pdfImage: "jpeg",
        quality: 0.8,
        limit: 25,
        onError: "skip",
        delimiter: "\t",
        name: "{{lastName}}",
        browserWs: "ws://127.0.0.1:9222/devtools/browser/x",
        chromium: "/opt/chromium",
        json: true,
        quiet: true,
      },
    );
  },
);

Deno.test(
  "parseRenderArgs() names the missing required flag in a UsageError",
  SANITIZED,
  async (t) => {
    for (const flag of ["--template", "--data", "--out"]) {
      await t.step(flag, () => {
        const i = REQUIRED.indexOf(flag);
        const args = REQUIRED.filter((_, j) => j !== i && j !== i + 1);
        assertUsage(args, [`${flag} is required`]);
      });
    }
    await t.step("--template with an empty value", () => {
      assertUsage(["--template=", "--data", "d.csv", "--out", "o"], [
        "--template is required",
      ]);
    });
  },
);

Deno.test(
  "parseRenderArgs() lets --help through without the required flags",
  SANITIZED,
  () => {
    assert.equal(parse(["--help"]).help, true);
    assert.equal(parse(["-h"]).help, true);
  },
);

Deno.test(
  "parseRenderArgs() turns unknown flags and stray arguments into a UsageError",
  SANITIZED,
  async (t) => {
    const cases: [string, string[], string][] = [
      ["unknown flag", [...REQUIRED, "--colour"], "--colour"],
      ["positional argument", [...REQUIRED, "extra.csv"], "extra.csv"],
      ["string flag without a value", [...REQUIRED, "--limit"], "--limit"],
    ];
    for (const [name, args, part] of cases) {
      await t.step(name, () => assertUsage(args, [part]));
    }
  },
);

Deno.test(
  "parseRenderArgs() takes --renderer auto, persistent or cluster and refuses others",
  SANITIZED,
  async (t) => {
    for (const mode of ["auto", "persistent", "cluster"]) {
      await t.step(mode, () => {
        assert.equal(parse([...REQUIRED, "--renderer", mode]).renderer, mode);
      });
    }
    for (const mode of ["fast", "pool"]) {
      await t.step(`"${mode}" refused`, () => {
        assertUsage([...REQUIRED, `--renderer=${mode}`], [
          "--renderer",
          `"${mode}"`,
        ]);
      });
    }
  },
);

Deno.test(
  "parseRenderArgs() takes the renderer from PRESSRUN_RENDERER and USE_PERSISTENT_RENDERING unless --renderer is given",
  SANITIZED,
  async (t) => {
    const cases: [string, string[], Record<string, string>, string][] = [
      ["no env", [], {}, "auto"],
      [
        "PRESSRUN_RENDERER=cluster",
        [],
        { PRESSRUN_RENDERER: "cluster" },
        "cluster",
      ],
      ["PRESSRUN_RENDERER=persistent", [], {
        PRESSRUN_RENDERER: "persistent",
      }, "persistent"],
      ["USE_PERSISTENT_RENDERING=false", [], {
        USE_PERSISTENT_RENDERING: "false",
      }, "cluster"],
      ["USE_PERSISTENT_RENDERING=true", [], {
        USE_PERSISTENT_RENDERING: "true",
      }, "auto"],
      ["PRESSRUN_RENDERER wins over USE_PERSISTENT_RENDERING", [], {
        PRESSRUN_RENDERER: "persistent",
        USE_PERSISTENT_RENDERING: "false",
      }, "persistent"],
      ["--renderer wins over the environment", ["--renderer", "persistent"], {
        PRESSRUN_RENDERER: "cluster",
        USE_PERSISTENT_RENDERING: "false",
      }, "persistent"],
      ["--renderer wins over a bad environment", ["--renderer", "cluster"], {
        PRESSRUN_RENDERER: "bogus",
      }, "cluster"],
    ];
    for (const [name, extra, vars, expected] of cases) {
      await t.step(name, () => {
        assert.equal(parse([...REQUIRED, ...extra], vars).renderer, expected);
      });
    }
    await t.step("a bad PRESSRUN_RENDERER is a UsageError naming it", () => {
      assertUsage(REQUIRED, ["PRESSRUN_RENDERER", '"turbo"'], {
        PRESSRUN_RENDERER: "turbo",
      });
    });
    await t.step(
      "a bad USE_PERSISTENT_RENDERING is a UsageError naming it",
      () => {
        assertUsage(REQUIRED, ["USE_PERSISTENT_RENDERING", '"maybe"'], {
          USE_PERSISTENT_RENDERING: "maybe",
        });
      },
    );
  },
);

Deno.test(
  "parseRenderArgs() takes --concurrency 1..64 and --limit ≥ 1 as whole numbers only",
  SANITIZED,
  async (t) => {
    const good: [string, string, number][] = [
      ["--concurrency", "1", 1],
      ["--concurrency", "64", 64],
      ["--concurrency", " 8 ", 8],
      ["--limit", "1", 1],
      ["--limit", "4000", 4000],
    ];
    for (const [flag, value, expected] of good) {
      await t.step(`${flag} ${JSON.stringify(value)}`, () => {
        const args = parse([...REQUIRED, flag, value]);
        assert.equal(
          flag === "--limit" ? args.limit : args.concurrency,
          expected,
        );
      });
    }
    const bad: [string, string][] = [
      ["--concurrency", "0"],
      ["--concurrency", "65"],
      ["--concurrency", "1.5"],
      ["--concurrency", "-2"],
      ["--concurrency", "four"],
      ["--concurrency", ""],
      ["--concurrency", "1e1"],
      ["--concurrency", "0x10"],
      ["--limit", "0"],
      ["--limit", "2.5"],
      ["--limit", "-1"],
      ["--limit", "ten"],
    ];
    for (const [flag, value] of bad) {
      await t.step(`${flag} ${JSON.stringify(value)} refused`, () => {
        assertUsage([...REQUIRED, `${flag}=${value}`], [
          flag,
          "whole number",
          `"${value}"`,
        ]);
      });
    }
  },
);

Deno.test(
  "parseRenderArgs() takes --quality above 0 and at most 1",
  SANITIZED,
  async (t) => {
    for (
      const [value, expected] of [["1", 1], ["0.92", 0.92], [
        ".5",
        0.5,
      ]] as const
    ) {
      await t.step(value, () => {
        assert.equal(
          parse([...REQUIRED, "--quality", value]).quality,
          expected,
        );
      });
    }
    for (const value of ["0", "1.5", "-0.1", "high", "", "NaN", "92"]) {
      await t.step(`${JSON.stringify(value)} refused`, () => {
        assertUsage([...REQUIRED, `--quality=${value}`], [
          "--quality",
          `"${value}"`,
        ]);
      });
    }
  },
);

Deno.test(
  "parseRenderArgs() takes --delimiter as , ; tab or their names",
  SANITIZED,
  async (t) => {
    const cases: [string, string][] = [
      [",", ","],
      [";", ";"],
      ["\t", "\t"],
      ["tab", "\t"],
      ["TAB", "\t"],
      ["comma", ","],
      ["semicolon", ";"],
    ];
    for (const [value, expected] of cases) {
      await t.step(JSON.stringify(value), () => {
        assert.equal(
          parse([...REQUIRED, "--delimiter", value]).delimiter,
          expected,
        );
      });
    }
    for (const value of ["|", "space", ",;", ""]) {
      await t.step(`${JSON.stringify(value)} refused`, () => {
        assertUsage([...REQUIRED, `--delimiter=${value}`], [
          "--delimiter",
          `"${value}"`,
        ]);
      });
    }
  },
);

Deno.test(
  "parseRenderArgs() checks --format, --pdf-image and --on-error against their values",
  SANITIZED,
  async (t) => {
    const good: [string, string, keyof ReturnType<typeof parse>][] = [
      ["--format", "pdf", "format"],
      ["--format", "png", "format"],
      ["--format", "jpeg", "format"],
      ["--pdf-image", "png", "pdfImage"],
      ["--pdf-image", "jpeg", "pdfImage"],
      ["--pdf-mode", "vector", "pdfMode"],
      ["--pdf-mode", "raster", "pdfMode"],
      ["--on-error", "fail", "onError"],
      ["--on-error", "skip", "onError"],
    ];
    for (const [flag, value, key] of good) {
      await t.step(`${flag} ${value}`, () => {
        assert.equal(parse([...REQUIRED, flag, value])[key], value);
      });
    }
    const bad: [string, string][] = [
      ["--format", "tiff"],
      ["--format", "jpg"],
      ["--pdf-image", "webp"],
      ["--pdf-mode", "svg"],
      ["--pdf-mode", "Vector"],
      ["--on-error", "ignore"],
      ["--on-error", "continue"],
    ];
    for (const [flag, value] of bad) {
      await t.step(`${flag} ${value} refused`, () => {
        assertUsage([...REQUIRED, flag, value], [flag, `"${value}"`]);
      });
    }
  },
);

Deno.test(
  "parseRenderArgs() reads --chunk as a whole number from 1 to 500, and --pdf-mode for PDF pieces only",
  SANITIZED,
  async (t) => {
    await t.step("--chunk 50", () => {
      assert.equal(parse([...REQUIRED, "--chunk", "50"]).chunk, 50);
    });
    for (const value of ["0", "501", "2.5", "many"]) {
      await t.step(`--chunk ${value} refused`, () => {
        assertUsage([...REQUIRED, "--chunk", value], ["--chunk", value]);
      });
    }
    await t.step("--pdf-mode with --format png refused", () => {
      assertUsage(
        [...REQUIRED, "--format", "png", "--pdf-mode", "vector"],
        ["--pdf-mode", "png"],
      );
    });
  },
);

Deno.test(
  "isInputError() is instanceof InputError: the user's input (exit 2), never a bug or a render failure",
  SANITIZED,
  async (t) => {
    const missingTemplate = await loadTemplate("no/such/template.json").then(
      () => undefined,
      (error: unknown) => error,
    );
    const input: [string, unknown][] = [
      ["UsageError", new UsageError("--out is required")],
      ["TemplateError", new TemplateError("Invalid template t.json: bad dpi")],
      ["DataError", new DataError("Cannot read d.csv line 4: bad quote")],
      ["MissingFieldsError", new MissingFieldsError("missing", ["url"])],
      ["RecordError", new RecordError(3, 'objects[2].src: "x.png" not found')],
      ["NotFoundError", new NotFoundError('No template "x"')],
      ["loadTemplate() of a missing file", missingTemplate],
    ];
    for (const [name, error] of input) {
      await t.step(`${name} is input`, () => {
        assert.ok(error, "expected an error");
        assert.equal(isInputError(error), true);
        assert.equal(exitCode(error), 2);
      });
    }
    const notInput: [string, unknown][] = [
      ["plain Error", new Error("Chromium crashed")],
      [
        "a bug's TypeError",
        new TypeError("Cannot read properties of undefined (reading 'mode')"),
      ],
      ["SyntaxError", new SyntaxError("Unexpected token")],
      ["RangeError", new RangeError("Invalid array length")],
      ["Deno.errors.NotFound", new Deno.errors.NotFound("no such file")],
      ["TimeoutError", new TimeoutError("No answer within 30000 ms")],
      ["AbortError", new DOMException("Interrupted", "AbortError")],
      ["string", "Cannot read template x"],
      ["undefined", undefined],
    ];
    for (const [name, error] of notInput) {
      await t.step(`${name} is not input: exit 1`, () => {
        assert.equal(isInputError(error), false);
        assert.equal(exitCode(error), 1);
      });
    }
    await t.step("BatchFailedError is not input", () => {
      const error = new BatchFailedError(
        "Record 3 failed",
        {} as BatchResult,
      );
      assert.equal(isInputError(error), false);
    });
  },
);

Deno.test(
  "rendererFromEnv() reads PRESSRUN_RENDERER, then USE_PERSISTENT_RENDERING, else auto",
  SANITIZED,
  async (t) => {
    const cases: [Record<string, string>, string][] = [
      [{}, "auto"],
      [{ PRESSRUN_RENDERER: "auto" }, "auto"],
      [{ PRESSRUN_RENDERER: "persistent" }, "persistent"],
      [{ PRESSRUN_RENDERER: " Cluster " }, "cluster"],
      [{ PRESSRUN_RENDERER: "", USE_PERSISTENT_RENDERING: "false" }, "cluster"],
      [
        { PRESSRUN_RENDERER: "persistent", USE_PERSISTENT_RENDERING: "0" },
        "persistent",
      ],
      [{ USE_PERSISTENT_RENDERING: "" }, "auto"],
      ...["true", "1", "yes", "on", " TRUE "].map((
        v,
      ): [Record<string, string>, string] => [
        { USE_PERSISTENT_RENDERING: v },
        "auto",
      ]),
      ...["false", "0", "no", "off", "False"].map((
        v,
      ): [Record<string, string>, string] => [
        { USE_PERSISTENT_RENDERING: v },
        "cluster",
      ]),
    ];
    for (const [vars, expected] of cases) {
      await t.step(JSON.stringify(vars), () => {
        assert.equal(rendererFromEnv(env(vars)), expected);
      });
    }
    const bad: [Record<string, string>, string][] = [
      [{ PRESSRUN_RENDERER: "turbo" }, "PRESSRUN_RENDERER"],
      [{ USE_PERSISTENT_RENDERING: "maybe" }, "USE_PERSISTENT_RENDERING"],
    ];
    for (const [vars, name] of bad) {
      await t.step(`${JSON.stringify(vars)} refused`, () => {
        assert.throws(() => rendererFromEnv(env(vars)), (error: unknown) => {
          assert.ok(error instanceof UsageError);
          assert.ok(error.message.startsWith(`${name} must be`), error.message);
          return true;
        });
      });
    }
  },
);

Deno.test(
  "parseRendererChoice() accepts the three modes and names the source of a bad one",
  SANITIZED,
  () => {
    assert.deepEqual(
      ["auto", "persistent", "cluster"].map((v) => parseRendererChoice(v)),
      ["auto", "persistent", "cluster"],
    );
    assert.throws(
      () => parseRendererChoice("fast", "options.renderer"),
      {
        name: "UsageError",
        message:
          'options.renderer must be auto, persistent or cluster, got "fast"',
      },
    );
    assert.throws(
      () => parseRendererChoice("fast"),
      /^UsageError: renderer must be/,
    );
  },
);
