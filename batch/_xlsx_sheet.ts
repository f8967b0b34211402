/**
 * Scans a sheet's XML into rows of the values Excel shows: each cell's text
 * by its type and number format (`_xlsx_cell.ts`), only the non-empty ones
 * kept, a value past `maxFieldLength` kept only as its length.
 *
 * @module
 */
import type { InputLocation } from "../common/errors.ts";
import type { Book } from "./_xlsx_book.ts";
import {
  formatBoolean,
  formatIsoDate,
  formatNumber,
  GENERAL,
  unescapeText,
} from "./_xlsx_cell.ts";
import { attribute, XmlScanner } from "./_xml.ts";

/** Excel's last row and column. */
const MAX_ROW = 1_048_576;
const MAX_COLUMN = 16_384;

/** A row of the sheet as scanned: its non-empty cells. */
export interface SheetRow {
  /** The sheet's row number. */
  number: number;
  /** Non-empty values by 0-based column, in the order met. */
  cells: SheetCell[];
  /** One more than the rightmost column with a cell element (even empty). */
  width: number;
}

export interface SheetCell {
  column: number;
  text: string;
  /** The value's length when past `maxFieldLength` (then `text` is cut). */
  long?: number;
}

/** Where an error lies besides the file, sheet and row. */
export type At = Omit<InputLocation, "source" | "line"> & { cause?: unknown };

/** A fault found while scanning a cell; becomes a DataError at its row. */
export class SheetError extends Error {
  override name = "SheetError";
  constructor(message: string, readonly at: At = {}) {
    super(message);
  }
}

/**
 * A scanner of the sheet's XML that pushes each finished row onto `rows`
 * (and tells `onRow` the row number as each starts, for errors).
 */
export function sheetScanner(
  book: Book,
  limits: { maxFieldLength: number },
  rows: SheetRow[],
  onRow: (number: number) => void,
): XmlScanner {
  const { formats, strings, date1904 } = book;
  /** Characters kept of a value before only its length is counted. */
  const keep = limits.maxFieldLength * 7 + 16;
  let inData = false;
  let current: SheetRow | undefined;
  let last = 0;
  let column = -1;
  let type = "n";
  let style = 0;
  let value = "";
  let length = 0;
  let inCell = false;
  let inline = false;
  let phonetic = 0;

  const startRow = (raw: string) => {
    const r = raw === "" ? undefined : attribute(raw, "r");
    const number = r === undefined ? last + 1 : Number(r);
    onRow(Number.isInteger(number) ? number : last + 1);
    if (!Number.isInteger(number) || number < 1 || number > MAX_ROW) {
      throw new SheetError(
        `the sheet is damaged: a row is numbered ${JSON.stringify(r)}`,
      );
    }
    last = number;
    column = -1;
    current = { number, cells: [], width: 0 };
  };
  const endRow = () => {
    if (current) rows.push(current);
    current = undefined;
  };
  const startCell = (raw: string) => {
    const ref = attribute(raw, "r");
    column = ref === undefined ? column + 1 : _columnOf(ref);
    if (column < 0 || column >= MAX_COLUMN) {
      throw new SheetError(
        `the sheet is damaged: a cell is at ${JSON.stringify(ref)}`,
      );
    }
    type = attribute(raw, "t") ?? "n";
    const s = attribute(raw, "s");
    style = s === undefined ? 0 : Number(s);
    value = "";
    length = 0;
    inCell = true;
  };
  const endCell = () => {
    inCell = false;
    scanner.capture = false;
    const row = current!;
    row.width = Math.max(row.width, column + 1);
    if (length === 0) return;
    const text = _text();
    if (text === "") return;
    // Past `keep` only the length of a string was counted.
    const size = length > keep ? length : text.length;
    row.cells.push(
      size > limits.maxFieldLength
        ? { column, text: text.slice(0, 40), long: size }
        : { column, text },
    );
  };
  /** The value of the cell just closed, as Excel shows it. */
  const _text = (): string => {
    const format = formats[style] ?? GENERAL;
    switch (type) {
      case "s": {
        const text = strings[Number(value)];
        if (text === undefined) {
          throw new SheetError(
            `the sheet is damaged: cell ${columnName(column)}${
              current!.number
            } ` +
              `refers to shared string ${
                JSON.stringify(value)
              }, which does not exist`,
          );
        }
        return text;
      }
      case "str":
      case "inlineStr":
        return unescapeText(value);
      case "b":
        return formatBoolean(value);
      case "e":
        return value;
      case "d":
        return formatIsoDate(value.trim(), format, date1904);
      default: {
        const number = Number(value);
        return value.trim() !== "" && Number.isFinite(number)
          ? formatNumber(number, format, date1904)
          : value;
      }
    }
  };

  const scanner: XmlScanner = new XmlScanner({
    open(name, raw, empty) {
      switch (name) {
        case "sheetData":
          inData = !empty;
          return;
        case "row":
          if (!inData) return;
          startRow(raw);
          if (empty) endRow();
          return;
        case "c":
          if (!current) return;
          startCell(raw);
          if (empty) endCell();
          return;
        case "v":
          if (inCell && !empty) scanner.capture = true;
          return;
        case "is":
          if (inCell && !empty) inline = true;
          return;
        case "rPh":
          if (!empty) phonetic++;
          return;
        case "t":
          if (inline && phonetic === 0 && !empty) scanner.capture = true;
      }
    },
    close(name) {
      switch (name) {
        case "v":
        case "t":
          scanner.capture = false;
          return;
        case "rPh":
          phonetic--;
          return;
        case "is":
          inline = false;
          return;
        case "c":
          if (inCell) endCell();
          return;
        case "row":
          if (current) endRow();
          return;
        case "sheetData":
          inData = false;
      }
    },
    text(text) {
      length += text.length;
      if (value.length < keep) value += text;
    },
  });
  return scanner;
}

/** The 0-based column of a cell reference ("C7" is 2), or -1. */
function _columnOf(ref: string): number {
  let column = 0;
  let i = 0;
  for (; i < ref.length; i++) {
    const c = ref.charCodeAt(i) | 0x20; // lower case
    if (c < 97 || c > 122) break;
    column = column * 26 + (c - 96);
    if (column > MAX_COLUMN) return -1;
  }
  return i === 0 ? -1 : column - 1;
}

/** Excel's name of the 0-based column `index` ("A", "Z", "AA"). */
export function columnName(index: number): string {
  let name = "";
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  }
  return name;
}
