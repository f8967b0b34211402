/**
 * `/api/templates`: the template library — list, add, read (fixed images
 * inlined), delete — and preview PNGs of a template, with sample values or a
 * row of a batch's CSV.
 *
 * @module
 */
import { dirname } from "node:path";
import { AssetResolver } from "../../template/assets.ts";
import { hasPlaceholder } from "../../template/fields.ts";
import { csvRow } from "../_batch_request.ts";
import { Gate, readJson, wholeNumber } from "../_http.ts";
import { Router } from "../_router.ts";
import { renderPreview } from "../preview.ts";
import type { ServerContext } from "./_context.ts";

/** Preview PNGs kept, the most recently made. */
const PREVIEWS_KEPT = 64;

/** The routes of the template library, mounted at `/api/templates`. */
export function templateRoutes(ctx: ServerContext): Router {
  const { store, worker } = ctx;
  const previews = new Previews(
    new Gate(ctx.limits.maxPreviews, ctx.limits.maxPreviewQueue),
  );
  return new Router()
    .get("/", async () => Response.json(await store.listTemplates()))
    .post("/", async (req) => {
      const doc = await readJson(req, ctx.maxUploadBytes);
      return Response.json(await store.addTemplate(doc), { status: 201 });
    })
    .get("/:id", async (_req, p) => {
      const { info, path } = await store.template(p.id!);
      const doc = JSON.parse(await Deno.readTextFile(path));
      // Fixed images come inlined, so a copy saved from the editor needs
      // nothing from the original's folder.
      await inlineImages(doc, new AssetResolver(dirname(path)));
      return Response.json({ ...info, template: doc });
    })
    .delete("/:id", async (_req, p) => {
      await store.deleteTemplate(p.id!);
      previews.forget(p.id!);
      return new Response(null, { status: 204 });
    })
    .get("/:id/preview.png", async (_req, p, url) => {
      const { info, path } = await store.template(p.id!);
      const row = url.searchParams.get("row");
      const batch = url.searchParams.get("batch");
      const values = row !== null && batch
        ? await csvRow(store, batch, wholeNumber(row, "row"))
        : undefined;
      const key = `${p.id}:${batch ?? ""}:${row ?? ""}`;
      const png = await previews.get(
        key,
        async () =>
          renderPreview(await worker.browser(), path, {
            values,
            // The batches' asset policy: remote images only with
            // --allow-remote-assets, and then public addresses only.
            assets: { allowRemote: worker.allowRemoteAssets },
            source: info.name,
          }),
      );
      return new Response(png as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "image/png", "cache-control": "no-cache" },
      });
    });
}

/**
 * Preview PNGs by template, batch and row: made at most `gate` at a time,
 * the last {@linkcode PREVIEWS_KEPT} kept; a failed one is not kept.
 */
class Previews {
  #pngs = new Map<string, Promise<Uint8Array>>();
  #gate: Gate;

  constructor(gate: Gate) {
    this.#gate = gate;
  }

  /** The PNG of `key`, made by `make` unless kept. */
  get(key: string, make: () => Promise<Uint8Array>): Promise<Uint8Array> {
    let png = this.#pngs.get(key);
    if (!png) {
      png = this.#gate.run(make);
      png.catch(() => this.#pngs.delete(key));
      this.#pngs.set(key, png);
      if (this.#pngs.size > PREVIEWS_KEPT) {
        this.#pngs.delete(this.#pngs.keys().next().value!);
      }
    }
    return png;
  }

  /** Drops every preview of template `id`. */
  forget(id: string): void {
    for (const key of [...this.#pngs.keys()]) {
      if (key.startsWith(`${id}:`)) this.#pngs.delete(key);
    }
  }
}

/** Replaces fixed relative image sources of a template with data: URLs. */
async function inlineImages(
  doc: unknown,
  assets: AssetResolver,
): Promise<void> {
  const canvas = (doc as { canvas?: unknown }).canvas ?? doc;
  const visit = async (objects: unknown) => {
    if (!Array.isArray(objects)) return;
    for (const o of objects as Record<string, unknown>[]) {
      const src = o?.src;
      if (
        typeof src === "string" && !hasPlaceholder(src) && !/^data:/i.test(src)
      ) {
        o.src = await assets.imageDataUrl(src, "template image");
      }
      await visit(o?.objects);
    }
  };
  await visit((canvas as { objects?: unknown }).objects);
}
