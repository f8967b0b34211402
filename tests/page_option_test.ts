import assert from "node:assert/strict";
import {
  designArea,
  parsePageOption,
  parsePaperSize,
} from "../template/page_option.ts";
import { parseTemplate } from "../template/parse.ts";

const flag = (o: string) => `--${o}`;
const bare = (objects: unknown[], extra: Record<string, unknown> = {}) => ({
  version: "7.4.0",
  objects,
  ...extra,
});
const parse = (
  doc: unknown,
  page?: Parameters<typeof parseTemplate>[1]["page"],
) => parseTemplate(doc, { source: "design.json", baseDir: ".", page });

Deno.test("a bare toJSON() with no size is refused saying which flag to add", () => {
  assert.throws(() => parse(bare([{ type: "Rect", width: 10, height: 10 }])), {
    name: "TemplateError",
    message:
      /design\.json: a bare Fabric document \(as canvas\.toJSON\(\) writes it\) says nothing of its page.*--page 6x4in \(with --dpi 300 and --bleed 0\.125in as needed\).*--size 1800x1200/,
  });
});

Deno.test("the page of a bare document: flags, workspace, clip path, its own size", async (t) => {
  const text = { type: "Textbox", text: "Hi {{name}}", width: 100 };
  await t.step("--size: design units from the top-left, 1 unit a point", () => {
    const tpl = parse(bare([text]), { size: { width: 1800, height: 1200 } });
    assert.deepEqual(
      [
        tpl.geometry.widthPt,
        tpl.geometry.heightPt,
        tpl.designLeft,
        tpl.designTop,
      ],
      [1800, 1200, 0, 0],
    );
  });
  await t.step(
    "--page 6x4in --dpi 300 --bleed 0.125in over --size 1800x1200",
    () => {
      const tpl = parse(bare([text]), {
        page: { width: 6, height: 4, unit: "in" },
        dpi: 300,
        bleedIn: 0.125,
        size: { width: 1800, height: 1200 },
      });
      const g = tpl.geometry;
      assert.deepEqual(
        [g.widthPt, g.heightPt, g.trimWidthPt, g.pixelWidth],
        [450, 306, 432, 1875],
      );
      // 1800 design units across 6 in: 300 a inch, so the bleed is 37.5.
      assert.deepEqual(
        [tpl.designLeft, tpl.designTop, tpl.designWidth, tpl.designHeight],
        [-37.5, -37.5, 1875, 1275],
      );
    },
  );
  await t.step(
    "a workspace rectangle, centred (Fabric 7's default origin)",
    () => {
      const tpl = parse(bare([
        {
          type: "Rect",
          id: "workspace",
          left: 200,
          top: 100,
          width: 400,
          height: 200,
        },
        text,
      ]));
      assert.deepEqual(
        [tpl.designLeft, tpl.designTop, tpl.designWidth, tpl.designHeight],
        [0, 0, 400, 200],
      );
    },
  );
  await t.step("the document's clipPath", () => {
    const tpl = parse(bare([text], {
      clipPath: {
        type: "Rect",
        originX: "left",
        originY: "top",
        left: -50,
        top: 20,
        width: 300,
        height: 200,
      },
    }));
    assert.deepEqual([tpl.designLeft, tpl.designTop], [-50, 20]);
  });
  await t.step("the workspace wins over the editor's canvas size", () => {
    const tpl = parse(bare([
      {
        type: "Rect",
        name: "workspace",
        originX: "left",
        originY: "top",
        left: -115.5,
        top: -296.5,
        width: 600,
        height: 400,
      },
    ], { width: 1920, height: 1080 }));
    assert.deepEqual(
      [tpl.designLeft, tpl.designTop, tpl.geometry.widthPt],
      [-115.5, -296.5, 600],
    );
  });
  await t.step("a rotated workspace is refused", () => {
    assert.throws(
      () =>
        parse(
          bare([{
            type: "Rect",
            id: "workspace",
            width: 10,
            height: 10,
            angle: 90,
          }]),
        ),
      /objects\[0\] \(the workspace rectangle\) is rotated 90°/,
    );
  });
  await t.step(
    "a page whose shape is not the design's is refused naming both",
    () => {
      assert.throws(
        () =>
          parse(bare([text]), {
            page: { width: 6, height: 4, unit: "in" },
            size: { width: 1000, height: 1000 },
          }),
        /--size is 1000×1000 but the page is 6×4 in: the aspect ratios differ/,
      );
    },
  );
  await t.step("a wrapped template with its own size refuses the flags", () => {
    assert.throws(
      () =>
        parse({
          name: "w",
          size: { width: 6, height: 4, unit: "in" },
          canvas: { objects: [] },
        }, { dpi: 300 }),
      /sets its own "size"; a page size \(--page, --size, --dpi, --bleed\) is for a bare Fabric document/,
    );
  });
});

Deno.test("page options from the user's words, each error naming the option", () => {
  assert.deepEqual(parsePaperSize("6x4in"), {
    width: 6,
    height: 4,
    unit: "in",
  });
  assert.deepEqual(parsePaperSize("A6"), {
    width: 105,
    height: 148,
    unit: "mm",
  });
  assert.deepEqual(parsePaperSize("152.4 × 101.6 mm"), {
    width: 152.4,
    height: 101.6,
    unit: "mm",
  });
  assert.equal(parsePaperSize("6x4"), undefined);
  assert.deepEqual(
    parsePageOption({
      page: "6x4in",
      dpi: "300",
      bleed: "3mm",
      size: "1800x1200",
    }, flag),
    {
      page: { width: 6, height: 4, unit: "in" },
      dpi: 300,
      bleedIn: 3 / 25.4,
      size: { width: 1800, height: 1200 },
    },
  );
  assert.equal(parsePageOption({}, flag), undefined);
  for (
    const [given, message] of [
      [
        { page: "6 by 4" },
        /^--page must be a size like 6x4in, 152x102mm or a name \(A3, A4.*got "6 by 4"/,
      ],
      [{ dpi: "9000" }, /^--dpi must be a number from 36 to 1200, got "9000"/],
      [{ bleed: "0.125" }, /^--bleed must be a length like 0\.125in or 3mm/],
      [{ size: "big" }, /^--size must be the design's width and height/],
    ] as const
  ) {
    assert.throws(() => parsePageOption(given, flag), {
      name: "RangeError",
      message,
    });
  }
  assert.throws(() => parsePageOption({ dpi: "x" }, (o) => o), {
    message: /^dpi must be/,
  });
});

Deno.test("designArea() finds no page in a design without one", () => {
  assert.equal(
    designArea({ objects: [{ type: "Rect", id: "box" }] }),
    undefined,
  );
});

Deno.test("the library tells the editor where a bare document's workspace is", async () => {
  const { JobStore } = await import("../batch/store.ts");
  const { tempDir } = await import("./_helpers.ts");
  await using dir = await tempDir();
  await using store = await JobStore.open(dir.path);
  const info = await store.addTemplate(bare([
    {
      type: "Rect",
      id: "workspace",
      originX: "left",
      originY: "top",
      left: -115.5,
      top: -296.5,
      width: 600,
      height: 400,
    },
  ]));
  assert.deepEqual(info.origin, { x: -115.5, y: -296.5 });
  assert.deepEqual(info.size, { width: 8.33, height: 5.56, unit: "in" });
});
