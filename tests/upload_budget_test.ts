import assert from "node:assert/strict";
import { join } from "node:path";
import { handlerApp } from "./_app.ts";
import { serveProcess } from "./_serve_process.ts";
import { tempDir } from "./_helpers.ts";

const MiB = 2 ** 20;

/** A multipart body with `fields`, as fetch() would send it, and its type. */
async function encodeForm(
  fields: Record<string, string | [string, BlobPart]>,
): Promise<{ body: Blob; type: string }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === "string") form.append(name, value);
    else form.append(name, new File([value[1]], value[0]));
  }
  const encoded = new Request("http://form.test/", {
    method: "POST",
    body: form,
  });
  return {
    body: await encoded.blob(),
    type: encoded.headers.get("content-type")!,
  };
}

/**
 * A CSV of about `bytes` bytes whose columns no design of the library uses:
 * read to its end, then refused (422, missing columns).
 */
function unusableCsv(bytes: number): Uint8Array<ArrayBuffer> {
  const row = `${"x".repeat(60)},${"y".repeat(60)}\n`;
  return new TextEncoder().encode(
    "colA,colB\n" + row.repeat(Math.ceil(bytes / row.length)),
  );
}

/** The peak resident memory of process `pid` (VmHWM), bytes. */
async function peakRss(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}

/** The upload folders left in `tmp`. */
async function uploadFolders(tmp: string): Promise<string[]> {
  const left: string[] = [];
  for await (const entry of Deno.readDir(tmp)) {
    if (entry.name.startsWith("pressrun-upload-")) left.push(entry.name);
  }
  return left;
}

Deno.test("20 concurrent 45 MiB uploads: the server's peak memory stays within 250 MiB of its start, past the budget 429 with Retry-After", async () => {
  await using dir = await tempDir();
  const tmp = join(dir.path, "tmp");
  await Deno.mkdir(tmp);
  await using server = await serveProcess({
    dataDir: join(dir.path, "data"),
    tmp,
    args: ["--no-worker"],
  });
  // Warm up: the first upload loads the CSV reader and the template code.
  const small = await encodeForm({
    template: "postcard",
    data: ["small.csv", unusableCsv(1000)],
  });
  const warm = await fetch(`${server.url}/api/batches`, {
    method: "POST",
    headers: { "content-type": small.type },
    body: small.body,
  });
  assert.equal(warm.status, 422, await warm.text());
  const start = await peakRss(server.pid);

  const { body, type } = await encodeForm({
    template: "postcard",
    data: ["big.csv", unusableCsv(45 * MiB)],
  });
  const answers = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const res = await fetch(`${server.url}/api/batches`, {
        method: "POST",
        headers: { "content-type": type },
        body,
      });
      const json = await res.json();
      return {
        status: res.status,
        retryAfter: res.headers.get("retry-after"),
        json,
      };
    }),
  );
  const peak = await peakRss(server.pid);
  const statuses = answers.map((a) => a.status).sort();
  assert.ok(
    statuses.every((s) => s === 422 || s === 429),
    `each upload refused as unusable (422) or over the budget (429): ${statuses}`,
  );
  assert.ok(statuses.includes(422), `some were read: ${statuses}`);
  for (const a of answers.filter((a) => a.status === 429)) {
    assert.equal(a.json.error, "busy");
    assert.match(a.json.message, /uploads are in progress/);
    assert.ok(Number(a.retryAfter) > 0, `Retry-After: ${a.retryAfter}`);
  }
  for (const a of answers.filter((a) => a.status === 422)) {
    assert.match(a.json.message, /big\.csv/, "named as the client named it");
  }
  // Receiving 20 × 45 MiB costs some 90 MiB by itself (the body's chunks
  // are garbage until collected) and reading a CSV some 40 MiB; holding each
  // upload in memory took this server from 82 to 1768 MiB.
  const grew = (peak - start) / MiB;
  console.log(
    `peak RSS ${Math.round(start / MiB)} → ${Math.round(peak / MiB)} MiB ` +
      `(${statuses.filter((s) => s === 422).length}×422, ` +
      `${statuses.filter((s) => s === 429).length}×429)`,
  );
  assert.ok(grew < 250, `peak RSS grew by ${Math.round(grew)} MiB`);
  assert.deepEqual(await uploadFolders(tmp), [], "no upload folder left");
});

/** The handler over a fresh store with a 1 MiB upload budget. */
function app() {
  return handlerApp({ maxUploadBytesInFlight: MiB });
}

/** A POST of a body the test feeds chunk by chunk. */
function heldUpload(declared?: number) {
  const { promise: closed, resolve: close } = Promise.withResolvers<void>();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await closed;
      controller.close();
    },
  });
  const request = new Request("http://pressrun.test/api/check", {
    method: "POST",
    headers: {
      "content-type": "multipart/form-data; boundary=b",
      ...declared !== undefined && { "content-length": String(declared) },
    },
    body,
    duplex: "half",
  } as RequestInit);
  return { request, close };
}

Deno.test("an upload that does not fit the bytes other uploads hold gets 429 with Retry-After, and fits once they are answered", async (t) => {
  await using server = await app();
  // 400 KiB of CSV: more than the 1 MiB budget has left while 700 KiB are held.
  const big = await encodeForm({
    data: ["d.csv", "a,b\n" + "1,2\n".repeat(100_000)],
  });
  const small = await encodeForm({ data: ["d.csv", "a,b\n1,2\n"] });
  const post = (
    form: { body: Blob; type: string },
    options: { declare: boolean },
  ) =>
    server.handle(
      new Request("http://pressrun.test/api/check", {
        method: "POST",
        headers: {
          "content-type": form.type,
          ...options.declare && { "content-length": String(form.body.size) },
        },
        // A stream has no length of its own: only the header declares one.
        body: form.body.stream(),
        duplex: "half",
      } as RequestInit),
    );

  // An upload that declared 700 KiB and is still arriving holds them.
  const held = heldUpload(700 * 1024);
  const first = server.handle(held.request);

  await t.step(
    "declared too many: refused before its body is read",
    async () => {
      const res = await post(big, { declare: true });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), "5");
      const { error, message } = await res.json();
      assert.equal(error, "busy");
      assert.match(message, /MiB of uploads are in progress/);
    },
  );

  await t.step(
    "no length declared: refused once its bytes pass the budget",
    async () => {
      const res = await post(big, { declare: false });
      assert.equal(res.status, 429);
      assert.equal((await res.json()).error, "busy");
    },
  );

  await t.step("a small one still fits", async () => {
    const res = await post(small, { declare: false });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).records, 1);
  });

  await t.step(
    "more than the whole budget: 413, as no retry would fit",
    async () => {
      const huge = await encodeForm({
        data: ["d.csv", "a,b\n" + "1,2\n".repeat(300_000)],
      });
      const res = await post(huge, { declare: true });
      assert.equal(res.status, 413);
      assert.match((await res.json()).message, /larger than 1 MiB/);
    },
  );

  held.close();
  assert.equal((await first).status, 400, "the held upload had no part");

  await t.step("once answered, its bytes are free again", async () => {
    const res = await post(big, { declare: true });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).records, 100_000);
  });
});
