import assert from "node:assert/strict";
import { join } from "node:path";
import { batchForm, handlerApp } from "./_app.ts";
import { EXAMPLE_TEMPLATE, TRICKY_CSV } from "./_helpers.ts";

/** The handler over a fresh store (see _app.ts). */
const app = handlerApp;

Deno.test("an upload's file name never becomes a path: '..' and 'template.json' are read as the CSV they are", async (t) => {
  await using server = await app();
  const csv = await Deno.readFile(TRICKY_CSV);
  const records = (await (await server.call("/api/check", {
    method: "POST",
    body: batchForm(csv),
  })).json()).records;
  assert.ok(records > 0);

  // Hostile names a client may send, never files to read:
  const names = ["..", ".", "template.json", "../../x.csv"]; // own-files: not a file to read
  for (const name of names) {
    await t.step(`a CSV named ${JSON.stringify(name)}`, async () => {
      const res = await server.call("/api/batches", {
        method: "POST",
        body: batchForm(csv, name),
      });
      const body = await res.json();
      assert.equal(res.status, 202, JSON.stringify(body));
      const status = await server.store.batch(body.id);
      assert.equal(status.total, records);
      assert.deepEqual(
        await Deno.readFile(join(server.store.batchDir(body.id), "data.csv")),
        csv,
        "the batch keeps the CSV as sent",
      );
    });
  }
  await t.step("'template.json' beside an uploaded template", async () => {
    const template = new File(
      [await Deno.readTextFile(EXAMPLE_TEMPLATE)],
      "design.json",
    );
    const form = new FormData();
    form.append("templateFile", template);
    form.append("data", new File([csv], "template.json"));
    const res = await server.call("/api/batches", {
      method: "POST",
      body: form,
    });
    const body = await res.json();
    assert.equal(res.status, 202, JSON.stringify(body));
    assert.equal((await server.store.batch(body.id)).total, records);
  });
});

Deno.test("a preview with a row of a batch that does not exist is a 404, a row that is not a number a 400", async () => {
  await using server = await app();
  const missing = await server.call(
    "/api/templates/postcard/preview.png?batch=NOPE&row=1",
  );
  assert.equal(missing.status, 404);
  const body = await missing.json();
  assert.equal(body.error, "not_found");
  assert.match(body.message, /No batch "NOPE"/);

  const csv = await Deno.readFile(TRICKY_CSV);
  const { id } = await (await server.call("/api/batches", {
    method: "POST",
    body: batchForm(csv),
  })).json();
  const badRow = await server.call(
    `/api/templates/postcard/preview.png?batch=${id}&row=first`,
  );
  assert.equal(badRow.status, 400);
  assert.match((await badRow.json()).message, /row must be a whole number/);
  const noRow = await server.call(
    `/api/templates/postcard/preview.png?batch=${id}&row=9999`,
  );
  assert.equal(noRow.status, 404);
  assert.match((await noRow.json()).message, /has no row 9999/);
});

Deno.test("a template 5 million arrays deep is refused before JSON.parse, as a JSON body and as a form upload", async (t) => {
  await using server = await app();
  const depth = 5_000_000;
  const text = `{"name":"Deep","size":{"width":6,"height":4,"unit":"in"},` +
    `"canvas":{"objects":[]},"x":${"[".repeat(depth)}${"]".repeat(depth)}}`;
  await t.step("POST /api/templates", async () => {
    const res = await server.call("/api/templates", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: text,
    });
    assert.equal(res.status, 422);
    assert.match((await res.json()).message, /the JSON body.*nested.*deep/);
  });
  await t.step("POST /api/check with templateFile", async () => {
    const form = new FormData();
    form.append("templateFile", new File([text], "deep.json"));
    form.append("data", new File(["name\nAnn\n"], "d.csv"));
    const res = await server.call("/api/check", { method: "POST", body: form });
    assert.equal(res.status, 422);
    assert.match((await res.json()).message, /deep\.json.*nested.*deep/);
  });
  assert.deepEqual(
    (await server.store.listTemplates()).map((t) => t.name).includes("Deep"),
    false,
  );
});
