/**
 * The press outputs of a batch, made once its pieces (and `merged.pdf`) are
 * written: `imposed.pdf` (pieces placed on press sheets, with crop marks per
 * grid; pdf/impose.ts) and printer's marks on `merged.pdf` (crop and bleed
 * marks, the record in the slug; pdf/marks.ts). Options are checked before
 * anything renders ({@linkcode planPress}), so an impossible grid costs no
 * rendering.
 *
 * @module
 */
import { join } from "node:path";
import { UsageError } from "../common/errors.ts";
import {
  IMPOSE_FLAGS,
  type ImposeOptionNames,
  type ImposeOptions,
  imposePdfFile,
  parseGutter,
  PieceSource,
  planImposition,
} from "../pdf/impose.ts";
import { markPdfFile, recordSlug } from "../pdf/marks.ts";
import type { Logger } from "../render/log.ts";
import type { Template } from "../template/parse.ts";
import type { ManifestEntry } from "./manifest.ts";

/** The imposition a batch asks for: `--impose 2x2 --sheet 12x18in …`. */
export interface ImposeRequest {
  /** Columns x rows, `2x2`. */
  grid: string;
  /** The press sheet, `12x18in`, `SRA3`. */
  sheet: string;
  order?: "cut-stack" | "step-repeat";
  /** A PDF of backs: one page for all, or one per record. */
  duplex?: string;
  flip?: "long-edge" | "short-edge";
  /** Space between trims, `0.25in`, `6mm`. */
  gutter?: string;
}

/** The press outputs a batch asks for. */
export interface PressRequest {
  /** Printer's marks on merged.pdf (needs the merge). */
  marks?: boolean;
  impose?: ImposeRequest;
}

/** How the API names the press options (the CLI's are its flags). */
export const PRESS_FIELDS: ImposeOptionNames & { marks: string } = {
  impose: "impose",
  sheet: "pressSheet",
  gutter: "gutter",
  order: "order",
  duplex: "duplex",
  flip: "flip",
  marks: "marks",
};

/**
 * The press request from the user's words (the CLI's flags or the API's
 * fields, named by `names` in errors): `marks`, `impose` (`2x2`) with
 * `sheet`, `order`, `duplex`, `flip`, `gutter`; undefined when none is asked
 * for. The grid, sheet and gutter are checked against the template by
 * {@linkcode planPress}.
 *
 * @throws {UsageError} For an option of `impose` without it, `impose` without
 * a sheet, an unknown order or flip.
 */
export function pressRequest(
  given: {
    marks?: boolean;
    impose?: string;
    sheet?: string;
    order?: string;
    duplex?: string;
    flip?: string;
    gutter?: string;
  },
  names: ImposeOptionNames,
): PressRequest | undefined {
  const fail = (message: string, field: string) =>
    new UsageError(message, { location: { field } });
  if (given.impose === undefined) {
    for (const key of ["sheet", "order", "duplex", "flip", "gutter"] as const) {
      if (given[key] !== undefined) {
        throw fail(
          `${
            names[key]
          } is an option of ${names.impose}: add ${names.impose} NxM`,
          names[key],
        );
      }
    }
    return given.marks ? { marks: true } : undefined;
  }
  if (given.sheet === undefined) {
    throw fail(
      `${names.impose} needs ${names.sheet}, e.g. 12x18in`,
      names.sheet,
    );
  }
  const oneOf = <T extends string>(
    value: string | undefined,
    key: "order" | "flip",
    allowed: readonly T[],
  ): T | undefined => {
    if (value === undefined || (allowed as readonly string[]).includes(value)) {
      return value as T | undefined;
    }
    throw fail(
      `${names[key]} must be ${allowed.join(" or ")}, got "${value}"`,
      names[key],
    );
  };
  const impose: ImposeRequest = { grid: given.impose, sheet: given.sheet };
  const order = oneOf(given.order, "order", ["cut-stack", "step-repeat"]);
  const flip = oneOf(given.flip, "flip", ["long-edge", "short-edge"]);
  if (order) impose.order = order;
  if (flip) impose.flip = flip;
  if (given.duplex !== undefined) impose.duplex = given.duplex;
  if (given.gutter !== undefined) impose.gutter = given.gutter;
  return given.marks ? { marks: true, impose } : { impose };
}

/** The imposed file's name in the output folder. */
export const IMPOSED = "imposed.pdf";

/**
 * Checks the press options before rendering: an impossible grid, a sheet
 * smaller than a piece, a gutter under twice the bleed, marks without a
 * merge. Errors name the option as `names` spell it (the CLI's flags by
 * default). Returns what the imposition will be, for the log.
 *
 * @throws {UsageError} Naming the option.
 */
export function planPress(
  request: PressRequest,
  template: Template,
  total: number,
  options: {
    merge: boolean;
    /** PDF/X output asked for too. */
    pdfx?: boolean;
    names?: Partial<ImposeOptionNames> & { marks?: string };
  },
): string | undefined {
  if (request.marks && options.pdfx) {
    const flag = options.names?.marks ?? "--marks";
    throw new UsageError(
      `${flag} cannot go with PDF/X yet: the slug's text is in a font that is not embedded, and PDF/X needs every font embedded`,
      { location: { field: flag } },
    );
  }
  if (request.marks && !options.merge) {
    const flag = options.names?.marks ?? "--marks";
    throw new UsageError(
      `${flag} puts printer's marks on merged.pdf: add ${
        flag === "--marks" ? "--merge" : "merge"
      }`,
      { location: { field: flag } },
    );
  }
  if (!request.impose) return undefined;
  const plan = planImposition(
    total,
    template.geometry,
    imposeOptions(request.impose, template, options.names),
  );
  return `${IMPOSED}: ${plan.layout.description}, ${plan.sheets} sheet${
    plan.sheets === 1 ? "" : "s"
  } (${plan.order})`;
}

/**
 * Writes the press outputs in `out`: `imposed.pdf` (from `merged.pdf` when
 * it was written, else from the piece files; a failed record's cell stays
 * blank), then the marks on `merged.pdf`. Returns the files written.
 */
export async function writePress(
  request: PressRequest,
  out: string,
  template: Template,
  entries: ManifestEntry[],
  options: { merged: boolean; log: Logger; signal?: AbortSignal },
): Promise<{ imposed?: string }> {
  const written: { imposed?: string } = {};
  const sorted = [...entries].sort((a, b) => a.index - b.index);
  const ok = sorted.filter((e) => e.status === "ok" && e.file);
  if (request.impose && ok.length > 0) {
    await using back = request.impose.duplex
      ? await PieceSource.open(request.impose.duplex)
      : undefined;
    await using pieces = options.merged
      ? await PieceSource.open(join(out, "merged.pdf"))
      : PieceSource.files(
        sorted.map((e) =>
          e.status === "ok" && e.file ? join(out, e.file) : undefined
        ),
      );
    const records = options.merged
      ? ok.map((e) => e.index)
      : sorted.map((e) => e.index);
    const result = await imposePdfFile(pieces, join(out, IMPOSED), {
      ...imposeOptions(request.impose, template),
      back,
      records,
      signal: options.signal,
    });
    options.log(
      "info",
      `Wrote ${IMPOSED}: ${result.sheets} sheet${
        result.sheets === 1 ? "" : "s"
      }, ${result.layout.description}, ${result.order}${
        result.blanks ? `, ${result.blanks} blank cells` : ""
      }`,
    );
    written.imposed = IMPOSED;
  }
  if (request.marks && options.merged) {
    const merged = join(out, "merged.pdf");
    const numbers = ok.map((e) => e.index);
    await markPdfFile(merged, merged, {
      slug: (page) => recordSlug(template.name, numbers[page]!, entries.length),
      signal: options.signal,
    });
    options.log("info", "merged.pdf: crop and bleed marks in a 1/3 in slug");
  }
  return written;
}

/** The pdf/impose.ts options of a request. */
function imposeOptions(
  request: ImposeRequest,
  template: Template,
  names?: Partial<ImposeOptionNames>,
): ImposeOptions {
  const all = { ...IMPOSE_FLAGS, ...names };
  return {
    grid: request.grid,
    sheet: request.sheet,
    order: request.order,
    flip: request.flip,
    gutterPt: request.gutter === undefined
      ? undefined
      : parseGutter(request.gutter, all.gutter),
    piece: template.geometry,
    title: template.name,
    names: all,
  };
}
