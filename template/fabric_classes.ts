/**
 * The Fabric classes a template may name: object `type`s and image
 * `filters[].type`s, written once. parse.ts refuses anything else at upload;
 * tests/template_registry_test.ts checks every name against the render page's
 * own Fabric (its class registry, and a render of each filter), and every
 * filter that Fabric has against these lists, so a Fabric upgrade that
 * changes them fails a test instead of a preview.
 *
 * @module
 */

/**
 * Object classes, as Fabric names them (`Rect.type`, what `toJSON()` writes).
 * Fabric's registry also takes each name in lower case, and "i-text" for
 * IText (what Fabric 5 wrote); nothing else, and no other letter case.
 */
export const OBJECT_CLASSES = [
  "Circle",
  "Ellipse",
  "Group",
  "IText",
  "Image",
  "Line",
  "Path",
  "Polygon",
  "Polyline",
  "Rect",
  "Text",
  "Textbox",
  "Triangle",
] as const;

/** Every spelling of {@linkcode OBJECT_CLASSES} Fabric's registry takes. */
export const OBJECT_TYPES: ReadonlySet<string> = new Set([
  ...OBJECT_CLASSES,
  ...OBJECT_CLASSES.map((name) => name.toLowerCase()),
  "i-text",
]);

/** Gradient fills' types, as Fabric's registry takes them (lower case only). */
export const GRADIENT_TYPES: ReadonlySet<string> = new Set([
  "linear",
  "radial",
]);

/** Pattern fills' types, as Fabric's registry takes them. */
export const PATTERN_TYPES: ReadonlySet<string> = new Set([
  "Pattern",
  "pattern",
]);

/**
 * Image filters the render page draws, as Fabric names them (the filter's
 * `type`, exact: the colour-matrix presets such as Sepia have no lower-case
 * name in Fabric's registry).
 */
export const IMAGE_FILTERS = [
  "BlackWhite",
  "BlendColor",
  "Blur",
  "Brightness",
  "Brownie",
  "ColorMatrix",
  "Contrast",
  "Gamma",
  "Grayscale",
  "HueRotation",
  "Invert",
  "Kodachrome",
  "Noise",
  "Pixelate",
  "Polaroid",
  "RemoveColor",
  "Resize",
  "Saturation",
  "Sepia",
  "Technicolor",
  "Vibrance",
  "Vintage",
] as const;

/** Fabric's other filters, and why a template may not use them. */
export const REFUSED_FILTERS: Readonly<Record<string, string>> = {
  BlendImage:
    "it loads a second image inside the page, past the asset policy, which the page cannot fetch",
  Composed: "list its filters in the image's filters instead",
  Convolute:
    "the render page drops the image when it is opaque, and for matrices it has no shader for",
};

/** Whether `type` is one of {@linkcode IMAGE_FILTERS}. */
export function isImageFilter(type: unknown): boolean {
  return typeof type === "string" &&
    (IMAGE_FILTERS as readonly string[]).includes(type);
}
