import assert from "node:assert/strict";
import { join } from "node:path";
import bwipjs from "bwip-js";
import { TemplateError } from "../common/errors.ts";
import { Browser } from "../render/browser.ts";
import { sampleValues } from "../server/preview.ts";
import { AssetResolver } from "../template/assets.ts";
import {
  type BarcodeDrawing,
  barcodeDrawing,
  imbParts,
} from "../template/barcode.ts";
import {
  BARCODE_DEFAULTS,
  type BarcodeSpec,
  MAX_QUIET_ZONE,
} from "../template/format.ts";
import { parseTemplate } from "../template/parse.ts";
import { piecePayload, RecordError } from "../template/payload.ts";
import { MissingFieldsError, preflight } from "../template/preflight.ts";
import { pdfToPngs, readPng, run, tempDir } from "./_helpers.ts";
import { openPage, rasterPdf, smallTemplate, vectorPieces } from "./_vector.ts";

/** The tracking code of the USPS-B-3200 examples. */
const IMB_TRACKING = "01234567094987654321";
/**
 * USPS-B-3200's worked examples: a routing code, and the bars the
 * specification gives for it with {@linkcode IMB_TRACKING}.
 */
const USPS_EXAMPLES: [routing: string, bars: string][] = [
  ["", "ATTFATTDTTADTAATTDTDTATTDAFDDFADFDFTFFFFFTATFAAAATDFFTDAADFTFDTDT"],
  [
    "01234",
    "DTTAFADDTTFTDTFTFDTDDADADAFADFATDDFTAAAFDTTADFAAATDFDTDFADDDTDFFT",
  ],
  [
    "012345678",
    "ADFTTAFDTTTTFATTADTAAATFTFTATDAAAFDDADATATDTDTTDFDTDATADADTDFFTFA",
  ],
  [
    "01234567891",
    "AADTFFDFTDADTAADAATFDTDDAAADDTDTTDAFADADDDTFFFDDTTTADFAAADFTDAADA",
  ],
];

/**
 * Four-state bars as letters, from each bar's top and bottom (y down):
 * F reaches both the highest top and the lowest bottom, A only the top, D
 * only the bottom, T neither (a tracker).
 */
function barLetters(bars: { top: number; bottom: number }[]): string {
  const top = Math.min(...bars.map((b) => b.top));
  const bottom = Math.max(...bars.map((b) => b.bottom));
  const near = 0.15 * (bottom - top);
  return bars.map((b) => {
    const up = b.top - top < near;
    const down = bottom - b.bottom < near;
    return up && down ? "F" : up ? "A" : down ? "D" : "T";
  }).join("");
}

/** The rectangles of a drawing's bars, left to right: `M x y h w v h h-w z`. */
function drawnBars(drawing: BarcodeDrawing) {
  const rects = [
    ...drawing.bars.matchAll(
      /M(-?[\d.]+) (-?[\d.]+)h(-?[\d.]+)v(-?[\d.]+)h-?[\d.]+z/g,
    ),
  ].map((m) => ({
    x: Number(m[1]),
    top: Number(m[2]),
    bottom: Number(m[2]) + Number(m[4]),
  }));
  return rects.sort((a, b) => a.x - b.x);
}

/** A spec of `type` with its defaults, as format.ts fills them in. */
function spec(type: BarcodeSpec["type"], aspect = 3): BarcodeSpec {
  return {
    type,
    value: "{{v}}",
    text: BARCODE_DEFAULTS.text[type],
    quietZone: BARCODE_DEFAULTS.quietZone[type],
    aspect,
  };
}

Deno.test("barcodeDrawing() draws the USPS-B-3200 examples' Intelligent Mail bars", async (t) => {
  for (const [routing, expected] of USPS_EXAMPLES) {
    await t.step(`routing "${routing}"`, () => {
      // bwip-js's own encoding: bar bottoms and heights, in inches.
      const [raw] = bwipjs.raw("onecode", IMB_TRACKING + routing) as {
        bbs: number[];
        bhs: number[];
      }[];
      const own = raw!.bbs.map((b, i) => ({
        top: -(b + raw!.bhs[i]!),
        bottom: -b,
      }));
      assert.equal(barLetters(own), expected, "bwip-js's encoding");
      const drawing = barcodeDrawing(spec("imb", 15), IMB_TRACKING + routing);
      const bars = drawnBars(drawing);
      assert.equal(bars.length, 65);
      assert.equal(barLetters(bars), expected, "pressrun's drawing");
    });
  }
});

Deno.test("imbParts() splits a tracking and a routing code, spaces and hyphens ignored", () => {
  assert.deepEqual(imbParts(`${IMB_TRACKING}-01234-5678-91`), {
    tracking: IMB_TRACKING,
    routing: "01234567891",
  });
  assert.deepEqual(imbParts(` ${IMB_TRACKING} `), {
    tracking: IMB_TRACKING,
    routing: "",
  });
  // A 9-digit mailer ID (it begins with 9) and a 6-digit serial number.
  assert.deepEqual(imbParts("00040912345678123456 12345"), {
    tracking: "00040912345678123456",
    routing: "12345",
  });
});

/** A bare template of one barcode object of `type` over `value`. */
function oneBarcode(type: string, value: string) {
  return parseTemplate({
    width: 600,
    height: 400,
    objects: [{
      type: "Rect",
      width: 300,
      height: 100,
      barcode: { type, value },
    }],
  }, { source: "template.json", baseDir: "." });
}

Deno.test("piecePayload() refuses a barcode value it cannot encode, naming the record and the field", async (t) => {
  const assets = new AssetResolver(".");
  const cases: [string, string, string, Record<string, string>, string][] = [
    [
      "IMb routing code of 7 digits",
      "imb",
      "{{imb}}",
      { imb: `${IMB_TRACKING}0123456` },
      'Cannot render record 7: field "imb": the routing code must have 0, 5, 9 or 11 digits, got 7',
    ],
    [
      "IMb tracking code too short",
      "imb",
      "{{imb}}",
      { imb: "0123456709498765432" },
      'Cannot render record 7: field "imb": the tracking code must have 20 digits, got 19',
    ],
    [
      "IMb barcode identifier's second digit over 4",
      "imb",
      "{{imb}}",
      { imb: "07234567094987654321" },
      `Cannot render record 7: field "imb": the barcode identifier's second digit must be 0 to 4, got "07"`,
    ],
    [
      "IMb letters",
      "imb",
      "{{imb}}",
      { imb: `${IMB_TRACKING}-0123A` },
      'Cannot render record 7: field "imb": an Intelligent Mail barcode takes digits only (spaces and hyphens are ignored), got "A"',
    ],
    [
      "EAN-13 wrong check digit",
      "ean13",
      "{{ean}}",
      { ean: "5901234123450" },
      'Cannot render record 7: field "ean": the EAN-13 check digit of 590123412345 is 7, got 0',
    ],
    [
      "EAN-13 non-digits",
      "ean13",
      "{{ean}}",
      { ean: "59012341234X" },
      'Cannot render record 7: field "ean": an EAN-13 takes digits only, got "59012341234X"',
    ],
    [
      "EAN-13 too short",
      "ean13",
      "{{ean}}",
      { ean: "59012341234" },
      'Cannot render record 7: field "ean": an EAN-13 takes 12 digits, or 13 with its check digit, got 11',
    ],
    [
      "Code 128 outside ASCII",
      "code128",
      "SKU-{{sku}}",
      { sku: "Zoë" },
      'Cannot render record 7: field "sku": Code 128 cannot encode "ë": it takes ASCII characters only',
    ],
    [
      "Data Matrix too long, two fields",
      "datamatrix",
      "{{a}}{{b}}",
      { a: "x".repeat(2000), b: "y".repeat(2000) },
      'Cannot render record 7: fields "a", "b": cannot be encoded as a Data Matrix: The input data is too long',
    ],
    [
      "PDF417 empty",
      "pdf417",
      "{{a}}",
      { a: " " },
      'Cannot render record 7: objects[0].barcode.value "{{a}}" is empty for this record',
    ],
  ];
  for (const [name, type, value, values, message] of cases) {
    await t.step(name, async () => {
      const template = oneBarcode(type, value);
      await assert.rejects(
        () => piecePayload(template, { index: 7, values }, assets),
        (error: unknown) => {
          assert.ok(error instanceof RecordError);
          assert.equal(error.message, message);
          assert.equal(error.index, 7);
          return true;
        },
      );
    });
  }
  await t.step("a fixed value names the property", async () => {
    const template = oneBarcode("ean13", "123");
    await assert.rejects(
      () => piecePayload(template, { index: 2, values: {} }, assets),
      {
        name: "RecordError",
        message:
          "Cannot render record 2: objects[0].barcode.value: an EAN-13 takes 12 digits, or 13 with its check digit, got 3",
      },
    );
  });
  await t.step("a 12-digit EAN-13 gets its check digit", async () => {
    const template = oneBarcode("ean13", "{{ean}}");
    const payload = await piecePayload(template, {
      index: 1,
      values: { ean: "400638133393" },
    }, assets);
    assert.ok(payload.objects[0]!.barcode!.bars.length > 0);
  });
});

Deno.test("barcodeDrawing() gives a linear code its box's proportions, and a 2D code its own", () => {
  for (const aspect of [1.5, 3, 8]) {
    const code128 = barcodeDrawing(spec("code128", aspect), "AB-123");
    assert.ok(Math.abs(code128.width / code128.height - aspect) < 1e-9);
    const ean = barcodeDrawing(spec("ean13", aspect), "5901234123457");
    assert.ok(Math.abs(ean.width / ean.height - aspect) < 1e-9);
    assert.ok(ean.text.length > 0, "EAN-13 shows its digits by default");
    const matrix = barcodeDrawing(spec("datamatrix", aspect), "AB-123");
    // 12×12 modules and a 1-module quiet zone all round: square.
    assert.equal(matrix.width, matrix.height);
  }
  assert.equal(barcodeDrawing(spec("code128"), "AB").text, "", "no text");
});

Deno.test("sampleValues() gives a preview barcode values that encode, field names where they do", async () => {
  const rect = (barcode: unknown) => ({
    type: "Rect",
    width: 300,
    height: 100,
    barcode,
  });
  const template = parseTemplate({
    width: 900,
    height: 600,
    objects: [
      rect({ type: "code128", value: "SKU {{sku}}" }),
      rect({ type: "ean13", value: "{{ean}}" }),
      rect({ type: "imb", value: "{{tracking}}-{{zip}}" }),
      rect({ type: "datamatrix", value: "{{url}}" }),
    ],
  }, { source: "template.json", baseDir: "." });
  const values = sampleValues(template);
  assert.deepEqual(values, {
    sku: "sku",
    ean: "5901234123457",
    tracking: "0123456709498765432101234567891",
    zip: "",
    url: "url",
  });
  const payload = await piecePayload(
    template,
    { index: 0, values },
    new AssetResolver("."),
  );
  assert.equal(payload.objects.filter((o) => o.barcode).length, 4);
});

/** The format error `objects[0]` of a bare template raises, or undefined. */
function formatError(object: Record<string, unknown>): string | undefined {
  try {
    parseTemplate({ width: 600, height: 400, objects: [object] }, {
      source: "template.json",
      baseDir: ".",
    });
    return undefined;
  } catch (error) {
    assert.ok(error instanceof TemplateError, String(error));
    return error.message;
  }
}

Deno.test("a barcode's format errors name the template, the object and the property", async (t) => {
  const rect = (barcode: unknown, extra: Record<string, unknown> = {}) => ({
    type: "Rect",
    width: 300,
    height: 100,
    barcode,
    ...extra,
  });
  const at = 'Cannot read template.json: objects[0] (Rect) "';
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "an unknown type",
      rect({ type: "code39", value: "{{id}}" }),
      `${at}barcode.type" must be "code128", "ean13", "datamatrix", "pdf417" or "imb", got "code39"`,
    ],
    [
      "no type",
      rect({ value: "{{id}}" }),
      `${at}barcode.type" must be "code128", "ean13", "datamatrix", "pdf417" or "imb", got undefined`,
    ],
    [
      "an unknown key",
      rect({ type: "code128", value: "{{id}}", colour: "red" }),
      `${at}barcode" has an unknown key "colour"; known: type, value, text, quietZone, color, background`,
    ],
    [
      "not an object",
      rect("code128"),
      `${at}barcode" must be an object such as { "type": "code128", "value": "{{id}}" }, got "code128"`,
    ],
    [
      "an empty value",
      rect({ type: "pdf417", value: "" }),
      `${at}barcode.value" must be a non-empty string, got ""`,
    ],
    [
      "text on a Data Matrix",
      rect({ type: "datamatrix", value: "{{id}}", text: true }),
      `${at}barcode.text" applies to "code128" or "ean13" only, not "datamatrix"`,
    ],
    [
      "text not a boolean",
      rect({ type: "code128", value: "{{id}}", text: "yes" }),
      `${at}barcode.text" must be true or false, got "yes"`,
    ],
    [
      "quiet zone too wide",
      rect({ type: "code128", value: "{{id}}", quietZone: MAX_QUIET_ZONE + 1 }),
      `${at}barcode.quietZone" must be a whole number of modules from 0 to 20, got 21`,
    ],
    [
      "a colour that is not one",
      rect({ type: "imb", value: "{{imb}}", color: "blackish" }),
      `${at}barcode.color" must be a CSS colour (#rrggbb, rgb(…), hsl(…) or a colour name), got "blackish"`,
    ],
    [
      "with a QR code",
      rect({ type: "ean13", value: "{{ean}}" }, { qr: { value: "x" } }),
      `${at}barcode" cannot be combined with "qr" on one object`,
    ],
    [
      "no size",
      { type: "Rect", barcode: { type: "ean13", value: "{{ean}}" } },
      `${at}barcode" needs the object's width and height, positive numbers, got undefined × undefined`,
    ],
  ];
  for (const [name, object, message] of cases) {
    await t.step(name, () => assert.equal(formatError(object), message));
  }
  await t.step("an empty placeholder in the value", () => {
    assert.equal(
      formatError(rect({ type: "code128", value: "A{{}}" })),
      "Invalid template template.json: objects[0].barcode.value has an empty {{}} placeholder",
    );
  });
});

Deno.test("a barcode's placeholders are fields the data must have", () => {
  const template = oneBarcode("imb", "{{tracking}}-{{ zip }}");
  assert.deepEqual(template.fields, ["tracking", "zip"]);
  assert.throws(
    () => preflight(template, ["tracking", "name"], "list.csv"),
    (error: unknown) => {
      assert.ok(error instanceof MissingFieldsError);
      assert.deepEqual(error.missing, ["zip"]);
      return true;
    },
  );
});

/** One design unit a pixel at this dpi: the template's coordinates. */
const DPI = 300;
const box = {
  originX: "left",
  originY: "top",
  fill: "#ffffff",
  strokeWidth: 0,
};
/** Where each barcode sits, in design units (1/300 in). */
const BOXES = {
  code128: { left: 100, top: 100, width: 700, height: 240 },
  ean13: { left: 1000, top: 100, width: 600, height: 300 },
  datamatrix: { left: 100, top: 500, width: 300, height: 300 },
  pdf417: { left: 600, top: 500, width: 900, height: 300 },
  // An IMb at its printed size: about 3 in by 0.145 in.
  imb: { left: 100, top: 950, width: 930, height: 60 },
};
const RECORDS = [
  {
    sku: "AB-123",
    ean: "5901234123457",
    dm: "https://x.example/r/1",
    imb: IMB_TRACKING,
  },
  {
    sku: "Order 4711/x",
    ean: "400638133393",
    dm: "Zoë Ångström, 12 rue de l'Été",
    imb: `${IMB_TRACKING}-01234`,
  },
  {
    sku: "zz~999",
    ean: "9780201379624",
    dm: "id 3",
    imb: `${IMB_TRACKING} 01234 5678 91`,
  },
];
/** What each record's codes must read as. */
const EXPECTED = [
  { ean: "5901234123457", imb: USPS_EXAMPLES[0]![1] },
  { ean: "4006381333931", imb: USPS_EXAMPLES[1]![1] },
  { ean: "9780201379624", imb: USPS_EXAMPLES[3]![1] },
];

/** Rasterises `box` of the PDF's page at `dpi`: its PNG's path. */
async function crop(
  pdf: string,
  region: { left: number; top: number; width: number; height: number },
  dpi: number,
  margin = 20,
): Promise<string> {
  const k = dpi / DPI;
  const out = `${pdf}-${crypto.randomUUID()}`;
  await run("pdftoppm", [
    "-r",
    String(dpi),
    "-x",
    String(Math.round((region.left - margin) * k)),
    "-y",
    String(Math.round((region.top - margin) * k)),
    "-W",
    String(Math.round((region.width + 2 * margin) * k)),
    "-H",
    String(Math.round((region.height + 2 * margin) * k)),
    "-png",
    "-singlefile",
    pdf,
    out,
  ]);
  return `${out}.png`;
}

/** The four-state bars in a PNG of an IMb: each dark column run's extent. */
async function imbInPng(file: string): Promise<string> {
  const { width, height, data } = await readPng(file);
  const dark = (x: number, y: number) => data[(y * width + x) * 4]! < 128;
  const columns: { top: number; bottom: number }[] = [];
  for (let x = 0; x < width; x++) {
    let top = -1, bottom = -1;
    for (let y = 0; y < height; y++) {
      if (!dark(x, y)) continue;
      if (top < 0) top = y;
      bottom = y + 1;
    }
    columns.push({ top, bottom });
  }
  const bars: { top: number; bottom: number }[] = [];
  for (let x = 0; x < width;) {
    if (columns[x]!.top < 0) {
      x++;
      continue;
    }
    const start = x;
    while (x < width && columns[x]!.top >= 0) x++;
    bars.push(columns[(start + x - 1) >> 1]!);
  }
  return barLetters(bars);
}

/**
 * The PDF417's modules in a PNG of its box at `dpi`, sampled at each
 * module's centre: "1" dark, row by row, as bwip-js's `raw()` lists them
 * (`pixx` modules a row; a row is several modules tall).
 */
async function pdf417InPng(
  file: string,
  drawing: BarcodeDrawing,
  size: { pixs: number[]; pixx: number },
  dpi: number,
  margin: number,
): Promise<string> {
  const { width, data } = await readPng(file);
  const region = BOXES.pdf417;
  const scale = Math.min(
    region.width / drawing.width,
    region.height / drawing.height,
  );
  const quiet = BARCODE_DEFAULTS.quietZone.pdf417;
  const module = drawing.width / (size.pixx + 2 * quiet) * scale;
  const rows = size.pixs.length / size.pixx;
  const row = (drawing.height * scale - 2 * quiet * module) / rows;
  const x0 = margin + (region.width - drawing.width * scale) / 2 +
    quiet * module;
  const y0 = margin + (region.height - drawing.height * scale) / 2 +
    quiet * module;
  const k = dpi / DPI;
  let bits = "";
  for (let r = 0; r < rows; r++) {
    for (let col = 0; col < size.pixx; col++) {
      const x = Math.floor((x0 + (col + 0.5) * module) * k);
      const y = Math.floor((y0 + (r + 0.5) * row) * k);
      bits += data[(y * width + x) * 4]! < 128 ? "1" : "0";
    }
  }
  return bits;
}

Deno.test("barcodes print as vector bars that read back as each record's value, raster and vector", async (t) => {
  const objects = Object.entries(BOXES).map(([type, at]) => ({
    type: "Rect",
    ...box,
    ...at,
    barcode: {
      type,
      value: {
        code128: "{{sku}}",
        ean13: "{{ean}}",
        datamatrix: "{{dm}}",
        pdf417: "{{dm}}",
        imb: "{{imb}}",
      }[type],
      ...(type === "code128" ? { text: true } : {}),
    },
  }));
  const { spec, payloads } = await smallTemplate(
    objects,
    RECORDS,
    "#ffffff",
    DPI,
  );
  await using browser = await Browser.launch();
  await using page = await openPage(browser, spec);
  await using dir = await tempDir();
  const vector = await vectorPieces(page, payloads);
  for (const mode of ["raster", "vector"] as const) {
    for (const [i, record] of RECORDS.entries()) {
      await t.step(`${mode}, record ${i + 1}`, async () => {
        const pdf = join(dir.path, `${mode}-${i}.pdf`);
        await Deno.writeFile(
          pdf,
          mode === "raster"
            ? await rasterPdf(page, spec, payloads[i]!)
            : vector[i]!.pdf,
        );
        if (mode === "vector") {
          const images = (await run("pdfimages", ["-list", pdf])).split("\n")
            .slice(2).filter((l) => l.trim());
          assert.deepEqual(images, [], "no image: the bars are vector");
        }
        const [png] = await pdfToPngs(pdf, dir.path, 300);
        const zbar = (await run("zbarimg", ["-q", png!])).trim().split("\n")
          .filter((l) => /^(CODE-128|EAN-13):/.test(l)).sort();
        assert.deepEqual(zbar, [
          `CODE-128:${record.sku}`,
          `EAN-13:${EXPECTED[i]!.ean}`,
        ]);
        const matrix = await crop(pdf, BOXES.datamatrix, 300);
        assert.equal(
          await run("dmtxread", ["-N", "1", "-m", "10000", matrix]),
          record.dm,
        );
        const imb = await crop(pdf, BOXES.imb, 600);
        assert.equal(await imbInPng(imb), EXPECTED[i]!.imb);
        const [raw] = bwipjs.raw("pdf417", record.dm) as {
          pixs: number[];
          pixx: number;
        }[];
        const drawing = payloads[i]!.objects[3]!.barcode!;
        const pdf417 = await crop(pdf, BOXES.pdf417, 600);
        assert.equal(
          await pdf417InPng(pdf417, drawing, raw!, 600, 20),
          raw!.pixs.join(""),
        );
      });
    }
  }
});
