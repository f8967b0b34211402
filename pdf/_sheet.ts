/**
 * Imposition geometry, with no PDF involved: the grid and sheet options, where
 * each cell lies on the sheet, which piece goes in which cell, and which cell
 * of the back lies behind a cell of the front.
 *
 * Lengths are PDF points (1/72 in), origin at the sheet's bottom-left corner.
 * Cells are numbered left to right, top to bottom, as the pieces stand
 * upright.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { parseLengthIn, parsePaperSize } from "../template/page_option.ts";
import type { PageGeometry } from "./geometry.ts";
import { MARK_GAP_PT, MARK_LENGTH_PT } from "./_marks_draw.ts";

/** A rectangle: left, bottom corner and size, in points. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The size of one piece: trim and bleed, in points. */
export type PieceSize = Pick<
  PageGeometry,
  "trimWidthPt" | "trimHeightPt" | "bleedPt"
>;

/** Columns across and rows down, as the pieces stand upright. */
export interface Grid {
  columns: number;
  rows: number;
}

/** A press sheet's size. */
export interface SheetSize {
  widthPt: number;
  heightPt: number;
  /** As the user gave it: "12x18in", "SRA3". */
  label: string;
  /** The unit lengths are told in, in messages. */
  unit: "in" | "mm";
}

/** How the pieces are ordered across the sheets. */
export type ImposeOrder = "cut-stack" | "step-repeat";

/** The edge the sheet turns over for printing its back. */
export type DuplexFlip = "long-edge" | "short-edge";

/** How options are named in error messages (the CLI's flags by default). */
export interface ImposeOptionNames {
  impose: string;
  sheet: string;
  gutter: string;
  order: string;
  duplex: string;
  flip: string;
}

/** The CLI's flags. */
export const IMPOSE_FLAGS: ImposeOptionNames = {
  impose: "--impose",
  sheet: "--sheet",
  gutter: "--gutter",
  order: "--order",
  duplex: "--duplex",
  flip: "--flip",
};

/** The largest grid side accepted. */
export const MAX_GRID_SIDE = 50;
const POINTS_PER_INCH = 72;
const MM_PER_INCH = 25.4;
/** Room above the bottom crop marks for the sheet's slug line. */
const SLUG_TEXT_PT = 8;

/**
 * A grid like `2x2`, `3x4` or `4×2`: columns across, rows down.
 *
 * @throws {UsageError} Naming the option, for anything else.
 */
export function parseGrid(text: string, option = IMPOSE_FLAGS.impose): Grid {
  const m = /^\s*(\d{1,3})\s*[x×]\s*(\d{1,3})\s*$/i.exec(text);
  const columns = Number(m?.[1]), rows = Number(m?.[2]);
  if (
    !m || !(columns >= 1 && columns <= MAX_GRID_SIDE) ||
    !(rows >= 1 && rows <= MAX_GRID_SIDE)
  ) {
    throw new UsageError(
      `${option} must be columns x rows like 2x2 or 3x4 (1 to ${MAX_GRID_SIDE} each), got "${text}"`,
      { location: { field: option } },
    );
  }
  return { columns, rows };
}

/**
 * A sheet size: a name (SRA3, A3, Letter, Tabloid, … any case) or `WxH` in
 * `in` or `mm` (`13x19in`, `12x18in`, `320x450mm`).
 *
 * @throws {UsageError} Naming the option, for anything else.
 */
export function parseSheet(
  text: string,
  option = IMPOSE_FLAGS.sheet,
): SheetSize {
  const size = parsePaperSize(text);
  if (!size || size.unit === "px") {
    throw new UsageError(
      `${option} must be a sheet size like 12x18in, 13x19in, 320x450mm or a name (SRA3, A3, Letter, Tabloid), got "${text}"`,
      { location: { field: option } },
    );
  }
  const factor = size.unit === "in"
    ? POINTS_PER_INCH
    : POINTS_PER_INCH / MM_PER_INCH;
  return {
    widthPt: size.width * factor,
    heightPt: size.height * factor,
    label: text.trim(),
    unit: size.unit,
  };
}

/**
 * A gutter like `0.25in` or `6mm`, in points.
 *
 * @throws {UsageError} Naming the option, for anything else.
 */
export function parseGutter(
  text: string,
  option = IMPOSE_FLAGS.gutter,
): number {
  const inches = parseLengthIn(text);
  if (inches === undefined || inches > 10) {
    throw new UsageError(
      `${option} must be a length like 0.25in or 6mm (at most 10 in), got "${text}"`,
      { location: { field: option } },
    );
  }
  return inches * POINTS_PER_INCH;
}

/** Options for {@linkcode sheetLayout}. */
export interface LayoutOptions {
  /**
   * Space between neighbouring trims, in points; at least twice the bleed.
   * @default {twice the bleed}
   */
  gutterPt?: number;
  /**
   * Crop marks around the grid (they need a margin on every side).
   * @default {true}
   */
  marks?: boolean;
  /** How options are named in errors. @default {IMPOSE_FLAGS} */
  names?: ImposeOptionNames;
}

/** Where the cells lie on the sheet. */
export interface SheetLayout {
  /** The sheet as laid out: turned when {@linkcode turned}. */
  widthPt: number;
  heightPt: number;
  /** True when the sheet had to be turned (width and height swapped). */
  turned: boolean;
  columns: number;
  rows: number;
  gutterPt: number;
  bleedPt: number;
  marks: boolean;
  /** The trim rectangle of each cell, left to right, top to bottom. */
  cells: Rect[];
  /** The trim rectangles' extent. */
  grid: Rect;
  /** The sheet's unit for messages. */
  unit: "in" | "mm";
  /** One line for people: "2x2 of 6×4 in on 18×12 in (12x18in turned)". */
  description: string;
}

/**
 * Lays a grid of pieces out on a sheet: trims `gutterPt` apart, the grid
 * centred, room for crop marks around it. The sheet is used as given when
 * the grid fits so, else turned (width and height swapped) when it fits that
 * way; the pieces always stand upright in their cells.
 *
 * @throws {UsageError} Naming the options: a gutter narrower than twice the
 * bleed, a sheet smaller than one piece, or a grid that fits neither way.
 */
export function sheetLayout(
  geometry: PieceSize,
  grid: Grid,
  sheet: SheetSize,
  options: LayoutOptions = {},
): SheetLayout {
  const names = options.names ?? IMPOSE_FLAGS;
  const marks = options.marks ?? true;
  const { trimWidthPt: tw, trimHeightPt: th, bleedPt } = geometry;
  const gutterPt = options.gutterPt ?? 2 * bleedPt;
  const say = (pt: number) => length(pt, sheet.unit);
  if (!(gutterPt >= 2 * bleedPt - 1e-6) || !Number.isFinite(gutterPt)) {
    throw new UsageError(
      `${names.gutter} ${say(gutterPt)} is narrower than twice the bleed (${
        say(2 * bleedPt)
      }): a piece's bleed would print over its neighbour's trim`,
      { location: { field: names.gutter } },
    );
  }
  const pieceW = tw + 2 * bleedPt, pieceH = th + 2 * bleedPt;
  const { widthPt: sw, heightPt: sh } = sheet;
  const fitsOne = (w: number, h: number) =>
    (w <= sw && h <= sh) || (w <= sh && h <= sw);
  if (!fitsOne(pieceW, pieceH)) {
    throw new UsageError(
      `${names.sheet} ${sheet.label} (${
        size(sw, sh, sheet.unit)
      }) is smaller than one piece (${
        size(pieceW, pieceH, sheet.unit)
      } with bleed)`,
      { location: { field: names.sheet } },
    );
  }
  // Margin on each side: the outer bleed, then the crop marks, then (at the
  // bottom) the slug line.
  const margin = marks ? bleedPt + MARK_GAP_PT + MARK_LENGTH_PT : bleedPt;
  const bottom = marks ? margin + SLUG_TEXT_PT : margin;
  const gridW = grid.columns * tw + (grid.columns - 1) * gutterPt;
  const gridH = grid.rows * th + (grid.rows - 1) * gutterPt;
  const needW = gridW + 2 * margin, needH = gridH + margin + bottom;
  const fits = (w: number, h: number) => needW <= w + 1e-6 && needH <= h + 1e-6;
  let turned: boolean;
  if (fits(sw, sh)) turned = false;
  else if (fits(sh, sw)) turned = true;
  else {
    const most = (w: number, h: number) => {
      const c = Math.floor((w - 2 * margin + gutterPt) / (tw + gutterPt));
      const r = Math.floor((h - margin - bottom + gutterPt) / (th + gutterPt));
      return c >= 1 && r >= 1 ? `${c}x${r}` : undefined;
    };
    const asGiven = most(sw, sh), turnedMost = most(sh, sw);
    const hint = [
      asGiven && `${asGiven} as given`,
      turnedMost && `${turnedMost} with the sheet turned`,
    ].filter(Boolean).join(", ");
    throw new UsageError(
      `${names.impose} ${grid.columns}x${grid.rows} does not fit ${names.sheet} ${sheet.label}: ${grid.columns}×${grid.rows} pieces of ${
        size(tw, th, sheet.unit)
      } with ${say(gutterPt)} gutters${marks ? " and crop marks" : ""} need ${
        size(needW, needH, sheet.unit)
      }, the sheet is ${size(sw, sh, sheet.unit)} either way round (${
        hint ? `largest grid that fits: ${hint}` : "not even one piece fits"
      })`,
      { location: { field: names.impose } },
    );
  }
  const widthPt = turned ? sh : sw, heightPt = turned ? sw : sh;
  const x0 = (widthPt - gridW) / 2;
  // Centred in the room left above the slug line.
  const y0 = bottom + (heightPt - bottom - margin - gridH) / 2;
  const cells: Rect[] = [];
  for (let row = 0; row < grid.rows; row++) {
    for (let column = 0; column < grid.columns; column++) {
      cells.push({
        x: x0 + column * (tw + gutterPt),
        y: y0 + (grid.rows - 1 - row) * (th + gutterPt),
        width: tw,
        height: th,
      });
    }
  }
  const description = `${grid.columns}x${grid.rows} of ${
    size(tw, th, sheet.unit)
  } on ${size(widthPt, heightPt, sheet.unit)} (${sheet.label}${
    turned ? " turned" : ""
  }), gutters ${say(gutterPt)}`;
  return {
    widthPt,
    heightPt,
    turned,
    columns: grid.columns,
    rows: grid.rows,
    gutterPt,
    bleedPt,
    marks,
    cells,
    grid: { x: x0, y: y0, width: gridW, height: gridH },
    unit: sheet.unit,
    description,
  };
}

/** Sheets needed for `pieces` pieces, `cells` a sheet (at least one). */
export function sheetCount(pieces: number, cells: number): number {
  return Math.max(1, Math.ceil(pieces / cells));
}

/**
 * The piece (0-based) in cell `cell` of sheet `sheet`, or undefined for a
 * blank cell.
 *
 * - `cut-stack`: once the stack of sheets is cut, each cell's stack is in
 *   piece order and the stacks follow each other: cell k of sheet s holds
 *   piece k × sheets + s. Blanks end the last stacks.
 * - `step-repeat`: sheet s holds pieces s × cells … s × cells + cells − 1,
 *   cell by cell. Blanks end the last sheet.
 */
export function pieceAt(
  order: ImposeOrder,
  at: { sheet: number; cell: number },
  counts: { pieces: number; cells: number },
): number | undefined {
  const sheets = sheetCount(counts.pieces, counts.cells);
  const index = order === "cut-stack"
    ? at.cell * sheets + at.sheet
    : at.sheet * counts.cells + at.cell;
  return index < counts.pieces ? index : undefined;
}

/**
 * Where the back of a front rectangle lies on the back page: the sheet turns
 * over about its long edge (`long-edge`: left and right swap on an upright
 * sheet, top and bottom on a sideways one) or its short edge, and both sides
 * read upright after the turn, as a PDF print dialog's "flip on long edge"
 * prints them.
 */
export function behind(
  rect: Rect,
  layout: { widthPt: number; heightPt: number },
  flip: DuplexFlip,
): Rect {
  const upright = layout.heightPt >= layout.widthPt;
  const mirrorX = (flip === "long-edge") === upright;
  return mirrorX
    ? { ...rect, x: layout.widthPt - rect.x - rect.width }
    : { ...rect, y: layout.heightPt - rect.y - rect.height };
}

/** A length in the sheet's unit: "12.25 in", "320 mm". */
export function length(pt: number, unit: "in" | "mm"): string {
  return unit === "in"
    ? `${round(pt / POINTS_PER_INCH, 100)} in`
    : `${round((pt / POINTS_PER_INCH) * MM_PER_INCH, 10)} mm`;
}

function size(w: number, h: number, unit: "in" | "mm"): string {
  const [a, b] = [length(w, unit), length(h, unit)];
  return `${a.split(" ")[0]}×${b}`;
}

function round(n: number, per: number): number {
  return Math.round(n * per) / per;
}
