import assert from "node:assert/strict";
import { join } from "node:path";
import {
  chromiumPids,
  cli,
  EXAMPLE_CSV,
  EXAMPLE_TEMPLATE,
  MALFORMED_CSV,
  pdfInfo,
  renderArgs,
  run,
  tempDir,
  TRICKY_CSV,
} from "./_helpers.ts";

Deno.test("cli render writes one PDF per record plus merged.pdf and exits 0", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "out");
  // Chromium's profile goes under TMPDIR: a marker for this run's processes.
  const { code, stderr } = await cli(
    renderArgs(TRICKY_CSV, out, "--merge", "--limit", "5"),
    { TMPDIR: dir.path },
  );
  assert.equal(code, 0, stderr);
  assert.match(stderr, /Using PERSISTENT renderer/);
  assert.match(stderr, /Done: 5 rendered, 0 failed/);
  assert.equal((await pdfInfo(join(out, "merged.pdf"))).pages, 5);
  const manifest = JSON.parse(
    await Deno.readTextFile(join(out, "manifest.json")),
  );
  assert.equal(manifest.records.length, 5);
  assert.deepEqual(
    await chromiumPids(dir.path),
    [],
    "no Chromium left after the CLI exits",
  );
  assert.deepEqual(
    [...Deno.readDirSync(dir.path)].map((e) => e.name),
    ["out"],
    "no profile folder left behind",
  );
});

Deno.test("cli render writes vector PDFs by default: fonts embedded (no Type 3), text selectable, the run says vector", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "out");
  const { code, stderr } = await cli(renderArgs(EXAMPLE_CSV, out, "--merge"));
  assert.equal(code, 0, stderr);
  assert.match(stderr, /Using PERSISTENT renderer.*vector PDF/);
  assert.match(stderr, /Wrote 8 vector PDFs and merged\.pdf/);
  const manifest = JSON.parse(
    await Deno.readTextFile(join(out, "manifest.json")),
  );
  assert.equal(manifest.pdfMode, "vector");
  assert.deepEqual(
    manifest.records.map((r: { kind: string }) => r.kind),
    Array(8).fill("vector"),
  );
  const merged = join(out, "merged.pdf");
  assert.equal((await pdfInfo(merged)).pages, 8);
  const fonts = await run("pdffonts", [merged]);
  assert.match(fonts, /CID TrueType/);
  assert.doesNotMatch(fonts, /Type 3/);
  const text = await run("pdftotext", [merged, "-"]);
  const names = ["Maya", "Arjun", "Sofía", "Liam", "Hannah", "Kenji"];
  let at = -1;
  for (const name of [...names, "Amélie", "Noah"]) {
    const next = text.indexOf(name, at + 1);
    assert.ok(next > at, `${name} after the one before it`);
    at = next;
  }
});

Deno.test("cli render --pdf-mode raster writes one full-page image per PDF", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "out");
  const { code, stderr, stdout } = await cli(
    renderArgs(
      EXAMPLE_CSV,
      out,
      "--pdf-mode",
      "raster",
      "--limit",
      "2",
      "--json",
    ),
  );
  assert.equal(code, 0, stderr);
  const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
  assert.equal(result.type, "result");
  assert.equal(result.pdfMode, "raster");
  for (const file of ["0001.pdf", "0002.pdf"]) {
    const list = await run("pdfimages", ["-list", join(out, file)]);
    const rows = list.trim().split("\n").slice(2);
    assert.equal(rows.length, 1, list);
    assert.match(rows[0]!, /^\s*1\s+0\s+image\s+1875\s+1275\b/);
  }
});

Deno.test("cli render exits 2 for a blend mode in vector mode, naming the object, with nothing written", async () => {
  await using dir = await tempDir();
  const doc = JSON.parse(await Deno.readTextFile(EXAMPLE_TEMPLATE));
  doc.canvas.objects[2].globalCompositeOperation = "screen";
  const template = join(dir.path, "t.json");
  await Deno.writeTextFile(template, JSON.stringify(doc));
  const out = join(dir.path, "out");
  const { code, stderr } = await cli([
    "render",
    "-t",
    template,
    "-d",
    EXAMPLE_CSV,
    "-o",
    out,
  ]);
  assert.equal(code, 2, stderr);
  assert.match(
    stderr,
    /canvas\.objects\[2\] \(\w+\) "globalCompositeOperation" is "screen"/,
  );
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
});

Deno.test("cli render --json prints progress events and a result, and honours PRESSRUN_RENDERER", async () => {
  await using dir = await tempDir();
  const { code, stdout } = await cli(
    renderArgs(TRICKY_CSV, dir.path, "--limit", "3", "--json"),
    { PRESSRUN_RENDERER: "cluster" },
  );
  assert.equal(code, 0);
  const events = stdout.trim().split("\n").map((l) => JSON.parse(l));
  const progress = events.filter((e) => e.type === "progress");
  assert.deepEqual(progress.map((e) => e.done), [1, 2, 3]);
  assert.ok(
    progress.every((e) =>
      e.mode === "cluster" && e.total === 3 && typeof e.rate === "number"
    ),
  );
  const result = events.at(-1);
  assert.equal(result.type, "result");
  assert.equal(result.rendered, 3);
});

Deno.test("cli render exits 2 naming the line of a malformed CSV, with no PDF written", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "out");
  const { code, stderr } = await cli([
    "render",
    "--template",
    EXAMPLE_TEMPLATE,
    "--data",
    MALFORMED_CSV,
    "--out",
    out,
  ]);
  assert.equal(code, 2);
  assert.match(
    stderr,
    /^error: Cannot read recipients-malformed\.csv line 3: /m,
  );
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
});

Deno.test("cli render exits 2 listing missing columns, and 2 for bad usage", async (t) => {
  await using dir = await tempDir();
  const csv = join(dir.path, "few.csv");
  await Deno.writeTextFile(csv, "id,url\n1,https://example.com/r/1\n");
  await t.step("missing columns", async () => {
    const { code, stderr } = await cli([
      "render",
      "--template",
      EXAMPLE_TEMPLATE,
      "--data",
      csv,
      "--out",
      join(dir.path, "o"),
    ]);
    assert.equal(code, 2);
    assert.match(stderr, /few\.csv: missing columns /);
    for (const field of ["firstName", "lastName", "offer", "photo", "zip"]) {
      assert.match(stderr, new RegExp(`missing columns [^(]*"${field}"`));
    }
  });
  await t.step("missing --out", async () => {
    const { code, stderr } = await cli([
      "render",
      "--template",
      EXAMPLE_TEMPLATE,
      "--data",
      csv,
    ]);
    assert.equal(code, 2);
    assert.match(stderr, /--out is required/);
  });
  await t.step("unknown renderer", async () => {
    const { code, stderr } = await cli(
      renderArgs(csv, dir.path, "--renderer", "fast"),
    );
    assert.equal(code, 2);
    assert.match(
      stderr,
      /--renderer must be auto, persistent or cluster, got "fast"/,
    );
  });
  await t.step("unknown template file", async () => {
    const { code, stderr } = await cli([
      "render",
      "-t",
      "nope.json",
      "-d",
      csv,
      "-o",
      dir.path,
    ]);
    assert.equal(code, 2);
    assert.match(stderr, /nope\.json/);
  });
});

Deno.test("cli render --on-error skip exits 1 when a record fails, after rendering the others", async () => {
  await using dir = await tempDir();
  const csv = join(dir.path, "data.csv");
  await Deno.writeTextFile(
    csv,
    "id,firstName,lastName,company,street,city,state,zip,offer,url,photo\n1,A,B,,s,c,,1,x,https://example.com/r/1,\n2,C,D,,s,c,,1,x,,\n",
  );
  const out = join(dir.path, "out");
  const { code, stderr } = await cli(
    renderArgs(csv, out, "--on-error", "skip"),
  );
  assert.equal(code, 1);
  assert.match(stderr, /Cannot render record 2: .*qr\.value/);
  const manifest = JSON.parse(
    await Deno.readTextFile(join(out, "manifest.json")),
  );
  assert.deepEqual(manifest.records.map((r: { status: string }) => r.status), [
    "ok",
    "failed",
  ]);
});

Deno.test("cli --help prints the usage with every flag and exits 0", async () => {
  const { code, stdout } = await cli(["render", "--help"]);
  assert.equal(code, 0);
  for (
    const flag of [
      "--template",
      "--data",
      "--out",
      "--renderer",
      "--concurrency",
      "--merge",
      "--format",
      "--limit",
      "--on-error",
      "--json",
    ]
  ) {
    assert.ok(stdout.includes(flag), flag);
  }
});

Deno.test("cli without permissions prints help, and says in one line what to run to render", async (t) => {
  for (const args of [["--help"], ["render", "--help"], ["help", "render"]]) {
    await t.step(`deno run cli.ts ${args.join(" ")}`, async () => {
      const { code, stdout, stderr } = await cli(args, {}, []);
      assert.equal(code, 0, stderr);
      assert.match(stdout, /^Usage: pressrun/);
      assert.equal(stderr, "");
    });
  }
  await t.step("deno run cli.ts render … exits 2 with one line", async () => {
    const { code, stderr } = await cli(renderArgs(TRICKY_CSV, "out/x"), {}, []);
    assert.equal(code, 2);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
    assert.match(
      stderr,
      /needs .*access to render: run "deno run -A cli\.ts render/,
    );
    assert.doesNotMatch(stderr, /NotCapable|at /);
  });
});

/** Starts the CLI on a 300-record batch; resolves once it reports progress. */
async function startLongRender(dir: string) {
  const { writeBenchData } = await import("../bench/data.ts");
  const { template, data } = await writeBenchData(dir, "screen", 300);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli.ts",
      "render",
      "-t",
      template,
      "-d",
      data,
      "-o",
      join(dir, "out"),
    ],
    env: { TMPDIR: dir, NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  /** Reads stderr until `pattern` shows in it. */
  const waitFor = async (pattern: RegExp) => {
    while (!pattern.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`The CLI exited early: ${text}`);
      text += value;
    }
  };
  await waitFor(/^\d+\/300 /m);
  let reading: Promise<string> | undefined;
  /** The rest of stderr, to its end. */
  const output = () =>
    reading ??= (async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        text += r.value;
      }
      return text;
    })();
  return {
    child,
    waitFor,
    get output() {
      return output();
    },
  };
}

Deno.test("cli render stops cleanly on SIGTERM: pieces in flight finish, the manifest is written, no Chromium or temp folder is left", async () => {
  await using dir = await tempDir();
  const { child, output } = await startLongRender(dir.path);
  child.kill("SIGTERM");
  const status = await child.status;
  const text = await output;
  assert.equal(status.code, 130, text);
  assert.match(text, /Stopping: finishing pieces in flight/);
  const out = join(dir.path, "out");
  const manifest = JSON.parse(
    await Deno.readTextFile(join(out, "manifest.json")),
  );
  const ok = manifest.records.filter((r: { status: string }) =>
    r.status === "ok"
  );
  const left = manifest.records.filter((r: { status: string }) =>
    r.status === "not-rendered"
  );
  assert.equal(manifest.records.length, 300);
  assert.ok(
    ok.length > 0 && left.length > 0,
    `${ok.length} rendered, ${left.length} left`,
  );
  for (const r of ok) {
    assert.ok((await Deno.stat(join(out, r.file))).size > 1000);
  }
  const names = [...Deno.readDirSync(out)].map((e) => e.name);
  assert.ok(!names.some((n) => n.endsWith(".tmp")), "no half-written file");
  assert.equal(
    names.filter((n) => n.endsWith(".pdf")).length,
    ok.length,
    "every finished piece is listed",
  );
  assert.deepEqual(await chromiumPids(dir.path), []);
  assert.ok(
    ![...Deno.readDirSync(dir.path)].some((e) =>
      e.name.startsWith("pressrun-chromium-")
    ),
    "profile removed",
  );
});

Deno.test("cli render exits at once on a second signal, and Chromium goes with it", async () => {
  await using dir = await tempDir();
  const { child, output, waitFor } = await startLongRender(dir.path);
  child.kill("SIGTERM");
  // The second signal once the first is being handled (two sent at once
  // may reach the process as one).
  await waitFor(/Stopping: finishing pieces in flight/);
  child.kill("SIGTERM");
  const text = await output;
  assert.equal((await child.status).code, 130, text);
  // At once: the graceful stop never reached its end, which reports the
  // batch as interrupted once the pieces in flight are done and the manifest
  // is written.
  assert.doesNotMatch(text, /error: Interrupted/);
  for (let i = 0; i < 30 && (await chromiumPids(dir.path)).length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(
    await chromiumPids(dir.path),
    [],
    "Chromium exits with its parent",
  );
});
