import assert from "node:assert/strict";
import { join } from "node:path";
import type { ManifestEntry } from "../batch/manifest.ts";
import { Metrics } from "../batch/metrics.ts";
import { sha256 } from "../batch/output.ts";
import { damagedPieces } from "../batch/piece_check.ts";
import { runBatch } from "../batch/run.ts";
import { JobStore } from "../batch/store.ts";
import { BatchWorker } from "../batch/worker.ts";
import { createHandler } from "../server/api.ts";
import { Browser } from "../render/browser.ts";
import type { Logger } from "../render/log.ts";
import {
  csvUrls,
  decodeQr,
  EXAMPLE_TEMPLATE,
  pdfInfo,
  pdfToPngs,
  tempDir,
  TRICKY_CSV,
} from "./_helpers.ts";

/** A logger that keeps the warnings. */
function warnings(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    log: (level, message) => {
      if (level === "warn") lines.push(message);
    },
  };
}

/** Cuts a file to its first `bytes` bytes. */
async function truncate(path: string, bytes: number): Promise<void> {
  const data = await Deno.readFile(path);
  await Deno.writeFile(path, data.subarray(0, bytes));
}

/** Flips one byte in the middle of a file: same size, other content. */
async function tamper(path: string): Promise<void> {
  const data = await Deno.readFile(path);
  const middle = data.length >> 1;
  data[middle] = data[middle]! ^ 0xff;
  await Deno.writeFile(path, data);
}

Deno.test("runBatch() with resume renders again a kept piece whose file was truncated or changed, names it, and merges every page", async () => {
  await using browser = await Browser.launch();
  await using out = await tempDir();
  await using pngs = await tempDir();
  const first = await runBatch({
    template: EXAMPLE_TEMPLATE,
    data: TRICKY_CSV,
    out: out.path,
    browser,
    concurrency: 2,
    chunkSize: 4,
  });
  const resume = new Map(first.manifest.records.map((r) => [r.index, r]));
  const cut = resume.get(3)!.file!;
  const changed = resume.get(8)!.file!;
  await truncate(join(out.path, cut), 1000);
  await tamper(join(out.path, changed));

  const { log, lines } = warnings();
  const rendered: number[] = [];
  const second = await runBatch({
    template: EXAMPLE_TEMPLATE,
    data: TRICKY_CSV,
    out: out.path,
    browser,
    concurrency: 2,
    chunkSize: 4,
    merge: true,
    resume,
    log,
    onRecord: (entry, piece) => {
      if (piece) rendered.push(entry.index);
    },
  });
  assert.deepEqual(rendered.sort((a, b) => a - b), [3, 8], "rendered again");
  assert.ok(
    lines.some((l) => l.includes(cut) && l.includes("1000 bytes")),
    `the truncated file is named: ${lines.join(" | ")}`,
  );
  assert.ok(
    lines.some((l) => l.includes(changed) && l.includes("SHA-256")),
    `the changed file is named: ${lines.join(" | ")}`,
  );
  assert.equal(second.manifest.merged, "merged.pdf");
  assert.deepEqual(
    await damagedPieces(out.path, second.manifest.records),
    [],
    "every file matches its manifest entry",
  );
  const merged = join(out.path, "merged.pdf");
  assert.equal((await pdfInfo(merged)).pages, 12);
  const urls = await csvUrls(TRICKY_CSV);
  const pages = await pdfToPngs(merged, pngs.path, 100);
  for (const page of [2, 7]) {
    assert.equal(await decodeQr(pages[page]!), urls[page], `page ${page + 1}`);
  }
});

Deno.test("runBatch() whose merge fails names the piece, leaves no merged.pdf and a manifest that claims none", async () => {
  await using browser = await Browser.launch();
  await using out = await tempDir();
  const first = await runBatch({
    template: EXAMPLE_TEMPLATE,
    data: TRICKY_CSV,
    out: out.path,
    browser,
    concurrency: 2,
    limit: 4,
    merge: true,
  });
  assert.equal(first.manifest.merged, "merged.pdf");
  // A kept piece that passes the check (its entry says these very bytes)
  // but is no PDF: the merge cannot read it.
  const bad = new TextEncoder().encode("not a PDF at all");
  const file = first.manifest.records[1]!.file!;
  await Deno.writeFile(join(out.path, file), bad);
  const resume = new Map<number, ManifestEntry>(
    first.manifest.records.map((r) => [r.index, r]),
  );
  resume.set(2, {
    ...resume.get(2)!,
    bytes: bad.length,
    sha256: await sha256(bad),
  });

  await assert.rejects(
    runBatch({
      template: EXAMPLE_TEMPLATE,
      data: TRICKY_CSV,
      out: out.path,
      browser,
      concurrency: 2,
      limit: 4,
      merge: true,
      resume,
    }),
    (error: Error) => {
      assert.match(error.message, new RegExp(`${file}.*merged\\.pdf`));
      return true;
    },
  );
  await assert.rejects(
    Deno.stat(join(out.path, "merged.pdf")),
    Deno.errors.NotFound,
    "the earlier merged.pdf is gone",
  );
  const manifest = JSON.parse(
    await Deno.readTextFile(join(out.path, "manifest.json")),
  );
  assert.equal(
    manifest.merged,
    undefined,
    "the manifest claims no merged file",
  );
  const left = [...Deno.readDirSync(out.path)].map((e) => e.name);
  assert.deepEqual(left.filter((n) => n.endsWith(".tmp")), [], "no temp file");
});

Deno.test("a worker that takes over a dead worker's batch renders its truncated piece again and finishes; verifyPieces() marks a piece damaged later so retry renders it", async () => {
  await using dir = await tempDir();
  await using browser = await Browser.launch();
  await using store = await JobStore.open(dir.path);
  const queued = await store.createBatch({
    templatePath: EXAMPLE_TEMPLATE,
    template: { name: "Postcard" },
    csv: await Deno.readFile(TRICKY_CSV),
    total: 12,
    options: { renderer: "auto", chunkSize: 3, merge: true, onError: "fail" },
  });
  const id = queued.id;
  const out = join(store.batchDir(id), "out");
  // A worker that rendered half the batch, then died (kill -9): the batch is
  // running under its lease, its pieces are stored, one file is cut short.
  const dead = await store.claimNext("worker-dead", 60_000);
  assert.equal(dead?.id, id);
  await runBatch({
    template: EXAMPLE_TEMPLATE,
    data: TRICKY_CSV,
    out,
    browser,
    concurrency: 2,
    chunkSize: 3,
    limit: 6,
    onRecord: (entry) => store.putPiece(id, entry, dead!.lease),
  });
  const cut = (await store.pieces(id)).get(4)!.file!;
  await truncate(join(out, cut), 500);

  const { log, lines } = warnings();
  const metrics = new Metrics();
  const worker = new BatchWorker(store, {
    browser,
    concurrency: 2,
    pollMs: 50,
    staleAfterMs: 200,
    metrics,
    log,
  });
  /** Each piece file's modification time, by record. */
  const mtimes = async () => {
    const times = new Map<number, number>();
    for (const entry of (await store.pieces(id)).values()) {
      if (entry.status !== "ok") continue;
      const stat = await Deno.stat(join(out, entry.file!));
      times.set(entry.index, stat.mtime!.getTime());
    }
    return times;
  };
  /** The records of `before` whose files were written since. */
  const rewritten = async (before: Map<number, number>) => {
    const after = await mtimes();
    return [...before].filter(([i, t]) => after.get(i) !== t).map(([i]) => i);
  };
  const finished = async () => {
    for (let i = 0; i < 600; i++) {
      const status = await store.batch(id);
      if (status.state !== "running" && status.state !== "queued") {
        return status;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`Batch ${id} did not finish`);
  };
  try {
    const beforeTakeover = await mtimes();
    worker.start();
    const status = await finished();
    assert.equal(status.state, "done", String(status.error));
    assert.deepEqual([status.done, status.failed], [12, 0]);
    assert.deepEqual(await rewritten(beforeTakeover), [4], "kept but record 4");
    assert.equal(metrics.piecesRendered, 7, "records 4 and 7-12 rendered");
    assert.ok(
      lines.some((l) => l.includes(cut)),
      `the truncated file is named: ${lines.join(" | ")}`,
    );
    const pieces = await store.pieces(id);
    assert.deepEqual(await damagedPieces(out, pieces.values()), []);
    assert.equal((await pdfInfo(join(out, "merged.pdf"))).pages, 12);

    // Damaged after the batch finished: verifyPieces() (what serving the
    // ZIP calls) finds it and marks it failed, and retry renders it again.
    const later = pieces.get(9)!.file!;
    await truncate(join(out, later), 10);
    // The ZIP is not served with the damaged file in it: 409 naming it.
    const handle = createHandler({ store, worker, metrics });
    const zip = await handle(
      new Request(`http://pressrun.test/api/batches/${id}/output.zip`),
    );
    assert.equal(zip.status, 409);
    const refusal = await zip.json();
    assert.equal(refusal.error, "damaged_pieces");
    assert.match(
      refusal.message,
      new RegExp(
        `1 piece is damaged on disk \\(${later} has 10 bytes.*retry the batch`,
      ),
    );
    const marked = await store.batch(id);
    assert.equal(marked.failed, 1);
    assert.match(marked.error!, new RegExp(later));
    assert.equal((await store.pieces(id)).get(9)!.status, "failed");
    const beforeRetry = await mtimes();
    await store.retry(id);
    worker.poke();
    const retried = await finished();
    assert.equal(retried.state, "done", String(retried.error));
    assert.deepEqual([retried.done, retried.failed], [12, 0]);
    assert.deepEqual(await rewritten(beforeRetry), [], "the others kept");
    assert.equal(metrics.piecesRendered, 8, "record 9 rendered again");
    assert.deepEqual(await store.verifyPieces(id), []);
  } finally {
    await worker.close();
  }
});
