/**
 * Parse and validate templates: the pressrun wrapper (size, dpi, bleed, fonts,
 * canvas) or a bare Fabric `toJSON()` document with `width`/`height`.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { type PageGeometry, pageGeometry, type Unit } from "../pdf/geometry.ts";
import { fieldsIn } from "./fields.ts";

/** A font file the template brings along, loaded into every render page. */
export interface FontSpec {
  family: string;
  /** Path relative to the template's folder. */
  src: string;
  /** @default "400" */
  weight: string;
  /** @default "normal" */
  style: string;
}

/** Error-correction level of a QR code. */
export type QrEcc = "L" | "M" | "Q" | "H";

/** An object whose content or visibility depends on the record. */
export interface VariableObject {
  /** Stable id, also written into the canvas JSON as `pressrunId`. */
  id: string;
  /** Where the object sits in the template, for error messages. */
  path: string;
  kind: "text" | "image" | "qr" | "other";
  /** Text with placeholders (kind "text"). */
  text?: string;
  /** Image source with placeholders (kind "image"). */
  src?: string;
  /** QR payload with placeholders (kind "qr"). */
  qr?: { value: string; ecc: QrEcc };
  /** Field that must be truthy for the object to show. */
  visibleIf?: string;
}

/** A validated template, ready to be prepared for a render page. */
export interface Template {
  name: string;
  /** Where it came from (a path or a label), named in errors. */
  source: string;
  /** Folder that image and font paths are relative to. */
  baseDir: string;
  geometry: PageGeometry;
  /** Size of the design's own coordinate space, mapped onto the raster. */
  designWidth: number;
  designHeight: number;
  fonts: FontSpec[];
  /** The Fabric document, variable objects tagged with `pressrunId`. */
  canvas: FabricDocument;
  /** Objects with image sources (fixed or variable) and variable content. */
  variables: VariableObject[];
  /** Every field the template uses, in order of first use. */
  fields: string[];
}

/** A Fabric document as `canvas.toJSON()` writes it. */
export interface FabricDocument {
  objects: FabricObject[];
  [key: string]: unknown;
}
/** One serialised Fabric object. */
export type FabricObject = Record<string, unknown>;

const TEXT_TYPES = new Set(["textbox", "i-text", "itext", "text"]);
const SHAPE_TYPES = new Set([
  "rect",
  "circle",
  "ellipse",
  "triangle",
  "line",
  "polyline",
  "polygon",
  "path",
  "image",
  "group",
  ...TEXT_TYPES,
]);
const ECC_LEVELS = new Set(["L", "M", "Q", "H"]);
const UNITS = new Set(["in", "mm", "px"]);
/** Canvas objects at most, nested ones included. */
export const MAX_OBJECTS = 2000;

/** Reads a template file and validates it. Errors name the file and the field. */
export async function loadTemplate(path: string): Promise<Template> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`Cannot read template ${path}: ${errorText(error)}`, {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(
      `Cannot parse template ${path}: ${errorText(error)}`,
      { cause: error },
    );
  }
  return parseTemplate(json, { source: path, baseDir: dirname(resolve(path)) });
}

/**
 * Validates a template document. `source` names it in errors; `baseDir` is the
 * folder its relative asset paths resolve against.
 */
export function parseTemplate(
  json: unknown,
  options: { source: string; baseDir: string },
): Template {
  const { source } = options;
  const fail = (Type: ErrorConstructor, message: string): never => {
    throw new Type(`Invalid template ${source}: ${message}`);
  };
  if (!isRecord(json)) return fail(TypeError, "expected a JSON object");
  const wrapped = "canvas" in json;
  const canvas = wrapped ? json.canvas : json;
  if (!isRecord(canvas) || !Array.isArray(canvas.objects)) {
    return fail(
      TypeError,
      `${wrapped ? "canvas" : "document"} must have an "objects" array`,
    );
  }
  let geometry: PageGeometry;
  let designWidth: number;
  let designHeight: number;
  try {
    if (wrapped) {
      const size = json.size;
      if (!isRecord(size)) return fail(TypeError, `"size" is required`);
      const unit = size.unit ?? "in";
      if (typeof unit !== "string" || !UNITS.has(unit)) {
        return fail(TypeError, `size.unit must be in, mm or px, got ${unit}`);
      }
      geometry = pageGeometry(
        {
          width: size.width as number,
          height: size.height as number,
          unit: unit as Unit,
        },
        { bleed: json.bleed as number | undefined, dpi: json.dpi as number },
      );
      designWidth = positive(canvas.width, "canvas.width") ??
        geometry.pixelWidth;
      designHeight = positive(canvas.height, "canvas.height") ??
        geometry.pixelHeight;
    } else {
      const width = positive(canvas.width, "width");
      const height = positive(canvas.height, "height");
      if (width === undefined || height === undefined) {
        return fail(
          TypeError,
          "a bare Fabric document needs numeric width and height",
        );
      }
      geometry = pageGeometry({ width, height, unit: "px" }, { dpi: 72 });
      designWidth = width;
      designHeight = height;
    }
  } catch (error) {
    if (error instanceof Error && !error.message.startsWith("Invalid")) {
      const Type = error instanceof TypeError ? TypeError : RangeError;
      return fail(Type, error.message);
    }
    throw error;
  }
  const designRatio = designWidth / designHeight;
  const pageRatio = geometry.pixelWidth / geometry.pixelHeight;
  if (Math.abs(designRatio / pageRatio - 1) > 0.01) {
    fail(
      RangeError,
      `canvas is ${designWidth}×${designHeight} but the page with bleed is ` +
        `${geometry.pixelWidth}×${geometry.pixelHeight} px: the aspect ratios differ`,
    );
  }

  const fonts = wrapped ? parseFonts(json.fonts, fail) : [];
  const copy = structuredClone(canvas) as FabricDocument;
  const variables: VariableObject[] = [];
  let count = 0;
  const visit = (objects: unknown[], path: string) => {
    objects.forEach((object, i) => {
      const where = `${path}[${i}]`;
      if (!isRecord(object)) {
        return fail(TypeError, `${where} is not an object`);
      }
      if (++count > MAX_OBJECTS) {
        fail(RangeError, `more than ${MAX_OBJECTS} objects`);
      }
      const type = String(object.type ?? "").toLowerCase();
      if (!SHAPE_TYPES.has(type)) {
        fail(TypeError, `${where}.type "${object.type}" is not supported`);
      }
      const variable = describe(object, type, where, fail);
      if (variable) {
        variable.id = `v${variables.length}`;
        object.pressrunId = variable.id;
        variables.push(variable);
      }
      if (type === "group" && Array.isArray(object.objects)) {
        visit(object.objects, `${where}.objects`);
      }
    });
  };
  visit(copy.objects, wrapped ? "canvas.objects" : "objects");

  const fields = new Set<string>();
  for (const v of variables) {
    for (const text of [v.text, v.src, v.qr?.value]) {
      for (const f of fieldsIn(text ?? "")) fields.add(f);
    }
    if (v.visibleIf) fields.add(v.visibleIf);
  }
  return {
    name: typeof json.name === "string" ? json.name : source,
    source,
    baseDir: options.baseDir,
    geometry,
    designWidth,
    designHeight,
    fonts,
    canvas: copy,
    variables,
    fields: [...fields],
  };
}

function describe(
  object: FabricObject,
  type: string,
  where: string,
  fail: (Type: ErrorConstructor, message: string) => never,
): VariableObject | undefined {
  const v: VariableObject = { id: "", path: where, kind: "other" };
  if (object.visibleIf !== undefined) {
    const field = typeof object.visibleIf === "string"
      ? object.visibleIf.trim()
      : "";
    if (field === "") {
      fail(TypeError, `${where}.visibleIf must be a field name`);
    }
    v.visibleIf = field;
  }
  if (object.qr !== undefined) {
    const qr = object.qr;
    if (!isRecord(qr) || typeof qr.value !== "string" || qr.value === "") {
      return fail(TypeError, `${where}.qr.value must be a non-empty string`);
    }
    const ecc = String(qr.ecc ?? "M").toUpperCase();
    if (!ECC_LEVELS.has(ecc)) {
      fail(TypeError, `${where}.qr.ecc must be L, M, Q or H, got ${qr.ecc}`);
    }
    v.kind = "qr";
    v.qr = { value: qr.value, ecc: ecc as QrEcc };
  } else if (TEXT_TYPES.has(type)) {
    if (typeof object.text !== "string") {
      fail(TypeError, `${where}.text must be a string`);
    }
    if (fieldsIn(object.text as string).length === 0 && !v.visibleIf) {
      return undefined;
    }
    v.kind = "text";
    v.text = object.text as string;
  } else if (type === "image") {
    if (typeof object.src !== "string" || object.src === "") {
      fail(TypeError, `${where}.src must be a non-empty string`);
    }
    v.kind = "image";
    v.src = object.src as string;
  } else if (!v.visibleIf) {
    return undefined;
  }
  const [key, text] = v.kind === "qr"
    ? ["qr.value", v.qr!.value]
    : v.kind === "image"
    ? ["src", v.src!]
    : ["text", v.text ?? ""];
  if (fieldsIn(text).includes("")) {
    fail(SyntaxError, `${where}.${key} has an empty {{}} placeholder`);
  }
  return v;
}

function parseFonts(
  value: unknown,
  fail: (Type: ErrorConstructor, message: string) => never,
): FontSpec[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return fail(TypeError, `"fonts" must be an array`);
  return value.map((font, i) => {
    if (
      !isRecord(font) || typeof font.family !== "string" ||
      typeof font.src !== "string"
    ) {
      return fail(TypeError, `fonts[${i}] needs a family and a src`);
    }
    return {
      family: font.family,
      src: font.src,
      weight: String(font.weight ?? "400"),
      style: String(font.style ?? "normal"),
    };
  });
}

function positive(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${field} must be a positive number, got ${value}`);
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
