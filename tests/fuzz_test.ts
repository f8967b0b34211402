/**
 * Deterministic fuzzing of the two parsers that take files from users: the
 * template parser and the CSV reader. Every case must end in a result or in an
 * error of a documented type that names its source, within 2 s. A failure
 * names the seed and the case; `FUZZ_SEED=<n>` replays or explores other runs.
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import {
  type CsvOptions,
  type CsvRecord,
  readCsv,
  scanCsv,
} from "../batch/csv.ts";
import { InputError } from "../common/errors.ts";
import { AssetResolver } from "../template/assets.ts";
import { pageSpec } from "../template/page_spec.ts";
import {
  type FabricObject,
  MAX_PIXEL_AREA,
  MAX_PIXEL_SIDE,
  parseTemplate,
  type Template,
} from "../template/parse.ts";
import { piecePayload, RecordError } from "../template/payload.ts";
import { MALFORMED_CSV, TRICKY_BOM_CSV, TRICKY_CSV } from "./_helpers.ts";

const SANITIZED = { sanitizeOps: true, sanitizeResources: true };
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 0x5eed);
const TIME_LIMIT_MS = 2000;
const EXAMPLE_DIR = resolve("examples/postcard");
const EXAMPLE = JSON.parse(
  await Deno.readTextFile(join(EXAMPLE_DIR, "template.json")),
);
const CSV_FIXTURES = await Promise.all(
  [
    join(EXAMPLE_DIR, "recipients.csv"),
    TRICKY_CSV,
    TRICKY_BOM_CSV,
    MALFORMED_CSV,
  ].map((path) => Deno.readFile(path)),
);

interface Rng {
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
}

/** The PRNG of case `index`: mulberry32 on a seed mixed from both. */
function random(index: number): Rng {
  let a = (SEED ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { int, pick: (items) => items[int(items.length)]! };
}

const NUMBERS = [0, -0, -1, 1e308, -1e308, 5e-324, 2 ** 53, NaN, Infinity, 7.5];
const ODD_STRINGS = ["NaN", "Infinity", "-1", "1e999", "", " ", "0x10", "null"];
const PLACEHOLDERS = ["{{", "}}", "{{{a}}}", "{{}}", "{{ }}", "{{a", "a}}"];
/** Characters for random text: a lone surrogate, an RTL override, NUL… */
const CHARS = [..."ab Z9,;\"'\t\n{}\0\uD800\u202E🎉名é"];
const TYPES = "rect Textbox IMAGE group i-text path foo ".split(" ");
const HOSTILE_KEYS = ["__proto__", "toString", "valueOf", "pressrunId"];
/** Page sides in inches or pixels: empty, fine, and past Chromium's limits. */
const SIZES = [0.001, 0.1, 100, 110, 5000, 40000];

function text(rng: Rng): string {
  let out = "";
  for (let n = rng.int(40); n > 0; n--) {
    out += rng.int(4) ? rng.pick(CHARS) : rng.pick(PLACEHOLDERS);
  }
  return out;
}

function value(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth < 3 ? 8 : 5)) {
    case 0:
      return rng.pick(NUMBERS);
    case 1:
      return rng.pick(ODD_STRINGS);
    case 2:
      return text(rng);
    case 3:
      return rng.pick([null, true, false]);
    case 4:
      return rng.pick(PLACEHOLDERS);
    case 5:
      return Array.from({ length: rng.int(4) }, () => value(rng, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let n = rng.int(4); n > 0; n--) {
        define(object, rng.pick(["type", "text", "objects", "x"]), value(rng));
      }
      return object;
    }
  }
}

const OWN = { enumerable: true, writable: true, configurable: true };

/** Sets an own property, even one named `__proto__`. */
function define(object: object, key: string, value: unknown): void {
  Object.defineProperty(object, key, { ...OWN, value });
}

type Slot = [Record<string, unknown>, string];

/** The places to mutate: each key of each container, 8 levels down at most. */
function slots(node: unknown, depth = 0, out: Slot[] = []): Slot[] {
  if (typeof node !== "object" || node === null || depth > 8) return out;
  for (const key of Object.keys(node)) {
    out.push([node as Record<string, unknown>, key]);
    slots((node as Record<string, unknown>)[key], depth + 1, out);
  }
  return out;
}

/** The example postcard with 1 to 4 random mutations, or plain noise. */
function mutatedTemplate(rng: Rng): unknown {
  if (rng.int(12) === 0) return value(rng);
  let doc = structuredClone(EXAMPLE);
  for (let n = 1 + rng.int(4); n > 0; n--) {
    const all = slots(doc);
    if (all.length === 0) break;
    const [parent, key] = rng.pick(all);
    const item = parent[key];
    const objects = (doc.canvas ?? doc).objects;
    // One of the canvas objects, or a stand-in when there are none.
    const target: unknown = Array.isArray(objects) && rng.pick(objects);
    const object = (target && typeof target === "object" ? target : {}) as {
      [key: string]: unknown;
    };
    switch (rng.int(12)) {
      case 0:
        delete parent[key];
        break;
      case 1:
        define(parent, key, value(rng));
        break;
      case 2: // swap the type
        define(
          parent,
          key,
          typeof item === "number"
            ? String(item)
            : typeof item === "string"
            ? rng.pick([Number(item), null, [item], { item }])
            : rng.pick([null, 1, "1", [], {}]),
        );
        break;
      case 3: { // a broken placeholder, mostly in a text
        const [at, where] = typeof object.text === "string" && rng.int(2)
          ? [object, "text"]
          : [parent, key];
        const old = at[where];
        if (typeof old === "string") {
          const i = rng.int(old.length + 1);
          const broken = rng.pick([...PLACEHOLDERS, "{{}}", "{{ }}"]);
          define(at, where, old.slice(0, i) + broken + old.slice(i));
        }
        break;
      }
      case 4: { // deep nesting of plain JSON
        let deep = item;
        for (let d = rng.pick([5, 99, 150, 5000]); d > 0; d--) {
          deep = rng.int(2) ? [deep] : { deep };
        }
        define(parent, key, deep);
        break;
      }
      case 5: { // groups in groups
        let group: unknown = { type: "Textbox", text: "{{firstName}}" };
        for (let d = rng.int(30); d > 0; d--) {
          group = { type: "Group", objects: [group] };
        }
        if (Array.isArray(objects)) objects.push(group);
        break;
      }
      case 6:
        define(object, "type", rng.pick([...TYPES, 5, null]));
        break;
      case 7:
        define(object, rng.pick(HOSTILE_KEYS), rng.pick([null, "v0", {}, 1]));
        break;
      case 8:
        if (Array.isArray(objects)) {
          while (objects.length < 1990 + rng.int(20)) {
            objects.push({ ...object });
          }
        }
        break;
      case 9:
        define(object, "text", "{{id}}".padEnd(9990 + rng.int(20), "é"));
        break;
      case 10: { // a page too small or too big to draw
        const size = doc.size ?? doc;
        if (typeof size === "object" && size) {
          define(size, rng.pick(["width", "height"]), rng.pick(SIZES));
        }
        break;
      }
      default:
        // a bare Fabric document
        if (typeof doc.canvas === "object" && doc.canvas) doc = doc.canvas;
    }
  }
  return doc;
}

/** Runs `fn` and fails the test if it runs past the time limit, sync or not. */
async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const start = performance.now();
  const late = new Promise<never>((_, reject) => {
    const error = new Error(`${label}: timed out`);
    timer = setTimeout(() => reject(error), TIME_LIMIT_MS);
  });
  try {
    return await Promise.race([fn(), late]);
  } finally {
    clearTimeout(timer);
    const ms = Math.round(performance.now() - start);
    assert.ok(ms < TIME_LIMIT_MS, `${label}: took ${ms} ms`);
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The outcome of `fn`: its value, or the error it threw. */
async function settle<T>(fn: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Asserts `error` is one of the taxonomy's input errors (the user's fault,
 * exit 2 / HTTP 4xx; never a bug's TypeError) and its message names `source`.
 */
function assertNamed(error: unknown, source: string, label: string): string {
  assert.ok(
    error instanceof InputError,
    `${label}: not an InputError: ${(error as Error)?.stack ?? error}`,
  );
  const { message, name } = error as Error;
  assert.ok(
    message.includes(source),
    `${label}: "${message}" names no ${source}`,
  );
  return name;
}

/** Checks what a valid template promises: ids, fields, a drawable raster. */
function assertUsable(template: Template, source: string, label: string) {
  assert.equal(template.source, source, label);
  const { pixelWidth: w, pixelHeight: h } = template.geometry;
  assert.ok(Math.min(w, h) >= 1 && Math.max(w, h) <= MAX_PIXEL_SIDE, label);
  assert.ok(w * h <= MAX_PIXEL_AREA, label);
  const ids: unknown[] = [];
  const walk = (objects: FabricObject[]) => {
    for (const object of objects) {
      if ("pressrunId" in object) ids.push(object.pressrunId);
      if (Array.isArray(object.objects)) walk(object.objects);
    }
  };
  walk(template.canvas.objects);
  assert.deepEqual(ids, template.variables.map((v) => v.id), label);
  assert.ok(template.fields.every((f) => typeof f === "string" && f), label);
  JSON.stringify(template.canvas); // what goes to the page must serialise
}

/** Template case `i`: its source label and the outcome of parsing it. */
async function templateCase(i: number) {
  const label = `seed ${SEED} template case ${i}`;
  const source = `fuzz-${i}.json`;
  const doc = mutatedTemplate(random(i));
  const outcome = await timed(
    label,
    () => settle(() => parseTemplate(doc, { source, baseDir: EXAMPLE_DIR })),
  );
  return { label, source, outcome };
}

Deno.test(
  "parseTemplate() returns a usable template or a named error for 300 mutated documents",
  SANITIZED,
  async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const { label, source, outcome } = await templateCase(i);
      let kind = "ok";
      if (outcome.ok) assertUsable(outcome.value, source, label);
      else kind = assertNamed(outcome.error, source, label);
      seen.set(kind, (seen.get(kind) ?? 0) + 1);
    }
    for (const kind of ["ok", "TemplateError"]) {
      assert.ok(seen.get(kind), `seed ${SEED}: no ${kind} among ${[...seen]}`);
    }
  },
);

Deno.test(
  "pageSpec() and piecePayload() end in a result or a named error for 10 valid mutated templates",
  SANITIZED,
  async () => {
    const assets = new AssetResolver(EXAMPLE_DIR);
    const records: CsvRecord[] = [];
    for await (const r of readCsv(join(EXAMPLE_DIR, "recipients.csv"))) {
      records.push(r);
    }
    let valid = 0;
    for (let i = 0; valid < 10; i++) {
      assert.ok(i < 300, `seed ${SEED}: ${valid} valid templates in 300`);
      const { label, outcome } = await templateCase(i);
      if (!outcome.ok) continue;
      const template = outcome.value;
      const record = records[valid++ % records.length]!;
      await timed(`${label} pageSpec`, async () => {
        const spec = await settle(() => pageSpec(template, assets));
        if (!spec.ok) {
          assertNamed(spec.error, template.source, `${label} pageSpec`);
          return;
        }
        assert.equal(spec.value.pixelWidth, template.geometry.pixelWidth);
        JSON.stringify(spec.value); // the page gets it as JSON
        const payload = await settle(() =>
          piecePayload(template, record, assets)
        );
        if (payload.ok) {
          const ids = payload.value.objects.map((o) => o.id);
          assert.deepEqual(ids, template.variables.map((v) => v.id), label);
        } else {
          assert.ok(
            payload.error instanceof RecordError,
            `${label}: ${payload.error}`,
          );
          assert.equal(payload.error.index, record.index, label);
        }
      });
    }
  },
);

/** Bytes worth inserting: NUL, bits of invalid UTF-8, quotes, delimiters, line ends. */
const BYTES = [...'\0\xff\xfe\xc3\x80",;\t\r\n'].map((c) => c.charCodeAt(0));
const BOM = [0xef, 0xbb, 0xbf];

/** `bytes` with `remove` bytes at `at` replaced by `insert`. */
function splice(
  bytes: Uint8Array,
  at: number,
  remove: number,
  insert: ArrayLike<number> = [],
): Uint8Array {
  const tail = bytes.subarray(Math.min(at + remove, bytes.length));
  const out = new Uint8Array(at + insert.length + tail.length);
  out.set(bytes.subarray(0, at));
  out.set(insert, at);
  out.set(tail, at + insert.length);
  return out;
}

/** A fixture with 1 to 4 byte-level mutations, or random bytes. */
function mutatedCsv(rng: Rng): Uint8Array {
  if (rng.int(8) === 0) {
    return Uint8Array.from({ length: rng.int(5000) }, () => rng.int(256));
  }
  let bytes: Uint8Array = rng.pick(CSV_FIXTURES);
  for (let n = 1 + rng.int(4); n > 0; n--) {
    const at = rng.int(bytes.length + 1);
    switch (rng.int(9)) {
      case 0: {
        const more = Array.from(
          { length: 1 + rng.int(20) },
          () => rng.int(2) ? rng.pick(BYTES) : rng.int(256),
        );
        bytes = splice(bytes, at, 0, more);
        break;
      }
      case 1:
        bytes = splice(bytes, at, rng.int(200));
        break;
      case 2: // CR-only line ends
        bytes = bytes.filter((b, i) => b !== 0x0a || bytes[i - 1] !== 0x0d)
          .map((b) => b === 0x0a ? 0x0d : b);
        break;
      case 3: // mixed delimiters
        bytes = bytes.map((b) =>
          b === 0x2c && rng.int(3) === 0 ? rng.pick([0x3b, 0x09]) : b
        );
        break;
      case 4:
        bytes = bytes.subarray(0, at);
        break;
      case 5: { // a very long line of one byte: x, comma, quote or space
        const run = new Uint8Array(rng.pick([1e4, 7e4, 3e5, 1.2e6]));
        run.fill(rng.pick([0x78, 0x2c, 0x22, 0x20]));
        bytes = splice(bytes, at, 0, run);
        break;
      }
      case 6: // BOMs in odd places
        bytes = splice(bytes, at, 0, rng.int(2) ? [...BOM, ...BOM] : BOM);
        break;
      case 7: { // up to 2000 copies of a line, 2 MB at most
        const end = bytes.indexOf(0x0a, at);
        const line = bytes.slice(at, end === -1 ? undefined : end + 1);
        const copies = Math.min(rng.int(2000), 2e6 / (line.length + 1) | 0);
        const run = new Uint8Array(line.length * copies);
        for (let k = 0; k < copies; k++) run.set(line, k * line.length);
        bytes = splice(bytes, at, 0, run);
        break;
      }
      default:
        bytes = splice(bytes, at, 0, [0x22]);
    }
  }
  return bytes;
}

/** Small limits and a forced delimiter, now and then. */
function csvOptions(rng: Rng): CsvOptions {
  const options: CsvOptions = {};
  if (rng.int(5) === 0) options.delimiter = rng.pick([",", ";", "\t"]);
  if (rng.int(6) === 0) options.maxColumns = rng.pick([1, 3, 12]);
  if (rng.int(6) === 0) options.maxFieldLength = rng.pick([1, 8, 40]);
  if (rng.int(6) === 0) options.maxRecords = rng.pick([1, 5]);
  if (rng.int(6) === 0) options.maxBytes = rng.pick([10, 500, 100_000]);
  return options;
}

Deno.test(
  "scanCsv() and readCsv() agree on a result or a named error for 200 mutated files",
  SANITIZED,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "pressrun_fuzz_test_" });
    await using _dir = {
      [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
    };
    const seen = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const label = `seed ${SEED} csv case ${i}`;
      const rng = random(10_000 + i);
      const name = `fuzz-${i}.csv`;
      const path = join(dir, name);
      await Deno.writeFile(path, mutatedCsv(rng));
      const options = csvOptions(rng);
      await timed(label, async () => {
        const scan = await settle(() => scanCsv(path, options));
        const read = await settle(async () => {
          const lines: number[] = [];
          for await (const record of readCsv(path, options)) {
            assert.equal(record.index, lines.length + 1, label);
            assert.ok(record.line > (lines.at(-1) ?? 1), label);
            if (scan.ok) { // integer-like keys come first in any object
              const keys = Object.keys(record.values).sort();
              assert.deepEqual(keys, [...scan.value.headers].sort(), label);
            }
            const values = Object.values(record.values);
            assert.ok(values.every((v) => typeof v === "string"), label);
            lines.push(record.line);
          }
          return lines.length;
        });
        let kind = "ok";
        if (scan.ok) {
          assert.ok(read.ok, `${label}: ${!read.ok && read.error}`);
          assert.equal(read.value, scan.value.count, label);
          const { headers } = scan.value;
          assert.ok(headers.every((h) => h && h.trim() === h), label);
          assert.equal(new Set(headers).size, headers.length, label);
        } else {
          kind = assertNamed(scan.error, name, label);
          assert.ok(
            !read.ok,
            `${label}: readCsv() read what scanCsv() refused`,
          );
          assertNamed(read.error, name, label);
          const messages = [read.error, scan.error].map((e) => `${e}`);
          assert.equal(messages[0], messages[1], label);
        }
        seen.set(kind, (seen.get(kind) ?? 0) + 1);
      });
    }
    for (const kind of ["ok", "DataError"]) {
      assert.ok(seen.get(kind), `seed ${SEED}: no ${kind} among ${[...seen]}`);
    }
  },
);
