/**
 * What a render page needs to draw a template: the Fabric document with its
 * fixed images inlined, the fonts, the raster size and the settings of each
 * variable object. {@linkcode PageSpec} itself is part of the page's contract
 * in `render/page_api.ts`.
 *
 * @module
 */
import { TemplateError } from "../common/errors.ts";
import {
  boldFallbackFamilies,
  characterStyles,
  isBoldText,
  isBoldWeight,
  withFallbacks,
} from "./fonts.ts";
import type { PageSpec } from "../render/page_api.ts";
import { allSettledOrThrow } from "./_all.ts";
import { encodeBase64 } from "./_base64.ts";
import type { AssetResolver } from "./assets.ts";
import { hasPlaceholder } from "./fields.ts";
import type { FabricObject, Template } from "./parse.ts";

export type { PageFont, PageSpec, PageVariable } from "../render/page_api.ts";

/** Most bytes of inlined images one template may send to a page. */
export const MAX_INLINED = 128 * 2 ** 20;

/** A transparent 1×1 PNG: the stand-in for variable images until a record sets them. */
export const BLANK_IMAGE =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/**
 * Builds the page spec: fixed image sources become `data:` URLs, variable ones
 * the blank stand-in; font files are read; each variable object's validated
 * settings go along; bold text gets script fallbacks with real bold faces
 * ({@linkcode appendBoldFallbacks}). Errors name the template and object.
 */
export async function pageSpec(
  template: Template,
  assets: AssetResolver,
): Promise<PageSpec> {
  const canvas = structuredClone(template.canvas);
  const byId = new Map<string, FabricObject>();
  const walk = (objects: FabricObject[]) => {
    for (const object of objects) {
      if (typeof object.pressrunId === "string") {
        byId.set(object.pressrunId, object);
      }
      if (Array.isArray(object.objects)) walk(object.objects as FabricObject[]);
    }
  };
  walk(canvas.objects);
  appendBoldFallbacks(canvas.objects, await boldFallbackFamilies());
  let inlined = 0;
  for (const v of template.variables) {
    if (v.kind !== "image" || v.src === undefined) continue;
    const object = byId.get(v.id)!;
    object.src = hasPlaceholder(v.src)
      ? BLANK_IMAGE
      : await assets.imageDataUrl(v.src, `${template.source} ${v.path}.src`);
    // Every image object carries its own copy into the page.
    inlined += (object.src as string).length;
    if (inlined > MAX_INLINED) {
      throw new TemplateError(
        `Invalid template ${template.source}: its images add up to more than ${
          MAX_INLINED / 2 ** 20
        } MiB (${v.path} and the ones before it)`,
        { location: { source: template.source, field: `${v.path}.src` } },
      );
    }
  }
  const fonts = await allSettledOrThrow(template.fonts.map(async (font, i) => ({
    family: font.family,
    weight: font.weight,
    style: font.style,
    data: encodeBase64(
      await assets.file(font.src, `${template.source} fonts[${i}].src`),
    ),
  })));
  const { pixelWidth, pixelHeight } = template.geometry;
  return {
    canvas,
    pixelWidth,
    pixelHeight,
    zoom: pixelWidth / template.designWidth,
    origin: { x: template.designLeft, y: template.designTop },
    fonts,
    variables: template.variables.map((v) => ({ id: v.id, ...v.style })),
    print: { geometry: template.geometry, name: template.name },
  };
}

/** Fabric's text types (Fabric 7 JSON, and the older lower-case names). */
const TEXT_TYPES = new Set(["text", "itext", "i-text", "textbox"]);

/**
 * Appends `families` (template/fonts.ts's boldFallbackFamilies(): script
 * fonts with real Regular and Bold TrueType faces) to the `fontFamily` of
 * every bold text (Text, IText, Textbox, in groups too; bold as a whole or
 * in some characters' styles), and to its characters' own families. A bold
 * character the template's font lacks then comes from a real bold face:
 * Chromium's own fallback asks by character and language only, gets a
 * regular face and emboldens it, which its PDF writer prints as Type 3.
 * Regular text is left alone, so it keeps the fallback pressrun's
 * fontconfig gives it (WenQuanYi Micro Hei for CJK, DejaVu Sans for Arabic
 * and Hebrew), which prints as text already.
 */
export function appendBoldFallbacks(
  objects: FabricObject[],
  families: readonly string[],
): void {
  if (families.length === 0) return;
  for (const o of objects) {
    const type = String(o.type ?? "").toLowerCase();
    if (
      TEXT_TYPES.has(type) && typeof o.fontFamily === "string" &&
      o.fontFamily && isBoldText(o)
    ) {
      o.fontFamily = withFallbacks(o.fontFamily, families);
    }
    if (TEXT_TYPES.has(type)) {
      for (const style of characterStyles(o)) {
        if (
          typeof style.fontFamily === "string" && style.fontFamily &&
          (isBoldWeight(style.fontWeight) ||
            (style.fontWeight === undefined && isBoldWeight(o.fontWeight)))
        ) {
          style.fontFamily = withFallbacks(style.fontFamily, families);
        }
      }
    }
    if (Array.isArray(o.objects)) {
      appendBoldFallbacks(o.objects as FabricObject[], families);
    }
  }
}
