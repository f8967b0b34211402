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
  rasterPdf,
  smallTemplate,
  vectorPieces,
} from "./_vector.ts";
import type { RenderPage } from "../render/render_page.ts";
import type { PageSpec } from "../render/page_api.ts";
import type * as Fabric from "fabric";

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

/** The page drawn by plain Fabric with its own settings (object caching on). */
async function plainFabric(page: RenderPage, spec: PageSpec, name: string) {
  const b64 = await page.page.evaluate(
    async (s, who) => {
      const f = (globalThis as unknown as { fabric: typeof Fabric }).fabric;
      const json = structuredClone(s.canvas);
      // The record's value, as the merge puts it.
      const walk = (list: { text?: string; objects?: unknown[] }[]) => {
        for (const o of list) {
          if (typeof o.text === "string") {
            o.text = o.text.replace(
              "{{name}}",
              who,
            );
          }
          if (Array.isArray(o.objects)) walk(o.objects as typeof list);
        }
      };
      walk(json.objects as never);
      const element = document.createElement("canvas");
      const canvas = new f.StaticCanvas(element, {
        enableRetinaScaling: false,
      });
      await canvas.loadFromJSON(json);
      // The bounds fitted to the record's content, as an editor fits a group
      // whose text was edited (Fabric keeps the saved bounds and cuts the
      // layer at them: a longer name would be cut).
      for (const o of canvas.getObjects()) {
        if (o instanceof f.Group) o.triggerLayout();
      }
      canvas.setDimensions({ width: s.pixelWidth, height: s.pixelHeight });
      canvas.setViewportTransform([s.zoom, 0, 0, s.zoom, 0, 0]);
      if (!canvas.backgroundColor) canvas.backgroundColor = "#ffffff";
      canvas.renderAll();
      const url = canvas.toDataURL({ format: "png", multiplier: 1 });
      canvas.dispose();
      return url.slice(url.indexOf(",") + 1);
    },
    spec,
    name,
  );
  return await readPng(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
}

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
    const reference = await plainFabric(page, spec, names[i]!);
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
