import assert from "node:assert/strict";
import {
  PDFArray,
  PDFDict,
  PDFDocument,
  PDFHexString,
  PDFName,
  StandardFonts,
} from "pdf-lib";
import { PressrunError } from "../common/errors.ts";
import { joinChunks, MergedChunks, splitChunk } from "../pdf/chunks.ts";
import { pageGeometry } from "../pdf/geometry.ts";

const POSTCARD = pageGeometry({ width: 6, height: 4, unit: "in" }, {
  bleed: 0.125,
});
const HERO = new URL("../examples/postcard/hero.jpg", import.meta.url);
const PORTRAIT = new URL("portrait-ak.jpg", HERO);

/** Runs a tool, asserts it succeeded and returns its stdout as text. */
async function tool(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `${cmd} ${args.join(" ")} failed: ${err}`);
  return new TextDecoder().decode(out.stdout);
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "pressrun_chunks_" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A chunk as Chromium prints one: one page per record, each page drawing the
 * same image object (stored once) and the record's own text, and no
 * TrimBox/BleedBox.
 */
async function makeChunk(
  names: string[],
  size: [number, number] = [POSTCARD.widthPt, POSTCARD.heightPt],
  picture: URL = HERO,
): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const image = await doc.embedJpg(await Deno.readFile(picture));
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const name of names) {
    const page = doc.addPage(size);
    page.drawImage(image, { x: 0, y: 0, width: 150, height: 240 });
    page.drawText(name, { x: 200, y: 150, size: 24, font });
  }
  return await doc.save({ useObjectStreams: false });
}

/** What `pdfinfo -box` says about page `page` of a file. */
async function boxes(path: string, page = 1): Promise<Record<string, string>> {
  const info = await tool(
    "pdfinfo",
    "-box",
    "-f",
    String(page),
    "-l",
    String(page),
    path,
  );
  const out: Record<string, string> = {};
  for (const line of info.split("\n")) {
    const m = /^(?:Page\s+\d+\s+)?(\w+Box|Pages|Title):\s+(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim().replace(/\s+/g, " ");
  }
  return out;
}

/** Object ids of the images `pdfimages -list` finds, one per image use. */
async function imageObjects(path: string): Promise<string[]> {
  const list = await tool("pdfimages", "-list", path);
  return list.split("\n").slice(2).filter((l) => l.trim()).map((l) => {
    const cols = l.trim().split(/\s+/);
    return cols[10]!;
  });
}

const MEDIA = "0.00 0.00 450.00 306.00";
const TRIM = "9.00 9.00 441.00 297.00";

Deno.test("splitChunk() writes one PDF per page with the piece's boxes, title and text", async () => {
  const names = ["Ann Lee", "José Martínez", "Zoë Ångström"];
  const pieces = await splitChunk(await makeChunk(names), POSTCARD, {
    titles: ["0001", "0002", "0003"],
  });
  assert.equal(pieces.length, 3);
  await withTempDir(async (dir) => {
    for (const [i, piece] of pieces.entries()) {
      const path = `${dir}/${i}.pdf`;
      await Deno.writeFile(path, piece);
      await tool("qpdf", "--check", path);
      const info = await boxes(path);
      assert.equal(info.Pages, "1");
      assert.equal(info.Title, `000${i + 1}`);
      assert.equal(info.MediaBox, MEDIA);
      assert.equal(info.BleedBox, MEDIA);
      assert.equal(info.TrimBox, TRIM);
      const text = await tool("pdftotext", path, "-");
      // Helvetica's WinAnsi encoding carries these accents.
      assert.ok(text.includes(names[i]!), `piece ${i + 1}: ${text}`);
      for (const other of names.filter((_, j) => j !== i)) {
        assert.ok(!text.includes(other), `piece ${i + 1} holds ${other}`);
      }
      assert.equal((await imageObjects(path)).length, 1);
    }
  });
});

Deno.test("splitChunk() keeps the top-left corner of a page Chromium rounded to 1/300 in", async () => {
  // A6 + 3 mm bleed is 314.65×436.54 pt; Chromium prints it 315.12×437.04 pt.
  const a6 = pageGeometry({ width: 105, height: 148, unit: "mm" }, {
    bleed: 3,
  });
  const [piece] = await splitChunk(
    await makeChunk(["A6"], [315.12, 437.04]),
    a6,
  );
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/a6.pdf`, piece!);
    const info = await boxes(`${dir}/a6.pdf`);
    assert.equal(info.MediaBox, "0.00 0.50 314.65 437.04");
    assert.equal(info.BleedBox, "0.00 0.50 314.65 437.04");
    assert.equal(info.TrimBox, "8.50 9.01 306.14 428.54");
  });
});

Deno.test("splitChunk() output is the same bytes for the same chunk", async () => {
  const chunk = await makeChunk(["A", "B"]);
  assert.deepEqual(
    await splitChunk(chunk, POSTCARD),
    await splitChunk(chunk, POSTCARD),
  );
});

Deno.test("MergedChunks joins chunks in order, each distinct image stored once", async () => {
  const first = ["Record 1", "Record 2", "Record 3"];
  const second = ["Record 4", "Record 5"];
  const third = ["Record 6"];
  const merged = new MergedChunks(POSTCARD, { title: "Spring postcards" });
  const defaultSize: [number, number] = [POSTCARD.widthPt, POSTCARD.heightPt];
  // Not awaited one by one: the order of the calls still decides.
  const parts = await Promise.all([
    merged.add(await makeChunk(first)),
    merged.add(await makeChunk(second)),
    merged.add(await makeChunk(third, defaultSize, PORTRAIT)),
  ]);
  parts.push(merged.end());
  assert.equal(merged.pageCount, 6);
  await withTempDir(async (dir) => {
    const path = `${dir}/merged.pdf`;
    const file = await Deno.open(path, { write: true, create: true });
    for (const part of parts) await file.write(part);
    file.close();
    assert.equal((await Deno.stat(path)).size, merged.byteLength);
    await tool("qpdf", "--check", path);
    const info = await boxes(path);
    assert.equal(info.Pages, "6");
    assert.equal(info.Title, "Spring postcards");
    for (const [i, name] of [...first, ...second, ...third].entries()) {
      const page = await boxes(path, i + 1);
      assert.equal(page.TrimBox, TRIM, `page ${i + 1}`);
      assert.equal(page.BleedBox, MEDIA, `page ${i + 1}`);
      const text = await tool(
        "pdftotext",
        "-f",
        String(i + 1),
        "-l",
        String(i + 1),
        path,
        "-",
      );
      assert.equal(text.trim(), name);
    }
    const images = await imageObjects(path);
    assert.equal(images.length, 6);
    // The hero of both chunks is the same bytes: one object for its five
    // pages. The portrait is another.
    assert.equal(new Set(images.slice(0, 5)).size, 1);
    assert.notEqual(images[0], images[5]);
  });
});

Deno.test("MergedChunks stores the objects of pieces split from one chunk once", async () => {
  const names = Array.from({ length: 20 }, (_, i) => `Record ${i + 1}`);
  const chunk = await makeChunk(names);
  const pieces = await splitChunk(chunk, POSTCARD);
  const merged = new MergedChunks(POSTCARD);
  const parts: Uint8Array[] = [];
  for (const piece of pieces) parts.push(await merged.add(piece));
  parts.push(merged.end());
  // Each piece carries the hero (≈ 20 KB) and the font; merged, they are
  // stored once, so the file is about one chunk's size, not 20 pieces'.
  const pieceBytes = pieces.reduce((n, p) => n + p.length, 0);
  assert.ok(pieceBytes > 20 * 20_000, `pieces: ${pieceBytes} B`);
  assert.ok(
    merged.byteLength < chunk.length * 1.2,
    `merged ${merged.byteLength} B, chunk ${chunk.length} B`,
  );
  assert.ok(merged.reusedObjects >= 19 * 2, `${merged.reusedObjects} reused`);
  await withTempDir(async (dir) => {
    const path = `${dir}/merged.pdf`;
    await Deno.writeFile(path, new Uint8Array(parts.flatMap((p) => [...p])));
    await tool("qpdf", "--check", path);
    const images = await imageObjects(path);
    assert.equal(images.length, 20);
    assert.equal(new Set(images).size, 1);
    for (const page of [1, 20]) {
      const text = await tool(
        "pdftotext",
        "-f",
        String(page),
        "-l",
        String(page),
        path,
        "-",
      );
      assert.equal(text.trim(), `Record ${page}`);
      assert.equal((await boxes(path, page)).TrimBox, TRIM);
    }
  });
});

Deno.test("MergedChunks keeps identical pages as pages of their own", async () => {
  const piece = (await splitChunk(await makeChunk(["Same"]), POSTCARD))[0]!;
  const merged = new MergedChunks(POSTCARD);
  const parts = [await merged.add(piece), await merged.add(piece)];
  parts.push(merged.end());
  const doc = await PDFDocument.load(
    new Uint8Array(parts.flatMap((p) => [...p])),
  );
  const pages = doc.getPages();
  assert.equal(pages.length, 2);
  assert.notEqual(pages[0]!.ref, pages[1]!.ref);
});

Deno.test("joinChunks() equals the streamed parts put together", async () => {
  const a = await makeChunk(["One", "Two"]);
  const b = await makeChunk(["Three"]);
  const merged = new MergedChunks(POSTCARD);
  const parts = [await merged.add(a), await merged.add(b), merged.end()];
  const whole = await joinChunks([a, b], POSTCARD);
  assert.deepEqual(whole, new Uint8Array(parts.flatMap((p) => [...p])));
  const doc = await PDFDocument.load(whole);
  assert.equal(doc.getPageCount(), 3);
});

Deno.test("splitChunk() and MergedChunks refuse what they cannot use", async (t) => {
  await t.step("bytes that are not a PDF", async () => {
    const bad = new TextEncoder().encode("not a pdf");
    await assert.rejects(splitChunk(bad, POSTCARD), PressrunError);
    await assert.rejects(new MergedChunks(POSTCARD).add(bad), PressrunError);
  });
  await t.step("a page of another size, named", async () => {
    const chunk = await makeChunk(["A"], [612, 792]);
    await assert.rejects(splitChunk(chunk, POSTCARD), (error: Error) => {
      assert.ok(error instanceof PressrunError);
      assert.match(error.message, /chunk page 1: it is 612×792 pt/);
      assert.match(error.message, /450×306 pt/);
      return true;
    });
  });
  await t.step("titles that do not match the pages", async () => {
    const chunk = await makeChunk(["A", "B"]);
    await assert.rejects(
      splitChunk(chunk, POSTCARD, { titles: ["only one"] }),
      RangeError,
    );
  });
  await t.step("ending twice, ending empty, adding after the end", async () => {
    assert.throws(() => new MergedChunks(POSTCARD).end(), /no chunk/);
    const merged = new MergedChunks(POSTCARD);
    await merged.add(await makeChunk(["A"]));
    merged.end();
    assert.throws(() => merged.end(), /already ended/);
    assert.throws(() => merged.add(new Uint8Array()), /already ended/);
  });
});

Deno.test("MergedChunks with records writes PDF/VT's record structure: a DPart per record, its page, its metadata", async () => {
  const merged = new MergedChunks(POSTCARD, { title: "VT", records: true });
  const parts: Uint8Array[] = [];
  const names = ["Ann", "Zoë", "Björn", "Chloé", "Dan"];
  parts.push(
    await merged.add(await makeChunk(names.slice(0, 3)), [
      { index: 1, fields: { id: "1001", name: "Ann" } },
      { index: 2, fields: { id: "1002", name: "Zoë" } },
      { index: 3, fields: { id: "1003", name: "Björn" } },
    ]),
  );
  parts.push(
    await merged.add(await makeChunk(names.slice(3)), [
      { index: 4, fields: { id: "1004", name: "Chloé" } },
      { index: 5, fields: { id: "1005", name: "Dan" } },
    ]),
  );
  parts.push(merged.end());
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  await withTempDir(async (dir) => {
    const file = `${dir}/vt.pdf`;
    await Deno.writeFile(file, bytes);
    assert.match(
      await tool("qpdf", "--check", file),
      /No syntax or stream encoding errors/,
    );
  });
  const doc = await PDFDocument.load(bytes);
  const ctx = doc.context;
  const root = ctx.lookup(doc.catalog.get(PDFName.of("DPartRoot"))) as PDFDict;
  assert.equal(root.get(PDFName.of("Type"))?.toString(), "/DPartRoot");
  assert.equal(root.get(PDFName.of("RecordLevel"))?.toString(), "1");
  const node = ctx.lookup(root.get(PDFName.of("DPartRootNode"))) as PDFDict;
  const leaves = (node.get(PDFName.of("DParts")) as PDFArray).asArray()
    .flatMap((inner) => (inner as PDFArray).asArray());
  const pages = doc.getPages();
  assert.equal(leaves.length, pages.length);
  for (const [i, ref] of leaves.entries()) {
    const leaf = ctx.lookup(ref) as PDFDict;
    // Its page is the record's, and the page names it back.
    assert.equal(leaf.get(PDFName.of("Start")), pages[i]!.ref);
    assert.equal(pages[i]!.node.get(PDFName.of("DPart")), ref);
    const dpm = leaf.get(PDFName.of("DPM")) as PDFDict;
    assert.equal(
      dpm.get(PDFName.of("RecordNumber"))?.toString(),
      String(i + 1),
    );
    assert.equal(
      (dpm.get(PDFName.of("name")) as PDFHexString).decodeText(),
      names[i],
    );
  }
  // The page tree is unchanged: pdftotext reads the records in order.
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/vt.pdf`, bytes);
    const text = await tool("pdftotext", `${dir}/vt.pdf`, "-");
    assert.deepEqual(text.split("\f").slice(0, 5).map((t) => t.trim()), names);
  });
});

Deno.test("MergedChunks with records needs one per page", async () => {
  const merged = new MergedChunks(POSTCARD, { records: true });
  assert.throws(() => merged.add(new Uint8Array()), TypeError);
  await assert.rejects(
    merged.add(await makeChunk(["a", "b"]), [{ index: 1 }]),
    /records must have one entry per page: the chunk has 2 pages, got 1/,
  );
});
