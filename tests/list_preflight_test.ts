/**
 * The list preflight: a generated 10,000-record list with planted problems
 * (found, and nothing else), the tricky fixture through the CLI, bad input
 * as a render treats it, the API, and the template's field rules.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { layoutCheck } from "../batch/list_layout.ts";
import { preflightList } from "../batch/list_preflight.ts";
import { parseTemplate } from "../template/parse.ts";
import { TemplateError } from "../common/errors.ts";
import { handlerApp } from "./_app.ts";
import {
  cli,
  EXAMPLE_CSV,
  EXAMPLE_TEMPLATE,
  tempDir,
  TRICKY_CSV,
} from "./_helpers.ts";

/** A problem as planted and as found: record, kind, field. */
type Planted = `${number} ${string} ${string}`;

/**
 * `n` records cycled from the example, each with its own id and URL, and
 * every 1,000 records one of each planted problem; the planted set.
 */
async function plantedList(path: string, n: number): Promise<Set<Planted>> {
  const [header, ...rows] = (await Deno.readTextFile(EXAMPLE_CSV)).trimEnd()
    .split("\n");
  const columns = header!.split(",");
  const at = (name: string) => columns.indexOf(name);
  const planted = new Set<Planted>();
  const out = [header];
  for (let i = 0; i < n; i++) {
    const cells = rows[i % rows.length]!.split(",");
    assert.equal(cells.length, columns.length, "a plain example row");
    const index = i + 1;
    cells[at("id")] = String(100_000 + i);
    cells[at("url")] = `https://example.com/r/${100_000 + i}`;
    const plant = (column: string, value: string, kind: string) => {
      cells[at(column)] = value;
      planted.add(`${index} ${kind} ${column}`);
    };
    switch (index % 1000) {
      case 17: // a Thai name with the template's Latin fonts
        plant("firstName", "สมชาย", "missing-glyphs");
        break;
      case 333: // a URL no QR code holds
        plant(
          "url",
          `https://example.com/r/${"x".repeat(3000)}`,
          "qr-capacity",
        );
        break;
      case 500: // a photo that is not there
        plant("photo", "nobody-here.jpg", "image-failed");
        break;
      case 777: // an empty required field
        plant("lastName", "", "empty-required");
        break;
      case 901: // a name too long for its box even at the bounds
        plant(
          "firstName",
          "Maximiliana-Alexandrina-Konstantina-Bartholomea-Wilhelmina",
          "overset",
        );
        break;
    }
    out.push(cells.join(","));
  }
  await Deno.writeTextFile(path, out.join("\n") + "\n");
  return planted;
}

Deno.test("preflight of 10,000 records finds every planted problem and nothing else", async () => {
  await using dir = await tempDir();
  const csv = join(dir.path, "list.csv");
  const planted = await plantedList(csv, 10_000);
  await using layout = await layoutCheck({ concurrency: 2 });
  const report = await preflightList({
    template: EXAMPLE_TEMPLATE,
    data: csv,
    layout: layout.check,
  });
  assert.equal(report.records, 10_000);
  const found = new Set<Planted>(
    report.problems.map((p) => `${p.record} ${p.kind} ${p.field}` as Planted),
  );
  const missed = [...planted].filter((p) => !found.has(p));
  const extra = [...found].filter((p) => !planted.has(p));
  assert.deepEqual(missed, [], "planted problems not found");
  assert.deepEqual(
    extra,
    [],
    `problems found that were not planted: ${
      report.problems.filter((p) =>
        extra.includes(`${p.record} ${p.kind} ${p.field}` as Planted)
      ).slice(0, 5).map((p) => p.message).join("; ")
    }`,
  );
  assert.equal(report.recordsWithProblems, 50);
  const thai = report.problems.find((p) => p.kind === "missing-glyphs")!;
  assert.match(thai.message, /Noto Serif has no "ส".*Noto Sans Thai/);
  assert.equal(thai.line, thai.record + 1);
  const url = report.problems.find((p) => p.kind === "qr-capacity")!;
  assert.match(url.message, /"url" \(3022 characters\) does not fit a QR code/);
  const photo = report.problems.find((p) => p.kind === "image-failed")!;
  assert.match(photo.message, /nobody-here\.jpg/);
  const long = report.problems.find((p) => p.kind === "overset")!;
  assert.match(long.message, /"firstName" is too long for its box/);
});

Deno.test("pressrun preflight on the tricky fixture: the fonts it falls back to, a CSV of the problem rows, exit 1", async () => {
  await using dir = await tempDir();
  const report = join(dir.path, "problems.csv");
  const run = await cli([
    "preflight",
    "--template",
    EXAMPLE_TEMPLATE,
    "--data",
    TRICKY_CSV,
    "--report",
    report,
    "--json",
  ]);
  assert.equal(run.code, 1, run.stderr);
  const answer = JSON.parse(run.stdout);
  assert.equal(answer.records, 12);
  const glyphs = answer.problems.filter((p: { kind: string }) =>
    p.kind === "missing-glyphs"
  );
  // 王小明 (record 5) and an Arabic name (record 6): fallback fonts named.
  assert.ok(
    glyphs.some((p: { record: number; message: string }) =>
      p.record === 5 && /has no "王".*draws them with \w/.test(p.message)
    ),
    JSON.stringify(glyphs),
  );
  assert.ok(glyphs.some((p: { record: number }) => p.record === 6));
  const rows = (await Deno.readTextFile(report)).replace(/^\uFEFF/, "")
    .trimEnd().split("\r\n");
  assert.equal(rows[0], "record,line,field,problem,value,object,message");
  assert.equal(rows.length - 1, answer.problems.length);
  // The example list itself is clean: exit 0.
  const clean = await cli([
    "preflight",
    "--template",
    EXAMPLE_TEMPLATE,
    "--data",
    EXAMPLE_CSV,
  ]);
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stderr, /No problems found/);
});

Deno.test("pressrun preflight treats bad input as a render does: named, exit 2, nothing written", async () => {
  await using dir = await tempDir();
  const csv = join(dir.path, "list.csv");
  await Deno.writeTextFile(csv, "id,firstName\n1,Ann\n");
  const report = join(dir.path, "problems.csv");
  const run = await cli([
    "preflight",
    "--template",
    EXAMPLE_TEMPLATE,
    "--data",
    csv,
    "--report",
    report,
    "--no-layout",
  ]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /list\.csv: missing columns .*"lastName"/);
  await assert.rejects(Deno.stat(report), Deno.errors.NotFound);
  const broken = join(dir.path, "broken.csv");
  await Deno.writeTextFile(broken, 'id,firstName\n1,"Ann\n2,Bo\n');
  const bad = await cli([
    "preflight",
    "--template",
    EXAMPLE_TEMPLATE,
    "--data",
    broken,
    "--no-layout",
  ]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /broken\.csv.*line 2/);
});

Deno.test("POST /api/preflight answers the report of a library design and an uploaded list", async () => {
  await using app = await handlerApp();
  const form = new FormData();
  form.append("template", "postcard");
  form.append(
    "data",
    new File([await Deno.readFile(TRICKY_CSV)], "recipients.csv"),
  );
  const res = await app.call("/api/preflight", { method: "POST", body: form });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.records, 12);
  assert.equal(body.data, "recipients.csv");
  assert.equal(body.more, 0);
  assert.ok(body.checked.includes("overset"));
  assert.ok(
    body.problems.some((p: { kind: string }) => p.kind === "missing-glyphs"),
  );
  const none = new FormData();
  none.append("data", new File(["id\n1\n"], "x.csv"));
  const refused = await app.call("/api/preflight", {
    method: "POST",
    body: none,
  });
  assert.equal(refused.status, 400);
  await refused.body?.cancel();
});

Deno.test("a template's fields map: optional and required fields, and its errors", async (t) => {
  const doc = JSON.parse(await Deno.readTextFile(EXAMPLE_TEMPLATE));
  const parse = (fields: unknown) =>
    parseTemplate({ ...doc, fields }, { source: "t.json", baseDir: "." });
  await t.step("the example marks state optional; visibleIf fields are", () => {
    const template = parse({ state: "optional" });
    assert.deepEqual(
      template.optionalFields.sort(),
      ["company", "photo", "state"],
    );
    assert.deepEqual(parse({ photo: "required" }).optionalFields, ["company"]);
  });
  await t.step("an unknown field or rule is an error naming it", () => {
    assert.throws(
      () => parse({ nickname: "optional" }),
      (e: unknown) =>
        e instanceof TemplateError && /fields\.nickname/.test(e.message),
    );
    assert.throws(
      () => parse({ state: "maybe" }),
      (e: unknown) =>
        e instanceof TemplateError &&
        /fields\.state must be "required" or "optional", got "maybe"/.test(
          e.message,
        ),
    );
    assert.throws(() => parse(["state"]), TemplateError);
  });
});

Deno.test("preflight finds the barcode values their type cannot encode, naming the record and the field", async () => {
  await using dir = await tempDir();
  const doc = JSON.parse(await Deno.readTextFile(EXAMPLE_TEMPLATE));
  doc.canvas.objects.push({
    type: "Rect",
    left: 40,
    top: 1180,
    width: 930,
    height: 60,
    barcode: { type: "imb", value: "01234567094987654321{{zip}}" },
  });
  const template = parseTemplate(doc, {
    source: "imb.json",
    baseDir: join(Deno.cwd(), "examples/postcard"),
  });
  const lines = (await Deno.readTextFile(EXAMPLE_CSV)).trimEnd().split("\n");
  const zip = lines[0]!.split(",").indexOf("zip");
  // US ZIP codes (an IMb's routing code), one of them 7 digits long.
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i]!.split(",");
    cells[zip] = i === 3 ? "1234567" : "97205";
    lines[i] = cells.join(",");
  }
  const csv = join(dir.path, "list.csv");
  await Deno.writeTextFile(csv, lines.join("\n") + "\n");
  const report = await preflightList({ template, data: csv });
  const barcodes = report.problems.filter((p) => p.kind === "barcode");
  assert.deepEqual(
    barcodes.map((p) => [p.record, p.field, p.value]),
    [[3, "zip", "1234567"]],
  );
  assert.match(
    barcodes[0]!.message,
    /"zip": .*routing code must have 0, 5, 9 or 11 digits, got 7/,
  );
});
