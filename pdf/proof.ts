/**
 * The proof: a short PDF for the person who signs a batch off before it goes
 * to press. One page a chosen piece, the piece as it prints (its page placed
 * whole, vector where it is vector), its trim drawn as a thin red line and
 * its safe zone (text and faces belong inside) as a dashed blue one,
 * "PROOF" across it, and a caption saying which record it is and why it was
 * chosen; a last page lists the records that failed, with their errors.
 *
 * @module
 */
import {
  degrees,
  PDFDocument,
  type PDFFont,
  type PDFPage,
  rgb,
  StandardFonts,
} from "pdf-lib";
import type { PageGeometry } from "./geometry.ts";

/** A piece on the proof, and what its caption says. */
export interface ProofPiece {
  /** The piece's one-page PDF. */
  pdf: Uint8Array;
  /** "Record 7 (line 8): the longest lastName, 31 characters". */
  caption: string;
}

/** A record that failed, for the last page. */
export interface ProofFailure {
  index: number;
  line?: number;
  error: string;
}

/** Options for {@linkcode proofPdf}. */
export interface ProofOptions {
  /** The batch's name, in the title and on every page. */
  title: string;
  /**
   * The safe zone's inset from the trim, in points.
   * @default {9} (1/8 in)
   */
  safePt?: number;
}

const MARGIN = 36;
const CAPTION = 40;
const RED = rgb(0.85, 0.1, 0.1);
const BLUE = rgb(0.1, 0.35, 0.85);

/**
 * The proof PDF of `pieces` (in the order given) and `failed` (a last page,
 * when any). Captions and errors are printed in Helvetica: characters it
 * cannot draw show as "?".
 *
 * @throws {RangeError} If there is nothing to show.
 */
export async function proofPdf(
  pieces: ProofPiece[],
  failed: ProofFailure[],
  geometry: PageGeometry,
  options: ProofOptions,
): Promise<Uint8Array> {
  if (pieces.length === 0 && failed.length === 0) {
    throw new RangeError("A proof needs a piece or a failed record to show");
  }
  const doc = await PDFDocument.create();
  doc.setTitle(`Proof — ${options.title}`);
  doc.setProducer("pressrun");
  doc.setCreator("pressrun");
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const { widthPt, heightPt, bleedPt, trimWidthPt, trimHeightPt } = geometry;
  const safe = options.safePt ?? 9;
  for (const [i, piece] of pieces.entries()) {
    const caption = wrap(bold, printable(bold, piece.caption), 11, widthPt);
    const captionHeight = CAPTION + 14 * (caption.length - 1);
    const page = doc.addPage([
      widthPt + 2 * MARGIN,
      heightPt + 2 * MARGIN + captionHeight,
    ]);
    const [embedded] = await doc.embedPdf(piece.pdf, [0]);
    page.drawPage(embedded!, {
      x: MARGIN,
      y: MARGIN,
      width: widthPt,
      height: heightPt,
    });
    const trimX = MARGIN + bleedPt, trimY = MARGIN + bleedPt;
    page.drawRectangle({
      x: trimX,
      y: trimY,
      width: trimWidthPt,
      height: trimHeightPt,
      borderColor: RED,
      borderWidth: 0.5,
    });
    page.drawRectangle({
      x: trimX + safe,
      y: trimY + safe,
      width: trimWidthPt - 2 * safe,
      height: trimHeightPt - 2 * safe,
      borderColor: BLUE,
      borderWidth: 0.5,
      borderDashArray: [4, 3],
    });
    watermark(page, bold, widthPt, heightPt);
    const top = heightPt + 2 * MARGIN + captionHeight;
    page.drawText(printable(font, `${options.title} · proof ${i + 1}`), {
      x: MARGIN,
      y: top - 22,
      size: 9,
      font,
      color: rgb(0.4, 0.4, 0.4),
    });
    for (const [k, line] of caption.entries()) {
      page.drawText(line, {
        x: MARGIN,
        y: top - 38 - 14 * k,
        size: 11,
        font: bold,
      });
    }
  }
  if (failed.length > 0) failurePages(doc, failed, font, bold, options.title);
  return await doc.save({ useObjectStreams: false });
}

/** "PROOF" across the piece, light and see-through. */
function watermark(page: PDFPage, font: PDFFont, w: number, h: number): void {
  const size = Math.min(w, h) / 3;
  const text = "PROOF";
  const width = font.widthOfTextAtSize(text, size);
  const angle = Math.atan2(h, w);
  // Centred on the piece, along its diagonal.
  const cx = MARGIN + w / 2, cy = MARGIN + h / 2;
  page.drawText(text, {
    x: cx - (width / 2) * Math.cos(angle) + (size / 3) * Math.sin(angle),
    y: cy - (width / 2) * Math.sin(angle) - (size / 3) * Math.cos(angle),
    size,
    font,
    color: RED,
    opacity: 0.18,
    rotate: degrees((angle * 180) / Math.PI),
  });
}

/** The failed records, as many pages as they take. */
function failurePages(
  doc: PDFDocument,
  failed: ProofFailure[],
  font: PDFFont,
  bold: PDFFont,
  title: string,
): void {
  const [w, h] = [612, 792];
  let page = doc.addPage([w, h]);
  let y = h - 54;
  page.drawText(
    printable(bold, `${title}: ${failed.length} record(s) failed`),
    { x: 54, y, size: 14, font: bold },
  );
  y -= 28;
  for (const f of failed) {
    const head = `Record ${f.index}${f.line ? ` (line ${f.line})` : ""}: `;
    const lines = wrap(font, printable(font, head + f.error), 9, w - 108);
    if (y - lines.length * 12 < 54) {
      page = doc.addPage([w, h]);
      y = h - 54;
    }
    for (const line of lines) {
      page.drawText(line, { x: 54, y, size: 9, font });
      y -= 12;
    }
    y -= 6;
  }
}

/** `text` in lines of at most `width` points. */
function wrap(font: PDFFont, text: string, size: number, width: number) {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    const next = line ? `${line} ${word}` : word;
    if (font.widthOfTextAtSize(next, size) > width && line) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/** `text` with the characters `font` cannot encode as "?". */
function printable(font: PDFFont, text: string): string {
  const charset = new Set(font.getCharacterSet());
  return [...text].map((c) => charset.has(c.codePointAt(0)!) ? c : "?")
    .join("");
}
