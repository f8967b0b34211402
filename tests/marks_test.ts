import assert from "node:assert/strict";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { PDFDict, PDFDocument, PDFName } from "pdf-lib";
import { PNG } from "pngjs";
import { InputError } from "../common/errors.ts";
import { markPdf, markPdfFile, recordSlug } from "../pdf/marks.ts";
import {
  CARD,
  chunkOf,
  labels,
  mergedOf,
  piecesOf,
  POSTCARD,
  tool,
  withTempDir,
  wordsOf,
} from "./_print_pieces.ts";

const SLUG = 24;

/** Boxes of page `page` as `pdfinfo -box` reads them. */
async function boxes(path: string, page = 1) {
  const info = await tool(
    "pdfinfo",
    "-box",
    "-f",
    String(page),
    "-l",
    String(page),
    path,
  );
  const box = (name: string) =>
    new RegExp(`^Page +${page} ${name}: +(.+)$`, "m").exec(info)?.[1]?.trim()
      .split(/\s+/).map(Number);
  return {
    media: box("MediaBox"),
    crop: box("CropBox"),
    bleed: box("BleedBox"),
    trim: box("TrimBox"),
  };
}

/** Renders page 1 at `dpi` and returns its pixels. */
async function render(path: string, dir: string, dpi: number) {
  const prefix = join(dir, crypto.randomUUID());
  await tool(
    "pdftoppm",
    "-r",
    String(dpi),
    "-png",
    "-singlefile",
    path,
    prefix,
  );
  return PNG.sync.read(Buffer.from(await Deno.readFile(`${prefix}.png`)));
}

Deno.test("recordSlug() names the batch and the record", () => {
  assert.equal(
    recordSlug("Spring postcards", 7, 120),
    "Spring postcards · record 7 of 120",
  );
  assert.equal(recordSlug(undefined, 1, 2), "record 1 of 2");
});

Deno.test("markPdf() grows the MediaBox by the slug and keeps TrimBox and BleedBox", async () => {
  const [piece] = await piecesOf(["R0007"], POSTCARD);
  const marked = await markPdf(piece!, {
    slug: recordSlug("Spring postcards", 7, 120),
  });
  await withTempDir(async (dir) => {
    const before = join(dir, "before.pdf"), after = join(dir, "after.pdf");
    await Deno.writeFile(before, piece!);
    await Deno.writeFile(after, marked);
    const a = await boxes(before), b = await boxes(after);
    assert.deepEqual(b.bleed, a.bleed);
    assert.deepEqual(b.trim, a.trim);
    assert.deepEqual(b.trim, [9, 9, 441, 297]);
    assert.deepEqual(b.media, [-SLUG, -SLUG, 450 + SLUG, 306 + SLUG]);
    assert.deepEqual(b.crop, b.media);
    const check = await tool("qpdf", "--check", after);
    assert.match(check, /No syntax or stream encoding errors found/);
  });
});

Deno.test("markPdf() leaves every pixel inside the bleed box as it was, and marks only outside it", async () => {
  const [piece] = await piecesOf(["R0007"], POSTCARD);
  const marked = await markPdf(piece!, { slug: "Spring postcards" });
  await withTempDir(async (dir) => {
    await Deno.writeFile(join(dir, "before.pdf"), piece!);
    await Deno.writeFile(join(dir, "after.pdf"), marked);
    const dpi = 144, k = dpi / 72, s = SLUG * k;
    const a = await render(join(dir, "before.pdf"), dir, dpi);
    const b = await render(join(dir, "after.pdf"), dir, dpi);
    assert.equal(b.width, a.width + 2 * s);
    assert.equal(b.height, a.height + 2 * s);
    let differ = 0;
    for (let y = 0; y < a.height; y++) {
      for (let x = 0; x < a.width; x++) {
        const i = (y * a.width + x) * 4, j = ((y + s) * b.width + x + s) * 4;
        if (
          a.data[i] !== b.data[j] || a.data[i + 1] !== b.data[j + 1] ||
          a.data[i + 2] !== b.data[j + 2]
        ) differ++;
      }
    }
    assert.equal(differ, 0, `${differ} pixels inside the bleed box changed`);
    // Ink in the slug: the crop marks at the trim's left edge, below the
    // bleed (they run from 3 to 21 pt past it), drawn in registration colour.
    const dark = (x: number, y: number) => {
      const i = (Math.round(y) * b.width + Math.round(x)) * 4;
      return b.data[i]! < 160 && b.data[i + 1]! < 160 && b.data[i + 2]! < 160;
    };
    const trimLeft = s + 9 * k, bleedBottom = b.height - s;
    assert.ok(
      [-0.5, 0, 0.5].some((dx) => dark(trimLeft + dx, bleedBottom + 12 * k)),
      "no crop mark below the trim's left edge",
    );
    // The slug beyond the marks' reach stays paper.
    assert.ok(!dark(trimLeft, b.height - 1));
  });
});

Deno.test("markPdf() draws the marks in a registration colour (/Separation /All)", async () => {
  const [piece] = await piecesOf(["R0007"], CARD);
  const marked = new TextDecoder("latin1").decode(await markPdf(piece!));
  assert.match(marked, /\[\/Separation\/All\/DeviceCMYK<<\/FunctionType 2/);
  assert.match(marked, /\/R CS 1 SCN/);
});

Deno.test("markPdf() prints the slug line as text below the bleed box, fitted between the marks", async (t) => {
  await t.step("a postcard", async () => {
    const [piece] = await piecesOf(["R0007"], POSTCARD);
    const marked = await markPdf(piece!, {
      slug: recordSlug("Spring postcards", 7, 120),
    });
    await withTempDir(async (dir) => {
      const path = join(dir, "marked.pdf");
      await Deno.writeFile(path, marked);
      const text = await tool("pdftotext", path, "-");
      assert.match(text, /Spring postcards · record 7 of 120/);
      const [page] = await wordsOf(path);
      // Poppler's page is the MediaBox, from (-24, -24).
      const slugWords = page!.words.filter((w) => w.text !== "R0007");
      assert.ok(slugWords.length >= 5);
      for (const w of slugWords) {
        assert.ok(w.y - SLUG < 0, `${w.text} is inside the bleed box`);
        assert.ok(
          w.x - SLUG > 9 && w.x - SLUG < 441,
          `${w.text} is past the trim`,
        );
      }
    });
  });
  await t.step("a long name on a small card is shrunk, then cut", async () => {
    const [piece] = await piecesOf(["R0001"], CARD);
    const name =
      "The Very Long Name Of A Spring Campaign For Bakeries, Cafés And Coffee Shops In Portland, Seattle, San Francisco And Los Angeles";
    const marked = await markPdf(piece!, {
      slug: recordSlug(name, 1, 10000),
    });
    await withTempDir(async (dir) => {
      const path = join(dir, "marked.pdf");
      await Deno.writeFile(path, marked);
      const text = (await tool("pdftotext", path, "-")).replace(/\s+/g, " ");
      assert.match(text, /The Very Long Name .*…/);
      const [page] = await wordsOf(path);
      for (const w of page!.words.filter((w) => w.text !== "R0001")) {
        assert.ok(w.x - SLUG < 9 + 252, `${w.text} runs past the trim`);
      }
    });
  });
});

Deno.test("markPdfFile() marks every page of a merged PDF with its own slug line", async () => {
  await withTempDir(async (dir) => {
    const merged = join(dir, "merged.pdf");
    await Deno.writeFile(merged, await mergedOf(labels(60), CARD));
    const out = join(dir, "marked.pdf");
    const result = await markPdfFile(merged, out, {
      slug: (page, pages) => recordSlug("Cards", page + 1, pages),
    });
    assert.equal(result.pages, 60);
    assert.equal(result.bytes, (await Deno.stat(out)).size);
    const check = await tool("qpdf", "--check", out);
    assert.match(check, /No syntax or stream encoding errors found/);
    for (const page of [1, 51, 60]) {
      const text = await tool(
        "pdftotext",
        "-f",
        String(page),
        "-l",
        String(page),
        out,
        "-",
      );
      assert.match(text, new RegExp(`R${String(page).padStart(4, "0")}`));
      assert.match(text, new RegExp(`Cards · record ${page} of 60`));
      const b = await boxes(out, page);
      assert.deepEqual(b.trim, [9, 9, 261, 153]);
      assert.deepEqual(b.bleed, [0, 0, 270, 162]);
      assert.deepEqual(b.media, [-SLUG, -SLUG, 270 + SLUG, 162 + SLUG]);
    }
  });
});

Deno.test("markPdfFile() can write over its input; on error it leaves the output alone", async () => {
  await withTempDir(async (dir) => {
    const [piece] = await piecesOf(["R0003"], CARD);
    const path = join(dir, "0003.pdf");
    await Deno.writeFile(path, piece!);
    await markPdfFile(path, path, { slug: "record 3" });
    assert.deepEqual((await boxes(path)).media, [-24, -24, 294, 186]);
    const notes = join(dir, "notes.pdf");
    await Deno.writeTextFile(notes, "not a PDF");
    await assert.rejects(
      () => markPdfFile(notes, join(dir, "out.pdf")),
      (e: Error) =>
        e instanceof InputError &&
        e.message === "Cannot read notes.pdf: it is not a PDF file",
    );
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names.sort(), ["0003.pdf", "notes.pdf"]);
    await assert.rejects(
      () => markPdfFile(path, join(dir, "x.pdf"), { slugPt: 10 }),
      RangeError,
    );
  });
});

Deno.test("markPdf() keeps the page's own resource names and reads PDFs with object streams", async () => {
  const doc = await PDFDocument.load(await chunkOf(["R0001"], CARD));
  const page = doc.getPage(0);
  page.setTrimBox(9, 9, 252, 144);
  page.node.Resources()!.set(
    PDFName.of("ColorSpace"),
    doc.context.obj({ PRreg: PDFName.of("DeviceGray") }),
  );
  const packed = await doc.save({ useObjectStreams: true });
  const marked = await PDFDocument.load(await markPdf(packed, { slug: "x" }));
  const spaces = marked.getPage(0).node.Resources()!.lookup(
    PDFName.of("ColorSpace"),
    PDFDict,
  );
  assert.deepEqual(
    spaces.keys().map((k) => k.asString()).sort(),
    ["/PRreg", "/PRreg1"],
  );
  const { trimBox, mediaBox } = {
    trimBox: marked.getPage(0).getTrimBox(),
    mediaBox: marked.getPage(0).getMediaBox(),
  };
  assert.deepEqual(trimBox, { x: 9, y: 9, width: 252, height: 144 });
  assert.deepEqual(mediaBox, { x: -24, y: -24, width: 318, height: 210 });
});
