import assert from "node:assert/strict";
import { Browser } from "../render/browser.ts";
import type { PiecePayload } from "../render/page_api.ts";
import { PersistentRenderer } from "../render/persistent.ts";
import type { PrintedChunk, RenderedPiece } from "../render/render_page.ts";
import { ClusterRenderer } from "../render/cluster.ts";
import { FIRST_NAMES } from "../bench/data.ts";
import {
  EXAMPLE_CSV,
  examplePieces,
  run,
  tempDir,
  wrapPageApi,
} from "./_helpers.ts";

/** The first-name line a piece must show: its own record's text. */
async function textOf(piece: RenderedPiece, dir: string): Promise<string> {
  assert.equal(piece.kind, "vector");
  if (piece.kind !== "vector") throw new Error("unreachable");
  const file = `${dir}/${crypto.randomUUID()}.pdf`;
  await Deno.writeFile(file, piece.pdf);
  return await run("pdftotext", [file, "-"]);
}

/**
 * In every render page opened later, `vector()` never answers for a chunk
 * holding record `index` (alone too when `alone`), after telling Deno on
 * the console.
 */
function hangChunksWith(index: number, alone: boolean) {
  return wrapPageApi((value, { n, single }) => ({
    ...value,
    vector(request) {
      const has = request.payloads.some((p) => p.index === n);
      if (has && (single || request.payloads.length > 1)) {
        console.log("pressrun-test: hanging");
        return new Promise(() => {});
      }
      return value.vector(request);
    },
  }), { n: index, single: alone });
}

Deno.test("a record that throws in the page fails alone; the rest of its chunk prints", async () => {
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  const { spec, payloads } = await examplePieces(EXAMPLE_CSV);
  const chunks: PrintedChunk[] = [];
  await using pool = await PersistentRenderer.start(browser, spec, {
    pages: 1,
    pdfMode: "vector",
    encode: { onChunk: (c) => chunks.push(c) },
  });
  const bad: PiecePayload = {
    ...payloads[2]!,
    objects: [...payloads[2]!.objects, { id: "no-such-object", visible: true }],
  };
  const all = [...payloads.slice(0, 2), bad, ...payloads.slice(3)];
  const settled = await Promise.allSettled(all.map((p) => pool.render(p)));
  assert.deepEqual(chunks.map((c) => c.records), [[1, 2, 4, 5, 6, 7, 8]]);
  for (const [i, result] of settled.entries()) {
    if (i === 2) {
      assert.equal(result.status, "rejected");
      assert.match(
        (result as PromiseRejectedResult).reason.message,
        /^Cannot render record 3: Unknown object no-such-object/,
      );
      continue;
    }
    assert.equal(result.status, "fulfilled", `record ${i + 1}`);
    const piece = (result as PromiseFulfilledResult<RenderedPiece>).value;
    assert.match(await textOf(piece, dir.path), new RegExp(FIRST_NAMES[i]!));
  }
  assert.equal(pool.pages[0]!.renders, 8, "recycling counts records");
});

Deno.test("a tab closed mid-chunk is replaced and each record of the chunk is retried alone, every record printed once", async () => {
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  const { spec, payloads } = await examplePieces(EXAMPLE_CSV);
  const chunks: PrintedChunk[] = [];
  const failures: unknown[] = [];
  let closed = 0;
  await using pool = await PersistentRenderer.start(browser, spec, {
    pages: 1,
    pdfMode: "vector",
    onPageFailure: (e) => failures.push(e),
    encode: {
      onChunk: (c) => chunks.push(c),
      setup: async (page) => {
        page.on("console", (m) => {
          if (m.text() === "pressrun-test: hanging" && closed++ === 0) {
            page.close().catch(() => {});
          }
        });
        await hangChunksWith(4, false)(page);
      },
    },
  });
  const first = pool.pages[0];
  const pieces = await Promise.all(payloads.map((p) => pool.render(p)));
  assert.equal(closed, 1);
  assert.equal(failures.length, 1);
  assert.notEqual(pool.pages[0], first);
  // The chunk never printed; then each record alone, once.
  assert.deepEqual(chunks.map((c) => c.records), [
    [1],
    [2],
    [3],
    [4],
    [5],
    [
      6,
    ],
    [7],
    [8],
  ]);
  for (const [i, piece] of pieces.entries()) {
    assert.match(await textOf(piece, dir.path), new RegExp(FIRST_NAMES[i]!));
  }
});

Deno.test("a chunk past its deadline: the tab is destroyed, its records retried alone, the one that hangs fails alone", async () => {
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  const { spec, payloads } = await examplePieces(EXAMPLE_CSV, 5);
  await using pool = await PersistentRenderer.start(browser, spec, {
    pages: 1,
    pdfMode: "vector",
    renderTimeoutMs: 1500,
    encode: { setup: hangChunksWith(3, true) },
  });
  const started = performance.now();
  const settled = await Promise.allSettled(payloads.map((p) => pool.render(p)));
  const seconds = (performance.now() - started) / 1000;
  assert.deepEqual(settled.map((s) => s.status), [
    "fulfilled",
    "fulfilled",
    "rejected",
    "fulfilled",
    "fulfilled",
  ]);
  assert.match(
    (settled[2] as PromiseRejectedResult).reason.message,
    /^Record 3 failed on two render pages: Record 3 took longer than 1\.5 s/,
  );
  for (const i of [0, 1, 3, 4]) {
    const piece = (settled[i] as PromiseFulfilledResult<RenderedPiece>).value;
    assert.match(await textOf(piece, dir.path), new RegExp(FIRST_NAMES[i]!));
  }
  assert.ok(seconds < 10, `bounded: ${seconds.toFixed(1)} s`);
});

Deno.test("the cluster renderer prints a vector piece on a fresh tab per record", async () => {
  await using browser = await Browser.launch();
  await using dir = await tempDir();
  const { spec, payloads } = await examplePieces(EXAMPLE_CSV, 2);
  await using cluster = new ClusterRenderer(browser, spec, {
    pdfMode: "vector",
  });
  for (const [i, payload] of payloads.entries()) {
    const piece = await cluster.render(payload);
    assert.match(await textOf(piece, dir.path), new RegExp(FIRST_NAMES[i]!));
  }
  assert.deepEqual(await browser.puppeteer.pages(), [], "no tab left open");
});
