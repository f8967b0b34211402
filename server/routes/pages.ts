/**
 * The web app's pages and scripts: `/`, `/editor`, `/web/:file`, the rules
 * both sides share at `/common/rules.js`, and Fabric's browser build.
 *
 * @module
 */
import { staticFile } from "../../render/static_origin.ts";
import { page } from "../_http.ts";
import { Router } from "../_router.ts";

/** The routes of the web app's files. */
export function pageRoutes(): Router {
  return new Router()
    .get("/", () => page("app.html"))
    .get("/editor", () => page("editor.html"))
    .get("/web/:file", (_req, p) => page(p.file!))
    .get("/common/rules.js", () => page("rules.js", "common"))
    .get("/fabric.js", async () => {
      const file = staticFile("/fabric.js")!;
      return new Response(await file.body as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": file.type },
      });
    });
}
