/**
 * Which characters of a text its font cannot draw, and which font Chromium
 * draws them with instead (or that none can): asked of fontconfig the way
 * Chromium asks it (pressrun's fontconfig file; for a character no family
 * of the text has, the page language's fallback). Each family's character
 * set is read once (`fc-list`/`fc-query`), so a whole list is checked with a
 * few lookups. Needs `--allow-run` for fontconfig's tools.
 *
 * @module
 */
import { fontconfigFile, systemFcMatch } from "./fonts.ts";

/** A text's characters its families lack, and who draws each. */
export interface MissingGlyphs {
  /** The characters, once each, in order of first use. */
  chars: string[];
  /** The family that draws each instead, or undefined: nothing does. */
  drawnBy: (string | undefined)[];
}

/** Code point ranges, as fontconfig lists a character set. */
type Charset = [number, number][];

/** Characters that draw nothing by design: spaces, controls, joiners. */
const INVISIBLE = /[\s\p{Cc}\p{Cf}\u{FE00}-\u{FE0F}]/u;

/** A font coverage oracle for one template's texts. */
export class GlyphCoverage {
  #own: Map<string, string>;
  #charsets = new Map<string, Promise<Charset>>();
  #fallbacks = new Map<number, Promise<string | undefined>>();

  /** `ownFonts`: the template's own font files by family (fontconfig knows them not). */
  constructor(ownFonts: { family: string; path: string }[] = []) {
    this.#own = new Map(ownFonts.map((f) => [f.family.toLowerCase(), f.path]));
  }

  /**
   * The characters of `text` that none of `fontFamily`'s families (a
   * Fabric `fontFamily`: one family or a CSS list) has, or undefined when
   * they have every one.
   */
  async missing(
    fontFamily: string,
    text: string,
  ): Promise<MissingGlyphs | undefined> {
    const families = familyList(fontFamily);
    const sets = await Promise.all(families.map((f) => this.#charset(f)));
    const chars: string[] = [];
    for (const char of new Set(text)) {
      if (INVISIBLE.test(char)) continue;
      const code = char.codePointAt(0)!;
      if (!sets.some((set) => has(set, code))) chars.push(char);
    }
    if (chars.length === 0) return undefined;
    const drawnBy = await Promise.all(
      chars.map((c) => this.#fallback(c.codePointAt(0)!)),
    );
    return { chars, drawnBy };
  }

  /** The characters a family has (its faces' together); none if not installed. */
  #charset(family: string): Promise<Charset> {
    const key = family.toLowerCase();
    let set = this.#charsets.get(key);
    if (!set) {
      const own = this.#own.get(key);
      set = fontconfig(
        own ? "fc-query" : "fc-list",
        own ? ["-f", "%{charset}\n", own] : ["-f", "%{charset}\n", family],
      ).then(parseCharset);
      this.#charsets.set(key, set);
    }
    return set;
  }

  /** The family Chromium falls back to for `code`, if one has it. */
  #fallback(code: number): Promise<string | undefined> {
    let family = this.#fallbacks.get(code);
    if (!family) {
      family = (async () => {
        const match = await systemFcMatch(
          `:lang=en:charset=${code.toString(16)}`,
        );
        if (!match) return undefined;
        return has(await this.#charset(match.family), code)
          ? match.family
          : undefined;
      })();
      this.#fallbacks.set(code, family);
    }
    return family;
  }
}

/** The families of a CSS font-family list, unquoted. */
export function familyList(fontFamily: string): string[] {
  return fontFamily.split(",")
    .map((f) => f.trim().replace(/^(["'])(.*)\1$/, "$2").trim())
    .filter((f) => f !== "");
}

/** Whether `set` has `code`. */
function has(set: Charset, code: number): boolean {
  let lo = 0;
  let hi = set.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [from, to] = set[mid]!;
    if (code < from) hi = mid - 1;
    else if (code > to) lo = mid + 1;
    else return true;
  }
  return false;
}

/** fontconfig's `20-7e a0-377 …` lines (one per face), merged and sorted. */
function parseCharset(text: string): Charset {
  const ranges: Charset = [];
  for (const part of text.split(/\s+/)) {
    if (!part) continue;
    const [a, b] = part.split("-");
    const from = parseInt(a!, 16);
    const to = b === undefined ? from : parseInt(b, 16);
    if (Number.isFinite(from) && Number.isFinite(to)) ranges.push([from, to]);
  }
  ranges.sort((x, y) => x[0] - y[0]);
  const merged: Charset = [];
  for (const r of ranges) {
    const last = merged.at(-1);
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/** A fontconfig tool's output with pressrun's configuration ("" on failure). */
async function fontconfig(tool: string, args: string[]): Promise<string> {
  try {
    const config = fontconfigFile();
    const out = await new Deno.Command(tool, {
      args,
      env: config ? { FONTCONFIG_FILE: config } : {},
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : "";
  } catch {
    return "";
  }
}
