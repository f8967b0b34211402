/**
 * SVG images (logos, icons): accepted when self-contained. The render page
 * draws an SVG image the way browsers draw an `<img>`, in secure static
 * mode: scripts never run and nothing is fetched. What that mode leaves on
 * the page is still wrong for print: an external reference (an `<image
 * href="https://…">`, a CSS `url(…)` or `@import`) draws a broken-image icon
 * or nothing, where the designer's editor may have shown the picture. So a
 * reference to anything but the SVG's own elements (`#id`) or a `data:` URL
 * is refused, naming it; so are external entities. The SVG needs a size
 * (`width` and `height`, or a `viewBox`) and at most {@linkcode MAX_SVG_BYTES}.
 *
 * @module
 */
import { encodeBase64 } from "./_base64.ts";

/** The largest SVG image accepted, in bytes. */
export const MAX_SVG_BYTES = 5 * 1024 * 1024;

/** A `data:` URL of an SVG image, base64 or percent-encoded. */
const SVG_DATA_URL = /^data:image\/svg\+xml((?:;[\w-]+=[\w-]+)*)(;base64)?,/i;

/** Whether `src` is a `data:` URL of an SVG image. */
export function isSvgDataUrl(src: string): boolean {
  return SVG_DATA_URL.test(src);
}

/**
 * The bytes of an SVG `data:` URL; a string saying what is wrong when it
 * cannot be decoded.
 */
export function svgDataUrlBytes(src: string): Uint8Array | string {
  const match = SVG_DATA_URL.exec(src);
  if (!match) return "it is not an SVG data: URL";
  const body = src.slice(match[0].length);
  try {
    if (match[2]) {
      return Uint8Array.from(
        atob(body.replace(/\s/g, "")),
        (c) => c.charCodeAt(0),
      );
    }
    return new TextEncoder().encode(decodeURIComponent(body));
  } catch {
    return match[2]
      ? "its base64 does not decode"
      : "its percent-encoding does not decode";
  }
}

/** Whether `bytes` look like an SVG document (its first element is `<svg`). */
export function looksLikeSvg(bytes: Uint8Array): boolean {
  const head = new TextDecoder().decode(bytes.subarray(0, 4096));
  return /^\uFEFF?\s*(<\?xml[^>]*\?>\s*)?(<!--[\s\S]*?-->\s*|<!DOCTYPE[^>[]*(\[[\s\S]*?\])?\s*>\s*)*<svg[\s>]/i
    .test(head);
}

/**
 * What is wrong with an SVG image for print, or undefined when it is
 * self-contained and sized.
 */
export function svgProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length > MAX_SVG_BYTES) {
    return `the SVG has ${bytes.length} bytes, the limit is ${MAX_SVG_BYTES}`;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return "the SVG is not UTF-8 text";
  }
  if (/<!ENTITY/i.test(text)) {
    return "the SVG declares entities (an external entity could read files)";
  }
  if (!looksLikeSvg(bytes)) return "it is not an SVG document";
  for (const m of text.matchAll(/(?:xlink:)?href\s*=\s*(["'])(.*?)\1/gis)) {
    const ref = m[2]!.trim();
    if (!ref.startsWith("#") && !/^data:/i.test(ref)) {
      return `the SVG refers to "${
        clip(ref)
      }": SVG images must be self-contained (embed pictures as data: URLs)`;
    }
  }
  for (const m of text.matchAll(/url\(\s*(["']?)([^"')]*)\1\s*\)/gi)) {
    const ref = m[2]!.trim();
    if (!ref.startsWith("#") && !/^data:/i.test(ref)) {
      return `the SVG's CSS refers to "${
        clip(ref)
      }": SVG images must be self-contained`;
    }
  }
  if (/@import/i.test(text)) {
    return "the SVG's CSS has an @import: SVG images must be self-contained";
  }
  const root = /<svg\b([^>]*)>/i.exec(text)?.[1] ?? "";
  const attr = (name: string) =>
    new RegExp(`\\s${name}\\s*=\\s*(["'])\\s*[^"']*\\d`, "i").test(root);
  if (!(attr("width") && attr("height")) && !attr("viewBox")) {
    return "the SVG has no size: give its <svg> width and height, or a viewBox";
  }
  return undefined;
}

/** An SVG image as the base64 `data:` URL the page receives. */
export function svgDataUrl(bytes: Uint8Array): string {
  return `data:image/svg+xml;base64,${encodeBase64(bytes)}`;
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}
