import assert from "node:assert/strict";
import { join } from "node:path";
import { BatchFailedError, runBatch } from "../batch/run.ts";
import type { ManifestEntry } from "../batch/manifest.ts";
import { Metrics } from "../batch/metrics.ts";
import { JobStore } from "../batch/store.ts";
import { BatchWorker } from "../batch/worker.ts";
import { InputError, TemplateError } from "../common/errors.ts";
import { Browser } from "../render/browser.ts";
import type { LogLevel } from "../render/log.ts";
import type { LayoutRecord, TextFitInfo } from "../render/page_api.ts";
import { PersistentRenderer } from "../render/persistent.ts";
import { type RenderedPiece, RenderPage } from "../render/render_page.ts";
import type {} from "../render/page/globals.d.ts";
import { createHandler } from "../server.ts";
import { AssetResolver } from "../template/assets.ts";
import { OversetError } from "../template/overset.ts";
import { pageSpec } from "../template/page_spec.ts";
import { parseTemplate, type Template } from "../template/parse.ts";
import { type PiecePayload, piecePayload } from "../template/payload.ts";
import {
  cli,
  EXAMPLE_TEMPLATE,
  imageOf,
  pdfInfo,
  readPng,
  renderArgs,
  run,
  tempDir,
} from "./_helpers.ts";

/** The name box of the example postcard: "{{firstName}} {{lastName}}". */
const NAME_TEXT = "{{firstName}} {{lastName}}";
/** The copyfit bounds the tests give the example's name box. */
const NAME_BOUNDS = { minCharSpacing: -100, minScaleX: 0.7 };
/** The name box's own: 44 px shrinking to 16 px (examples/postcard). */
const NAME_SIZE = { fontSize: 44, minFontSize: 16 };
/** A long single word, cut to the length asked for. */
const LONG = "Abcdefghijklmnopqrstuvwxyz".repeat(8);
/** A last name too long for the name box even at its bounds. */
const TOO_LONG = LONG.slice(0, 140);

/**
 * The example postcard's document with its name box given `bounds` (as a
 * user would write them into the template), and the box's path.
 */
async function exampleDocument(
  bounds: Record<string, unknown> = NAME_BOUNDS,
): Promise<{ doc: Record<string, unknown>; path: string }> {
  const doc = JSON.parse(await Deno.readTextFile(EXAMPLE_TEMPLATE));
  const objects: Record<string, unknown>[] = doc.canvas.objects;
  const i = objects.findIndex((o) => o.text === NAME_TEXT);
  assert.ok(i >= 0, "the example has a name box");
  Object.assign(objects[i]!, bounds);
  return { doc, path: `canvas.objects[${i}]` };
}

/** The example postcard with its name box given copyfit bounds. */
async function exampleTemplate(): Promise<Template> {
  const { doc } = await exampleDocument();
  return parseTemplate(doc, {
    source: "postcard.json",
    baseDir: "examples/postcard",
  });
}

/** A recipient of the example, with `lastName`. */
function recipient(lastName: string, firstName = "Ann") {
  return {
    id: "1001",
    firstName,
    lastName,
    company: "",
    street: "214 Orchard Lane",
    city: "Portland",
    state: "OR",
    zip: "97205",
    offer: "20% off",
    url: "https://example.com/r/1001",
    photo: "",
  };
}

/** The payloads of `template` for `rows`, numbered from 1. */
async function payloads(
  template: Template,
  rows: Record<string, string>[],
): Promise<PiecePayload[]> {
  const assets = new AssetResolver(template.baseDir);
  return await Promise.all(
    rows.map((values, i) =>
      piecePayload(template, { index: i + 1, values }, assets)
    ),
  );
}

/** The id of the variable whose text is `text`. */
function idOf(template: Template, text: string): string {
  const v = template.variables.find((v) => v.text === text);
  assert.ok(v, `no variable with the text ${text}`);
  return v.id;
}

/** The fit the page reports for object `id` of a laid-out record. */
function fitOf(record: LayoutRecord, id: string): TextFitInfo {
  const fit = record.texts.find((t) => t.id === id);
  assert.ok(fit, `record ${record.index} reports no fit for ${id}`);
  return fit;
}

/** A CSV of the example's columns with these last names. */
function csvOf(lastNames: string[]): string {
  const columns = Object.keys(recipient(""));
  const rows = lastNames.map((name) =>
    Object.values(recipient(name)).map((v) => JSON.stringify(v)).join(",")
  );
  return `${columns.join(",")}\n${rows.join("\n")}\n`;
}

/** A logger that keeps the lines, for the test to read. */
function logLines() {
  const lines: { level: LogLevel; message: string; fields?: unknown }[] = [];
  return {
    lines,
    log: (level: LogLevel, message: string, fields?: unknown) =>
      void lines.push({ level, message, fields }),
  };
}

Deno.test("parseTemplate() names the file, the object and the property of each bad copyfit setting", async (t) => {
  const text = (extra: Record<string, unknown>) => ({
    type: "Textbox",
    left: 10,
    top: 10,
    width: 300,
    height: 60,
    text: "{{name}}",
    fontSize: 40,
    ...extra,
  });
  // [name, object at canvas.objects[1], property, what the message says]
  const cases: [string, Record<string, unknown>, string, string][] = [
    [
      "a misspelt fit",
      text({ fit: "shrnk" }),
      "fit",
      'must be "shrink", "grow" or "fit", got "shrnk"',
    ],
    [
      "a fit in the wrong case",
      text({ fit: "Grow", maxFontSize: 60 }),
      "fit",
      'must be "shrink", "grow" or "fit", got "Grow"',
    ],
    [
      "minFontSize above maxFontSize",
      text({ fit: "fit", minFontSize: 50, maxFontSize: 45 }),
      "minFontSize",
      "must be at most the maxFontSize 45, got 50",
    ],
    [
      "maxFontSize below the fontSize",
      text({ fit: "grow", maxFontSize: 30 }),
      "maxFontSize",
      "must be at least the fontSize 40 to grow from, got 30",
    ],
    [
      "grow without maxFontSize",
      text({ fit: "grow" }),
      "maxFontSize",
      'is required with "fit": "grow"',
    ],
    [
      "fit without maxFontSize",
      text({ fit: "fit", minFontSize: 10 }),
      "maxFontSize",
      'is required with "fit": "fit"',
    ],
    [
      "maxFontSize on a shrinking text",
      text({ fit: "shrink", maxFontSize: 60 }),
      "maxFontSize",
      'applies with "fit": "grow" or "fit" only',
    ],
    [
      "maxFontSize a string",
      text({ fit: "grow", maxFontSize: "60" }),
      "maxFontSize",
      'must be a positive number, got "60"',
    ],
    [
      "minFontSize on a growing text",
      text({ fit: "grow", maxFontSize: 60, minFontSize: 10 }),
      "minFontSize",
      'does not apply to "fit": "grow"',
    ],
    [
      "minScaleX zero",
      text({ fit: "shrink", minScaleX: 0 }),
      "minScaleX",
      "must be a number above 0 and at most 1, got 0",
    ],
    [
      "minScaleX above 1",
      text({ fit: "shrink", minScaleX: 1.2 }),
      "minScaleX",
      "must be a number above 0 and at most 1, got 1.2",
    ],
    [
      "minScaleX a string",
      text({ fit: "shrink", minScaleX: "0.8" }),
      "minScaleX",
      'must be a number above 0 and at most 1, got "0.8"',
    ],
    [
      "minCharSpacing past -1000",
      text({ fit: "shrink", minCharSpacing: -1500 }),
      "minCharSpacing",
      "must be a number from -1000 (1/1000 em), got -1500",
    ],
    [
      "minCharSpacing above the text's own",
      text({ fit: "shrink", charSpacing: 50, minCharSpacing: 80 }),
      "minCharSpacing",
      "must be at most the charSpacing 50 to tighten from, got 80",
    ],
    [
      "a bound without a fit",
      text({ minCharSpacing: -50 }),
      "minCharSpacing",
      'applies with a "fit" ("shrink", "grow" or "fit") only',
    ],
    [
      "a bound on a shape",
      { type: "Rect", width: 10, height: 10, minScaleX: 0.8 },
      "minScaleX",
      "applies to text only",
    ],
    [
      "a bound on an image",
      { type: "Image", src: "{{photo}}", maxFontSize: 60 },
      "maxFontSize",
      "applies to text only",
    ],
  ];
  for (const [name, object, property, problem] of cases) {
    await t.step(name, () => {
      const doc = {
        name: "Card",
        size: { width: 6, height: 4, unit: "in" },
        dpi: 100,
        canvas: {
          width: 600,
          height: 400,
          objects: [{ type: "Rect", width: 5, height: 5 }, object],
        },
      };
      assert.throws(
        () => parseTemplate(doc, { source: "card.json", baseDir: "." }),
        (error: unknown) => {
          assert.ok(error instanceof TemplateError, String(error));
          assert.ok(error instanceof InputError);
          const prefix = `Cannot read card.json: canvas.objects[1] (${
            String(object.type)
          }) "${property}" `;
          assert.ok(
            error.message.startsWith(prefix) &&
              error.message.includes(problem),
            `${error.message}\nshould start with ${prefix}and say ${problem}`,
          );
          assert.deepEqual(error.location, {
            source: "card.json",
            field: `canvas.objects[1].${property}`,
          });
          return true;
        },
      );
    });
  }
  await t.step("every bound, valid, reaches the page", () => {
    const template = parseTemplate({
      name: "Card",
      size: { width: 6, height: 4, unit: "in" },
      dpi: 100,
      canvas: {
        width: 600,
        height: 400,
        objects: [text({
          fit: "fit",
          minFontSize: 12,
          maxFontSize: 60,
          minCharSpacing: -50,
          minScaleX: 0.8,
        })],
      },
    }, { source: "card.json", baseDir: "." });
    assert.deepEqual(template.variables[0]?.style, {
      kind: "text",
      fit: "fit",
      minFontSize: 12,
      maxFontSize: 60,
      minCharSpacing: -50,
      minScaleX: 0.8,
    });
  });
});

Deno.test("PersistentRenderer.layout() reports a longer and longer name shrinking, then tightening its letter spacing, then narrowing, then overset at its bounds", async () => {
  const template = await exampleTemplate();
  const name = idOf(template, NAME_TEXT);
  const lengths = Array.from({ length: 140 }, (_, i) => i + 1);
  const records = await payloads(
    template,
    lengths.map((n) => recipient(LONG.slice(0, n))),
  );
  await using browser = await Browser.launch();
  const spec = await pageSpec(template, new AssetResolver(template.baseDir));
  await using pool = await PersistentRenderer.start(browser, spec, {
    pages: 2,
  });
  const laidOut = await pool.layout(records);
  assert.deepEqual(laidOut.map((r) => r.index), lengths);
  const { fontSize, minFontSize } = NAME_SIZE;
  const { minCharSpacing, minScaleX } = NAME_BOUNDS;
  // The step each record's name reached: 0 as designed, 1 smaller, 2
  // tighter, 3 narrower, 4 overset (at all three bounds).
  const steps = laidOut.map((record) => {
    const fit = fitOf(record, name);
    const overset = record.overset.some((o) => o.id === name);
    const where = `record ${record.index}: ${JSON.stringify(fit)}`;
    if (overset) {
      assert.deepEqual(
        [fit.fontSize, fit.charSpacing, fit.scaleX],
        [minFontSize, minCharSpacing, minScaleX],
        where,
      );
      return 4;
    }
    if (fit.scaleX < 1) {
      assert.deepEqual([fit.fontSize, fit.charSpacing], [
        minFontSize,
        minCharSpacing,
      ], where);
      assert.ok(fit.scaleX >= minScaleX, where);
      return 3;
    }
    if (fit.charSpacing < 0) {
      assert.equal(fit.fontSize, minFontSize, where);
      assert.ok(fit.charSpacing >= minCharSpacing, where);
      return 2;
    }
    assert.ok(
      fit.fontSize >= minFontSize && fit.fontSize <= fontSize,
      where,
    );
    return fit.fontSize < fontSize ? 1 : 0;
  });
  assert.deepEqual(
    [...new Set(steps)],
    [0, 1, 2, 3, 4],
    `each step in order, none skipped or gone back to: ${steps.join("")}`,
  );
  assert.deepEqual(steps, [...steps].sort(), steps.join(""));
  // A smaller step than before never comes back: sizes fall as names grow.
  const shrinking = laidOut.filter((_, i) => steps[i] === 1)
    .map((r) => fitOf(r, name).fontSize);
  assert.deepEqual(shrinking, [...shrinking].sort((a, b) => b - a));
  // The other texts of the postcard are as designed, never overset.
  for (const record of laidOut) {
    assert.deepEqual(
      record.overset.map((o) => o.id),
      steps[record.index - 1] === 4 ? [name] : [],
    );
  }
});

Deno.test("layout() grows a short text up to maxFontSize, never shrinks a growing one, and narrows an IText that is too wide", async () => {
  const doc = {
    name: "Grow",
    size: { width: 6, height: 4, unit: "in" },
    dpi: 100,
    canvas: {
      width: 600,
      height: 400,
      objects: [
        {
          type: "Textbox",
          left: 20,
          top: 20,
          width: 400,
          height: 120,
          text: "{{headline}}",
          fontSize: 20,
          fontFamily: "Noto Sans",
          fit: "grow",
          maxFontSize: 60,
        },
        {
          type: "Textbox",
          left: 20,
          top: 160,
          width: 400,
          height: 80,
          text: "{{headline}}",
          fontSize: 20,
          fontFamily: "Noto Sans",
          fit: "fit",
          minFontSize: 8,
          maxFontSize: 40,
        },
        {
          type: "IText",
          left: 20,
          top: 300,
          width: 200,
          text: "{{code}}",
          fontSize: 30,
          fontFamily: "Noto Sans",
          fit: "shrink",
          minFontSize: 30,
          minScaleX: 0.5,
        },
      ],
    },
  };
  const template = parseTemplate(doc, { source: "grow.json", baseDir: "." });
  const [grow, fit, code] = template.variables.map((v) => v.id);
  const sentence = "Spring is here, and so is your discount";
  const records = await payloads(template, [
    { headline: "Hi", code: "AB12" },
    { headline: sentence, code: "AB12-CD34-EF56" },
    {
      headline: `${sentence}. `.repeat(8),
      code: "AB12-CD34-EF56-GH78-IJ90-KL12",
    },
  ]);
  await using browser = await Browser.launch();
  const spec = await pageSpec(template, new AssetResolver("."));
  await using pool = await PersistentRenderer.start(browser, spec, {
    pages: 1,
  });
  const [short, medium, long] = await pool.layout(records);
  // A short headline grows to the largest size allowed.
  assert.deepEqual(fitOf(short!, grow!), {
    id: grow,
    fontSize: 60,
    charSpacing: 0,
    scaleX: 1,
  });
  assert.equal(fitOf(short!, fit!).fontSize, 40);
  assert.deepEqual(fitOf(short!, code!).scaleX, 1);
  assert.deepEqual(short!.overset, []);
  // A sentence grows as far as the box lets it: larger than designed, not
  // the largest allowed.
  const grown = fitOf(medium!, grow!).fontSize;
  assert.ok(grown > 20 && grown < 60, `grown to ${grown}`);
  const fitted = fitOf(medium!, fit!).fontSize;
  assert.ok(fitted > 8 && fitted < 40, `fitted to ${fitted}`);
  // A code wider than its IText narrows (it may not shrink: min = size).
  const narrowed = fitOf(medium!, code!);
  assert.equal(narrowed.fontSize, 30);
  assert.ok(narrowed.scaleX < 1 && narrowed.scaleX > 0.5, `${narrowed.scaleX}`);
  assert.deepEqual(medium!.overset, []);
  // Too long to fit at the design size: a growing text stays at it and is
  // overset; a fitting one shrinks.
  assert.deepEqual(long!.overset.map((o) => o.id).sort(), [grow, code].sort());
  assert.equal(fitOf(long!, grow!).fontSize, 20);
  assert.ok(fitOf(long!, fit!).fontSize < 20);
  assert.deepEqual(fitOf(long!, code!), {
    id: code,
    fontSize: 30,
    charSpacing: 0,
    scaleX: 0.5,
  });
});

Deno.test("layout() reports the overset texts that render() reports for the same records, raster and vector, and an overset name is drawn past its box", async () => {
  await using dir = await tempDir();
  const template = await exampleTemplate();
  const name = idOf(template, NAME_TEXT);
  const lastNames = [
    "Brooks",
    LONG.slice(0, 40),
    TOO_LONG,
    LONG.slice(0, 70),
    LONG.slice(0, 95),
    `${TOO_LONG}x`,
    "Kapoor",
  ];
  const firstNames = [
    "Maya",
    "Arjun",
    "Sofía",
    "Liam",
    "Hannah",
    "Kenji",
    "Noah",
  ];
  const records = await payloads(
    template,
    lastNames.map((last, i) => ({
      ...recipient(last, firstNames[i]),
      id: String(2001 + i),
    })),
  );
  await using browser = await Browser.launch();
  const spec = await pageSpec(template, new AssetResolver(template.baseDir));
  await using raster = await PersistentRenderer.start(browser, spec, {
    pages: 2,
  });
  await using vector = await PersistentRenderer.start(browser, spec, {
    pages: 1,
    pdfMode: "vector",
  });
  // Laid out on the pages that then draw the records, then again backwards:
  // the second time every fit is known and nothing is laid out, so the
  // pages are left holding the last record's texts while the first one's
  // were the last asked for; drawing the first must still set its own.
  const backwards = [...records].reverse();
  const laidOut = await raster.layout(records);
  assert.deepEqual(await raster.layout(backwards), [...laidOut].reverse());
  assert.deepEqual(await vector.layout(records), laidOut);
  assert.deepEqual(await vector.layout(backwards), [...laidOut].reverse());
  const overset = laidOut.map((r) => r.overset);
  assert.deepEqual(
    overset.map((o) => o.map((t) => t.id)),
    [[], [], [name], [], [], [name], []],
  );
  const drawn = async (pool: PersistentRenderer) => {
    const pieces: RenderedPiece[] = [];
    for (const payload of records) pieces.push(await pool.render(payload));
    return pieces;
  };
  const rasterPieces = await drawn(raster);
  const vectorPieces = await Promise.all(records.map((p) => vector.render(p)));
  assert.deepEqual(rasterPieces.map((p) => p.overset ?? []), overset);
  assert.deepEqual(vectorPieces.map((p) => p.overset ?? []), overset);
  assert.deepEqual(
    vectorPieces.map((p) => p.kind),
    records.map(() => "vector"),
  );
  for (const [i, piece] of vectorPieces.entries()) {
    const file = join(dir.path, `${i + 1}.pdf`);
    assert.ok(piece.kind === "vector");
    await Deno.writeFile(file, piece.pdf);
    const text = await run("pdftotext", [file, "-"]);
    assert.ok(
      text.includes(`${firstNames[i]},`) &&
        text.includes(`Offer code #${2001 + i}`),
      `record ${i + 1} prints its own texts: ${text}`,
    );
  }
  // What the report says is what prints: ink right of the name box (the
  // box ends at x 1440, the QR code's white box starts at 1490) for the
  // overset names, none for the others.
  const inkPastTheBox = async (piece: RenderedPiece) => {
    const { width, data } = await readPng(imageOf(piece).bytes);
    let ink = 0;
    for (let y = 822; y < 876; y++) {
      for (let x = 1446; x < 1486; x++) {
        const i = (y * width + x) * 4;
        if (data[i]! + data[i + 1]! + data[i + 2]! < 400) ink++;
      }
    }
    return ink;
  };
  const inks = await Promise.all(rasterPieces.map(inkPastTheBox));
  for (const [i, ink] of inks.entries()) {
    if (overset[i]!.length > 0) {
      assert.ok(ink > 50, `record ${i + 1}: ${ink} ink pixels`);
    } else assert.equal(ink, 0, `record ${i + 1}`);
  }
});

Deno.test("the render page splits texts into the graphemes Intl.Segmenter finds", async () => {
  const template = await exampleTemplate();
  await using browser = await Browser.launch();
  const spec = await pageSpec(template, new AssetResolver(template.baseDir));
  await using page = await RenderPage.open(browser, spec);
  const texts = [
    "Maya Brooks",
    "Sofía Hernández, Straße 7 ½ · №",
    "Ame\u0301lie", // a combining accent joins its letter
    "line\r\nbreak\rand\nmore", // CR LF is one grapheme
    "tab\there\u00ad\u0000",
    "👍🏽 family 👨‍👩‍👧",
    "한국어 日本語 العربية",
    "",
  ];
  const { split, segmented } = await page.page.evaluate((list) => {
    const text = new globalThis.fabric.FabricText("");
    const segments = new Intl.Segmenter(undefined, {
      granularity: "grapheme",
    });
    return {
      split: list.map((s) => text.graphemeSplit(s)),
      segmented: list.map((s) =>
        Array.from(segments.segment(s), (g) => g.segment)
      ),
    };
  }, texts);
  assert.deepEqual(split, segmented);
  assert.deepEqual(
    split[2],
    ["A", "m", "e\u0301", "l", "i", "e"],
    "e + U+0301 is one grapheme",
  );
});

Deno.test("runBatch() with onOverset warn writes the piece, lists its overset text in the manifest and logs the record and the field", async () => {
  const { path } = await exampleDocument();
  const template = await exampleTemplate();
  await using dir = await tempDir();
  const data = join(dir.path, "list.csv");
  await Deno.writeTextFile(data, csvOf(["Brooks", TOO_LONG, "Kapoor"]));
  const { lines, log } = logLines();
  const result = await runBatch({
    template,
    data,
    out: join(dir.path, "out"),
    pdfMode: "vector",
    concurrency: 1,
    merge: true,
    log,
  });
  assert.deepEqual(
    [result.rendered, result.failed, result.skipped, result.overset],
    [3, 0, 0, 1],
  );
  const entry = result.manifest.records[1]!;
  assert.equal(entry.status, "ok");
  assert.deepEqual(entry.overset, [{
    object: path,
    fields: ["firstName", "lastName"],
    fontSize: NAME_SIZE.minFontSize,
    charSpacing: NAME_BOUNDS.minCharSpacing,
    scaleX: NAME_BOUNDS.minScaleX,
  }]);
  assert.equal(result.manifest.records[0]!.overset, undefined);
  const manifest = JSON.parse(
    await Deno.readTextFile(join(dir.path, "out", "manifest.json")),
  );
  assert.deepEqual(manifest.records[1].overset, entry.overset);
  assert.equal(manifest.overset, 1);
  const text = await run("pdftotext", [
    join(dir.path, "out", entry.file!),
    "-",
  ]);
  assert.match(text, /Ann/, "the overset piece is written, name and all");
  assert.equal((await pdfInfo(join(dir.path, "out", "merged.pdf"))).pages, 3);
  const warning = lines.find((l) =>
    l.level === "warn" && l.message.startsWith("Record 2:")
  );
  assert.ok(warning, JSON.stringify(lines));
  assert.match(
    warning.message,
    new RegExp(
      `^Record 2: fields "firstName", "lastName" overflow its box ${
        path.replace(/[[\]]/g, "\\$&")
      } even at fontSize 16, charSpacing -100, scaleX 0.7; written overset$`,
    ),
  );
  assert.deepEqual(warning.fields, { record: 2, field: "firstName" });
});

Deno.test("runBatch() with onOverset fail fails the record naming it and its fields, and onError decides the rest", async (t) => {
  const template = await exampleTemplate();
  await using dir = await tempDir();
  const data = join(dir.path, "list.csv");
  await Deno.writeTextFile(data, csvOf(["Brooks", TOO_LONG, "Kapoor"]));
  await using browser = await Browser.launch();
  await t.step("onError skip: the other records print", async () => {
    const out = join(dir.path, "skip");
    const result = await runBatch({
      template,
      data,
      out,
      onOverset: "fail",
      onError: "skip",
      concurrency: 1,
      browser,
    });
    assert.deepEqual(
      [result.rendered, result.failed, result.skipped, result.overset],
      [2, 1, 0, 1],
    );
    const entry = result.manifest.records[1]!;
    assert.equal(entry.status, "failed");
    assert.match(
      entry.error!,
      /^Cannot render record 2: fields "firstName", "lastName" overflow its box canvas\.objects\[\d+\] even at fontSize 16, charSpacing -100, scaleX 0\.7$/,
    );
    assert.equal(entry.file, undefined);
    assert.equal(entry.overset?.length, 1);
    const files = [];
    for await (const e of Deno.readDir(out)) files.push(e.name);
    assert.deepEqual(files.sort(), ["0001.pdf", "0003.pdf", "manifest.json"]);
  });
  await t.step("onError fail: the batch stops at it", async () => {
    await assert.rejects(
      runBatch({
        template,
        data,
        out: join(dir.path, "fail"),
        onOverset: "fail",
        concurrency: 1,
        browser,
      }),
      (error: unknown) => {
        assert.ok(error instanceof BatchFailedError);
        assert.ok(error.cause instanceof OversetError);
        assert.match(
          error.message,
          /Cannot render record 2: fields "firstName", "lastName" overflow its box/,
        );
        return true;
      },
    );
  });
});

Deno.test("runBatch() with onOverset skip writes no piece for an overset record and lists it as skipped", async () => {
  const template = await exampleTemplate();
  await using dir = await tempDir();
  const data = join(dir.path, "list.csv");
  await Deno.writeTextFile(
    data,
    csvOf(["Brooks", TOO_LONG, "Kapoor", `${TOO_LONG}y`]),
  );
  const out = join(dir.path, "out");
  const { lines, log } = logLines();
  const result = await runBatch({
    template,
    data,
    out,
    onOverset: "skip",
    pdfMode: "raster",
    concurrency: 2,
    merge: true,
    log,
  });
  assert.deepEqual(
    [result.rendered, result.failed, result.skipped, result.overset],
    [2, 0, 2, 2],
  );
  assert.deepEqual(
    result.manifest.records.map((r: ManifestEntry) => [r.status, r.file]),
    [["ok", "0001.pdf"], ["skipped", undefined], ["ok", "0003.pdf"], [
      "skipped",
      undefined,
    ]],
  );
  assert.equal(result.manifest.records[3]!.overset?.[0]?.scaleX, 0.7);
  assert.equal(result.manifest.skipped, 2);
  assert.equal((await pdfInfo(join(out, "merged.pdf"))).pages, 2);
  await assert.rejects(Deno.stat(join(out, "0002.pdf")), Deno.errors.NotFound);
  assert.ok(
    lines.some((l) =>
      l.level === "warn" &&
      /^Record 4 skipped: fields "firstName", "lastName" overflow/.test(
        l.message,
      )
    ),
    JSON.stringify(lines),
  );
});

Deno.test("cli render --on-overset skip leaves the overset record out; a bad value is a usage error", async () => {
  await using dir = await tempDir();
  const { doc } = await exampleDocument();
  for (const image of ["hero.jpg", "portrait-mb.jpg", "portrait-ak.jpg"]) {
    await Deno.copyFile(
      join("examples/postcard", image),
      join(dir.path, image),
    );
  }
  const template = join(dir.path, "postcard.json");
  await Deno.writeTextFile(template, JSON.stringify(doc));
  const data = join(dir.path, "list.csv");
  await Deno.writeTextFile(data, csvOf(["Brooks", TOO_LONG]));
  const out = join(dir.path, "out");
  const args = (...more: string[]) => {
    const render = renderArgs(data, out, "--concurrency", "1", ...more);
    render[2] = template;
    return render;
  };
  const bad = await cli(args("--on-overset", "ignore"));
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /--on-overset must be warn, fail, skip, got "ignore"/,
  );
  const { code, stderr } = await cli(args("--on-overset", "skip"));
  assert.equal(code, 0, stderr);
  assert.match(stderr, /Record 2 skipped: fields "firstName", "lastName"/);
  assert.match(stderr, /1 with overset text, 1 skipped/);
  const manifest = JSON.parse(
    await Deno.readTextFile(join(out, "manifest.json")),
  );
  assert.deepEqual(
    manifest.records.map((r: ManifestEntry) => r.status),
    ["ok", "skipped"],
  );
});

Deno.test("POST /api/batches takes onOverset, refuses a bad one with a 422 naming it, and the batch status counts overset records", async () => {
  await using dir = await tempDir();
  await using browser = await Browser.launch();
  await using store = await JobStore.open(dir.path);
  await using worker = new BatchWorker(store, {
    browser,
    metrics: new Metrics(),
    pollMs: 50,
  });
  worker.start();
  const handle = createHandler({ store, worker, metrics: new Metrics() });
  const template = {
    name: "Badge",
    size: { width: 4, height: 3, unit: "in" },
    dpi: 100,
    canvas: {
      width: 400,
      height: 300,
      objects: [{
        type: "Textbox",
        left: 20,
        top: 20,
        width: 360,
        height: 50,
        text: "{{name}}",
        fontSize: 40,
        fontFamily: "Noto Sans",
        fit: "shrink",
        minFontSize: 20,
        minScaleX: 0.8,
      }],
    },
  };
  const post = (onOverset: string) => {
    const form = new FormData();
    form.append("templateFile", new File([JSON.stringify(template)], "b.json"));
    form.append(
      "data",
      new File([`name\nAnn\n${"W".repeat(60)}\nBo\n`], "names.csv"),
    );
    form.append("onOverset", onOverset);
    form.append("pdfMode", "raster");
    return handle(
      new Request("http://pressrun.test/api/batches", {
        method: "POST",
        body: form,
      }),
    );
  };
  const bad = await post("sometimes");
  assert.equal(bad.status, 422);
  const problem = await bad.json();
  assert.match(
    problem.message,
    /onOverset must be warn, fail, skip, got "sometimes"/,
  );
  const res = await post("skip");
  assert.equal(res.status, 202);
  const { id } = await res.json();
  let status;
  for (let i = 0; i < 600; i++) {
    status = await (await handle(
      new Request(`http://pressrun.test/api/batches/${id}`),
    )).json();
    if (["done", "failed", "cancelled"].includes(status.state)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(status.state, "done", JSON.stringify(status));
  assert.equal(status.options.onOverset, "skip");
  assert.deepEqual(
    [status.done, status.failed, status.skipped, status.overset],
    [3, 0, 1, 1],
  );
  assert.deepEqual(
    status.pieces.map((p: ManifestEntry) => p.status),
    ["ok", "skipped", "ok"],
  );
  assert.deepEqual(status.pieces[1].overset[0].fields, ["name"]);
});
