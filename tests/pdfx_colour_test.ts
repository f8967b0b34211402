/**
 * The pure parts of PDF/X conversion, without Ghostscript or a browser:
 * content-stream colour rewriting, PDF functions, image rows, the colour
 * grid's interpolation, and reading ICC headers.
 */
import assert from "node:assert/strict";
import { deflateSync, inflateSync } from "node:zlib";
import {
  PDFArray,
  PDFDocument,
  PDFName,
  PDFNumber,
  PDFRawStream,
} from "pdf-lib";
import { PNG } from "pngjs";
import { Buffer } from "node:buffer";
import { UsageError } from "../common/errors.ts";
import { CmykTransform } from "../pdf/_colour.ts";
import {
  type ColourMapper,
  rewriteColours,
  type SpaceRule,
} from "../pdf/_content_colour.ts";
import { checkOutputProfile } from "../pdf/_icc.ts";
import { convertFunction, evaluator } from "../pdf/_pdf_functions.ts";
import { convertImage } from "../pdf/_pdfx_images.ts";
import { scanContent } from "../pdf/pdfx_report.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("latin1");

/** RGB → "CMYK" as 1 − RGB and no K: easy to read back. */
function mapper(spaces: Record<string, SpaceRule> = {}): ColourMapper & {
  images: string[];
} {
  const images: string[] = [];
  return {
    images,
    gray: false,
    deviceRgb: (r, g, b) => [1 - r, 1 - g, 1 - b, 0],
    space: (name) =>
      name === "DeviceRGB"
        ? {
          convert: ([r = 0, g = 0, b = 0]) => [1 - r, 1 - g, 1 - b, 0],
          rename: "DeviceCMYK",
        }
        : spaces[name],
    inlineImage: (dict) => {
      images.push(dict.trim());
      return "BI /W 1 /H 1 /CS /G /BPC 8 ID\n0 EI";
    },
  };
}

function rewrite(text: string, m: ColourMapper = mapper()): string | undefined {
  const out = rewriteColours(encoder.encode(text), m);
  return out && decoder.decode(out);
}

Deno.test("rewriteColours() converts colour operators and leaves the rest byte for byte", async (t) => {
  await t.step("rg and RG become k and K", () => {
    assert.equal(
      rewrite("q 1 0 0 rg 0 0 1 RG\n10 10 m 20 20 l S Q"),
      "q 0 1 1 0 k 1 1 0 0 K\n10 10 m 20 20 l S Q",
    );
  });
  await t.step("numbers as PDF writes them", () => {
    assert.equal(rewrite(".5 +.25 -0 rg"), ".5 .75 1 0 k");
  });
  await t.step("nothing to convert: undefined", () => {
    assert.equal(rewrite("0 0 0 1 k BT /F1 12 Tf (Hi) Tj ET"), undefined);
  });
  await t.step("strings, comments and dictionaries are not operators", () => {
    const text = "BT (1 0 0 rg) Tj <0030> Tj ET % 1 0 0 rg\n" +
      "/Span<</ActualText (1 0 0 RG)>> BDC EMC [(a) 1 0 0 (rg)] TJ";
    assert.equal(rewrite(text), undefined);
  });
  await t.step("a literal string with parentheses and escapes", () => {
    assert.equal(
      rewrite("BT (a (nested) \\) rg) Tj ET 0 1 0 rg"),
      "BT (a (nested) \\) rg) Tj ET 1 0 1 0 k",
    );
  });
  await t.step("cs DeviceRGB is renamed and its sc values converted", () => {
    assert.equal(
      rewrite("/DeviceRGB cs 1 1 0 sc /DeviceRGB CS 0 0 0 SCN"),
      "/DeviceCMYK cs 0 0 1 0 sc /DeviceCMYK CS 1 1 1 0 SCN",
    );
  });
  await t.step("a named space converts by its rule; q/Q restore it", () => {
    const half: SpaceRule = { convert: (v) => v.map((x) => x / 2) };
    const m = mapper({ CS0: half });
    assert.equal(
      rewrite("/CS0 cs 1 1 1 sc q /Other cs 1 sc Q 0.5 0.5 0.5 sc", m),
      "/CS0 cs .5 .5 .5 sc q /Other cs 1 sc Q .25 .25 .25 sc",
    );
  });
  await t.step(
    "a pattern keeps its name; its underlying colour converts",
    () => {
      const under: SpaceRule = { convert: (v) => [...v, 0] };
      const m = mapper({ P0: under });
      assert.equal(
        rewrite("/Pattern cs /Pat1 scn /P0 cs 0.1 0.2 0.3 /Pat2 scn", m),
        "/Pattern cs /Pat1 scn /P0 cs .1 .2 .3 0 /Pat2 scn",
      );
    },
  );
  await t.step(
    "gray k and g reset the space, so later sc is left alone",
    () => {
      const half: SpaceRule = { convert: (v) => v.map((x) => x / 2) };
      assert.equal(
        rewrite("/CS0 cs 0 g 1 sc", mapper({ CS0: half })),
        undefined,
      );
    },
  );
  await t.step("an inline image goes to the mapper, its data skipped", () => {
    const m = mapper();
    const out = rewrite(
      "q BI /W 1 /H 1 /CS /RGB /BPC 8 ID\n\x01 rg EI Q 1 1 1 rg",
      m,
    );
    assert.equal(out, "q BI /W 1 /H 1 /CS /G /BPC 8 ID\n0 EI Q 0 0 0 0 k");
    assert.deepEqual(m.images, ["/W 1 /H 1 /CS /RGB /BPC 8"]);
  });
  await t.step("an inline image without EI is an error", () => {
    assert.throws(() => rewrite("BI /W 1 ID xyz"), SyntaxError);
  });
  await t.step(
    "the colour state runs on across a page's content streams",
    () => {
      const half: SpaceRule = { convert: (v) => v.map((x) => x / 2) };
      const m = mapper({ CS0: half });
      const state = { fill: undefined, stroke: undefined };
      rewriteColours(encoder.encode("/CS0 cs"), m, state);
      const out = rewriteColours(encoder.encode("1 sc"), m, state);
      assert.equal(decoder.decode(out!), ".5 sc");
    },
  );
});

Deno.test("scanContent() finds RGB operators and nothing in strings", () => {
  assert.deepEqual(
    scanContent(encoder.encode("(1 0 0 rg) Tj 0 0 0 1 k /DeviceRGB CS")),
    ["/DeviceRGB CS"],
  );
  assert.deepEqual(scanContent(encoder.encode("1 0 0 RG")), ["RG"]);
  assert.deepEqual(
    scanContent(encoder.encode("BI /W 1 /H 1 /CS /RGB ID\nabc EI")),
    ["inline RGB image"],
  );
});

Deno.test("convertFunction() keeps a gradient's stops and converts each segment", async () => {
  const doc = await PDFDocument.create();
  const context = doc.context;
  const segment = (c0: number[], c1: number[]) =>
    context.obj({ FunctionType: 2, Domain: [0, 1], C0: c0, C1: c1, N: 1 });
  const stitching = context.obj({
    FunctionType: 3,
    Domain: [0, 1],
    Functions: [segment([1, 0, 0], [0, 1, 0]), segment([0, 0, 1], [1, 1, 1])],
    // A hard stop at 0.5: blue starts there.
    Bounds: [0.5],
    Encode: [0, 1, 0, 1],
  });
  const invert = (v: number[]) => [1 - v[0]!, 1 - v[1]!, 1 - v[2]!, 0.25];
  const converted = convertFunction(context, stitching, invert, 4);
  const out = context.lookup(converted);
  assert.ok(out !== undefined);
  const f = evaluator(context, converted);
  const near = (a: number[], b: number[]) =>
    a.every((v, i) => Math.abs(v - b[i]!) < 1e-3);
  assert.ok(near(f([0]), [0, 1, 1, 0.25]), String(f([0])));
  assert.ok(near(f([0.25]), [0.5, 0.5, 1, 0.25]), String(f([0.25])));
  assert.ok(near(f([0.4999]), [1, 0, 1, 0.25]), String(f([0.4999])));
  assert.ok(near(f([0.5]), [1, 1, 0, 0.25]), String(f([0.5])));
  assert.ok(near(f([1]), [0, 0, 0, 0.25]), String(f([1])));
  const dict = out instanceof PDFRawStream ? out.dict : out;
  assert.ok(dict && "get" in dict);
  const bounds = (dict as { get(k: PDFName): unknown }).get(
    PDFName.of("Bounds"),
  );
  assert.ok(bounds instanceof PDFArray);
  assert.equal((bounds.get(0) as PDFNumber).asNumber(), 0.5);
});

Deno.test("evaluator() runs PostScript calculator functions", async () => {
  const doc = await PDFDocument.create();
  const context = doc.context;
  const program =
    "{ dup 0.5 lt { 2 mul 0 } { 0.5 sub 2 mul 1 } ifelse 0.25 3 1 roll }";
  const fn = context.register(PDFRawStream.of(
    context.obj({ FunctionType: 4, Domain: [0, 1], Range: [0, 1, 0, 1, 0, 1] }),
    encoder.encode(program),
  ));
  const f = evaluator(context, fn);
  assert.deepEqual(f([0.25]), [0.25, 0.5, 0]);
  assert.deepEqual(f([0.75]), [0.25, 0.5, 1]);
});

Deno.test("convertImage() undoes each PNG row filter before converting", async (t) => {
  const width = 37, height = 11;
  const png = new PNG({ width, height, colorType: 2 });
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const pixel = [(i * 37) % 256, (i * 91 + 7) % 256, (i * 13) % 256];
    rgb.set(pixel, i * 3);
    png.data.set([...pixel, 255], i * 4);
  }
  // A linear transform: tetrahedral interpolation gives it back exactly.
  const transform = CmykTransform.fromFunction((
    r,
    g,
    b,
  ) => [255 - r, 255 - g, 255 - b, r]);
  const expected = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    expected.set([
      255 - rgb[i * 3]!,
      255 - rgb[i * 3 + 1]!,
      255 - rgb[i * 3 + 2]!,
      rgb[i * 3]!,
    ], i * 4);
  }
  for (const filterType of [0, 1, 2, 3, 4]) {
    await t.step(`filter ${filterType}`, () => {
      const file = PNG.sync.write(png, { colorType: 2, filterType });
      const idat = idatOf(new Uint8Array(file));
      const image = convertImage(idat, {
        width,
        height,
        components: 3,
        bitsPerComponent: 8,
        filters: ["FlateDecode"],
        predictor: { predictor: 15, colors: 3, bits: 8, columns: width },
      }, transform);
      assert.equal(image.colourSpace, "DeviceCMYK");
      assert.deepEqual(new Uint8Array(inflateSync(image.data)), expected);
    });
  }
  await t.step("no predictor, and gray for a soft mask", () => {
    const image = convertImage(new Uint8Array(deflateSync(rgb)), {
      width,
      height,
      components: 3,
      bitsPerComponent: 8,
      filters: ["FlateDecode"],
    }, "gray");
    const gray = new Uint8Array(inflateSync(image.data));
    assert.equal(image.colourSpace, "DeviceGray");
    assert.equal(
      gray[5],
      Math.round(0.3 * rgb[15]! + 0.59 * rgb[16]! + 0.11 * rgb[17]!),
    );
  });
});

/** The zlib stream of a PNG's IDAT chunks. */
function idatOf(png: Uint8Array): Uint8Array {
  const buffer = Buffer.from(png);
  const parts: Uint8Array[] = [];
  for (let at = 8; at < buffer.length;) {
    const length = buffer.readUInt32BE(at);
    const type = buffer.toString("latin1", at + 4, at + 8);
    if (type === "IDAT") parts.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  return new Uint8Array(Buffer.concat(parts));
}

Deno.test("CmykTransform interpolates between its grid points", () => {
  const linear = CmykTransform.fromFunction((r, g, b) => [r, g, b, 255 - r]);
  const out = [0, 0, 0, 0];
  linear.colour(0.3, 0.61, 0.999, out);
  const expected = [0.3, 0.61, 0.999, 0.7];
  out.forEach((v, i) =>
    assert.ok(Math.abs(v - expected[i]!) < 0.003, `${out}`)
  );
  const pixels = new Uint8Array(8);
  linear.pixels(new Uint8Array([1, 2, 3, 1, 2, 3]), pixels, 2);
  assert.deepEqual([...pixels], [1, 2, 3, 254, 1, 2, 3, 254]);
});

/** An ICC header and one description tag of `type` (desc or mluc). */
function profile(type: "desc" | "mluc", text: string): Uint8Array {
  const tag = type === "desc"
    ? [
      ...encoder.encode("desc\0\0\0\0"),
      0,
      0,
      0,
      text.length + 1,
      ...encoder.encode(text),
      0,
    ]
    : [
      ...encoder.encode("mluc\0\0\0\0"),
      0,
      0,
      0,
      1, // one record
      0,
      0,
      0,
      12, // record size
      ...encoder.encode("enUS"),
      0,
      0,
      0,
      text.length * 2, // length
      0,
      0,
      0,
      28, // offset from the tag's start
      ...[...text].flatMap((c) => [0, c.charCodeAt(0)]),
    ];
  const size = 128 + 4 + 12 + tag.length;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, size);
  bytes[8] = 4;
  bytes[9] = 0x20;
  bytes.set(encoder.encode("prtrCMYKLab "), 12);
  bytes.set(encoder.encode("acsp"), 36);
  view.setUint32(128, 1);
  bytes.set(encoder.encode("desc"), 132);
  view.setUint32(136, 144);
  view.setUint32(140, tag.length);
  bytes.set(tag, 144);
  return bytes;
}

Deno.test("checkOutputProfile() reads a printer profile's version and description", () => {
  const v2 = checkOutputProfile(profile("desc", "Coated FOGRA39"), "fogra.icc");
  assert.equal(v2.description, "Coated FOGRA39");
  assert.equal(v2.version, "4.2");
  const v4 = checkOutputProfile(profile("mluc", "GRACoL2013"), "gracol.icc");
  assert.equal(v4.description, "GRACoL2013");
  const bad = profile("desc", "x");
  bad.set(encoder.encode("mntrRGB "), 12);
  assert.throws(() => checkOutputProfile(bad, "screen.icc"), UsageError);
});
