import assert from "node:assert/strict";
import { InputError, TemplateError } from "../common/errors.ts";
import {
  FORMAT_DEFAULTS,
  isCssColour,
  MAX_QUIET_ZONE,
  type ObjectFormat,
  objectFormat,
} from "../template/format.ts";
import { parseTemplate } from "../template/parse.ts";

const SANITIZED = { sanitizeOps: true, sanitizeResources: true };
const SOURCE = "template.json";

/** A bare Fabric document holding `objects`, parsed as `template.json`. */
function parse(objects: unknown[]) {
  return parseTemplate(
    { width: 600, height: 400, objects },
    { source: SOURCE, baseDir: "." },
  );
}

/** The format of `object` as the object at `objects[3]`. */
function format(object: Record<string, unknown>): ObjectFormat {
  return objectFormat(object, {
    source: SOURCE,
    path: "objects[3]",
    type: String(object.type),
  });
}

const text = (extra: Record<string, unknown>) => ({
  type: "Textbox",
  text: "Dear {{firstName}}",
  fontSize: 40,
  ...extra,
});
const image = (extra: Record<string, unknown>) => ({
  type: "Image",
  src: "{{photo}}",
  ...extra,
});
const qr = (extra: Record<string, unknown>) => ({
  type: "Rect",
  width: 100,
  height: 100,
  qr: { value: "https://x.example/r/{{id}}", ...extra },
});

Deno.test(
  "objectFormat() takes every valid extension value, defaults filled in",
  SANITIZED,
  async (t) => {
    const cases: [string, Record<string, unknown>, ObjectFormat][] = [
      ["plain text", text({}), {
        style: { kind: "text", minFontSize: FORMAT_DEFAULTS.minFontSize },
      }],
      ["text fit shrink", text({ fit: "shrink" }), {
        style: { kind: "text", fit: "shrink", minFontSize: 6 },
      }],
      [
        "text fit shrink, minFontSize",
        text({ fit: "shrink", minFontSize: 9 }),
        {
          style: { kind: "text", fit: "shrink", minFontSize: 9 },
        },
      ],
      [
        "minFontSize equal to fontSize",
        text({ fit: "shrink", minFontSize: 40 }),
        {
          style: { kind: "text", fit: "shrink", minFontSize: 40 },
        },
      ],
      ["minFontSize without shrink", text({ minFontSize: 80 }), {
        style: { kind: "text", minFontSize: 80 },
      }],
      ["IText fit shrink", { ...text({ fit: "shrink" }), type: "i-text" }, {
        style: { kind: "text", fit: "shrink", minFontSize: 6 },
      }],
      ["image default fit", image({}), {
        style: { kind: "image", fit: "cover" },
      }],
      ...(["cover", "contain", "fill"] as const).map((
        fit,
      ): [string, Record<string, unknown>, ObjectFormat] => [
        `image fit ${fit}`,
        image({ fit }),
        { style: { kind: "image", fit } },
      ]),
      ["qr with defaults", qr({}), {
        style: {
          kind: "qr",
          quietZone: 4,
          color: "#000000",
          background: "#ffffff",
        },
        qr: { value: "https://x.example/r/{{id}}", ecc: "M" },
      }],
      [
        "qr with every key",
        qr({
          ecc: "h",
          quietZone: 0,
          color: "rgb(10 20 30 / 50%)",
          background: "Transparent",
        }),
        {
          style: {
            kind: "qr",
            quietZone: 0,
            color: "rgb(10 20 30 / 50%)",
            background: "Transparent",
          },
          qr: { value: "https://x.example/r/{{id}}", ecc: "H" },
        },
      ],
      ["qr widest quiet zone", qr({ quietZone: MAX_QUIET_ZONE }), {
        style: {
          kind: "qr",
          quietZone: MAX_QUIET_ZONE,
          color: "#000000",
          background: "#ffffff",
        },
        qr: { value: "https://x.example/r/{{id}}", ecc: "M" },
      }],
      ["qr on a text wins over the text", { ...text({}), qr: { value: "x" } }, {
        style: {
          kind: "qr",
          quietZone: 4,
          color: "#000000",
          background: "#ffffff",
        },
        qr: { value: "x", ecc: "M" },
      }],
      ["visibleIf, trimmed", { type: "Rect", visibleIf: " vip " }, {
        style: { kind: "other" },
        visibleIf: "vip",
      }],
      ["a shape without extensions", { type: "Circle" }, {
        style: { kind: "other" },
      }],
    ];
    for (const [name, object, expected] of cases) {
      await t.step(name, () => assert.deepEqual(format(object), expected));
    }
  },
);

Deno.test(
  "objectFormat() throws a TemplateError naming the template, the object and the property for each bad value",
  SANITIZED,
  async (t) => {
    // [name, object, property, what the message says after the property]
    const cases: [string, Record<string, unknown>, string, string][] = [
      [
        "misspelt text fit",
        text({ fit: "shrnk" }),
        "fit",
        'must be "shrink", "grow" or "fit", got "shrnk"',
      ],
      [
        "image fit on a text",
        text({ fit: "cover" }),
        "fit",
        'must be "shrink", "grow" or "fit", got "cover"',
      ],
      [
        "text fit of the wrong type",
        text({ fit: true }),
        "fit",
        'must be "shrink", "grow" or "fit", got true',
      ],
      [
        "null text fit",
        text({ fit: null }),
        "fit",
        'must be "shrink", "grow" or "fit", got null',
      ],
      [
        "misspelt image fit",
        image({ fit: "strech" }),
        "fit",
        'must be "cover", "contain" or "fill", got "strech"',
      ],
      [
        "shrink on an image",
        image({ fit: "shrink" }),
        "fit",
        'must be "cover", "contain" or "fill", got "shrink"',
      ],
      [
        "fit on a shape",
        { type: "Rect", fit: "cover" },
        "fit",
        "applies to text and images only",
      ],
      [
        "minFontSize a string",
        text({ minFontSize: "12" }),
        "minFontSize",
        'must be a positive number, got "12"',
      ],
      [
        "minFontSize zero",
        text({ minFontSize: 0 }),
        "minFontSize",
        "must be a positive number, got 0",
      ],
      [
        "minFontSize negative",
        text({ minFontSize: -4 }),
        "minFontSize",
        "must be a positive number, got -4",
      ],
      [
        "minFontSize not finite",
        text({ minFontSize: Infinity }),
        "minFontSize",
        "must be a positive number, got Infinity",
      ],
      [
        "minFontSize above the font size",
        text({ fit: "shrink", minFontSize: 41 }),
        "minFontSize",
        "must be at most the fontSize 40 to shrink to, got 41",
      ],
      [
        "minFontSize on an image",
        image({ minFontSize: 8 }),
        "minFontSize",
        "applies to text only",
      ],
      [
        "visibleIf a number",
        { type: "Rect", visibleIf: 1 },
        "visibleIf",
        "must be a field name, got 1",
      ],
      [
        "visibleIf blank",
        text({ visibleIf: "  " }),
        "visibleIf",
        'must be a field name, got "  "',
      ],
      [
        "qr a string",
        { type: "Rect", qr: "https://x.example" },
        "qr",
        'must be an object such as { "value": "https://x.example/{{id}}" }, got "https://x.example"',
      ],
      [
        "qr an array",
        { type: "Rect", qr: ["x"] },
        "qr",
        "must be an object such as",
      ],
      [
        "qr with a misspelt key",
        qr({ colour: "red" }),
        "qr",
        'has an unknown key "colour"; known: value, ecc, quietZone, color, background',
      ],
      [
        "qr with a __proto__ key",
        { type: "Rect", qr: JSON.parse('{"value":"x","__proto__":{}}') },
        "qr",
        'has an unknown key "__proto__"',
      ],
      [
        "qr without value",
        { type: "Rect", qr: { ecc: "M" } },
        "qr.value",
        "must be a non-empty string, got undefined",
      ],
      [
        "qr empty value",
        qr({ value: "" }),
        "qr.value",
        'must be a non-empty string, got ""',
      ],
      [
        "qr value a number",
        qr({ value: 42 }),
        "qr.value",
        "must be a non-empty string, got 42",
      ],
      [
        "qr ecc unknown",
        qr({ ecc: "X" }),
        "qr.ecc",
        'must be "L", "M", "Q" or "H", got "X"',
      ],
      [
        "qr ecc a number",
        qr({ ecc: 1 }),
        "qr.ecc",
        'must be "L", "M", "Q" or "H", got 1',
      ],
      [
        "qr quietZone negative",
        qr({ quietZone: -1 }),
        "qr.quietZone",
        `must be a whole number of modules from 0 to ${MAX_QUIET_ZONE}, got -1`,
      ],
      [
        "qr quietZone too wide",
        qr({ quietZone: MAX_QUIET_ZONE + 1 }),
        "qr.quietZone",
        `got ${MAX_QUIET_ZONE + 1}`,
      ],
      [
        "qr quietZone fractional",
        qr({ quietZone: 2.5 }),
        "qr.quietZone",
        "got 2.5",
      ],
      [
        "qr quietZone a string",
        qr({ quietZone: "4" }),
        "qr.quietZone",
        'got "4"',
      ],
      [
        "qr color not a colour",
        qr({ color: "blurple" }),
        "qr.color",
        'must be a CSS colour (#rrggbb, rgb(…), hsl(…) or a colour name), got "blurple"',
      ],
      ["qr color bad hex", qr({ color: "#12345" }), "qr.color", 'got "#12345"'],
      ["qr color a number", qr({ color: 0 }), "qr.color", "got 0"],
      [
        "qr background not a colour",
        qr({ background: "rgb(0,0)" }),
        "qr.background",
        'got "rgb(0,0)"',
      ],
      [
        "qr background null",
        qr({ background: null }),
        "qr.background",
        "got null",
      ],
    ];
    for (const [name, object, property, problem] of cases) {
      await t.step(name, () => {
        assert.throws(() => format(object), (error: unknown) => {
          assert.ok(error instanceof TemplateError, String(error));
          assert.ok(error instanceof InputError);
          assert.equal(error.name, "TemplateError");
          const prefix = `Cannot read ${SOURCE}: objects[3] (${
            String(object.type)
          }) "${property}" `;
          assert.ok(
            error.message.startsWith(prefix) &&
              error.message.includes(problem),
            `${error.message}\nshould start with ${prefix}and say ${problem}`,
          );
          assert.deepEqual(error.location, {
            source: SOURCE,
            field: `objects[3].${property}`,
          });
          return true;
        });
      });
    }
  },
);

Deno.test(
  "parseTemplate() rejects a misspelt extension with the message of objectFormat()",
  SANITIZED,
  () => {
    assert.throws(
      () =>
        parse([{ type: "Rect" }, text({}), image({}), text({ fit: "shrnk" })]),
      {
        name: "TemplateError",
        message:
          `Cannot read ${SOURCE}: objects[3] (Textbox) "fit" must be "shrink", "grow" or "fit", got "shrnk"`,
      },
    );
    assert.throws(
      () => parse([{ type: "Group", objects: [qr({ color: "nope" })] }]),
      {
        name: "TemplateError",
        message: new RegExp(
          `^Cannot read ${SOURCE}: objects\\[0\\]\\.objects\\[0\\] \\(Rect\\) "qr\\.color" must be a CSS colour`,
        ),
      },
    );
  },
);

Deno.test(
  "parseTemplate() keeps each variable object's validated style for the page",
  SANITIZED,
  () => {
    const template = parse([
      text({ fit: "shrink", minFontSize: 12 }),
      image({ fit: "contain" }),
      qr({ quietZone: 2, color: "navy" }),
      { type: "Rect", visibleIf: "vip" },
      { type: "Textbox", text: "fixed", fit: "shrink" },
    ]);
    assert.deepEqual(
      template.variables.map((v) => [v.id, v.kind, v.style]),
      [
        ["v0", "text", { kind: "text", fit: "shrink", minFontSize: 12 }],
        ["v1", "image", { kind: "image", fit: "contain" }],
        ["v2", "qr", {
          kind: "qr",
          quietZone: 2,
          color: "navy",
          background: "#ffffff",
        }],
        ["v3", "other", { kind: "other" }],
      ],
    );
  },
);

Deno.test("isCssColour() takes what a canvas takes, nothing else", async (t) => {
  const colours = [
    "#fff",
    "#ffff",
    "#A0b1C2",
    "#a0b1c2d3",
    "red",
    "RebeccaPurple",
    "transparent",
    "rgb(0,0,0)",
    "rgba(0, 0, 0, 0.5)",
    "rgb(0% 50% 100% / 20%)",
    "hsl(120deg 50% 50%)",
    "hsla(120, 50%, 50%, .3)",
  ];
  const notColours = [
    "",
    "#ff",
    "#fffff",
    "#ggg",
    "blurple",
    " red",
    "rgb(0,0)",
    "rgb(0%,0,0)",
    "rgb(1.,0,0)",
    "hsl(0,0,0)",
    "rgb(0 0 0 / )",
    "url(x.png)",
  ];
  for (const colour of colours) {
    await t.step(colour, () => assert.ok(isCssColour(colour)));
  }
  for (const colour of notColours) {
    await t.step(`not ${JSON.stringify(colour)}`, () => {
      assert.equal(isCssColour(colour), false);
    });
  }
});
