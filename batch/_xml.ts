/**
 * A small streaming XML scanner for the parts of an .xlsx: fed text in
 * chunks of any size, it calls its handler for each element opened and
 * closed, and for character data while the handler asks for it
 * (`capture`). It holds at most one unfinished tag, so a sheet of any
 * length is read in constant memory, and text is handed over as it comes
 * (a value of any length never waits whole in here).
 *
 * It checks what a reader needs checked — tags nest and close, the document
 * ends — and refuses a DOCTYPE (Excel never writes one; entity expansion is
 * how XML bombs work). Names come without their namespace prefix
 * (`x:row` is `row`): producers differ in prefixes, not in local names.
 *
 * @module
 */

/** XML that is not well formed enough to read; `message` says where. */
export class XmlError extends Error {
  override name = "XmlError";
}

/** What {@linkcode XmlScanner} reports, in document order. */
export interface XmlHandler {
  /**
   * An element starts. `attributes` is the raw text of its attributes, for
   * {@linkcode attributes}; `empty` for `<a/>`, which also closes it (no
   * {@linkcode close} call follows).
   */
  open(name: string, attributes: string, empty: boolean): void;
  /** An element ends. */
  close(name: string): void;
  /** Character data (entities decoded), only while `capture` is set. */
  text(text: string): void;
}

/** Options for {@linkcode XmlScanner}. */
export interface XmlScannerOptions {
  /**
   * Characters one tag, comment or CDATA section may hold.
   * @default {1048576}
   */
  maxMarkup?: number;
}

const LT = 60;
const GT = 62;
const SLASH = 47;
const QUESTION = 63;
const BANG = 33;
const QUOTE = 34;
const APOSTROPHE = 39;
const COLON = 58;
const EQUALS = 61;

/** Feeds an {@linkcode XmlHandler} from text chunks. */
export class XmlScanner {
  /** Set by the handler while it wants the character data it is in. */
  capture = false;
  readonly #handler: XmlHandler;
  readonly #maxMarkup: number;
  /** Unfinished markup (or a split entity) carried to the next chunk. */
  #rest = "";
  readonly #open: string[] = [];
  #rooted = false;

  constructor(handler: XmlHandler, options: XmlScannerOptions = {}) {
    this.#handler = handler;
    this.#maxMarkup = options.maxMarkup ?? 1024 * 1024;
  }

  /**
   * Scans the next chunk; the handler is called before this returns.
   *
   * @throws {XmlError} On markup that cannot be read.
   */
  write(chunk: string): void {
    const text = this.#rest === "" ? chunk : this.#rest + chunk;
    this.#rest = "";
    const n = text.length;
    let i = 0;
    while (i < n) {
      const lt = text.indexOf("<", i);
      if (lt === -1) {
        i = this.#textUntil(text, i, n);
        break;
      }
      if (lt > i && this.capture) this.#text(text.slice(i, lt));
      const end = this.#markup(text, lt);
      if (end === -1) {
        i = lt;
        break;
      }
      i = end;
    }
    if (i < n) {
      this.#rest = text.slice(i);
      if (this.#rest.length > this.#maxMarkup) {
        throw new XmlError(
          `a tag longer than ${this.#maxMarkup} characters starts with ${
            JSON.stringify(this.#rest.slice(0, 40))
          }`,
        );
      }
    }
  }

  /**
   * Checks that the document ended where it should.
   *
   * @throws {XmlError} When it ends inside a tag or an element.
   */
  end(): void {
    if (this.#rest.trim() !== "") {
      throw new XmlError(
        `it ends inside ${JSON.stringify(this.#rest.slice(0, 40))}`,
      );
    }
    if (this.#open.length > 0) {
      throw new XmlError(`it ends before </${this.#open.at(-1)}>`);
    }
    if (!this.#rooted) throw new XmlError("it holds no XML element");
  }

  /**
   * Handles the markup starting at `lt`; returns the index after it, or -1
   * when it is not whole yet.
   */
  #markup(text: string, lt: number): number {
    const n = text.length;
    if (lt + 1 >= n) return -1;
    const next = text.charCodeAt(lt + 1);
    if (next === SLASH) {
      const gt = text.indexOf(">", lt + 2);
      if (gt === -1) return -1;
      const name = text.slice(lt + 2, gt).trimEnd();
      const open = this.#open.pop();
      if (open !== name) {
        throw new XmlError(
          open === undefined
            ? `</${name}> closes no element`
            : `</${name}> closes <${open}>`,
        );
      }
      this.#handler.close(_local(name));
      return gt + 1;
    }
    if (next === QUESTION) {
      const end = text.indexOf("?>", lt + 2);
      return end === -1 ? -1 : end + 2;
    }
    if (next === BANG) return this.#declaration(text, lt);
    // The tag's name ends at white space, "/" or ">"; then its attributes,
    // whose quoted values may hold ">".
    let j = lt + 1;
    let c = 0;
    for (; j < n; j++) {
      c = text.charCodeAt(j);
      if (c <= 32 || c === SLASH || c === GT) break;
    }
    const nameEnd = j;
    let quote = 0;
    for (; j < n; j++) {
      c = text.charCodeAt(j);
      if (quote !== 0) {
        if (c === quote) quote = 0;
      } else if (c === GT) break;
      else if (c === QUOTE || c === APOSTROPHE) quote = c;
      else if (c === LT) {
        throw new XmlError(`"<" inside a tag at ${_near(text, lt)}`);
      }
    }
    if (j === n) return -1;
    const empty = text.charCodeAt(j - 1) === SLASH;
    const name = text.slice(lt + 1, nameEnd);
    if (name === "") {
      throw new XmlError(`a tag has no name at ${_near(text, lt)}`);
    }
    const raw = nameEnd < j - 1 || (!empty && nameEnd < j)
      ? text.slice(nameEnd, empty ? j - 1 : j)
      : "";
    if (this.#open.length === 0) {
      if (this.#rooted) throw new XmlError(`a second root element <${name}>`);
      this.#rooted = true;
    }
    if (!empty) this.#open.push(name);
    this.#handler.open(_local(name), raw, empty);
    return j + 1;
  }

  /** `<!--…-->`, `<![CDATA[…]]>` or a refused `<!DOCTYPE`. */
  #declaration(text: string, lt: number): number {
    if (text.startsWith("<!--", lt)) {
      const end = text.indexOf("-->", lt + 4);
      return end === -1 ? -1 : end + 3;
    }
    if (text.startsWith("<![CDATA[", lt)) {
      const end = text.indexOf("]]>", lt + 9);
      if (end === -1) return -1;
      if (this.capture) this.#handler.text(text.slice(lt + 9, end));
      return end + 3;
    }
    if (text.length - lt < 9) return -1;
    if (text.startsWith("<!DOCTYPE", lt)) {
      throw new XmlError("it has a DOCTYPE, which no spreadsheet part has");
    }
    throw new XmlError(`unknown markup at ${_near(text, lt)}`);
  }

  /**
   * Text from `i` to `n` with no markup after it in this chunk: handed over
   * (when captured) up to a split entity, which waits for the next chunk.
   * Returns where the carried rest starts.
   */
  #textUntil(text: string, i: number, n: number): number {
    if (!this.capture) return n;
    const amp = text.lastIndexOf("&", n - 1);
    const end = amp >= i && text.indexOf(";", amp) === -1 ? amp : n;
    if (end > i) this.#text(text.slice(i, end));
    return end;
  }

  #text(raw: string): void {
    this.#handler.text(decodeEntities(raw));
  }
}

const ENTITY =
  /&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));/g;
const NAMED: Record<string, string> = {
  lt: "<",
  gt: ">",
  amp: "&",
  quot: '"',
  apos: "'",
};

/** `text` with XML's five entities and character references decoded. */
export function decodeEntities(text: string): string {
  if (text.indexOf("&") === -1) return text;
  return text.replace(ENTITY, (_, named, decimal, hex) => {
    if (named) return NAMED[named]!;
    const code = decimal ? Number(decimal) : parseInt(hex, 16);
    return code <= 0x10ffff ? String.fromCodePoint(code) : "\ufffd";
  });
}

/**
 * The attributes in the raw text `raw` of a tag, by local name (`r:id` is
 * `id`), values decoded.
 */
export function attributes(raw: string): Record<string, string> {
  const found: Record<string, string> = {};
  const n = raw.length;
  let i = 0;
  while (i < n) {
    const eq = raw.indexOf("=", i);
    if (eq === -1) break;
    const name = raw.slice(i, eq).trim();
    let q = eq + 1;
    while (q < n && raw.charCodeAt(q) <= 32) q++;
    const quote = raw.charCodeAt(q);
    if (quote !== QUOTE && quote !== APOSTROPHE) break;
    const end = raw.indexOf(quote === QUOTE ? '"' : "'", q + 1);
    if (end === -1) break;
    const value = raw.slice(q + 1, end);
    found[_local(name)] = value.indexOf("&") === -1
      ? value
      : decodeEntities(value);
    i = end + 1;
  }
  return found;
}

/**
 * The value of the attribute `name` (a local name) in the raw text `raw` of
 * a tag, decoded; undefined when it has none. Quicker than
 * {@linkcode attributes} for the few attributes of a sheet's many cells.
 */
export function attribute(raw: string, name: string): string | undefined {
  for (let from = 0;;) {
    const at = raw.indexOf(name, from);
    if (at === -1) return undefined;
    from = at + 1;
    const before = raw.charCodeAt(at - 1);
    if (!(before <= 32 || before === COLON)) continue;
    let eq = at + name.length;
    while (raw.charCodeAt(eq) <= 32) eq++;
    if (raw.charCodeAt(eq) !== EQUALS) continue;
    let q = eq + 1;
    while (raw.charCodeAt(q) <= 32) q++;
    const quote = raw.charCodeAt(q);
    if (quote !== QUOTE && quote !== APOSTROPHE) return undefined;
    const end = raw.indexOf(quote === QUOTE ? '"' : "'", q + 1);
    if (end === -1) return undefined;
    const value = raw.slice(q + 1, end);
    return value.indexOf("&") === -1 ? value : decodeEntities(value);
  }
}

/** `name` without its namespace prefix. */
function _local(name: string): string {
  const colon = name.indexOf(":");
  return colon === -1 ? name : name.slice(colon + 1);
}

/** A few characters of `text` from `at`, quoted, for a message. */
function _near(text: string, at: number): string {
  return JSON.stringify(text.slice(at, at + 40));
}
