/**
 * Converted images kept for the next pages and files, up to a byte
 * budget (least recently used out first), and the JPEGs of a document
 * converted in one Ghostscript run, each once even when files being
 * converted at the same time share it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { PDFRef } from "pdf-lib";
import {
  type ConvertedImage,
  convertJpegs,
  type ImageLayout,
  type JpegJob,
} from "./_pdfx_images.ts";
import type { JpegWork } from "./_pdfx_scan.ts";

/** Where and how JPEGs are converted, and the budget. */
export interface ImageCacheOptions {
  ghostscript: string;
  dir: string;
  profilePath: string;
  quality: number;
  cacheBytes: number;
}

/** Converted images by key. */
export class ImageCache {
  #options: ImageCacheOptions;
  /** Oldest first (a Map keeps insertion order). */
  #images = new Map<string, ConvertedImage>();
  #imageBytes = 0;
  #pendingJpegs = new Map<string, Promise<ConvertedImage>>();
  readonly stats = { imagesConverted: 0, imagesReused: 0, ghostscriptRuns: 0 };

  constructor(options: ImageCacheOptions) {
    this.#options = options;
  }

  /** Forgets every image. */
  clear(): void {
    this.#images.clear();
    this.#imageBytes = 0;
  }

  /** The converted JPEGs, when every one is cached. */
  cachedJpegs(
    jpegs: { ref: PDFRef; key: string }[],
  ): Map<PDFRef, ConvertedImage> | undefined {
    const out = new Map<PDFRef, ConvertedImage>();
    for (const { key } of jpegs) {
      if (!this.#images.has(key)) return undefined;
    }
    for (const { ref, key } of jpegs) out.set(ref, this.#cached(key)!);
    return out;
  }

  async convertJpegs(
    jpegs: JpegWork[],
    signal?: AbortSignal,
  ): Promise<Map<PDFRef, ConvertedImage>> {
    const waiting: [PDFRef, Promise<ConvertedImage>][] = [];
    const todo = new Map<string, JpegJob>();
    for (const { ref, key, job } of jpegs) {
      const cached = this.#cached(key);
      if (cached) {
        waiting.push([ref, Promise.resolve(cached)]);
        continue;
      }
      const pending = this.#pendingJpegs.get(key);
      if (pending) {
        this.stats.imagesReused++;
        waiting.push([ref, pending]);
        continue;
      }
      todo.set(key, job);
    }
    if (todo.size > 0) {
      const keys = [...todo.keys()];
      const run = convertJpegs([...todo.values()], {
        ghostscript: this.#options.ghostscript,
        dir: this.#options.dir,
        profilePath: this.#options.profilePath,
        quality: this.#options.quality,
        signal,
      });
      this.stats.ghostscriptRuns++;
      keys.forEach((key, i) => {
        const one = run.then((images) => {
          this.#keep(key, images[i]!);
          this.stats.imagesConverted++;
          return images[i]!;
        }).finally(() => this.#pendingJpegs.delete(key));
        one.catch(() => {});
        this.#pendingJpegs.set(key, one);
      });
      for (const { ref, key } of jpegs) {
        if (todo.has(key)) waiting.push([ref, this.#pendingJpegs.get(key)!]);
      }
    }
    const out = new Map<PDFRef, ConvertedImage>();
    for (const [ref, promise] of waiting) out.set(ref, await promise);
    return out;
  }

  flateImage(
    raw: Uint8Array,
    layout: ImageLayout,
    transform: string,
    convert: () => ConvertedImage,
  ): ConvertedImage {
    const key = `flate ${transform} ${
      createHash("sha256").update(raw).update(JSON.stringify(layout)).digest(
        "hex",
      )
    }`;
    const cached = this.#cached(key);
    if (cached) return cached;
    const image = convert();
    this.stats.imagesConverted++;
    this.#keep(key, image);
    return image;
  }

  #cached(key: string): ConvertedImage | undefined {
    const image = this.#images.get(key);
    if (!image) return undefined;
    // Most recently used last.
    this.#images.delete(key);
    this.#images.set(key, image);
    this.stats.imagesReused++;
    return image;
  }

  #keep(key: string, image: ConvertedImage): void {
    if (this.#images.has(key)) return;
    this.#images.set(key, image);
    this.#imageBytes += image.data.length;
    for (const [old, kept] of this.#images) {
      if (this.#imageBytes <= this.#options.cacheBytes) break;
      this.#images.delete(old);
      this.#imageBytes -= kept.data.length;
    }
  }
}
