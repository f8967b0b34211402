import assert from "node:assert/strict";
import { Browser, chromiumEnv } from "../render/browser.ts";
import {
  boldFallbackFamilies,
  fontconfigFile,
  hasRealBold,
  isCff,
  openTypeCffFonts,
  syntheticBoldFallbacks,
  withFallbacks,
} from "../template/fonts.ts";
import type { PageSpec } from "../render/page_api.ts";
import { appendBoldFallbacks } from "../template/page_spec.ts";
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
  // And the real lookup, with template/fontconfig/fonts.conf: TrueType.
  const file = fontconfigFile();
  assert.ok(file?.endsWith("template/fontconfig/fonts.conf"), String(file));
  const out = await new Deno.Command("fc-match", {
    args: ["-f", "%{file}", ":lang=en:charset=738b"],
    env: { FONTCONFIG_FILE: file! },
  }).output();
  assert.match(new TextDecoder().decode(out.stdout), /wqy-microhei\.ttc$/);
});

Deno.test("Chromium is launched with FONTCONFIG_FILE set to template/fontconfig/fonts.conf", async () => {
  assert.equal(chromiumEnv({}).FONTCONFIG_FILE, fontconfigFile());
  await using browser = await Browser.launch();
  const environ = await Deno.readTextFile(`/proc/${browser.pid}/environ`);
  assert.ok(
    environ.split("\0").includes(`FONTCONFIG_FILE=${fontconfigFile()}`),
    "FONTCONFIG_FILE in Chromium's environment",
  );
});

Deno.test("bold fallback families: LXGW WenKai, NanumGothic, Noto Sans Arabic and Noto Sans Hebrew are installed with real Regular and Bold TrueType faces; WenQuanYi Micro Hei and Noto Sans CJK are not", async () => {
  assert.deepEqual(await boldFallbackFamilies(), [
    "LXGW WenKai",
    "NanumGothic",
    "Noto Sans Arabic",
    "Noto Sans Hebrew",
  ]);
  assert.equal(await hasRealBold("WenQuanYi Micro Hei"), false);
  assert.equal(await hasRealBold("Noto Sans CJK JP"), false); // CFF
});

Deno.test("appendBoldFallbacks() appends the families to bold texts (in groups, and bold character styles) as a quoted CSS list, and leaves regular text alone", () => {
  const extra = ["LXGW WenKai", "Noto Sans Arabic"];
  assert.equal(
    withFallbacks("Noto Sans", extra),
    '"Noto Sans", "LXGW WenKai", "Noto Sans Arabic"',
  );
  assert.equal(
    withFallbacks("'My Font', LXGW WenKai", extra),
    "'My Font', LXGW WenKai, \"Noto Sans Arabic\"",
  );
  const objects: Record<string, unknown>[] = [
    { type: "Textbox", fontFamily: "Noto Sans", fontWeight: "bold" },
    { type: "IText", fontFamily: "Noto Sans", fontWeight: 700 },
    { type: "Text", fontFamily: "Noto Sans", fontWeight: "normal" },
    {
      type: "Group",
      objects: [{ type: "Text", fontFamily: "Noto Serif", fontWeight: "600" }],
    },
    {
      type: "Textbox",
      fontFamily: "Noto Sans",
      styles: [{
        start: 0,
        end: 3,
        style: { fontWeight: "bold", fontFamily: "Noto Serif" },
      }],
    },
  ];
  appendBoldFallbacks(objects, extra);
  const list = (f: string) => withFallbacks(f, extra);
  assert.deepEqual(objects.map((o) => o.fontFamily), [
    list("Noto Sans"),
    list("Noto Sans"),
    "Noto Sans",
    undefined,
    list("Noto Sans"),
  ]);
  const group = objects[3]!.objects as Record<string, unknown>[];
  assert.equal(group[0]!.fontFamily, list("Noto Serif"));
  const styles = objects[4]!.styles as { style: Record<string, unknown> }[];
  assert.equal(styles[0]!.style.fontFamily, list("Noto Serif"));
});

Deno.test("syntheticBoldFallbacks() names no family for the example with the tricky or scripts fixture, and without the bold fallbacks names Chromium's own fallbacks (weightless, so emboldened) by script", async () => {
  const template = await loadTemplate(EXAMPLE_TEMPLATE);
  const assets = new AssetResolver(template.baseDir);
  for (const csv of [TRICKY_CSV, SCRIPTS_CSV]) {
    const text = await Deno.readTextFile(csv);
    assert.deepEqual(
      await syntheticBoldFallbacks(template, assets, { text }),
      [],
    );
  }
  const text = await Deno.readTextFile(SCRIPTS_CSV);
  assert.deepEqual(
    await syntheticBoldFallbacks(template, assets, { text, fallbacks: [] }),
    [
      { family: "WenQuanYi Micro Hei", script: "Han" },
      { family: "WenQuanYi Micro Hei", script: "Hiragana" },
      { family: "WenQuanYi Micro Hei", script: "Hangul" },
      { family: "DejaVu Sans", script: "Arabic" },
      { family: "DejaVu Sans", script: "Hebrew" },
    ],
  );
  // A named family with no bold face is named too.
  const named = await syntheticBoldFallbacks(template, assets, {
    text: "王",
    fallbacks: ["WenQuanYi Micro Hei"],
  });
  assert.deepEqual(named, [{ family: "WenQuanYi Micro Hei", script: "Han" }]);
});

/** `spec` with each text's family list cut back to its first family. */
function withoutBoldFallbacks(spec: PageSpec): PageSpec {
  const walk = (objects: Record<string, unknown>[]) => {
    for (const o of objects) {
      if (typeof o.fontFamily === "string") {
        o.fontFamily = o.fontFamily.split(",")[0]!.replace(/"/g, "").trim();
      }
      if (Array.isArray(o.objects)) walk(o.objects);
    }
  };
  const canvas = structuredClone(spec.canvas);
  walk(canvas.objects as Record<string, unknown>[]);
  return { ...spec, canvas };
}

Deno.test("vector mode sends records printed with Type 3 fonts out as raster pieces and logs one warning naming the fonts and records", async () => {
  await using browser = await Browser.launch();
  const example = await examplePieces(TRICKY_CSV);
  // Without the bold fallbacks page_spec.ts appends, the Chinese and Arabic
  // records' bold text gets Chromium's synthetic bold: Type 3.
  const spec = withoutBoldFallbacks(example.spec);
  const payloads = example.payloads;
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
  // with no bold face used (Chromium's fallback asks with no weight) (WenQuanYi Micro Hei, DejaVu Sans): Chromium
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
