import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join, relative, resolve } from "node:path";
import jsQRModule from "jsqr";
import QRCode from "qrcode";
import { type CsvRecord, readCsv, scanCsv } from "../batch/csv.ts";
import { DataError, InputError, TemplateError } from "../common/errors.ts";
import { AssetResolver, sniffImage } from "../template/assets.ts";
import { BLANK_IMAGE, pageSpec } from "../template/page_spec.ts";
import {
  loadTemplate,
  MAX_OBJECTS,
  parseTemplate,
  type Template,
} from "../template/parse.ts";
import {
  type ObjectUpdate,
  piecePayload,
  RecordError,
} from "../template/payload.ts";
import { MissingFieldsError, preflight } from "../template/preflight.ts";
import { TRICKY_CSV as TRICKY } from "./_helpers.ts";

// jsqr is CommonJS: its default import is the function itself.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

/**
 * This Deno (2.9) leaves the ops and resources sanitizers off unless asked: turn
 * them on so a test fails if a template read or an asset lookup leaks a file.
 */
const SANITIZED = { sanitizeOps: true, sanitizeResources: true };
const EXAMPLE = "examples/postcard/template.json";
const EXAMPLE_DIR = resolve("examples/postcard");
const EXAMPLE_CSV = "examples/postcard/recipients.csv";
const SOURCE = "spec.json";
const PNG_BYTES = dataUrlBytes(BLANK_IMAGE);

function parse(json: unknown): Template {
  return parseTemplate(json, { source: SOURCE, baseDir: "/nowhere" });
}

/** A 6×4 in wrapper at 300 dpi, no bleed (1800×1200 px), with `objects`. */
function wrapper(objects: unknown[], extra: Record<string, unknown> = {}) {
  return {
    name: "Test",
    size: { width: 6, height: 4, unit: "in" },
    dpi: 300,
    canvas: { width: 1800, height: 1200, objects },
    ...extra,
  };
}

function dataUrlBytes(url: string): Uint8Array {
  const base64 = url.slice(url.indexOf(",") + 1);
  return new Uint8Array(Buffer.from(base64, "base64"));
}

/** Asserts `fn` throws a `Type` whose message names the source and each of `parts`. */
/** An error class, for assertions on the class an error is of. */
type ErrorClass = abstract new (...args: never[]) => Error;

function assertInvalid(
  fn: () => unknown,
  Type: ErrorClass,
  ...parts: string[]
): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(
      error instanceof Type,
      `expected ${Type.name}, got ${(error as Error)?.name}: ${
        (error as Error)?.message
      }`,
    );
    for (const part of [SOURCE, ...parts]) {
      assert.ok(
        error.message.includes(part),
        `"${error.message}" should name ${part}`,
      );
    }
    return true;
  });
}

async function collect(path: string): Promise<CsvRecord[]> {
  const records: CsvRecord[] = [];
  for await (const record of readCsv(path)) records.push(record);
  return records;
}

/** The text a QR matrix decodes to, read back by jsqr (4 px modules, quiet zone). */
function decodeQr(qr: { size: number; modules: string }): string | undefined {
  const scale = 4;
  const quiet = 4;
  const side = (qr.size + 2 * quiet) * scale;
  const rgba = new Uint8ClampedArray(side * side * 4).fill(255);
  for (let y = 0; y < qr.size; y++) {
    for (let x = 0; x < qr.size; x++) {
      if (qr.modules[y * qr.size + x] !== "1") continue;
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) {
          const px = (x + quiet) * scale + dx;
          const py = (y + quiet) * scale + dy;
          const at = (py * side + px) * 4;
          rgba[at] = rgba[at + 1] = rgba[at + 2] = 0;
        }
      }
    }
  }
  return jsQR(rgba, side, side)?.data;
}

function byPath(template: Template, payload: { objects: ObjectUpdate[] }) {
  const out = new Map<string, ObjectUpdate>();
  for (const update of payload.objects) {
    const v = template.variables.find((v) => v.id === update.id);
    assert.ok(v, `payload names unknown object ${update.id}`);
    out.set(v.path, update);
  }
  return out;
}

/** A temp dir with assets inside and a secret PNG in a sibling dir outside. */
async function assetDirs() {
  const base = await Deno.makeTempDir({ prefix: "pressrun_assets_test_" });
  const outside = await Deno.makeTempDir({ prefix: "pressrun_outside_test_" });
  await Deno.mkdir(join(base, "img"));
  await Deno.writeFile(join(base, "img", "ok.png"), PNG_BYTES);
  await Deno.writeTextFile(join(base, "notes.txt"), "just some notes\n");
  await Deno.writeTextFile(join(base, "fake.png"), "<svg></svg>");
  await Deno.writeFile(join(outside, "secret.png"), PNG_BYTES);
  await Deno.symlink(join(outside, "secret.png"), join(base, "link.png"));
  await Deno.symlink(join(base, "img", "ok.png"), join(base, "inner-link.png"));
  return {
    base,
    secret: join(outside, "secret.png"),
    [Symbol.asyncDispose]: async () => {
      await Deno.remove(base, { recursive: true });
      await Deno.remove(outside, { recursive: true });
    },
  };
}

// parseTemplate / loadTemplate ----------------------------------------------

Deno.test(
  "parseTemplate() gives a bare 1536×1024 document a landscape 1536×1024 pt page",
  SANITIZED,
  () => {
    const t = parse({
      version: "7.4.0",
      width: 1536,
      height: 1024,
      objects: [],
    });
    assert.deepEqual(t.geometry, {
      dpi: 72,
      trimWidthPt: 1536,
      trimHeightPt: 1024,
      bleedPt: 0,
      widthPt: 1536,
      heightPt: 1024,
      pixelWidth: 1536,
      pixelHeight: 1024,
    });
    assert.equal(t.designWidth, 1536);
    assert.equal(t.designHeight, 1024);
    assert.equal(t.name, SOURCE);
    assert.deepEqual(t.fonts, []);
    assert.deepEqual(t.fields, []);
  },
);

Deno.test(
  "parseTemplate() sizes a wrapper template from its unit, dpi and bleed",
  SANITIZED,
  async (t) => {
    await t.step("6×4 in with 1/8 in bleed at 300 dpi", () => {
      const g = parse({
        size: { width: 6, height: 4, unit: "in" },
        dpi: 300,
        bleed: 0.125,
        canvas: { width: 1875, height: 1275, objects: [] },
      }).geometry;
      assert.deepEqual(
        [g.trimWidthPt, g.trimHeightPt, g.widthPt, g.heightPt, g.bleedPt],
        [432, 288, 450, 306, 9],
      );
      assert.deepEqual([g.pixelWidth, g.pixelHeight], [1875, 1275]);
    });
    await t.step(
      "A6 landscape 148×105 mm with 3 mm bleed, canvas size taken from the page",
      () => {
        const tpl = parse({
          size: { width: 148, height: 105, unit: "mm" },
          dpi: 300,
          bleed: 3,
          canvas: { objects: [] },
        });
        const g = tpl.geometry;
        assert.ok(Math.abs(g.trimWidthPt - 148 * 72 / 25.4) < 1e-9);
        assert.ok(Math.abs(g.widthPt - 154 * 72 / 25.4) < 1e-9);
        assert.deepEqual([g.pixelWidth, g.pixelHeight], [1819, 1311]);
        assert.deepEqual([tpl.designWidth, tpl.designHeight], [1819, 1311]);
      },
    );
    await t.step("1200×800 px at 150 dpi is 8×5⅓ in", () => {
      const g = parse({
        size: { width: 1200, height: 800, unit: "px" },
        dpi: 150,
        canvas: { objects: [] },
      }).geometry;
      assert.deepEqual([g.widthPt, g.heightPt], [576, 384]);
      assert.deepEqual([g.pixelWidth, g.pixelHeight], [1200, 800]);
    });
    await t.step("unit defaults to inches, dpi to 300", () => {
      const g = parse({
        size: { width: 5, height: 7 },
        canvas: { objects: [] },
      }).geometry;
      assert.deepEqual([g.widthPt, g.heightPt, g.dpi], [360, 504, 300]);
      assert.deepEqual([g.pixelWidth, g.pixelHeight], [1500, 2100]);
    });
    await t.step(
      "a smaller design of the same shape keeps its own size",
      () => {
        const tpl = parse(wrapper([], {
          canvas: { width: 600, height: 400, objects: [] },
        }));
        assert.deepEqual([tpl.designWidth, tpl.designHeight], [600, 400]);
        assert.deepEqual(
          [tpl.geometry.pixelWidth, tpl.geometry.pixelHeight],
          [1800, 1200],
        );
      },
    );
  },
);

Deno.test(
  "loadTemplate() reads the bundled postcard: 6.25×4.25 in page, its variables and fields",
  SANITIZED,
  async () => {
    const t = await loadTemplate(EXAMPLE);
    assert.equal(t.name, "Spring postcard");
    assert.equal(t.source, EXAMPLE);
    assert.equal(t.baseDir, EXAMPLE_DIR);
    assert.deepEqual([t.geometry.widthPt / 72, t.geometry.heightPt / 72], [
      6.25,
      4.25,
    ]);
    assert.deepEqual([t.geometry.pixelWidth, t.geometry.pixelHeight], [
      1875,
      1275,
    ]);
    assert.deepEqual(t.fields, [
      "photo",
      "firstName",
      "offer",
      "company",
      "lastName",
      "street",
      "city",
      "state",
      "zip",
      "id",
      "url",
    ]);
    assert.deepEqual(
      t.variables.map((v) => [v.path, v.kind, v.visibleIf ?? null]),
      [
        ["canvas.objects[0]", "image", null],
        ["canvas.objects[2]", "image", "photo"],
        ["canvas.objects[3]", "text", null],
        ["canvas.objects[4]", "text", null],
        ["canvas.objects[6]", "text", "company"],
        ["canvas.objects[8]", "text", null],
        ["canvas.objects[9]", "text", null],
        ["canvas.objects[10]", "text", null],
        ["canvas.objects[11]", "qr", null],
      ],
    );
    assert.deepEqual(t.variables[8]?.qr, { value: "{{url}}", ecc: "M" });
    const ids = t.canvas.objects.map((o) => o.pressrunId ?? null);
    assert.deepEqual(ids, [
      "v0",
      null,
      "v1",
      "v2",
      "v3",
      null,
      "v4",
      null,
      "v5",
      "v6",
      "v7",
      "v8",
      null,
    ]);
  },
);

Deno.test(
  "parseTemplate() tags a copy and leaves the caller's document untouched",
  SANITIZED,
  () => {
    const json = wrapper([
      { type: "Textbox", text: "Hi {{firstName}}" },
      { type: "Rect", visibleIf: "vip" },
    ]);
    const before = structuredClone(json);
    const t = parse(json);
    assert.deepEqual(json, before);
    assert.equal(t.canvas.objects[0]?.pressrunId, "v0");
    assert.equal(t.canvas.objects[1]?.pressrunId, "v1");
  },
);

Deno.test(
  "parseTemplate() finds variables inside groups, in every spelling of the type Fabric takes",
  SANITIZED,
  () => {
    const t = parse(wrapper([
      {
        type: "Group",
        objects: [
          { type: "Rect" },
          { type: "IText", text: "{{a}}" },
          { type: "group", objects: [{ type: "image", src: "{{b}}" }] },
        ],
      },
      { type: "i-text", text: "{{c}}" },
      { type: "text", text: "{{d}}" },
    ]));
    assert.deepEqual(
      t.variables.map((v) => [v.path, v.kind]),
      [
        ["canvas.objects[0].objects[1]", "text"],
        ["canvas.objects[0].objects[2].objects[0]", "image"],
        ["canvas.objects[1]", "text"],
        ["canvas.objects[2]", "text"],
      ],
    );
    assert.deepEqual(t.fields, ["a", "b", "c", "d"]);
    const group = t.canvas.objects[0]?.objects as Record<string, unknown>[];
    assert.equal(group[1]?.pressrunId, "v0");
  },
);

Deno.test(
  "parseTemplate() makes a fixed object variable only through visibleIf, and lists that field",
  SANITIZED,
  () => {
    const t = parse(wrapper([
      { type: "Textbox", text: "Static" },
      { type: "Textbox", text: "VIP only", visibleIf: " vip " },
      { type: "Rect" },
      { type: "Circle", visibleIf: "badge" },
    ]));
    assert.deepEqual(
      t.variables.map((v) => [v.path, v.kind, v.visibleIf]),
      [
        ["canvas.objects[1]", "text", "vip"],
        ["canvas.objects[3]", "other", "badge"],
      ],
    );
    assert.deepEqual(t.fields, ["vip", "badge"]);
  },
);

Deno.test(
  "parseTemplate() reads qr objects: value kept, ecc upper-cased, M by default",
  SANITIZED,
  () => {
    const t = parse(wrapper([
      { type: "Rect", qr: { value: "https://x.example/r/{{id}}", ecc: "h" } },
      { type: "Rect", qr: { value: "{{url}}" } },
    ]));
    assert.deepEqual(t.variables.map((v) => [v.kind, v.qr]), [
      ["qr", { value: "https://x.example/r/{{id}}", ecc: "H" }],
      ["qr", { value: "{{url}}", ecc: "M" }],
    ]);
    assert.deepEqual(t.fields, ["id", "url"]);
  },
);

Deno.test(
  "parseTemplate() reads fonts with weight 400 and style normal by default",
  SANITIZED,
  () => {
    const t = parse(wrapper([], {
      fonts: [
        { family: "Inter", src: "fonts/Inter.woff2" },
        {
          family: "Inter",
          src: "fonts/Inter-Bold.woff2",
          weight: 700,
          style: "italic",
        },
      ],
    }));
    assert.deepEqual(t.fonts, [
      {
        family: "Inter",
        src: "fonts/Inter.woff2",
        weight: "400",
        style: "normal",
      },
      {
        family: "Inter",
        src: "fonts/Inter-Bold.woff2",
        weight: "700",
        style: "italic",
      },
    ]);
  },
);

Deno.test(
  "parseTemplate() rejects a bad template with an error naming the source and the field",
  SANITIZED,
  async (t) => {
    const cases: [string, unknown, ErrorClass, string[]][] = [
      ["not an object", [1, 2], TemplateError, ["JSON object"]],
      [
        "canvas without objects",
        { size: { width: 6, height: 4 }, canvas: {} },
        TemplateError,
        [
          "canvas",
          "objects",
        ],
      ],
      ["missing size", { canvas: { objects: [] } }, TemplateError, ['"size"']],
      [
        "unknown unit",
        { size: { width: 6, height: 4, unit: "cm" }, canvas: { objects: [] } },
        TemplateError,
        [
          "size.unit",
          "cm",
        ],
      ],
      [
        "negative width",
        { size: { width: -6, height: 4 }, canvas: { objects: [] } },
        TemplateError,
        [
          "size.width",
        ],
      ],
      ["dpi out of range", wrapper([], { dpi: 5 }), TemplateError, ["dpi"]],
      ["negative bleed", wrapper([], { bleed: -1 }), TemplateError, ["bleed"]],
      [
        "canvas width not a number",
        wrapper([], {
          canvas: { width: "wide", height: 1200, objects: [] },
        }),
        TemplateError,
        ["canvas.width"],
      ],
      ["bare document without size", { objects: [] }, TemplateError, [
        "width and height",
      ]],
      [
        "bare document with zero width",
        { width: 0, height: 10, objects: [] },
        TemplateError,
        [
          "width",
        ],
      ],
      ["object that is not an object", wrapper(["rect"]), TemplateError, [
        "canvas.objects[0]",
      ]],
      [
        "unsupported object type",
        wrapper([{ type: "Rect" }, { type: "Video" }]),
        TemplateError,
        [
          'canvas.objects[1].type "Video"',
        ],
      ],
      [
        "unsupported nested type",
        wrapper([{ type: "Group", objects: [{ type: "Iframe" }] }]),
        TemplateError,
        [
          "canvas.objects[0].objects[0].type",
        ],
      ],
      [
        "bad qr.ecc",
        wrapper([{ type: "Rect", qr: { value: "x", ecc: "X" } }]),
        TemplateError,
        [
          'canvas.objects[0] (Rect) "qr.ecc"',
          '"X"',
        ],
      ],
      [
        "empty qr.value",
        wrapper([{ type: "Rect", qr: { value: "" } }]),
        TemplateError,
        [
          'canvas.objects[0] (Rect) "qr.value"',
        ],
      ],
      [
        "text that is not a string",
        wrapper([{ type: "Textbox", text: 42 }]),
        TemplateError,
        [
          "canvas.objects[0].text",
        ],
      ],
      ["image without src", wrapper([{ type: "Image" }]), TemplateError, [
        "canvas.objects[0].src",
      ]],
      [
        "visibleIf that is not a string",
        wrapper([{ type: "Rect", visibleIf: 1 }]),
        TemplateError,
        [
          'canvas.objects[0] (Rect) "visibleIf"',
        ],
      ],
      [
        "blank visibleIf",
        wrapper([{ type: "Textbox", text: "VIP", visibleIf: "   " }]),
        TemplateError,
        [
          'canvas.objects[0] (Textbox) "visibleIf"',
        ],
      ],
      [
        "empty {{}} in a text",
        wrapper([
          { type: "Rect" },
          { type: "Textbox", text: "Dear {{}}" },
        ]),
        TemplateError,
        ["{{}}", "canvas.objects[1]"],
      ],
      [
        "empty {{ }} in a qr value",
        wrapper([
          { type: "Rect", qr: { value: "https://x.example/{{ }}" } },
        ]),
        TemplateError,
        ["canvas.objects[0]"],
      ],
      [
        "canvas shape differs from the page",
        wrapper([], {
          canvas: { width: 1000, height: 1000, objects: [] },
        }),
        TemplateError,
        ["1000×1000", "1800×1200"],
      ],
      [
        "canvas matches the trim but not the page with bleed",
        wrapper([], {
          bleed: 0.125,
        }),
        TemplateError,
        ["1800×1200", "1875×1275"],
      ],
      [
        "too many objects",
        wrapper(
          Array.from({ length: MAX_OBJECTS + 1 }, () => ({ type: "Rect" })),
        ),
        TemplateError,
        [String(MAX_OBJECTS)],
      ],
      ["fonts not an array", wrapper([], { fonts: "Inter" }), TemplateError, [
        '"fonts"',
      ]],
      [
        "font without src",
        wrapper([], { fonts: [{ family: "Inter" }] }),
        TemplateError,
        [
          "fonts[0]",
        ],
      ],
    ];
    for (const [name, json, Type, parts] of cases) {
      await t.step(
        name,
        () => assertInvalid(() => parse(json), Type, ...parts),
      );
    }
  },
);

Deno.test(
  "loadTemplate() throws a TemplateError naming the file for bad JSON",
  SANITIZED,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "pressrun_template_test_" });
    try {
      const path = join(dir, "broken.json");
      await Deno.writeTextFile(path, '{ "size": { "width": 6, }');
      await assert.rejects(loadTemplate(path), (error: unknown) => {
        assert.ok(error instanceof TemplateError);
        assert.equal(error.location.source, path);
        assert.match(error.message, /^Cannot parse template /);
        assert.ok(error.message.includes(path), error.message);
        return true;
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "loadTemplate() of a file that does not exist is a TemplateError naming it",
  SANITIZED,
  async () => {
    const path = "examples/postcard/no-such-template.json";
    await assert.rejects(loadTemplate(path), (error: unknown) => {
      assert.ok(error instanceof TemplateError, String(error));
      assert.ok(error instanceof InputError);
      assert.equal(error.location.source, path);
      assert.equal(
        error.message.startsWith(`Cannot read template ${path}:`),
        true,
      );
      assert.ok(error.cause instanceof Deno.errors.NotFound);
      return true;
    });
  },
);

Deno.test(
  "loadTemplate() resolves baseDir to the template's folder and names errors after the path",
  SANITIZED,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "pressrun_template_test_" });
    try {
      const path = join(dir, "bad.json");
      await Deno.writeTextFile(
        path,
        JSON.stringify(wrapper([{ type: "Video" }])),
      );
      await assert.rejects(loadTemplate(path), (error: unknown) => {
        assert.ok(error instanceof TemplateError);
        assert.deepEqual(error.location, {
          source: path,
          field: "canvas.objects[0].type",
        });
        assert.ok(
          error.message.includes(`Invalid template ${path}`),
          error.message,
        );
        assert.ok(error.message.includes("canvas.objects[0].type"));
        return true;
      });
      await Deno.writeTextFile(path, JSON.stringify(wrapper([])));
      assert.equal(
        (await loadTemplate(path)).baseDir,
        await Deno.realPath(dir),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

// preflight ------------------------------------------------------------------

Deno.test(
  "preflight() accepts the postcard against the tricky CSV's columns",
  SANITIZED,
  async () => {
    const template = await loadTemplate(EXAMPLE);
    const { headers } = await scanCsv(TRICKY);
    assert.equal(preflight(template, headers, TRICKY), undefined);
  },
);

Deno.test(
  "preflight() throws one MissingFieldsError listing every missing column",
  SANITIZED,
  async () => {
    const template = await loadTemplate(EXAMPLE);
    const headers = (await scanCsv(TRICKY)).headers.filter(
      (h) => h !== "url" && h !== "photo",
    );
    assert.throws(() => preflight(template, headers, "people.csv"), (error) => {
      assert.ok(error instanceof MissingFieldsError);
      assert.equal(error.name, "MissingFieldsError");
      assert.deepEqual(error.missing, ["photo", "url"]);
      assert.ok(error.message.includes(EXAMPLE), error.message);
      assert.ok(error.message.includes("people.csv"), error.message);
      assert.ok(
        error.message.includes('missing columns "photo", "url"'),
        error.message,
      );
      return true;
    });
  },
);

Deno.test(
  "preflight() says column for one missing field and no columns for empty data",
  SANITIZED,
  () => {
    const template = { source: "t.json", fields: ["firstName", "id"] };
    assert.throws(
      () => preflight(template, ["firstName", "url"], "d.csv"),
      (error) => {
        assert.ok(error instanceof MissingFieldsError);
        assert.deepEqual(error.missing, ["id"]);
        assert.match(error.message, /missing column "id" \(/);
        assert.ok(error.message.includes('"firstName", "url"'));
        return true;
      },
    );
    assert.throws(
      () => preflight(template, [], "empty.csv"),
      (error) => {
        assert.ok(error instanceof MissingFieldsError);
        assert.deepEqual(error.missing, ["firstName", "id"]);
        assert.ok(error.message.includes("no columns"), error.message);
        return true;
      },
    );
  },
);

// AssetResolver / sniffImage --------------------------------------------------

Deno.test(
  "AssetResolver.imageDataUrl() turns a PNG inside the folder into a data URL",
  SANITIZED,
  async (t) => {
    await using dirs = await assetDirs();
    const assets = new AssetResolver(dirs.base);
    const expected = `data:image/png;base64,${
      Buffer.from(PNG_BYTES).toString("base64")
    }`;
    const sources = [
      "img/ok.png",
      "./img/ok.png",
      "img/../img/ok.png",
      " img/ok.png ",
      join(dirs.base, "img", "ok.png"),
      `file://${join(dirs.base, "img", "ok.png")}`,
      `FILE://${join(dirs.base, "img", "ok.png")}`,
      "inner-link.png",
    ];
    for (const src of sources) {
      await t.step(src, async () => {
        const url = await assets.imageDataUrl(src, "obj");
        assert.equal(url, expected);
        assert.deepEqual(dataUrlBytes(url), PNG_BYTES);
      });
    }
  },
);

Deno.test(
  "AssetResolver.imageDataUrl() refuses sources outside the folder, remote URLs and non-images",
  SANITIZED,
  async (t) => {
    await using dirs = await assetDirs();
    const assets = new AssetResolver(dirs.base);
    const cases: [string, string, RegExp][] = [
      [
        "relative ../ escape",
        relative(dirs.base, dirs.secret),
        /outside the template's folder/,
      ],
      [
        "deep ../ escape",
        "img/../../../../../../etc/passwd",
        /outside the template's folder/,
      ],
      ["absolute path outside", dirs.secret, /outside the template's folder/],
      [
        "file:// outside",
        `file://${dirs.secret}`,
        /outside the template's folder/,
      ],
      [
        "FILE:// outside",
        `FILE://${dirs.secret}`,
        /outside the template's folder/,
      ],
      [
        "File:// outside",
        `File://${dirs.secret}`,
        /outside the template's folder/,
      ],
      ["fIlE: outside", `fIlE:${dirs.secret}`, /outside the template's folder/],
      [
        "percent-encoded ../ in a file: URL",
        `file:%2E%2E%2F${relative(dirs.base, dirs.secret).slice(3)}`,
        /outside the template's folder/,
      ],
      ["http:", "http://example.com/a.png", /not allowed/],
      ["https:", "https://example.com/a.png", /not allowed/],
      ["HTTPS:", "HTTPS://example.com/a.png", /not allowed/],
      ["javascript:", "javascript:alert(1)", /not allowed/],
      [
        "symlink pointing outside",
        "link.png",
        /links outside the template's folder/,
      ],
      ["text file", "notes.txt", /not a PNG, JPEG, GIF, WebP or SVG image/],
      [
        "an SVG with no size, named .png",
        "fake.png",
        /the SVG has no size/,
      ],
      ["missing file", "img/missing.png", /file not found/],
      ["NUL in the path", "img/ok.png\u0000.txt", /NUL/],
      ["the folder itself", ".", /outside the template's folder/],
      ["a folder inside", "img", /img/],
      [
        "malformed percent-encoding in a file: URL",
        "file:img%zz.png",
        /img%zz/,
      ],
    ];
    for (const [name, src, pattern] of cases) {
      await t.step(name, async () => {
        await assert.rejects(
          assets.imageDataUrl(src, "canvas.objects[3].src"),
          (error: unknown) => {
            assert.ok(
              error instanceof TemplateError,
              `expected TemplateError, got ${(error as Error).name}: ${
                (error as Error).message
              }`,
            );
            assert.ok(
              error.message.startsWith("canvas.objects[3].src: "),
              error.message,
            );
            assert.match(error.message, pattern);
            return true;
          },
        );
      });
    }
  },
);

Deno.test(
  "AssetResolver.imageDataUrl() passes base64 PNG/JPEG/GIF/WebP data: URLs and refuses others",
  SANITIZED,
  async (t) => {
    await using dirs = await assetDirs();
    const assets = new AssetResolver(dirs.base);
    for (const type of ["png", "jpeg", "gif", "webp"]) {
      await t.step(`image/${type} passes`, async () => {
        const url = `data:image/${type};base64,iVBORw0KGgo=`;
        assert.equal(await assets.imageDataUrl(` ${url}\n`, "obj"), url);
      });
    }
    await t.step("an SVG data: URL with no size refused", async () => {
      await assert.rejects(
        assets.imageDataUrl(
          "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
          "obj",
        ),
        { message: /^obj: the SVG has no size/ },
      );
    });
    const refused = [
      "data:text/html;base64,PHNjcmlwdD4=",
      "data:image/png,rawbytes",
      "data:image/png;base64,<script>alert(1)</script>",
      "DATA:text/plain;base64,aGk=",
    ];
    for (const url of refused) {
      await t.step(`${url.slice(0, 30)} refused`, async () => {
        await assert.rejects(
          assets.imageDataUrl(url, "obj"),
          (error: unknown) => {
            assert.ok(error instanceof TemplateError);
            assert.match(
              error.message,
              /^obj: only base64 PNG, JPEG, GIF or WebP data URLs, or SVG data: URLs/,
            );
            return true;
          },
        );
      });
    }
  },
);

Deno.test(
  "sniffImage() tells PNG, JPEG, GIF and WebP from their magic numbers, SVG from its first element",
  SANITIZED,
  async (t) => {
    const ascii = (s: string) => new TextEncoder().encode(s);
    const cases: [string, Uint8Array, string | undefined][] = [
      ["PNG", PNG_BYTES, "png"],
      ["JPEG", new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), "jpeg"],
      ["hero.jpg", await Deno.readFile(join(EXAMPLE_DIR, "hero.jpg")), "jpeg"],
      ["GIF89a", ascii("GIF89a\x01\x00"), "gif"],
      ["WebP", ascii("RIFF\x24\x00\x00\x00WEBPVP8 "), "webp"],
      ["WAVE", ascii("RIFF\x24\x00\x00\x00WAVEfmt "), undefined],
      ["SVG", ascii("<svg xmlns='http://www.w3.org/2000/svg'/>"), "svg"],
      ["PDF", ascii("%PDF-1.7"), undefined],
      ["empty", new Uint8Array(), undefined],
    ];
    for (const [name, bytes, expected] of cases) {
      await t.step(name, () => assert.equal(sniffImage(bytes), expected));
    }
  },
);

// pageSpec ---------------------------------------------------------------------

Deno.test(
  "pageSpec() inlines the postcard's fixed image and blanks the {{photo}} one",
  SANITIZED,
  async () => {
    const template = await loadTemplate(EXAMPLE);
    const spec = await pageSpec(template, new AssetResolver(template.baseDir));
    assert.deepEqual([spec.pixelWidth, spec.pixelHeight, spec.zoom], [
      1875,
      1275,
      1,
    ]);
    const hero = spec.canvas.objects[0]?.src as string;
    assert.match(hero, /^data:image\/jpeg;base64,/);
    assert.deepEqual(
      dataUrlBytes(hero),
      await Deno.readFile(join(EXAMPLE_DIR, "hero.jpg")),
    );
    assert.equal(spec.canvas.objects[2]?.src, BLANK_IMAGE);
    assert.equal(template.canvas.objects[0]?.src, "hero.jpg");
    assert.equal(template.canvas.objects[2]?.src, "{{photo}}");
    assert.deepEqual(spec.fonts, []);
    assert.equal(sniffImage(dataUrlBytes(BLANK_IMAGE)), "png");
  },
);

Deno.test(
  "pageSpec() scales the design to the raster: zoom = pixelWidth / designWidth",
  SANITIZED,
  async (t) => {
    await using dirs = await assetDirs();
    const assets = new AssetResolver(dirs.base);
    const cases: [string, unknown, number][] = [
      [
        "600×400 design on a 6×4 in page at 300 dpi",
        wrapper([], {
          canvas: { width: 600, height: 400, objects: [] },
        }),
        3,
      ],
      ["1800×1200 design on the same page", wrapper([]), 1],
      [
        "bare 1536×1024 document",
        { width: 1536, height: 1024, objects: [] },
        1,
      ],
      [
        "6×4 in at 150 dpi from a 1800×1200 design",
        wrapper([], { dpi: 150 }),
        0.5,
      ],
    ];
    for (const [name, json, zoom] of cases) {
      await t.step(name, async () => {
        const spec = await pageSpec(parse(json), assets);
        assert.equal(spec.zoom, zoom);
      });
    }
  },
);

Deno.test(
  "pageSpec() inlines images inside groups and hands over font files as base64",
  SANITIZED,
  async () => {
    await using dirs = await assetDirs();
    const font = new Uint8Array([0x77, 0x4f, 0x46, 0x32, 1, 2, 3, 250]);
    await Deno.mkdir(join(dirs.base, "fonts"));
    await Deno.writeFile(join(dirs.base, "fonts", "Inter.woff2"), font);
    const template = parseTemplate(
      wrapper([
        { type: "Group", objects: [{ type: "Image", src: "img/ok.png" }] },
      ], {
        fonts: [{ family: "Inter", src: "fonts/Inter.woff2", weight: "700" }],
      }),
      { source: SOURCE, baseDir: dirs.base },
    );
    const spec = await pageSpec(template, new AssetResolver(dirs.base));
    const inner =
      (spec.canvas.objects[0]?.objects as Record<string, unknown>[])[0];
    assert.deepEqual(dataUrlBytes(inner?.src as string), PNG_BYTES);
    assert.deepEqual(spec.fonts, [{
      family: "Inter",
      weight: "700",
      style: "normal",
      data: Buffer.from(font).toString("base64"),
    }]);
  },
);

Deno.test(
  "pageSpec() names the template and object of an asset it may not read",
  SANITIZED,
  async (t) => {
    await using dirs = await assetDirs();
    const assets = new AssetResolver(dirs.base);
    await t.step("fixed image outside the folder", async () => {
      const template = parseTemplate(
        wrapper([{ type: "Rect" }, { type: "Image", src: dirs.secret }]),
        { source: SOURCE, baseDir: dirs.base },
      );
      await assert.rejects(pageSpec(template, assets), (error: unknown) => {
        assert.ok(error instanceof TemplateError);
        assert.ok(
          error.message.startsWith(`${SOURCE} canvas.objects[1].src: `),
          error.message,
        );
        return true;
      });
    });
    await t.step("font outside the folder", async () => {
      const template = parseTemplate(
        wrapper([], { fonts: [{ family: "X", src: dirs.secret }] }),
        { source: SOURCE, baseDir: dirs.base },
      );
      await assert.rejects(pageSpec(template, assets), (error: unknown) => {
        assert.ok(error instanceof TemplateError);
        assert.ok(
          error.message.startsWith(`${SOURCE} fonts[0].src: `),
          error.message,
        );
        return true;
      });
    });
  },
);

// piecePayload -----------------------------------------------------------------

Deno.test(
  "piecePayload() fills texts and hides empty optional parts for each tricky record",
  SANITIZED,
  async () => {
    const template = await loadTemplate(EXAMPLE);
    const assets = new AssetResolver(template.baseDir);
    const records = await collect(TRICKY);
    const first = await piecePayload(template, records[0]!, assets);
    assert.equal(first.index, 1);
    const ann = byPath(template, first);
    assert.equal(ann.get("canvas.objects[3]")?.text, "Ann, spring is here!");
    assert.equal(ann.get("canvas.objects[4]")?.text, "20% off");
    assert.equal(
      ann.get("canvas.objects[9]")?.text,
      "12 Elm St\nSpringfield IL 62701",
    );
    assert.deepEqual(ann.get("canvas.objects[6]"), {
      id: "v4",
      visible: false,
      text: "for the team at ",
    });
    assert.deepEqual(ann.get("canvas.objects[2]"), {
      id: "v1",
      visible: false,
      image: null,
    });
    const hero = ann.get("canvas.objects[0]")?.image;
    assert.deepEqual(
      dataUrlBytes(hero!),
      await Deno.readFile(join(EXAMPLE_DIR, "hero.jpg")),
    );

    const second = byPath(
      template,
      await piecePayload(template, records[1]!, assets),
    );
    assert.deepEqual(second.get("canvas.objects[6]"), {
      id: "v4",
      visible: true,
      text: 'for the team at Café "La Esquina", S.L.',
    });
    const formula = byPath(
      template,
      await piecePayload(template, records[9]!, assets),
    );
    assert.equal(
      formula.get("canvas.objects[3]")?.text,
      "=cmd|' /C calc'!A0, spring is here!",
    );
  },
);

Deno.test(
  "piecePayload() QR matrices are size×size bits that match qrcode and decode to each record's url",
  SANITIZED,
  async (t) => {
    const template = await loadTemplate(EXAMPLE);
    const assets = new AssetResolver(template.baseDir);
    for (const record of await collect(TRICKY)) {
      await t.step(`record ${record.index}`, async () => {
        const payload = await piecePayload(template, record, assets);
        const qr = byPath(template, payload).get("canvas.objects[11]")?.qr;
        assert.ok(qr);
        const url = record.values.url!;
        assert.equal(
          qr.size,
          QRCode.create(url, { errorCorrectionLevel: "M" }).modules.size,
        );
        assert.equal(qr.modules.length, qr.size * qr.size);
        assert.match(qr.modules, /^[01]+$/);
        assert.equal(decodeQr(qr), url);
      });
    }
  },
);

Deno.test(
  "piecePayload() QR matrix follows the ecc level of the object",
  SANITIZED,
  async () => {
    const text = "https://example.com/r/2?utm_source=dm&utm_campaign=spring";
    const template = parse(wrapper([
      { type: "Rect", qr: { value: "{{url}}", ecc: "L" } },
      { type: "Rect", qr: { value: "{{url}}", ecc: "H" } },
    ]));
    const payload = await piecePayload(
      template,
      { index: 1, values: { url: text } },
      new AssetResolver("/nonexistent-pressrun-dir"),
    );
    const [low, high] = payload.objects.map((o) => o.qr!);
    assert.equal(
      low!.size,
      QRCode.create(text, { errorCorrectionLevel: "L" }).modules.size,
    );
    assert.equal(
      high!.size,
      QRCode.create(text, { errorCorrectionLevel: "H" }).modules.size,
    );
    assert.ok(high!.size > low!.size);
    assert.equal(decodeQr(low!), text);
    assert.equal(decodeQr(high!), text);
  },
);

Deno.test(
  "piecePayload() loads a record's photo from the template folder",
  SANITIZED,
  async () => {
    const template = await loadTemplate(EXAMPLE);
    const assets = new AssetResolver(template.baseDir);
    const [maya] = await collect(EXAMPLE_CSV);
    const photo = byPath(template, await piecePayload(template, maya!, assets))
      .get("canvas.objects[2]");
    assert.equal(photo?.visible, true);
    assert.match(photo?.image ?? "", /^data:image\/jpeg;base64,/);
    assert.deepEqual(
      dataUrlBytes(photo!.image!),
      await Deno.readFile(join(EXAMPLE_DIR, "portrait-mb.jpg")),
    );
  },
);

Deno.test(
  "piecePayload() gives an empty image value no image, and visibleIf hides on off-values",
  SANITIZED,
  async (t) => {
    const template = parse(wrapper([
      { type: "Image", src: "{{photo}}" },
      { type: "Textbox", text: "VIP {{name}}", visibleIf: "vip" },
    ]));
    const assets = new AssetResolver("/nonexistent-pressrun-dir");
    const cases: [string, Record<string, string>, ObjectUpdate[]][] = [
      ["empty photo, vip empty", { photo: "", name: "Ann", vip: "" }, [
        { id: "v0", visible: true, image: null },
        { id: "v1", visible: false, text: "VIP Ann" },
      ]],
      ["blank photo, vip no", { photo: "  ", name: "Ann", vip: "No" }, [
        { id: "v0", visible: true, image: null },
        { id: "v1", visible: false, text: "VIP Ann" },
      ]],
      ["data photo, vip yes", { photo: BLANK_IMAGE, name: "Ann", vip: "yes" }, [
        { id: "v0", visible: true, image: BLANK_IMAGE },
        { id: "v1", visible: true, text: "VIP Ann" },
      ]],
    ];
    for (const [name, values, objects] of cases) {
      await t.step(name, async () => {
        const payload = await piecePayload(
          template,
          { index: 4, values },
          assets,
        );
        assert.deepEqual(payload, { index: 4, objects });
      });
    }
  },
);

Deno.test(
  "piecePayload() throws a RecordError naming the record and object for an empty QR value",
  SANITIZED,
  async (t) => {
    const template = parse(wrapper([
      { type: "Rect" },
      { type: "Rect", qr: { value: "{{url}}" } },
    ]));
    const assets = new AssetResolver("/nonexistent-pressrun-dir");
    for (const url of ["", "   "]) {
      await t.step(JSON.stringify(url), async () => {
        await assert.rejects(
          piecePayload(template, { index: 12, values: { url } }, assets),
          (error: unknown) => {
            assert.ok(error instanceof RecordError);
            assert.ok(error instanceof DataError);
            assert.equal(error.name, "RecordError");
            assert.equal(error.index, 12);
            assert.equal(error.location.record, 12);
            assert.match(error.message, /^Cannot render record 12: /);
            assert.ok(
              error.message.includes("canvas.objects[1].qr.value"),
              error.message,
            );
            return true;
          },
        );
      });
    }
  },
);

Deno.test(
  "piecePayload() skips the QR of an object hidden by visibleIf",
  SANITIZED,
  async () => {
    const template = parse(wrapper([
      { type: "Rect", visibleIf: "url", qr: { value: "{{url}}" } },
    ]));
    const payload = await piecePayload(
      template,
      { index: 3, values: { url: "" } },
      new AssetResolver("/nonexistent-pressrun-dir"),
    );
    assert.deepEqual(payload.objects, [{ id: "v0", visible: false }]);
  },
);

Deno.test(
  "piecePayload() turns a hostile photo path into a RecordError naming record and object",
  SANITIZED,
  async (t) => {
    const template = await loadTemplate(EXAMPLE);
    const assets = new AssetResolver(template.baseDir);
    const cases: [string, RegExp][] = [
      ["../../../../etc/passwd", /outside the template's folder/], // own-files: not a file to read
      ["/etc/passwd", /outside the template's folder/],
      ["https://attacker.example/x.png", /not allowed/],
      ["recipients.csv", /not a PNG, JPEG, GIF, WebP or SVG image/],
    ];
    const [record] = await collect(EXAMPLE_CSV);
    for (const [photo, pattern] of cases) {
      await t.step(photo, async () => {
        const values = { ...record!.values, photo };
        await assert.rejects(
          piecePayload(template, { index: 7, values }, assets),
          (error: unknown) => {
            assert.ok(error instanceof RecordError);
            assert.equal(error.index, 7);
            assert.match(error.message, /^Cannot render record 7: /);
            assert.ok(
              error.message.includes("canvas.objects[2].src"),
              error.message,
            );
            assert.match(error.message, pattern);
            return true;
          },
        );
      });
    }
  },
);

// Limits on hostile templates ----------------------------------------------

/** A wrapper of `width`×`height` px at `dpi`, the canvas sized from the page. */
function page(width: number, height: number, dpi = 300) {
  return { size: { width, height, unit: "px" }, dpi, canvas: { objects: [] } };
}

/** `inner` inside `depth` groups, the outermost first in the canvas. */
function nested(depth: number, inner: unknown = { type: "Rect" }) {
  let object = inner;
  for (let i = 0; i < depth; i++) object = { type: "Group", objects: [object] };
  return wrapper([object]);
}

Deno.test(
  "parseTemplate() keeps the raster within Chromium's canvas limits",
  SANITIZED,
  async (t) => {
    const fits: [string, unknown, [number, number]][] = [
      ["32767 px wide", page(32767, 8192), [32767, 8192]],
      ["16384×16384 px: 2²⁸ px in all", page(16384, 16384), [16384, 16384]],
      ["a bare 32767×100 document", {
        width: 32767,
        height: 100,
        objects: [],
      }, [32767, 100]],
    ];
    for (const [name, json, size] of fits) {
      await t.step(`fits: ${name}`, () => {
        const { pixelWidth, pixelHeight } = parse(json).geometry;
        assert.deepEqual([pixelWidth, pixelHeight], size);
      });
    }
    const cases: [string, unknown, string][] = [
      [
        "a side past 32767 px",
        page(40000, 1000),
        "the page is 40000×1000 px at 300 dpi; Chromium draws at most 32767 px a side",
      ],
      [
        "109.3 in at 300 dpi",
        wrapper([], { size: { width: 109.3, height: 4, unit: "in" } }),
        "the page is 32790×1200 px at 300 dpi; Chromium draws at most 32767 px a side",
      ],
      [
        "a bare document past 32767 px",
        { width: 100, height: 40000, objects: [] },
        "the page is 100×40000 px at 72 dpi; Chromium draws at most 32767 px a side",
      ],
      [
        "one row past 2²⁸ px",
        page(16384, 16385),
        "the page is 16384×16385 px at 300 dpi, 268451840 px in all; Chromium draws at most 268435456 px",
      ],
      [
        "a page that rounds to no pixels",
        wrapper([], { size: { width: 0.001, height: 0.001, unit: "in" } }),
        "the page is 0×0 px at 300 dpi; it needs at least 1 px a side",
      ],
    ];
    for (const [name, json, message] of cases) {
      await t.step(name, () => {
        assert.throws(() => parse(json), {
          name: "TemplateError",
          message: `Invalid template ${SOURCE}: ${message}`,
        });
      });
    }
  },
);

Deno.test(
  "parseTemplate() takes a text of 10000 characters and rejects a longer one by its path",
  SANITIZED,
  async (t) => {
    const text = (length: number) => "{{name}} ".padEnd(length, "é");
    await t.step("10000 characters", () => {
      const template = parse(wrapper([{ type: "Textbox", text: text(10000) }]));
      assert.equal(template.variables[0]?.text?.length, 10000);
    });
    const cases: [string, unknown, string][] = [
      [
        "a textbox",
        wrapper([{ type: "Rect" }, { type: "Textbox", text: text(10001) }]),
        "canvas.objects[1].text is 10001 characters long, the limit is 10000",
      ],
      [
        "a plain text in a group",
        nested(1, { type: "Text", text: "x".repeat(50_000) }),
        "canvas.objects[0].objects[0].text is 50000 characters long, the limit is 10000",
      ],
    ];
    for (const [name, json, message] of cases) {
      await t.step(name, () => {
        assert.throws(() => parse(json), {
          name: "TemplateError",
          message: `Invalid template ${SOURCE}: ${message}`,
        });
      });
    }
  },
);

Deno.test(
  "parseTemplate() takes groups 20 deep and names the group nested deeper",
  SANITIZED,
  async (t) => {
    await t.step("20 deep: the text inside is a variable", () => {
      const template = parse(nested(20, { type: "Textbox", text: "{{a}}" }));
      assert.equal(
        template.variables[0]?.path,
        `canvas.objects[0]${".objects[0]".repeat(20)}`,
      );
    });
    await t.step("21 deep", () => {
      assert.throws(() => parse(nested(21)), {
        name: "TemplateError",
        message: `Invalid template ${SOURCE}: canvas.objects[0]${
          ".objects[0]".repeat(20)
        } is a group nested 21 deep, the limit is 20`,
      });
    });
    await t.step("5000 deep, without overflowing the stack", () => {
      assertInvalid(
        () => parse(nested(5000)),
        TemplateError,
        "nested more than",
      );
    });
    await t.step("plain JSON 5000 deep in an object's property", () => {
      let data: unknown = 1;
      for (let i = 0; i < 5000; i++) data = i % 2 ? [data] : { data };
      assertInvalid(
        () => parse(wrapper([{ type: "Path", data }])),
        TemplateError,
        "canvas.objects[0].data[0].data[0].data[0]",
        "is nested more than 100 levels deep",
      );
    });
  },
);

Deno.test(
  "parseTemplate() names the field of a value no template can hold",
  SANITIZED,
  async (t) => {
    // {"toString": null} makes String() and template literals throw.
    const hostile = { toString: null };
    const cases: [string, unknown, ErrorClass, string[]][] = [
      ["a hostile type", wrapper([{ type: hostile }]), TemplateError, [
        "canvas.objects[0].type an object is not supported",
      ]],
      [
        "a hostile unit",
        {
          size: { width: 6, height: 4, unit: hostile },
          canvas: { objects: [] },
        },
        TemplateError,
        ["size.unit must be in, mm or px, got an object"],
      ],
      [
        "a hostile width",
        { size: { width: hostile, height: 4 }, canvas: { objects: [] } },
        TemplateError,
        ["size.width must be a number, got an object"],
      ],
      ["a string dpi", wrapper([], { dpi: "300" }), TemplateError, [
        'dpi must be a number, got "300"',
      ]],
      [
        "a hostile qr.ecc",
        wrapper([{ type: "Rect", qr: { value: "x", ecc: hostile } }]),
        TemplateError,
        [
          'canvas.objects[0] (Rect) "qr.ecc" must be "L", "M", "Q" or "H", got an object',
        ],
      ],
      [
        "a hostile font weight",
        wrapper([], {
          fonts: [{ family: "A", src: "a.ttf", weight: hostile }],
        }),
        TemplateError,
        ["fonts[0].weight must be a string or number"],
      ],
      [
        "objects on a rect",
        wrapper([{ type: "Rect", objects: [null] }]),
        TemplateError,
        ["canvas.objects[0].objects is only allowed on a group"],
      ],
      [
        "a group whose objects are not an array",
        wrapper([{ type: "Group", objects: { 0: {} } }]),
        TemplateError,
        ["canvas.objects[0].objects must be an array"],
      ],
      // deno-lint-ignore no-sparse-arrays
      [
        "a hole in the objects",
        wrapper([{ type: "Rect" }, , {}]),
        TemplateError,
        [
          "canvas.objects[1] is not an object",
        ],
      ],
    ];
    for (const [name, json, Type, parts] of cases) {
      await t.step(
        name,
        () => assertInvalid(() => parse(json), Type, ...parts),
      );
    }
  },
);

Deno.test(
  "parseTemplate() drops pressrunIds from the input, so no object can stand in for a variable",
  SANITIZED,
  () => {
    const template = parse(wrapper([
      { type: "Textbox", text: "{{name}}" },
      { type: "Rect", pressrunId: "v0" },
      { type: "Group", objects: [{ type: "Rect", pressrunId: "v0" }] },
    ]));
    const objects = template.canvas.objects;
    assert.deepEqual(
      [objects[0]!.pressrunId, objects[1]!.pressrunId],
      ["v0", undefined],
    );
    assert.equal(
      (objects[2]!.objects as Record<string, unknown>[])[0]!.pressrunId,
      undefined,
    );
  },
);

Deno.test("parseTemplate() accepts colours, gradients and data: patterns but no fetched patterns or odd clip paths", async (t) => {
  const card = (object: Record<string, unknown>) => ({
    size: { width: 6, height: 4, unit: "in" },
    dpi: 100,
    canvas: { objects: [{ type: "Rect", width: 10, height: 10, ...object }] },
  });
  const ok: [string, Record<string, unknown>][] = [
    ["a colour", { fill: "#ff0000" }],
    ["a gradient", {
      fill: {
        type: "linear",
        coords: { x1: 0, y1: 0, x2: 1, y2: 0 },
        colorStops: [],
      },
    }],
    ["a data: pattern", {
      fill: { type: "pattern", source: "data:image/png;base64,iVBORw0KGgo=" },
    }],
    ["a circle clip", { clipPath: { type: "Circle", radius: 5 } }],
    ["a group clip (Fabric renders it)", {
      clipPath: {
        type: "Group",
        objects: [
          { type: "Circle", radius: 5 },
          { type: "Group", objects: [{ type: "Path", path: [["M", 0, 0]] }] },
        ],
      },
    }],
  ];
  for (const [name, object] of ok) {
    await t.step(name, () => {
      parseTemplate(card(object), { source: "t.json", baseDir: "." });
    });
  }
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["a fetched pattern", {
      fill: { type: "pattern", source: "http://169.254.169.254/x.png" },
    }, /canvas\.objects\[0\]\.fill must be/],
    ["an SVG pattern", {
      stroke: { type: "pattern", source: "data:image/svg+xml;base64,PHN2Zy8+" },
    }, /\.stroke must be/],
    [
      "an image clip",
      { clipPath: { type: "Image", src: "http://x/y.png" } },
      /\.clipPath must be a shape/,
    ],
    [
      "an image inside a group clip",
      {
        clipPath: {
          type: "Group",
          objects: [{ type: "Rect" }, { type: "Image", src: "x.png" }],
        },
      },
      /canvas\.objects\[0\]\.clipPath\.objects\[1\] must be a shape or a group of shapes, got "Image"/,
    ],
    ["a clip with a fetched pattern", {
      clipPath: {
        type: "Rect",
        fill: { type: "pattern", source: "file:///etc/passwd" },
      },
    }, /\.clipPath\.fill must be/],
  ];
  for (const [name, object, message] of bad) {
    await t.step(name, () => {
      assert.throws(
        () => parseTemplate(card(object), { source: "t.json", baseDir: "." }),
        (e: Error) => {
          assert.ok(e instanceof TemplateError);
          assert.match(e.message, /^Invalid template t\.json: /);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }
});
