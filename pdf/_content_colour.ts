/**
 * Rewriting the colour operators of a PDF content stream: `rg`/`RG` become
 * `k`/`K` (or `g`/`G` inside a luminosity soft mask), `cs`/`CS` naming
 * DeviceRGB name DeviceCMYK, and the operands of `sc`/`scn`/`SC`/`SCN` are
 * converted when the current colour space converts. Everything else is
 * copied byte for byte; a stream with nothing to change is reported as such
 * and left as it was.
 *
 * @module
 */

/** How the colours of one colour space convert. */
export interface SpaceRule {
  /** The operands of `sc`/`scn` in this space, converted (a pattern name is kept apart). */
  convert(values: number[]): number[];
  /** The name to write in `cs`/`CS` instead (for device spaces named directly). */
  rename?: string;
}

/** What the rewriter asks of the document. */
export interface ColourMapper {
  /** Inside a luminosity soft mask: colours become gray, not CMYK. */
  gray: boolean;
  /** The converted values of a DeviceRGB colour (4 for CMYK, 1 for gray). */
  deviceRgb(r: number, g: number, b: number, stroke: boolean): number[];
  /**
   * How colours in the colour space named `name` (a resource name, or a
   * device name such as `DeviceRGB`) convert; undefined when they stay.
   */
  space(name: string): SpaceRule | undefined;
  /** An inline image (`BI … ID … EI`): its new bytes from `BI` to `EI`, or undefined to keep it. */
  inlineImage(dict: string, data: Uint8Array): string | Uint8Array | undefined;
}

/** The colour-space state a content stream carries along (`q`/`Q` save it). */
export interface ColourState {
  fill: SpaceRule | undefined;
  stroke: SpaceRule | undefined;
}

const WS = new Uint8Array(256);
for (const c of [0, 9, 10, 12, 13, 32]) WS[c] = 1;
const DELIM = new Uint8Array(256);
for (const c of "()<>[]{}/%") DELIM[c.charCodeAt(0)] = 1;

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** Operand kinds. */
const NUMBER = 1, NAME = 2, OTHER = 3;

/** An operator's bytes (up to 3) as one number, to compare without decoding. */
function opKey(text: string): number {
  let key = text.length;
  for (let i = 0; i < text.length; i++) key = key * 256 + text.charCodeAt(i);
  return key;
}

const OP = {
  rg: opKey("rg"),
  RG: opKey("RG"),
  g: opKey("g"),
  G: opKey("G"),
  k: opKey("k"),
  K: opKey("K"),
  cs: opKey("cs"),
  CS: opKey("CS"),
  sc: opKey("sc"),
  SC: opKey("SC"),
  scn: opKey("scn"),
  SCN: opKey("SCN"),
  q: opKey("q"),
  Q: opKey("Q"),
  BI: opKey("BI"),
};

/**
 * Rewrites the colour operators of `content` (decoded content-stream
 * bytes). Returns the new bytes, or undefined when nothing changed. `state`
 * is the colour state at the start, and is left as at the end (so the
 * streams of a page's Contents array run on from one another).
 *
 * @throws {SyntaxError} If an inline image has no end.
 */
export function rewriteColours(
  content: Uint8Array,
  mapper: ColourMapper,
  state: ColourState = { fill: undefined, stroke: undefined },
): Uint8Array | undefined {
  const parts: (Uint8Array | string)[] = [];
  let copied = 0;
  let changed = false;
  const stack: ColourState[] = [];
  // The operands since the last operator: kind, start, end.
  const operands = new Operands();
  const number = (k: number) =>
    parseNumber(content, operands.starts[k]!, operands.ends[k]!);
  /** The last `n` operands' numbers, when they all are numbers. */
  const lastNumbers = (n: number): number[] | undefined => {
    if (operands.count < n) return undefined;
    const values: number[] = [];
    for (let k = operands.count - n; k < operands.count; k++) {
      if (operands.kinds[k] !== NUMBER) return undefined;
      values.push(number(k));
    }
    return values;
  };
  /** Replaces content[from, to) with `text`. */
  const replace = (from: number, to: number, text: string | Uint8Array) => {
    if (from > copied) parts.push(content.subarray(copied, from));
    parts.push(text);
    copied = to;
    changed = true;
  };
  const n = content.length;
  let i = 0;
  while (i < n) {
    const c = content[i]!;
    if (WS[c]) {
      i++;
      continue;
    }
    const start = i;
    if (c === 0x25) { // % comment
      while (i < n && content[i] !== 10 && content[i] !== 13) i++;
      continue;
    }
    if (c === 0x2f) { // /name
      i++;
      while (i < n && !WS[content[i]!] && !DELIM[content[i]!]) i++;
      operands.push(NAME, start, i);
      continue;
    }
    if (c === 0x28) { // (string)
      i = skipString(content, i);
      operands.push(OTHER, start, i);
      continue;
    }
    if (c === 0x3c) { // <hex> or <<dict>>
      i = content[i + 1] === 0x3c
        ? skipComposite(content, i)
        : skipHex(content, i);
      operands.push(OTHER, start, i);
      continue;
    }
    if (c === 0x5b) { // [array]
      i = skipComposite(content, i);
      operands.push(OTHER, start, i);
      continue;
    }
    if (c === 0x29 || c === 0x3e || c === 0x5d || c === 0x7b || c === 0x7d) {
      // Stray delimiter: skip it, as readers do.
      i++;
      continue;
    }
    // A number or an operator.
    i++;
    while (i < n && !WS[content[i]!] && !DELIM[content[i]!]) i++;
    if (
      (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e
    ) {
      operands.push(NUMBER, start, i);
      continue;
    }
    let key = 0;
    if (i - start <= 3) {
      key = i - start;
      for (let k = start; k < i; k++) key = key * 256 + content[k]!;
    }
    const count = operands.count;
    switch (key) {
      case OP.rg:
      case OP.RG: {
        const values = lastNumbers(3);
        const stroke = key === OP.RG;
        if (values) {
          const out = mapper.deviceRgb(
            values[0]!,
            values[1]!,
            values[2]!,
            stroke,
          );
          const op = out.length === 1
            ? (stroke ? "G" : "g")
            : (stroke ? "K" : "k");
          replace(operands.starts[count - 3]!, i, `${format(out)} ${op}`);
        }
        if (stroke) state.stroke = undefined;
        else state.fill = undefined;
        break;
      }
      case OP.g:
      case OP.k:
        state.fill = undefined;
        break;
      case OP.G:
      case OP.K:
        state.stroke = undefined;
        break;
      case OP.cs:
      case OP.CS: {
        const k = count - 1;
        const rule = k >= 0 && operands.kinds[k] === NAME
          ? mapper.space(
            latin1.decode(
              content.subarray(operands.starts[k]! + 1, operands.ends[k]!),
            ),
          )
          : undefined;
        const op = key === OP.cs ? "cs" : "CS";
        if (rule?.rename !== undefined) {
          replace(operands.starts[k]!, i, `/${rule.rename} ${op}`);
        }
        if (key === OP.cs) state.fill = rule;
        else state.stroke = rule;
        break;
      }
      case OP.sc:
      case OP.scn:
      case OP.SC:
      case OP.SCN: {
        const fill = key === OP.sc || key === OP.scn;
        const rule = fill ? state.fill : state.stroke;
        if (!rule) break;
        const named = count > 0 && operands.kinds[count - 1] === NAME;
        const last = count - (named ? 1 : 0);
        let first = last;
        while (first > 0 && operands.kinds[first - 1] === NUMBER) first--;
        if (first === last) break;
        const values: number[] = [];
        for (let k = first; k < last; k++) values.push(number(k));
        const out = format(rule.convert(values));
        if (named) {
          // The pattern name and its operator stay as they were.
          replace(operands.starts[first]!, operands.starts[last]!, `${out} `);
        } else {
          const op = latin1.decode(content.subarray(start, i));
          replace(operands.starts[first]!, i, `${out} ${op}`);
        }
        break;
      }
      case OP.q:
        stack.push({ ...state });
        break;
      case OP.Q: {
        const saved = stack.pop();
        if (saved) {
          state.fill = saved.fill;
          state.stroke = saved.stroke;
        }
        break;
      }
      case OP.BI: {
        const image = inlineImage(content, i);
        const dict = latin1.decode(content.subarray(i, image.idAt));
        const data = content.subarray(image.dataStart, image.dataEnd);
        const out = mapper.inlineImage(dict, data);
        if (out !== undefined) replace(start, image.end, out);
        i = image.end;
        break;
      }
      default:
        break;
    }
    operands.count = 0;
  }
  if (!changed) return undefined;
  if (copied < n) parts.push(content.subarray(copied));
  let size = 0;
  const chunks = parts.map((p) =>
    typeof p === "string" ? encoder.encode(p) : p
  );
  for (const chunk of chunks) size += chunk.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** The operands read since the last operator: kind, start and end of each. */
class Operands {
  count = 0;
  kinds = new Uint8Array(64);
  starts = new Int32Array(64);
  ends = new Int32Array(64);

  push(kind: number, start: number, end: number): void {
    if (this.count === this.kinds.length) {
      const kinds = new Uint8Array(this.count * 2);
      const starts = new Int32Array(this.count * 2);
      const ends = new Int32Array(this.count * 2);
      kinds.set(this.kinds);
      starts.set(this.starts);
      ends.set(this.ends);
      this.kinds = kinds;
      this.starts = starts;
      this.ends = ends;
    }
    this.kinds[this.count] = kind;
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.count++;
  }
}

/** Colour values as content-stream operands: at most 4 decimals. */
export function format(values: number[]): string {
  return values.map(formatNumber).join(" ");
}

function formatNumber(v: number): string {
  const rounded = Math.round(v * 10000) / 10000;
  if (rounded === 0) return "0";
  if (Number.isInteger(rounded)) return String(rounded);
  return String(rounded).replace(/^(-?)0\./, "$1.");
}

/** A PDF number (no exponent: PDF has none) read from its bytes. */
function parseNumber(bytes: Uint8Array, from: number, to: number): number {
  let i = from;
  let sign = 1;
  if (bytes[i] === 0x2d) {
    sign = -1;
    i++;
  } else if (bytes[i] === 0x2b) i++;
  let value = 0;
  let scale = 0;
  for (; i < to; i++) {
    const c = bytes[i]!;
    if (c === 0x2e) {
      if (scale !== 0) break;
      scale = 1;
    } else if (c >= 0x30 && c <= 0x39) {
      value = value * 10 + (c - 0x30);
      if (scale !== 0) scale *= 10;
    } else break;
  }
  return sign * (scale > 1 ? value / scale : value);
}

/** The index after a literal string starting at `i` (its `(`). */
function skipString(bytes: Uint8Array, i: number): number {
  let depth = 0;
  const n = bytes.length;
  while (i < n) {
    const c = bytes[i]!;
    if (c === 0x5c) i += 2; // backslash escape
    else {
      if (c === 0x28) depth++;
      else if (c === 0x29 && --depth === 0) return i + 1;
      i++;
    }
  }
  return n;
}

function skipHex(bytes: Uint8Array, i: number): number {
  const end = bytes.indexOf(0x3e, i + 1);
  return end < 0 ? bytes.length : end + 1;
}

/** The index after an array or dictionary starting at `i`, nesting and strings allowed for. */
function skipComposite(bytes: Uint8Array, i: number): number {
  let depth = 0;
  const n = bytes.length;
  while (i < n) {
    const c = bytes[i]!;
    if (c === 0x28) {
      i = skipString(bytes, i);
      continue;
    }
    if (c === 0x25) {
      while (i < n && bytes[i] !== 10 && bytes[i] !== 13) i++;
      continue;
    }
    if (c === 0x5b || (c === 0x3c && bytes[i + 1] === 0x3c)) {
      depth++;
      i += c === 0x5b ? 1 : 2;
      continue;
    }
    if (c === 0x3c) {
      i = skipHex(bytes, i);
      continue;
    }
    if (c === 0x5d || (c === 0x3e && bytes[i + 1] === 0x3e)) {
      depth--;
      i += c === 0x5d ? 1 : 2;
      if (depth === 0) return i;
      continue;
    }
    i++;
  }
  return n;
}

/**
 * Finds the parts of an inline image whose `BI` ends just before `i`: the
 * `ID` keyword, the data, and the index after `EI`.
 */
function inlineImage(
  bytes: Uint8Array,
  i: number,
): { idAt: number; dataStart: number; dataEnd: number; end: number } {
  const n = bytes.length;
  // The dictionary: tokens up to the ID operator.
  let at = i;
  while (at < n) {
    const c = bytes[at]!;
    if (WS[c]) {
      at++;
      continue;
    }
    if (c === 0x28) {
      at = skipString(bytes, at);
      continue;
    }
    if (c === 0x3c || c === 0x5b) {
      at = c === 0x3c && bytes[at + 1] !== 0x3c
        ? skipHex(bytes, at)
        : skipComposite(bytes, at);
      continue;
    }
    const start = at;
    at++;
    while (at < n && !WS[bytes[at]!] && !DELIM[bytes[at]!]) at++;
    if (
      at - start === 2 && bytes[start] === 0x49 && bytes[start + 1] === 0x44
    ) {
      const dataStart = at + 1; // one white-space character after ID
      // EI, with white space before it and white space (or the end) after.
      for (let k = dataStart; k + 1 < n; k++) {
        if (
          bytes[k] === 0x45 && bytes[k + 1] === 0x49 && WS[bytes[k - 1]!] &&
          (k + 2 >= n || WS[bytes[k + 2]!] || DELIM[bytes[k + 2]!])
        ) {
          return { idAt: start, dataStart, dataEnd: k - 1, end: k + 2 };
        }
      }
      break;
    }
  }
  throw new SyntaxError("An inline image (BI … ID) has no EI");
}
