/**
 * A batch's files: the merged PDF, the manifest, every piece as a ZIP, and
 * piece thumbnails. Mounted at `/api/batches`; 404 "not_ready" until there.
 *
 * @module
 */
import { join } from "node:path";
import { fileResponse, wholeNumber } from "../_http.ts";
import { Router } from "../_router.ts";
import { HttpError } from "../errors.ts";
import { zipStream } from "../zip.ts";
import type { ServerContext } from "./_context.ts";

/** The routes of a batch's output files, mounted at `/api/batches`. */
export function batchFileRoutes(ctx: ServerContext): Router {
  const { store } = ctx;
  return new Router()
    .get("/:id/output.pdf", async (_req, p) => {
      await store.batch(p.id!);
      return fileResponse(
        join(store.batchDir(p.id!), "out", "merged.pdf"),
        "application/pdf",
        "merged PDF",
      );
    })
    .get("/:id/manifest.json", async (_req, p) => {
      await store.batch(p.id!);
      return fileResponse(
        join(store.batchDir(p.id!), "out", "manifest.json"),
        "application/json",
        "manifest",
      );
    })
    .get("/:id/proof.pdf", async (_req, p) => {
      await store.batch(p.id!);
      return fileResponse(
        join(store.batchDir(p.id!), "out", "proof.pdf"),
        "application/pdf",
        "proof",
      );
    })
    .get("/:id/imposed.pdf", async (_req, p) => {
      await store.batch(p.id!);
      return fileResponse(
        join(store.batchDir(p.id!), "out", "imposed.pdf"),
        "application/pdf",
        "imposed PDF",
      );
    })
    .get("/:id/output.zip", async (_req, p) => {
      await store.batch(p.id!);
      // Every piece is checked against its manifest entry first: a file
      // damaged on disk is never served (a finished batch marks it failed,
      // so a retry renders just those).
      const damaged = await store.verifyPieces(p.id!);
      if (damaged.length > 0) {
        throw new HttpError(
          409,
          "damaged_pieces",
          `${damaged.length} piece${
            damaged.length === 1 ? " is" : "s are"
          } damaged on disk (${
            damaged.slice(0, 3).map((d) => d.problem).join("; ")
          }${damaged.length > 3 ? "; …" : ""}): retry the batch to render ${
            damaged.length === 1 ? "it" : "them"
          } again`,
        );
      }
      const out = join(store.batchDir(p.id!), "out");
      const files = [...(await store.pieces(p.id!)).values()]
        .filter((e) => e.status === "ok" && e.file)
        .sort((a, b) => a.index - b.index)
        .map((e) => [e.file!, join(out, e.file!)] as [string, string]);
      if (files.length === 0) {
        throw new HttpError(404, "not_ready", "No piece has been rendered yet");
      }
      return new Response(zipStream(files), {
        headers: {
          "content-type": "application/zip",
          "content-disposition": `attachment; filename="batch-${p.id}.zip"`,
        },
      });
    })
    .get("/:id/pieces/:index.png", async (_req, p) => {
      await store.batch(p.id!);
      const index = wholeNumber(p.index!, "index");
      return fileResponse(
        join(store.batchDir(p.id!), "thumbs", `${index}.png`),
        "image/png",
        "thumbnail",
      );
    });
}
