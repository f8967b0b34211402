/**
 * Fails when a test or bench file names a path outside the repository: a
 * relative path whose `..` steps climb above the repository (from the file's
 * folder or from the repository root, where tasks run), or an absolute path
 * beside the repository (such as a sibling `../shared`). A user's clone has
 * only the repository; every file a test reads lives in `tests/fixtures/`.
 *
 * Usage: `deno run --allow-read .ci/own_files.ts [ROOT]` — exit 1 with one
 * line per reference found, else exit 0.
 *
 * @module
 */
import { dirname, isAbsolute, join, relative, resolve } from "node:path";

/** The folders whose files must stay inside the repository. */
export const CHECKED_DIRS = ["tests", "bench"];

/** One path literal that points outside the repository. */
export interface OutsideRef {
  /** The file, relative to the repository root. */
  file: string;
  line: number;
  path: string;
}

/**
 * A line that carries this comment holds a path on purpose (hostile input a
 * test feeds the program), not a file to read.
 */
export const ALLOW = "own-files: not a file to read";

const SOURCE = /\.(ts|js|mjs|json|sh)$/;
// String literals holding a path: quoted or template text with a slash.
const LITERAL = /(["'`])((?:\.\.?\/|\/)[^"'`\s$]*)\1/g;

/** Every path literal in `dirs` under `root` that leaves the repository. */
export async function outsideRefs(
  root: string,
  dirs: string[] = CHECKED_DIRS,
): Promise<OutsideRef[]> {
  root = resolve(root);
  const refs: OutsideRef[] = [];
  for (const dir of dirs) {
    for await (const file of sourceFiles(join(root, dir))) {
      const lines = (await Deno.readTextFile(file)).split("\n");
      lines.forEach((text, i) => {
        if (text.includes(ALLOW)) return;
        for (const match of text.matchAll(LITERAL)) {
          const path = match[2]!;
          // Module specifiers resolve from the file; every other path from the
          // repository root, where the tasks run.
          const before = text.slice(0, match.index);
          const after = text.slice(match.index! + match[0].length);
          const base = /\b(from|import)\s*\(?\s*$/.test(before) ||
              /^\s*,\s*import\.meta\.url/.test(after)
            ? dirname(file)
            : root;
          if (leaves(root, base, path)) {
            refs.push({ file: relative(root, file), line: i + 1, path });
          }
        }
      });
    }
  }
  return refs;
}

function leaves(root: string, base: string, path: string): boolean {
  const outside = (p: string) => {
    const rel = relative(root, p);
    return rel === ".." || rel.startsWith("../");
  };
  if (isAbsolute(path)) {
    // System paths (/usr/bin/chromium, /tmp, /proc) are the machine's, set up
    // by setup.sh; a path beside the repository is another checkout's.
    return outside(path) && resolve(path).startsWith(dirname(root) + "/");
  }
  return path.includes("..") && outside(resolve(base, path));
}

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = Deno.readDir(dir);
    for await (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory && entry.name !== "results") {
        yield* sourceFiles(path);
      } else if (entry.isFile && SOURCE.test(entry.name)) yield path;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

if (import.meta.main) {
  const root = Deno.args[0] ?? ".";
  const refs = await outsideRefs(root);
  for (const ref of refs) {
    console.error(
      `${ref.file}:${ref.line}: ${ref.path} is outside the repository`,
    );
  }
  if (refs.length > 0) {
    console.error(
      "Tests and benches read only files inside the repository (tests/fixtures/)",
    );
    Deno.exit(1);
  }
}
