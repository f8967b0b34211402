/**
 * Recipient files as people save them, and designs as Fabric editors save
 * them, through the CLI and the API the way a user calls them: a
 * Windows-1252 CSV, an .xlsx workbook with two sheets, a bare `toJSON()`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as XLSX from "@e965/xlsx";
import {
  PDFArray,
  PDFDict,
  PDFDocument,
  PDFHexString,
  PDFName,
  type PDFRef,
} from "pdf-lib";
import { Metrics } from "../batch/metrics.ts";
import { JobStore } from "../batch/store.ts";
import { BatchWorker } from "../batch/worker.ts";
import { createHandler } from "../server/api.ts";
import type { CheckAnswer } from "../server/routes/check.ts";
import {
  cli,
  EXAMPLE_CSV,
  EXAMPLE_TEMPLATE,
  pdfInfo,
  renderArgs,
  run,
  tempDir,
} from "./_helpers.ts";

/** The example's rows with José Müller first, as Excel on Windows saves them. */
async function windows1252Csv(path: string): Promise<void> {
  const text = (await Deno.readTextFile(EXAMPLE_CSV))
    .replace("Maya", "José").replace("Brooks", "Müller")
    .replaceAll("\n", "\r\n");
  await Deno.writeFile(
    path,
    Uint8Array.from(text, (c) => {
      const code = c.charCodeAt(0);
      if (code > 0xff) throw new Error(`not Latin-1: ${c}`);
      return code;
    }),
  );
}

/** A workbook: a "Notes" sheet first, then "Mailing" with the example's rows. */
async function workbook(path: string): Promise<void> {
  const rows = (await Deno.readTextFile(EXAMPLE_CSV)).trim().split(/\r?\n/)
    .map((line) => line.split(","));
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(
    book,
    XLSX.utils.aoa_to_sheet([["Exported for the spring mailing"]]),
    "Notes",
  );
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet(rows), "Mailing");
  await Deno.writeFile(
    path,
    new Uint8Array(XLSX.write(book, { type: "array", bookType: "xlsx" })),
  );
}

Deno.test("cli render reads a Windows-1252 CSV as such and says so; --encoding utf-8 on it is an error naming the line", async () => {
  await using dir = await tempDir();
  const data = join(dir.path, "excel.csv");
  await windows1252Csv(data);
  const out = join(dir.path, "out");
  const ok = await cli(renderArgs(data, out, "--limit", "1"));
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(
    ok.stderr,
    /excel\.csv: 8 records, read as Windows-1252 \(from its bytes\)/,
  );
  const text = await run("pdftotext", [join(out, "0001.pdf"), "-"]);
  assert.match(text, /José Müller/);
  const forced = await cli(
    renderArgs(data, join(dir.path, "o2"), "--encoding", "utf-8"),
  );
  assert.equal(forced.code, 2);
  assert.match(
    forced.stderr,
    /Cannot read excel\.csv line 2: the bytes at byte \d+ are not UTF-8 \(read as UTF-8, as --encoding said\)/,
  );
});

Deno.test("cli render reads an .xlsx workbook: its first sheet, or --sheet; an unknown sheet lists them", async () => {
  await using dir = await tempDir();
  const data = join(dir.path, "list.xlsx");
  await workbook(data);
  const first = await cli(renderArgs(data, join(dir.path, "a")));
  // The first sheet is a note, with no recipient columns.
  assert.equal(first.code, 2);
  assert.match(first.stderr, /list\.xlsx.*(firstName|missing|column)/);
  const out = join(dir.path, "b");
  const named = await cli(
    renderArgs(data, out, "--sheet", "mailing", "--limit", "2", "--merge"),
  );
  assert.equal(named.code, 0, named.stderr);
  assert.match(named.stderr, /list\.xlsx: sheet "Mailing" of 2, 8 records/);
  assert.equal((await pdfInfo(join(out, "merged.pdf"))).pages, 2);
  assert.match(
    await run("pdftotext", [join(out, "0001.pdf"), "-"]),
    /Maya Brooks/,
  );
  const unknown = await cli(
    renderArgs(data, join(dir.path, "c"), "--sheet", "Nope"),
  );
  assert.equal(unknown.code, 2);
  assert.match(
    unknown.stderr,
    /it has no sheet "Nope"; its sheets are "Notes", "Mailing"/,
  );
});

Deno.test("cli render of a bare toJSON() with no size says which flag to add; with --page it prints that page", async () => {
  await using dir = await tempDir();
  const design = join(dir.path, "design.json");
  await Deno.writeTextFile(
    design,
    JSON.stringify({
      version: "7.4.0",
      objects: [{
        type: "Textbox",
        left: 300,
        top: 200,
        width: 500,
        text: "Hello {{firstName}}",
        fontFamily: "Noto Sans",
        fontSize: 48,
      }],
    }),
  );
  const args = ["render", "-t", design, "-d", EXAMPLE_CSV, "--limit", "1"];
  const bare = await cli([...args, "-o", join(dir.path, "a")]);
  assert.equal(bare.code, 2);
  assert.match(
    bare.stderr,
    /design\.json: a bare Fabric document .* says nothing of its page.*--page 6x4in/,
  );
  const out = join(dir.path, "b");
  const paged = await cli([
    ...args,
    "-o",
    out,
    "--page",
    "6x4in",
    "--dpi",
    "150",
    "--bleed",
    "0.125in",
  ]);
  assert.equal(paged.code, 0, paged.stderr);
  const info = await pdfInfo(join(out, "0001.pdf"));
  assert.deepEqual([info.width, info.height, info.trim], [450, 306, [
    9,
    9,
    441,
    297,
  ]]);
  const wrong = await cli([...args, "-o", join(dir.path, "c"), "--bleed", "3"]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--bleed must be a length like 0\.125in or 3mm/);
});

Deno.test("POST /api/check reads .xlsx (sheet and sheets) and says a CSV's encoding; a batch keeps its sheet", async (t) => {
  await using dir = await tempDir();
  await using store = await JobStore.open(join(dir.path, "data"));
  await using worker = new BatchWorker(store);
  const handle = createHandler({ store, worker, metrics: new Metrics() });
  const post = (path: string, fields: Record<string, string | File>) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return handle(
      new Request(`http://pressrun.test${path}`, {
        method: "POST",
        body: form,
      }),
    );
  };
  const xlsx = join(dir.path, "list.xlsx");
  await workbook(xlsx);
  const file = async (path: string, name: string) =>
    new File([await Deno.readFile(path)], name);
  await t.step("a workbook's named sheet", async () => {
    const res = await post("/api/check", {
      template: "postcard",
      data: await file(xlsx, "list.xlsx"),
      sheet: "Mailing",
    });
    assert.equal(res.status, 200);
    const answer = await res.json() as CheckAnswer;
    assert.deepEqual(
      [
        answer.records,
        answer.sheet,
        answer.sheets,
        answer.delimiter,
        answer.missing,
      ],
      [8, "Mailing", ["Notes", "Mailing"], undefined, []],
    );
  });
  await t.step("a Windows-1252 CSV", async () => {
    const csv = join(dir.path, "win.csv");
    await windows1252Csv(csv);
    const res = await post("/api/check", { data: await file(csv, "win.csv") });
    const answer = await res.json() as CheckAnswer;
    assert.deepEqual([answer.encoding, answer.preview[0]![1]], [
      "windows-1252",
      "José",
    ]);
  });
  await t.step(
    "a batch of the workbook keeps its sheet; a bad encoding is a 422 naming the field",
    async () => {
      const res = await post("/api/batches", {
        template: "postcard",
        data: await file(xlsx, "list.xlsx"),
        sheet: "Mailing",
        recordKey: "id, lastName",
        proof: "true",
      });
      assert.equal(res.status, 202);
      const { id } = await res.json();
      const status = await store.batch(id);
      assert.deepEqual(
        [
          status.total,
          status.options.sheet,
          status.options.recordKeys,
          status.options.proof,
        ],
        [8, "Mailing", ["id", "lastName"], true],
      );
      const bad = await post("/api/batches", {
        template: "postcard",
        data: await file(xlsx, "list.xlsx"),
        encoding: "ebcdic",
      });
      assert.equal(bad.status, 422);
      assert.match(
        (await bad.json()).message,
        /^encoding must be utf-8, utf-16le/,
      );
      const page = await post("/api/check", {
        template: "postcard",
        data: await file(EXAMPLE_CSV, "r.csv"),
        page: "huge",
      });
      assert.equal(page.status, 422);
      assert.match(
        (await page.json()).message,
        /^page must be a size like 6x4in/,
      );
    },
  );
});

Deno.test("cli render --merge writes PDF/VT's record structure; --record-key keeps those columns in each part; an unknown one is exit 2", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "out");
  const args = ["render", "-t", EXAMPLE_TEMPLATE, "-d", EXAMPLE_CSV, "--merge"];
  const ok = await cli([...args, "-o", out, "--record-key", "id,lastName"]);
  assert.equal(ok.code, 0, ok.stderr);
  const doc = await PDFDocument.load(
    await Deno.readFile(join(out, "merged.pdf")),
  );
  const lookup = (o: unknown) => doc.context.lookup(o as PDFRef) as PDFDict;
  const root = lookup(doc.catalog.get(PDFName.of("DPartRoot")));
  const node = lookup(root.get(PDFName.of("DPartRootNode")));
  const leaves = (node.get(PDFName.of("DParts")) as PDFArray).asArray()
    .flatMap((a) => (a as PDFArray).asArray());
  const rows = (await Deno.readTextFile(EXAMPLE_CSV)).trim().split(/\r?\n/)
    .slice(1).map((l) => l.split(","));
  assert.equal(leaves.length, rows.length);
  for (const [i, ref] of leaves.entries()) {
    const dpm = lookup(ref).get(PDFName.of("DPM")) as PDFDict;
    const text = (key: string) =>
      (dpm.get(PDFName.of(key)) as PDFHexString).decodeText();
    assert.deepEqual(
      [
        dpm.get(PDFName.of("RecordNumber"))?.toString(),
        text("id"),
        text("lastName"),
      ],
      [String(i + 1), rows[i]![0], rows[i]![2]],
    );
  }
  const bad = await cli([
    ...args,
    "-o",
    join(dir.path, "b"),
    "--record-key",
    "zipcode",
  ]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /--record-key "zipcode" is not a column of .*recipients\.csv: its columns are id, firstName/,
  );
});

Deno.test("cli render --proof writes proof.pdf: the first records and the likeliest to go wrong, watermarked and captioned, failed records listed", async () => {
  await using dir = await tempDir();
  const csv = join(dir.path, "data.csv");
  const rows = [
    "id,firstName,lastName,company,street,city,state,zip,offer,url,photo",
    ...Array.from(
      { length: 9 },
      (_, i) =>
        `${i + 1},Ann${i},Lee,,${
          i + 1
        } Main St,Town,,1,x,https://example.com/r/${i + 1},`,
    ),
    // The longest last name, and a record whose QR value is empty: it fails.
    "10,Bo,Vandenberghe-Oosterhuis,,1 Long Rd,Town,,1,x,https://example.com/r/10,",
    "11,Cy,Short,,2 Main St,Town,,1,x,,",
  ];
  await Deno.writeTextFile(csv, rows.join("\n") + "\n");
  const out = join(dir.path, "out");
  const { code, stderr } = await cli(
    renderArgs(csv, out, "--on-error", "skip", "--proof"),
  );
  assert.equal(code, 1, stderr);
  assert.match(stderr, /Wrote proof\.pdf: \d+ pieces to check/);
  const file = join(out, "proof.pdf");
  // -raw keeps the diagonal watermark's letters together.
  const text = await run("pdftotext", ["-raw", file, "-"]);
  const pages = text.split("\f").filter((p) => p.trim());
  // Records 1–5, the longest last name (10), and the failures page; the
  // longest first name, street and company are among them or the first.
  assert.match(pages[0]!, /Record 1 \(line 2\): one of the first 5/);
  assert.ok(
    pages.some((p) =>
      /Record 10 \(line 11\):.*the longest lastName \(23 characters\)/s.test(p)
    ),
    text,
  );
  assert.ok(pages.every((p, i) => i === pages.length - 1 || /PROOF/.test(p)));
  assert.match(
    pages.at(-1)!,
    /1 record\(s\) failed[\s\S]*Record 11 \(line 12\): .*qr\.value/,
  );
  const manifest = JSON.parse(
    await Deno.readTextFile(join(out, "manifest.json")),
  );
  assert.equal(manifest.proof, "proof.pdf");
  assert.match(
    await run("qpdf", ["--check", file]),
    /No syntax or stream encoding errors/,
  );
});
