/**
 * Writing one rendered piece into the output folder: its bytes (a vector
 * piece's one-page PDF as the renderer printed it, a raster piece's image
 * wrapped into one, or the image itself), its file name, its SHA-256 — what
 * its manifest entry records.
 *
 * @module
 */
import type { PdfXConverter } from "../pdf/pdfx.ts";
import { piecePdf } from "../pdf/writer.ts";
import type { RenderedPiece } from "../render/render_page.ts";
import type { PdfMode } from "../render/renderer.ts";
import { substitute } from "../template/fields.ts";
import type { Template } from "../template/parse.ts";
import type { CsvRecord } from "./csv.ts";
import { pieceFileName, sha256, writeFileAtomic } from "./output.ts";
import type { OutputFormat } from "./run.ts";

/** Where and how pieces are written; fixed for a batch. */
export interface PieceOutput {
  /** The output folder. */
  out: string;
  format: OutputFormat;
  /** Records of the batch, for the width of the file numbers. */
  total: number;
  /** File name label with placeholders, e.g. "{{lastName}}". */
  name?: string;
  template: Template;
  /**
   * Called before a written piece takes its final name; throws to stop it
   * (see `BatchOptions.fence`).
   */
  fence?: () => Promise<void>;
  /**
   * With `--pdfx`: converts each PDF piece to PDF/X-4 before it is written
   * (so the manifest, resume and the merge see the file as written).
   */
  pdfx?: { converter: PdfXConverter; date: Date };
}

/** A piece written: its manifest fields and the ms each step took. */
export interface WrittenPiece {
  file: string;
  bytes: number;
  sha256: string;
  /** The piece's PDF, for the merged file; undefined for images. */
  pdf?: Uint8Array;
  /** What the PDF page holds; undefined for images. */
  kind?: PdfMode;
  /** ms to wrap the image into the piece's PDF (0 for images and vector). */
  pdfMs: number;
  /** ms to write the file and hash it. */
  writeMs: number;
}

/** Writes `piece`, the rendering of `record`, as `output` says. */
export async function writePiece(
  piece: RenderedPiece,
  record: CsvRecord,
  output: PieceOutput,
): Promise<WrittenPiece> {
  const { format, template } = output;
  const t0 = performance.now();
  let bytes: Uint8Array;
  if (piece.kind === "vector") {
    if (format !== "pdf") {
      throw new TypeError(`A vector piece cannot be written as ${format}`);
    }
    bytes = piece.pdf;
  } else if (format === "pdf") {
    bytes = await piecePdf(piece.image, template.geometry, {
      title: `${template.name} — record ${record.index}`,
    });
  } else bytes = piece.image.bytes;
  if (output.pdfx && format === "pdf") {
    bytes = await output.pdfx.converter.convert(bytes, {
      title: `${template.name} — record ${record.index}`,
      date: output.pdfx.date,
    });
  }
  const label = output.name ? substitute(output.name, record.values) : "";
  const file = pieceFileName(
    record.index,
    output.total,
    format === "jpeg" ? "jpg" : format,
    label,
  );
  const t1 = performance.now();
  await writeFileAtomic(output.out, file, bytes, {
    beforeRename: output.fence,
  });
  const hash = await sha256(bytes);
  return {
    file,
    bytes: bytes.length,
    sha256: hash,
    pdf: format === "pdf" ? bytes : undefined,
    kind: format === "pdf" ? pieceKind(piece) : undefined,
    pdfMs: t1 - t0,
    writeMs: performance.now() - t1,
  };
}

/**
 * What a piece's PDF page holds: a vector piece whose printed page would
 * have used Type 3 fonts comes back as its raster piece PDF.
 */
export function pieceKind(piece: RenderedPiece): PdfMode {
  if (piece.kind === "raster") return "raster";
  return piece.type3Fonts?.length ? "raster" : "vector";
}
