import assert from "node:assert/strict";
import { pageGeometry, type Unit } from "../pdf/mod.ts";

const POINTS_PER_MM = 72 / 25.4;

function assertClose(actual: number, expected: number, label: string): void {
  assert.ok(
    Math.abs(actual - expected) < 1e-9,
    `${label}: expected ${expected}, got ${actual}`,
  );
}

Deno.test("pageGeometry() sizes a 6×4 in postcard with 1/8 in bleed at 300 dpi", () => {
  const g = pageGeometry({ width: 6, height: 4, unit: "in" }, { bleed: 0.125 });
  assert.deepEqual(g, {
    dpi: 300,
    trimWidthPt: 432,
    trimHeightPt: 288,
    bleedPt: 9,
    widthPt: 450,
    heightPt: 306,
    pixelWidth: 1875,
    pixelHeight: 1275,
  });
});

Deno.test("pageGeometry() defaults to 300 dpi and no bleed", () => {
  const g = pageGeometry({ width: 6, height: 4, unit: "in" });
  assert.equal(g.dpi, 300);
  assert.equal(g.bleedPt, 0);
  assert.equal(g.widthPt, g.trimWidthPt);
  assert.equal(g.heightPt, g.trimHeightPt);
  assert.deepEqual([g.pixelWidth, g.pixelHeight], [1800, 1200]);
});

Deno.test("pageGeometry() converts millimetres: A6 with 3 mm bleed", () => {
  const g = pageGeometry({ width: 105, height: 148, unit: "mm" }, {
    bleed: 3,
  });
  assertClose(g.trimWidthPt, 105 * POINTS_PER_MM, "trimWidthPt");
  assertClose(g.trimHeightPt, 148 * POINTS_PER_MM, "trimHeightPt");
  assertClose(g.bleedPt, 3 * POINTS_PER_MM, "bleedPt");
  assertClose(g.widthPt, 111 * POINTS_PER_MM, "widthPt");
  assertClose(g.heightPt, 154 * POINTS_PER_MM, "heightPt");
  assertClose(g.widthPt, g.trimWidthPt + 2 * g.bleedPt, "trim + 2 × bleed");
  // 111 mm and 154 mm at 300 dpi: 1311.02 and 1818.90 pixels.
  assert.deepEqual([g.pixelWidth, g.pixelHeight], [1311, 1819]);
  // A6 is 297.64 × 419.53 pt, as a print buyer's spec sheet says.
  assert.equal(g.trimWidthPt.toFixed(2), "297.64");
  assert.equal(g.trimHeightPt.toFixed(2), "419.53");
});

Deno.test("pageGeometry() treats px as pixels at the given dpi", async (t) => {
  await t.step("1536×1024 px at 72 dpi is 1536×1024 pt", () => {
    const g = pageGeometry({ width: 1536, height: 1024, unit: "px" }, {
      dpi: 72,
    });
    assert.deepEqual(
      [g.widthPt, g.heightPt, g.pixelWidth, g.pixelHeight],
      [1536, 1024, 1536, 1024],
    );
    assert.ok(g.widthPt > g.heightPt, "a 1536×1024 design prints landscape");
  });
  await t.step(
    "1800×1200 px with 37.5 px bleed at 300 dpi is a 6×4 in card",
    () => {
      const g = pageGeometry({ width: 1800, height: 1200, unit: "px" }, {
        bleed: 37.5,
        dpi: 300,
      });
      assert.deepEqual(
        [g.trimWidthPt, g.trimHeightPt, g.bleedPt, g.widthPt, g.heightPt],
        [432, 288, 9, 450, 306],
      );
      assert.deepEqual([g.pixelWidth, g.pixelHeight], [1875, 1275]);
    },
  );
});

Deno.test("pageGeometry() rounds the raster to whole pixels", async (t) => {
  const cases: [string, number, Unit, number, number][] = [
    ["5.5 in at 150 dpi", 5.5, "in", 150, 825],
    ["1 in at 37 dpi", 1, "in", 37, 37],
    ["10 mm at 300 dpi (118.11 px)", 10, "mm", 300, 118],
    ["10.3 px", 10.3, "px", 300, 10],
  ];
  for (const [name, width, unit, dpi, expected] of cases) {
    await t.step(name, () => {
      const g = pageGeometry({ width, height: width, unit }, { dpi });
      assert.equal(g.pixelWidth, expected);
      assert.ok(Number.isInteger(g.pixelHeight));
    });
  }
});

Deno.test("pageGeometry() rejects bad input and names the field", async (t) => {
  const inch = { width: 6, height: 4, unit: "in" as Unit };
  const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
    [
      "negative width",
      () => pageGeometry({ ...inch, width: -6 }),
      RangeError,
      /^size\.width must be a positive number, got -6$/,
    ],
    [
      "zero height",
      () => pageGeometry({ ...inch, height: 0 }),
      RangeError,
      /^size\.height must be a positive number, got 0$/,
    ],
    [
      "NaN width",
      () => pageGeometry({ ...inch, width: NaN }),
      RangeError,
      /^size\.width .* got NaN$/,
    ],
    [
      "infinite height",
      () => pageGeometry({ ...inch, height: Infinity }),
      RangeError,
      /^size\.height .* got Infinity$/,
    ],
    [
      "width as a string",
      () => pageGeometry({ ...inch, width: "6" as unknown as number }),
      RangeError,
      /^size\.width .* got "6"$/,
    ],
    [
      "negative bleed",
      () => pageGeometry(inch, { bleed: -0.125 }),
      RangeError,
      /^bleed must be a non-negative number, got -0\.125$/,
    ],
    [
      "NaN bleed",
      () => pageGeometry(inch, { bleed: NaN }),
      RangeError,
      /^bleed .* got NaN$/,
    ],
    [
      "dpi below 36",
      () => pageGeometry(inch, { dpi: 35 }),
      RangeError,
      /^dpi must be a number from 36 to 1200, got 35$/,
    ],
    [
      "dpi above 1200",
      () => pageGeometry(inch, { dpi: 2400 }),
      RangeError,
      /^dpi .* got 2400$/,
    ],
    [
      "dpi Infinity",
      () => pageGeometry(inch, { dpi: Infinity }),
      RangeError,
      /^dpi .* got Infinity$/,
    ],
    [
      "unknown unit",
      () => pageGeometry({ ...inch, unit: "cm" as Unit }),
      TypeError,
      /^size\.unit must be one of "in", "mm", "px", got "cm"$/,
    ],
    [
      "missing size",
      () => pageGeometry(undefined as unknown as typeof inch),
      TypeError,
      /^size must be an object, got undefined$/,
    ],
  ];
  for (const [name, fn, type, message] of cases) {
    await t.step(name, () => {
      assert.throws(fn, (error: unknown) => {
        assert.ok(error instanceof type, `expected ${type.name}: ${error}`);
        assert.match((error as Error).message, message);
        return true;
      });
    });
  }
  await t.step("the dpi bounds 36 and 1200 are accepted", () => {
    assert.equal(pageGeometry(inch, { dpi: 36 }).pixelWidth, 216);
    assert.equal(pageGeometry(inch, { dpi: 1200 }).pixelWidth, 7200);
  });
});
