/**
 * Template previews: one piece rendered with sample values (each field shows
 * its own name; image fields stay empty) or with a row of a CSV.
 *
 * @module
 */
import type { Browser } from "../render/browser.ts";
import { RenderPage } from "../render/render_page.ts";
import { AssetResolver } from "../template/assets.ts";
import { fieldsIn } from "../template/fields.ts";
import { pageSpec } from "../template/page_spec.ts";
import { loadTemplate, type Template } from "../template/parse.ts";
import { piecePayload } from "../template/payload.ts";

/** Sample values for a template: field names, images left empty. */
export function sampleValues(template: Template): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of template.fields) values[field] = field;
  for (const v of template.variables) {
    if (v.kind === "image") {
      for (const field of fieldsIn(v.src ?? "")) values[field] = "";
    }
  }
  return values;
}

/** A PNG of the template filled with `values` (default: sample values). */
export async function previewPng(
  browser: Browser,
  templatePath: string,
  values?: Record<string, string>,
): Promise<Uint8Array> {
  const template = await loadTemplate(templatePath);
  const assets = new AssetResolver(template.baseDir);
  const spec = await pageSpec(template, assets);
  const payload = await piecePayload(
    template,
    { index: 0, values: values ?? sampleValues(template) },
    assets,
  );
  await using page = await RenderPage.open(browser, spec, { format: "png" });
  return (await page.render(payload)).image.bytes;
}
