/**
 * Template previews: one piece rendered with sample values (each field shows
 * its own name; image fields stay empty; a barcode whose fields' names would
 * not encode shows an example of its type) or with a row of a CSV, under the
 * same asset policy as the server's batches.
 *
 * @module
 */
import { basename } from "node:path";
import type { Browser } from "../render/browser.ts";
import { RenderPage } from "../render/render_page.ts";
import {
  AssetResolver,
  type AssetResolverOptions,
} from "../template/assets.ts";
import { barcodeSamples } from "../template/barcode.ts";
import { fieldsIn } from "../template/fields.ts";
import { pageSpec } from "../template/page_spec.ts";
import { loadTemplate, type Template } from "../template/parse.ts";
import { piecePayload } from "../template/payload.ts";

/**
 * Sample values for a template: field names, images left empty, a barcode's
 * fields an example of its type where their names would not encode.
 */
export function sampleValues(template: Template): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of template.fields) values[field] = field;
  for (const v of template.variables) {
    if (v.kind === "image") {
      for (const field of fieldsIn(v.src ?? "")) values[field] = "";
    }
    if (v.kind === "barcode") {
      Object.assign(values, barcodeSamples(v.barcode!, values));
    }
  }
  return values;
}

/** Options for {@linkcode renderPreview}. */
export interface PreviewOptions {
  /**
   * The field values to fill in.
   *
   * @default {sampleValues(template)}
   */
  values?: Record<string, string>;
  /**
   * The asset policy, as the server's batches get it: a server started with
   * `--allow-remote-assets` passes `{ allowRemote: true }`.
   *
   * @default {{}} (no remote assets)
   */
  assets?: AssetResolverOptions;
  /**
   * How errors name the template: what its user knows (its name or id),
   * never its path in the server's data folder.
   *
   * @default {the file's name}
   */
  source?: string;
}

/** A PNG of the template at `templatePath`, filled as `options` say. */
export async function renderPreview(
  browser: Browser,
  templatePath: string,
  options: PreviewOptions = {},
): Promise<Uint8Array> {
  const template = await loadTemplate(templatePath, {
    source: options.source ?? basename(templatePath),
  });
  const assets = new AssetResolver(template.baseDir, options.assets);
  const spec = await pageSpec(template, assets);
  const payload = await piecePayload(
    template,
    { index: 0, values: options.values ?? sampleValues(template) },
    assets,
  );
  await using page = await RenderPage.open(browser, spec, { format: "png" });
  return (await page.render(payload)).image.bytes;
}
