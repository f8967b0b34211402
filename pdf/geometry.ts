/**
 * Page geometry for print output: trim size, bleed and raster size.
 *
 * All PDF measurements are in points (1/72 inch). The raster covers the whole
 * media box (trim plus bleed on every side), so a 6×4 in postcard with 1/8 in
 * bleed at 300 dpi is rendered at 1875×1275 pixels.
 *
 * @module
 */

/** Unit of a template's size and bleed: inches, millimetres or pixels at `dpi`. */
export type Unit = "in" | "mm" | "px";

/** Resolved page geometry of one print piece. */
export interface PageGeometry {
  /** Raster resolution, pixels per inch. */
  dpi: number;
  /** Trim width in PDF points (1/72 in). */
  trimWidthPt: number;
  /** Trim height in PDF points (1/72 in). */
  trimHeightPt: number;
  /** Bleed on each side, in points (0 when none). */
  bleedPt: number;
  /** Media box width = trim + 2 × bleed, in points. */
  widthPt: number;
  /** Media box height = trim + 2 × bleed, in points. */
  heightPt: number;
  /** Raster width of the full media box (trim + bleed), whole pixels, rounded. */
  pixelWidth: number;
  /** Raster height of the full media box (trim + bleed), whole pixels, rounded. */
  pixelHeight: number;
}

/** Options for {@linkcode pageGeometry}. */
export interface PageGeometryOptions {
  /**
   * Bleed on each side, in the same unit as the size.
   * @default {0}
   */
  bleed?: number;
  /**
   * Raster resolution in pixels per inch, 36 to 1200.
   * @default {300}
   */
  dpi?: number;
}

const POINTS_PER_INCH = 72;
const MM_PER_INCH = 25.4;
const MIN_DPI = 36;
const MAX_DPI = 1200;
const UNITS: readonly Unit[] = ["in", "mm", "px"];

/**
 * Resolves a trim size and bleed into PDF points and raster pixels.
 *
 * `size` and `bleed` are in `size.unit`; `"px"` means pixels at `dpi`.
 *
 * @example Usage
 * ```ts
 * import { pageGeometry } from "./geometry.ts";
 *
 * const g = pageGeometry({ width: 6, height: 4, unit: "in" }, { bleed: 0.125 });
 * console.log(g.widthPt, g.heightPt, g.pixelWidth, g.pixelHeight); // 450 306 1875 1275
 * ```
 *
 * @throws {TypeError} If `size` is not an object or `size.unit` is unknown.
 * @throws {RangeError} If a size is not a positive finite number, the bleed is
 * negative or not finite, or `dpi` is outside 36..1200.
 */
export function pageGeometry(
  size: { width: number; height: number; unit: Unit },
  options: PageGeometryOptions = {},
): PageGeometry {
  if (typeof size !== "object" || size === null) {
    throw new TypeError(`size must be an object, got ${describe(size)}`);
  }
  const { unit } = size;
  if (!UNITS.includes(unit)) {
    throw new TypeError(
      `size.unit must be one of "in", "mm", "px", got ${describe(unit)}`,
    );
  }
  const width = positive("size.width", size.width);
  const height = positive("size.height", size.height);
  const { bleed = 0, dpi = 300 } = options;
  if (!isFiniteNumber(bleed) || bleed < 0) {
    throw new RangeError(
      `bleed must be a non-negative number, got ${describe(bleed)}`,
    );
  }
  if (!isFiniteNumber(dpi) || dpi < MIN_DPI || dpi > MAX_DPI) {
    throw new RangeError(
      `dpi must be a number from ${MIN_DPI} to ${MAX_DPI}, got ${
        describe(dpi)
      }`,
    );
  }

  const trimWidthPt = toPoints(width, unit, dpi);
  const trimHeightPt = toPoints(height, unit, dpi);
  const bleedPt = toPoints(bleed, unit, dpi);
  return {
    dpi,
    trimWidthPt,
    trimHeightPt,
    bleedPt,
    widthPt: toPoints(width + 2 * bleed, unit, dpi),
    heightPt: toPoints(height + 2 * bleed, unit, dpi),
    pixelWidth: toPixels(width + 2 * bleed, unit, dpi),
    pixelHeight: toPixels(height + 2 * bleed, unit, dpi),
  };
}

/** Converts a length in `unit` to points, dividing last to keep exact cases exact. */
function toPoints(value: number, unit: Unit, dpi: number): number {
  if (unit === "in") return value * POINTS_PER_INCH;
  if (unit === "mm") return (value * POINTS_PER_INCH) / MM_PER_INCH;
  return (value * POINTS_PER_INCH) / dpi;
}

/** Converts a length in `unit` to whole raster pixels at `dpi`. */
function toPixels(value: number, unit: Unit, dpi: number): number {
  if (unit === "in") return Math.round(value * dpi);
  if (unit === "mm") return Math.round((value * dpi) / MM_PER_INCH);
  return Math.round(value);
}

function positive(field: string, value: unknown): number {
  if (!isFiniteNumber(value) || value <= 0) {
    throw new RangeError(
      `${field} must be a positive number, got ${describe(value)}`,
    );
  }
  return value;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
