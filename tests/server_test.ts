import assert from "node:assert/strict";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { Metrics } from "../batch/metrics.ts";
import { encodeBase64 } from "../template/_base64.ts";
import { JobStore } from "../batch/store.ts";
import { BatchWorker } from "../batch/worker.ts";
import { Browser } from "../render/browser.ts";
import { createHandler } from "../server.ts";
import {
  csvUrls,
  decodeQr,
  MALFORMED_CSV,
  pdfInfo,
  pdfToPngs,
  readPng,
  run,
  tempDir,
  TRICKY_CSV,
} from "./_helpers.ts";

/** A store, a worker and the handler, all in this process. */
async function app(options: { token?: string; maxUploadBytes?: number } = {}) {
  const dir = await tempDir();
  const browser = await Browser.launch();
  const store = await JobStore.open(dir.path);
  const metrics = new Metrics();
  const pieces = new EventTarget();
  const worker = new BatchWorker(store, {
    browser,
    metrics,
    pollMs: 50,
    onPiece: (batch, entry) =>
      pieces.dispatchEvent(
        new CustomEvent("piece", { detail: { batch, entry } }),
      ),
  });
  worker.start();
  const handle = createHandler({ store, worker, metrics, pieces, ...options });
  const call = (path: string, init?: RequestInit) =>
    handle(new Request(`http://pressrun.test${path}`, init));
  return {
    dir: dir.path,
    store,
    call,
    async [Symbol.asyncDispose]() {
      await worker.close();
      await store.close();
      await browser.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

function batchForm(
  fields: Record<string, string | [string, Uint8Array | string]>,
): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === "string") form.append(name, value);
    else form.append(name, new File([value[1] as BlobPart], value[0]));
  }
  return form;
}

/** A template with a blend mode, which prints as raster only. */
const BLEND_TEMPLATE = {
  name: "Blend",
  size: { width: 6, height: 4, unit: "in" },
  canvas: {
    width: 1800,
    height: 1200,
    objects: [
      { type: "Textbox", left: 80, top: 80, width: 900, text: "{{firstName}}" },
      {
        type: "Rect",
        left: 0,
        top: 0,
        width: 600,
        height: 600,
        fill: "#f00",
        globalCompositeOperation: "multiply",
      },
    ],
  },
};

async function waitFor(
  call: (p: string) => Promise<Response>,
  id: string,
  states = ["done", "failed", "cancelled"],
) {
  for (let i = 0; i < 600; i++) {
    const status = await (await call(`/api/batches/${id}`)).json();
    if (states.includes(status.state)) return status;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Batch ${id} did not finish`);
}

Deno.test("the API renders a batch from the template library and serves its PDF, ZIP, manifest and thumbnails", async () => {
  await using a = await app();
  const templates = await (await a.call("/api/templates")).json();
  assert.equal(templates[0].id, "postcard");
  assert.ok(templates[0].fields.includes("firstName"));
  const csv = await Deno.readFile(TRICKY_CSV);
  const res = await a.call("/api/batches", {
    method: "POST",
    body: batchForm({
      template: "postcard",
      data: ["recipients-tricky.csv", csv],
      merge: "true",
    }),
  });
  assert.equal(res.status, 202);
  const { id } = await res.json();
  const status = await waitFor(a.call, id);
  assert.equal(status.state, "done");
  assert.deepEqual([status.done, status.total, status.failed], [12, 12, 0]);
  assert.equal(status.pieces.length, 12);
  assert.equal(status.options.pdfMode, "vector", "the default for PDF");
  const kinds = status.pieces.map((p: { kind: string }) => p.kind);
  assert.ok(kinds.every((k: string) => k === "vector" || k === "raster"));
  assert.ok(kinds.filter((k: string) => k === "vector").length >= 8, kinds);

  await using tmp = await tempDir();
  const pdf = join(tmp.path, "merged.pdf");
  await Deno.writeFile(
    pdf,
    new Uint8Array(
      await (await a.call(`/api/batches/${id}/output.pdf`)).arrayBuffer(),
    ),
  );
  const info = await pdfInfo(pdf);
  assert.deepEqual([info.pages, info.width, info.height], [12, 450, 306]);
  const pages = await pdfToPngs(pdf, tmp.path);
  assert.equal(await decodeQr(pages[4]!), (await csvUrls(TRICKY_CSV))[4]);

  const zip = unzipSync(
    new Uint8Array(
      await (await a.call(`/api/batches/${id}/output.zip`)).arrayBuffer(),
    ),
  );
  assert.equal(Object.keys(zip).length, 12);
  assert.ok(Object.keys(zip).every((name) => /^\d{4}\.pdf$/.test(name)));
  assert.equal(new TextDecoder().decode(zip["0001.pdf"]!.slice(0, 5)), "%PDF-");

  const manifest = await (await a.call(`/api/batches/${id}/manifest.json`))
    .json();
  assert.equal(manifest.records.length, 12);
  assert.equal(manifest.pdfMode, "vector");
  const thumb = await readPng(
    new Uint8Array(
      await (await a.call(`/api/batches/${id}/pieces/3.png`)).arrayBuffer(),
    ),
  );
  assert.equal(thumb.width, 320);

  const metrics = await (await a.call("/metrics")).text();
  assert.match(metrics, /pressrun_pieces_rendered_total 12/);
  assert.match(metrics, /pressrun_batches\{state="done"\} 1/);
  const health = await a.call("/healthz");
  assert.equal(health.status, 200);
  assert.match((await health.json()).chromium, /Chrom/);
});

Deno.test("the API runs a batch with pdfMode raster and says so in its status, pieces and manifest", async () => {
  await using a = await app();
  const res = await a.call("/api/batches", {
    method: "POST",
    body: batchForm({
      template: "postcard",
      data: ["d.csv", await Deno.readFile(TRICKY_CSV)],
      pdfMode: "raster",
      merge: "true",
    }),
  });
  assert.equal(res.status, 202);
  const { id } = await res.json();
  const status = await waitFor(a.call, id);
  assert.equal(status.state, "done");
  assert.equal(status.options.pdfMode, "raster");
  assert.deepEqual(
    [...new Set(status.pieces.map((p: { kind: string }) => p.kind))],
    ["raster"],
  );
  const listed = await (await a.call("/api/batches")).json();
  assert.equal(listed[0].options.pdfMode, "raster");
  const manifest = await (await a.call(`/api/batches/${id}/manifest.json`))
    .json();
  assert.equal(manifest.pdfMode, "raster");
  await using tmp = await tempDir();
  const piece = join(tmp.path, "0001.pdf");
  const zip = unzipSync(
    new Uint8Array(
      await (await a.call(`/api/batches/${id}/output.zip`)).arrayBuffer(),
    ),
  );
  await Deno.writeFile(piece, zip["0001.pdf"]!);
  const text = await run("pdftotext", [piece, "-"]);
  assert.equal(text.trim(), "", "a raster piece is one image: no text");
});

Deno.test("the API turns bad input into a clear JSON error and leaves the store unchanged", async (t) => {
  await using a = await app({ token: "s3cret", maxUploadBytes: 64 * 1024 });
  const auth = { authorization: "Bearer s3cret" };
  const csv = await Deno.readFile(TRICKY_CSV);
  const snapshot = async () => [
    (await a.store.listBatches()).length,
    (await a.store.listTemplates()).length,
  ];
  const before = await snapshot();
  const cases: [string, RequestInit & { path?: string }, number, RegExp][] = [
    [
      "wrong token",
      {
        method: "POST",
        headers: { authorization: "Bearer nope" },
        body: batchForm({ template: "postcard", data: ["d.csv", csv] }),
      },
      401,
      /token/,
    ],
    ["no token", { method: "GET", path: "/api/templates" }, 401, /token/],
    [
      "malformed CSV",
      {
        method: "POST",
        headers: auth,
        body: batchForm({
          template: "postcard",
          data: [
            "recipients-malformed.csv",
            await Deno.readFile(MALFORMED_CSV),
          ],
        }),
      },
      422,
      /recipients-malformed\.csv line 3/,
    ],
    [
      "unknown template",
      {
        method: "POST",
        headers: auth,
        body: batchForm({ template: "nope", data: ["d.csv", csv] }),
      },
      404,
      /No template "nope"/,
    ],
    [
      "missing columns",
      {
        method: "POST",
        headers: auth,
        body: batchForm({
          template: "postcard",
          data: ["few.csv", "id,url\n1,https://example.com/r/1\n"],
        }),
      },
      422,
      /missing columns .*"firstName"/,
    ],
    [
      "oversized upload",
      {
        method: "POST",
        headers: auth,
        body: batchForm({
          template: "postcard",
          data: ["big.csv", new Uint8Array(200 * 1024)],
        }),
      },
      413,
      /larger than/,
    ],
    [
      "bad renderer",
      {
        method: "POST",
        headers: auth,
        body: batchForm({
          template: "postcard",
          data: ["d.csv", csv],
          renderer: "turbo",
        }),
      },
      400,
      /renderer must be/,
    ],
    [
      "bad pdfMode",
      {
        method: "POST",
        headers: auth,
        body: batchForm({
          template: "postcard",
          data: ["d.csv", csv],
          pdfMode: "svg",
        }),
      },
      422,
      /pdfMode must be vector or raster, got "svg"/,
    ],
    [
      "bad chunkSize",
      {
        method: "POST",
        headers: auth,
        body: batchForm({
          template: "postcard",
          data: ["d.csv", csv],
          chunkSize: "0",
        }),
      },
      422,
      /chunkSize must be a whole number from 1 to 500, got "0"/,
    ],
    [
      "a blend mode Fabric's SVG export drops, in vector mode",
      {
        method: "POST",
        headers: auth,
        body: batchForm({
          templateFile: ["blend.json", JSON.stringify(BLEND_TEMPLATE)],
          data: ["d.csv", csv],
        }),
      },
      422,
      /canvas\.objects\[1\] \(Rect\) "globalCompositeOperation" is "multiply"/,
    ],
    [
      "invalid template JSON",
      {
        method: "POST",
        path: "/api/templates",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({
          size: { width: 6, height: 4, unit: "in" },
          canvas: { objects: [{ type: "Video" }] },
        }),
      },
      422,
      /canvas\.objects\[0\]\.type "Video" is not supported/,
    ],
    [
      "deleting a built-in",
      { method: "DELETE", path: "/api/templates/postcard", headers: auth },
      403,
      /built in/,
    ],
    [
      "unknown batch",
      { method: "GET", path: "/api/batches/0000", headers: auth },
      404,
      /No batch/,
    ],
  ];
  for (const [name, init, status, message] of cases) {
    await t.step(name, async () => {
      const res = await a.call(init.path ?? "/api/batches", init);
      assert.equal(res.status, status);
      const body = await res.json();
      assert.match(body.message, message);
      assert.equal(typeof body.requestId, "string");
      assert.equal(typeof body.error, "string");
    });
  }
  assert.deepEqual(await snapshot(), before);
});

Deno.test("the API stores, lists, previews and deletes a template", async () => {
  await using a = await app();
  const doc = JSON.parse(
    await Deno.readTextFile("examples/postcard/template.json"),
  );
  doc.name = "Uploaded card";
  // Uploaded templates carry their images as data: URLs.
  for (const o of doc.canvas.objects) {
    if (o.src === "hero.jpg") {
      o.src = `data:image/jpeg;base64,${
        btoa(
          String.fromCharCode(
            ...await Deno.readFile("examples/postcard/hero.jpg"),
          ),
        )
      }`;
    }
  }
  const res = await a.call("/api/templates", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(doc),
  });
  assert.equal(res.status, 201);
  const { id, name } = await res.json();
  assert.equal(name, "Uploaded card");
  const got = await (await a.call(`/api/templates/${id}`)).json();
  assert.equal(got.template.name, "Uploaded card");
  const png = await readPng(
    new Uint8Array(
      await (await a.call(`/api/templates/${id}/preview.png`)).arrayBuffer(),
    ),
  );
  assert.deepEqual([png.width, png.height], [1875, 1275]);
  assert.equal(
    (await a.call(`/api/templates/${id}`, { method: "DELETE" })).status,
    204,
  );
  assert.equal((await a.call(`/api/templates/${id}`)).status, 404);
});

Deno.test("retry re-renders only the failed records of a batch", async () => {
  await using a = await app();
  // An uploaded template resolves its files in the batch's own folder, where
  // the missing photo can appear before the retry.
  const doc = await uploadableExample();
  const rows = (await Deno.readTextFile("examples/postcard/recipients.csv"))
    .trim().split("\n");
  rows[1] = rows[1]!.replace(/,portrait-mb\.jpg$/, ",");
  rows[2] = rows[2]!.replace(/,portrait-ak\.jpg$/, ",late.jpg");
  const form = batchForm({
    templateFile: ["card.json", JSON.stringify(doc)],
    data: ["d.csv", rows.join("\n") + "\n"],
    onError: "skip",
  });
  const res = await a.call("/api/batches", { method: "POST", body: form });
  assert.equal(res.status, 202, await res.clone().text());
  const { id } = await res.json();
  const first = await waitFor(a.call, id);
  assert.deepEqual([first.state, first.failed], ["done", 1]);
  assert.equal(
    first.pieces.find((p: { index: number }) => p.index === 2).status,
    "failed",
  );
  const out = join(a.store.batchDir(id), "out");
  const before = (await Deno.stat(join(out, "0001.pdf"))).mtime!.getTime();
  await Deno.copyFile(
    "examples/postcard/portrait-ak.jpg",
    join(a.store.batchDir(id), "late.jpg"),
  );
  assert.equal(
    (await a.call(`/api/batches/${id}/retry`, { method: "POST" })).status,
    202,
  );
  const second = await waitFor(a.call, id);
  assert.deepEqual([second.state, second.failed, second.done], ["done", 0, 8]);
  assert.ok(second.pieces.every((p: { status: string }) => p.status === "ok"));
  assert.equal(
    (await Deno.stat(join(out, "0001.pdf"))).mtime!.getTime(),
    before,
    "done pieces are not rendered again",
  );
});

/** The example template with its fixed image inlined as a data: URL. */
async function uploadableExample() {
  const doc = JSON.parse(
    await Deno.readTextFile("examples/postcard/template.json"),
  );
  const hero = await Deno.readFile("examples/postcard/hero.jpg");
  for (const o of doc.canvas.objects) {
    if (o.src === "hero.jpg") {
      o.src = `data:image/jpeg;base64,${encodeBase64(hero)}`;
    }
  }
  return doc;
}

Deno.test("a built-in template fetched from the API and saved back as a copy renders on its own", async () => {
  await using a = await app();
  const { template } = await (await a.call("/api/templates/postcard")).json();
  const hero = template.canvas.objects.find((o: { src?: string }) =>
    o.src?.startsWith("data:image/jpeg")
  );
  assert.ok(hero, "the fixed image comes inlined");
  template.name = "Postcard (copy)";
  const res = await a.call("/api/templates", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(template),
  });
  assert.equal(res.status, 201);
  const { id } = await res.json();
  const preview = await a.call(`/api/templates/${id}/preview.png`);
  assert.equal(preview.status, 200, await preview.clone().text());
  const png = await readPng(new Uint8Array(await preview.arrayBuffer()));
  assert.deepEqual([png.width, png.height], [1875, 1275]);
});
