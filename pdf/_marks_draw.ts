/**
 * Printer's marks as PDF content: crop and bleed marks, the slug line, and
 * the registration colour they are drawn in (a /Separation named /All, so a
 * RIP puts them on every plate).
 *
 * @module
 */
import { StandardFontEmbedder } from "pdf-lib";

/** Space between the bleed edge and where a mark starts, in points. */
export const MARK_GAP_PT = 3;
/** A crop mark's length: 1/4 in. */
export const MARK_LENGTH_PT = 18;
/** Hairline marks. */
const MARK_WIDTH_PT = 0.25;
/** The slug line's type size, shrunk down to the minimum to fit. */
const SLUG_SIZE_PT = 6;
const SLUG_MIN_SIZE_PT = 4;

/** The registration colour space: 100 % on every plate. */
export const REGISTRATION_SPACE =
  "[/Separation/All/DeviceCMYK<</FunctionType 2/Domain[0 1]/C0[0 0 0 0]/C1[1 1 1 1]/N 1>>]";

/**
 * The slug line's font: Helvetica, one of the standard 14 (every RIP has it;
 * PDF/X conversion embeds a metric twin).
 */
export const SLUG_FONT =
  "<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>";

/** Resource names the marks' content uses. */
export interface MarkNames {
  /** The registration colour space. */
  colour: string;
  /** The slug font. */
  font: string;
}

/** A rectangle [left, bottom, right, top]. */
export type Edges = readonly [number, number, number, number];

const helvetica = StandardFontEmbedder.for(
  // The font package's FontNames enum, whose Helvetica is this string.
  "Helvetica" as Parameters<typeof StandardFontEmbedder.for>[0],
);

/**
 * Crop marks at the trim's corners (and, with `bleedMarks`, shorter marks
 * at the bleed's edges), every one outside the bleed box.
 */
export function pieceMarks(
  trim: Edges,
  bleed: Edges,
  names: MarkNames,
  bleedMarks = true,
): string {
  const [tl, tb, tr, tt] = trim;
  const [bl, bb, br, bt] = bleed;
  const g = MARK_GAP_PT, l = MARK_LENGTH_PT, half = MARK_LENGTH_PT / 2;
  const ops: string[] = [];
  for (const y of [tb, tt]) {
    ops.push(line(bl - g - l, y, bl - g, y), line(br + g, y, br + g + l, y));
  }
  for (const x of [tl, tr]) {
    ops.push(line(x, bb - g - l, x, bb - g), line(x, bt + g, x, bt + g + l));
  }
  const hasBleed = bl < tl - 0.5 || bb < tb - 0.5 || br > tr + 0.5 ||
    bt > tt + 0.5;
  if (bleedMarks && hasBleed) {
    for (const y of [bb, bt]) {
      ops.push(
        line(bl - g - half, y, bl - g, y),
        line(br + g, y, br + g + half, y),
      );
    }
    for (const x of [bl, br]) {
      ops.push(
        line(x, bb - g - half, x, bb - g),
        line(x, bt + g, x, bt + g + half),
      );
    }
  }
  return stroke(ops, names);
}

/**
 * Crop marks around a grid of trims: at every cell's cut line, on all four
 * sides of the grid, outside the outer bleed (never in a gutter, where a
 * neighbour's bleed prints).
 */
export function gridMarks(
  cells: readonly { x: number; y: number; width: number; height: number }[],
  bleedPt: number,
  names: MarkNames,
): string {
  const xs = new Set<number>(), ys = new Set<number>();
  let left = Infinity, bottom = Infinity, right = -Infinity, top = -Infinity;
  for (const c of cells) {
    xs.add(c.x).add(c.x + c.width);
    ys.add(c.y).add(c.y + c.height);
    left = Math.min(left, c.x);
    bottom = Math.min(bottom, c.y);
    right = Math.max(right, c.x + c.width);
    top = Math.max(top, c.y + c.height);
  }
  const g = bleedPt + MARK_GAP_PT, l = MARK_LENGTH_PT;
  const ops: string[] = [];
  for (const x of [...xs].sort((a, b) => a - b)) {
    ops.push(
      line(x, bottom - g - l, x, bottom - g),
      line(x, top + g, x, top + g + l),
    );
  }
  for (const y of [...ys].sort((a, b) => a - b)) {
    ops.push(
      line(left - g - l, y, left - g, y),
      line(right + g, y, right + g + l, y),
    );
  }
  return stroke(ops, names);
}

/**
 * One line of small text at (x, y) (its baseline's left end), in
 * registration colour, shrunk (down to 4 pt) and then cut with "…" to fit
 * `maxWidth`. Characters Helvetica's WinAnsi encoding lacks print as "?".
 */
export function slugLine(
  text: string,
  at: { x: number; y: number; maxWidth: number },
  names: MarkNames,
): string {
  let chars = [...winAnsi(text)];
  if (chars.length === 0 || at.maxWidth <= 0) return "";
  let size = SLUG_SIZE_PT;
  const width = (s: string, pt: number) => helvetica.widthOfTextAtSize(s, pt);
  const full = width(chars.join(""), size);
  if (full > at.maxWidth) {
    size = Math.max(SLUG_MIN_SIZE_PT, (size * at.maxWidth) / full);
  }
  while (
    chars.length > 1 && width(chars.join(""), size) > at.maxWidth + 1e-6
  ) {
    chars = [...chars.slice(0, -2), "…"];
  }
  const hex = helvetica.encodeText(chars.join("")).toString();
  return `BT /${names.colour} cs 1 scn /${names.font} ${num(size)} Tf ${
    num(at.x)
  } ${num(at.y)} Td ${hex} Tj ET\n`;
}

/** The baseline drop below a mark zone for a slug line: its type size. */
export const SLUG_LINE_PT = SLUG_SIZE_PT;

function stroke(ops: string[], names: MarkNames): string {
  return `q /${names.colour} CS 1 SCN ${MARK_WIDTH_PT} w 0 J [] 0 d\n${
    ops.join("\n")
  }\nS Q\n`;
}

function line(x0: number, y0: number, x1: number, y1: number): string {
  return `${num(x0)} ${num(y0)} m ${num(x1)} ${num(y1)} l`;
}

/** A number as PDF content writes it: at most 3 decimals. */
export function num(n: number): string {
  const r = Math.round(n * 1000) / 1000;
  return Object.is(r, -0) ? "0" : String(r);
}

/** Code points WinAnsi has in 0x80–0x9F. */
const WIN_ANSI_EXTRA = new Set(
  "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ",
);

/** `text` with what WinAnsi cannot encode as "?", controls as spaces. */
function winAnsi(text: string): string {
  let out = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || cp === 0x7f) out += " ";
    else if (cp < 0x7f || (cp >= 0xa0 && cp <= 0xff)) out += ch;
    else out += WIN_ANSI_EXTRA.has(ch) ? ch : "?";
  }
  return out.trim();
}
