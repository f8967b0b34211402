/**
 * Parse and validate templates: the pressrun wrapper (size, dpi, bleed, fonts,
 * canvas) or a bare Fabric `toJSON()` document with `width`/`height`.
 *
 * @module
 */
import { optionalFields } from "./field_rules.ts";
import { dirname, resolve } from "node:path";
import { TemplateError } from "../common/errors.ts";
import { fileErrorReason } from "./_file_error.ts";
import { type PageGeometry, pageGeometry, type Unit } from "../pdf/geometry.ts";
import {
  GRADIENT_TYPES,
  IMAGE_FILTERS,
  isImageFilter,
  OBJECT_CLASSES,
  OBJECT_TYPES,
  PATTERN_TYPES,
  REFUSED_FILTERS,
} from "./fabric_classes.ts";
import { fieldsIn } from "./fields.ts";
import { type DesignArea, designArea, type PageOption } from "./page_option.ts";
import { checkDocumentShape, checkJsonText } from "./json_limits.ts";
import {
  type BarcodeSpec,
  type ObjectFormat,
  objectFormat,
  type ObjectStyle,
  type QrEcc,
  TEXT_TYPES,
} from "./format.ts";

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

/** An object whose content or visibility depends on the record. */
export interface VariableObject {
  /** Stable id, also written into the canvas JSON as `pressrunId`. */
  id: string;
  /** Where the object sits in the template, for error messages. */
  path: string;
  kind: "text" | "image" | "qr" | "barcode" | "other";
  /** Text with placeholders (kind "text"). */
  text?: string;
  /** Image source with placeholders (kind "image"). */
  src?: string;
  /** QR payload with placeholders (kind "qr"). */
  qr?: { value: string; ecc: QrEcc };
  /** Barcode settings, its value with placeholders (kind "barcode"). */
  barcode?: BarcodeSpec;
  /** Field that must be truthy for the object to show. */
  visibleIf?: string;
  /** How the render page draws it, from {@linkcode objectFormat}. */
  style: ObjectStyle;
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
  /**
   * The design-space point at the page's top-left corner (bleed included):
   * 0, 0 but for a bare document whose workspace is elsewhere.
   */
  designLeft: number;
  designTop: number;
  fonts: FontSpec[];
  /** The Fabric document, variable objects tagged with `pressrunId`. */
  canvas: FabricDocument;
  /** Objects with image sources (fixed or variable) and variable content. */
  variables: VariableObject[];
  /** Every field the template uses, in order of first use. */
  fields: string[];
  /**
   * The fields a record may leave empty (see `field_rules.ts`); the others
   * are required.
   */
  optionalFields: string[];
}

/** A Fabric document as `canvas.toJSON()` writes it. */
export interface FabricDocument {
  objects: FabricObject[];
  [key: string]: unknown;
}
/** One serialised Fabric object. */
export type FabricObject = Record<string, unknown>;

const UNITS = new Set(["in", "mm", "px"]);
/** Canvas objects at most, nested ones included. */
export const MAX_OBJECTS = 2000;
/** Longest side Chromium draws a canvas with, in pixels. */
export const MAX_PIXEL_SIDE = 32_767;
/** Largest canvas area Chromium draws, in pixels (2²⁸). */
export const MAX_PIXEL_AREA = 268_435_456;
/** Longest `text` of a text object, in UTF-16 code units. */
export const MAX_TEXT_LENGTH = 10_000;
/** Groups inside groups at most. */
export const MAX_GROUP_DEPTH = 20;

/** Throws the {@linkcode TemplateError} of a template, naming a field. */
type Fail = (message: string, field?: string) => never;

/** Options for {@linkcode loadTemplate}. */
export interface LoadOptions {
  /**
   * How errors name the template. A server names a stored template by what
   * its user knows, never by its path in the data folder.
   *
   * @default {the path as given}
   */
  source?: string;
  /** The page of a bare Fabric document, from the user; see page_option.ts. */
  page?: PageOption;
}

/**
 * Reads a template file and validates it. Errors name the file (or
 * `options.source`) and the field. The text's size and nesting are checked
 * ({@linkcode checkJsonText}) before it is parsed.
 */
export async function loadTemplate(
  path: string,
  options: LoadOptions = {},
): Promise<Template> {
  const source = options.source ?? path;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = options.source === undefined
      ? errorText(error)
      : fileErrorReason(error);
    throw new TemplateError(
      `Cannot read template ${source}: ${reason}`,
      { cause: error, location: { source } },
    );
  }
  checkJsonText(text, source);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TemplateError(
      `Cannot parse template ${source}: ${errorText(error)}`,
      { cause: error, location: { source } },
    );
  }
  return parseTemplate(json, {
    source,
    baseDir: dirname(resolve(path)),
    page: options.page,
  });
}

/**
 * Validates a template document. `source` names it in errors; `baseDir` is the
 * folder its relative asset paths resolve against. The whole document's size
 * and nesting are checked first ({@linkcode checkDocumentShape}), every key
 * included, so nothing below walks or copies an oversized one.
 */
export function parseTemplate(
  json: unknown,
  options: { source: string; baseDir: string; page?: PageOption },
): Template {
  const { source } = options;
  checkDocumentShape(json, source);
  const fail: Fail = (message, field) => {
    throw new TemplateError(`Invalid template ${source}: ${message}`, {
      location: { source, field },
    });
  };
  if (!isRecord(json)) return fail("expected a JSON object");
  const wrapped = "canvas" in json;
  const canvas = wrapped ? json.canvas : json;
  if (!isRecord(canvas) || !Array.isArray(canvas.objects)) {
    return fail(
      `${wrapped ? "canvas" : "document"} must have an "objects" array`,
    );
  }
  let geometry: PageGeometry;
  let designWidth: number;
  let designHeight: number;
  /** The design-space point at the page's top-left corner (bleed included). */
  let designLeft = 0;
  let designTop = 0;
  try {
    if (wrapped && options.page) {
      return fail(
        `the template sets its own "size"; a page size (--page, --size, --dpi, --bleed) is for a bare Fabric document`,
      );
    }
    if (wrapped) {
      const size = json.size;
      if (!isRecord(size)) return fail(`"size" is required`, "size");
      const unit = size.unit ?? "in";
      if (typeof unit !== "string" || !UNITS.has(unit)) {
        return fail(
          `size.unit must be in, mm or px, got ${show(unit)}`,
        );
      }
      geometry = pageGeometry(
        {
          width: number(size.width, "size.width"),
          height: number(size.height, "size.height"),
          unit: unit as Unit,
        },
        {
          bleed: json.bleed === undefined ? 0 : number(json.bleed, "bleed"),
          dpi: json.dpi === undefined ? 300 : number(json.dpi, "dpi"),
        },
      );
      designWidth = positive(canvas.width, "canvas.width") ??
        geometry.pixelWidth;
      designHeight = positive(canvas.height, "canvas.height") ??
        geometry.pixelHeight;
    } else {
      const page = barePage(canvas, options.page, fail);
      geometry = page.geometry;
      ({ designLeft, designTop, designWidth, designHeight } = page);
    }
  } catch (error) {
    // The size checks of number(), positive() and pageGeometry().
    if (error instanceof TypeError || error instanceof RangeError) {
      return fail(error.message);
    }
    throw error;
  }
  checkRaster(geometry, fail);
  const designRatio = designWidth / designHeight;
  const pageRatio = geometry.pixelWidth / geometry.pixelHeight;
  if (Math.abs(designRatio / pageRatio - 1) > 0.01) {
    fail(
      `canvas is ${designWidth}×${designHeight} but the page with bleed is ` +
        `${geometry.pixelWidth}×${geometry.pixelHeight} px: the aspect ratios differ`,
    );
  }

  const fonts = wrapped ? parseFonts(json.fonts, fail) : [];
  const copy = structuredClone(canvas) as FabricDocument;
  const variables: VariableObject[] = [];
  let count = 0;
  const visit = (objects: unknown[], path: string, depth: number) => {
    // Not forEach(): it would skip the holes of a sparse array.
    for (let i = 0; i < objects.length; i++) {
      const object = objects[i];
      const where = `${path}[${i}]`;
      if (!isRecord(object)) {
        return fail(`${where} is not an object`, where);
      }
      if (++count > MAX_OBJECTS) {
        fail(`more than ${MAX_OBJECTS} objects`);
      }
      checkType(object.type, `${where}.type`, fail);
      const type = (object.type as string).toLowerCase();
      // A pressrunId from the input would let an object stand in for another.
      delete object.pressrunId;
      checkPaints(object, where, fail);
      if (type === "image") checkFilters(object, where, fail);
      const format = objectFormat(object, {
        source,
        path: where,
        type: object.type as string,
      });
      const variable = describe(object, type, where, format, fail);
      if (variable) {
        variable.id = `v${variables.length}`;
        object.pressrunId = variable.id;
        variables.push(variable);
      }
      if (object.objects === undefined) continue;
      if (type !== "group") {
        fail(`${where}.objects is only allowed on a group`, `${where}.objects`);
      }
      if (!Array.isArray(object.objects)) {
        fail(`${where}.objects must be an array`, `${where}.objects`);
      }
      if (depth === MAX_GROUP_DEPTH) {
        fail(
          `${where} is a group nested ${
            depth + 1
          } deep, the limit is ${MAX_GROUP_DEPTH}`,
        );
      }
      visit(object.objects as unknown[], `${where}.objects`, depth + 1);
    }
  };
  visit(copy.objects, wrapped ? "canvas.objects" : "objects", 0);

  const fields = new Set<string>();
  for (const v of variables) {
    for (const text of [v.text, v.src, v.qr?.value, v.barcode?.value]) {
      for (const f of fieldsIn(text ?? "")) fields.add(f);
    }
    if (v.visibleIf) fields.add(v.visibleIf);
  }
  const optional = optionalFields(wrapped ? json.fields : undefined, {
    fields: [...fields],
    visibleIf: variables.flatMap((v) => v.visibleIf ?? []),
  }, fail);
  return {
    name: typeof json.name === "string" ? json.name : source,
    source,
    baseDir: options.baseDir,
    geometry,
    designWidth,
    designHeight,
    designLeft,
    designTop,
    fonts,
    canvas: copy,
    variables,
    fields: [...fields],
    optionalFields: optional,
  };
}

function describe(
  object: FabricObject,
  type: string,
  where: string,
  format: ObjectFormat,
  fail: Fail,
): VariableObject | undefined {
  const v: VariableObject = {
    id: "",
    path: where,
    kind: "other",
    style: format.style,
  };
  if (format.visibleIf !== undefined) v.visibleIf = format.visibleIf;
  if (format.qr) {
    v.kind = "qr";
    v.qr = format.qr;
  } else if (format.barcode) {
    v.kind = "barcode";
    v.barcode = format.barcode;
  } else if (TEXT_TYPES.has(type)) {
    if (typeof object.text !== "string") {
      fail(`${where}.text must be a string`, `${where}.text`);
    }
    const length = (object.text as string).length;
    if (length > MAX_TEXT_LENGTH) {
      fail(
        `${where}.text is ${length} characters long, the limit is ${MAX_TEXT_LENGTH}`,
      );
    }
    if (fieldsIn(object.text as string).length === 0 && !v.visibleIf) {
      return undefined;
    }
    v.kind = "text";
    v.text = object.text as string;
  } else if (type === "image") {
    if (typeof object.src !== "string" || object.src === "") {
      fail(`${where}.src must be a non-empty string`, `${where}.src`);
    }
    v.kind = "image";
    v.src = object.src as string;
  } else if (!v.visibleIf) {
    return undefined;
  }
  const [key, text] = v.kind === "qr"
    ? ["qr.value", v.qr!.value]
    : v.kind === "barcode"
    ? ["barcode.value", v.barcode!.value]
    : v.kind === "image"
    ? ["src", v.src!]
    : ["text", v.text ?? ""];
  if (fieldsIn(text).includes("")) {
    fail(`${where}.${key} has an empty {{}} placeholder`, `${where}.${key}`);
  }
  return v;
}

function parseFonts(
  value: unknown,
  fail: Fail,
): FontSpec[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return fail(`"fonts" must be an array`, "fonts");
  return value.map((font, i) => {
    if (
      !isRecord(font) || typeof font.family !== "string" ||
      typeof font.src !== "string"
    ) {
      return fail(`fonts[${i}] needs a family and a src`, `fonts[${i}]`);
    }
    const [weight, style] = [font.weight ?? "400", font.style ?? "normal"];
    if (typeof weight !== "string" && typeof weight !== "number") {
      return fail(
        `fonts[${i}].weight must be a string or number`,
        `fonts[${i}].weight`,
      );
    }
    if (typeof style !== "string") {
      return fail(`fonts[${i}].style must be a string`, `fonts[${i}].style`);
    }
    return {
      family: font.family,
      src: font.src,
      weight: String(weight),
      style,
    };
  });
}

/**
 * Paint and clip properties are data too: a pattern's image must be a data:
 * URL (the page fetches nothing), and a clip path one of the shapes.
 */
function checkPaints(
  object: FabricObject,
  where: string,
  fail: Fail,
): void {
  for (const key of ["fill", "stroke", "backgroundColor"]) {
    const paint = object[key];
    if (paint === null || paint === undefined || typeof paint === "string") {
      continue;
    }
    if (!isRecord(paint)) {
      fail(`${where}.${key} must be a colour`, `${where}.${key}`);
    }
    const kind = (paint as FabricObject).type;
    if (GRADIENT_TYPES.has(kind as string)) continue;
    const source = (paint as FabricObject).source;
    if (
      !PATTERN_TYPES.has(kind as string) || typeof source !== "string" ||
      !/^data:image\/(png|jpeg|gif|webp);base64,/i.test(source)
    ) {
      fail(
        `${where}.${key} must be a colour, a gradient or a pattern with a data:image source`,
      );
    }
  }
  const clip = object.clipPath;
  if (clip === undefined || clip === null) return;
  checkClip(clip, `${where}.clipPath`, 0, fail);
}

/**
 * A clip path is a shape, or a group of shapes and paths (groups nested at
 * most {@linkcode MAX_GROUP_DEPTH} deep, at most {@linkcode MAX_OBJECTS}
 * members), as Fabric draws them; an image is not.
 */
function checkClip(
  clip: unknown,
  where: string,
  depth: number,
  fail: Fail,
  count = { members: 0 },
): void {
  const type = isRecord(clip) ? clip.type : undefined;
  if (
    !OBJECT_TYPES.has(type as string) || /^image$/i.test(type as string)
  ) {
    fail(
      `${where} must be a shape or a group of shapes, got ${
        show(isRecord(clip) ? clip.type : clip)
      }`,
      `${where}.type`,
    );
  }
  const shape = clip as FabricObject;
  checkPaints(shape, where, fail);
  if (!/^group$/i.test(type as string)) return;
  if (!Array.isArray(shape.objects)) {
    fail(`${where}.objects must be an array`, `${where}.objects`);
  }
  if (depth === MAX_GROUP_DEPTH) {
    fail(
      `${where} is a group nested ${
        depth + 1
      } deep, the limit is ${MAX_GROUP_DEPTH}`,
    );
  }
  const members = shape.objects as unknown[];
  for (let i = 0; i < members.length; i++) {
    if (++count.members > MAX_OBJECTS) {
      fail(`${where} has more than ${MAX_OBJECTS} members`);
    }
    checkClip(members[i], `${where}.objects[${i}]`, depth + 1, fail, count);
  }
}

/**
 * Refuses an object `type` the render page's Fabric has no class for: one not
 * in {@linkcode OBJECT_TYPES}, letter case included ("RECT" is not "Rect").
 */
function checkType(type: unknown, field: string, fail: Fail): void {
  if (OBJECT_TYPES.has(type as string)) return;
  const known = typeof type === "string"
    ? OBJECT_CLASSES.find((name) => name.toLowerCase() === type.toLowerCase())
    : undefined;
  fail(
    known
      ? `${field} ${
        show(type)
      } is not supported: Fabric's type names are case-sensitive, write "${known}" or "${known.toLowerCase()}"`
      : `${field} ${show(type)} is not supported: the types are ${
        OBJECT_CLASSES.join(", ")
      } (or in lower case)`,
    field,
  );
}

/**
 * Refuses image filters the render page cannot draw: `filters` must be an
 * array of filters named in {@linkcode IMAGE_FILTERS}, and a `resizeFilter` a
 * Resize filter.
 */
function checkFilters(object: FabricObject, where: string, fail: Fail): void {
  const { filters, resizeFilter } = object;
  if (filters !== undefined && filters !== null) {
    if (!Array.isArray(filters)) {
      fail(`${where}.filters must be an array`, `${where}.filters`);
    }
    for (let i = 0; i < filters.length; i++) {
      const filter: unknown = filters[i];
      const field = `${where}.filters[${i}]`;
      if (!isRecord(filter)) fail(`${field} is not an object`, field);
      if (isImageFilter(filter.type)) continue;
      const why = typeof filter.type === "string" &&
          Object.hasOwn(REFUSED_FILTERS, filter.type)
        ? ` (${REFUSED_FILTERS[filter.type]})`
        : "";
      fail(
        `${field}.type ${
          show(filter.type)
        } is not supported${why}; the filters are ${IMAGE_FILTERS.join(", ")}`,
        `${field}.type`,
      );
    }
  }
  if (resizeFilter === undefined || resizeFilter === null) return;
  if (!isRecord(resizeFilter) || resizeFilter.type !== "Resize") {
    fail(
      `${where}.resizeFilter must be a Resize filter, got ${
        show(isRecord(resizeFilter) ? resizeFilter.type : resizeFilter)
      }`,
      `${where}.resizeFilter`,
    );
  }
}

function positive(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `${field} must be a positive number, got ${show(value)}`,
    );
  }
  return value;
}

/** `value` if it is a number (range checks are `pageGeometry()`'s). */
function number(value: unknown, field: string): number {
  if (typeof value !== "number") {
    throw new TypeError(`${field} must be a number, got ${show(value)}`);
  }
  return value;
}

/** Rejects a raster Chromium cannot draw: empty, or past its canvas limits. */
function checkRaster(
  { pixelWidth, pixelHeight, dpi }: PageGeometry,
  fail: Fail,
): void {
  const page = `the page is ${pixelWidth}×${pixelHeight} px at ${dpi} dpi`;
  if (pixelWidth < 1 || pixelHeight < 1) {
    fail(`${page}; it needs at least 1 px a side`);
  }
  if (pixelWidth > MAX_PIXEL_SIDE || pixelHeight > MAX_PIXEL_SIDE) {
    fail(
      `${page}; Chromium draws at most ${MAX_PIXEL_SIDE} px a side`,
    );
  }
  if (pixelWidth * pixelHeight > MAX_PIXEL_AREA) {
    fail(
      `${page}, ${
        pixelWidth * pixelHeight
      } px in all; Chromium draws at most ${MAX_PIXEL_AREA} px`,
    );
  }
}

/** A value for an error message; never throws, whatever JSON it gets. */
function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  if (typeof value !== "object" || value === null) return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The page of a bare Fabric document and the part of its design space that
 * maps onto it: from the user's `page` (trim size, dpi, bleed, design
 * extent), the document's workspace rectangle or clip path, or its own width
 * and height (see page_option.ts). A design area given in design units with
 * no trim size prints 1 design unit a point (72 dpi, as before), or 1 a
 * pixel at the user's dpi.
 */
function barePage(
  doc: Record<string, unknown>,
  given: PageOption | undefined,
  fail: Fail,
): {
  geometry: PageGeometry;
  designLeft: number;
  designTop: number;
  designWidth: number;
  designHeight: number;
} {
  let area: DesignArea | undefined;
  if (given?.size) {
    area = { left: 0, top: 0, ...given.size, from: "--size" };
  } else {
    try {
      area = designArea(doc);
    } catch (error) {
      if (error instanceof RangeError) fail(error.message);
      throw error;
    }
    if (!area) {
      const width = positive(doc.width, "width");
      const height = positive(doc.height, "height");
      if (width !== undefined && height !== undefined) {
        area = { left: 0, top: 0, width, height, from: "width and height" };
      }
    }
  }
  const dpi = given?.dpi ?? (given?.page ? 300 : 72);
  if (!area && !given?.page) {
    fail(
      "a bare Fabric document (as canvas.toJSON() writes it) says nothing of its page: " +
        'it has no width and height, no workspace rectangle (a Rect with id "workspace") ' +
        "and no clipPath. Give the page: --page 6x4in (with --dpi 300 and --bleed 0.125in " +
        "as needed) or the design's extent: --size 1800x1200 (the API's page, dpi, bleed " +
        "and size fields)",
    );
  }
  const bleedIn = given?.bleedIn ?? 0;
  const trim = given?.page ??
    { width: area!.width / dpi, height: area!.height / dpi, unit: "in" };
  const inches = (v: number) =>
    trim.unit === "mm" ? v / 25.4 : trim.unit === "px" ? v / dpi : v;
  const geometry = pageGeometry(
    { width: inches(trim.width), height: inches(trim.height), unit: "in" },
    { bleed: bleedIn, dpi },
  );
  // With no design area, the design is drawn a pixel a design unit.
  const region = area ?? {
    left: 0,
    top: 0,
    width: inches(trim.width) * dpi,
    height: inches(trim.height) * dpi,
    from: "--page",
  };
  const trimRatio = inches(trim.width) / inches(trim.height);
  if (Math.abs(region.width / region.height / trimRatio - 1) > 0.01) {
    fail(
      `${region.from} is ${region.width}×${region.height} but the page is ` +
        `${trim.width}×${trim.height} ${trim.unit}: the aspect ratios differ`,
    );
  }
  const perInch = region.width / inches(trim.width);
  const bleed = bleedIn * perInch;
  return {
    geometry,
    designLeft: region.left - bleed,
    designTop: region.top - bleed,
    designWidth: region.width + 2 * bleed,
    designHeight: region.height + 2 * bleed,
  };
}
