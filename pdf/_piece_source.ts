/**
 * Where imposition's pieces come from — one file per piece, or the pages of
 * one PDF read an object at a time — and the checks each piece passes.
 *
 * @module
 */
import { basename } from "node:path";
import { InputError, UsageError } from "../common/errors.ts";
import { bytesSource, FileBytes } from "./_byte_source.ts";
import { PdfReader, type ReaderPage } from "./_pdf_reader.ts";
import type { PieceSize } from "./_sheet.ts";

/** How far, in points, a piece's trim size may stray from the first one's. */
const TOLERANCE_PT = 1;

/** A piece's page, ready to place. */
export interface PiecePage {
  reader: PdfReader;
  page: ReaderPage & { index: number };
  /** How messages name it: "0007.pdf", "merged.pdf page 7". */
  label: string;
  /** A file of its own, read for this piece alone. */
  ownFile: boolean;
}

/**
 * Where pieces come from: one file per piece, or the pages of one PDF.
 * Owns an open file when made by {@linkcode PieceSource.open}: dispose of it
 * (`await using`), or call `close()` (safe twice).
 */
export class PieceSource implements AsyncDisposable {
  /** Number of pieces. */
  readonly count: number;
  /** How the source is named in messages. */
  readonly name: string;
  #paths: readonly (string | undefined)[] | undefined;
  #reader: PdfReader | undefined;
  #file: FileBytes | undefined;

  private constructor(
    count: number,
    name: string,
    parts: { paths?: readonly (string | undefined)[]; reader?: PdfReader },
  ) {
    this.count = count;
    this.name = name;
    this.#paths = parts.paths;
    this.#reader = parts.reader;
  }

  /**
   * One piece per file, in order (the batch's `0001.pdf` …): each is read
   * when its sheet is written. An undefined path (a record that failed)
   * leaves its cell blank.
   */
  static files(paths: readonly (string | undefined)[]): PieceSource {
    return new PieceSource(paths.length, "the pieces", { paths: [...paths] });
  }

  /**
   * Every page of one PDF is a piece, in page order: the merged PDF, or a
   * back. A path is read an object at a time; bytes are read in place.
   *
   * @throws {InputError} Naming the file, if it is no PDF or has no page.
   */
  static async open(
    pdf: string | Uint8Array,
    name = typeof pdf === "string" ? basename(pdf) : "the PDF",
  ): Promise<PieceSource> {
    if (typeof pdf !== "string") {
      const reader = await PdfReader.open(bytesSource(pdf), name);
      return new PieceSource(reader.pageCount, name, { reader });
    }
    let file: FileBytes;
    try {
      file = await FileBytes.open(pdf);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new InputError(`Cannot read ${name}: there is no such file`, {
        cause: error,
        location: { source: name },
      });
    }
    try {
      const reader = await PdfReader.open(file, name);
      const source = new PieceSource(reader.pageCount, name, { reader });
      source.#file = file;
      return source;
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Piece `index` (0-based); undefined when its cell stays blank. */
  async page(index: number): Promise<PiecePage | undefined> {
    if (this.#reader) {
      return {
        reader: this.#reader,
        page: { ...(await this.#reader.page(index)), index },
        label: `${this.name} page ${index + 1}`,
        ownFile: false,
      };
    }
    const path = this.#paths?.[index];
    if (path === undefined) return undefined;
    const name = basename(path);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new InputError(`Cannot read ${name}: there is no such file`, {
        cause: error,
        location: { source: name },
      });
    }
    const reader = await PdfReader.open(bytesSource(bytes), name);
    return {
      reader,
      page: { ...(await reader.page(0)), index: 0 },
      label: name,
      ownFile: true,
    };
  }

  /** Closes the file, if any; safe to call twice. */
  close(): Promise<void> {
    this.#file?.close();
    this.#file = undefined;
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The trim and bleed of the first piece there is (from its boxes). */
export async function firstPieceSize(pieces: PieceSource): Promise<PieceSize> {
  for (let i = 0; i < pieces.count; i++) {
    const got = await pieces.page(i);
    if (!got) continue;
    const { trimBox: t, bleedBox: b } = got.page;
    return {
      trimWidthPt: t[2] - t[0],
      trimHeightPt: t[3] - t[1],
      bleedPt: Math.max(
        0,
        Math.min(t[0] - b[0], t[1] - b[1], b[2] - t[2], b[3] - t[3]),
      ),
    };
  }
  throw new InputError("Cannot impose: every piece is missing");
}

/** Why a piece's page cannot take a cell of `piece`'s size, if it cannot. */
function mismatch(got: PiecePage, piece: PieceSize): string | undefined {
  const { trimBox: t, rotate } = got.page;
  const w = t[2] - t[0], h = t[3] - t[1];
  if (
    Math.abs(w - piece.trimWidthPt) > TOLERANCE_PT ||
    Math.abs(h - piece.trimHeightPt) > TOLERANCE_PT
  ) {
    return `its trim is ${pts(w, h)}, the pieces' is ${
      pts(piece.trimWidthPt, piece.trimHeightPt)
    }`;
  }
  if (rotate !== 0) return `its page is rotated ${rotate}°`;
  return undefined;
}

/** Throws unless the piece's trim is `piece`'s (within 1 pt) and upright. */
export function checkPiece(got: PiecePage, piece: PieceSize): void {
  const why = mismatch(got, piece);
  if (why !== undefined) {
    throw new InputError(`Cannot impose ${got.label}: ${why}`, {
      location: { source: got.reader.name },
    });
  }
}

/** Throws unless the back has 1 page or one per piece, each a piece's size. */
export async function checkBack(
  back: PieceSource,
  pieces: PieceSource,
  piece: PieceSize,
  option: string,
): Promise<void> {
  if (back.count !== 1 && back.count !== pieces.count) {
    throw new UsageError(
      `${option} ${back.name} has ${back.count} pages: give 1 (the same back for every record) or ${pieces.count} (one per record)`,
      { location: { field: option, source: back.name } },
    );
  }
  for (let i = 0; i < back.count; i++) {
    const got = await back.page(i);
    const why = got && mismatch(got, piece);
    if (why !== undefined) {
      throw new UsageError(
        `${option} ${back.name} page ${
          i + 1
        } does not match the pieces: ${why} (a back must be the front's trim size, upright)`,
        { location: { field: option, source: back.name } },
      );
    }
  }
}

function pts(w: number, h: number): string {
  const r = (n: number) => Math.round(n * 100) / 100;
  return `${r(w)}×${r(h)} pt (${r(w / 72)}×${r(h / 72)} in)`;
}
