/**
 * The template format's extensions to Fabric objects, declared and validated
 * in one place, with their defaults:
 *
 * - text (`Textbox`, `IText`, `Text`): `"fit": "shrink"` and `"minFontSize"`
 *   (a positive number, at most the text's `fontSize`; default 6);
 * - images: `"fit"`: `"cover"` (default), `"contain"` or `"fill"`;
 * - any object: `"qr": { value, ecc, quietZone, color, background }` draws a
 *   QR code over its box (`ecc` L, M, Q or H, default M; `quietZone` a whole
 *   number of modules from 0 to {@linkcode MAX_QUIET_ZONE}, default 4;
 *   `color` and `background` CSS colours, default black on white; no other
 *   keys);
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

/** How a text fits its box: `"shrink"` lowers the font size until it fits. */
export type TextFit = "shrink";
/** How an image fills its box. */
export type ImageFit = "cover" | "contain" | "fill";
/** Error-correction level of a QR code. */
export type QrEcc = "L" | "M" | "Q" | "H";

/** The values `fit` takes on a text. */
export const TEXT_FITS: readonly TextFit[] = ["shrink"];
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

/** A text's fit. */
export interface TextStyle {
  kind: "text";
  /** Shrink the text to fit the box; unset, it keeps its font size. */
  fit?: TextFit;
  /** Smallest font size shrinking may reach. */
  minFontSize: number;
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

/** An object the page draws as Fabric does. */
export interface OtherStyle {
  kind: "other";
}

/** What the render page needs to draw an object: its kind and its settings. */
export type ObjectStyle = TextStyle | ImageStyle | QrStyle | OtherStyle;

/** One object's extensions, validated, with defaults filled in. */
export interface ObjectFormat {
  /** How the page draws it: a QR code, else by its Fabric type. */
  style: ObjectStyle;
  /** The field that must be set for the object to show. */
  visibleIf?: string;
  /** The QR code's content (with placeholders) and error correction. */
  qr?: { value: string; ecc: QrEcc };
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
 * "shrink", got "shrnk"`.
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
    const fontSize = own(object, "fontSize");
    if (
      textFit && minFontSize !== undefined && typeof fontSize === "number" &&
      minFontSize > fontSize
    ) {
      fail(
        "minFontSize",
        `must be at most the fontSize ${fontSize} to shrink to, got ${minFontSize}`,
      );
    }
    format.style = {
      kind: "text",
      ...(textFit ? { fit: textFit } : {}),
      minFontSize: minFontSize ?? FORMAT_DEFAULTS.minFontSize,
    };
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
  return format;
}

/** Throws the {@linkcode TemplateError} for `key` of the object at hand. */
type Fail = (key: string, problem: string) => never;

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
