/**
 * The template format's extensions to Fabric objects, declared and validated
 * in one place, with their defaults:
 *
 * - text (`Textbox`, `IText`, `Text`), copyfit: `"fit"` says how a text
 *   meets its box — `"shrink"` (a long text gets smaller, down to
 *   `"minFontSize"`, a positive number at most the text's `fontSize`,
 *   default 6), `"grow"` (a short text gets larger to fill the box, up to
 *   `"maxFontSize"`, required, at least the `fontSize`; a long one stays at
 *   the `fontSize`) or `"fit"` (both: the largest size from `minFontSize`
 *   to `maxFontSize` that fits). A text still too big at its smallest size
 *   then tightens its letter spacing down to `"minCharSpacing"` (Fabric's
 *   `charSpacing`, 1/1000 em, from -1000 up to the text's own; unset: never
 *   tightened), then narrows down to `"minScaleX"` (a factor of its
 *   `scaleX`, above 0 and at most 1; unset: never narrowed). A text that
 *   overflows its box even there is overset: taller than a Textbox's box or
 *   with a word wider than it, or wider than an IText's or Text's. These
 *   bounds need a `fit` (`minFontSize` alone is taken, and unused, without
 *   one, as before);
 * - images: `"fit"`: `"cover"` (default), `"contain"` or `"fill"`;
 * - any object: `"qr": { value, ecc, quietZone, color, background }` draws a
 *   QR code over its box (`ecc` L, M, Q or H, default M; `quietZone` a whole
 *   number of modules from 0 to {@linkcode MAX_QUIET_ZONE}, default 4;
 *   `color` and `background` CSS colours, default black on white; no other
 *   keys);
 * - any object with a positive `width` and `height`: `"barcode": { type,
 *   value, text, quietZone, color, background }` draws a barcode over its
 *   box, encoded per record (`template/barcode.ts`): `type` `"code128"`,
 *   `"ean13"`, `"datamatrix"`, `"pdf417"` or `"imb"` (USPS Intelligent
 *   Mail); `value` with placeholders; `text` (code128 and ean13 only) shows
 *   the value under the bars, default false for code128 and true for
 *   ean13; `quietZone` a whole number of modules (an IMb's: bar widths)
 *   from 0 to {@linkcode MAX_QUIET_ZONE}, left and right of a linear code
 *   and all round a 2D one, default per type in
 *   {@linkcode BARCODE_DEFAULTS}; `color` and `background` as for `qr`; no
 *   other keys, and not with `qr` on the same object;
 * - any object: `"visibleIf": "field"` shows it only when the field is set.
 *
 * {@linkcode objectFormat} turns an object's extensions into an
 * {@linkcode ObjectFormat} with every default filled in, or throws a
 * {@linkcode TemplateError} naming the template, the object and the property.
 * The render page receives the result and never falls back on defaults of
 * its own.
 *
 * @module
 */
import { TemplateError } from "../common/errors.ts";

/**
 * How a text fits its box: `"shrink"` lowers the font size until it fits,
 * `"grow"` raises it while it fits, `"fit"` does either.
 */
export type TextFit = "shrink" | "grow" | "fit";
/** How an image fills its box. */
export type ImageFit = "cover" | "contain" | "fill";
/** Error-correction level of a QR code. */
export type QrEcc = "L" | "M" | "Q" | "H";

/** The values `fit` takes on a text. */
export const TEXT_FITS: readonly TextFit[] = ["shrink", "grow", "fit"];
/** The values `fit` takes on an image. */
export const IMAGE_FITS: readonly ImageFit[] = ["cover", "contain", "fill"];
/** The values `qr.ecc` takes (any case). */
export const QR_ECC_LEVELS: readonly QrEcc[] = ["L", "M", "Q", "H"];
/** The keys a `qr` object may have. */
export const QR_KEYS = [
  "value",
  "ecc",
  "quietZone",
  "color",
  "background",
] as const;
/** Widest quiet zone around a QR code, in modules. */
export const MAX_QUIET_ZONE = 20;
/** A barcode's symbology; `imb` is the USPS Intelligent Mail barcode. */
export type BarcodeType = "code128" | "ean13" | "datamatrix" | "pdf417" | "imb";
/** The values `barcode.type` takes. */
export const BARCODE_TYPES: readonly BarcodeType[] = [
  "code128",
  "ean13",
  "datamatrix",
  "pdf417",
  "imb",
];
/** The types that can show their value as text under the bars. */
export const BARCODE_TEXT_TYPES: readonly BarcodeType[] = ["code128", "ean13"];
/** The keys a `barcode` object may have. */
export const BARCODE_KEYS = [
  "type",
  "value",
  "text",
  "quietZone",
  "color",
  "background",
] as const;
/**
 * A barcode's defaults. The quiet zones are the symbologies' own minimums
 * (EAN-13's wider left one on both sides; an IMb's 0.125 in clear zone,
 * rounded up to 7 bar widths of 0.02 in).
 */
export const BARCODE_DEFAULTS: {
  readonly quietZone: Readonly<Record<BarcodeType, number>>;
  readonly text: Readonly<Record<BarcodeType, boolean>>;
  readonly color: string;
  readonly background: string;
} = {
  quietZone: { code128: 10, ean13: 11, datamatrix: 1, pdf417: 2, imb: 7 },
  text: {
    code128: false,
    ean13: true,
    datamatrix: false,
    pdf417: false,
    imb: false,
  },
  color: "#000000",
  background: "#ffffff",
};
/** Tightest letter spacing a copyfit may reach, 1/1000 em: glyphs on glyphs. */
export const MIN_CHAR_SPACING = -1000;
/** Fabric's font size and letter spacing of a text that states none. */
const FABRIC_TEXT = { fontSize: 40, charSpacing: 0 } as const;

/** The defaults of the extensions, in one place. */
export const FORMAT_DEFAULTS: {
  readonly minFontSize: number;
  readonly imageFit: ImageFit;
  readonly qr: {
    readonly ecc: QrEcc;
    readonly quietZone: number;
    readonly color: string;
    readonly background: string;
  };
} = {
  minFontSize: 6,
  imageFit: "cover",
  qr: { ecc: "M", quietZone: 4, color: "#000000", background: "#ffffff" },
};

/** Fabric's text types, lower case. */
export const TEXT_TYPES: ReadonlySet<string> = new Set([
  "textbox",
  "i-text",
  "itext",
  "text",
]);

/** A text's fit (its copyfit bounds). */
export interface TextStyle {
  kind: "text";
  /** Fit the text to the box; unset, it keeps its font size. */
  fit?: TextFit;
  /** Smallest font size shrinking may reach (`"shrink"`, `"fit"`). */
  minFontSize: number;
  /** Largest font size growing may reach; set with `"grow"` and `"fit"`. */
  maxFontSize?: number;
  /**
   * Tightest letter spacing (Fabric `charSpacing`, 1/1000 em) a text at its
   * smallest size may take; unset, its spacing is never tightened.
   */
  minCharSpacing?: number;
  /**
   * Narrowest horizontal scale, a factor of the text's own `scaleX`, once
   * the spacing is at its tightest; unset, it is never narrowed.
   */
  minScaleX?: number;
}

/** An image's fit. */
export interface ImageStyle {
  kind: "image";
  fit: ImageFit;
}

/** How a QR code is drawn over its object's box. */
export interface QrStyle {
  kind: "qr";
  /** Light modules around the code, on each side. */
  quietZone: number;
  /** Dark modules: a CSS colour. */
  color: string;
  /** The box and the light modules: a CSS colour. */
  background: string;
}

/** How a barcode is drawn over its object's box. */
export interface BarcodeStyle {
  kind: "barcode";
  /** Bars, modules and text: a CSS colour. */
  color: string;
  /** The box, quiet zone included: a CSS colour. */
  background: string;
}

/** A barcode's settings, every default filled in. */
export interface BarcodeSpec {
  type: BarcodeType;
  /** The content, with placeholders. */
  value: string;
  /** The value as text under the bars (code128 and ean13). */
  text: boolean;
  /** Light margin, in modules (an IMb's: bar widths). */
  quietZone: number;
  /**
   * The object's own box, width ÷ height: a linear code's bars grow to fill
   * it; the other codes keep their proportions, centred in it.
   */
  aspect: number;
}

/** An object the page draws as Fabric does. */
export interface OtherStyle {
  kind: "other";
}

/** What the render page needs to draw an object: its kind and its settings. */
export type ObjectStyle =
  | TextStyle
  | ImageStyle
  | QrStyle
  | BarcodeStyle
  | OtherStyle;

/** One object's extensions, validated, with defaults filled in. */
export interface ObjectFormat {
  /** How the page draws it: a QR code, else by its Fabric type. */
  style: ObjectStyle;
  /** The field that must be set for the object to show. */
  visibleIf?: string;
  /** The QR code's content (with placeholders) and error correction. */
  qr?: { value: string; ecc: QrEcc };
  /** The barcode's type, content (with placeholders) and layout. */
  barcode?: BarcodeSpec;
}

/** Where an object sits, for error messages. */
export interface ObjectPlace {
  /** The template, as the user named it. */
  source: string;
  /** The object's path in the template: `canvas.objects[3]`. */
  path: string;
  /** The object's `type` as written: `Textbox`. */
  type: string;
}

/**
 * The pressrun extensions of one Fabric object. Throws a
 * {@linkcode TemplateError} naming the template, the object and the property
 * for a value of the wrong type, an unknown enum value, a number out of
 * range, an unknown key inside `qr` or a colour that is not a colour:
 * `Cannot read t.json: canvas.objects[3] (Textbox) "fit" must be
 * "shrink", "grow" or "fit", got "shrnk"`.
 */
export function objectFormat(
  object: Readonly<Record<string, unknown>>,
  place: ObjectPlace,
): ObjectFormat {
  const fail: Fail = (key, problem) => {
    throw new TemplateError(
      `Cannot read ${place.source}: ${place.path} (${place.type}) ` +
        `"${key}" ${problem}`,
      { location: { source: place.source, field: `${place.path}.${key}` } },
    );
  };
  const type = place.type.toLowerCase();
  const isText = TEXT_TYPES.has(type);
  const isImage = type === "image";
  const fit = own(object, "fit");
  if (fit !== undefined && !isText && !isImage) {
    fail("fit", "applies to text and images only");
  }
  const minFontSize = optional(own(object, "minFontSize"), (value) => {
    if (!isText) fail("minFontSize", "applies to text only");
    if (!isPositive(value)) {
      fail("minFontSize", `must be a positive number, got ${show(value)}`);
    }
    return value;
  });
  for (const key of COPYFIT_BOUNDS) {
    if (!isText && own(object, key) !== undefined) {
      fail(key, "applies to text only");
    }
  }
  const format: ObjectFormat = { style: { kind: "other" } };
  const visibleIf = optional(own(object, "visibleIf"), (value) => {
    const field = typeof value === "string" ? value.trim() : "";
    if (field === "") {
      fail("visibleIf", `must be a field name, got ${show(value)}`);
    }
    return field;
  });
  if (visibleIf !== undefined) format.visibleIf = visibleIf;
  if (isText) {
    const textFit = optional(fit, (v) => oneOf(v, TEXT_FITS, "fit", fail));
    format.style = textStyle(object, { fit: textFit, minFontSize }, fail);
  } else if (isImage) {
    format.style = {
      kind: "image",
      fit: optional(fit, (v) => oneOf(v, IMAGE_FITS, "fit", fail)) ??
        FORMAT_DEFAULTS.imageFit,
    };
  }
  const qr = own(object, "qr");
  if (qr !== undefined) {
    const { value, ecc, style } = qrFormat(qr, fail);
    format.qr = { value, ecc };
    format.style = style;
  }
  const barcode = own(object, "barcode");
  if (barcode !== undefined) {
    if (qr !== undefined) {
      fail("barcode", `cannot be combined with "qr" on one object`);
    }
    const { spec, style } = barcodeFormat(barcode, object, fail);
    format.barcode = spec;
    format.style = style;
  }
  return format;
}

/** Throws the {@linkcode TemplateError} for `key` of the object at hand. */
type Fail = (key: string, problem: string) => never;

/** The copyfit bounds besides `minFontSize`: text only, and with a `fit`. */
const COPYFIT_BOUNDS = ["maxFontSize", "minCharSpacing", "minScaleX"] as const;

/**
 * A text's copyfit: its `fit` and bounds, each checked on its own, then
 * against each other and against the text's own `fontSize` and
 * `charSpacing` (Fabric's defaults when it states none).
 */
function textStyle(
  object: Readonly<Record<string, unknown>>,
  { fit, minFontSize }: { fit?: TextFit; minFontSize?: number },
  fail: Fail,
): TextStyle {
  const bound = <T>(key: string, check: (value: unknown) => T) =>
    optional(own(object, key), (value) => {
      if (fit === undefined) {
        fail(key, `applies with a "fit" (${choices(TEXT_FITS)}) only`);
      }
      return check(value);
    });
  const maxFontSize = bound("maxFontSize", (value) => {
    if (!isPositive(value)) {
      fail("maxFontSize", `must be a positive number, got ${show(value)}`);
    }
    if (fit === "shrink") {
      fail(
        "maxFontSize",
        'applies with "fit": "grow" or "fit" only ("shrink" never grows past the fontSize)',
      );
    }
    return value;
  });
  const minCharSpacing = bound("minCharSpacing", (value) => {
    if (
      typeof value !== "number" || !Number.isFinite(value) ||
      value < MIN_CHAR_SPACING
    ) {
      fail(
        "minCharSpacing",
        `must be a number from ${MIN_CHAR_SPACING} (1/1000 em), got ${
          show(value)
        }`,
      );
    }
    return value;
  });
  const minScaleX = bound("minScaleX", (value) => {
    if (typeof value !== "number" || !(value > 0 && value <= 1)) {
      fail(
        "minScaleX",
        `must be a number above 0 and at most 1, got ${show(value)}`,
      );
    }
    return value;
  });
  const statedSize = own(object, "fontSize");
  const fontSize = typeof statedSize === "number"
    ? statedSize
    : FABRIC_TEXT.fontSize;
  const sizeName = `the fontSize ${fontSize}${
    typeof statedSize === "number" ? "" : " (Fabric's default)"
  }`;
  if ((fit === "grow" || fit === "fit") && maxFontSize === undefined) {
    fail(
      "maxFontSize",
      `is required with "fit": "${fit}": the largest size a short text grows to`,
    );
  }
  if (fit === "grow" && minFontSize !== undefined) {
    fail(
      "minFontSize",
      'does not apply to "fit": "grow", which never goes below the fontSize; use "fit": "fit" to shrink long texts too',
    );
  }
  if (
    minFontSize !== undefined && maxFontSize !== undefined &&
    minFontSize > maxFontSize
  ) {
    fail(
      "minFontSize",
      `must be at most the maxFontSize ${maxFontSize}, got ${minFontSize}`,
    );
  }
  if (fit && minFontSize !== undefined && minFontSize > fontSize) {
    fail(
      "minFontSize",
      `must be at most ${sizeName} to shrink to, got ${minFontSize}`,
    );
  }
  if (maxFontSize !== undefined && maxFontSize < fontSize) {
    fail(
      "maxFontSize",
      `must be at least ${sizeName} to grow from, got ${maxFontSize}`,
    );
  }
  const statedSpacing = own(object, "charSpacing");
  const charSpacing = typeof statedSpacing === "number"
    ? statedSpacing
    : FABRIC_TEXT.charSpacing;
  if (minCharSpacing !== undefined && minCharSpacing > charSpacing) {
    fail(
      "minCharSpacing",
      `must be at most the charSpacing ${charSpacing} to tighten from, got ${minCharSpacing}`,
    );
  }
  return {
    kind: "text",
    ...(fit ? { fit } : {}),
    minFontSize: minFontSize ?? FORMAT_DEFAULTS.minFontSize,
    ...(maxFontSize !== undefined ? { maxFontSize } : {}),
    ...(minCharSpacing !== undefined ? { minCharSpacing } : {}),
    ...(minScaleX !== undefined ? { minScaleX } : {}),
  };
}

function qrFormat(
  qr: unknown,
  fail: Fail,
): { value: string; ecc: QrEcc; style: QrStyle } {
  if (!isRecord(qr)) {
    return fail(
      "qr",
      `must be an object such as { "value": "https://x.example/{{id}}" }, got ${
        show(qr)
      }`,
    );
  }
  for (const key of Object.keys(qr)) {
    if (!QR_KEYS.some((known) => known === key)) {
      fail(
        "qr",
        `has an unknown key ${show(key)}; known: ${QR_KEYS.join(", ")}`,
      );
    }
  }
  const value = own(qr, "value");
  if (typeof value !== "string" || value === "") {
    return fail("qr.value", `must be a non-empty string, got ${show(value)}`);
  }
  const ecc = optional(own(qr, "ecc"), (given) => {
    const level = typeof given === "string"
      ? QR_ECC_LEVELS.find((l) => l === given.toUpperCase())
      : undefined;
    return level ??
      fail("qr.ecc", `must be ${choices(QR_ECC_LEVELS)}, got ${show(given)}`);
  });
  const quietZone = optional(own(qr, "quietZone"), (zone) => {
    if (
      typeof zone !== "number" || !Number.isInteger(zone) || zone < 0 ||
      zone > MAX_QUIET_ZONE
    ) {
      fail(
        "qr.quietZone",
        `must be a whole number of modules from 0 to ${MAX_QUIET_ZONE}, got ${
          show(zone)
        }`,
      );
    }
    return zone;
  });
  const colour = (key: "color" | "background") =>
    optional(own(qr, key), (paint) => {
      if (!isCssColour(paint)) {
        fail(
          `qr.${key}`,
          `must be a CSS colour (#rrggbb, rgb(…), hsl(…) or a colour name), got ${
            show(paint)
          }`,
        );
      }
      return paint;
    });
  const defaults = FORMAT_DEFAULTS.qr;
  return {
    value,
    ecc: ecc ?? defaults.ecc,
    style: {
      kind: "qr",
      quietZone: quietZone ?? defaults.quietZone,
      color: colour("color") ?? defaults.color,
      background: colour("background") ?? defaults.background,
    },
  };
}

function barcodeFormat(
  barcode: unknown,
  object: Readonly<Record<string, unknown>>,
  fail: Fail,
): { spec: BarcodeSpec; style: BarcodeStyle } {
  if (!isRecord(barcode)) {
    return fail(
      "barcode",
      `must be an object such as { "type": "code128", "value": "{{id}}" }, got ${
        show(barcode)
      }`,
    );
  }
  for (const key of Object.keys(barcode)) {
    if (!BARCODE_KEYS.some((known) => known === key)) {
      fail(
        "barcode",
        `has an unknown key ${show(key)}; known: ${BARCODE_KEYS.join(", ")}`,
      );
    }
  }
  const type = oneOf(own(barcode, "type"), BARCODE_TYPES, "barcode.type", fail);
  const value = own(barcode, "value");
  if (typeof value !== "string" || value === "") {
    return fail(
      "barcode.value",
      `must be a non-empty string, got ${show(value)}`,
    );
  }
  const text = optional(own(barcode, "text"), (shown) => {
    if (typeof shown !== "boolean") {
      fail("barcode.text", `must be true or false, got ${show(shown)}`);
    }
    if (!BARCODE_TEXT_TYPES.includes(type)) {
      fail(
        "barcode.text",
        `applies to ${choices(BARCODE_TEXT_TYPES)} only, not ${show(type)}`,
      );
    }
    return shown;
  });
  const quietZone = optional(own(barcode, "quietZone"), (zone) => {
    if (
      typeof zone !== "number" || !Number.isInteger(zone) || zone < 0 ||
      zone > MAX_QUIET_ZONE
    ) {
      fail(
        "barcode.quietZone",
        `must be a whole number of modules from 0 to ${MAX_QUIET_ZONE}, got ${
          show(zone)
        }`,
      );
    }
    return zone;
  });
  const colour = (key: "color" | "background") =>
    optional(own(barcode, key), (paint) => {
      if (!isCssColour(paint)) {
        fail(
          `barcode.${key}`,
          `must be a CSS colour (#rrggbb, rgb(…), hsl(…) or a colour name), got ${
            show(paint)
          }`,
        );
      }
      return paint;
    });
  const width = own(object, "width");
  const height = own(object, "height");
  if (!isPositive(width) || !isPositive(height)) {
    fail(
      "barcode",
      `needs the object's width and height, positive numbers, got ${
        show(width)
      } × ${show(height)}`,
    );
  }
  const defaults = BARCODE_DEFAULTS;
  return {
    spec: {
      type,
      value,
      text: text ?? defaults.text[type],
      quietZone: quietZone ?? defaults.quietZone[type],
      aspect: (width as number) / (height as number),
    },
    style: {
      kind: "barcode",
      color: colour("color") ?? defaults.color,
      background: colour("background") ?? defaults.background,
    },
  };
}

/**
 * Whether `value` is a CSS colour a canvas takes: `#rgb`, `#rgba`,
 * `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()`/`hsl()`/`hsla()` (comma or space
 * separated, with an optional alpha) or one of the named colours.
 */
export function isCssColour(value: unknown): value is string {
  if (typeof value !== "string") return false;
  const text = value.toLowerCase();
  if (/^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/.test(text)) return true;
  if (NAMED_COLOURS.has(text)) return true;
  const call = /^(rgba?|hsla?)\(\s*([^()]*?)\s*\)$/.exec(text);
  if (!call) return false;
  const rgb = call[1]!.startsWith("rgb");
  const args = call[2]!;
  const legacy = args.includes(",");
  let parts: string[];
  let alpha: string | undefined;
  if (legacy) {
    parts = args.split(/\s*,\s*/);
    if (parts.length === 4) alpha = parts.pop();
  } else {
    const [channels = "", rest, ...more] = args.split(/\s*\/\s*/);
    if (more.length > 0) return false;
    parts = channels.split(/\s+/);
    alpha = rest;
  }
  if (parts.length !== 3) return false;
  const [first = "", ...others] = parts;
  // The comma syntax takes three numbers or three percentages for rgb(), and
  // percentages for hsl()'s saturation and lightness; the space syntax mixes.
  const channels = rgb
    ? legacy
      ? parts.every(isNumber) || parts.every(isPercent)
      : parts.every((p) => isNumber(p) || isPercent(p))
    : (isNumber(first) || ANGLE.test(first)) &&
      others.every((p) => isPercent(p) || (!legacy && isNumber(p)));
  return channels &&
    (alpha === undefined || isNumber(alpha) || isPercent(alpha));
}

const NUM = String.raw`[+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?`;
const NUMBER = new RegExp(`^${NUM}$`);
const PERCENT = new RegExp(`^${NUM}%$`);
const ANGLE = new RegExp(`^${NUM}(?:deg|rad|grad|turn)$`);

function isNumber(text: string): boolean {
  return NUMBER.test(text);
}

function isPercent(text: string): boolean {
  return PERCENT.test(text);
}

/** CSS's named colours (CSS Color 4), and `transparent`. */
const NAMED_COLOURS: ReadonlySet<string> = new Set(
  ("aliceblue antiquewhite aqua aquamarine azure beige bisque black " +
    "blanchedalmond blue blueviolet brown burlywood cadetblue chartreuse " +
    "chocolate coral cornflowerblue cornsilk crimson cyan darkblue darkcyan " +
    "darkgoldenrod darkgray darkgreen darkgrey darkkhaki darkmagenta " +
    "darkolivegreen darkorange darkorchid darkred darksalmon darkseagreen " +
    "darkslateblue darkslategray darkslategrey darkturquoise darkviolet " +
    "deeppink deepskyblue dimgray dimgrey dodgerblue firebrick floralwhite " +
    "forestgreen fuchsia gainsboro ghostwhite gold goldenrod gray green " +
    "greenyellow grey honeydew hotpink indianred indigo ivory khaki lavender " +
    "lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan " +
    "lightgoldenrodyellow lightgray lightgreen lightgrey lightpink " +
    "lightsalmon lightseagreen lightskyblue lightslategray lightslategrey " +
    "lightsteelblue lightyellow lime limegreen linen magenta maroon " +
    "mediumaquamarine mediumblue mediumorchid mediumpurple mediumseagreen " +
    "mediumslateblue mediumspringgreen mediumturquoise mediumvioletred " +
    "midnightblue mintcream mistyrose moccasin navajowhite navy oldlace " +
    "olive olivedrab orange orangered orchid palegoldenrod palegreen " +
    "paleturquoise palevioletred papayawhip peachpuff peru pink plum " +
    "powderblue purple rebeccapurple red rosybrown royalblue saddlebrown " +
    "salmon sandybrown seagreen seashell sienna silver skyblue slateblue " +
    "slategray slategrey snow springgreen steelblue tan teal thistle tomato " +
    "turquoise violet wheat white whitesmoke yellow yellowgreen transparent")
    .split(" "),
);

/** `value` if `key` is the object's own property (never an inherited one). */
function own(object: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** `check(value)` for a value that is set, else undefined (the default). */
function optional<T>(
  value: unknown,
  check: (value: unknown) => T,
): T | undefined {
  return value === undefined ? undefined : check(value);
}

/** `value` if it is one of `allowed`; else fails naming `key`. */
function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  key: string,
  fail: Fail,
): T {
  const found = allowed.find((a) => a === value);
  return found ?? fail(key, `must be ${choices(allowed)}, got ${show(value)}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `"a"`, `"a" or "b"`, `"a", "b" or "c"`. */
function choices(values: readonly string[]): string {
  const quoted = values.map((v) => JSON.stringify(v));
  return quoted.length < 2
    ? quoted.join("")
    : `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
}

function isPositive(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0;
}

/** A value for an error message; never throws, whatever JSON it gets. */
function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  if (typeof value !== "object" || value === null) return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}
