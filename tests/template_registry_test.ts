/**
 * The object types and image filters a template may name
 * (template/fabric_classes.ts) against the render page's own Fabric: every
 * name is in its class registry, every filter Fabric has is either allowed or
 * refused with a reason, and each allowed filter renders. Anything else is
 * refused at upload, naming the object path and the value.
 */
import assert from "node:assert/strict";
import type * as Fabric from "fabric";
import { TemplateError } from "../common/errors.ts";
import { Browser } from "../render/browser.ts";
import { RenderPage } from "../render/render_page.ts";
import { AssetResolver } from "../template/assets.ts";
import {
  GRADIENT_TYPES,
  IMAGE_FILTERS,
  OBJECT_TYPES,
  PATTERN_TYPES,
  REFUSED_FILTERS,
} from "../template/fabric_classes.ts";
import { pageSpec } from "../template/page_spec.ts";
import { parseTemplate } from "../template/parse.ts";
import { piecePayload } from "../template/payload.ts";
import { readPng } from "./_helpers.ts";
import { Buffer } from "node:buffer";
import { PNG } from "pngjs";

const SANITIZED = { sanitizeOps: true, sanitizeResources: true };
const SOURCE = "upload.json";
/** A small colour gradient, so a filter has something to change. */
const PHOTO = gradientPng(48);

/** A 6×4 in template at 72 dpi (432×288 design px) holding `objects`. */
function template(objects: unknown[]) {
  return {
    size: { width: 6, height: 4, unit: "in" },
    dpi: 72,
    canvas: { objects },
  };
}

function parse(doc: unknown) {
  return parseTemplate(doc, { source: SOURCE, baseDir: "." });
}

/** Asserts parse(doc) throws a TemplateError naming `field` and `parts`. */
function assertRefused(doc: unknown, field: string, ...parts: string[]) {
  assert.throws(() => parse(doc), (error: unknown) => {
    assert.ok(error instanceof TemplateError, String(error));
    assert.equal(error.location.field, field);
    for (const part of [`Invalid template ${SOURCE}: ${field} `, ...parts]) {
      assert.ok(error.message.includes(part), `${error.message} ∌ ${part}`);
    }
    return true;
  });
}

const image = (extra: Record<string, unknown>) => ({
  type: "Image",
  src: PHOTO,
  originX: "left",
  originY: "top",
  width: 40,
  height: 40,
  ...extra,
});

Deno.test(
  "parseTemplate() refuses object types and image filters the render page cannot draw, naming the path and the value",
  SANITIZED,
  async (t) => {
    await t.step("an upper-case type, with the spellings Fabric takes", () => {
      assertRefused(
        template([{ type: "Rect" }, { type: "RECT", width: 10, height: 10 }]),
        "canvas.objects[1].type",
        `"RECT" is not supported`,
        `write "Rect" or "rect"`,
      );
    });
    await t.step("an unknown type, with the types there are", () => {
      assertRefused(
        template([{ type: "Group", objects: [{ type: "Star" }] }]),
        "canvas.objects[0].objects[0].type",
        `"Star" is not supported: the types are Circle, Ellipse, Group`,
      );
    });
    await t.step(
      "a Convolute filter, with why and the filters there are",
      () => {
        assertRefused(
          template([image({
            filters: [{ type: "Grayscale" }, {
              type: "Convolute",
              matrix: [0, -1, 0, -1, 5, -1, 0, -1, 0],
            }],
          })]),
          "canvas.objects[0].filters[1].type",
          `"Convolute" is not supported (${REFUSED_FILTERS.Convolute})`,
          `the filters are ${IMAGE_FILTERS.join(", ")}`,
        );
      },
    );
    await t.step("a filter Fabric does not have", () => {
      assertRefused(
        template([image({ filters: [{ type: "Sharpen" }] })]),
        "canvas.objects[0].filters[0].type",
        `"Sharpen" is not supported; the filters are BlackWhite`,
      );
    });
    await t.step("a lower-case colour-matrix preset", () => {
      assertRefused(
        template([image({ filters: [{ type: "sepia" }] })]),
        "canvas.objects[0].filters[0].type",
        `"sepia" is not supported`,
      );
    });
    await t.step("filters that are not a list of filters", () => {
      assertRefused(
        template([image({ filters: { type: "Grayscale" } })]),
        "canvas.objects[0].filters",
        "must be an array",
      );
      assertRefused(
        template([image({ filters: [null] })]),
        "canvas.objects[0].filters[0]",
        "is not an object",
      );
    });
    await t.step("a resize filter of another kind", () => {
      assertRefused(
        template([image({ resizeFilter: { type: "Blur" } })]),
        "canvas.objects[0].resizeFilter",
        `must be a Resize filter, got "Blur"`,
      );
    });
    await t.step("an upper-case clip path and gradient", () => {
      assert.throws(
        () => parse(template([{ type: "Rect", clipPath: { type: "CIRCLE" } }])),
        /canvas\.objects\[0\]\.clipPath must be a shape or a group of shapes, got "CIRCLE"/,
      );
      assert.throws(
        () =>
          parse(template([{
            type: "Rect",
            fill: { type: "LINEAR", colorStops: [] },
          }])),
        /canvas\.objects\[0\]\.fill must be a colour, a gradient or a pattern/,
      );
    });
  },
);

Deno.test(
  "template/fabric_classes.ts agrees with the render page's Fabric, and every allowed object type and filter renders",
  SANITIZED,
  async (t) => {
    await using browser = await Browser.launch();
    const page = await browser.newPage();
    try {
      await page.goto(`${browser.origin!.url}/render.html`);
      const pageFilters = await page.evaluate(() => {
        const f = (globalThis as unknown as { fabric: typeof Fabric }).fabric;
        return Object.values(f.filters)
          .map((c) => (c as { type?: unknown }).type)
          .filter((type): type is string =>
            typeof type === "string" && f.classRegistry.has(type)
          );
      });
      const unregistered = await page.evaluate(
        (names) => {
          const f = (globalThis as unknown as { fabric: typeof Fabric })
            .fabric;
          return names.filter((n) => !f.classRegistry.has(n));
        },
        [
          ...OBJECT_TYPES,
          ...GRADIENT_TYPES,
          ...PATTERN_TYPES,
          ...IMAGE_FILTERS,
        ],
      );

      await t.step("every name is in the page's class registry", () => {
        assert.deepEqual(unregistered, []);
      });
      await t.step("every filter of the page is allowed or refused", () => {
        const listed = [...IMAGE_FILTERS, ...Object.keys(REFUSED_FILTERS)];
        assert.deepEqual([...pageFilters].sort(), [...listed].sort());
      });
      await t.step(
        "Convolute's reason holds: the page drops an opaque one",
        async () => {
          const kept = await page.evaluate(async (src) => {
            const f = (globalThis as unknown as { fabric: typeof Fabric })
              .fabric;
            const canvas = new f.StaticCanvas(document.createElement("canvas"));
            await canvas.loadFromJSON({
              objects: [{
                type: "Image",
                src,
                filters: [{
                  type: "Convolute",
                  opaque: true,
                  matrix: [0, -1, 0, -1, 5, -1, 0, -1, 0],
                }],
              }],
            });
            const count = canvas.getObjects().length;
            canvas.dispose();
            return count;
          }, PHOTO);
          assert.equal(kept, 0);
        },
      );
    } finally {
      await page.close();
    }

    await t.step("each allowed filter draws its image", async () => {
      const objects = IMAGE_FILTERS.map((type, i) =>
        image({
          left: 12 + (i % 8) * 52,
          top: 12 + Math.floor(i / 8) * 52,
          filters: [{ type }],
        })
      );
      const png = await render(browser, objects);
      IMAGE_FILTERS.forEach((type, i) => {
        const box = {
          left: 12 + (i % 8) * 52,
          top: 12 + Math.floor(i / 8) * 52,
        };
        assert.ok(
          inked(png, box),
          `the image with the ${type} filter is not drawn`,
        );
      });
    });

    await t.step("each object type, in each spelling, loads", async () => {
      const shape = { width: 20, height: 20, fill: "#123456" };
      const objects = [...OBJECT_TYPES].map((type, i) => {
        const at = {
          left: 4 + (i % 12) * 34,
          top: 4 + Math.floor(i / 12) * 34,
        };
        switch (type.toLowerCase()) {
          case "image":
            return image({ ...at, width: 20, height: 20 });
          case "group":
            return { type, ...at, objects: [{ type: "Rect", ...shape }] };
          case "text":
          case "itext":
          case "i-text":
          case "textbox":
            return { type, ...at, text: "Ab", fontSize: 14, width: 30 };
          case "line":
            return {
              type,
              ...at,
              x1: 0,
              y1: 0,
              x2: 20,
              y2: 20,
              stroke: "#000",
            };
          case "polyline":
          case "polygon":
            return {
              type,
              ...at,
              points: [{ x: 0, y: 0 }, { x: 20, y: 0 }, { x: 10, y: 20 }],
              fill: "#123456",
            };
          case "path":
            return {
              type,
              ...at,
              path: [["M", 0, 0], ["L", 20, 20]],
              stroke: "#000",
            };
          case "circle":
            return { type, ...at, radius: 10, fill: "#123456" };
          default:
            return { type, ...at, ...shape };
        }
      });
      const png = await render(browser, objects);
      assert.ok(png.width > 0);
    });
  },
);

/** The page's PNG of a template of `objects` (one record, no fields). */
async function render(browser: Browser, objects: unknown[]) {
  const parsed = parse(template(objects));
  const assets = new AssetResolver(parsed.baseDir);
  const spec = await pageSpec(parsed, assets);
  const payload = await piecePayload(parsed, { index: 1, values: {} }, assets);
  await using page = await RenderPage.open(browser, spec, { format: "png" });
  return await readPng((await page.render(payload)).image.bytes);
}

/** Whether the 40×40 design-px box at `box` holds anything but white. */
function inked(
  png: { width: number; data: Uint8Array },
  box: { left: number; top: number },
): boolean {
  for (let y = box.top + 4; y < box.top + 36; y++) {
    for (let x = box.left + 4; x < box.left + 36; x++) {
      const i = (y * png.width + x) * 4;
      if (
        png.data[i]! < 240 || png.data[i + 1]! < 240 || png.data[i + 2]! < 240
      ) {
        return true;
      }
    }
  }
  return false;
}

/** A `size`×`size` PNG data URL: red across, green down, blue half. */
function gradientPng(size: number): string {
  const png = new PNG({ width: size, height: size });
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const red = Math.round((255 * x) / size);
      const green = Math.round((255 * y) / size);
      png.data.set([red, green, 128, 255], (y * size + x) * 4);
    }
  }
  return `data:image/png;base64,${
    Buffer.from(PNG.sync.write(png)).toString("base64")
  }`;
}
