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
import type { AssetResolver } from "../template/assets.ts";
import type { FabricObject, Template } from "../template/parse.ts";

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

async function systemFcMatch(
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
 * pressrun's fontconfig file (render/fontconfig/fonts.conf: the system
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
