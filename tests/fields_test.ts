import assert from "node:assert/strict";
import {
  fieldsIn,
  hasPlaceholder,
  isTruthy,
  substitute,
} from "../template/fields.ts";

/**
 * This Deno (2.9) leaves the ops and resources sanitizers off unless asked:
 * turn them on, as everywhere else in the suite.
 */
const SANITIZED = { sanitizeOps: true, sanitizeResources: true };

Deno.test(
  "fieldsIn() lists each field once, in order of first use, with spaces trimmed",
  SANITIZED,
  async (t) => {
    const cases: [string, string[]][] = [
      ["Hi {{firstName}} {{ lastName }}, {{firstName}}!", [
        "firstName",
        "lastName",
      ]],
      ["{{street}}\n{{city}} {{state}} {{zip}}", [
        "street",
        "city",
        "state",
        "zip",
      ]],
      ["{{a}}{{b}}{{a}}", ["a", "b"]],
      ["{{ first name }} and {{Straße}} and {{名字}}", [
        "first name",
        "Straße",
        "名字",
      ]],
      ["no placeholders here", []],
      ["{ {single} } and {{unclosed", []],
      ["", []],
      ["empty {{}} and {{   }}", [""]],
    ];
    for (const [text, expected] of cases) {
      await t.step(JSON.stringify(text), () => {
        assert.deepEqual(fieldsIn(text), expected);
      });
    }
  },
);

Deno.test(
  "hasPlaceholder() tells text with a {{field}} from text without one",
  SANITIZED,
  async (t) => {
    const cases: [string, boolean][] = [
      ["{{photo}}", true],
      ["photos/{{id}}.jpg", true],
      ["{{ spaced }}", true],
      ["hero.jpg", false],
      ["{single}", false],
      ["{{unclosed", false],
      ["", false],
    ];
    for (const [text, expected] of cases) {
      await t.step(JSON.stringify(text), () => {
        assert.equal(hasPlaceholder(text), expected);
      });
    }
  },
);

Deno.test(
  "hasPlaceholder() gives the same answer when called again (no stale regex state)",
  SANITIZED,
  () => {
    const answers = [
      hasPlaceholder("x {{a}}"),
      hasPlaceholder("x {{a}}"),
      hasPlaceholder("{{a}}"),
      hasPlaceholder("plain"),
      hasPlaceholder("{{a}}"),
    ];
    fieldsIn("{{a}} {{b}}");
    substitute("{{a}}", { a: "1" });
    answers.push(hasPlaceholder("{{a}}"));
    assert.deepEqual(answers, [true, true, true, false, true, true]);
  },
);

Deno.test(
  "substitute() fills every placeholder, spaced or repeated, from the record",
  SANITIZED,
  () => {
    const values = {
      firstName: "Zoë",
      lastName: "Ångström",
      city: "Malmö",
      zip: "211 34",
    };
    assert.equal(
      substitute("{{firstName}} {{ lastName }}\n{{city}} {{zip}}", values),
      "Zoë Ångström\nMalmö 211 34",
    );
    assert.equal(
      substitute("{{firstName}}, {{firstName}}!", values),
      "Zoë, Zoë!",
    );
    assert.equal(substitute("no fields", values), "no fields");
  },
);

Deno.test(
  "substitute() turns a field with no value into the empty string",
  SANITIZED,
  () => {
    assert.equal(substitute("for {{company}} team", {}), "for  team");
    assert.equal(substitute("[{{company}}]", { company: "" }), "[]");
  },
);

Deno.test(
  "substitute() turns fields named like Object.prototype members into the empty string when absent",
  SANITIZED,
  async (t) => {
    for (const name of ["toString", "constructor", "__proto__", "valueOf"]) {
      await t.step(name, () => {
        assert.equal(substitute(`[{{${name}}}]`, { id: "7" }), "[]");
      });
    }
  },
);

Deno.test(
  "substitute() inserts values verbatim: no $-patterns, no second pass over placeholders",
  SANITIZED,
  () => {
    const values = {
      a: "$& $1 $$ $<x> $`",
      b: "{{a}}",
      c: "=cmd|' /C calc'!A0",
      d: "<b>&amp;</b>",
    };
    assert.equal(
      substitute("{{a}}|{{b}}|{{c}}|{{d}}", values),
      "$& $1 $$ $<x> $`|{{a}}|=cmd|' /C calc'!A0|<b>&amp;</b>",
    );
  },
);

Deno.test(
  "isTruthy() treats empty, 0, false, no and off (any case, padded) as off and the rest as on",
  SANITIZED,
  async (t) => {
    const cases: [string | undefined, boolean][] = [
      [undefined, false],
      ["", false],
      ["   ", false],
      ["0", false],
      ["false", false],
      [" FALSE ", false],
      ["No", false],
      ["OFF", false],
      ["1", true],
      ["yes", true],
      ["true", true],
      ["Acme Inc", true],
      ["portrait-mb.jpg", true],
      ["00", true],
      ["nope", true],
    ];
    for (const [value, expected] of cases) {
      await t.step(JSON.stringify(value) ?? "undefined", () => {
        assert.equal(isTruthy(value), expected);
      });
    }
  },
);

Deno.test("hasPlaceholder() leaves no state behind for the next fieldsIn() or substitute()", () => {
  assert.equal(hasPlaceholder("{{photo}}"), true);
  assert.deepEqual(fieldsIn("{{photo}}"), ["photo"]);
  assert.equal(hasPlaceholder("x {{a}}"), true);
  assert.equal(substitute("{{a}}", { a: "1" }), "1");
  assert.deepEqual(fieldsIn("{{a}}"), ["a"]);
});

Deno.test("fieldsIn() and substitute() stay fast on an unclosed {{ followed by a long run of spaces", () => {
  const text = `{{${" ".repeat(200_000)}x`;
  const started = performance.now();
  assert.deepEqual(fieldsIn(text), []);
  assert.equal(hasPlaceholder(text), false);
  assert.equal(substitute(text, {}), text);
  assert.deepEqual(fieldsIn("{{  name  }}"), ["name"]);
  assert.equal(substitute("{{ name }}!", { name: "Ann" }), "Ann!");
  assert.ok(performance.now() - started < 500, "linear, not catastrophic");
});
