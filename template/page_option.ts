/**
 * The page of a bare Fabric document. Fabric's `canvas.toJSON()` writes no
 * width or height, so a design exported from a Fabric editor says nothing of
 * its page. The page then comes from, in order:
 *
 * 1. the user: `--page 6x4in` (or `A6`, `152x102mm`), `--dpi 300`, `--bleed
 *    0.125in`, and `--size 1800x1200` for the design's own extent in design
 *    units (the CLI's flags, the API's `page`, `dpi`, `bleed`, `size` fields;
 *    {@linkcode parsePageOption});
 * 2. the design: the editor's workspace (artboard) rectangle, a top-level
 *    Rect whose `id` or `name` is "workspace", or the document's own
 *    `clipPath` rectangle — the page's trim, wherever the editor put it (one
 *    real template has its workspace at −115.5, −296.5): the design is moved
 *    so the workspace lands on the page ({@linkcode designArea});
 * 3. the document's `width` and `height`, from the top-left corner.
 *
 * @module
 */
import type { Unit } from "../pdf/geometry.ts";

/** A page the user gave for a bare Fabric document. */
export interface PageOption {
  /** The trim size (`--page`). */
  page?: { width: number; height: number; unit: Unit };
  /** Raster pixels per inch (`--dpi`). */
  dpi?: number;
  /** Bleed on each side, in inches (`--bleed`). */
  bleedIn?: number;
  /** The design's extent in design units, from its top-left corner (`--size`). */
  size?: { width: number; height: number };
}

/** Named trim sizes `--page` takes, in millimetres or inches. */
export const PAPER_SIZES: Record<
  string,
  { width: number; height: number; unit: Unit }
> = {
  a3: { width: 297, height: 420, unit: "mm" },
  a4: { width: 210, height: 297, unit: "mm" },
  a5: { width: 148, height: 210, unit: "mm" },
  a6: { width: 105, height: 148, unit: "mm" },
  sra3: { width: 320, height: 450, unit: "mm" },
  letter: { width: 8.5, height: 11, unit: "in" },
  legal: { width: 8.5, height: 14, unit: "in" },
  tabloid: { width: 11, height: 17, unit: "in" },
};

const MM_PER_INCH = 25.4;

/**
 * A paper size: a name of {@linkcode PAPER_SIZES} (any case), or
 * `WxH` with a unit `in`, `mm` or `px` (`6x4in`, `152.4x101.6mm`), `×`
 * allowed for `x`. Undefined when `text` is none of these.
 */
export function parsePaperSize(
  text: string,
): { width: number; height: number; unit: Unit } | undefined {
  const named = PAPER_SIZES[text.trim().toLowerCase()];
  if (named) return { ...named };
  const m = /^\s*(\d+(?:\.\d+)?)\s*[x×]\s*(\d+(?:\.\d+)?)\s*(in|mm|px)\s*$/i
    .exec(text);
  if (!m) return undefined;
  const width = Number(m[1]), height = Number(m[2]);
  if (!(width > 0 && height > 0)) return undefined;
  return { width, height, unit: m[3]!.toLowerCase() as Unit };
}

/** A length with a unit (`0.125in`, `3mm`), in inches; undefined when it is not one. */
export function parseLengthIn(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(in|mm)\s*$/i.exec(text);
  if (!m) return undefined;
  const value = Number(m[1]);
  return m[2]!.toLowerCase() === "mm" ? value / MM_PER_INCH : value;
}

/**
 * The page option from the user's words: `page` (`6x4in`, `A6`), `dpi`
 * (`300`), `bleed` (`0.125in`, `3mm`), `size` (`1800x1200`, design units).
 * Each given one is checked; the error names the option and what it takes.
 *
 * @param name How the caller names each option in errors: the CLI's
 * `--page`, the API's `page`.
 * @throws {RangeError} Naming the option, for a value it does not take.
 */
export function parsePageOption(
  given: { page?: string; dpi?: string; bleed?: string; size?: string },
  name: (option: "page" | "dpi" | "bleed" | "size") => string,
): PageOption | undefined {
  const option: PageOption = {};
  if (given.page !== undefined) {
    option.page = parsePaperSize(given.page);
    if (!option.page) {
      throw new RangeError(
        `${name("page")} must be a size like 6x4in, 152x102mm or a name (${
          Object.keys(PAPER_SIZES).map((k) => k.toUpperCase()).join(", ")
        }), got "${given.page}"`,
      );
    }
  }
  if (given.dpi !== undefined) {
    const dpi = Number(given.dpi);
    if (!/^\s*\d+(\.\d+)?\s*$/.test(given.dpi) || dpi < 36 || dpi > 1200) {
      throw new RangeError(
        `${name("dpi")} must be a number from 36 to 1200, got "${given.dpi}"`,
      );
    }
    option.dpi = dpi;
  }
  if (given.bleed !== undefined) {
    option.bleedIn = parseLengthIn(given.bleed);
    if (option.bleedIn === undefined || option.bleedIn > 2) {
      throw new RangeError(
        `${
          name("bleed")
        } must be a length like 0.125in or 3mm (at most 2 in), got "${given.bleed}"`,
      );
    }
  }
  if (given.size !== undefined) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*[x×]\s*(\d+(?:\.\d+)?)\s*(px)?\s*$/i.exec(
      given.size,
    );
    const width = Number(m?.[1]), height = Number(m?.[2]);
    if (!m || !(width > 0 && height > 0)) {
      throw new RangeError(
        `${
          name("size")
        } must be the design's width and height in its own units, like 1800x1200, got "${given.size}"`,
      );
    }
    option.size = { width, height };
  }
  return Object.keys(option).length ? option : undefined;
}

/** The design's page area in design units: its top-left corner and size. */
export interface DesignArea {
  left: number;
  top: number;
  width: number;
  height: number;
  /** Where it came from, for messages: `canvas.objects[0] (workspace)`. */
  from: string;
}

/**
 * The page area a bare Fabric document carries: its workspace rectangle, or
 * its `clipPath` rectangle; undefined when it has neither.
 *
 * @throws {RangeError} For a workspace that is rotated or has no size.
 */
export function designArea(
  doc: Record<string, unknown>,
): DesignArea | undefined {
  const objects = Array.isArray(doc.objects) ? doc.objects : [];
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i] as Record<string, unknown> | null;
    if (!o || typeof o !== "object") continue;
    const named = [o.id, o.name].some((v) =>
      typeof v === "string" && v.toLowerCase() === "workspace"
    );
    if (named && String(o.type).toLowerCase() === "rect") {
      return boxOf(o, `objects[${i}] (the workspace rectangle)`);
    }
  }
  const clip = doc.clipPath as Record<string, unknown> | undefined;
  if (
    clip && typeof clip === "object" &&
    String(clip.type).toLowerCase() === "rect"
  ) {
    return boxOf(clip, "the document's clipPath");
  }
  return undefined;
}

/** A rectangle's box in its parent's units, as Fabric places it. */
function boxOf(o: Record<string, unknown>, from: string): DesignArea {
  const num = (v: unknown, d: number) =>
    typeof v === "number" && Number.isFinite(v) ? v : d;
  const angle = num(o.angle, 0) % 360;
  if (angle !== 0) {
    throw new RangeError(`${from} is rotated ${angle}°: a page cannot be`);
  }
  const width = num(o.width, 0) * Math.abs(num(o.scaleX, 1));
  const height = num(o.height, 0) * Math.abs(num(o.scaleY, 1));
  if (!(width > 0 && height > 0)) {
    throw new RangeError(`${from} has no size`);
  }
  // Fabric 7 places objects by their centre unless originX/Y say otherwise.
  const shift = (origin: unknown, size: number) =>
    origin === "left" || origin === "top"
      ? 0
      : origin === "right" || origin === "bottom"
      ? size
      : typeof origin === "number"
      ? origin * size
      : size / 2;
  return {
    left: num(o.left, 0) - shift(o.originX, width),
    top: num(o.top, 0) - shift(o.originY, height),
    width,
    height,
    from,
  };
}
