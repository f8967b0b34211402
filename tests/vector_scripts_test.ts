/**
 * Vector PDFs of rows in eight scripts (tests/fixtures/recipients-scripts.csv):
 * which print as text, in which fonts, and what happens to right-to-left rows
 * and to bold text in a fallback font.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readCsv } from "../batch/csv.ts";
import { Browser } from "../render/browser.ts";
import { PersistentRenderer } from "../render/persistent.ts";
import type { VectorPiece } from "../render/render_page.ts";
import {
  csvUrls,
  decodeQr,
  examplePieces,
  pdfToPngs,
  run,
  tempDir,
} from "./_helpers.ts";
import {
  BIDI,
  inOrder,
  openPage,
  plainFieldsTemplate,
  SCRIPTS_CSV,
  vectorPieces,
} from "./_vector.ts";

/** Right-to-left rows of the fixture: Arabic, Hebrew. */
const RTL = new Set([7, 8]);
/** Rows whose characters none of the template's fonts (Noto) have: CJK, RTL. */
const FALLBACK: Record<number, string> = {
  4: "WenQuanYiMicroHei",
  5: "WenQuanYiMicroHei",
  6: "WenQuanYiMicroHei",
  7: "DejaVuSans",
  8: "DejaVuSans",
};

async function rows(): Promise<Record<string, string>[]> {
  const out: Record<string, string>[] = [];
  for await (const r of readCsv(SCRIPTS_CSV)) out.push({ ...r.values });
  return out;
}

/** A piece's file, fonts (pdffonts rows), text (pdftotext) and QR code. */
async function inspect(piece: VectorPiece, dir: string) {
  const file = join(dir, `${crypto.randomUUID()}.pdf`);
  await Deno.writeFile(file, piece.pdf);
  const fonts = (await run("pdffonts", [file])).split("\n").slice(2)
    .filter((l) => l.trim());
  const text = await run("pdftotext", [file, "-"]);
  const [png] = await pdfToPngs(file, dir, 300);
  return { file, fonts, text, qr: await decodeQr(png!) };
}

const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();

Deno.test("scripts fixture, regular-weight text: every row prints as embedded TrueType text (CJK in WenQuanYi Micro Hei, Arabic and Hebrew in DejaVu Sans), none as Type 3; LTR rows read name, street, offer in order, RTL rows in logical order; QR codes decode", async () => {
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  const records = await rows();
  const { spec, payloads } = await plainFieldsTemplate(records);
  await using page = await openPage(browser, spec);
  const pieces = await vectorPieces(page, payloads);
  for (const [i, piece] of pieces.entries()) {
    const index = i + 1;
    const row = records[i]!;
    const got = await inspect(piece, dir.path);
    const label = `record ${index}: ${got.fonts.join(" | ")}`;
    assert.equal(piece.type3Fonts, undefined, label);
    assert.ok(got.fonts.length > 0, label);
    for (const line of got.fonts) {
      assert.match(line, /CID TrueType +Identity-H +yes +yes +yes /, label);
    }
    assert.ok(!got.fonts.some((l) => /NotoSans(Serif)?CJK/.test(l)), label);
    if (FALLBACK[index]) {
      assert.ok(got.fonts.some((l) => l.includes(FALLBACK[index]!)), label);
    }
    const name = `${row.firstName} ${row.lastName}`;
    const lines = got.text.replace(BIDI, "").split("\n").map(oneLine)
      .filter(Boolean);
    if (!RTL.has(index)) {
      assert.ok(
        inOrder(oneLine(got.text), [name, row.street!, row.offer!]),
        `record ${index}: "${oneLine(got.text)}"`,
      );
    } else {
      // Each line comes out in logical (reading) order once pdftotext's
      // bidi controls are dropped, but a run of digits and signs inside an
      // Arabic line may move (the offer "خصم ٢٠٪" reads "٪خصم ٢٠").
      assert.deepEqual(lines.slice(0, 2), [name, row.street], label);
      const letters = (s: string) => [...s.replace(/\s/g, "")].sort().join("");
      assert.equal(letters(lines[2]!), letters(row.offer!), label);
    }
    assert.equal(got.qr, row.url, `record ${index}`);
  }
});

/** The real bold face each fallback row's bold text prints with (example). */
const BOLD_FALLBACK: Record<number, string> = {
  4: "LXGWWenKai-Bold",
  5: "LXGWWenKai-Bold",
  6: "LXGWWenKai-Bold",
  7: "NotoSansArabic-Bold",
  8: "NotoSansHebrew-Bold",
};

Deno.test("scripts fixture, the example postcard: every row prints as TrueType text with no Type 3; bold text the template's fonts lack comes from a real bold face (LXGW WenKai, Noto Sans Arabic/Hebrew Bold), regular text from WenQuanYi Micro Hei or DejaVu Sans; LTR rows read offer, name, street in order", async () => {
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  const records = await rows();
  const urls = await csvUrls(SCRIPTS_CSV);
  const { spec, payloads } = await examplePieces(SCRIPTS_CSV);
  await using pool = await PersistentRenderer.start(browser, spec, {
    pages: 1,
    pdfMode: "vector",
    chunkSize: 100,
  });
  for (const [i, payload] of payloads.entries()) {
    const index = payload.index;
    const piece = await pool.render(payload);
    assert.equal(piece.kind, "vector");
    if (piece.kind !== "vector") continue;
    const got = await inspect(piece, dir.path);
    const label = `record ${index}: ${got.fonts.join(" | ")}`;
    assert.equal(got.qr, urls[index - 1], label);
    assert.equal(piece.type3Fonts, undefined, label);
    assert.ok(got.fonts.length > 0, label);
    for (const line of got.fonts) {
      assert.match(line, /CID TrueType +Identity-H +yes +yes +yes /, label);
    }
    if (BOLD_FALLBACK[index]) {
      for (const font of [BOLD_FALLBACK[index]!, FALLBACK[index]!]) {
        assert.ok(got.fonts.some((l) => l.includes(`+${font} `)), label);
      }
    }
    const row = records[i]!;
    const name = `${row.firstName} ${row.lastName}`;
    const text = oneLine(got.text.replace(BIDI, ""));
    if (!RTL.has(index)) {
      // The card shows the offer above the name and street.
      assert.ok(
        inOrder(text, [row.offer!, name, row.street!]),
        `${label}: "${text}"`,
      );
    } else {
      // The name in logical order; a run of digits and signs in the street
      // or the offer moves ("רחוב הרצל 5" reads "5 רחוב הרצל", "خصم ٢٠٪"
      // reads "٢٠ خصم٪"), so their lines' letters are compared.
      assert.ok(text.includes(name), `${label}: "${text}"`);
      const letters = (s: string) => [...s.replace(/\s/g, "")].sort().join("");
      const lines = got.text.replace(BIDI, "").split("\n");
      for (const value of [row.street!, row.offer!]) {
        assert.ok(
          lines.some((l) => letters(l) === letters(value)),
          `${label}: "${value}" in "${text}"`,
        );
      }
    }
  }
});
