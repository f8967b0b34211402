import assert from "node:assert/strict";
import { Browser, chromiumEnv } from "../render/browser.ts";
import { fontconfigFile, isCff, openTypeCffFonts } from "../render/fonts.ts";
import { createRenderer } from "../render/orchestrator.ts";
import { AssetResolver } from "../template/assets.ts";
import { loadTemplate } from "../template/parse.ts";
import { EXAMPLE_TEMPLATE, examplePieces, TRICKY_CSV } from "./_helpers.ts";
import { SCRIPTS_CSV } from "./_vector.ts";

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

Deno.test("openTypeCffFonts() names no font for the example with the tricky or the scripts fixture: CJK falls back to TrueType WenQuanYi Micro Hei, as in Chromium", async () => {
  const template = await loadTemplate(EXAMPLE_TEMPLATE);
  const assets = new AssetResolver(template.baseDir);
  assert.deepEqual(await openTypeCffFonts(template, assets), []);
  for (const csv of [TRICKY_CSV, SCRIPTS_CSV]) {
    const text = await Deno.readTextFile(csv);
    assert.deepEqual(await openTypeCffFonts(template, assets, { text }), []);
  }
});

Deno.test("openTypeCffFonts() asks pressrun's fontconfig for the fallback Chromium uses (page language, the character) and names it when it is CFF", async () => {
  const template = await loadTemplate(EXAMPLE_TEMPLATE);
  const assets = new AssetResolver(template.baseDir);
  const asked: string[] = [];
  const noto = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
  const fonts = await openTypeCffFonts(template, assets, {
    text: "王",
    fcMatch: (pattern) => {
      asked.push(pattern);
      // The template's families lack 王; the fallback is Noto Sans CJK.
      return Promise.resolve(
        pattern.includes(":lang=")
          ? { file: noto, family: "Noto Sans CJK JP" }
          : { file: "/x/NotoSans-Regular.ttf", family: "Noto Sans" },
      );
    },
  });
  assert.ok(asked.includes(":lang=en:charset=738b"), asked.join(", "));
  if (await Deno.stat(noto).then(() => true, () => false)) {
    assert.deepEqual(fonts, [{ file: noto, family: "Noto Sans CJK JP" }]);
  }
  // And the real lookup, with render/fontconfig/fonts.conf: TrueType.
  const file = fontconfigFile();
  assert.ok(file?.endsWith("render/fontconfig/fonts.conf"), String(file));
  const out = await new Deno.Command("fc-match", {
    args: ["-f", "%{file}", ":lang=en:charset=738b"],
    env: { FONTCONFIG_FILE: file! },
  }).output();
  assert.match(new TextDecoder().decode(out.stdout), /wqy-microhei\.ttc$/);
});

Deno.test("Chromium is launched with FONTCONFIG_FILE set to render/fontconfig/fonts.conf", async () => {
  assert.equal(chromiumEnv({}).FONTCONFIG_FILE, fontconfigFile());
  await using browser = await Browser.launch();
  const environ = await Deno.readTextFile(`/proc/${browser.pid}/environ`);
  assert.ok(
    environ.split("\0").includes(`FONTCONFIG_FILE=${fontconfigFile()}`),
    "FONTCONFIG_FILE in Chromium's environment",
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
  // Records 5 (Chinese) and 6 (Arabic) have bold text in a fallback font
  // with no bold face used (WenQuanYi Micro Hei, DejaVu Sans): Chromium
  // emboldens it, and emboldened outlines print as Type 3.
  const chinese = pieces[4]!;
  assert.equal(chinese.kind, "vector");
  if (chinese.kind !== "vector") return;
  assert.deepEqual(chinese.type3Fonts, ["WenQuanYiMicroHei"]);
  // The raster piece: one image, no fonts.
  assert.match(
    new TextDecoder("latin1").decode(chinese.pdf),
    /\/Subtype\s*\/Image/,
  );
  const warnings = lines.filter((l) => l.startsWith("warn:"));
  assert.equal(warnings.length, 1, lines.join("\n"));
  assert.match(warnings[0]!, /Type 3 fonts \(WenQuanYiMicroHei, DejaVuSans/);
  assert.match(warnings[0]!, /raster pages instead: 5, 6$/);
});
