import assert from "node:assert/strict";
import { join } from "node:path";
import { Browser } from "../render/browser.ts";
import { PersistentRenderer } from "../render/persistent.ts";
import type { PrintedChunk, VectorPiece } from "../render/render_page.ts";
import {
  csvUrls,
  decodeQr,
  EXAMPLE_CSV,
  examplePieces,
  pdfInfo,
  pdfToPngs,
  readPng,
  run,
  tempDir,
  TRICKY_BOM_CSV,
  TRICKY_CSV,
} from "./_helpers.ts";
import {
  BIDI,
  inOrder,
  MAX_BLOCK,
  MAX_DIFFERENCE,
  openPage,
  pdfDifference,
  rasterPdf,
  vectorPieces,
} from "./_vector.ts";

/** Hebrew and Arabic letters: a right-to-left row. */
const RTL = /[\u0590-\u08ff]/;

/** Every record of `csv` through a vector pool of one page; the chunks too. */
async function vectorBatch(browser: Browser, csv: string) {
  const { spec, payloads } = await examplePieces(csv);
  const chunks: PrintedChunk[] = [];
  await using pool = await PersistentRenderer.start(browser, spec, {
    pages: 1,
    pdfMode: "vector",
    chunkSize: 100,
    encode: { onChunk: (c) => chunks.push(c) },
  });
  const pieces = await Promise.all(payloads.map(async (p) => {
    const piece = await pool.render(p);
    assert.equal(piece.kind, "vector");
    return piece as VectorPiece;
  }));
  return { spec, payloads, pieces, chunks };
}

/** name, street, offer of each record, as the CSV has them. */
async function csvRows(csv: string) {
  const { readCsv } = await import("../batch/csv.ts");
  const rows: Record<string, string>[] = [];
  for await (const r of readCsv(csv)) rows.push({ ...r.values });
  return rows;
}

for (const csv of [EXAMPLE_CSV, TRICKY_CSV]) {
  Deno.test(`vector pieces of ${csv}: one-page PDFs at trim + bleed with boxes, clean, fonts embedded, text and QR per record`, async () => {
    await using browser = await Browser.launch();
    await using dir = await tempDir();
    const { pieces, payloads } = await vectorBatch(browser, csv);
    const urls = await csvUrls(csv);
    const rows = await csvRows(csv);
    assert.equal(pieces.length, payloads.length);
    for (const [i, piece] of pieces.entries()) {
      const index = payloads[i]!.index;
      const file = join(dir.path, `${index}.pdf`);
      await Deno.writeFile(file, piece.pdf);
      const info = await pdfInfo(file);
      assert.deepEqual(
        [info.pages, info.width, info.height, info.trim],
        [1, 450, 306, [9, 9, 441, 297]],
        `record ${index}`,
      );
      assert.match(
        await run("qpdf", ["--check", file]),
        /No syntax or stream encoding errors/,
      );
      const fonts = await run("pdffonts", [file]);
      const rowsOfFonts = fonts.split("\n").slice(2).filter((l) => l.trim());
      for (const line of rowsOfFonts) {
        assert.match(line, / yes +yes +yes /, `record ${index}: ${line}`);
      }
      if (piece.type3Fonts) {
        // Printed with Type 3 fonts: the record went out as its raster piece.
        assert.equal(rowsOfFonts.length, 0, `record ${index}`);
      } else {
        assert.ok(!/Type 3/.test(fonts), `record ${index}: ${fonts}`);
        assert.ok(rowsOfFonts.length > 0, `record ${index} has text`);
        const raw = (await run("pdftotext", [file, "-"])).replace(BIDI, "");
        const text = raw.replace(/\s+/g, " ");
        const row = rows[i]!;
        // No emoji font is installed (the raster path draws none either).
        const value = (field: string) =>
          (row[field] ?? "").replace(/\p{Extended_Pictographic}/gu, "")
            .replace(/\s+/g, " ").trim();
        const name = `${value("firstName")} ${value("lastName")}`.trim();
        if (RTL.test(Object.values(row).join(""))) {
          // Right-to-left (Arabic): the name and street lines come out in
          // logical order; the offer's digits and sign move ("خصم ٢٠٪"
          // reads "٢٠ خصم٪"), so its letters are compared.
          assert.ok(
            inOrder(text, [name, value("street")]),
            `record ${index}: "${text}"`,
          );
          const letters = (s: string) =>
            [...s.replace(/\s/g, "")].sort().join("");
          assert.ok(
            raw.split("\n").some((l) => letters(l) === letters(value("offer"))),
            `record ${index}: offer "${value("offer")}" in "${text}"`,
          );
        } else {
          // The card reads: the offer, then the name, then the street.
          const fields = [value("offer"), name, value("street")];
          assert.ok(
            inOrder(text, fields.filter(Boolean)),
            `record ${index}: ${JSON.stringify(fields)} in order in "${text}"`,
          );
        }
      }
      const [png] = await pdfToPngs(file, dir.path, 300);
      assert.equal(await decodeQr(png!), urls[index - 1], `record ${index}`);
    }
    // The tricky fixture's Chinese (5) and Arabic (6) rows too: their bold
    // text falls back to a real bold face (LXGW WenKai Bold, Noto Sans
    // Arabic Bold, appended to bold text's families by template/page_spec.ts),
    // not to Chromium's synthetic bold, which prints as Type 3.
    assert.deepEqual(
      pieces.flatMap((p, i) =>
        p.type3Fonts ? [[payloads[i]!.index, ...p.type3Fonts]] : []
      ),
      [],
    );
  });
}

Deno.test("a vector chunk stores the example's hero image once, shared by every page", async () => {
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  const { chunks, payloads } = await vectorBatch(browser, EXAMPLE_CSV);
  const pages = chunks.reduce((n, c) => n + c.records.length, 0);
  assert.equal(pages, payloads.length);
  const chunk = chunks.find((c) => c.records.length > 1)!;
  const file = join(dir.path, "chunk.pdf");
  await Deno.writeFile(file, chunk.pdf);
  const list = await run("pdfimages", ["-list", file]);
  const heroes = list.split("\n").filter((l) => / 800 +1275 /.test(l));
  assert.equal(heroes.length, chunk.records.length, list);
  const objects = new Set(heroes.map((l) => l.trim().split(/\s+/)[10]));
  assert.equal(objects.size, 1, `one object: ${list}`);
});

Deno.test("a vector piece looks the same whether rendered first on a page or after other records", async () => {
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  const { spec, payloads } = await examplePieces(EXAMPLE_CSV);
  await using warm = await openPage(browser, spec);
  await using fresh = await openPage(browser, spec);
  // Record 2 has a photo and a company; record 3 has neither.
  const after = await vectorPieces(warm, [payloads[1]!, payloads[2]!]);
  const again = await vectorPieces(warm, [
    payloads[1]!,
    payloads[0]!,
    payloads[2]!,
  ]);
  const [alone] = await vectorPieces(fresh, [payloads[2]!]);
  // Not byte for byte: a piece carries its chunk's font subsets and object
  // numbers. Its pixels and its text are the same.
  const look = async (pdf: Uint8Array) => {
    const file = join(dir.path, `${crypto.randomUUID()}.pdf`);
    await Deno.writeFile(file, pdf);
    const [png] = await pdfToPngs(file, dir.path, 150);
    return {
      pixels: (await readPng(png!)).data,
      text: await run("pdftotext", [file, "-"]),
    };
  };
  const expected = await look(alone!.pdf);
  assert.ok(!expected.text.includes("Kapoor"));
  for (const piece of [after[1]!, again[2]!]) {
    const got = await look(piece.pdf);
    assert.equal(got.text, expected.text);
    assert.ok(
      got.pixels.length === expected.pixels.length &&
        got.pixels.every((v, i) => v === expected.pixels[i]),
      "same pixels",
    );
  }
});

for (const csv of [EXAMPLE_CSV, TRICKY_CSV, TRICKY_BOM_CSV]) {
  Deno.test(`vector pieces of ${csv} match the raster pieces at 150 dpi (≤ 1 % of pixels off by more than 10 %, ≤ 20 % in the worst 32 px block, antialiasing aside)`, async () => {
    await using browser = await Browser.launch();
    await using dir = await tempDir();
    const { spec, payloads, pieces } = await vectorBatch(browser, csv);
    await using page = await openPage(browser, spec);
    const figures: string[] = [];
    for (const [i, piece] of pieces.entries()) {
      if (piece.type3Fonts) continue; // its PDF is the raster piece itself
      const raster = await rasterPdf(page, spec, payloads[i]!);
      const diff = await pdfDifference(piece.pdf, raster, dir.path);
      const label = `record ${payloads[i]!.index}: ${percent(diff.piece)} ` +
        `(raster → vector ${percent(diff.reference)}, worst block ${
          percent(diff.block)
        })`;
      figures.push(label);
      assert.ok(diff.piece <= MAX_DIFFERENCE, label);
      assert.ok(diff.block <= MAX_BLOCK, label);
    }
    console.log(`${csv}: ${figures.join(", ")}`);
  });
}

Deno.test("the fidelity check fails a vector piece with a missing word, a smaller font or objects 2 px off", async (t) => {
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  const { spec, payloads } = await examplePieces(EXAMPLE_CSV, 1);
  const payload = payloads[0]!;
  await using page = await openPage(browser, spec);
  const [piece] = await vectorPieces(page, [payload]);
  const good = await pdfDifference(
    piece!.pdf,
    await rasterPdf(page, spec, payload),
    dir.path,
  );
  assert.ok(good.block <= MAX_BLOCK, `the right piece: ${percent(good.block)}`);
  /** The raster piece of `payload` drawn from a changed copy of the spec. */
  async function wrongRaster(
    change: (objects: Record<string, unknown>[]) => void,
    wrong = payload,
  ) {
    const copy = structuredClone(spec);
    change(copy.canvas.objects as Record<string, unknown>[]);
    await using other = await openPage(browser, copy);
    return await rasterPdf(other, copy, wrong);
  }
  const texts = (objects: Record<string, unknown>[]) =>
    objects.filter((o) => o.type === "Textbox");
  // 2 px at the 150 dpi of the comparison, in design units.
  const twoPx = 2 * (spec.print.geometry.dpi / 150) / spec.zoom;
  const cases: [string, () => Promise<Uint8Array>][] = [
    ["a word missing", () => {
      const wrong = structuredClone(payload);
      const update = wrong.objects.find((o) => (o.text ?? "").includes(" "))!;
      update.text = update.text!.slice(0, update.text!.lastIndexOf(" "));
      return wrongRaster(() => {}, wrong);
    }],
    ["the headline's font 10 % smaller", () =>
      wrongRaster((objects) => {
        const headline = texts(objects)[0]!;
        headline.fontSize = (headline.fontSize as number) * 0.9;
      })],
    ["every object 2 px to the right", () =>
      wrongRaster((objects) => {
        for (const o of objects) o.left = (o.left as number) + twoPx;
      })],
  ];
  for (const [name, raster] of cases) {
    await t.step(name, async () => {
      const diff = await pdfDifference(piece!.pdf, await raster(), dir.path);
      assert.ok(
        diff.piece > MAX_DIFFERENCE || diff.block > MAX_BLOCK,
        `${name}: ${percent(diff.piece)}, worst block ${percent(diff.block)}`,
      );
    });
  }
});

function percent(share: number): string {
  return `${(share * 100).toFixed(2)} %`;
}
