/**
 * The asset policy: where template images and fonts may come from. By default
 * only `data:` URLs and files inside the template's own folder; the page never
 * fetches anything itself.
 *
 * @module
 */
import { isAbsolute, relative, resolve, sep } from "node:path";
import { encodeBase64 } from "./_base64.ts";

const IMAGE_DATA_URL =
  /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$/;
const CACHE_SIZE = 64;

/** Loads template assets under the asset policy, with a small cache. */
export class AssetResolver {
  #baseDir: string;
  #realBase: Promise<string> | undefined;
  #cache = new Map<string, Promise<Uint8Array>>();

  /** `baseDir` is the only folder files may be read from. */
  constructor(baseDir: string) {
    this.#baseDir = resolve(baseDir);
  }

  /**
   * An image source as a `data:` URL. Throws TypeError for a source the
   * policy refuses or an unknown image format; `where` names the object.
   */
  async imageDataUrl(src: string, where: string): Promise<string> {
    const trimmed = src.trim();
    if (/^data:/i.test(trimmed)) {
      if (!IMAGE_DATA_URL.test(trimmed)) {
        throw new TypeError(
          `${where}: only base64 PNG, JPEG, GIF or WebP data URLs are allowed`,
        );
      }
      return trimmed;
    }
    const bytes = await this.file(trimmed, where);
    const type = sniffImage(bytes);
    if (!type) {
      throw new TypeError(
        `${where}: "${src}" is not a PNG, JPEG, GIF or WebP image`,
      );
    }
    return `data:image/${type};base64,${encodeBase64(bytes)}`;
  }

  /** The bytes of a file inside the base folder (a path or a `file:` URL). */
  file(src: string, where: string): Promise<Uint8Array> {
    const path = this.#localPath(src, where);
    let cached = this.#cache.get(path);
    if (cached) {
      this.#cache.delete(path);
    } else {
      cached = this.#read(path, src, where);
      cached.catch(() => this.#cache.delete(path));
    }
    this.#cache.set(path, cached);
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
        throw new TypeError(`${where}: "${src}" is not a valid file URL`);
      }
    } else if (/^[a-z][a-z0-9+.-]*:/i.test(src)) {
      throw new TypeError(
        `${where}: "${src}" is not allowed: assets must be data: URLs or files in the template's folder`,
      );
    }
    if (path.includes("\0")) throw new TypeError(`${where}: path holds a NUL`);
    const full = resolve(this.#baseDir, path);
    if (!inside(this.#baseDir, full)) {
      throw new TypeError(
        `${where}: "${src}" is outside the template's folder`,
      );
    }
    return full;
  }

  async #read(path: string, src: string, where: string): Promise<Uint8Array> {
    let real: string;
    try {
      real = await Deno.realPath(path);
    } catch (error) {
      throw new TypeError(`${where}: cannot read "${src}": file not found`, {
        cause: error,
      });
    }
    this.#realBase ??= Deno.realPath(this.#baseDir).catch(() => this.#baseDir);
    if (!inside(await this.#realBase, real)) {
      throw new TypeError(
        `${where}: "${src}" links outside the template's folder`,
      );
    }
    if (!(await Deno.stat(real)).isFile) {
      throw new TypeError(`${where}: "${src}" is not a file`);
    }
    return await Deno.readFile(real);
  }
}

function inside(base: string, path: string): boolean {
  const rel = relative(base, path);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." &&
    !isAbsolute(rel);
}

/** The image format of `bytes` from its magic number, if it is one we take. */
export function sniffImage(
  bytes: Uint8Array,
): "png" | "jpeg" | "gif" | "webp" | undefined {
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
  return undefined;
}
