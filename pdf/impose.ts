/**
 * Imposition: pieces placed on press sheets, N across and M down, with
 * gutters and crop marks, in cut-and-stack or step-and-repeat order,
 * optionally with a back side for duplex printing. Writes `imposed.pdf`.
 *
 * Each piece's page is placed as a Form XObject (its content stream kept as
 * is, text stays text) clipped to its bleed box, so a neighbour's bleed never
 * reaches a trim: trims are at least twice the bleed apart. The sheet is
 * turned when the grid fits only that way; pieces always stand upright. Crop
 * marks run at every cut line outside the grid, in registration colour, and
 * a slug line names the batch, the sheet, its side and the records it holds.
 *
 * Sheets are written one at a time, so memory holds one sheet's pieces (and
 * a digest per object written), whatever the number of records: pieces come
 * from the per-record files ({@linkcode PieceSource.files}) or from one PDF
 * read an object at a time ({@linkcode PieceSource.open}, the merged PDF).
 *
 * @example Usage
 * ```ts ignore
 * import { imposePdfFile, PieceSource } from "./impose.ts";
 *
 * await using pieces = await PieceSource.open("out/demo/merged.pdf");
 * const result = await imposePdfFile(pieces, "out/demo/imposed.pdf", {
 *   grid: "2x2",
 *   sheet: "12x18in",
 *   title: "Spring postcards",
 * });
 * console.log(result.sheets, result.layout.description);
 * ```
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { InputError, UsageError } from "../common/errors.ts";
import type { Box } from "./_pdf_reader.ts";
import {
  gridMarks,
  MARK_GAP_PT,
  MARK_LENGTH_PT,
  num,
  SLUG_LINE_PT,
  slugLine,
} from "./_marks_draw.ts";
import {
  behind,
  type DuplexFlip,
  type Grid,
  IMPOSE_FLAGS,
  type ImposeOptionNames,
  type ImposeOrder,
  parseGrid,
  parseGutter,
  parseSheet,
  pieceAt,
  type PieceSize,
  type Rect,
  sheetCount,
  type SheetLayout,
  sheetLayout,
  type SheetSize,
} from "./_sheet.ts";
import { SHEET_RESOURCES, SheetPdf } from "./_sheet_pdf.ts";
import {
  checkBack,
  checkPiece,
  firstPieceSize,
  type PiecePage,
  PieceSource,
} from "./_piece_source.ts";

export { type PiecePage, PieceSource };
export {
  type DuplexFlip,
  type Grid,
  IMPOSE_FLAGS,
  type ImposeOptionNames,
  type ImposeOrder,
  parseGrid,
  parseGutter,
  parseSheet,
  type PieceSize,
  type Rect,
  type SheetLayout,
  type SheetSize,
};

const NAMES = {
  colour: SHEET_RESOURCES.colour.name,
  font: SHEET_RESOURCES.font.name,
};

/** Options for {@linkcode imposePdf} and {@linkcode planImposition}. */
export interface ImposeOptions {
  /** Columns x rows: `--impose 2x2`. */
  grid: Grid | string;
  /** The press sheet: `--sheet 12x18in`, `SRA3`. */
  sheet: SheetSize | string;
  /**
   * `--order`: `cut-stack` (each cell's stack in record order once cut,
   * stacks one after the other) or `step-repeat` (sheet by sheet).
   * @default {"cut-stack"}
   */
  order?: ImposeOrder;
  /**
   * `--duplex FILE`: the backs, one page for every record or one page per
   * record, each the front's trim size. Sheets then alternate front, back.
   * @default {no back}
   */
  back?: PieceSource;
  /**
   * The edge the sheet turns over for its back.
   * @default {"long-edge"}
   */
  flip?: DuplexFlip;
  /**
   * Space between neighbouring trims, in points, at least twice the bleed.
   * @default {twice the bleed}
   */
  gutterPt?: number;
  /**
   * Crop marks and the slug line around the grid.
   * @default {true}
   */
  marks?: boolean;
  /**
   * The pieces' trim and bleed.
   * @default {the first piece's TrimBox and BleedBox}
   */
  piece?: PieceSize;
  /** The batch's name: in each sheet's slug line and the document title. */
  title?: string;
  /**
   * The record number of each piece, for the slug line.
   * @default {1, 2, 3, …}
   */
  records?: readonly number[];
  /** How options are named in errors. @default {IMPOSE_FLAGS} */
  names?: Partial<ImposeOptionNames>;
  signal?: AbortSignal;
}

/** What an imposition does, worked out before anything is read. */
export interface ImposePlan {
  layout: SheetLayout;
  order: ImposeOrder;
  /** Sheets (each one page, or two with a back). */
  sheets: number;
  /** Cells that stay blank. */
  blanks: number;
}

/** What {@linkcode imposePdfFile} wrote. */
export interface ImposeResult extends ImposePlan {
  /** Pages of the PDF: sheets, twice over with a back. */
  pages: number;
  /** Bytes of the file. */
  bytes: number;
}

/**
 * Checks the options and lays the sheet out, reading nothing: the CLI calls
 * it before rendering, so a grid that cannot fit stops the batch at once.
 *
 * @throws {UsageError} Naming the option: a bad grid or sheet, a gutter
 * under twice the bleed, a sheet smaller than a piece, a grid that does not
 * fit either way round.
 */
export function planImposition(
  pieces: number,
  piece: PieceSize,
  options: ImposeOptions,
): ImposePlan {
  const names = { ...IMPOSE_FLAGS, ...options.names };
  const grid = typeof options.grid === "string"
    ? parseGrid(options.grid, names.impose)
    : options.grid;
  const sheet = typeof options.sheet === "string"
    ? parseSheet(options.sheet, names.sheet)
    : options.sheet;
  const order = options.order ?? "cut-stack";
  if (order !== "cut-stack" && order !== "step-repeat") {
    throw new UsageError(
      `${names.order} must be cut-stack or step-repeat, got "${order}"`,
      { location: { field: names.order } },
    );
  }
  const flip = options.flip ?? "long-edge";
  if (flip !== "long-edge" && flip !== "short-edge") {
    throw new UsageError(
      `${names.flip} must be long-edge or short-edge, got "${flip}"`,
      { location: { field: names.flip } },
    );
  }
  const layout = sheetLayout(piece, grid, sheet, {
    gutterPt: options.gutterPt,
    marks: options.marks,
    names,
  });
  const cells = layout.cells.length;
  const sheets = sheetCount(pieces, cells);
  return { layout, order, sheets, blanks: sheets * cells - pieces };
}

/**
 * Imposes the pieces into one PDF in memory. For a batch of any size use
 * {@linkcode imposePdfFile}, which holds one sheet at a time.
 *
 * @throws {UsageError} As {@linkcode planImposition}, and for a back whose
 * page count or size does not suit the pieces.
 * @throws {InputError} For a piece that cannot be read or whose size differs
 * from the first's.
 */
export async function imposePdf(
  pieces: PieceSource,
  options: ImposeOptions,
): Promise<{ pdf: Uint8Array; result: ImposeResult }> {
  const job = await prepare(pieces, options);
  const parts: Uint8Array[] = [];
  const result = await run(job, (bytes) => {
    parts.push(bytes);
    return Promise.resolve();
  });
  const pdf = new Uint8Array(result.bytes);
  let offset = 0;
  for (const part of parts) {
    pdf.set(part, offset);
    offset += part.length;
  }
  return { pdf, result };
}

/**
 * Imposes the pieces into the file `path` (`imposed.pdf`), a sheet at a
 * time, through a temporary file beside it: on any error nothing is left at
 * `path` (nor the temporary file).
 *
 * @throws As {@linkcode imposePdf}.
 */
export async function imposePdfFile(
  pieces: PieceSource,
  path: string,
  options: ImposeOptions,
): Promise<ImposeResult> {
  const job = await prepare(pieces, options);
  const tmp = join(
    dirname(path),
    `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`,
  );
  const file = await Deno.open(tmp, {
    write: true,
    create: true,
    truncate: true,
  });
  try {
    let result: ImposeResult;
    try {
      result = await run(job, async (bytes) => {
        for (let at = 0; at < bytes.length;) {
          at += await file.write(bytes.subarray(at));
        }
      });
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
    return result;
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}

/** Everything checked, nothing written yet. */
interface Job {
  pieces: PieceSource;
  plan: ImposePlan;
  piece: PieceSize;
  back: PieceSource | undefined;
  flip: DuplexFlip;
  title: string | undefined;
  records: readonly number[] | undefined;
  signal: AbortSignal | undefined;
}

async function prepare(
  pieces: PieceSource,
  options: ImposeOptions,
): Promise<Job> {
  options.signal?.throwIfAborted();
  const names = { ...IMPOSE_FLAGS, ...options.names };
  if (pieces.count === 0) {
    throw new InputError("Cannot impose: there is no piece");
  }
  const piece = options.piece ?? await firstPieceSize(pieces);
  const plan = planImposition(pieces.count, piece, options);
  const flip = options.flip ?? "long-edge";
  if (options.back) await checkBack(options.back, pieces, piece, names.duplex);
  return {
    pieces,
    plan,
    piece,
    back: options.back,
    flip,
    title: options.title,
    records: options.records,
    signal: options.signal,
  };
}

async function run(
  job: Job,
  write: (bytes: Uint8Array) => Promise<void>,
): Promise<ImposeResult> {
  const { pieces, plan, piece, back } = job;
  const { layout } = plan;
  const pdf = new SheetPdf(job.title);
  const cells = layout.cells.length;
  let bytes = 0;
  const flush = async (chunk: Uint8Array) => {
    bytes += chunk.length;
    await write(chunk);
  };
  for (let sheet = 0; sheet < plan.sheets; sheet++) {
    job.signal?.throwIfAborted();
    const placed: { cell: number; index: number }[] = [];
    const front = new Side(layout);
    for (let cell = 0; cell < cells; cell++) {
      const index = pieceAt(plan.order, { sheet, cell }, {
        pieces: pieces.count,
        cells,
      });
      if (index === undefined) continue;
      const got = await pieces.page(index);
      if (!got) continue;
      checkPiece(got, piece);
      const form = await pdf.form(got.reader, got.page, bleedArea(got, piece), {
        matchBytes: got.ownFile,
      });
      front.place(form, got.page.trimBox, layout.cells[cell]!);
      placed.push({ cell, index });
    }
    const label = (side: string) =>
      slugText(job, sheet, side, placed.map((p) => p.index));
    pdf.side(front.finish(back ? label("front") : label("")));
    await flush(pdf.take());
    if (!back) continue;
    const rear = new Side(layout);
    for (const { cell, index } of placed) {
      const got = (await back.page(back.count === 1 ? 0 : index))!;
      const form = await pdf.form(got.reader, got.page, bleedArea(got, piece), {
        keep: back.count === 1,
        matchBytes: got.ownFile,
      });
      rear.place(
        form,
        got.page.trimBox,
        behind(layout.cells[cell]!, layout, job.flip),
      );
    }
    pdf.side(rear.finish(label("back")));
    await flush(pdf.take());
  }
  await flush(pdf.end());
  return { ...plan, pages: pdf.pageCount, bytes };
}

/** One side of a sheet being drawn. */
class Side {
  #layout: SheetLayout;
  #content: string[] = [];
  #forms = new Map<string, number>();

  constructor(layout: SheetLayout) {
    this.#layout = layout;
  }

  /** Draws a form so its trim box lands on `cell`. */
  place(form: number, trim: Box, cell: Rect): void {
    const name = `P${this.#forms.size}`;
    this.#forms.set(name, form);
    this.#content.push(
      `q 1 0 0 1 ${num(cell.x - trim[0])} ${
        num(cell.y - trim[1])
      } cm /${name} Do Q\n`,
    );
  }

  finish(slug: string) {
    const layout = this.#layout;
    if (layout.marks) {
      this.#content.push(gridMarks(layout.cells, layout.bleedPt, NAMES));
      const { grid } = layout;
      this.#content.push(slugLine(slug, {
        x: grid.x,
        y: grid.y - layout.bleedPt - MARK_GAP_PT - MARK_LENGTH_PT -
          SLUG_LINE_PT - 1,
        maxWidth: grid.width,
      }, NAMES));
    }
    return {
      widthPt: layout.widthPt,
      heightPt: layout.heightPt,
      content: this.#content.join(""),
      forms: this.#forms,
    };
  }
}

/** "Spring postcards · sheet 2 of 3 · front · records 2, 5, 8, 11". */
function slugText(
  job: Job,
  sheet: number,
  side: string,
  indexes: number[],
): string {
  const records = indexes.map((i) => job.records?.[i] ?? i + 1);
  return [
    job.title,
    `sheet ${sheet + 1} of ${job.plan.sheets}`,
    side,
    records.length === 0
      ? "blank"
      : `record${records.length > 1 ? "s" : ""} ${records.join(", ")}`,
  ].filter(Boolean).join(" · ");
}

/** The part of a piece's page that prints: its bleed box, at most `bleedPt` past the trim. */
function bleedArea(got: PiecePage, piece: PieceSize): Box {
  const { trimBox: t, bleedBox: b } = got.page;
  const d = piece.bleedPt;
  return [
    Math.max(b[0], t[0] - d),
    Math.max(b[1], t[1] - d),
    Math.min(b[2], t[2] + d),
    Math.min(b[3], t[3] + d),
  ];
}
