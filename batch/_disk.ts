/**
 * Disk space: the bytes free under a folder, telling a full disk's errors
 * (ENOSPC, Deno KV's "database or disk is full") from others and turning
 * them into {@linkcode DiskFullError}, and the reserve — a file the job
 * store keeps so that, when the disk fills, it can free room to write that
 * a batch failed.
 *
 * @module
 */
import { statfs } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DiskFullError } from "../common/errors.ts";

/** Bytes an unprivileged process may still write under `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return fs.bavail * fs.bsize;
}

/**
 * Whether `error` says the disk is full: ENOSPC (or EDQUOT, a quota) from a
 * file write, or Deno KV's SQLITE_FULL.
 */
export function isDiskFull(error: unknown): boolean {
  if (error instanceof DiskFullError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (code === "ENOSPC" || code === "EDQUOT") return true;
  // Deno KV throws SQLite's SQLITE_FULL as a bare TypeError (no code, no
  // class of its own): its message is all there is to tell it by.
  return error.message.includes("database or disk is full");
}

/**
 * `error` as a {@linkcode DiskFullError} saying that `what` could not be
 * written in `folder` and how much is free there; other errors as they are.
 */
export async function diskFull(
  error: unknown,
  what: string,
  folder: string,
): Promise<unknown> {
  if (!isDiskFull(error) || error instanceof DiskFullError) return error;
  const free = await freeBytes(folder).catch(() => undefined);
  return new DiskFullError(
    `Cannot write ${what}: disk full (${
      free === undefined ? "" : `${formatBytes(free)} free `
    }in ${folder})`,
    { cause: error, folder, freeBytes: free },
  );
}

/**
 * Runs `write`, which writes `what` in `folder`; a full disk comes out as a
 * {@linkcode DiskFullError} naming them.
 */
export async function writingTo<T>(
  folder: string,
  what: string,
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw await diskFull(error, what, folder);
  }
}

/** "512 B", "3.4 MiB": a byte count for people. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return `${unit === 0 ? n : n.toFixed(1)} ${units[unit]}`;
}

/**
 * A file of `bytes` zeros kept beside the job store. While the disk has
 * room it is there; when a write finds the disk full, releasing it frees
 * enough for the store to record that (a batch failed, or went back to the
 * queue). It is made again once the disk has room for it and more.
 */
export class Reserve {
  readonly path: string;
  readonly bytes: number;

  constructor(path: string, bytes: number) {
    this.path = path;
    this.bytes = bytes;
  }

  /** Whether the reserve file is in place, full size. */
  async held(): Promise<boolean> {
    try {
      return (await Deno.stat(this.path)).size >= this.bytes;
    } catch {
      return false;
    }
  }

  /**
   * Makes the file if it is missing and at least `spare` bytes would stay
   * free beside it; true when it is in place afterwards.
   */
  async keep(spare: number): Promise<boolean> {
    if (this.bytes <= 0 || await this.held()) return true;
    const dir = dirname(this.path);
    if (await freeBytes(dir) < this.bytes + spare) return false;
    const tmp = join(dir, `.${basename(this.path)}.${randomTag()}.tmp`);
    try {
      await Deno.writeFile(tmp, new Uint8Array(this.bytes));
      await Deno.rename(tmp, this.path);
      return true;
    } catch {
      await Deno.remove(tmp).catch(() => {});
      return false;
    }
  }

  /** Removes the file, freeing its bytes; true if it was there. */
  async release(): Promise<boolean> {
    try {
      await Deno.remove(this.path);
      return true;
    } catch {
      return false;
    }
  }
}

/** Eight hex digits for a temporary file's name. */
export function randomTag(): string {
  return crypto.randomUUID().slice(0, 8);
}
