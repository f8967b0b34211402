/**
 * Size and depth limits on a whole template document, every key included,
 * checked before anything walks, clones or stringifies it: a document nested
 * millions deep or holding millions of values would stall the process that
 * reads it (`JSON.parse()` of a 5-million-deep array takes seconds,
 * `JSON.stringify()` of it tens of seconds).
 *
 * Both checks are iterative and stop at the first value past a limit:
 * {@linkcode checkJsonText} on the raw text, before `JSON.parse()`;
 * {@linkcode checkDocumentShape} on a parsed document, before anything else.
 *
 * @module
 */
import { TemplateError } from "../common/errors.ts";

/** Nesting of arrays and objects at most, the document itself level 1. */
export const MAX_JSON_DEPTH = 100;
/** Values (objects, arrays, strings, numbers, booleans, nulls) at most. */
export const MAX_JSON_VALUES = 1_000_000;
/**
 * Characters of JSON text at most (a text this long has at least as many
 * bytes in UTF-8), and characters of all strings and keys of a parsed
 * document together.
 */
export const MAX_JSON_CHARS = 128 * 2 ** 20;

/** One open array or object of the text: where the scan is inside it. */
interface TextFrame {
  array: boolean;
  /** The item's index in an array. */
  index: number;
  /** Where the current key's quoted text starts and ends, in an object. */
  keyStart: number;
  keyEnd: number;
  /** Whether the next string of an object is a key. */
  expectKey: boolean;
}

/**
 * Throws a {@linkcode TemplateError} naming `source`, the key path and the
 * limit when the JSON `text` is longer than {@linkcode MAX_JSON_CHARS}, nests
 * deeper than {@linkcode MAX_JSON_DEPTH} or holds more than
 * {@linkcode MAX_JSON_VALUES} values. One pass over the text that stops at
 * the first excess; it does not check the syntax (`JSON.parse()` does,
 * afterwards), so call it before `JSON.parse()`.
 */
export function checkJsonText(text: string, source: string): void {
  if (text.length > MAX_JSON_CHARS) {
    throw limitError(
      source,
      "",
      `the document is longer than ${mib(MAX_JSON_CHARS)}`,
    );
  }
  const frames: TextFrame[] = [];
  const path = () => textPath(text, frames);
  let values = 0;
  let literal = false;
  const value = () => {
    if (++values > MAX_JSON_VALUES) {
      throw limitError(source, path(), tooMany(path()));
    }
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      literal = false;
      const end = stringEnd(text, i);
      const top = frames.at(-1);
      if (top && !top.array && top.expectKey) {
        top.keyStart = i;
        top.keyEnd = end;
        top.expectKey = false;
      } else {
        value();
      }
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      literal = false;
      value();
      if (frames.length === MAX_JSON_DEPTH) {
        throw limitError(source, path(), tooDeep(path()));
      }
      frames.push({
        array: c === OPEN_BRACKET,
        index: 0,
        keyStart: -1,
        keyEnd: -1,
        expectKey: true,
      });
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      literal = false;
      frames.pop();
    } else if (c === COMMA) {
      literal = false;
      const top = frames.at(-1);
      if (top?.array) top.index++;
      else if (top) top.expectKey = true;
    } else if (c === COLON || WHITESPACE.has(c)) {
      literal = false;
    } else if (!literal) {
      // The first character of a number, true, false or null.
      literal = true;
      value();
    }
  }
}

/**
 * Throws a {@linkcode TemplateError} naming `source`, the key path and the
 * limit when the parsed document `doc` nests deeper than
 * {@linkcode MAX_JSON_DEPTH}, holds more than {@linkcode MAX_JSON_VALUES}
 * values or more than {@linkcode MAX_JSON_CHARS} characters of strings and
 * keys. Every key is walked, not only the canvas; the walk is iterative and
 * stops at the first excess (a cycle is refused as too deep).
 */
export function checkDocumentShape(doc: unknown, source: string): void {
  if (typeof doc === "string" && doc.length > MAX_JSON_CHARS) {
    throw limitError(source, "", tooLong(""));
  }
  if (typeof doc !== "object" || doc === null) return;
  const frames: { items: object; keys?: string[]; next: number }[] = [];
  const path = () =>
    frames.map((f) => segment(f.keys ? f.keys[f.next - 1]! : f.next - 1))
      .join("").replace(/^\./, "");
  let values = 1;
  let chars = 0;
  const enter = (items: object) => {
    if (frames.length === MAX_JSON_DEPTH) {
      throw limitError(source, path(), tooDeep(path()));
    }
    const keys = Array.isArray(items) ? undefined : Object.keys(items);
    values += keys?.length ?? (items as unknown[]).length;
    if (values > MAX_JSON_VALUES) {
      throw limitError(source, path(), tooMany(path()));
    }
    frames.push({ items, keys, next: 0 });
  };
  enter(doc);
  while (frames.length > 0) {
    const top = frames.at(-1)!;
    const { keys } = top;
    const length = keys?.length ?? (top.items as unknown[]).length;
    if (top.next === length) {
      frames.pop();
      continue;
    }
    const key = keys ? keys[top.next]! : top.next;
    top.next++;
    const item = (top.items as Record<string | number, unknown>)[key];
    if (keys) chars += (key as string).length;
    if (typeof item === "string") chars += item.length;
    if (chars > MAX_JSON_CHARS) {
      throw limitError(source, path(), tooLong(path()));
    }
    if (typeof item === "object" && item !== null) enter(item);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
/** JSON's whitespace: space, tab, line feed, carriage return. */
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
/** Longest key shown in a path; longer ones are cut with "…". */
const KEY_SHOWN = 40;

/** The index of the quote that closes the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) {
      backslashes++;
    }
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

/** The key path of where the scan of `text` is, in parse.ts's notation. */
function textPath(text: string, frames: TextFrame[]): string {
  return frames.map((f) => {
    if (f.array) return segment(f.index);
    if (f.keyStart < 0) return "";
    const quoted = text.slice(f.keyStart, f.keyEnd + 1);
    try {
      return segment(JSON.parse(quoted) as string);
    } catch {
      return segment(quoted.slice(1, -1));
    }
  }).join("").replace(/^\./, "");
}

/** `[3]` for an index, `.key` for a name, `["a key"]` for any other key. */
function segment(key: string | number): string {
  if (typeof key === "number") return `[${key}]`;
  const shown = key.length > KEY_SHOWN ? `${key.slice(0, KEY_SHOWN)}…` : key;
  return /^[A-Za-z_$][\w$]*$/.test(key)
    ? `.${shown}`
    : `[${JSON.stringify(shown)}]`;
}

function tooDeep(path: string): string {
  return `${where(path)} is nested more than ${MAX_JSON_DEPTH} levels deep`;
}

function tooMany(path: string): string {
  return `${
    where(path)
  } takes the document past ${MAX_JSON_VALUES} values (arrays, objects, strings, numbers)`;
}

function tooLong(path: string): string {
  return `${
    where(path)
  } takes the document's strings past ${MAX_JSON_CHARS} characters`;
}

function where(path: string): string {
  return path === "" ? "the document" : path;
}

function mib(chars: number): string {
  return `${chars / 2 ** 20} Mi characters`;
}

function limitError(source: string, path: string, detail: string) {
  return new TemplateError(`Invalid template ${source}: ${detail}`, {
    location: { source, field: path || undefined },
  });
}
