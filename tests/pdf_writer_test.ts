import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { crc32 } from "node:zlib";
import { PNG } from "pngjs";
import {
  type EncodedImage,
  MergedPdf,
  pageGeometry,
  piecePdf,
} from "../pdf/mod.ts";

type Rgb = [number, number, number];
const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 255, 0];
const BLUE: Rgb = [0, 0, 255];
const POSTCARD = pageGeometry({ width: 6, height: 4, unit: "in" }, {
  bleed: 0.125,
});

/** Runs a tool, asserts it succeeded and returns its stdout. */
async function tool(cmd: string, ...args: string[]): Promise<Uint8Array> {
  const out = await new Deno.Command(cmd, { args }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `${cmd} ${args.join(" ")} failed: ${err}`);
  return out.stdout;
}

async function text(cmd: string, ...args: string[]): Promise<string> {
  return new TextDecoder().decode(await tool(cmd, ...args));
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "pressrun_pdf_" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** An 8-bit PNG from a pixel function; colour type 2 (RGB) unless told. */
function makePng(
  width: number,
  height: number,
  pixel: (x: number, y: number) => Rgb,
  colorType: 0 | 2 | 6 = 2,
): EncodedImage {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      png.data.set([...pixel(x, y), 255], (y * width + x) * 4);
    }
  }
  const bytes = new Uint8Array(PNG.sync.write(png, { colorType }));
  return { format: "png", bytes, width, height };
}

/** Bytes of an image written by ImageMagick's `convert`. */
async function convert(args: string, name: string): Promise<Uint8Array> {
  return await withTempDir(async (dir) => {
    await tool("convert", ...args.split(" "), `${dir}/${name}`);
    return await Deno.readFile(`${dir}/${name}`);
  });
}

function jpegOf(bytes: Uint8Array): EncodedImage {
  return { format: "jpeg", bytes, width: 1, height: 1 };
}

function gradient(x: number, y: number): Rgb {
  return [x, y * 2, (x + y) >> 1];
}

function halves(left: Rgb, right: Rgb): (x: number) => Rgb {
  return (x) => x < 150 ? left : right;
}

/** Rewrites a PNG's single IDAT chunk as `parts` chunks, with valid CRCs. */
function splitIdat(png: Uint8Array, parts: number) {
  const length = new DataView(png.buffer, png.byteOffset).getUint32(33);
  const size = Math.ceil(length / parts);
  const data = png.subarray(41, 41 + length); // IHDR ends at 33; IDAT follows
  const chunks: Uint8Array[] = [];
  const out: number[] = [...png.subarray(0, 33)];
  for (let i = 0; i < data.length; i += size) {
    chunks.push(data.subarray(i, i + size));
    const chunk = new Uint8Array([73, 68, 65, 84, ...chunks.at(-1)!]); // IDAT
    out.push(...u32(chunk.length - 4), ...chunk, ...u32(crc32(chunk)));
  }
  out.push(...png.subarray(41 + length + 4)); // IEND
  return { bytes: new Uint8Array(out), chunks };
}

function u32(n: number): number[] {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

/** Renders one page at 72 dpi with pdftoppm and decodes it. */
async function renderPage(dir: string, pdf: string, page = 1): Promise<PNG> {
  const out = `${dir}/page${page}`;
  const range = ["-f", `${page}`, "-l", `${page}`];
  await tool("pdftoppm", "-r", "72", "-png", ...range, "-singlefile", pdf, out);
  return readPng(await Deno.readFile(`${out}.png`));
}

function readPng(bytes: Uint8Array): PNG {
  return PNG.sync.read(Buffer.from(bytes));
}

function pixelAt(png: PNG, x: number, y: number): Rgb {
  const i = (y * png.width + x) * 4;
  return [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
}

function assertColor(actual: Rgb, expected: Rgb, tolerance = 2): void {
  assert.ok(
    actual.every((c, i) => Math.abs(c - expected[i]!) <= tolerance),
    `expected colour ${expected}, got ${actual}`,
  );
}

/** pdfimages -list rows as [page, width, height, color, enc, object id]. */
async function listImages(pdf: string): Promise<string[][]> {
  const rows = (await text("pdfimages", "-list", pdf)).trim().split("\n");
  return rows.slice(2).map((row) => {
    const c = row.trim().split(/\s+/);
    return [c[0]!, c[3]!, c[4]!, c[5]!, c[8]!, c[10]!];
  });
}

/** A page box from `pdfinfo -box` output, as printed: x0 y0 x1 y1. */
function box(info: string, name: string): number[] | undefined {
  const match = info.match(new RegExp(`^${name}:((?:\\s+[\\d.]+){4})$`, "m"));
  return match?.[1]?.trim().split(/\s+/).map(Number);
}

async function rawStream(pdf: string, id: string): Promise<Uint8Array> {
  return await tool("qpdf", `--show-object=${id}`, "--raw-stream-data", pdf);
}

Deno.test("piecePdf() writes a 6×4 in postcard with bleed and trim boxes", async () => {
  await withTempDir(async (dir) => {
    const image = makePng(300, 200, halves(RED, BLUE));
    const file = `${dir}/piece.pdf`;
    const pdf = await piecePdf(image, POSTCARD, { title: "Ada" });
    await Deno.writeFile(file, pdf);
    const again = await piecePdf(image, POSTCARD, { title: "Ada" });
    assert.deepEqual(again, pdf, "the same input gives the same bytes");

    const info = await text("pdfinfo", "-box", file);
    assert.match(info, /^Pages:\s+1$/m);
    assert.match(info, /^Page size:\s+450 x 306 pts$/m);
    const [page, trim] = [[0, 0, 450, 306], [9, 9, 441, 297]];
    assert.deepEqual(box(info, "MediaBox"), page);
    assert.deepEqual(box(info, "BleedBox"), page);
    assert.deepEqual(box(info, "TrimBox"), trim);
    assert.match(info, /^Title:\s+Ada$/m);
    assert.match(info, /^Producer:\s+pressrun$/m);
    assert.doesNotMatch(info, /CreationDate|ModDate/);
    assert.match(await text("qpdf", "--check", file), /No syntax or stream/);
    const images = (await listImages(file)).map((row) => row.slice(0, 5));
    assert.deepEqual(images, [["1", "300", "200", "rgb", "image"]]);

    const raster = await renderPage(dir, file);
    assert.deepEqual([raster.width, raster.height], [450, 306]);
    assertColor(pixelAt(raster, 3, 3), RED); // in the left bleed
    assertColor(pixelAt(raster, 200, 153), RED);
    assertColor(pixelAt(raster, 250, 153), BLUE);
    assertColor(pixelAt(raster, 446, 302), BLUE); // in the right bleed
  });
});

Deno.test("piecePdf() passes a PNG's IDAT data through unchanged", async (t) => {
  const geometry = pageGeometry({ width: 160, height: 120, unit: "px" }, {
    dpi: 72,
  });
  await withTempDir(async (dir) => {
    for (const [colorType, colour] of [[2, "rgb"], [0, "gray"]] as const) {
      await t.step(`colour type ${colorType} (${colour})`, async () => {
        const png = makePng(160, 120, gradient, colorType);
        // Chromium writes its IDAT data in several chunks; so does this PNG.
        const { bytes, chunks } = splitIdat(png.bytes, 4);
        const file = `${dir}/gradient${colorType}.pdf`;
        await Deno.writeFile(file, await piecePdf({ ...png, bytes }, geometry));
        const [[, , , color, , id]] = await listImages(file) as [string[]];
        assert.equal(color, colour);
        const idat = new Uint8Array(chunks.flatMap((chunk) => [...chunk]));
        assert.deepEqual(await rawStream(file, id!), idat, "IDAT verbatim");

        const page = await renderPage(dir, file);
        const source = readPng(bytes); // pngjs checks the rewritten CRCs
        assert.deepEqual([page.width, page.height], [160, 120]);
        // Poppler resamples even at 1:1, so allow a level or two per channel.
        let worst = 0;
        for (let i = 0; i < source.data.length; i++) {
          worst = Math.max(worst, Math.abs(source.data[i]! - page.data[i]!));
        }
        assert.ok(worst <= 2, `a channel differs by ${worst} from the source`);
      });
    }
  });
});

Deno.test("piecePdf() embeds a JPEG as it is, even as a view into a larger buffer", async () => {
  await withTempDir(async (dir) => {
    const args = "-size 150x200 xc:red xc:blue +append -quality 95";
    const jpeg = await convert(args, "source.jpg");
    const padded = new Uint8Array(jpeg.length + 16);
    padded.set(jpeg, 16);
    const image = { ...jpegOf(padded.subarray(16)), width: 300, height: 200 };
    const file = `${dir}/jpeg.pdf`;
    await Deno.writeFile(file, await piecePdf(image, POSTCARD));
    const [row] = await listImages(file);
    assert.deepEqual(row!.slice(1, 5), ["300", "200", "rgb", "jpeg"]);
    assert.deepEqual(await rawStream(file, row![5]!), jpeg);
    const page = await renderPage(dir, file);
    assertColor(pixelAt(page, 100, 153), RED, 12);
    assertColor(pixelAt(page, 350, 153), BLUE, 12);
  });
});

Deno.test("piecePdf() rejects images it cannot embed without re-encoding", async (t) => {
  const good = makePng(300, 200, halves(RED, BLUE));
  const args = "-size 30x20 xc:red -define png:color-type=2 -interlace PNG";
  const interlaced = { ...good, bytes: await convert(args, "i.png") };
  const noIend = { ...good, bytes: good.bytes.subarray(0, -12) };
  const inIdat = { ...good, bytes: good.bytes.subarray(0, 60) };
  const gif = { ...good, bytes: new TextEncoder().encode("GIF89a...") };
  const jpeg = jpegOf(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 74, 70]));
  const noEnd = /^TypeError: Cannot read PNG: the data ends at byte \d+ before/;
  // A RegExp is matched against String(error), so it checks the type too.
  const cases: [string, EncodedImage, RegExp][] = [
    [
      "RGBA PNG",
      makePng(30, 20, () => RED, 6),
      /^TypeError: PNG with alpha \(colour type 6\) cannot be embedded without re-encoding; render with an opaque canvas$/,
    ],
    ["interlaced PNG", interlaced, /^TypeError: Interlaced PNG cannot be/],
    ["PNG without IEND", noIend, noEnd],
    ["PNG cut in IDAT", inIdat, /^TypeError: .*"IDAT" at byte 33 runs past/],
    ["not a PNG", gif, /^TypeError: Cannot read PNG: the PNG signature/],
    ["truncated JPEG", jpeg, /^TypeError: Cannot read JPEG: .* EOI marker/],
    ["wrong size", { ...good, width: 301 }, /^RangeError: .* got 301×200,/],
  ];
  for (const [name, image, error] of cases) {
    await t.step(name, async () => {
      await assert.rejects(piecePdf(image, POSTCARD), error);
    });
  }
});

Deno.test("MergedPdf writes one same-size page per add(), in order, deterministically", async () => {
  await withTempDir(async (dir) => {
    const merged = new MergedPdf(POSTCARD, { title: "Batch 7" });
    const colours = [RED, GREEN, BLUE];
    // Not awaited one by one on purpose: the order must hold anyway.
    const pngs = colours.map((c) => makePng(300, 200, () => c));
    await Promise.all(pngs.map((png) => merged.add(png)));
    assert.equal(merged.pageCount, 3);
    const file = `${dir}/merged.pdf`;
    const pdf = await merged.save();
    await Deno.writeFile(file, pdf);
    const again = new MergedPdf(POSTCARD, { title: "Batch 7" });
    for (const png of pngs) await again.add(png);
    assert.deepEqual(await again.save(), pdf, "same bytes as one by one");

    const info = await text("pdfinfo", "-f", "1", "-l", "3", "-box", file);
    assert.match(info, /^Pages:\s+3$/m);
    assert.match(info, /^Title:\s+Batch 7$/m);
    assert.equal(info.match(/^Page\s+\d size:\s+450 x 306 pts$/gm)?.length, 3);
    const trim = /^Page\s+\d TrimBox:\s+9\.00\s+9\.00\s+441\.00\s+297\.00$/gm;
    assert.equal(info.match(trim)?.length, 3);
    assert.match(await text("qpdf", "--check", file), /No syntax or stream/);
    const images = await listImages(file);
    assert.deepEqual(images.map((row) => row[0]), ["1", "2", "3"]);
    assert.equal(new Set(images.map((row) => row[5])).size, 3, "no sharing");
    for (const [i, colour] of colours.entries()) {
      const page = await renderPage(dir, file, i + 1);
      assertColor(pixelAt(page, 225, 153), colour);
    }
  });
});

Deno.test("MergedPdf.save() works once, and only with pages", async () => {
  const empty = new MergedPdf(POSTCARD);
  const noPage = /^Error: Cannot save the merged PDF: no page was added$/;
  await assert.rejects(empty.save(), noPage);
  const merged = new MergedPdf(POSTCARD);
  await merged.add(makePng(30, 20, () => RED));
  await assert.rejects(merged.add(makePng(30, 20, () => RED, 6)), TypeError);
  assert.equal(merged.pageCount, 1, "a rejected image takes no page");
  const pdf = await merged.save();
  assert.equal(new TextDecoder().decode(pdf.subarray(0, 8)), "%PDF-1.7");
  const saved =
    /^Error: Cannot (save|add a page): the merged PDF was already saved$/;
  await assert.rejects(merged.save(), saved);
  await assert.rejects(merged.add(makePng(30, 20, () => RED)), saved);
});
