/**
 * Which fonts a template would print as Type 3 in vector mode. Chromium's
 * PDF writer embeds TrueType outlines as CID TrueType but OpenType-CFF
 * outlines (font files starting with `OTTO`, such as Noto Sans CJK) as
 * Type 3 fonts, which presses reject. The vector renderer falls back to a
 * raster page for each record that prints one; this names them beforehand,
 * for a preflight warning.
 *
 * Fonts are looked up the way Chromium will: with pressrun's fontconfig file
 * ({@linkcode fontconfigFile}, which the launched Chromium gets too), and for
 * characters a family lacks, with Chromium's fallback query (the page's
 * language, "en", and nothing else; the first font that has the character).
 *
 * @module
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { AssetResolver } from "./assets.ts";
import type { FabricObject, Template } from "./parse.ts";

/** A font that would come out of Chromium as Type 3. */
export interface CffFont {
  /** The font's family (a template font's, or the one fontconfig picked). */
  family: string;
  /** The font file: the template's `src`, or the system file fontconfig picks. */
  file: string;
}

/** Options for {@linkcode openTypeCffFonts}. */
export interface CffFontOptions {
  /**
   * Text the pieces will show (records' values, say): for its characters
   * outside Latin-1 that a family lacks, the font Chromium falls back to is
   * checked too (without pressrun's fontconfig file, that is how Noto Sans
   * CJK comes in).
   * @default ""
   */
  text?: string;
  /**
   * The file and family fontconfig picks for a pattern; tests replace it.
   * @default `fc-match -f '%{file}\n%{family[0]}' PATTERN`, with
   * `FONTCONFIG_FILE` set to {@linkcode fontconfigFile} when there is one
   */
  fcMatch?: (
    pattern: string,
  ) => Promise<{ file: string; family: string } | undefined>;
}

/** Most script blocks of `text` whose fallback font is looked up. */
const MAX_TEXT_LOOKUPS = 32;

/** The render page's language (render/page/render.html), which Chromium's fallback asks for. */
const PAGE_LANG = "en";

/**
 * The OpenType-CFF fonts among the template's own fonts, the system fonts
 * its texts' families resolve to, and the fallbacks for `options.text`.
 * Needs `--allow-run` for `fc-match` (system families only).
 */
export async function openTypeCffFonts(
  template: Template,
  assets: AssetResolver,
  options: CffFontOptions = {},
): Promise<CffFont[]> {
  const fcMatch = options.fcMatch ?? systemFcMatch;
  const found = new Map<string, CffFont>();
  const own = new Set<string>();
  for (const [i, font] of template.fonts.entries()) {
    own.add(font.family.toLowerCase());
    const bytes = await assets.file(
      font.src,
      `${template.source} fonts[${i}].src`,
    );
    if (isCff(bytes)) {
      found.set(font.src, { family: font.family, file: font.src });
    }
  }
  const families = textFamilies(template.canvas.objects);
  const lookups: string[] = [];
  for (const family of families) {
    if (!own.has(family.toLowerCase())) lookups.push(family);
  }
  const fallbacks: string[] = [];
  const blocks = scriptBlocks(options.text ?? "").slice(0, MAX_TEXT_LOOKUPS);
  for (const char of blocks) {
    const hex = char.toString(16);
    for (const family of families) {
      // A system family with the character draws it; a template's own
      // font is not known to fontconfig, so its characters count as missing.
      const match = own.has(family.toLowerCase())
        ? undefined
        : await fcMatch(`${family}:charset=${hex}`);
      if (match?.family.toLowerCase() !== family.toLowerCase()) {
        fallbacks.push(`:lang=${PAGE_LANG}:charset=${hex}`);
        break;
      }
    }
  }
  for (const pattern of [...lookups, ...fallbacks]) {
    const match = await fcMatch(pattern);
    if (!match || found.has(match.file)) continue;
    if (await fileIsCff(match.file)) found.set(match.file, match);
  }
  return [...found.values()];
}

/**
 * Script fallbacks for bold text, in order: families with a real Bold and a
 * Regular face in TrueType outlines, so bold characters the template's fonts
 * lack are drawn from a real bold face instead of Chromium's synthetic bold
 * (which its PDF writer prints as Type 3). LXGW WenKai (`fonts-lxgw-wenkai`:
 * Han, kana, Hangul; Kai style), NanumGothic (`fonts-nanum`: Hangul LXGW
 * WenKai lacks), Noto Sans Arabic and Noto Sans Hebrew (`fonts-noto-core`).
 */
export const BOLD_FALLBACK_CANDIDATES: readonly string[] = [
  "LXGW WenKai",
  "NanumGothic",
  "Noto Sans Arabic",
  "Noto Sans Hebrew",
];

/** fontconfig's weights of a Regular and a Bold face. */
const FC_REGULAR = 80;
const FC_BOLD = 200;

/** True for a Fabric/CSS `fontWeight` at which Chromium wants a bold face. */
export function isBoldWeight(weight: unknown): boolean {
  if (typeof weight === "number") return weight >= 600;
  if (typeof weight !== "string") return false;
  const w = weight.trim().toLowerCase();
  if (w === "bold" || w === "bolder") return true;
  return /^\d+$/.test(w) && Number(w) >= 600;
}

/**
 * The faces fontconfig lists for `family` (with pressrun's fontconfig file):
 * weight, format and file. Undefined when `fc-list` cannot run.
 */
async function familyFaces(
  family: string,
): Promise<{ weight: number; format: string; file: string }[] | undefined> {
  try {
    const config = fontconfigFile();
    const out = await new Deno.Command("fc-list", {
      args: ["-f", "%{weight}\t%{fontformat}\t%{file}\n", `:family=${family}`],
      env: config ? { FONTCONFIG_FILE: config } : {},
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) return undefined;
    return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean)
      .map((line) => {
        const [weight, format, file] = line.split("\t");
        return {
          weight: Number(weight),
          format: format ?? "",
          file: file ?? "",
        };
      });
  } catch {
    return undefined;
  }
}

/**
 * Whether `family` is installed with a Regular and a Bold face, both
 * TrueType (`glyf`) outlines: a font Chromium embeds as CID TrueType in
 * both weights, emboldening nothing itself.
 */
export async function hasRealBold(family: string): Promise<boolean> {
  const faces = await familyFaces(family);
  if (!faces) return false;
  const trueType = async (weight: number) => {
    for (const face of faces) {
      if (face.weight !== weight || face.format !== "TrueType") continue;
      if (!(await fileIsCff(face.file))) return true;
    }
    return false;
  };
  return await trueType(FC_REGULAR) && await trueType(FC_BOLD);
}

/**
 * The {@linkcode BOLD_FALLBACK_CANDIDATES} installed here with a real bold
 * face (checked once per process). None when `fc-list` cannot run (no
 * `--allow-run`): text families then stay as the template names them.
 */
export function boldFallbackFamilies(): Promise<string[]> {
  boldFallbacks ??= (async () => {
    const out: string[] = [];
    for (const family of BOLD_FALLBACK_CANDIDATES) {
      if (await hasRealBold(family)) out.push(family);
    }
    return out;
  })();
  return boldFallbacks;
}
let boldFallbacks: Promise<string[]> | undefined;

/**
 * `family` (a Fabric `fontFamily`: one family or a CSS list) with `extra`
 * appended as a CSS family list, each name quoted (Fabric passes a list with
 * quotes through to the canvas font and to the SVG export as it is) and
 * none named twice.
 */
export function withFallbacks(
  family: string,
  extra: readonly string[],
): string {
  const quote = (name: string) => `"${name.replace(/["\\]/g, "")}"`;
  const listed = /[,'"]/.test(family);
  const names = listed
    ? family.split(",").map((n) => n.trim().replace(/^['"]|['"]$/g, ""))
    : [family.trim()];
  const known = new Set(names.map((n) => n.toLowerCase()));
  const added = extra.filter((n) => !known.has(n.toLowerCase()));
  if (added.length === 0) return family;
  return [listed ? family : quote(family), ...added.map(quote)].join(", ");
}

/** A bold text's characters that would be drawn with synthetic bold. */
export interface SyntheticBold {
  /**
   * The family Chromium would draw them with: one the text names that has no
   * real bold face, or Chromium's own fallback (asked with no weight, so its
   * regular face, emboldened).
   */
  family: string;
  /** Their script ("Han", "Arabic", …), or the first one's code point. */
  script: string;
}

/** Options for {@linkcode syntheticBoldFallbacks}. */
export interface SyntheticBoldOptions {
  /** Text the pieces will show (records' values); as for openTypeCffFonts. */
  text?: string;
  /** As for {@linkcode CffFontOptions.fcMatch}. */
  fcMatch?: CffFontOptions["fcMatch"];
  /** Whether a family has a real Bold face; {@linkcode hasRealBold} by default. */
  realBold?: (family: string) => Promise<boolean>;
  /** The families appended to bold text; {@linkcode boldFallbackFamilies} by default. */
  fallbacks?: readonly string[];
}

/**
 * The fallback families, and the scripts of `options.text`, that bold text
 * of the template would draw in a face with no real bold: Chromium emboldens
 * those glyphs itself and prints them as Type 3, so such records print as
 * raster pages. A bold text's characters are looked for in its families
 * (the template's, then {@linkcode boldFallbackFamilies}, as the page spec
 * lists them: synthetic only if the family has no real bold face), then in
 * Chromium's fallback (the page's language and the character: always
 * synthetic, for that query carries no weight). Needs `--allow-run` for `fc-match`/`fc-list`.
 */
export async function syntheticBoldFallbacks(
  template: Template,
  _assets: AssetResolver,
  options: SyntheticBoldOptions = {},
): Promise<SyntheticBold[]> {
  const fcMatch = options.fcMatch ?? systemFcMatch;
  const realBold = options.realBold ?? hasRealBold;
  const extra = options.fallbacks ?? await boldFallbackFamilies();
  const own = new Set(template.fonts.map((f) => f.family.toLowerCase()));
  const bold = boldFamilies(template.canvas.objects);
  if (bold.size === 0) return [];
  // One character per script (Han alone spans dozens of blocks).
  const perScript = new Map<string, number>();
  for (const char of scriptBlocks(options.text ?? "")) {
    const script = scriptOf(char);
    if (!perScript.has(script)) perScript.set(script, char);
  }
  const blocks = [...perScript.values()].slice(0, MAX_TEXT_LOOKUPS);
  const found = new Map<string, SyntheticBold>();
  const checked = new Map<string, boolean>();
  for (const char of blocks) {
    const hex = char.toString(16);
    for (const family of bold) {
      let drawnBy: string | undefined;
      for (const name of [...splitFamilies(family), ...extra]) {
        if (own.has(name.toLowerCase())) continue;
        const match = await fcMatch(`${name}:charset=${hex}`);
        if (match?.family.toLowerCase() === name.toLowerCase()) {
          drawnBy = name;
          break;
        }
      }
      if (drawnBy) {
        // A family the text names: Chromium asks for its bold face.
        const key = drawnBy.toLowerCase();
        if (!checked.has(key)) checked.set(key, await realBold(drawnBy));
        if (checked.get(key)) continue;
      } else {
        // Chromium's own fallback asks with no weight, so it gets a regular
        // face and emboldens it, whatever faces the family has.
        drawnBy = (await fcMatch(`:lang=${PAGE_LANG}:charset=${hex}`))?.family;
        if (!drawnBy) continue;
      }
      const key = drawnBy.toLowerCase();
      const script = scriptOf(char);
      found.set(`${key}\n${script}`, { family: drawnBy, script });
    }
  }
  return [...found.values()];
}

/** The family names of a Fabric `fontFamily` (one family or a CSS list). */
function splitFamilies(family: string): string[] {
  return family.split(",").map((n) => n.trim().replace(/^['"]|['"]$/g, ""))
    .filter(Boolean);
}

const SCRIPTS = [
  "Han",
  "Hiragana",
  "Katakana",
  "Hangul",
  "Arabic",
  "Hebrew",
  "Thai",
  "Devanagari",
  "Bengali",
  "Tamil",
  "Armenian",
  "Georgian",
  "Ethiopic",
  "Greek",
  "Cyrillic",
  "Latin",
];

/** The Unicode script of a code point, by name, or its U+ number. */
function scriptOf(code: number): string {
  const char = String.fromCodePoint(code);
  for (const script of SCRIPTS) {
    if (new RegExp(`\\p{Script=${script}}`, "u").test(char)) return script;
  }
  return `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The `fontFamily` of every bold text of the template (groups too). */
function boldFamilies(objects: FabricObject[], out = new Set<string>()) {
  for (const o of objects) {
    if (typeof o.fontFamily === "string" && o.fontFamily && isBoldText(o)) {
      out.add(o.fontFamily);
    }
    for (const style of characterStyles(o)) {
      const family = typeof style.fontFamily === "string" && style.fontFamily
        ? style.fontFamily
        : o.fontFamily;
      if (
        typeof family === "string" && family && isBoldWeight(style.fontWeight)
      ) {
        out.add(family);
      }
    }
    if (Array.isArray(o.objects)) {
      boldFamilies(o.objects as FabricObject[], out);
    }
  }
  return out;
}

/** Whether a text object, or any of its characters, is set bold. */
export function isBoldText(o: FabricObject): boolean {
  return isBoldWeight(o.fontWeight) ||
    characterStyles(o).some((s) => isBoldWeight(s.fontWeight));
}

/**
 * A text object's per-character styles: Fabric 6+'s `[{ start, end, style }]`
 * or the older `{ line: { char: style } }`.
 */
export function characterStyles(o: FabricObject): Record<string, unknown>[] {
  const styles = o.styles;
  const out: Record<string, unknown>[] = [];
  if (Array.isArray(styles)) {
    for (const range of styles) {
      const style = (range as { style?: unknown })?.style;
      if (style && typeof style === "object") {
        out.push(style as Record<string, unknown>);
      }
    }
  } else if (styles && typeof styles === "object") {
    for (const line of Object.values(styles as Record<string, unknown>)) {
      if (!line || typeof line !== "object") continue;
      for (const style of Object.values(line as Record<string, unknown>)) {
        if (style && typeof style === "object") {
          out.push(style as Record<string, unknown>);
        }
      }
    }
  }
  return out;
}

/** True for an OpenType-CFF font, or a collection whose first font is one. */
export function isCff(bytes: Uint8Array): boolean {
  const tag = (at: number) =>
    String.fromCharCode(...bytes.subarray(at, at + 4));
  if (tag(0) === "OTTO") return true;
  if (tag(0) !== "ttcf" || bytes.length < 16) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = view.getUint32(12);
  return first + 4 <= bytes.length && tag(first) === "OTTO";
}

async function fileIsCff(path: string): Promise<boolean> {
  try {
    using file = await Deno.open(path);
    const head = new Uint8Array(16);
    const n = await file.read(head);
    if (n === null || n < 4) return false;
    if (isCff(head)) return true;
    if (String.fromCharCode(...head.subarray(0, 4)) !== "ttcf") return false;
    const first = new DataView(head.buffer).getUint32(12);
    await file.seek(first, Deno.SeekMode.Start);
    const tag = new Uint8Array(4);
    await file.read(tag);
    return String.fromCharCode(...tag) === "OTTO";
  } catch {
    return false;
  }
}

/** The font families the template's objects (and groups) name. */
function textFamilies(objects: FabricObject[], out = new Set<string>()) {
  for (const o of objects) {
    if (typeof o.fontFamily === "string" && o.fontFamily) {
      out.add(o.fontFamily);
    }
    if (Array.isArray(o.objects)) {
      textFamilies(o.objects as FabricObject[], out);
    }
  }
  return out;
}

/**
 * One code point per 256-character block of `text` outside Latin-1, in
 * order of first use: enough to ask fontconfig for each script's fallback.
 */
function scriptBlocks(text: string): number[] {
  const blocks = new Map<number, number>();
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code < 0x100 || /\s/.test(char)) continue;
    if (!blocks.has(code >> 8)) blocks.set(code >> 8, code);
  }
  return [...blocks.values()];
}

/**
 * The file and family fontconfig matches `pattern` to (with pressrun's
 * fontconfig file), or undefined when fc-match cannot run or finds none.
 */
export async function systemFcMatch(
  pattern: string,
): Promise<{ file: string; family: string } | undefined> {
  try {
    const config = fontconfigFile();
    const out = await new Deno.Command("fc-match", {
      args: ["-f", "%{file}\n%{family[0]}", pattern],
      env: config ? { FONTCONFIG_FILE: config } : {},
      stdout: "piped",
      stderr: "null",
    }).output();
    const [file, family] = new TextDecoder().decode(out.stdout).split("\n");
    return out.success && file ? { file, family: family || file } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * pressrun's fontconfig file (template/fontconfig/fonts.conf: the system
 * configuration, with TrueType CJK fallback ahead of the OpenType-CFF Noto
 * CJK), or undefined where it cannot be used: the module is not a local file,
 * the system configuration it includes (/etc/fonts/fonts.conf) is missing, or
 * reading is not allowed. Looked up on first use (`--help` needs no
 * permissions).
 */
export function fontconfigFile(): string | undefined {
  if (fontconfig === null) {
    fontconfig = undefined;
    try {
      const url = new URL("./fontconfig/fonts.conf", import.meta.url);
      const file = url.protocol === "file:" ? fileURLToPath(url) : "";
      if (file && existsSync(file) && existsSync("/etc/fonts/fonts.conf")) {
        fontconfig = file;
      }
    } catch {
      // No read permission: Chromium and fc-match use the system's.
    }
  }
  return fontconfig;
}
let fontconfig: string | undefined | null = null;
