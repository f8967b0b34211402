/**
 * The output folder: stable, sanitised file names and atomic writes (a
 * temporary name, then a rename), so an interrupted run never leaves a
 * half-written file that looks complete.
 *
 * @module
 */
import { join } from "node:path";
import { diskFull, randomTag } from "./_disk.ts";

// Control characters are exactly what this pattern is for.
// deno-lint-ignore no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f<>:"/\\|?*\u2028\u2029]+/g;
const MAX_NAME = 60;

/**
 * A safe file name stem from a CSV-derived string: no path separators, no
 * control characters or NUL, no leading dots, at most 60 characters.
 */
export function sanitizeName(value: string): string {
  const cleaned = value.normalize("NFC")
    .replace(UNSAFE, "-")
    .replace(/\s+/g, "_")
    .replace(/-{2,}/g, "-")
    .replace(/^[.\-_]+/, "")
    .replace(/[.\-_ ]+$/, "");
  return [...cleaned].slice(0, MAX_NAME).join("").replace(/[.\-_]+$/, "");
}

/**
 * The file name of record `index` (1-based) among `total`: the zero-padded
 * index, then the sanitised `label` if any, then the extension.
 */
export function pieceFileName(
  index: number,
  total: number,
  extension: string,
  label = "",
): string {
  const width = Math.max(4, String(total).length);
  const stem = String(index).padStart(width, "0");
  const safe = sanitizeName(label);
  return `${stem}${safe ? `-${safe}` : ""}.${extension}`;
}

/** Options for {@linkcode writeFileAtomic}. */
export interface AtomicWriteOptions {
  /**
   * Called once the bytes are in the temporary file, right before it takes
   * its final name; throwing stops the write (the temporary file goes). A
   * worker checks here that it still holds its batch's lease.
   */
  beforeRename?: () => Promise<void>;
}

/**
 * Writes `bytes` to `dir/name` through a temporary file and a rename, so the
 * final name never holds part of a file. A full disk throws
 * `DiskFullError` naming the file and the folder.
 */
export async function writeFileAtomic(
  dir: string,
  name: string,
  bytes: Uint8Array | string,
  options: AtomicWriteOptions = {},
): Promise<string> {
  const path = join(dir, name);
  const tmp = join(dir, `.${name}.${randomTag()}.tmp`);
  try {
    if (typeof bytes === "string") await Deno.writeTextFile(tmp, bytes);
    else await Deno.writeFile(tmp, bytes);
    await options.beforeRename?.();
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw await diskFull(error, name, dir);
  }
  return path;
}

/** Hex SHA-256 of `bytes`. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    bytes as Uint8Array<ArrayBuffer>,
  );
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}
