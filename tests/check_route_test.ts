import assert from "node:assert/strict";
import type { ServerLimits } from "../server/api.ts";
import { handlerApp } from "./_app.ts";
import type { CheckAnswer } from "../server/routes/check.ts";
import { loadTemplate } from "../template/parse.ts";
import {
  EXAMPLE_TEMPLATE,
  MALFORMED_CSV,
  TRICKY_BOM_CSV,
  TRICKY_COLUMNS,
  TRICKY_CSV,
} from "./_helpers.ts";

/**
 * The handler over a fresh store (see _app.ts), and a way to post a form.
 * The worker is never started: checking a CSV renders nothing, so no browser
 * is launched.
 */
async function app(
  options: { maxUploadBytes?: number; limits?: ServerLimits } = {},
) {
  const base = await handlerApp(options);
  return {
    store: base.store,
    /** Posts `fields` as a multipart form to `path`. */
    post: (
      fields: Record<string, string | [string, BlobPart]>,
      path = "/api/check",
    ) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) {
        if (typeof value === "string") form.append(name, value);
        else form.append(name, new File([value[1]], value[0]));
      }
      return base.call(path, { method: "POST", body: form });
    },
    [Symbol.asyncDispose]: () => base[Symbol.asyncDispose](),
  };
}

/** A path's bytes, as a form file part. */
async function file(path: string): Promise<[string, BlobPart]> {
  const bytes = await Deno.readFile(path);
  return [path.split("/").pop()!, bytes as Uint8Array<ArrayBuffer>];
}

Deno.test("POST /api/check describes a CSV as the batch would read it: records, columns, delimiter, first rows", async (t) => {
  await using a = await app();
  const columns = TRICKY_COLUMNS;
  const cases: [string, string, CheckAnswer["delimiter"]][] = [
    ["commas", TRICKY_CSV, ","],
    ["semicolons after a byte order mark", TRICKY_BOM_CSV, ";"],
  ];
  for (const [name, path, delimiter] of cases) {
    await t.step(name, async () => {
      const res = await a.post({
        template: "postcard",
        data: await file(path),
      });
      assert.equal(res.status, 200);
      const answer: CheckAnswer = await res.json();
      assert.equal(answer.records, 12);
      assert.deepEqual(answer.columns, columns);
      assert.equal(answer.delimiter, delimiter);
      assert.equal(answer.preview.length, 5);
      assert.deepEqual(answer.preview[0]!.slice(0, 3), ["1", "Ann", "Lee"]);
      // Quotes undone, the comma inside them kept, exactly as rendered.
      assert.equal(answer.preview[1]![3], 'Café "La Esquina", S.L.');
      assert.equal(answer.preview[4]![0], "5");
      assert.deepEqual(answer.missing, []);
    });
  }
  assert.deepEqual(await a.store.listBatches(), [], "no batch was created");
});

Deno.test("POST /api/check lists the design's fields that have no column, in the design's order", async (t) => {
  await using a = await app();
  await t.step("a library design", async () => {
    const res = await a.post({
      template: "postcard",
      data: ["few.csv", "id,url,offer\n1,https://example.com/r/1,2 for 1\n"],
    });
    assert.equal(res.status, 200);
    const answer: CheckAnswer = await res.json();
    const { fields } = await loadTemplate(EXAMPLE_TEMPLATE);
    const expected = fields.filter((f) => !["id", "url", "offer"].includes(f));
    assert.ok(expected.includes("firstName"));
    assert.deepEqual(answer.missing, expected);
    assert.deepEqual(answer.preview, [[
      "1",
      "https://example.com/r/1",
      "2 for 1",
    ]]);
  });
  await t.step(
    "an uploaded design, spaces inside the braces trimmed",
    async () => {
      const design = {
        name: "Tiny",
        size: { width: 6, height: 4, unit: "in" },
        canvas: {
          objects: [
            { type: "Textbox", text: "Hi {{ first name }}, {{city}}" },
          ],
        },
      };
      const res = await a.post({
        templateFile: ["tiny.json", JSON.stringify(design)],
        data: ["d.csv", "city,zip\nParis,75001\n"],
      });
      assert.equal(res.status, 200);
      assert.deepEqual((await res.json()).missing, ["first name"]);
    },
  );
  await t.step("no design: only the CSV is read", async () => {
    const res = await a.post({ data: ["d.csv", "name;email\nAnn;a@x\n"] });
    assert.equal(res.status, 200);
    const answer: CheckAnswer = await res.json();
    assert.deepEqual(answer.columns, ["name", "email"]);
    assert.deepEqual(answer.missing, []);
  });
});

Deno.test("POST /api/check refuses what POST /api/batches refuses, with the same JSON errors", async (t) => {
  await using a = await app({
    maxUploadBytes: 64 * 1024,
    limits: { maxRecordsPerBatch: 10 },
  });
  const cases: [
    string,
    Record<string, string | [string, BlobPart]>,
    number,
    RegExp,
  ][] = [
    [
      "a malformed line, named",
      { template: "postcard", data: await file(MALFORMED_CSV) },
      422,
      /^Cannot read recipients-malformed\.csv line 3: record 2 has 2 fields, expected 3/,
    ],
    [
      "a quote never closed, named",
      {
        template: "postcard",
        data: ["open.csv", 'id,url\n1,x\n2,"y\n3,z\n'],
      },
      422,
      /^Cannot read open\.csv line 3: quote opened here is never closed/,
    ],
    [
      "no records",
      { template: "postcard", data: ["empty.csv", "id,url\n"] },
      422,
      /empty\.csv: it has no records/,
    ],
    [
      "more records than a batch takes",
      { template: "postcard", data: await file(TRICKY_CSV) },
      413,
      /12 records; one batch takes at most 10/,
    ],
    [
      "a body over the upload limit",
      { template: "postcard", data: ["big.csv", new Uint8Array(200 * 1024)] },
      413,
      /larger than/,
    ],
    [
      "no CSV",
      { template: "postcard" },
      400,
      /"data" CSV file/,
    ],
    [
      "an unknown design",
      { template: "nope", data: await file(TRICKY_CSV) },
      404,
      /No template "nope"/,
    ],
  ];
  for (const [name, fields, status, message] of cases) {
    await t.step(name, async () => {
      const res = await a.post(fields);
      const body = await res.json();
      assert.equal(res.status, status, body.message);
      assert.match(body.message, message);
      assert.ok(body.requestId);
      const batch = await a.post(fields, "/api/batches");
      const { requestId: _, ...same } = await batch.json();
      assert.deepEqual(
        [batch.status, same],
        [status, { error: body.error, message: body.message }],
      );
    });
  }
  assert.deepEqual(await a.store.listBatches(), []);
});

Deno.test("POST /api/check says whether the design prints in the PDF mode asked for, as POST /api/batches would", async (t) => {
  await using a = await app();
  const design = (extra: Record<string, unknown>) =>
    JSON.stringify({
      name: "Blend",
      size: { width: 6, height: 4, unit: "in" },
      canvas: {
        objects: [
          { type: "Rect", width: 10, height: 10, fill: "#f00", ...extra },
          { type: "Textbox", text: "Hi {{name}}" },
        ],
      },
    });
  const data: [string, BlobPart] = ["d.csv", "name\nAnn\n"];
  const check = async (fields: Record<string, string | [string, BlobPart]>) => {
    const res = await a.post({ data, ...fields });
    assert.equal(res.status, 200);
    return (await res.json() as CheckAnswer).print;
  };
  await t.step(
    "vector by default: a blend mode is refused, naming the object",
    async () => {
      const print = await check({
        templateFile: [
          "blend.json",
          design({ globalCompositeOperation: "multiply" }),
        ],
      });
      assert.equal(print?.pdfMode, "vector");
      assert.match(
        print?.refused ?? "",
        /blend\.json.*canvas\.objects\[0\] \(Rect\).*"multiply"/,
      );
      // The same design as a batch: the 422 the check foretold.
      const res = await a.post({
        templateFile: [
          "blend.json",
          design({ globalCompositeOperation: "multiply" }),
        ],
        data,
      }, "/api/batches");
      assert.equal(res.status, 422);
      assert.equal((await res.json()).message, print?.refused);
    },
  );
  await t.step("raster: the same design prints", async () => {
    const print = await check({
      templateFile: [
        "blend.json",
        design({ globalCompositeOperation: "multiply" }),
      ],
      pdfMode: "raster",
    });
    assert.deepEqual(print, { pdfMode: "raster", warnings: [] });
  });
  await t.step("stroked text: a warning, not a refusal", async () => {
    const print = await check({
      templateFile: [
        "stroke.json",
        JSON.stringify({
          name: "Stroke",
          size: { width: 6, height: 4, unit: "in" },
          canvas: {
            objects: [{ type: "Textbox", text: "Hi {{name}}", stroke: "#000" }],
          },
        }),
      ],
    });
    assert.equal(print?.refused, undefined);
    assert.equal(print?.warnings.length, 1);
    assert.match(print!.warnings[0]!, /stroke\.json.*Type 3.*raster pages/);
  });
  await t.step("a misspelt mode is a 422, as for a batch", async () => {
    const res = await a.post({ data, template: "postcard", pdfMode: "vectr" });
    assert.equal(res.status, 422);
    assert.match(
      (await res.json()).message,
      /pdfMode must be vector or raster/,
    );
  });
  await t.step("no design: nothing to say", async () => {
    assert.equal(await check({}), undefined);
  });
});
