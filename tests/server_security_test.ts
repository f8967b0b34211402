import assert from "node:assert/strict";
import { join } from "node:path";
import { batchForm, handlerApp } from "./_app.ts";
import { EXAMPLE_TEMPLATE, tempDir, TRICKY_CSV } from "./_helpers.ts";
import { rawRequest, serveProcess } from "./_serve_process.ts";

/** The handler over a fresh store (see _app.ts). */
const app = handlerApp;

Deno.test("a state change sent by another site's page is refused 403 and changes nothing", async (t) => {
  await using server = await app();
  const csv = await Deno.readFile(TRICKY_CSV);
  const cases: [string, Record<string, string>][] = [
    ["an Origin of another site", { origin: "https://evil.example" }],
    ["an Origin of another port", { origin: "http://127.0.0.1:3000" }],
    ["an opaque Origin (sandboxed frame, file:)", { origin: "null" }],
    ["Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }],
  ];
  for (const [name, headers] of cases) {
    await t.step(name, async () => {
      const res = await server.call("/api/batches", {
        method: "POST",
        headers,
        body: batchForm(csv),
      });
      assert.equal(res.status, 403);
      const body = await res.json();
      assert.equal(body.error, "cross_origin");
      assert.match(body.message, /only this server's own pages/);
    });
  }
  await t.step("a cancel and a template too", async () => {
    const headers = { origin: "https://evil.example" };
    const cancel = await server.call("/api/batches/x/cancel", {
      method: "POST",
      headers,
    });
    assert.equal(cancel.status, 403);
    const template = await server.call("/api/templates", {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: await Deno.readTextFile(EXAMPLE_TEMPLATE),
    });
    assert.equal(template.status, 403);
  });
  assert.deepEqual(await server.store.listBatches(), [], "no batch created");

  await t.step("the server's own page may", async () => {
    const res = await server.call("/api/batches", {
      method: "POST",
      headers: {
        origin: "http://127.0.0.1:8000",
        "sec-fetch-site": "same-origin",
      },
      body: batchForm(csv),
    });
    assert.equal(res.status, 202, await res.clone().text());
  });
  await t.step("reading is not a state change", async () => {
    const res = await server.call("/api/batches", {
      headers: { origin: "https://evil.example" },
    });
    assert.equal(res.status, 200);
  });
});

Deno.test("a JSON body sent as text/plain (what another site's form can send) is refused 415 and adds no template", async () => {
  await using server = await app();
  const before = (await server.store.listTemplates()).length;
  const doc = await Deno.readTextFile(EXAMPLE_TEMPLATE);
  for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
    const res = await server.call("/api/templates", {
      method: "POST",
      headers: { "content-type": type },
      body: doc,
    });
    assert.equal(res.status, 415, type);
    const body = await res.json();
    assert.equal(body.error, "unsupported_media_type");
    assert.match(body.message, /application\/json/);
  }
  assert.equal((await server.store.listTemplates()).length, before);
  const ok = await server.call("/api/templates", {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8" },
    body: doc,
  });
  assert.equal(ok.status, 201, await ok.clone().text());
});

Deno.test("every response says nosniff and no framing; the web pages carry a CSP", async (t) => {
  await using server = await app();
  const cases: [string, string, number][] = [
    ["the page", "/", 200],
    ["the editor", "/editor", 200],
    ["a script", "/web/app.js", 200],
    ["JSON", "/api/templates", 200],
    ["an error", "/api/batches/nope", 404],
  ];
  for (const [name, path, status] of cases) {
    await t.step(name, async () => {
      const res = await server.call(path);
      await res.body?.cancel();
      assert.equal(res.status, status);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.equal(res.headers.get("x-frame-options"), "DENY");
      assert.equal(
        res.headers.get("cross-origin-resource-policy"),
        "same-origin",
      );
    });
  }
  for (const path of ["/", "/editor"]) {
    await t.step(`the CSP of ${path}`, async () => {
      const res = await server.call(path);
      await res.body?.cancel();
      const csp = new Map(
        res.headers.get("content-security-policy")!.split(/;\s*/).map((d) => {
          const [name, ...values] = d.split(" ");
          return [name!, values.join(" ")];
        }),
      );
      assert.equal(csp.get("default-src"), "'self'");
      assert.equal(csp.get("script-src"), "'self'");
      assert.equal(csp.get("frame-ancestors"), "'none'");
      assert.equal(csp.get("object-src"), "'none'");
      assert.ok(
        ![...csp.values()].some((v) => v.includes("unsafe")),
        "nothing unsafe",
      );
    });
  }
});

Deno.test("with a token, /metrics and /healthz need it too; --public-healthz opens /healthz alone", async () => {
  {
    await using server = await app({ token: "s3cret" });
    for (const path of ["/metrics", "/healthz", "/api/templates"]) {
      const res = await server.call(path);
      assert.equal(res.status, 401, path);
      assert.equal((await res.json()).error, "unauthorized");
    }
    const metrics = await server.call("/metrics", {
      headers: { authorization: "Bearer s3cret" },
    });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /pressrun_/);
    const page = await server.call("/");
    await page.body?.cancel();
    assert.equal(page.status, 200, "the page itself asks for the token");
  }
  {
    await using server = await app({ token: "s3cret", publicHealthz: true });
    const metrics = await server.call("/metrics");
    assert.equal(metrics.status, 401);
    await metrics.body?.cancel();
    // Only the route's answer: whatever /healthz says, it is not a 401.
    const health = await server.call("/healthz");
    assert.notEqual(health.status, 401);
    await health.body?.cancel();
  }
});

Deno.test("a request naming another host (DNS rebinding) gets 421; the server listens on 127.0.0.1 and answers its own names", async (t) => {
  await using dir = await tempDir();
  await using server = await serveProcess({
    dataDir: join(dir.path, "data"),
    tmp: dir.path,
    args: ["--no-worker", "--allow-host", "print.example"],
  });
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:/, "loopback by default");
  const port = server.port;
  for (const host of ["evil.example", "localhost.evil.example", "10.0.0.8"]) {
    await t.step(`Host: ${host}`, async () => {
      const res = await rawRequest(port, {
        path: "/api/templates",
        host: `${host}:${port}`,
      });
      assert.equal(res.status, 421);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      const body = JSON.parse(res.body);
      assert.equal(body.error, "wrong_host");
      assert.match(body.message, /--allow-host/);
    });
  }
  for (const host of ["127.0.0.1", "localhost", "[::1]", "print.example"]) {
    await t.step(`Host: ${host} is answered`, async () => {
      const res = await rawRequest(port, {
        path: "/api/templates",
        host: `${host}:${port}`,
      });
      assert.equal(res.status, 200);
      assert.ok(Array.isArray(JSON.parse(res.body)));
    });
  }
});
