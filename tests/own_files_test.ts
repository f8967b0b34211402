import assert from "node:assert/strict";
import { join } from "node:path";
import { ALLOW, outsideRefs } from "../.ci/own_files.ts";

Deno.test("outsideRefs() names each test path that leaves the repository", async () => {
  const top = await Deno.makeTempDir();
  try {
    const root = join(top, "repo");
    await Deno.mkdir(join(root, "tests", "fixtures"), { recursive: true });
    await Deno.mkdir(join(root, "bench"));
    await Deno.writeTextFile(
      join(root, "tests", "a_test.ts"),
      [
        `import { x } from "../mod.ts";`,
        `const ok = "tests/fixtures/a.csv";`,
        `const sibling = "../sibling/fixtures/a.csv";`, // own-files: not a file to read
        `const beside = "${join(top, "shared", "a.csv")}";`, // own-files: not a file to read
        `const system = "/usr/bin/chromium";`,
        `const url = new URL("../../other/x.json", import.meta.url);`, // own-files: not a file to read
        `const hostile = "../../etc/passwd"; // ${ALLOW}`, // own-files: not a file to read
      ].join("\n"),
    );
    await Deno.writeTextFile(
      join(root, "bench", "b.ts"),
      `await Deno.readFile('../data/big.csv');`, // own-files: not a file to read
    );
    const refs = await outsideRefs(root);
    assert.deepEqual(
      refs.map((r) => `${r.file}:${r.line}: ${r.path}`).sort(),
      [
        "bench/b.ts:1: ../data/big.csv",
        "tests/a_test.ts:3: ../sibling/fixtures/a.csv",
        `tests/a_test.ts:4: ${join(top, "shared", "a.csv")}`,
        "tests/a_test.ts:6: ../../other/x.json",
      ],
    );
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});

Deno.test("outsideRefs() finds nothing outside this repository", async () => {
  assert.deepEqual(await outsideRefs("."), []);
});
