/**
 * What Fabric editors write, drawn as Fabric draws it: each case is compared
 * with plain Fabric rendering the same JSON with its own settings in the same
 * tab (raster), and the vector piece with the raster piece, within the
 * fidelity bounds of vector_render_test.ts.
 */
import assert from "node:assert/strict";
import { Browser } from "../render/browser.ts";
import { imageOf, pdfInfo, readPng, run, tempDir } from "./_helpers.ts";
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
import { AssetResolver } from "../template/assets.ts";

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

/** A small logo as Fabric editors write it: an SVG data: URL, percent-encoded. */
const LOGO_SVG =
  `<svg xmlns="http://www.w3.org/2000/svg" width="60" height="30" viewBox="0 0 60 30">` +
  `<rect x="1" y="1" width="58" height="28" rx="4" fill="#1d3557"/>` +
  `<circle cx="15" cy="15" r="9" fill="#e63946"/>` +
  `<path d="M30 8 L52 8 L41 24 Z" fill="#f1faee"/></svg>`;

const logo = (svg: string, extra: Record<string, unknown> = {}) => ({
  type: "Image",
  ...corner,
  left: 100,
  top: 100,
  width: 60,
  height: 30,
  // Scaled up ten times: a raster of the 60×30 picture would print soft.
  scaleX: 10,
  scaleY: 10,
  src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`,
  ...extra,
});

Deno.test("an SVG logo prints sharp in raster and as vector paths in vector mode", async () => {
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  const drawn = await drawnAsFabric(browser, [logo(LOGO_SVG)]);
  assertClose("SVG logo, raster against plain Fabric", drawn.raster);
  assertClose("SVG logo, vector against raster", drawn.vector);
  // Sharp: across the logo's left edge (x = 110 at 1 design unit a pixel)
  // the raster goes from white to the fill within 2 px, not over the 10 px
  // of a 60×30 picture scaled up.
  const { width, data } = drawn.pixels;
  const row = 250;
  const at = (x: number) => data[(row * width + x) * 4]!;
  assert.ok(at(107) > 240 && at(112) < 60, `edge ${at(107)} → ${at(112)}`);
  // The vector piece draws it as paths: no image in the PDF.
  const { spec, payloads } = await smallTemplate([logo(LOGO_SVG)]);
  await using page = await openPage(browser, spec);
  const [piece] = await vectorPieces(page, payloads);
  const file = `${dir.path}/logo.pdf`;
  await Deno.writeFile(file, piece!.pdf);
  const images = (await run("pdfimages", ["-list", file])).split("\n")
    .slice(2).filter((l) => l.trim());
  assert.deepEqual(images, []);
});

Deno.test("an SVG image that refers outside itself is refused naming the object and the reference; a script in one does nothing", async (t) => {
  const cases: [string, string, RegExp][] = [
    [
      "an external image",
      LOGO_SVG.replace(
        "</svg>",
        `<image href="https://tracker.example/p.png" width="5" height="5"/></svg>`,
      ),
      /canvas\.objects\[0\]\.src: the SVG refers to "https:\/\/tracker\.example\/p\.png": SVG images must be self-contained/,
    ],
    [
      "a CSS @import",
      LOGO_SVG.replace(
        "</svg>",
        `<style>@import "https://fonts.example/a.css";</style></svg>`,
      ),
      /the SVG's CSS has an @import/,
    ],
    [
      "a CSS url()",
      LOGO_SVG.replace(
        `fill="#e63946"`,
        `style="fill:url(https://x.example/g)"`,
      ),
      /the SVG's CSS refers to "https:\/\/x\.example\/g"/,
    ],
    [
      "an external entity",
      `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>` +
      LOGO_SVG,
      /the SVG declares entities/,
    ],
    [
      "no size",
      `<svg xmlns="http://www.w3.org/2000/svg"><rect width="5" height="5"/></svg>`,
      /the SVG has no size/,
    ],
  ];
  for (const [name, svg, message] of cases) {
    await t.step(name, async () => {
      await assert.rejects(smallTemplate([logo(svg)]), { message });
    });
  }
  await t.step("a script: the logo prints exactly as without it", async () => {
    await using browser = await Browser.launch();
    const withScript = LOGO_SVG.replace(
      "</svg>",
      `<script>document.querySelector("rect").setAttribute("fill","#ff0000")</script></svg>`,
    );
    const render = async (svg: string) => {
      const { spec, payloads } = await smallTemplate([logo(svg)]);
      await using page = await openPage(browser, spec);
      return imageOf(await page.render(payloads[0]!)).bytes;
    };
    const a = await readPng(await render(LOGO_SVG));
    const b = await readPng(await render(withScript));
    assert.equal(imageDifference(a, b).piece, 0);
  });
});

Deno.test("the render page itself loads nothing an SVG image refers to", async () => {
  // Defence in depth, past the template check: the page draws an SVG with
  // an external image, an @import and a script, and no request reaches a
  // server the test listens on.
  let hits = 0;
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => {
      hits++;
      return new Response("x");
    },
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  const svg = LOGO_SVG.replace(
    "</svg>",
    `<image href="${origin}/p.png" width="5" height="5"/>` +
      `<style>@import "${origin}/a.css";</style>` +
      `<script>fetch("${origin}/s")</script></svg>`,
  );
  await using browser = await Browser.launch();
  const { spec } = await smallTemplate([logo(LOGO_SVG)]);
  await using page = await openPage(browser, spec);
  const drawn = await page.page.evaluate(async (src) => {
    // As Fabric loads an image: an <img> element.
    const image = new Image();
    image.src = src;
    await image.decode();
    const c = document.createElement("canvas");
    c.width = 600;
    c.height = 300;
    c.getContext("2d")!.drawImage(image, 0, 0, 600, 300);
    return image.naturalWidth;
  }, `data:image/svg+xml;base64,${btoa(svg)}`);
  assert.equal(drawn, 60);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(hits, 0);
});

Deno.test("an SVG file in the template's folder is an image too; a text file named .svg is not", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/logo.svg`,
    `<?xml version="1.0" encoding="UTF-8"?>\n<!-- from an editor -->\n${LOGO_SVG}`,
  );
  await Deno.writeTextFile(`${dir.path}/notes.svg`, "not a picture");
  const assets = new AssetResolver(dir.path);
  const url = await assets.imageDataUrl("logo.svg", "canvas.objects[0].src");
  assert.match(url, /^data:image\/svg\+xml;base64,/);
  await assert.rejects(
    assets.imageDataUrl("notes.svg", "canvas.objects[1].src"),
    {
      message:
        /canvas\.objects\[1\]\.src: "notes\.svg" is not a PNG, JPEG, GIF, WebP or SVG image/,
    },
  );
});

/**
 * A design as an open-source Fabric editor saves it: `canvas.toJSON()` (no
 * width or height), a white workspace rectangle (the page) wherever the
 * editor left it, and objects placed over it in the same space.
 */
function editorDesign(left: number, top: number) {
  const at = (x: number, y: number) => ({ left: left + x, top: top + y });
  return {
    version: "7.4.0",
    objects: [
      {
        type: "Rect",
        id: "workspace",
        ...corner,
        ...at(0, 0),
        width: 600,
        height: 400,
        fill: "#ffffff",
        strokeWidth: 0,
      },
      {
        type: "Rect",
        ...corner,
        ...at(0, 0),
        width: 600,
        height: 90,
        fill: "#1d3557",
        strokeWidth: 0,
      },
      {
        type: "Textbox",
        ...corner,
        ...at(40, 140),
        width: 520,
        text: "Hello {{name}}",
        fontFamily: "Noto Sans",
        fontSize: 48,
        fill: "#e63946",
      },
      {
        type: "Circle",
        ...corner,
        ...at(480, 280),
        radius: 50,
        fill: "#2a9d8f",
        strokeWidth: 0,
      },
    ],
  };
}

Deno.test("a bare toJSON() with its workspace at −115.5, −296.5 prints the workspace as the page, raster and vector", async (t) => {
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  const { parseTemplate } = await import("../template/parse.ts");
  const { pageSpec } = await import("../template/page_spec.ts");
  const { piecePayload } = await import("../template/payload.ts");
  for (
    const [name, page, size] of [
      ["its own size (600×400 design units = 600×400 pt)", undefined, [
        600,
        400,
      ]],
      ["--page 6x4in --dpi 150 --bleed 0.125in", {
        page: { width: 6, height: 4, unit: "in" as const },
        dpi: 150,
        bleedIn: 0.125,
      }, [450, 306]],
    ] as const
  ) {
    await t.step(name, async () => {
      const template = parseTemplate(editorDesign(-115.5, -296.5), {
        source: "editor.json",
        baseDir: "examples/postcard",
        page,
      });
      const assets = new AssetResolver(template.baseDir);
      const spec = await pageSpec(template, assets);
      const payload = await piecePayload(template, {
        index: 1,
        values: { name: "Zoë" },
      }, assets);
      await using tab = await openPage(browser, spec);
      const raster = await readPng(imageOf(await tab.render(payload)).bytes);
      // The workspace's top band is at the top of the trim, not cut off.
      const bleedPx = Math.round(
        (page?.bleedIn ?? 0) * spec.print.geometry.dpi,
      );
      const px = (x: number, y: number) =>
        data(raster, bleedPx + x * spec.zoom, bleedPx + y * spec.zoom);
      assert.deepEqual(px(10, 10), [0x1d, 0x35, 0x57], "the band");
      assert.deepEqual(px(300, 120), [255, 255, 255], "the workspace");
      assertClose(
        `${name}, raster against plain Fabric`,
        imageDifference(raster, await plainFabric(tab, spec, { name: "Zoë" })),
      );
      const [piece] = await vectorPieces(tab, [payload]);
      const file = `${dir.path}/piece.pdf`;
      await Deno.writeFile(file, piece!.pdf);
      const info = await pdfInfo(file);
      assert.deepEqual([info.width, info.height], size);
      assertClose(
        `${name}, vector against raster`,
        await pdfDifference(
          piece!.pdf,
          await rasterPdf(tab, spec, payload),
          dir.path,
        ),
      );
      assert.match(await run("pdftotext", [file, "-"]), /Hello Zoë/);
    });
  }
});

/** The RGB of pixel (x, y). */
function data(
  image: { width: number; data: Uint8Array },
  x: number,
  y: number,
) {
  const i = (Math.round(y) * image.width + Math.round(x)) * 4;
  return [image.data[i], image.data[i + 1], image.data[i + 2]];
}
