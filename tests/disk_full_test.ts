import assert from "node:assert/strict";
import { join } from "node:path";
import { writeBenchData } from "../bench/data.ts";
import { freeBytes } from "../batch/_disk.ts";
import { Metrics } from "../batch/metrics.ts";
import { damagedPieces } from "../batch/piece_check.ts";
import { runBatch } from "../batch/run.ts";
import { type BatchStatus, JobStore } from "../batch/store.ts";
import { BatchWorker } from "../batch/worker.ts";
import { main as cli } from "../cli.ts";
import { DiskFullError } from "../common/errors.ts";
import { Browser } from "../render/browser.ts";
import { createHandler } from "../server/api.ts";
import { EXAMPLE_TEMPLATE, readPng, tempDir } from "./_helpers.ts";

const MiB = 2 ** 20;

// --- a small disk ----------------------------------------------------------

/** Runs a command (through `sudo -n` unless root); its stderr if it failed. */
async function privileged(args: string[]): Promise<string | undefined> {
  const [cmd, ...rest] = Deno.uid() === 0 ? args : ["sudo", "-n", ...args];
  try {
    const out = await new Deno.Command(cmd!, {
      args: rest,
      stdout: "null",
      stderr: "piped",
    }).output();
    return out.success ? undefined : new TextDecoder().decode(out.stderr);
  } catch (error) {
    return (error as Error).message;
  }
}

/** A tmpfs of `mib` MiB on a new temporary folder, or why there is none. */
async function smallDisk(
  mib: number,
): Promise<(AsyncDisposable & { path: string }) | string> {
  const path = await Deno.makeTempDir({ prefix: "pressrun-disk-" });
  const why = await privileged(
    ["mount", "-t", "tmpfs", "-o", `size=${mib}m`, "tmpfs", path],
  );
  if (why !== undefined) {
    await Deno.remove(path, { recursive: true });
    return why.trim() || "mount failed";
  }
  return {
    path,
    async [Symbol.asyncDispose]() {
      await privileged(["umount", path]);
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** A small disk for a test that needs one (it is not ignored). */
async function mountedDisk(mib: number) {
  const disk = await smallDisk(mib);
  if (typeof disk === "string") throw new Error(`Cannot mount: ${disk}`);
  return disk;
}

const probe = await smallDisk(1);
const cannotMount = typeof probe === "string" ? probe : undefined;
if (typeof probe !== "string") await probe[Symbol.asyncDispose]();
else {
  console.log(
    `disk_full_test: the tests on a real full disk are skipped: cannot mount a tmpfs (${cannotMount}); the injected ENOSPC tests still run`,
  );
}

// --- injecting a full disk ---------------------------------------------------

/** Deno's error for a write that finds the disk full. */
function enospc(): Error {
  return Object.assign(new Error("No space left on device (os error 28)"), {
    code: "ENOSPC",
  });
}

/** Replaces `object[name]` with `fake` until disposed. */
function stub<T, K extends keyof T>(
  object: T,
  name: K,
  fake: T[K],
): Disposable {
  const original = object[name];
  object[name] = fake;
  return {
    [Symbol.dispose]() {
      object[name] = original;
    },
  };
}

// --- helpers -------------------------------------------------------------------

/** A store, a worker and the handler over `dataDir`, in this process. */
async function app(
  dataDir: string,
  options: { browser?: Browser; minFreeBytes?: number } = {},
) {
  const store = await JobStore.open(dataDir, {
    minFreeBytes: options.minFreeBytes,
  });
  const worker = new BatchWorker(store, {
    browser: options.browser,
    concurrency: 2,
    pollMs: 50,
  });
  const handle = createHandler({ store, worker, metrics: new Metrics() });
  return {
    store,
    worker,
    call: (path: string, init?: RequestInit) =>
      handle(new Request(`http://pressrun.test${path}`, init)),
    async [Symbol.asyncDispose]() {
      await worker.close();
      await store.close();
    },
  };
}

/** The form of a batch of the postcard over `csv`. */
async function batchForm(csv: string, merge = true): Promise<FormData> {
  const form = new FormData();
  form.append("template", "postcard");
  form.append("chunkSize", "5");
  form.append("merge", String(merge));
  form.append("data", new File([await Deno.readFile(csv)], "recipients.csv"));
  return form;
}

async function settled(store: JobStore, id: string): Promise<BatchStatus> {
  for (let i = 0; i < 1200; i++) {
    const status = await store.batch(id);
    if (status.state !== "running" && status.state !== "queued") return status;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Batch ${id} did not finish`);
}

/** The file ends as a PDF does. */
async function assertWholePdf(path: string) {
  const bytes = await Deno.readFile(path);
  const tail = new TextDecoder().decode(bytes.subarray(-32));
  assert.match(tail, /%%EOF\s*$/, `${path} is whole`);
}

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/**
 * Nothing partial under a final name in a batch's folder: no temporary file
 * left, every stored piece matching its file, every other piece file (one
 * written before its entry could be stored) a whole PDF, every thumbnail a
 * whole PNG, the manifest (if any) valid JSON whose rendered pieces match
 * their files.
 */
async function assertNothingPartial(store: JobStore, id: string) {
  const dir = store.batchDir(id);
  const out = join(dir, "out");
  const pieces = [...(await store.pieces(id)).values()];
  const ok = pieces.filter((p) => p.status === "ok");
  assert.deepEqual(await damagedPieces(out, ok), []);
  const files = names(out);
  assert.deepEqual(files.filter((n) => n.endsWith(".tmp")), [], "no temp");
  for (const pdf of files.filter((n) => /^\d+\.pdf$/.test(n))) {
    await assertWholePdf(join(out, pdf));
  }
  const thumbs = names(join(dir, "thumbs"));
  assert.deepEqual(thumbs.filter((n) => n.endsWith(".tmp")), []);
  for (const thumb of thumbs) {
    const png = await readPng(join(dir, "thumbs", thumb));
    assert.equal(png.width, 320, thumb);
  }
  if (files.includes("manifest.json")) {
    const manifest = JSON.parse(
      await Deno.readTextFile(join(out, "manifest.json")),
    );
    assert.deepEqual(
      await damagedPieces(out, manifest.records),
      [],
      "the manifest's pieces match their files",
    );
  }
}

// --- on a real full disk ---------------------------------------------------

Deno.test({
  name:
    'a batch whose disk fills ends failed with "disk full"; the server stays up, refuses a new batch with 507, says so on /healthz, and retry finishes the batch once there is room',
  ignore: cannotMount !== undefined,
  async fn() {
    await using disk = await mountedDisk(20);
    await using tmp = await tempDir();
    await using browser = await Browser.launch();
    await using a = await app(disk.path, { browser, minFreeBytes: 4 * MiB });
    const { data } = await writeBenchData(tmp.path, "print", 100);
    const created = await a.call("/api/batches", {
      method: "POST",
      body: await batchForm(data),
    });
    assert.equal(created.status, 202);
    const { id } = await created.json();
    // 6 MiB left: a piece and its thumbnail take ≈ 0.1 MB, the batch more.
    const filler = join(disk.path, "filler");
    await Deno.writeFile(
      filler,
      new Uint8Array(await freeBytes(disk.path) - 6 * MiB),
    );
    a.worker.start();
    const failed = await settled(a.store, id);
    assert.equal(failed.state, "failed");
    assert.match(failed.error!, /disk full/);
    // The folder that filled is named: the batch's output folder when a
    // piece's write found the disk full, the data folder when the store's
    // write did (which comes first depends on timing).
    assert.ok(
      failed.error!.includes(disk.path),
      `the folder is named: ${failed.error}`,
    );
    assert.ok(failed.done > 0 && failed.done < 100, `${failed.done} done`);
    assert.equal(failed.merged, undefined, "no merged.pdf claimed");
    await assertNothingPartial(a.store, id);
    await assert.rejects(
      Deno.stat(join(a.store.batchDir(id), "out", "merged.pdf")),
      Deno.errors.NotFound,
    );

    const health = await a.call("/healthz");
    assert.equal(health.status, 503);
    const body = await health.json();
    assert.equal(body.status, "unavailable");
    assert.match(body.message, /disk full/);
    assert.ok(body.data.freeBytes < 4 * MiB, `${body.data.freeBytes} free`);

    const batches = join(disk.path, "batches");
    const before = names(batches);
    const refused = await a.call("/api/batches", {
      method: "POST",
      body: await batchForm(data),
    });
    assert.equal(refused.status, 507);
    const refusal = await refused.json();
    assert.equal(refusal.error, "insufficient_storage");
    assert.match(refusal.message, /disk full/);
    assert.deepEqual(names(batches), before, "nothing written for it");
    assert.equal((await a.store.listBatches()).length, 1);

    await Deno.remove(filler);
    assert.equal(
      (await a.call(`/api/batches/${id}/retry`, { method: "POST" })).status,
      202,
    );
    a.worker.poke();
    const done = await settled(a.store, id);
    assert.equal(done.state, "done", String(done.error));
    assert.deepEqual([done.done, done.failed, done.merged], [100, 0, true]);
    assert.deepEqual(await a.store.verifyPieces(id), []);
    await assertNothingPartial(a.store, id);
    assert.equal((await a.call("/healthz")).status, 200);
  },
});

Deno.test({
  name:
    'the CLI on a full disk exits 1 with "disk full" naming the folder, and leaves no partial file',
  ignore: cannotMount !== undefined,
  async fn() {
    await using disk = await mountedDisk(3);
    await using tmp = await tempDir();
    const { data } = await writeBenchData(tmp.path, "print", 60);
    const out = join(disk.path, "out");
    let stderr = "";
    const code = await cli(
      ["render", "-t", EXAMPLE_TEMPLATE, "-d", data, "-o", out, "--chunk", "5"],
      { stdout: () => {}, stderr: (t) => stderr += t, isTerminal: false },
    );
    assert.equal(code, 1, stderr);
    assert.match(stderr, /disk full/);
    assert.ok(stderr.includes(out), `names the folder: ${stderr}`);
    const files = names(out);
    assert.deepEqual(files.filter((n) => n.endsWith(".tmp")), []);
    const pdfs = files.filter((n) => n.endsWith(".pdf"));
    assert.ok(pdfs.length > 0 && pdfs.length < 60, `${pdfs.length} pieces`);
    if (files.includes("manifest.json")) {
      const manifest = JSON.parse(
        await Deno.readTextFile(join(out, "manifest.json")),
      );
      assert.deepEqual(await damagedPieces(out, manifest.records), []);
    }
    for (const pdf of pdfs) await assertWholePdf(join(out, pdf));
  },
});

// --- a full disk injected: on every machine ----------------------------------

Deno.test("runBatch() stops at a full disk whatever onError says, with a DiskFullError naming the folder; no record is blamed and no file is partial", async () => {
  await using tmp = await tempDir();
  await using browser = await Browser.launch();
  const { data } = await writeBenchData(tmp.path, "print", 20);
  const out = join(tmp.path, "out");
  const writeFile = Deno.writeFile;
  let pieces = 0;
  // The fourth piece finds the disk full half-way through its bytes.
  using _full = stub(Deno, "writeFile", async (path, bytes, options) => {
    if (String(path).includes(".pdf.") && ++pieces > 3) {
      const half = (bytes as Uint8Array).subarray(
        0,
        (bytes as Uint8Array).length >> 1,
      );
      await writeFile(path, half, options);
      throw enospc();
    }
    return await writeFile(path, bytes, options);
  });
  await assert.rejects(
    runBatch({
      template: EXAMPLE_TEMPLATE,
      data,
      out,
      browser,
      concurrency: 1,
      chunkSize: 2,
      onError: "skip",
    }),
    (error: Error) => {
      assert.ok(error instanceof DiskFullError, String(error));
      assert.match(error.message, /disk full/);
      assert.ok(error.message.includes(out), error.message);
      return true;
    },
  );
  const files = names(out);
  assert.deepEqual(files.filter((n) => n.endsWith(".tmp")), [], "no temp");
  const manifest = JSON.parse(
    await Deno.readTextFile(join(out, "manifest.json")),
  );
  assert.equal(manifest.failed, 0, "no record blamed for the disk");
  const ok = manifest.records.filter((r: { status: string }) =>
    r.status === "ok"
  );
  assert.equal(ok.length, 3);
  assert.deepEqual(
    files.filter((n) => n.endsWith(".pdf")),
    ok.map((r: { file: string }) => r.file).sort(),
  );
  assert.deepEqual(await damagedPieces(out, ok), []);
});

Deno.test('a worker whose job store finds the disk full ends the batch as failed with "disk full" (using the reserve) and goes on with the next batch', async () => {
  await using dir = await tempDir();
  await using tmp = await tempDir();
  await using browser = await Browser.launch();
  await using store = await JobStore.open(dir.path);
  const reserve = join(dir.path, ".pressrun-reserve");
  assert.ok((await Deno.stat(reserve)).size > 0, "the reserve is made");
  const { data } = await writeBenchData(tmp.path, "print", 30);
  const queue = async () =>
    (await store.createBatch({
      templatePath: EXAMPLE_TEMPLATE,
      template: { name: "Postcard" },
      csv: await Deno.readFile(data),
      total: 30,
      options: {
        renderer: "auto",
        chunkSize: 3,
        merge: false,
        onError: "skip",
      },
    })).id;
  const first = await queue();
  // From the fifth piece on, every KV write finds the disk full, until the
  // reserve file is removed (then there is room again).
  let full = false;
  const commit = Deno.AtomicOperation.prototype.commit;
  using _kv = stub(
    Deno.AtomicOperation.prototype,
    "commit",
    async function (this: Deno.AtomicOperation) {
      if (full) {
        try {
          await Deno.stat(reserve);
          throw new TypeError("database or disk is full");
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
          full = false;
        }
      }
      return await commit.call(this);
    },
  );
  let seen = 0;
  const worker = new BatchWorker(store, {
    browser,
    concurrency: 2,
    pollMs: 50,
    onPiece: () => {
      if (++seen === 5) full = true;
    },
  });
  try {
    worker.start();
    const status = await settled(store, first);
    assert.equal(status.state, "failed");
    assert.match(status.error!, /disk full/);
    assert.ok(status.error!.includes(dir.path), status.error!);
    // The failure could be recorded only once the reserve was gone.
    assert.equal(full, false, "the reserve was freed to record it");

    const second = await queue();
    worker.poke();
    const next = await settled(store, second);
    assert.equal(next.state, "done", String(next.error));
    assert.equal(next.done, 30);
    assert.ok((await Deno.stat(reserve)).size > 0, "the reserve is made again");
  } finally {
    await worker.close();
  }
});

Deno.test("a new batch is refused with 507 before anything is written when the data folder is short of room, and leaves nothing when the disk fills while it is stored", async (t) => {
  await using dir = await tempDir();
  const csv = await Deno.readFile("examples/postcard/recipients.csv");
  const form = () => {
    const f = new FormData();
    f.append("template", "postcard");
    f.append("data", new File([csv], "recipients.csv"));
    return f;
  };
  const batches = join(dir.path, "batches");

  await t.step(
    "short of room: refused before anything is written",
    async () => {
      await using a = await app(dir.path, {
        minFreeBytes: Number.MAX_SAFE_INTEGER,
      });
      const res = await a.call("/api/batches", {
        method: "POST",
        body: form(),
      });
      assert.equal(res.status, 507);
      const body = await res.json();
      assert.equal(body.error, "insufficient_storage");
      assert.match(body.message, /disk full/);
      assert.ok(body.message.includes(dir.path), body.message);
      assert.deepEqual(names(batches), []);
      assert.deepEqual(await a.store.listBatches(), []);
    },
  );

  await t.step("the disk fills while data.csv is written", async () => {
    await using a = await app(dir.path);
    const writeFile = Deno.writeFile;
    using _full = stub(Deno, "writeFile", async (path, bytes, options) => {
      if (String(path).startsWith(batches)) {
        await writeFile(path, (bytes as Uint8Array).subarray(0, 10), options);
        throw enospc();
      }
      return await writeFile(path, bytes, options);
    });
    const res = await a.call("/api/batches", { method: "POST", body: form() });
    assert.equal(res.status, 507);
    assert.match((await res.json()).message, /disk full/);
    assert.deepEqual(names(batches), [], "no folder, no 0-byte data.csv");
    assert.deepEqual(await a.store.listBatches(), []);
  });
});

Deno.test("/healthz reports the data folder (free bytes, writable) and never starts Chromium", async () => {
  await using dir = await tempDir();
  await using a = await app(dir.path);
  const res = await a.call("/healthz");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, "ok");
  assert.equal(body.chromium, "not running");
  assert.equal(body.data.writable, true);
  assert.ok(body.data.freeBytes > 0);
  assert.equal(await a.worker.browserVersion(), undefined, "none launched");

  const writeTextFile = Deno.writeTextFile;
  using _full = stub(Deno, "writeTextFile", async (path, text, options) => {
    if (String(path).startsWith(dir.path)) throw enospc();
    return await writeTextFile(path, text, options);
  });
  const full = await a.call("/healthz");
  assert.equal(full.status, 503);
  const fullBody = await full.json();
  assert.equal(fullBody.data.writable, false);
  assert.match(fullBody.message, /takes no writes/);
});
