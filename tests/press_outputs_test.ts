/**
 * Press outputs through the CLI and the API, as a print shop asks for them:
 * `imposed.pdf`, marks on `merged.pdf`, and the option errors that stop a
 * batch before it renders (the layouts themselves: impose_test.ts,
 * marks_test.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Metrics } from "../batch/metrics.ts";
import { JobStore } from "../batch/store.ts";
import { BatchWorker } from "../batch/worker.ts";
import { createHandler } from "../server/api.ts";
import { pdfxReport } from "../pdf/pdfx_report.ts";
import {
  cli,
  EXAMPLE_CSV,
  pdfInfo,
  renderArgs,
  run,
  tempDir,
} from "./_helpers.ts";

const render = (out: string, ...more: string[]) =>
  renderArgs(EXAMPLE_CSV, out, ...more);

Deno.test("cli render --merge --marks --impose 2x2 --sheet 12x18in writes imposed.pdf and marks merged.pdf, boxes kept", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "out");
  const { code, stderr } = await cli(
    render(out, "--merge", "--marks", "--impose", "2x2", "--sheet", "12x18in"),
  );
  assert.equal(code, 0, stderr);
  assert.match(
    stderr,
    /imposed\.pdf: 2x2 of 6×4 in on 18×12 in \(12x18in turned\)/,
  );
  const imposed = await pdfInfo(join(out, "imposed.pdf"));
  assert.deepEqual([imposed.pages, imposed.width, imposed.height], [
    2,
    1296,
    864,
  ]);
  // Cut and stack: 8 records, 2 sheets: sheet 1 holds 1, 3, 5, 7.
  const sheet1 = await run("pdftotext", [
    "-f",
    "1",
    "-l",
    "1",
    join(out, "imposed.pdf"),
    "-",
  ]);
  assert.match(sheet1, /records 1, 3, 5, 7/);
  const merged = await pdfInfo(join(out, "merged.pdf"));
  // The slug grows the page 24 pt a side; the trim stays 6×4 in.
  assert.deepEqual([merged.pages, merged.width, merged.height], [8, 498, 354]);
  const boxes = await run("pdfinfo", ["-box", join(out, "merged.pdf")]);
  assert.match(boxes, /TrimBox:\s+9\.00\s+9\.00\s+441\.00\s+297\.00/);
  assert.match(
    await run("pdftotext", [
      "-f",
      "7",
      "-l",
      "7",
      join(out, "merged.pdf"),
      "-",
    ]),
    /record 7 of 8/,
  );
  const manifest = JSON.parse(
    await Deno.readTextFile(join(out, "manifest.json")),
  );
  assert.equal(manifest.imposed, "imposed.pdf");
});

Deno.test("press options that cannot work stop the batch before it renders, naming the option", async (t) => {
  await using dir = await tempDir();
  const cases: [string, string[], RegExp][] = [
    [
      "a grid too big for the sheet",
      ["--impose", "3x3", "--sheet", "12x18in"],
      /--impose 3x3 does not fit --sheet 12x18in/,
    ],
    [
      "marks with no merge",
      ["--marks"],
      /--marks puts printer's marks on merged\.pdf: add --merge/,
    ],
    [
      "an impose option with no --impose",
      ["--gutter", "6mm"],
      /--gutter is an option of --impose/,
    ],
    ["--impose with no sheet", ["--impose", "2x2"], /--impose needs --sheet/],
  ];
  for (const [name, flags, message] of cases) {
    await t.step(name, async () => {
      const out = join(dir.path, name.replaceAll(" ", "-"));
      const { code, stderr } = await cli(render(out, ...flags));
      assert.equal(code, 2, stderr);
      assert.match(stderr, message);
      const written = await Array.fromAsync(Deno.readDir(out)).catch(() => []);
      assert.deepEqual(written.filter((e) => e.name.endsWith(".pdf")), []);
    });
  }
});

Deno.test("POST /api/batches takes impose and pressSheet; a grid that cannot fit is a 422 naming the fields", async () => {
  await using dir = await tempDir();
  await using store = await JobStore.open(join(dir.path, "data"));
  await using worker = new BatchWorker(store);
  const handle = createHandler({ store, worker, metrics: new Metrics() });
  const post = async (fields: Record<string, string>) => {
    const form = new FormData();
    form.append("template", "postcard");
    form.append("data", new File([await Deno.readFile(EXAMPLE_CSV)], "r.csv"));
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return await handle(
      new Request("http://pressrun.test/api/batches", {
        method: "POST",
        body: form,
      }),
    );
  };
  const ok = await post({
    merge: "true",
    marks: "true",
    impose: "2x2",
    pressSheet: "SRA3",
  });
  assert.equal(ok.status, 202);
  const { id } = await ok.json();
  assert.deepEqual((await store.batch(id)).options.press, {
    marks: true,
    impose: { grid: "2x2", sheet: "SRA3" },
  });
  const bad = await post({ impose: "3x3", pressSheet: "12x18in" });
  assert.equal(bad.status, 422);
  assert.match(
    (await bad.json()).message,
    /^impose 3x3 does not fit pressSheet 12x18in/,
  );
  // Marks and PDF/X together are refused at the door, not by the worker.
  const both = await post({ merge: "true", marks: "true", pdfx: "true" });
  assert.equal(both.status, 422);
  assert.match((await both.json()).message, /^marks cannot go with PDF\/X yet/);
});

Deno.test("cli render --merge --pdfx writes PDF/X-4 pieces and a PDF/X-4, PDF/VT-1 merged.pdf: CMYK, the profile embedded, boxes and fonts kept, the hero stored once", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "out");
  const { code, stderr } = await cli(render(out, "--merge", "--pdfx"));
  assert.equal(code, 0, stderr);
  assert.match(stderr, /PDF\/X-4: CMYK through .*default_cmyk\.icc/);
  for (const file of ["0001.pdf", "0008.pdf", "merged.pdf"]) {
    const report = await pdfxReport(await Deno.readFile(join(out, file)));
    assert.deepEqual(report.problems, [], file);
    assert.equal(report.version, "PDF/X-4", file);
    assert.equal(report.outputIntents[0]?.profile?.colourSpace, "CMYK", file);
    assert.deepEqual(report.rgb, [], file);
    assert.ok(report.fonts.every((f) => f.embedded), file);
    assert.deepEqual(report.pages[0]!.trimBox, [9, 9, 441, 297], file);
  }
  const merged = await pdfxReport(await Deno.readFile(join(out, "merged.pdf")));
  // The background drawn on every page is one image object.
  const hero = merged.images.filter((i) => i.pages.length === 8);
  assert.equal(hero.length, 1, JSON.stringify(merged.images));
  const xmp = new TextDecoder("latin1").decode(
    await Deno.readFile(join(out, "merged.pdf")),
  );
  assert.match(xmp, /GTS_PDFVTVersion>PDF\/VT-1</);
  assert.match(
    await run("pdftotext", [join(out, "0001.pdf"), "-"]),
    /Maya Brooks/,
  );
});

Deno.test("--pdfx refuses an ICC profile that is not a CMYK output profile, and marks it cannot embed, before rendering", async (t) => {
  await using dir = await tempDir();
  await t.step("an RGB display profile", async () => {
    const out = join(dir.path, "rgb");
    const { code, stderr } = await cli(
      render(
        out,
        "--pdfx",
        "--icc",
        "/usr/share/color/icc/ghostscript/default_rgb.icc",
      ),
    );
    assert.equal(code, 2, stderr);
    assert.match(stderr, /--icc .*default_rgb\.icc/);
    assert.equal(await Deno.stat(out).then(() => true, () => false), false);
  });
  await t.step("--marks with --pdfx", async () => {
    const out = join(dir.path, "marks");
    const { code, stderr } = await cli(
      render(out, "--merge", "--pdfx", "--marks"),
    );
    assert.equal(code, 2, stderr);
    assert.match(stderr, /--marks cannot go with PDF\/X yet/);
  });
});
