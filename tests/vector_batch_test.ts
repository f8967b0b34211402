import assert from "node:assert/strict";
import { join } from "node:path";
import { readCsv } from "../batch/csv.ts";
import type { ManifestEntry } from "../batch/manifest.ts";
import { runBatch } from "../batch/run.ts";
import { TemplateError } from "../common/errors.ts";
import { Browser } from "../render/browser.ts";
import {
  csvUrls,
  decodeQr,
  EXAMPLE_CSV,
  EXAMPLE_TEMPLATE,
  pdfInfo,
  pdfToPngs,
  run,
  tempDir,
} from "./_helpers.ts";

/** The example's template and images copied into `dir`, and `rows` records of its CSV. */
async function example(dir: string, rows: number) {
  const template = join(dir, "template.json");
  await Deno.copyFile(EXAMPLE_TEMPLATE, template);
  for (const f of ["hero.jpg", "portrait-mb.jpg", "portrait-ak.jpg"]) {
    await Deno.copyFile(`examples/postcard/${f}`, join(dir, f));
  }
  const [header, ...lines] = (await Deno.readTextFile(EXAMPLE_CSV)).trim()
    .split("\n");
  const out = [header!];
  for (let i = 0; i < rows; i++) {
    // A fresh id per row, so each record's QR code and text are its own.
    const line = lines[i % lines.length]!;
    out.push(
      line.replace(/^\d+/, String(2000 + i)).replace(
        /\/r\/\d+,/,
        `/r/${2000 + i},`,
      ),
    );
  }
  const data = join(dir, "data.csv");
  await Deno.writeTextFile(data, out.join("\n") + "\n");
  return { template, data };
}

/** First names of a CSV, record by record. */
async function firstNames(csv: string): Promise<string[]> {
  const names: string[] = [];
  for await (const r of readCsv(csv)) names.push(r.values.firstName ?? "");
  return names;
}

/** `pdfimages -list` rows: page, width, height and object number of each image use. */
async function images(path: string) {
  const list = await run("pdfimages", ["-list", path]);
  return list.trim().split("\n").slice(2).map((line) => {
    const c = line.trim().split(/\s+/);
    return {
      page: Number(c[0]),
      width: Number(c[3]),
      height: Number(c[4]),
      object: Number(c[10]),
    };
  });
}

/** The text of page `page` of a PDF. */
function pageText(path: string, page: number): Promise<string> {
  const n = String(page);
  return run("pdftotext", ["-f", n, "-l", n, path, "-"]);
}

Deno.test("runBatch() in vector mode (the default) merges 60 postcards with the hero stored once, ≤ 12 KB a page, in record order", async () => {
  await using dir = await tempDir();
  const { template, data } = await example(dir.path, 60);
  const out = join(dir.path, "out");
  const result = await runBatch({
    template,
    data,
    out,
    merge: true,
    concurrency: 2,
    chunkSize: 30,
  });
  assert.equal(result.rendered, 60);
  assert.equal(result.pdfMode, "vector");
  assert.equal(result.manifest.pdfMode, "vector");
  assert.deepEqual(
    [...new Set(result.manifest.records.map((r) => r.kind))],
    ["vector"],
  );
  assert.ok(result.stages.print > 0 && result.stages.svg > 0);
  assert.equal(result.stages.encode, 0, "no raster encode in vector mode");
  const merged = join(out, "merged.pdf");
  await run("qpdf", ["--check", merged]);
  const { size } = await Deno.stat(merged);
  assert.ok(size / 60 <= 12 * 1024, `${Math.round(size / 60)} B a page`);
  const pieces = result.manifest.records.reduce((n, r) => n + r.bytes!, 0);
  assert.ok(size < pieces / 4, `merged ${size} B, pieces ${pieces} B`);
  const used = await images(merged);
  const hero = used.filter((i) => i.width === 800 && i.height === 1275);
  assert.equal(hero.length, 60, "the hero on every page");
  assert.equal(new Set(hero.map((i) => i.object)).size, 1, "stored once");
  const fonts = await run("pdffonts", [merged]);
  assert.doesNotMatch(fonts, /Type 3/);
  assert.doesNotMatch(fonts, /\bno\s+(yes|no)\s+(yes|no)\s+\d/, "embedded");
  const boxes = await run("pdfinfo", ["-box", "-f", "1", "-l", "60", merged]);
  assert.equal(boxes.match(/TrimBox:\s+9\.00\s+9\.00\s+441\.00/g)?.length, 60);
  assert.equal(boxes.match(/BleedBox:\s+0\.00\s+0\.00\s+450\.00/g)?.length, 60);
  const names = await firstNames(data);
  for (const page of [1, 2, 29, 30, 31, 45, 60]) {
    const text = await pageText(merged, page);
    assert.ok(text.includes(names[page - 1]!), `page ${page}: ${text}`);
  }
  const urls = await csvUrls(data);
  const [png] = await pdfToPngs(join(out, "0037.pdf"), dir.path);
  assert.equal(await decodeQr(png!), urls[36]);
});

Deno.test("runBatch() with pdfMode raster writes one full-page image per page, merged too", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "out");
  const result = await runBatch({
    template: EXAMPLE_TEMPLATE,
    data: EXAMPLE_CSV,
    out,
    merge: true,
    pdfMode: "raster",
    limit: 3,
  });
  assert.equal(result.manifest.pdfMode, "raster");
  assert.deepEqual(
    result.manifest.records.map((r) => r.kind),
    ["raster", "raster", "raster"],
  );
  for (const file of ["0001.pdf", "merged.pdf"]) {
    const used = await images(join(out, file));
    const pages = file === "merged.pdf" ? 3 : 1;
    assert.deepEqual(
      used.map((i) => [i.page, i.width, i.height]),
      Array.from({ length: pages }, (_, i) => [i + 1, 1875, 1275]),
      file,
    );
    assert.equal((await run("pdftotext", [join(out, file), "-"])).trim(), "");
  }
});

Deno.test("runBatch() resumed in vector mode renders only the records not kept, merged.pdf in record order", async () => {
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  const out = join(dir.path, "out");
  const first = await runBatch({
    template: EXAMPLE_TEMPLATE,
    data: EXAMPLE_CSV,
    out,
    browser,
    chunkSize: 3,
  });
  const kept = new Map<number, ManifestEntry>();
  for (const record of first.manifest.records) {
    if (record.index % 3 === 0) await Deno.remove(join(out, record.file!));
    else kept.set(record.index, record);
  }
  const rendered: number[] = [];
  const second = await runBatch({
    template: EXAMPLE_TEMPLATE,
    data: EXAMPLE_CSV,
    out,
    browser,
    merge: true,
    resume: kept,
    chunkSize: 3,
    onRecord: (entry, piece) => {
      if (piece) rendered.push(entry.index);
    },
  });
  assert.deepEqual(rendered.sort((a, b) => a - b), [3, 6]);
  const kinds = second.manifest.records.map((r) => r.kind);
  assert.deepEqual([...new Set(kinds)], ["vector"]);
  assert.deepEqual(
    second.manifest.records.filter((r) => kept.has(r.index)),
    [...kept.values()],
    "kept entries as they were",
  );
  const merged = join(out, "merged.pdf");
  await run("qpdf", ["--check", merged]);
  assert.equal((await pdfInfo(merged)).pages, 8);
  const names = await firstNames(EXAMPLE_CSV);
  for (let page = 1; page <= 8; page++) {
    const text = await pageText(merged, page);
    assert.ok(text.includes(names[page - 1]!), `page ${page}: ${text}`);
  }
  const hero = (await images(merged)).filter((i) => i.width === 800);
  assert.equal(hero.length, 8);
  assert.equal(new Set(hero.map((i) => i.object)).size, 1);
});

Deno.test("runBatch() in vector mode refuses a blend mode before writing anything, naming the object", async () => {
  await using dir = await tempDir();
  const doc = JSON.parse(await Deno.readTextFile(EXAMPLE_TEMPLATE));
  doc.canvas.objects[1].globalCompositeOperation = "multiply";
  const template = join(dir.path, "blend.json");
  await Deno.writeTextFile(template, JSON.stringify(doc));
  const out = join(dir.path, "out");
  await assert.rejects(
    runBatch({ template, data: EXAMPLE_CSV, out }),
    (error: Error) => {
      assert.ok(error instanceof TemplateError);
      assert.match(
        error.message,
        /blend\.json as a vector PDF: canvas\.objects\[1\] \(\w+\) "globalCompositeOperation" is "multiply", a blend mode Fabric's SVG export drops/,
      );
      assert.equal(
        error.location.field,
        "canvas.objects[1].globalCompositeOperation",
      );
      return true;
    },
  );
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
});

Deno.test("runBatch() in vector mode warns before rendering of the OpenType-CFF fonts the template names, and not for the example", async () => {
  await using dir = await tempDir();
  // A text set in Noto Sans CJK JP, an OpenType-CFF collection (which
  // system font the tricky fixture's Chinese falls back to depends on the
  // machine's fonts; a named family does not).
  const doc = JSON.parse(await Deno.readTextFile(EXAMPLE_TEMPLATE));
  const text = doc.canvas.objects.findIndex((o: { type: string }) =>
    /text/i.test(o.type)
  );
  doc.canvas.objects[text].fontFamily = "Noto Sans CJK JP";
  const { template } = await example(dir.path, 1);
  const cjk = join(dir.path, "cjk.json");
  await Deno.writeTextFile(cjk, JSON.stringify(doc));
  for (const [path, expected] of [[cjk, 1], [template, 0]] as const) {
    const warnings: string[] = [];
    await runBatch({
      template: path,
      data: EXAMPLE_CSV,
      out: join(dir.path, `out-${expected}`),
      limit: 1,
      pdfMode: "vector",
      log: (level, message) => {
        if (level === "warn") warnings.push(message);
      },
    });
    const preflight = warnings.filter((w) => /OpenType-CFF/.test(w));
    assert.equal(preflight.length, expected, warnings.join("\n"));
    if (expected) {
      assert.match(
        preflight[0]!,
        /cjk\.json: Noto Sans CJK JP \(.*NotoSansCJK.*\.ttc\) is an OpenType-CFF font, which Chromium prints as Type 3 .*: records that use it print as raster pages/,
      );
    }
  }
});
