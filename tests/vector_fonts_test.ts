import assert from "node:assert/strict";
import { Browser } from "../render/browser.ts";
import { isCff, openTypeCffFonts } from "../render/fonts.ts";
import { createRenderer } from "../render/orchestrator.ts";
import { AssetResolver } from "../template/assets.ts";
import { loadTemplate } from "../template/parse.ts";
import { EXAMPLE_TEMPLATE, examplePieces, TRICKY_CSV } from "./_helpers.ts";

Deno.test("isCff() tells OpenType-CFF fonts and collections from TrueType ones by their magic", () => {
  const bytes = (tag: string, rest: number[] = []) =>
    new Uint8Array([...tag].map((c) => c.charCodeAt(0)).concat(rest));
  assert.equal(isCff(bytes("OTTO", [0, 0, 0, 0])), true);
  assert.equal(isCff(new Uint8Array([0, 1, 0, 0, 0, 0, 0, 0])), false);
  // A collection: "ttcf", version, count, then the offset of its first font.
  const ttc = (first: string) =>
    bytes("ttcf", [0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 16, ...bytes(first)]);
  assert.equal(isCff(ttc("OTTO")), true);
  assert.equal(isCff(ttc("true")), false);
});

Deno.test("openTypeCffFonts() names the system CJK fallback the tricky fixture's Chinese row needs, and nothing for the example alone", async () => {
  const template = await loadTemplate(EXAMPLE_TEMPLATE);
  const assets = new AssetResolver(template.baseDir);
  assert.deepEqual(await openTypeCffFonts(template, assets), []);
  const text = await Deno.readTextFile(TRICKY_CSV);
  const fonts = await openTypeCffFonts(template, assets, { text });
  assert.ok(
    fonts.some((f) => /Noto Sans CJK/.test(f.family) && /\.ttc$/.test(f.file)),
    JSON.stringify(fonts),
  );
});

Deno.test("vector mode sends records printed with Type 3 fonts out as raster pieces and logs one warning naming the fonts and records", async () => {
  await using browser = await Browser.launch();
  const { spec, payloads } = await examplePieces(TRICKY_CSV);
  const lines: string[] = [];
  const renderer = await createRenderer(browser, spec, {
    renderer: "persistent",
    pages: 1,
    pdfMode: "vector",
    log: (level, message) => lines.push(`${level}: ${message}`),
  });
  const pieces = await Promise.all(payloads.map((p) => renderer.render(p)));
  await renderer.close();
  const chinese = pieces[4]!;
  assert.equal(chinese.kind, "vector");
  if (chinese.kind !== "vector") return;
  assert.deepEqual(chinese.type3Fonts, ["NotoSansCJKjp-Regular"]);
  // The raster piece: one image, no fonts.
  assert.match(
    new TextDecoder("latin1").decode(chinese.pdf),
    /\/Subtype\s*\/Image/,
  );
  const warnings = lines.filter((l) => l.startsWith("warn:"));
  assert.equal(warnings.length, 1, lines.join("\n"));
  assert.match(warnings[0]!, /Type 3 fonts \(NotoSansCJKjp-Regular/);
  assert.match(warnings[0]!, /raster pages instead: 5, 6$/);
});
