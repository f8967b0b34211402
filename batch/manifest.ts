/**
 * `manifest.json`: the batch (template, data, format, PDF mode, counts) and
 * one entry per record (index, status, file, sha256, ms, renderer mode, PDF
 * kind, overset texts, error), written one record a line so it reads and
 * diffs well.
 *
 * @module
 */
import type { PdfMode, RendererMode } from "../render/renderer.ts";
import type { OversetText } from "../template/overset.ts";
import { type AtomicWriteOptions, writeFileAtomic } from "./output.ts";

/** What happened to one record. */
export interface ManifestEntry {
  /** 1-based record number. */
  index: number;
  /** Line of the data file where the record starts. */
  line?: number;
  /**
   * `ok`: written; `failed`; `skipped`: not written because a text is
   * overset (`onOverset: "skip"`); `not-rendered`: the batch stopped first.
   */
  status: "ok" | "failed" | "skipped" | "not-rendered";
  /** File name inside the output folder. */
  file?: string;
  sha256?: string;
  bytes?: number;
  /** Wall time for this record, ms. */
  ms?: number;
  mode?: RendererMode;
  /**
   * What the piece's PDF page holds: `vector` (printed from its SVG) or
   * `raster` (one image: asked for, or a vector record whose page would have
   * used Type 3 fonts). Absent for PNG and JPEG pieces.
   */
  kind?: PdfMode;
  /**
   * Its texts that overflow their boxes even at their copyfit bounds,
   * whatever became of it (written with a warning, failed or skipped).
   */
  overset?: OversetText[];
  error?: string;
}

/** The whole manifest. */
export interface Manifest {
  template: string;
  data: string;
  format: string;
  /** What the PDF pages hold (the run's choice); absent for PNG and JPEG. */
  pdfMode?: PdfMode;
  total: number;
  rendered: number;
  failed: number;
  /** Records not written because a text is overset; absent when none. */
  skipped?: number;
  /** Records with an overset text, however handled; absent when none. */
  overset?: number;
  /** Merged PDF file name, when asked for. */
  merged?: string;
  /** The proof's file name, when asked for and written. */
  proof?: string;
  /** The imposed file's name, when asked for and written. */
  imposed?: string;
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

/** Writes `dir/manifest.json` atomically (a temporary file, then a rename). */
export function writeManifest(
  dir: string,
  manifest: Manifest,
  options?: AtomicWriteOptions,
): Promise<string> {
  return writeFileAtomic(
    dir,
    "manifest.json",
    formatManifest(manifest),
    options,
  );
}
