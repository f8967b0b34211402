import assert from "node:assert/strict";
import { join } from "node:path";
import { PressrunError, UsageError } from "../common/errors.ts";
import { PNG } from "pngjs";
import {
  decodePDFRawStream,
  PDFDict,
  PDFDocument,
  PDFHexString,
  PDFName,
  PDFRawStream,
} from "pdf-lib";
import { joinChunks, MergedChunks, splitChunk } from "../pdf/chunks.ts";
import { pageGeometry } from "../pdf/geometry.ts";
import { piecePdf } from "../pdf/writer.ts";
import { convertToPdfX, PdfXConverter } from "../pdf/pdfx.ts";
import { pdfxReport } from "../pdf/pdfx_report.ts";
import { Browser } from "../render/browser.ts";
import { pdfToPngs, readPng, run, tempDir } from "./_helpers.ts";
import { RenderPage } from "../render/render_page.ts";
import { openPage, rasterPdf, smallTemplate, vectorPieces } from "./_vector.ts";

const box = { originX: "left", originY: "top" };

/**
 * A design with what a print PDF holds: a background JPEG (the shared
 * static layer), a record's photo, text in two fonts (plain black too),
 * a shadow (an image with a soft mask), gradients (shadings), a pattern
 * (a tiling image), an opacity, and a QR code.
 */
const OBJECTS = [
  {
    type: "Image",
    src: "hero.jpg",
    width: 800,
    height: 1275,
    scaleX: 0.25,
    scaleY: 0.25,
    left: 0,
    top: 0,
    ...box,
  },
  {
    type: "Rect",
    width: 150,
    height: 100,
    fill: "#C2410C",
    shadow: { color: "rgba(0,0,0,0.5)", blur: 10, offsetX: 6, offsetY: 6 },
    left: 240,
    top: 40,
    ...box,
  },
  {
    type: "Rect",
    width: 170,
    height: 110,
    fill: {
      type: "linear",
      coords: { x1: 0, y1: 0, x2: 170, y2: 0 },
      colorStops: [
        { offset: 0, color: "#1F3A5F" },
        { offset: 0.5, color: "#10B981" },
        { offset: 1, color: "#FBBF24" },
      ],
    },
    left: 430,
    top: 40,
    ...box,
  },
  {
    type: "Circle",
    radius: 55,
    fill: {
      type: "radial",
      coords: { x1: 55, y1: 55, r1: 0, x2: 55, y2: 55, r2: 55 },
      colorStops: [
        { offset: 0, color: "#FFFFFF" },
        { offset: 1, color: "#C2410C" },
      ],
    },
    left: 640,
    top: 40,
    ...box,
  },
  {
    type: "Rect",
    width: 150,
    height: 150,
    fill: "#2563EB",
    opacity: 0.5,
    left: 700,
    top: 200,
    ...box,
  },
  {
    type: "Textbox",
    text: "Hello {{name}}",
    width: 420,
    fontSize: 40,
    fontFamily: "Noto Sans",
    fill: "#1F3A5F",
    shadow: { color: "rgba(0,0,0,0.6)", blur: 3, offsetX: 2, offsetY: 2 },
    left: 240,
    top: 200,
    ...box,
  },
  {
    type: "Textbox",
    text: "Plain black serif for {{name}}",
    width: 420,
    fontSize: 28,
    fontFamily: "Noto Serif",
    fill: "#000000",
    left: 240,
    top: 280,
    ...box,
  },
  {
    type: "Image",
    src: "{{photo}}",
    visibleIf: "photo",
    width: 400,
    height: 400,
    scaleX: 0.4,
    scaleY: 0.4,
    left: 240,
    top: 400,
    ...box,
  },
  {
    type: "Rect",
    width: 150,
    height: 150,
    fill: "#ffffff",
    qr: { value: "https://x.example/r/{{name}}", ecc: "M" },
    left: 700,
    top: 400,
    ...box,
  },
];

const RECORDS = [
  { name: "Maya", photo: "portrait-mb.jpg" },
  { name: "Arjun", photo: "portrait-ak.jpg" },
  { name: "Zoë", photo: "" },
];

/** A fixed date, so a file converted twice is the same bytes. */
const DATE = new Date("2026-11-29T12:00:00Z");

/**
 * How far a converted page may look from its RGB original, pdftoppm at
 * 72 dpi both: the mean difference over the page, and in the worst 32×32
 * block, as a share of full scale. Measured: 1.6–1.7 % of the page for
 * vector pieces, 1.3–1.4 % for raster ones (CMYK has a smaller gamut: the
 * saturated blue and green move most), worst block 5–7 %. Another
 * record's name and photo cost a block more than the bound (tested).
 */
const MAX_MEAN = 0.03;
const MAX_BLOCK_MEAN = 0.15;

/** Renders the fixtures: vector and raster pieces, and their merged files. */
async function fixtures() {
  await using browser = await Browser.launch();
  const { spec, payloads } = await smallTemplate(OBJECTS, RECORDS, "#FBF7F0");
  const chunks: Uint8Array[] = [];
  await using page = await RenderPage.open(browser, spec, {
    onChunk: (chunk) => chunks.push(chunk.pdf),
  });
  const vector = (await vectorPieces(page, payloads)).map((p) => p.pdf);
  const raster: Uint8Array[] = [];
  for (const payload of payloads) {
    raster.push(await rasterPdf(page, spec, payload));
  }
  const geometry = spec.print.geometry;
  assert.equal(chunks.length, 1);
  return {
    geometry,
    chunk: chunks[0]!,
    vector,
    raster,
    vectorMerged: await joinChunks(vector, geometry),
    rasterMerged: await joinChunks(raster, geometry),
  };
}

/** Mean per-channel difference (0–1) of two PDFs' first pages at 72 dpi, overall and in the worst 32×32 block. */
async function difference(
  a: Uint8Array,
  b: Uint8Array,
  dir: string,
): Promise<{ mean: number; block: number }> {
  const images = [];
  for (const pdf of [a, b]) {
    const file = join(dir, `${crypto.randomUUID()}.pdf`);
    await Deno.writeFile(file, pdf);
    const [png] = await pdfToPngs(file, dir, 72);
    images.push(await readPng(png!));
  }
  const [x, y] = images as [
    Awaited<ReturnType<typeof readPng>>,
    Awaited<ReturnType<typeof readPng>>,
  ];
  assert.equal(x.width, y.width);
  assert.equal(x.height, y.height);
  const across = Math.ceil(x.width / 32);
  const sums = new Float64Array(across * Math.ceil(x.height / 32));
  const counts = new Float64Array(sums.length);
  let total = 0;
  for (let p = 0; p < x.width * x.height; p++) {
    let d = 0;
    for (let c = 0; c < 3; c++) {
      d += Math.abs(x.data[p * 4 + c]! - y.data[p * 4 + c]!);
    }
    d /= 3 * 255;
    total += d;
    const px = p % x.width, py = Math.floor(p / x.width);
    const k = Math.floor(py / 32) * across + Math.floor(px / 32);
    sums[k]! += d;
    counts[k]!++;
  }
  let block = 0;
  for (let k = 0; k < sums.length; k++) {
    block = Math.max(block, sums[k]! / counts[k]!);
  }
  return { mean: total / (x.width * x.height), block };
}

async function text(pdf: Uint8Array, dir: string): Promise<string> {
  const file = join(dir, `${crypto.randomUUID()}.pdf`);
  await Deno.writeFile(file, pdf);
  return await run("pdftotext", [file, "-"]);
}

/** What a converted file must keep of its input, and hold as PDF/X-4. */
async function assertPdfX(
  input: Uint8Array,
  output: Uint8Array,
  dir: string,
): Promise<void> {
  const before = await pdfxReport(input);
  const after = await pdfxReport(output);
  assert.ok(before.rgb.length > 0, "the input has RGB to convert");
  assert.deepEqual(after.problems, []);
  assert.equal(after.version, "PDF/X-4");
  assert.equal(after.outputIntents[0]!.profile?.n, 4);
  assert.deepEqual(after.pages, before.pages, "same pages, same boxes");
  assert.deepEqual(
    after.fonts.map((f) => [f.name, f.embedded]),
    before.fonts.map((f) => [f.name, f.embedded]),
  );
  assert.deepEqual(
    after.images.map((i) => [i.width, i.height, i.pages]),
    before.images.map((i) => [i.width, i.height, i.pages]),
    "the same image objects, drawn on the same pages",
  );
  assert.ok(after.images.every((i) => i.colourSpace === "DeviceCMYK"));
  assert.equal(after.transparency, before.transparency);
  // Pages look the same, colours moved into the CMYK gamut.
  const diff = await difference(output, input, dir);
  const figures = `${(diff.mean * 100).toFixed(2)} % mean, worst block ${
    (diff.block * 100).toFixed(2)
  } %`;
  console.log(`converted page against its RGB original: ${figures}`);
  assert.ok(diff.mean <= MAX_MEAN, figures);
  assert.ok(diff.block <= MAX_BLOCK_MEAN, figures);
}

Deno.test("PdfXConverter writes PDF/X-4 of vector and raster pieces and merged files", async (t) => {
  const made = await fixtures();
  await using dir = await tempDir();
  await using pdfx = await PdfXConverter.open();

  await t.step(
    "vector pieces: CMYK only, boxes, fonts, text as text",
    async () => {
      for (const [i, piece] of made.vector.entries()) {
        const out = await pdfx.convert(piece, { date: DATE });
        await assertPdfX(piece, out, dir.path);
        const words = (await text(out, dir.path)).replace(/\s+/g, " ");
        assert.match(words, new RegExp(`Hello ${RECORDS[i]!.name}`));
        assert.match(
          words,
          new RegExp(`Plain black serif for ${RECORDS[i]!.name}`),
        );
      }
    },
  );

  await t.step("the page comparison tells two records apart", async () => {
    // Else the bounds above would pass anything.
    const other = await pdfx.convert(made.vector[1]!, { date: DATE });
    const diff = await difference(other, made.vector[0]!, dir.path);
    assert.ok(diff.block > MAX_BLOCK_MEAN, `${diff.block}`);
  });

  await t.step("raster pieces", async () => {
    for (const piece of made.raster) {
      const out = await pdfx.convert(piece, { date: DATE });
      await assertPdfX(piece, out, dir.path);
      const report = await pdfxReport(out);
      assert.equal(report.images.length, 1);
    }
  });

  await t.step(
    "merged vector file: the background image stays one object",
    async () => {
      const out = await pdfx.convert(made.vectorMerged, { date: DATE });
      await assertPdfX(made.vectorMerged, out, dir.path);
      const report = await pdfxReport(out);
      const hero = report.images.filter((i) => i.width === 800);
      assert.equal(hero.length, 1, "one hero image object");
      assert.deepEqual(hero[0]!.pages, [1, 2, 3]);
      // Two photos, and the shadows of each record.
      const photos = report.images.filter((i) => i.width === 400);
      assert.equal(photos.length, 2);
    },
  );

  await t.step("merged raster file", async () => {
    const out = await pdfx.convert(made.rasterMerged, { date: DATE });
    await assertPdfX(made.rasterMerged, out, dir.path);
    assert.equal((await pdfxReport(out)).images.length, 3);
  });

  await t.step(
    "a chunk converted before its split: pieces made PDF/X by appending",
    async () => {
      const cmyk = await pdfx.toCmyk(made.chunk, { boxes: false });
      const pieces = await splitChunk(cmyk, made.geometry);
      assert.equal(pieces.length, made.vector.length);
      for (const [i, piece] of pieces.entries()) {
        const out = await pdfx.identify(piece, { date: DATE });
        // Appended: the split piece's bytes come first, unchanged.
        assert.deepEqual(out.subarray(0, piece.length), piece);
        await assertPdfX(made.vector[i]!, out, dir.path);
      }
    },
  );

  await t.step(
    "identify() converts a piece whose colours were not converted",
    async () => {
      const out = await pdfx.identify(made.vector[0]!, { date: DATE });
      await assertPdfX(made.vector[0]!, out, dir.path);
    },
  );

  await t.step(
    "merged from converted pieces, made PDF/X in place",
    async () => {
      const merged = new MergedChunks(made.geometry, { title: "Postcards" });
      const file = join(dir.path, "merged.pdf");
      {
        using out = await Deno.open(file, { write: true, create: true });
        for (const [i, piece] of made.vector.entries()) {
          const converted = await pdfx.convert(piece, { date: DATE });
          await out.write(
            await merged.add(converted, [{ index: i + 1, fields: {} }]),
          );
        }
        await out.write(merged.end());
      }
      const before = await Deno.readFile(file);
      await pdfx.identifyFile(file, { date: DATE, pdfvt: true });
      const after = await Deno.readFile(file);
      assert.deepEqual(after.subarray(0, before.length), before);
      await assertPdfX(made.vectorMerged, after, dir.path);
      const report = await pdfxReport(after);
      assert.equal(report.images.filter((i) => i.width === 800).length, 1);
      assert.equal(report.title, "Postcards");
      assert.match(
        new TextDecoder().decode(after.subarray(before.length)),
        /<pdfvtid:GTS_PDFVTVersion>PDF\/VT-1</,
      );
    },
  );

  await t.step("same input and date, same bytes", async () => {
    const a = await pdfx.convert(made.vector[0]!, { date: DATE });
    const b = await pdfx.convert(made.vector[0]!, { date: DATE });
    assert.deepEqual(a, b);
  });

  await t.step("converted JPEGs are reused by the next file", async () => {
    const before = pdfx.stats;
    await pdfx.convert(made.vector[0]!, { date: DATE });
    const after = pdfx.stats;
    assert.equal(after.ghostscriptRuns, before.ghostscriptRuns);
    assert.equal(after.imagesConverted, before.imagesConverted);
  });

  await t.step(
    "convertFile() replaces a file in place, and not when aborted",
    async () => {
      const file = join(dir.path, "piece.pdf");
      await Deno.writeFile(file, made.vector[1]!);
      const controller = new AbortController();
      controller.abort(new Error("stop"));
      await assert.rejects(
        pdfx.convertFile(file, file, { signal: controller.signal }),
        /stop/,
      );
      assert.deepEqual(await Deno.readFile(file), made.vector[1]!);
      await pdfx.convertFile(file, file, { date: DATE });
      assert.deepEqual(
        (await pdfxReport(await Deno.readFile(file))).problems,
        [],
      );
      const left = [...Deno.readDirSync(dir.path)].filter((e) =>
        e.name.endsWith(".tmp")
      );
      assert.deepEqual(left, []);
    },
  );
});

Deno.test("PdfXConverter's colours are Ghostscript's; pure black text is K only", async (t) => {
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  // The design without transparency, which Ghostscript's pdfwrite keeps
  // vector; and a page of black text.
  const opaque = await smallTemplate(
    OBJECTS.filter((o) => !("shadow" in o) && !("opacity" in o)),
    RECORDS.slice(0, 1),
  );
  const black = await smallTemplate([OBJECTS[6]!], RECORDS.slice(0, 1));
  const pieces: Uint8Array[] = [];
  for (const { spec, payloads } of [opaque, black]) {
    await using page = await openPage(browser, spec);
    pieces.push((await vectorPieces(page, payloads))[0]!.pdf);
  }
  await using pdfx = await PdfXConverter.open({ blackToK: false });
  await using k = await PdfXConverter.open();

  await t.step(
    "the same page converted by Ghostscript's pdfwrite",
    async () => {
      const ours = await pdfx.convert(pieces[0]!, { date: DATE });
      const input = join(dir.path, "in.pdf");
      const theirs = join(dir.path, "gs.pdf");
      await Deno.writeFile(input, pieces[0]!);
      await run("gs", [
        "-q",
        "-dNOPAUSE",
        "-dBATCH",
        "-dSAFER",
        "-sDEVICE=pdfwrite",
        "-sColorConversionStrategy=CMYK",
        "-sProcessColorModel=DeviceCMYK",
        `-sOutputICCProfile=${pdfx.profile.path}`,
        "-o",
        theirs,
        input,
      ]);
      const diff = await difference(
        ours,
        await Deno.readFile(theirs),
        dir.path,
      );
      // Measured 0.13 % of full scale, worst block 1.2 % (both encode the
      // JPEGs anew; antialiasing).
      const figures = `${(diff.mean * 100).toFixed(2)} % mean, worst block ${
        (diff.block * 100).toFixed(2)
      } %`;
      console.log(`against Ghostscript's conversion: ${figures}`);
      assert.ok(diff.mean < 0.01, figures);
      assert.ok(diff.block < 0.06, figures);
    },
  );

  /** Ghostscript's inkcov: the page's C, M, Y, K coverage. */
  const coverage = async (pdf: Uint8Array) => {
    const file = join(dir.path, `${crypto.randomUUID()}.pdf`);
    await Deno.writeFile(file, pdf);
    const out = await run("gs", [
      "-q",
      "-dNOPAUSE",
      "-dBATCH",
      "-dSAFER",
      "-sDEVICE=inkcov",
      "-o",
      "-",
      file,
    ]);
    return out.trim().split(/\s+/).slice(0, 4).map(Number);
  };

  await t.step(
    "black text: K only by default, the profile's rich black if not",
    async () => {
      const [c, m, y, kk] = await coverage(
        await k.convert(pieces[1]!, { date: DATE }),
      );
      assert.deepEqual([c, m, y], [0, 0, 0], `C M Y K ${[c, m, y, kk]}`);
      assert.ok(kk! > 0.001, `C M Y K ${[c, m, y, kk]}`);
      const rich = await coverage(
        await pdfx.convert(pieces[1]!, { date: DATE }),
      );
      assert.ok(rich.every((v) => v > 0.001), `C M Y K ${rich}`);
    },
  );
});

/** ICC header bytes: size, class, colour space, 'acsp'; no tags. */
function iccHeader(
  options: {
    size?: number;
    deviceClass?: string;
    space?: string;
    length?: number;
  } = {},
): Uint8Array {
  const length = options.length ?? 132;
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, options.size ?? length);
  bytes.set(new TextEncoder().encode(options.deviceClass ?? "prtr"), 12);
  bytes.set(new TextEncoder().encode(options.space ?? "CMYK"), 16);
  bytes.set(new TextEncoder().encode("acsp"), 36);
  bytes[8] = 2;
  return bytes;
}

Deno.test("--icc: a file that is not a CMYK output profile is refused, nothing written", async (t) => {
  await using dir = await tempDir();
  const input = join(dir.path, "in.pdf");
  const output = join(dir.path, "out.pdf");
  await Deno.writeFile(input, new TextEncoder().encode("%PDF-1.4\n"));
  const cases: [string, Uint8Array | undefined, RegExp][] = [
    ["missing.icc", undefined, /no such file/],
    [
      "srgb.icc",
      iccHeader({ deviceClass: "mntr", space: "RGB " }),
      /display \('mntr'\) profile for RGB/,
    ],
    [
      "scanner.icc",
      iccHeader({ deviceClass: "scnr", space: "RGB " }),
      /input \(scanner/,
    ],
    [
      "rgb-printer.icc",
      iccHeader({ space: "RGB " }),
      /printer profile for RGB, not for CMYK/,
    ],
    [
      "cut.icc",
      iccHeader({ size: 5000 }),
      /header says 5000 bytes but the file has 132/,
    ],
    [
      "notes.icc",
      new TextEncoder().encode(
        "not a profile at all, but long enough ".repeat(5),
      ),
      /not an ICC profile/,
    ],
    ["tiny.icc", new Uint8Array(10), /too short/],
  ];
  for (const [name, bytes, why] of cases) {
    await t.step(name, async () => {
      const icc = join(dir.path, name);
      if (bytes) await Deno.writeFile(icc, bytes);
      await assert.rejects(
        convertToPdfX(input, output, { icc }),
        (error: unknown) => {
          assert.ok(error instanceof UsageError, String(error));
          assert.match(error.message, /--icc/);
          assert.ok(error.message.includes(icc), error.message);
          assert.match(error.message, why);
          assert.equal(error.location.field, "--icc");
          return true;
        },
      );
      await assert.rejects(Deno.stat(output), Deno.errors.NotFound);
    });
  }
});

Deno.test("--icc: the printer's profile is embedded as the OutputIntent", async () => {
  await using dir = await tempDir();
  // Ghostscript's own profile under another name stands for a print shop's.
  let profile: string;
  {
    await using plain = await PdfXConverter.open();
    profile = plain.profile.path;
  }
  const icc = join(dir.path, "Print shop FOGRA39.icc");
  await Deno.copyFile(profile, icc);
  // A raster piece of one colour.
  const geometry = pageGeometry({ width: 6, height: 4, unit: "in" }, {
    bleed: 0.125,
    dpi: 40,
  });
  const png = new PNG({ width: 250, height: 170, colorType: 2 });
  for (let i = 0; i < 250 * 170; i++) png.data.set([37, 99, 235, 255], i * 4);
  const bytes = new Uint8Array(PNG.sync.write(png, { colorType: 2 }));
  const piece = await piecePdf(
    { format: "png", bytes, width: 250, height: 170 },
    geometry,
  );
  const input = join(dir.path, "0001.pdf");
  await Deno.writeFile(input, piece);
  await convertToPdfX(input, input, { icc, outputCondition: "FOGRA39" });
  const out = await Deno.readFile(input);
  const report = await pdfxReport(out);
  assert.deepEqual(report.problems, []);
  assert.equal(report.outputIntents[0]!.identifier, "FOGRA39");
  assert.equal(
    report.outputIntents[0]!.profile?.size,
    (await Deno.stat(icc)).size,
  );
});

Deno.test("PdfXConverter.open() says to install Ghostscript when it is missing", async () => {
  await assert.rejects(
    PdfXConverter.open({ ghostscript: "/nonexistent/gs" }),
    (error: unknown) => {
      assert.ok(error instanceof PressrunError);
      assert.ok(!(error instanceof UsageError));
      assert.match(
        error.message,
        /Ghostscript .* is not installed; run \.\/setup\.sh/,
      );
      return true;
    },
  );
});

/**
 * A page pdf-lib writes with what Chromium does not: a luminosity soft
 * mask, an Indexed image, a tiling pattern, a shading drawn by `sh` with a
 * PostScript function, a spot colour with an RGB alternate, an inline RGB
 * image and `cs`/`sc` colours.
 */
async function handMadePdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const context = doc.context;
  const stream = (dict: Record<string, unknown>, text: string) =>
    context.register(
      context.flateStream(new TextEncoder().encode(text), dict as never),
    );
  const mask = stream({
    Type: "XObject",
    Subtype: "Form",
    BBox: [0, 0, 200, 200],
    Group: { Type: "Group", S: "Transparency", CS: "DeviceRGB" },
  }, "0 0 0 rg 0 0 200 200 re f 1 1 1 rg 50 50 100 100 re f");
  const tile = stream({
    Type: "Pattern",
    PatternType: 1,
    PaintType: 1,
    TilingType: 1,
    BBox: [0, 0, 20, 20],
    XStep: 20,
    YStep: 20,
    Resources: {},
  }, "1 0 0 rg 0 0 10 10 re f 0 0 1 rg 10 10 10 10 re f");
  const ramp = context.register(PDFRawStream.of(
    context.obj({ FunctionType: 4, Domain: [0, 1], Range: [0, 1, 0, 1, 0, 1] }),
    new TextEncoder().encode("{ dup 1 exch sub 0.5 }"),
  ));
  const indexed = context.register(PDFRawStream.of(
    context.obj({
      Type: "XObject",
      Subtype: "Image",
      Width: 2,
      Height: 1,
      BitsPerComponent: 8,
      ColorSpace: [
        PDFName.of("Indexed"),
        PDFName.of("DeviceRGB"),
        1,
        PDFHexString.of("ff8000" + "0080ff"),
      ],
    }),
    new Uint8Array([0, 1]),
  ));
  const content = [
    "q /GS0 gs 0.2 0.6 0.3 rg 20 20 200 200 re f Q",
    "q /Pattern cs /P0 scn 240 20 100 100 re f Q",
    "q 360 20 80 100 re W n /Sh0 sh Q",
    "q /CS0 cs 0.8 sc 20 240 100 40 re f Q",
    "q /DeviceRGB CS 0 0.5 1 SC 4 w 140 240 m 240 280 l S Q",
    "q 60 0 0 30 260 240 cm /Im0 Do Q",
    "q 30 0 0 30 340 240 cm BI /W 2 /H 1 /CS /RGB /BPC 8 ID\n",
  ].join("\n");
  const bytes = new Uint8Array([
    ...new TextEncoder().encode(content),
    255,
    0,
    0,
    0,
    255,
    0,
    ...new TextEncoder().encode("\nEI Q\n"),
  ]);
  const page = doc.addPage([450, 306]);
  page.node.set(
    PDFName.of("Contents"),
    context.register(PDFRawStream.of(context.obj({}), bytes)),
  );
  page.node.set(PDFName.of("TrimBox"), context.obj([9, 9, 441, 297]));
  page.node.set(PDFName.of("BleedBox"), context.obj([0, 0, 450, 306]));
  page.node.set(
    PDFName.of("Resources"),
    context.obj({
      ExtGState: {
        GS0: {
          Type: "ExtGState",
          SMask: { Type: "Mask", S: "Luminosity", G: mask },
        },
      },
      Pattern: { P0: tile },
      Shading: {
        Sh0: {
          ShadingType: 2,
          ColorSpace: "DeviceRGB",
          Coords: [360, 0, 440, 0],
          Function: ramp,
          Extend: [true, true],
        },
      },
      ColorSpace: {
        CS0: [
          PDFName.of("Separation"),
          PDFName.of("Brand"),
          PDFName.of("DeviceRGB"),
          context.obj({
            FunctionType: 2,
            Domain: [0, 1],
            C0: [1, 1, 1],
            C1: [0.9, 0.1, 0.4],
            N: 1,
          }),
        ],
      },
      XObject: { Im0: indexed },
    }),
  );
  return await doc.save({ useObjectStreams: false });
}

Deno.test("PdfXConverter converts soft masks, patterns, shadings, spot and indexed colours, inline images", async () => {
  await using dir = await tempDir();
  await using pdfx = await PdfXConverter.open();
  const input = await handMadePdf();
  const out = await pdfx.convert(input, { date: DATE });
  const report = await pdfxReport(out);
  assert.deepEqual(report.problems, []);
  assert.ok(report.transparency);
  assert.deepEqual(report.images.map((i) => i.colourSpace), [
    "Indexed(DeviceCMYK)",
  ]);
  // The mask measures luminosity in gray now: white lets through, black not.
  const doc = await PDFDocument.load(out);
  const state = doc.getPages()[0]!.node.Resources()!
    .lookup(PDFName.of("ExtGState"), PDFDict).lookup(
      PDFName.of("GS0"),
      PDFDict,
    );
  const group = doc.context.lookup(
    state.lookup(PDFName.of("SMask"), PDFDict).get(PDFName.of("G")),
  );
  assert.ok(group instanceof PDFRawStream);
  assert.equal(
    group.dict.lookup(PDFName.of("Group"), PDFDict).get(PDFName.of("CS"))
      ?.toString(),
    "/DeviceGray",
  );
  const maskContent = new TextDecoder().decode(
    decodePDFRawStream(group).decode(),
  );
  assert.match(maskContent, /^0 g 0 0 200 200 re f 1 g 50 50 100 100 re f$/);
  const diff = await difference(out, input, dir.path);
  assert.ok(diff.mean <= MAX_MEAN, `${diff.mean}`);
  assert.ok(diff.block <= 0.3, `${diff.block}`);
});
