/**
 * The asset policy: where template images and fonts may come from. By default
 * only `data:` URLs and files inside the template's own folder (`file:` URLs
 * in any letter case are paths too, and must stay inside it). http(s) images
 * only with `allowRemote`, and then never from private, loopback, link-local
 * or other non-public addresses, checked after DNS and on every redirect.
 *
 * The page never fetches anything itself: everything reaches it as a `data:`
 * URL. Where the policy says "`blob:` allowed" it means the page's own CSP
 * (`img-src 'self' data: blob:` in render/page/render.html), for object URLs the
 * page makes from those bytes; a `blob:` URL in a template cannot be loaded
 * here and is refused.
 *
 * @module
 */
import { isAbsolute, relative, resolve, sep } from "node:path";
import { TemplateError } from "../common/errors.ts";
import { encodeBase64 } from "./_base64.ts";
import { fileErrorReason } from "./_file_error.ts";
import {
  isSvgDataUrl,
  looksLikeSvg,
  svgDataUrl,
  svgDataUrlBytes,
  svgProblem,
} from "./_svg.ts";
import {
  fetchRemote,
  type RemoteOptions,
  resolveDnsWithDeno,
} from "./_remote.ts";

const IMAGE_DATA_URL =
  /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$/;
const CACHE_SIZE = 64;
const MiB = 1024 * 1024;

/** Options for {@linkcode AssetResolver}. */
export interface AssetResolverOptions {
  /**
   * Whether http: and https: images may be fetched. Private, loopback,
   * link-local and other non-public addresses are refused even then.
   *
   * @default {false}
   */
  allowRemote?: boolean;
  /**
   * The most bytes one remote asset may have.
   *
   * @default {20971520} (20 MiB)
   */
  maxBytes?: number;
  /**
   * Milliseconds one remote asset may take, redirects and DNS included.
   *
   * @default {10000}
   */
  timeoutMs?: number;
  /**
   * The IPv4 and IPv6 addresses of a host name; `[]` when it has none. Tests
   * inject one to run without a network.
   *
   * @default {Deno.resolveDns() for A and AAAA records}
   */
  resolveDns?: (host: string, signal?: AbortSignal) => Promise<string[]>;
  /**
   * The fetch to send requests with. The default pins plain-http requests to
   * the checked address with a Deno.HttpClient that allows the Host header.
   *
   * @default {globalThis.fetch}
   */
  fetch?: typeof fetch;
}

/** Loads template assets under the asset policy, with a small cache. */
export class AssetResolver {
  #baseDir: string;
  #realBase: Promise<string> | undefined;
  #cache = new Map<string, Promise<Uint8Array>>();
  #allowRemote: boolean;
  #remote: RemoteOptions;

  /**
   * `baseDir` is the only folder files may be read from; remote images are
   * refused unless `options.allowRemote` is set.
   */
  constructor(baseDir: string, options: AssetResolverOptions = {}) {
    this.#baseDir = resolve(baseDir);
    const {
      allowRemote = false,
      maxBytes = 20 * MiB,
      timeoutMs = 10_000,
      resolveDns = resolveDnsWithDeno,
      fetch,
    } = options;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new RangeError(
        `maxBytes must be a positive whole number, got ${maxBytes}`,
      );
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError(
        `timeoutMs must be a positive number, got ${timeoutMs}`,
      );
    }
    this.#allowRemote = allowRemote;
    this.#remote = { maxBytes, timeoutMs, resolveDns, fetch };
  }

  /**
   * An image source as a `data:` URL. Throws {@linkcode TemplateError} (its
   * `location.field` is `where`) for a source the policy refuses, a failed
   * download, a remote image past `maxBytes` or an unknown image format.
   */
  async imageDataUrl(src: string, where: string): Promise<string> {
    const trimmed = src.trim();
    if (/^data:/i.test(trimmed)) {
      if (isSvgDataUrl(trimmed)) {
        const bytes = svgDataUrlBytes(trimmed);
        if (typeof bytes === "string") {
          throw assetError(where, `the SVG data: URL is broken: ${bytes}`);
        }
        return svgImage(bytes, where);
      }
      if (!IMAGE_DATA_URL.test(trimmed)) {
        throw assetError(
          where,
          "only base64 PNG, JPEG, GIF or WebP data URLs, or SVG data: URLs, are allowed",
        );
      }
      return trimmed;
    }
    const bytes = await this.#load(trimmed, where);
    const type = sniffImage(bytes);
    if (!type) {
      throw assetError(
        where,
        `"${src}" is not a PNG, JPEG, GIF, WebP or SVG image`,
      );
    }
    if (type === "svg") return svgImage(bytes, where);
    return `data:image/${type};base64,${encodeBase64(bytes)}`;
  }

  /** The bytes of a file inside the base folder (a path or a `file:` URL). */
  file(src: string, where: string): Promise<Uint8Array> {
    const path = this.#localPath(src, where);
    return this.#cached(path, () => this.#read(path, src, where));
  }

  /** The bytes of an image source that is not a `data:` URL. */
  #load(src: string, where: string): Promise<Uint8Array> {
    if (/^blob:/i.test(src)) {
      throw assetError(
        where,
        `"${src}" is not allowed: blob: URLs exist only inside a page and cannot be loaded here`,
      );
    }
    if (!/^https?:/i.test(src)) {
      const otherScheme = /^[a-z][a-z0-9+.-]*:/i.test(src) &&
        !/^file:/i.test(src);
      if (this.#allowRemote && otherScheme) {
        throw assetError(
          where,
          `"${src}" is not allowed: assets must be data: URLs, http(s) URLs or files in the template's folder`,
        );
      }
      return this.file(src, where);
    }
    if (!this.#allowRemote) {
      throw assetError(
        where,
        `"${src}" is not allowed: remote assets are off, so assets must be data: URLs or files in the template's folder`,
      );
    }
    let url: URL;
    try {
      url = new URL(src);
    } catch {
      throw assetError(where, `"${src}" is not a valid URL`);
    }
    // Keyed by the parsed URL; paths in the same cache are absolute, so the
    // two never collide.
    return this.#cached(url.href, async () => {
      const bytes = await fetchRemote(url, { src, where }, this.#remote);
      if (!sniffImage(bytes)) {
        throw assetError(
          where,
          `"${src}" is not a PNG, JPEG, GIF, WebP or SVG image`,
        );
      }
      return bytes;
    });
  }

  /** `load()` once per key while it stays among the last CACHE_SIZE used. */
  #cached(key: string, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
    let cached = this.#cache.get(key);
    if (cached) {
      this.#cache.delete(key);
    } else {
      cached = load();
      cached.catch(() => this.#cache.delete(key));
    }
    this.#cache.set(key, cached);
    if (this.#cache.size > CACHE_SIZE) {
      this.#cache.delete(this.#cache.keys().next().value!);
    }
    return cached;
  }

  #localPath(src: string, where: string): string {
    let path = src;
    if (/^file:/i.test(src)) {
      try {
        path = decodeURIComponent(src.replace(/^file:(\/\/)?/i, ""));
      } catch {
        throw assetError(where, `"${src}" is not a valid file URL`);
      }
    } else if (/^[a-z][a-z0-9+.-]*:/i.test(src)) {
      throw assetError(
        where,
        `"${src}" is not allowed: assets must be data: URLs or files in the template's folder`,
      );
    }
    if (path.includes("\0")) throw assetError(where, "path holds a NUL");
    const full = resolve(this.#baseDir, path);
    if (!inside(this.#baseDir, full)) {
      throw assetError(
        where,
        `"${src}" is outside the template's folder`,
      );
    }
    return full;
  }

  /**
   * The bytes of the file `src` (at `path`). Errors name `src` as the
   * template wrote it, never `path`: Deno's messages carry the absolute path,
   * so they are only the `cause`.
   */
  async #read(path: string, src: string, where: string): Promise<Uint8Array> {
    const cannotRead = (error: unknown) =>
      assetError(where, `cannot read "${src}": ${fileErrorReason(error)}`, {
        cause: error,
      });
    let real: string;
    try {
      real = await Deno.realPath(path);
    } catch (error) {
      throw cannotRead(error);
    }
    this.#realBase ??= Deno.realPath(this.#baseDir).catch(() => this.#baseDir);
    if (!inside(await this.#realBase, real)) {
      throw assetError(
        where,
        `"${src}" links outside the template's folder`,
      );
    }
    let isFile: boolean;
    try {
      isFile = (await Deno.stat(real)).isFile;
    } catch (error) {
      throw cannotRead(error);
    }
    if (!isFile) throw assetError(where, `"${src}" is not a file`);
    try {
      return await Deno.readFile(real);
    } catch (error) {
      throw cannotRead(error);
    }
  }
}

/** The error of the asset `where` (an object's property): "where: detail". */
function assetError(
  where: string,
  detail: string,
  options?: ErrorOptions,
): TemplateError {
  return new TemplateError(`${where}: ${detail}`, {
    ...options,
    location: { field: where },
  });
}

function inside(base: string, path: string): boolean {
  const rel = relative(base, path);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." &&
    !isAbsolute(rel);
}

/** An SVG image's `data:` URL, or the error saying why it cannot print. */
function svgImage(bytes: Uint8Array, where: string): string {
  const problem = svgProblem(bytes);
  if (problem) throw assetError(where, problem);
  return svgDataUrl(bytes);
}

/**
 * The image format of `bytes` from its magic number (an SVG from its first
 * element), if it is one we take.
 */
export function sniffImage(
  bytes: Uint8Array,
): "png" | "jpeg" | "gif" | "webp" | "svg" | undefined {
  const b = bytes;
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    return "png";
  }
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return "gif";
  if (
    b[0] === 0x52 && b[1] === 0x49 && b[8] === 0x57 && b[9] === 0x45 &&
    b[10] === 0x42 && b[11] === 0x50
  ) return "webp";
  if (looksLikeSvg(bytes)) return "svg";
  return undefined;
}
