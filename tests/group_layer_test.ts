/**
 * A group's opacity and shadow apply to the group as one layer, as Fabric
 * draws it (Fabric's own visual test "group with opacity and shadow"): the
 * children are drawn opaque into one layer, then the layer with the group's
 * opacity and one shadow. Drawn child by child instead, each child carries
 * the opacity and a shadow of its own, so a child's shadow shows through its
 * neighbour and dark seams appear where they overlap.
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

const shape = { originX: "left", originY: "top", strokeWidth: 0 };
/** Overlapping shapes in a group with opacity and a shadow, and a text in it. */
const GROUP = {
  type: "Group",
  originX: "left",
  originY: "top",
  // As Fabric writes a group: its size, and children placed from its centre.
  width: 380,
  height: 280,
  opacity: 0.5,
  shadow: { color: "rgba(0,0,0,0.8)", blur: 12, offsetX: 14, offsetY: 14 },
  objects: [
    {
      type: "Rect",
      ...shape,
      left: -190,
      top: -140,
      width: 260,
      height: 200,
      fill: "#d62828",
    },
    {
      type: "Circle",
      ...shape,
      left: -30,
      top: -80,
      radius: 110,
      fill: "#1d3557",
    },
    {
      type: "Rect",
      ...shape,
      left: -130,
      top: 20,
      width: 300,
      height: 120,
      fill: "#2a9d8f",
    },
    {
      type: "Text",
      ...shape,
      left: -170,
      top: 50,
      text: "Hi {{name}}",
      fontFamily: "Noto Sans",
      fontSize: 48,
      fill: "#ffffff",
    },
  ],
};
const OBJECTS = [
  // Something under the group, so its opacity shows.
  {
    type: "Rect",
    ...shape,
    left: 300,
    top: 120,
    width: 400,
    height: 80,
    fill: "#f4a261",
  },
  { ...GROUP, left: 420, top: 300 },
];

Deno.test("a group with opacity and a shadow prints as one layer, as plain Fabric draws it, raster and vector", async () => {
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  const names = ["Zoë", "Maximilian Oberhauser"];
  const { spec, payloads } = await smallTemplate(
    OBJECTS,
    names.map((name) => ({ name })),
  );
  await using page = await openPage(browser, spec);
  const figures = (d: { piece: number; block: number }) =>
    `${(d.piece * 100).toFixed(2)} % of pixels, worst block ${
      (d.block * 100).toFixed(2)
    } %`;
  const debug = Deno.env.get("VECTOR_DEBUG_DIR");
  // The second record after the first: the group's layer is drawn anew
  // when a child's text changes.
  for (const [i, payload] of payloads.entries()) {
    const raster = await page.render(payload);
    const reference = await plainFabric(page, spec, { name: names[i]! });
    const diff = imageDifference(
      await readPng(imageOf(raster).bytes),
      reference,
    );
    console.log(
      `record ${i + 1}, raster against plain Fabric: ${figures(diff)}`,
    );
    assert.ok(
      diff.piece <= MAX_DIFFERENCE && diff.block <= MAX_BLOCK,
      `record ${i + 1}: ${figures(diff)}`,
    );
    const [vector] = await vectorPieces(page, [payload]);
    if (debug) {
      await Deno.writeFile(
        `${debug}/group-${i + 1}.png`,
        imageOf(raster).bytes,
      );
      await Deno.writeFile(`${debug}/group-${i + 1}.pdf`, vector!.pdf);
    }
    const vdiff = await pdfDifference(
      vector!.pdf,
      await rasterPdf(page, spec, payload),
      dir.path,
    );
    console.log(`record ${i + 1}, vector against raster: ${figures(vdiff)}`);
    assert.ok(
      vdiff.piece <= MAX_DIFFERENCE && vdiff.block <= MAX_BLOCK,
      `record ${i + 1}: ${figures(vdiff)}`,
    );
  }
});
