import assert from "node:assert/strict";
import { join } from "node:path";
import { JobStore } from "../batch/store.ts";
import { writeBenchData } from "../bench/data.ts";
import {
  chromiumPids,
  decodeQr,
  pdfInfo,
  pdfToPngs,
  tempDir,
} from "./_helpers.ts";

/** `deno task serve` as its own process; resolves once it listens. */
async function startServer(dataDir: string, tmp: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "server.ts", "--port", "0", "--data-dir", dataDir],
    env: { TMPDIR: tmp, NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/listening on (http:\/\/\S+) /.test(text)) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`The server exited: ${text}`);
    text += value;
  }
  const url = /listening on (http:\/\/\S+) /.exec(text)![1]!;
  // Keep draining stderr so the server never blocks on a full pipe.
  const drained = (async () => {
    while (!(await lines.read()).done) { /* discard */ }
  })();
  return { child, url, drained };
}

async function json(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  return await res.json();
}

Deno.test("a batch survives kill -9 of the server: after a restart it completes with every record exactly once", async () => {
  await using dir = await tempDir();
  const dataDir = join(dir.path, "data");
  const { data } = await writeBenchData(dir.path, "print", 120);
  let server = await startServer(dataDir, dir.path);
  const form = new FormData();
  form.append("template", "postcard");
  form.append("merge", "true");
  // Vector PDF (the default) finishes records a chunk at a time: small chunks
  // keep the kill in the middle of the batch.
  form.append("chunkSize", "10");
  form.append("data", new File([await Deno.readFile(data)], "recipients.csv"));
  const { id } = await json(`${server.url}/api/batches`, {
    method: "POST",
    body: form,
  });

  // Follow the live progress over Server-Sent Events until a fifth is done.
  const events = await fetch(`${server.url}/api/batches/${id}/events`);
  assert.equal(events.headers.get("content-type"), "text/event-stream", "SSE");
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const seen: number[] = [];
  while (!seen.some((d) => d >= 25)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("The event stream ended early");
    buffer += value;
    for (const m of buffer.matchAll(/event: progress\ndata: (.+)\n\n/g)) {
      seen.push(JSON.parse(m[1]!).done);
    }
  }
  await reader.cancel();
  assert.ok(
    seen.length >= 2 && seen.at(-1)! > seen[0]!,
    `progress moves: ${seen}`,
  );

  server.child.kill("SIGKILL");
  await server.child.status;
  await server.drained;
  for (let i = 0; i < 40 && (await chromiumPids(dir.path)).length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(
    await chromiumPids(dir.path),
    [],
    "Chromium dies with its server",
  );

  const out = join(dataDir, "batches", id, "out");
  const before = new Map<string, number>();
  {
    await using store = await JobStore.open(dataDir);
    const status = await store.batch(id);
    assert.equal(
      status.state,
      "running",
      "the killed server left the batch running",
    );
    for (const entry of (await store.pieces(id)).values()) {
      if (entry.status === "ok") {
        before.set(
          entry.file!,
          (await Deno.stat(join(out, entry.file!))).mtime!.getTime(),
        );
      }
    }
  }
  assert.ok(
    before.size >= 25 && before.size < 120,
    `${before.size} pieces done before the kill`,
  );

  server = await startServer(dataDir, dir.path);
  let status;
  for (let i = 0; i < 600; i++) {
    status = await json(`${server.url}/api/batches/${id}`);
    if (status.state !== "running" && status.state !== "queued") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(status.state, "done", JSON.stringify(status).slice(0, 300));
  assert.deepEqual(
    [status.done, status.total, status.failed],
    [120, 120, 0],
    "counts",
  );
  const manifest = await json(`${server.url}/api/batches/${id}/manifest.json`);
  assert.deepEqual(
    manifest.records.map((r: { index: number }) => r.index),
    Array.from({ length: 120 }, (_, i) => i + 1),
  );
  assert.equal(
    new Set(manifest.records.map((r: { file: string }) => r.file)).size,
    120,
  );
  const files = [...Deno.readDirSync(out)].map((e) => e.name).filter((n) =>
    n.endsWith(".pdf") && n !== "merged.pdf"
  );
  assert.equal(files.length, 120, "one file per record, no leftovers");
  for (const [file, mtime] of before) {
    assert.equal(
      (await Deno.stat(join(out, file))).mtime!.getTime(),
      mtime,
      `${file} was not rendered again`,
    );
  }
  const merged = join(dir.path, "merged.pdf");
  await Deno.writeFile(
    merged,
    new Uint8Array(
      await (await fetch(`${server.url}/api/batches/${id}/output.pdf`))
        .arrayBuffer(),
    ),
  );
  assert.equal((await pdfInfo(merged)).pages, 120, "merged pages");
  const pngs = await pdfToPngs(merged, dir.path, 100);
  for (const page of [0, 60, 119]) {
    assert.equal(
      await decodeQr(pngs[page]!),
      `https://example.com/r/${100000 + page}?c=bench`,
    );
  }

  server.child.kill("SIGTERM");
  assert.equal(
    (await server.child.status).code,
    0,
    "a clean shutdown on SIGTERM",
  );
  await server.drained;
  assert.deepEqual(await chromiumPids(dir.path), []);
});
