/**
 * What Fabric editors write, drawn as Fabric draws it: each case is compared
 * with plain Fabric rendering the same JSON with its own settings in the same
 * tab (raster), and the vector piece with the raster piece, within the
 * fidelity bounds of vector_render_test.ts.
 */
import assert from "node:assert/strict";
import { Browser } from "../render/browser.ts";
import { imageOf, readPng, tempDir } from "./_helpers.ts";
import {
  imageDifference,
  MAX_BLOCK,
  MAX_DIFFERENCE,
  openPage,
  pdfDifference,
  plainFabric,
  rasterPdf,
  smallTemplate,
  vectorPieces,
} from "./_vector.ts";

const figures = (d: { piece: number; block: number }) =>
  `${(d.piece * 100).toFixed(2)} % of pixels, worst block ${
    (d.block * 100).toFixed(2)
  } %`;

/** Raster against plain Fabric, vector against raster, for `objects`. */
async function drawnAsFabric(
  browser: Browser,
  objects: Record<string, unknown>[],
  values: Record<string, string> = {},
) {
  await using dir = await tempDir();
  const { spec, payloads } = await smallTemplate(objects, [values]);
  await using page = await openPage(browser, spec);
  const raster = await readPng(imageOf(await page.render(payloads[0]!)).bytes);
  const diff = imageDifference(raster, await plainFabric(page, spec, values));
  const [vector] = await vectorPieces(page, payloads);
  const vdiff = await pdfDifference(
    vector!.pdf,
    await rasterPdf(page, spec, payloads[0]!),
    dir.path,
  );
  return { raster: diff, vector: vdiff, pixels: raster };
}

function assertClose(
  name: string,
  d: { piece: number; block: number },
): void {
  console.log(`${name}: ${figures(d)}`);
  assert.ok(d.piece <= MAX_DIFFERENCE && d.block <= MAX_BLOCK, figures(d));
}

const corner = { originX: "left", originY: "top" };

Deno.test("a group used as a clip path clips as Fabric draws it, raster and vector", async () => {
  await using browser = await Browser.launch();
  const photo = {
    type: "Rect",
    ...corner,
    left: 150,
    top: 120,
    width: 500,
    height: 340,
    fill: {
      type: "linear",
      coords: { x1: 0, y1: 0, x2: 500, y2: 340 },
      colorStops: [
        { offset: 0, color: "#d62828" },
        { offset: 1, color: "#1d3557" },
      ],
    },
    // Fabric places a clip path's members from the object's centre.
    clipPath: {
      type: "Group",
      width: 420,
      height: 260,
      objects: [
        { type: "Circle", radius: 120, left: -90, top: 0 },
        { type: "Rect", width: 200, height: 160, left: 110, top: 30 },
        {
          type: "Group",
          width: 80,
          height: 80,
          left: 160,
          top: -90,
          objects: [{ type: "Triangle", width: 80, height: 80 }],
        },
      ],
    },
  };
  const drawn = await drawnAsFabric(browser, [photo]);
  // The clip cut the rectangle: some of its box is painted, some is not.
  const { width, data } = drawn.pixels;
  let painted = 0;
  for (let y = 120; y < 460; y++) {
    for (let x = 150; x < 650; x++) {
      if (data[(y * width + x) * 4]! < 240) painted++;
    }
  }
  const share = painted / (500 * 340);
  assert.ok(share > 0.3 && share < 0.9, `painted ${share}`);
  assertClose("group clip, raster against plain Fabric", drawn.raster);
  assertClose("group clip, vector against raster", drawn.vector);
});
