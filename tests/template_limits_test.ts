import assert from "node:assert/strict";
import { join } from "node:path";
import { JobStore } from "../batch/store.ts";
import { TemplateError } from "../common/errors.ts";
import {
  checkDocumentShape,
  checkJsonText,
  MAX_JSON_CHARS,
  MAX_JSON_DEPTH,
  MAX_JSON_VALUES,
} from "../template/json_limits.ts";
import { loadTemplate, parseTemplate } from "../template/parse.ts";
import { tempDir } from "./_helpers.ts";

const SANITIZED = { sanitizeOps: true, sanitizeResources: true };
const SOURCE = "deep.json";

/** A valid 6×4 in template; `extra` adds top-level keys. */
function template(extra: Record<string, unknown> = {}) {
  return {
    size: { width: 6, height: 4, unit: "in" },
    canvas: { objects: [{ type: "Rect", width: 10, height: 10 }] },
    ...extra,
  };
}

/** `[[[…0…]]]`, `depth` arrays deep, built without recursion. */
function nestedArrays(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** The JSON text of a valid template with `depth` arrays under key "x". */
function deepText(depth: number): string {
  const head = JSON.stringify(template()).slice(0, -1);
  return `${head},"x":${"[".repeat(depth)}${"]".repeat(depth)}}`;
}

/** The path of the array nested one level past the limit under "x". */
const TOO_DEEP_X = `x${"[0]".repeat(MAX_JSON_DEPTH - 1)}`;

/** Asserts `fn` throws a TemplateError naming the source and `parts`. */
function assertRefused(fn: () => unknown, ...parts: string[]): TemplateError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof TemplateError,
    `expected a TemplateError, got ${caught}`,
  );
  for (const part of [`Invalid template ${SOURCE}: `, ...parts]) {
    assert.ok(
      caught.message.includes(part),
      `"${caught.message.slice(0, 300)}" should name ${part}`,
    );
  }
  return caught;
}

Deno.test(
  "checkJsonText() refuses the 10 MB, 5-million-deep array under an extra key, naming the key path and the limit",
  SANITIZED,
  () => {
    const text = deepText(5_000_000);
    assert.ok(text.length > 10_000_000);
    const error = assertRefused(
      () => checkJsonText(text, SOURCE),
      `${TOO_DEEP_X} is nested more than ${MAX_JSON_DEPTH} levels deep`,
    );
    assert.equal(error.location.field, TOO_DEEP_X);
    assert.equal(error.location.source, SOURCE);
  },
);

Deno.test(
  "loadTemplate() refuses a file nested past the limit before parsing it",
  SANITIZED,
  async () => {
    await using dir = await tempDir();
    const path = join(dir.path, SOURCE);
    await Deno.writeTextFile(path, deepText(5_000_000));
    await assert.rejects(() => loadTemplate(path), (error: Error) => {
      assert.ok(error instanceof TemplateError, String(error));
      assert.ok(
        error.message.includes(
          `${TOO_DEEP_X} is nested more than ${MAX_JSON_DEPTH} levels deep`,
        ),
        error.message.slice(0, 300),
      );
      return true;
    });
  },
);

Deno.test(
  "parseTemplate() walks every key: an array a million deep under an extra key is refused, naming it",
  SANITIZED,
  () => {
    const doc = template({ x: nestedArrays(1_000_000) });
    assertRefused(
      () => parseTemplate(doc, { source: SOURCE, baseDir: "." }),
      `${TOO_DEEP_X} is nested more than ${MAX_JSON_DEPTH} levels deep`,
    );
  },
);

Deno.test(
  "JobStore.addTemplate() refuses the deep document before storing (stringifying) it",
  SANITIZED,
  async () => {
    await using dir = await tempDir();
    const store = await JobStore.open(dir.path);
    try {
      await assert.rejects(
        () => store.addTemplate(template({ x: nestedArrays(1_000_000) })),
        (error: Error) =>
          error instanceof TemplateError &&
          error.message.includes(`${TOO_DEEP_X} is nested more than`),
      );
      const own = (await store.listTemplates()).filter((t) => !t.builtIn);
      assert.deepEqual(own, []);
    } finally {
      await store.close();
    }
  },
);

Deno.test(
  "checkJsonText() and checkDocumentShape() take the limits exactly and name the same place past them",
  SANITIZED,
  async (t) => {
    const cases: [string, unknown, string | undefined][] = [
      // The document is level 1, so "x"'s array is level 2.
      [
        "nested to the limit",
        template({ x: nestedArrays(MAX_JSON_DEPTH - 1) }),
        undefined,
      ],
      [
        "one level past it",
        template({ x: nestedArrays(MAX_JSON_DEPTH) }),
        `${TOO_DEEP_X} is nested more than ${MAX_JSON_DEPTH} levels deep`,
      ],
      [
        "objects and odd keys on the way",
        {
          canvas: { objects: [] },
          "a key": [{ "a.b": nestedArrays(MAX_JSON_DEPTH) }],
        },
        `["a key"][0]["a.b"]${
          "[0]".repeat(MAX_JSON_DEPTH - 3)
        } is nested more than`,
      ],
      [
        "a deep canvas property",
        template({
          canvas: {
            objects: [{ type: "Path", path: nestedArrays(MAX_JSON_DEPTH) }],
          },
        }),
        `canvas.objects[0].path${
          "[0]".repeat(MAX_JSON_DEPTH - 4)
        } is nested more than`,
      ],
      [
        "values to the limit",
        { x: new Array(MAX_JSON_VALUES - 2).fill(0) },
        undefined,
      ],
      [
        "one value past it",
        { x: new Array(MAX_JSON_VALUES - 1).fill(0) },
        `takes the document past ${MAX_JSON_VALUES} values`,
      ],
      ["brackets and quotes inside strings", {
        s: `"[{\\"${"[".repeat(500)}`,
        t: ["\\", "]]]"],
      }, undefined],
      [
        "a deep document as the root",
        nestedArrays(MAX_JSON_DEPTH + 1),
        `${"[0]".repeat(MAX_JSON_DEPTH)} is nested more than`,
      ],
    ];
    for (const [name, doc, refusal] of cases) {
      await t.step(name, () => {
        const text = JSON.stringify(doc);
        for (
          const check of [
            () => checkJsonText(text, SOURCE),
            () => checkDocumentShape(doc, SOURCE),
          ]
        ) {
          if (refusal === undefined) check();
          else assertRefused(check, refusal);
        }
      });
    }
  },
);

Deno.test(
  "checkJsonText() names the item that takes a wide array past the value limit",
  SANITIZED,
  () => {
    const text = `{"x":[${"0,".repeat(MAX_JSON_VALUES)}0]}`;
    assertRefused(
      () => checkJsonText(text, SOURCE),
      `x[${
        MAX_JSON_VALUES - 2
      }] takes the document past ${MAX_JSON_VALUES} values`,
    );
  },
);

Deno.test(
  "checkJsonText() and checkDocumentShape() refuse text and strings past the character limit",
  SANITIZED,
  () => {
    // repeat() makes a rope: the length is there without the memory.
    const long = "x".repeat(MAX_JSON_CHARS + 1);
    assertRefused(
      () => checkJsonText(long, SOURCE),
      "the document is longer than 128 Mi characters",
    );
    assertRefused(
      () => checkDocumentShape(template({ notes: [long] }), SOURCE),
      `notes[0] takes the document's strings past ${MAX_JSON_CHARS} characters`,
    );
  },
);

Deno.test(
  "checkDocumentShape() refuses a cycle as too deep instead of looping",
  SANITIZED,
  () => {
    const loop: unknown[] = [];
    loop.push(loop);
    assertRefused(
      () => checkDocumentShape(template({ loop }), SOURCE),
      `loop${"[0]".repeat(MAX_JSON_DEPTH - 1)} is nested more than`,
    );
  },
);
