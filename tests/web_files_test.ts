import assert from "node:assert/strict";
import { Metrics } from "../batch/metrics.ts";
import { JobStore } from "../batch/store.ts";
import { BatchWorker } from "../batch/worker.ts";
import { createHandler } from "../server/api.ts";
import { tempDir } from "./_helpers.ts";

Deno.test("the server sends the web app from web/ and common/rules.js, and nothing else of the repository", async (t) => {
  await using dir = await tempDir();
  await using store = await JobStore.open(dir.path);
  // Never started: serving files renders nothing, so no browser is launched.
  await using worker = new BatchWorker(store);
  const handle = createHandler({ store, worker, metrics: new Metrics() });
  const get = (path: string) =>
    handle(new Request(`http://pressrun.test${path}`));

  const served: [string, string, RegExp][] = [
    ["/", "text/html", /<body data-page="app">/],
    ["/editor", "text/html", /<body data-page="editor">/],
    ["/web/app.js", "text/javascript", /from "\.\/recipients\.js"/],
    ["/web/app.css", "text/css", /\{/],
    [
      "/common/rules.js",
      "text/javascript",
      /export function placeholderPattern\(\)/,
    ],
  ];
  for (const [path, type, body] of served) {
    await t.step(`GET ${path}`, async () => {
      const res = await get(path);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", new RegExp(type));
      assert.match(res.headers.get("content-security-policy") ?? "", /self/);
      assert.match(await res.text(), body);
    });
  }
  const refused = [
    "/static/app.js",
    "/web/README.md",
    "/web/..%2Fserver.ts",
    "/common/errors.ts",
    "/common/async.ts",
  ];
  for (const path of refused) {
    await t.step(`GET ${path} is 404`, async () => {
      const res = await get(path);
      assert.equal(res.status, 404);
      await res.body?.cancel();
    });
  }
});
