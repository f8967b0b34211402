/**
 * Barcodes, encoded on the Deno side per record: a `barcode` object's value
 * (see `format.ts`) becomes a {@linkcode BarcodeDrawing}, vector geometry the
 * render page scales into the object's box and draws as it draws a QR code —
 * filled paths on the canvas, a `<path>` in the print SVG, never an image.
 *
 * The symbols are bwip-js's (Barcode Writer in Pure PostScript): bwip-js lays
 * them out through a drawing interface of ours that keeps the bars and
 * modules as rectangles and polygons, and the human-readable text as glyph
 * outlines. A value bwip-js would take but a scanner or the Postal Service
 * would not (a Code 128 outside ASCII, an Intelligent Mail barcode with a
 * bad barcode identifier) is refused here first, with a message that says
 * which part is wrong.
 *
 * @module
 */
import bwipjs from "bwip-js";
import { DataError } from "../common/errors.ts";
import type { BarcodeDrawing } from "../render/page_api.ts";
import { fieldsIn, substitute } from "./fields.ts";
import type { BarcodeSpec, BarcodeType } from "./format.ts";

export type { BarcodeDrawing } from "../render/page_api.ts";

/** Drawing units per point (bwip-js's scale): bar edges land on whole units. */
const SCALE = 10;

/**
 * What bwip-js calls each type, what people call one, and its module (the
 * narrowest bar, or a 2D code's square) in points.
 */
const SYMBOLOGIES: Readonly<
  Record<BarcodeType, { bcid: string; name: string; module: number }>
> = {
  code128: { bcid: "code128", name: "a Code 128", module: 1 },
  ean13: { bcid: "ean13", name: "an EAN-13", module: 1 },
  datamatrix: { bcid: "datamatrix", name: "a Data Matrix", module: 2 },
  pdf417: { bcid: "pdf417", name: "a PDF417", module: 1 },
  // A bar of an Intelligent Mail barcode is 0.02 in wide.
  imb: { bcid: "onecode", name: "an Intelligent Mail barcode", module: 1.44 },
};

/** Linear codes whose bars grow to fill their box's height. */
const STRETCHED: ReadonlySet<BarcodeType> = new Set(["code128", "ean13"]);
/** Codes whose quiet zone lies on every side, not only left and right. */
const MATRIX: ReadonlySet<BarcodeType> = new Set(["datamatrix", "pdf417"]);

/**
 * One record's barcode: `value` (placeholders filled in) encoded as `spec`
 * says. Throws a {@linkcode DataError} saying what is wrong with a value that
 * cannot be encoded (`the routing code must have 0, 5, 9 or 11 digits, got
 * 7`); the caller names the record and the field.
 */
export function barcodeDrawing(
  spec: BarcodeSpec,
  value: string,
): BarcodeDrawing {
  // Encoding takes bwip-js 1–5 ms: a value many records share (a product's
  // EAN, a fixed code) is encoded once.
  const key = JSON.stringify([
    spec.type,
    spec.text,
    spec.quietZone,
    spec.aspect,
    value,
  ]);
  const known = drawings.get(key);
  if (known) {
    drawings.delete(key);
    drawings.set(key, known);
    return known;
  }
  const drawing = encode(spec, value);
  drawings.set(key, drawing);
  if (drawings.size > DRAWINGS_KEPT) {
    drawings.delete(drawings.keys().next().value!);
  }
  return drawing;
}

/** How many recent drawings {@linkcode barcodeDrawing} keeps. */
const DRAWINGS_KEPT = 256;
/** Recent drawings by spec and value, most recently used last. */
const drawings = new Map<string, BarcodeDrawing>();

function encode(spec: BarcodeSpec, value: string): BarcodeDrawing {
  const symbology = SYMBOLOGIES[spec.type];
  const text = checkedValue(spec.type, value);
  const drawing = new VectorDrawing({
    stretch: STRETCHED.has(spec.type),
    aspect: spec.aspect,
    quiet: spec.quietZone * symbology.module * SCALE,
    quietAllRound: MATRIX.has(spec.type),
  });
  try {
    return bwipjs.render({
      bcid: symbology.bcid,
      text,
      scale: SCALE,
      ...(STRETCHED.has(spec.type) ? { includetext: spec.text } : {}),
    }, drawing);
  } catch (error) {
    // bwip-js is a pure function of the value: what it refuses with a plain
    // Error (too long for the largest symbol, a character its tables lack)
    // is the value's fault; a TypeError or a RangeError is a bug.
    if (!(error instanceof Error) || error.constructor !== Error) throw error;
    throw new DataError(
      `cannot be encoded as ${symbology.name}: ${
        error.message.replace(/^bwipp\.\w+#\d+: /, "")
      }`,
      { cause: error },
    );
  }
}

/** A value each type encodes, for previews of a template without data. */
const EXAMPLES: Readonly<Record<BarcodeType, string>> = {
  code128: "ABC-12345",
  ean13: "5901234123457",
  datamatrix: "https://example.com/1",
  pdf417: "https://example.com/1",
  // USPS-B-3200's example: tracking code, then an 11-digit routing code.
  imb: "0123456709498765432101234567891",
};

/**
 * Sample values for the fields of a barcode's value, for a preview without
 * data: `values` as they are when the code encodes them (a Code 128 of
 * `{{sku}}` shows "sku"), else the type's example in the value's first
 * field and nothing in the others (an EAN-13 cannot show "ean").
 */
export function barcodeSamples(
  spec: BarcodeSpec,
  values: Readonly<Record<string, string>>,
): Record<string, string> {
  const fields = fieldsIn(spec.value);
  const own = Object.fromEntries(fields.map((f) => [f, values[f] ?? f]));
  try {
    checkedValue(spec.type, substitute(spec.value, own));
    return own;
  } catch (error) {
    if (!(error instanceof DataError)) throw error;
    return Object.fromEntries(
      fields.map((f, i) => [f, i === 0 ? EXAMPLES[spec.type] : ""]),
    );
  }
}

/** The parts of an Intelligent Mail barcode's value. */
export interface ImbParts {
  /** The 20-digit tracking code. */
  tracking: string;
  /** The routing (delivery point ZIP) code: 0, 5, 9 or 11 digits. */
  routing: string;
}

/**
 * Splits and checks an Intelligent Mail barcode's value: the 20-digit
 * tracking code (barcode identifier, 2 digits, the second 0–4; service type,
 * 3; mailer ID, 6 digits, or 9 when it begins with 9; serial number, the 9
 * or 6 left), then the routing code, a ZIP code of 0, 5, 9 or 11 digits.
 * Spaces and hyphens are ignored (`01234567094987654321-01234-5678-91`).
 * Throws a {@linkcode DataError} naming the part that is wrong.
 */
export function imbParts(value: string): ImbParts {
  const digits = value.replace(/[\s-]+/g, "");
  const stray = /\D/.exec(digits);
  if (stray) {
    throw new DataError(
      `an Intelligent Mail barcode takes digits only (spaces and hyphens ` +
        `are ignored), got ${JSON.stringify(stray[0])}`,
    );
  }
  if (digits.length < 20) {
    throw new DataError(
      `the tracking code must have 20 digits, got ${digits.length}`,
    );
  }
  const tracking = digits.slice(0, 20);
  const routing = digits.slice(20);
  const second = tracking[1]!;
  if (second > "4") {
    throw new DataError(
      `the barcode identifier's second digit must be 0 to 4, got ` +
        `${JSON.stringify(tracking.slice(0, 2))}`,
    );
  }
  if (![0, 5, 9, 11].includes(routing.length)) {
    throw new DataError(
      `the routing code must have 0, 5, 9 or 11 digits, got ${routing.length}`,
    );
  }
  return { tracking, routing };
}

/**
 * The value as bwip-js takes it, checked where pressrun knows better than
 * bwip-js what a reader accepts.
 */
/**
 * `value` as the barcode `type` encodes it, once pressrun's own checks pass
 * (ASCII for Code 128, the EAN-13 check digit, the IMb's tracking and
 * routing codes); throws a {@linkcode DataError} saying what is wrong. A
 * list preflight runs it on every record: it costs no encoding.
 */
export function checkedValue(type: BarcodeType, value: string): string {
  switch (type) {
    case "code128": {
      const outside = [...value].find((c) => c.codePointAt(0)! > 0x7f);
      if (outside !== undefined) {
        throw new DataError(
          `Code 128 cannot encode ${
            JSON.stringify(outside)
          }: it takes ASCII characters only`,
        );
      }
      return value;
    }
    case "ean13":
      return checkedEan13(value.trim());
    case "imb": {
      const { tracking, routing } = imbParts(value);
      return tracking + routing;
    }
    case "datamatrix":
    case "pdf417":
      return value;
  }
}

/** 12 digits, or 13 with the right check digit. */
function checkedEan13(value: string): string {
  if (!/^\d+$/.test(value)) {
    throw new DataError(
      `an EAN-13 takes digits only, got ${JSON.stringify(value.slice(0, 20))}`,
    );
  }
  if (value.length !== 12 && value.length !== 13) {
    throw new DataError(
      `an EAN-13 takes 12 digits, or 13 with its check digit, got ${value.length}`,
    );
  }
  const check = ean13CheckDigit(value.slice(0, 12));
  if (value.length === 13 && value[12] !== check) {
    throw new DataError(
      `the EAN-13 check digit of ${value.slice(0, 12)} is ${check}, got ${
        value[12]
      }`,
    );
  }
  return value;
}

/** The check digit of 12 digits: weights 1, 3, 1, 3… from the left. */
export function ean13CheckDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(digits[i]) * (i % 2 ? 3 : 1);
  return String((10 - sum % 10) % 10);
}

/** How {@linkcode VectorDrawing} places the symbol. */
interface Placement {
  /** Stretch the bars' height so the whole has the box's aspect. */
  stretch: boolean;
  /** The box's width ÷ height. */
  aspect: number;
  /** The quiet zone, in drawing units. */
  quiet: number;
  /** Around all four sides; else left and right. */
  quietAllRound: boolean;
}

type Rect = [x: number, y: number, w: number, h: number];
type Font = { name: string; width: number; height: number; dx: number };
type Point = [number, number];

/**
 * bwip-js's drawing interface, kept as vector geometry. bwip-js hands it
 * whole drawing units (y down, from the symbol's top left corner):
 * `line()` for a linear code's bars, as its own PNG drawing fills pixels
 * (`lw` wide, the larger half left of or above the line, both ends
 * included); `polygon()` for a 2D code's modules, as outlines; `text()` for
 * the human-readable line, whose glyph outlines bwip-js's SVG drawing makes.
 * Everything is gathered first and laid out in `end()`, once the bars'
 * height for the box is known.
 */
class VectorDrawing implements bwipjs.DrawingContext<BarcodeDrawing> {
  #placement: Placement;
  #glyphs = bwipjs.drawingSVG();
  #width = 0;
  #height = 0;
  #rects: Rect[] = [];
  #polygons: Point[][] = [];
  #texts: [number, number, string, Font][] = [];

  constructor(placement: Placement) {
    this.#placement = placement;
  }

  setopts(options: bwipjs.RenderOptions): void {
    this.#glyphs.setopts?.(options);
  }

  scale(): null {
    return null;
  }

  measure(text: string, font: string, width: number, height: number) {
    return this.#glyphs.measure(text, font, width, height);
  }

  init(width: number, height: number): void {
    this.#width = width;
    this.#height = height;
    this.#glyphs.init(width, height);
  }

  line(x0: number, y0: number, x1: number, y1: number, lw: number): void {
    const width = Math.round(lw) || 1;
    const big = width - Math.floor(width / 2);
    const [xa, xb] = x0 < x1 ? [x0, x1] : [x1, x0];
    const [ya, yb] = y0 < y1 ? [y0, y1] : [y1, y0];
    this.#rects.push(
      xa === xb
        ? [xa - big, ya, width, yb - ya + 1]
        : [xa, ya - (width - big), xb - xa + 1, width],
    );
  }

  polygon(points: Point[]): void {
    this.#polygons.push(points.map(([x, y]) => [x, y]));
  }

  hexagon(points: Point[]): void {
    this.polygon(points);
  }

  ellipse(): void {
    // Only MaxiCode and DotCode draw ellipses; neither is a pressrun type.
    throw new TypeError("A barcode drew an ellipse");
  }

  fill(): void {}

  text(x: number, y: number, text: string, _rgb: string, font: Font): void {
    this.#texts.push([x, y, text, font]);
  }

  end(): BarcodeDrawing {
    const { stretch, aspect, quiet, quietAllRound } = this.#placement;
    const width = this.#width + 2 * quiet;
    const top = quietAllRound ? quiet : 0;
    let height = this.#height + 2 * top;
    let y = (v: number) => top + v;
    if (stretch && this.#rects.length > 0) {
      // A linear code's bars run down from y = 0 to `foot`; below it lies
      // what follows the bars' foot: EAN's longer guard bars and the text.
      // The bars take the box's height less that, and never less than 5
      // modules.
      const foot = Math.min(...this.#rects.map(([, ry, , rh]) => ry + rh));
      const below = this.#height - foot;
      const bars = Math.max(5 * SCALE, width / aspect - below);
      y = (v) => v <= foot ? v * bars / foot : v - foot + bars;
      height = bars + below;
    }
    let d = "";
    for (const [rx, ry, rw, rh] of this.#rects) {
      const y0 = y(ry);
      d += `M${n(rx + quiet)} ${n(y0)}h${n(rw)}v${n(y(ry + rh) - y0)}h${
        n(-rw)
      }z`;
    }
    for (const points of this.#polygons) {
      d += "M" +
        points.map(([px, py]) => `${n(px + quiet)} ${n(top + py)}`).join("L") +
        "Z";
    }
    for (const [tx, ty, text, font] of this.#texts) {
      this.#glyphs.text(tx + quiet, y(ty), text, "000000", font);
    }
    const glyphs = this.#texts.length ? this.#glyphs.end() : "";
    return {
      width,
      height,
      bars: d,
      text: [...glyphs.matchAll(/ d="([^"]*)"/g)].map((m) => m[1]).join(""),
    };
  }
}

/** A coordinate for path data, to 1/100 of a unit. */
function n(v: number): string {
  return String(Math.round(v * 100) / 100);
}
