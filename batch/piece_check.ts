/**
 * Checking a finished piece against its manifest entry: the file is there,
 * has the bytes the entry says and the same SHA-256. A resumed batch keeps
 * only the pieces that pass (the others are rendered again), and whatever
 * serves a batch's files can ask first ({@linkcode damagedPieces}).
 *
 * @module
 */
import { join } from "node:path";
import type { ManifestEntry } from "./manifest.ts";
import { sha256 } from "./output.ts";

/** A piece's file as checked: its bytes, or what is wrong with it. */
export type PieceCheck =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; problem: string };

/**
 * Reads the file of a rendered piece (`entry.status` "ok") from `out` and
 * compares it with `entry`'s size and SHA-256 (an entry without them is
 * checked for the file only).
 */
export async function checkPiece(
  out: string,
  entry: ManifestEntry,
): Promise<PieceCheck> {
  if (!entry.file) {
    return { ok: false, problem: `Record ${entry.index} has no file` };
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(join(out, entry.file));
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "is missing"
      : `cannot be read (${(error as Error).message})`;
    return { ok: false, problem: `${entry.file} ${why}` };
  }
  if (entry.bytes !== undefined && bytes.length !== entry.bytes) {
    return {
      ok: false,
      problem:
        `${entry.file} has ${bytes.length} bytes, its manifest entry ${entry.bytes}`,
    };
  }
  if (entry.sha256 !== undefined && await sha256(bytes) !== entry.sha256) {
    return {
      ok: false,
      problem: `${entry.file} does not match the SHA-256 of its manifest entry`,
    };
  }
  return { ok: true, bytes };
}

/** A rendered piece whose file does not match its entry. */
export interface DamagedPiece {
  entry: ManifestEntry;
  /** What is wrong, naming the file: "0007.pdf has 1000 bytes, …". */
  problem: string;
}

/**
 * The rendered pieces among `entries` whose files in `out` are missing or
 * differ from their entries, in the order given. Read one at a time.
 */
export async function damagedPieces(
  out: string,
  entries: Iterable<ManifestEntry>,
): Promise<DamagedPiece[]> {
  const damaged: DamagedPiece[] = [];
  for (const entry of entries) {
    if (entry.status !== "ok") continue;
    const check = await checkPiece(out, entry);
    if (!check.ok) damaged.push({ entry, problem: check.problem });
  }
  return damaged;
}
