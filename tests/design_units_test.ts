import assert from "node:assert/strict";
import { join } from "node:path";
import { Browser } from "../render/browser.ts";
import { AssetResolver } from "../template/assets.ts";
import { pageSpec } from "../template/page_spec.ts";
import { parseTemplate } from "../template/parse.ts";
import { piecePayload } from "../template/payload.ts";
import { imageOf, pdfToPngs, readPng, tempDir } from "./_helpers.ts";
import { openPage, vectorPieces } from "./_vector.ts";

// A design's coordinates need not be pixels: a 6.25×4.25 in page designed on
// a 937.5×637.5 canvas prints at 300 dpi with a zoom of 2. Fabric's
// loadFromJSON() resets the canvas to the document's size, which once left
// the raster at 937.5×637.5 px (three quarters of the page black) and cut the
// vector page's view box to a quarter.
Deno.test("a design in units other than pixels fills the whole page, raster and vector alike", async () => {
  const corner = {
    type: "Rect",
    originX: "left",
    originY: "top",
    left: 837.5,
    top: 537.5,
    width: 100,
    height: 100,
    fill: "#cc3333",
  };
  const template = parseTemplate({
    name: "Design units",
    size: { width: 6, height: 4, unit: "in" },
    dpi: 300,
    bleed: 0.125,
    canvas: {
      version: "7.4.0",
      width: 937.5,
      height: 637.5,
      background: "#ffffff",
      objects: [corner],
    },
  }, { source: "units.json", baseDir: "examples/postcard" });
  const assets = new AssetResolver(template.baseDir);
  const spec = await pageSpec(template, assets);
  assert.equal(spec.zoom, 2);
  const payload = await piecePayload(
    template,
    { index: 1, values: {} },
    assets,
  );
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  await using page = await openPage(browser, spec);
  const raster = await readPng(imageOf(await page.render(payload)).bytes);
  assert.deepEqual([raster.width, raster.height], [1875, 1275]);
  /** The colour at a share of the width and height of `image`. */
  const at = (image: typeof raster, fx: number, fy: number) => {
    const i = (Math.floor(fy * image.height) * image.width +
      Math.floor(fx * image.width)) * 4;
    return [...image.data.slice(i, i + 3)];
  };
  // The red square sits in the bottom-right corner; the rest is white.
  assert.deepEqual(at(raster, 0.97, 0.96), [0xcc, 0x33, 0x33], "raster corner");
  assert.deepEqual(at(raster, 0.5, 0.5), [255, 255, 255], "raster middle");
  const [vector] = await vectorPieces(page, [payload]);
  const file = join(dir.path, "vector.pdf");
  await Deno.writeFile(file, vector!.pdf);
  const [png] = await pdfToPngs(file, dir.path, 150);
  const drawn = await readPng(png!);
  assert.deepEqual(at(drawn, 0.97, 0.96), [0xcc, 0x33, 0x33], "vector corner");
  assert.deepEqual(at(drawn, 0.5, 0.5), [255, 255, 255], "vector middle");
});
