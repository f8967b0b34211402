import assert from "node:assert/strict";
import { join } from "node:path";
import { readCsv } from "../batch/csv.ts";
import { BatchFailedError, runBatch } from "../batch/run.ts";
import { DataError } from "../common/errors.ts";
import { Browser } from "../render/browser.ts";
import { MissingFieldsError } from "../template/preflight.ts";
import {
  csvUrls,
  decodeQr,
  EXAMPLE_TEMPLATE,
  MALFORMED_CSV,
  pdfInfo,
  pdfToPngs,
  readPng,
  run,
  tempDir,
  TRICKY_BOM_CSV,
  TRICKY_CSV,
} from "./_helpers.ts";

/** One column of a CSV, record by record. */
async function csvColumn(csv: string, column: string): Promise<string[]> {
  const values: string[] = [];
  for await (const r of readCsv(csv)) values.push(r.values[column] ?? "");
  return values;
}

async function filesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

Deno.test("runBatch() renders every tricky recipient to a 6.25×4.25 in vector PDF whose QR code decodes to the record's url", async (t) => {
  await using browser = await Browser.launch();
  for (const csv of [TRICKY_CSV, TRICKY_BOM_CSV]) {
    await t.step(csv.split("/").pop()!, async () => {
      await using out = await tempDir();
      await using pngs = await tempDir();
      const result = await runBatch({
        template: EXAMPLE_TEMPLATE,
        data: csv,
        out: out.path,
        merge: true,
        browser,
      });
      const urls = await csvUrls(csv);
      const names = await csvColumn(csv, "firstName");
      assert.equal(urls.length, 12);
      assert.equal(result.rendered, 12);
      assert.equal(result.failed, 0);
      assert.equal(result.pdfMode, "vector", "vector is the default for PDF");
      assert.equal(result.manifest.pdfMode, "vector");
      const records = result.manifest.records;
      assert.deepEqual(records.map((r) => r.index), urls.map((_, i) => i + 1));
      for (const [i, record] of records.entries()) {
        assert.equal(record.status, "ok");
        const file = join(out.path, record.file!);
        const info = await pdfInfo(file);
        assert.deepEqual([info.pages, info.width, info.height], [1, 450, 306]);
        assert.deepEqual(info.trim, [9, 9, 441, 297]);
        const [png] = await pdfToPngs(file, pngs.path);
        assert.equal(await decodeQr(png!), urls[i], `record ${i + 1}`);
        // Vector, unless its page would have had Type 3 fonts (CJK is
        // OpenType-CFF here): then the record's raster page. Never Type 3.
        const fonts = await run("pdffonts", [file]);
        assert.doesNotMatch(fonts, /Type 3/, `record ${i + 1}: ${fonts}`);
        if (record.kind === "vector") {
          const text = await run("pdftotext", [file, "-"]);
          assert.ok(text.includes(names[i]!), `record ${i + 1}: ${text}`);
        } else {
          assert.equal(record.kind, "raster", `record ${i + 1}`);
        }
      }
      const vector = records.filter((r) => r.kind === "vector").length;
      assert.ok(vector >= 8, `${vector} of 12 pieces are vector`);
      const merged = await pdfInfo(join(out.path, "merged.pdf"));
      assert.deepEqual([merged.pages, merged.width, merged.height], [
        12,
        450,
        306,
      ]);
      await run("qpdf", ["--check", join(out.path, "merged.pdf")]);
      const mergedPages = await pdfToPngs(
        join(out.path, "merged.pdf"),
        pngs.path,
        150,
      );
      assert.equal(await decodeQr(mergedPages[6]!), urls[6], "merged page 7");
      const text = await run("pdftotext", [join(out.path, "0002.pdf"), "-"]);
      assert.match(text, /José/, "vector pieces keep their text");
      assert.ok(!(await filesIn(out.path)).some((n) => n.endsWith(".tmp")));
    });
  }
});

Deno.test("runBatch() names the file and line of a malformed CSV and writes no PDF", async () => {
  await using out = await tempDir();
  await assert.rejects(
    runBatch({
      template: EXAMPLE_TEMPLATE,
      data: MALFORMED_CSV,
      out: out.path,
    }),
    (error: Error) => {
      assert.ok(error instanceof DataError);
      assert.equal(error.location.line, 3);
      assert.match(error.message, /recipients-malformed\.csv line 3/);
      return true;
    },
  );
  assert.deepEqual(await filesIn(out.path), []);
});

Deno.test("runBatch() lists every missing column before rendering anything", async () => {
  await using dir = await tempDir();
  const csv = join(dir.path, "few.csv");
  await Deno.writeTextFile(
    csv,
    "id,url,firstName\n1,https://example.com/r/1,Ann\n",
  );
  const out = join(dir.path, "out");
  await assert.rejects(
    runBatch({ template: EXAMPLE_TEMPLATE, data: csv, out }),
    (error: Error) => {
      assert.ok(error instanceof MissingFieldsError);
      assert.deepEqual(
        [...error.missing].sort(),
        [
          "city",
          "company",
          "lastName",
          "offer",
          "photo",
          "state",
          "street",
          "zip",
        ],
      );
      assert.match(error.message, /few\.csv/);
      assert.match(error.message, /"offer"/);
      return true;
    },
  );
  assert.deepEqual(await filesIn(out), []);
});

Deno.test("runBatch() gives a bare 1536×1024 Fabric document a landscape page of that size", async () => {
  await using dir = await tempDir();
  const template = join(dir.path, "bare.json");
  await Deno.writeTextFile(
    template,
    JSON.stringify({
      version: "7.4.0",
      width: 1536,
      height: 1024,
      background: "#ffffff",
      objects: [
        {
          type: "Textbox",
          left: 80,
          top: 80,
          width: 900,
          text: "Hello {{firstName}}",
          fontSize: 72,
          fontFamily: "Noto Sans",
        },
        {
          type: "Rect",
          left: 1100,
          top: 560,
          width: 380,
          height: 380,
          fill: "#fff",
          qr: { value: "{{url}}" },
        },
      ],
    }),
  );
  const result = await runBatch({
    template,
    data: TRICKY_CSV,
    out: join(dir.path, "out"),
    limit: 2,
  });
  assert.equal(result.rendered, 2);
  const file = join(dir.path, "out", result.manifest.records[1]!.file!);
  const info = await pdfInfo(file);
  assert.deepEqual([info.width, info.height], [1536, 1024]);
  const [png] = await pdfToPngs(file, dir.path, 72);
  const { width, height } = await readPng(png!);
  assert.deepEqual([width, height], [1536, 1024]);
  assert.equal(await decodeQr(png!), (await csvUrls(TRICKY_CSV))[1]);
});

Deno.test("runBatch() with onError skip renders the others and lists the failed record in the manifest", async () => {
  await using dir = await tempDir();
  const csv = join(dir.path, "data.csv");
  const rows = (await Deno.readTextFile("examples/postcard/recipients.csv"))
    .trim().split("\n");
  rows[2] = rows[2]!.replace(/,portrait-ak\.jpg$/, ",no-such-photo.jpg");
  await Deno.writeTextFile(csv, rows.slice(0, 4).join("\n") + "\n");
  const template = join(dir.path, "template.json");
  await Deno.copyFile(EXAMPLE_TEMPLATE, template);
  for (const f of ["hero.jpg", "portrait-mb.jpg", "portrait-ak.jpg"]) {
    await Deno.copyFile(`examples/postcard/${f}`, join(dir.path, f));
  }
  const out = join(dir.path, "skip");
  const result = await runBatch({ template, data: csv, out, onError: "skip" });
  assert.deepEqual([result.rendered, result.failed], [2, 1]);
  const failed = result.manifest.records[1]!;
  assert.equal(failed.status, "failed");
  assert.match(failed.error!, /^Cannot render record 2: .*no-such-photo\.jpg/);
  const written = JSON.parse(
    await Deno.readTextFile(join(out, "manifest.json")),
  );
  assert.deepEqual(written.records.map((r: { status: string }) => r.status), [
    "ok",
    "failed",
    "ok",
  ]);
  assert.deepEqual(await filesIn(out), [
    "0001.pdf",
    "0003.pdf",
    "manifest.json",
  ]);

  const stopped = join(dir.path, "fail");
  await assert.rejects(
    runBatch({
      template,
      data: csv,
      out: stopped,
      onError: "fail",
      merge: true,
      concurrency: 1,
    }),
    (error: Error) => {
      assert.ok(error instanceof BatchFailedError);
      assert.match(error.message, /record 2/);
      assert.equal(error.result.manifest.records[0]!.status, "ok");
      return true;
    },
  );
  const left = await filesIn(stopped);
  assert.ok(left.includes("0001.pdf") && left.includes("manifest.json"));
  assert.ok(!left.includes("merged.pdf"), "no merged PDF from a failed batch");
  assert.ok(!left.some((n) => n.endsWith(".tmp")));
});

Deno.test("runBatch() with format png and a limit writes exactly that many 1875×1275 images", async () => {
  await using out = await tempDir();
  const result = await runBatch({
    template: EXAMPLE_TEMPLATE,
    data: TRICKY_CSV,
    out: out.path,
    format: "png",
    limit: 3,
    concurrency: 4, // eight workers race for three records
    name: "{{lastName}}",
  });
  assert.deepEqual(await filesIn(out.path), [
    "0001-Lee.png",
    "0002-Martínez-García.png",
    "0003-Ångström.png",
    "manifest.json",
  ]);
  assert.deepEqual(result.manifest.records.map((r) => r.file), [
    "0001-Lee.png",
    "0002-Martínez-García.png",
    "0003-Ångström.png",
  ]);
  const png = await readPng(join(out.path, "0002-Martínez-García.png"));
  assert.deepEqual([png.width, png.height], [1875, 1275]);
  assert.equal(
    await decodeQr(join(out.path, "0003-Ångström.png")),
    "https://example.com/r/3",
  );
});
