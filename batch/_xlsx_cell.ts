/**
 * A cell's text as Excel shows it: numbers and dates through their number
 * format (SheetJS's SSF formatter, the format engine of SheetJS 0.20),
 * booleans as TRUE/FALSE, errors as their code (#N/A), strings as they are.
 *
 * @module
 */
import { SSF } from "@e965/xlsx";

/**
 * A number format: a format code ("dd/mm/yyyy"), or the id of one of
 * Excel's built-in formats (14, the short date), which SSF resolves.
 */
export type NumberFormat = string | number;

/** The format of a cell with no style: General. */
export const GENERAL: NumberFormat = 0;

/** Formatted values kept per format, so repeated dates and amounts format once. */
const CACHE_SIZE = 4096;
const _cache = new Map<NumberFormat, Map<number, string>>();

/** Excel's General shows integers of up to 11 digits as they are. */
const GENERAL_INTEGER = 1e11;

/** Milliseconds from the Unix epoch to serial day 0 of each date system. */
const EPOCH_1900 = Date.UTC(1899, 11, 30);
const EPOCH_1904 = Date.UTC(1904, 0, 1);
const DAY = 86_400_000;

/**
 * `value` (a cell's number) as Excel shows it in `format`: "31/12/2026" for
 * 46387 in dd/mm/yyyy, "3.50" in 0.00, "20%" in 0%. Padding a format adds
 * for alignment (`_)`, `* `) is trimmed. A format SSF cannot read shows the
 * number as General does.
 */
export function formatNumber(
  value: number,
  format: NumberFormat,
  date1904: boolean,
): string {
  if (
    (format === 0 || format === "General") && Number.isInteger(value) &&
    Math.abs(value) < GENERAL_INTEGER
  ) {
    return String(value);
  }
  const fixed = _fixed(value, format);
  if (fixed !== undefined) return fixed;
  const key = date1904 ? `1904:${format}` : format;
  let cached = _cache.get(key);
  const hit = cached?.get(value);
  if (hit !== undefined) return hit;
  let text: string;
  try {
    text = String(SSF.format(format, value, { date1904 })).trim();
  } catch {
    text = String(SSF.format(0, value, {})).trim();
  }
  if (cached === undefined) _cache.set(key, cached = new Map());
  if (cached.size === CACHE_SIZE) cached.clear();
  cached.set(value, text);
  return text;
}

/** Built-in formats of the fixed family: decimals, grouping, percent. */
const FIXED_IDS: Record<number, string> = {
  1: "0",
  2: "0.00",
  3: "#,##0",
  4: "#,##0.00",
  9: "0%",
  10: "0.00%",
};
const FIXED = /^(#,##0|0)(?:\.(0{1,10}))?(%?)$/;
/** Digits a double holds exactly enough for the rounding below. */
const EXACT = 1e15;

/**
 * `value` in one of the plain formats 0, 0.00, #,##0.00, 0% (any number of
 * decimals), done here because they are most of a list's numbers and SSF
 * parses the format anew for each. Undefined — SSF decides — for other
 * formats, and where rounding is close to a tie or a negative rounds to
 * zero (where SSF has its own ways), so the text is always SSF's.
 */
function _fixed(value: number, format: NumberFormat): string | undefined {
  const code = typeof format === "number" ? FIXED_IDS[format] : format;
  if (code === undefined) return undefined;
  const match = FIXED.exec(code);
  if (match === null) return undefined;
  const decimals = match[2]?.length ?? 0;
  const scale = 10 ** decimals;
  const scaled = Math.abs(match[3] ? value * 100 : value) * scale;
  if (!(scaled < EXACT)) return undefined;
  const units = Math.round(scaled);
  if (Math.abs(scaled - Math.trunc(scaled) - 0.5) < 1e-6) return undefined;
  if (units === 0 && value < 0) return undefined;
  const whole = String(Math.floor(units / scale));
  const digits = match[1] === "#,##0"
    ? whole.replace(/\B(?=(\d{3})+$)/g, ",")
    : whole;
  const fraction = decimals === 0
    ? ""
    : `.${String(units % scale).padStart(decimals, "0")}`;
  return `${value < 0 ? "-" : ""}${digits}${fraction}${match[3]}`;
}

/**
 * The text of a `t="d"` cell (an ISO 8601 date): in `format` as a serial
 * date, or, under General, as the date itself ("2026-12-31", with the time
 * when it has one). Text that is no date stays as it is.
 */
export function formatIsoDate(
  iso: string,
  format: NumberFormat,
  date1904: boolean,
): string {
  const time = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  if (Number.isNaN(time)) return iso;
  if (format === 0 || format === "General") {
    const text = new Date(time).toISOString();
    return text.endsWith("T00:00:00.000Z")
      ? text.slice(0, 10)
      : text.slice(0, 19).replace("T", " ");
  }
  const serial = (time - (date1904 ? EPOCH_1904 : EPOCH_1900)) / DAY;
  return formatNumber(serial, format, date1904);
}

/** A boolean cell's value ("1" or "0") as Excel shows it. */
export function formatBoolean(value: string): string {
  return value.trim() === "0" ? "FALSE" : "TRUE";
}

/**
 * Decodes OOXML's escapes of characters XML cannot hold (`_x000D_` is a
 * carriage return; `_x005F_` escapes an underscore).
 */
export function unescapeText(text: string): string {
  if (text.indexOf("_x") === -1) return text;
  return text.replace(
    /_x([0-9A-Fa-f]{4})_/g,
    (_, hex: string) => String.fromCharCode(parseInt(hex, 16)),
  );
}
