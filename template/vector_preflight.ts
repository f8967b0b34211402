/**
 * Whether a template prints as a vector PDF: what Fabric's `toSVG()` cannot
 * carry is found before anything renders. A blend mode
 * (`globalCompositeOperation` other than `source-over`) is dropped by the SVG
 * export without a word, so the piece would print differently from its
 * design: that is a {@linkcode TemplateError} naming the object. Stroked text
 * prints, but Chromium writes stroked glyphs as Type 3 fonts, which presses
 * reject, so those records come out as raster pages: that is a warning.
 *
 * @module
 */
import { TemplateError } from "../common/errors.ts";
import type { FabricObject, Template } from "./parse.ts";

/** One object of the template, where it is. */
interface Placed {
  object: FabricObject;
  /** `canvas.objects[3]`, `canvas.objects[2].objects[0]`, `….clipPath`. */
  path: string;
  type: string;
}

const TEXT = new Set(["textbox", "itext", "i-text", "text"]);

/**
 * Throws a {@linkcode TemplateError} naming the first object of `template`
 * that cannot be exported to SVG as drawn, and why: `Cannot print t.json as
 * a vector PDF: canvas.objects[3] (Rect) "globalCompositeOperation" is
 * "multiply", a blend mode Fabric's SVG export drops`.
 */
export function checkVectorExport(
  template: Pick<Template, "canvas" | "source">,
): void {
  for (const { object, path, type } of objectsOf(template)) {
    const blend = object.globalCompositeOperation;
    if (blend !== undefined && blend !== null && blend !== "source-over") {
      throw new TemplateError(
        `Cannot print ${template.source} as a vector PDF: ${path} (${type}) ` +
          `"globalCompositeOperation" is ${
            JSON.stringify(blend)
          }, a blend mode Fabric's SVG export drops ` +
          `(remove it, or use --pdf-mode raster / pdfMode "raster")`,
        {
          location: {
            source: template.source,
            field: `${path}.globalCompositeOperation`,
          },
        },
      );
    }
  }
}

/**
 * Warnings for a vector print of `template` that does not stop it: text
 * objects with a stroke (their records print as raster pages, since
 * Chromium writes stroked glyphs as Type 3 fonts).
 */
export function vectorWarnings(
  template: Pick<Template, "canvas" | "source">,
): string[] {
  const warnings: string[] = [];
  for (const { object, path, type } of objectsOf(template)) {
    if (!TEXT.has(type.toLowerCase())) continue;
    const stroke = object.stroke;
    const width = typeof object.strokeWidth === "number"
      ? object.strokeWidth
      : 1;
    if (typeof stroke === "string" && stroke !== "" && width > 0) {
      warnings.push(
        `${template.source}: ${path} (${type}) has a stroke; Chromium prints stroked text as Type 3 fonts, so its records print as raster pages`,
      );
    }
  }
  return warnings;
}

/** Every object of the template: groups' members and clip paths too. */
function* objectsOf(
  template: Pick<Template, "canvas">,
): Generator<Placed, void, undefined> {
  const stack: Placed[] = [];
  const push = (list: unknown, at: string) => {
    if (!Array.isArray(list)) return;
    for (let i = list.length - 1; i >= 0; i--) {
      const object = list[i];
      if (object && typeof object === "object") {
        const o = object as FabricObject;
        stack.push({
          object: o,
          path: `${at}[${i}]`,
          type: typeof o.type === "string" ? o.type : "object",
        });
      }
    }
  };
  push(template.canvas.objects, "canvas.objects");
  while (stack.length > 0) {
    const placed = stack.pop()!;
    yield placed;
    const { object, path } = placed;
    const clip = object.clipPath;
    if (clip && typeof clip === "object") {
      const o = clip as FabricObject;
      stack.push({
        object: o,
        path: `${path}.clipPath`,
        type: typeof o.type === "string" ? o.type : "object",
      });
    }
    push(object.objects, `${path}.objects`);
  }
}
