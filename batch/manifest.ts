/**
 * `manifest.json`: one entry per record (index, status, file, sha256, ms,
 * error), written one record a line so it reads and diffs well.
 *
 * @module
 */
import type { RendererMode } from "../render/renderer.ts";
import { writeFileAtomic } from "./output.ts";

/** What happened to one record. */
export interface ManifestEntry {
  /** 1-based record number. */
  index: number;
  /** Line of the data file where the record starts. */
  line?: number;
  status: "ok" | "failed" | "not-rendered";
  /** File name inside the output folder. */
  file?: string;
  sha256?: string;
  bytes?: number;
  /** Wall time for this record, ms. */
  ms?: number;
  mode?: RendererMode;
  error?: string;
}

/** The whole manifest. */
export interface Manifest {
  template: string;
  data: string;
  format: string;
  total: number;
  rendered: number;
  failed: number;
  /** Merged PDF file name, when asked for. */
  merged?: string;
  startedAt: string;
  ms: number;
  records: ManifestEntry[];
}

/** Serialises a manifest with one record per line. */
export function formatManifest(manifest: Manifest): string {
  const { records, ...head } = manifest;
  const top = JSON.stringify(head, null, 2).slice(0, -2);
  const lines = records.map((r) => `    ${JSON.stringify(r)}`).join(",\n");
  return `${top},\n  "records": [\n${lines}\n  ]\n}\n`;
}

/** Writes `dir/manifest.json` atomically. */
export function writeManifest(
  dir: string,
  manifest: Manifest,
): Promise<string> {
  return writeFileAtomic(dir, "manifest.json", formatManifest(manifest));
}
