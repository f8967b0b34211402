/**
 * Press-ready PDF/X-4 files: every colour converted to CMYK through the
 * printer's ICC output profile, which the file carries as its OutputIntent.
 * Trim and bleed boxes, embedded fonts, text as text, transparency
 * (shadows, opacity) and the objects pages share stay as they were.
 *
 * Why PDF/X-4, and why not Ghostscript's pdfwrite: Debian's Ghostscript
 * (10.0) writes PDF/X-3:2002 only (`-dPDFX` is a boolean; `-dPDFX=4` is a
 * typecheck). PDF/X-3 forbids transparency, so for a page with any (a
 * shadow, an opacity) it flattens the whole page into one 720-dpi CMYK
 * image: the text is no longer text and the fonts are gone. And it costs
 * 0.5–0.9 s a page on the example postcard (1.6 s a raster piece), most of
 * it converting images again on every page. PDF/X-4 keeps live
 * transparency, so pressrun writes it itself: the colour operators and
 * images are converted here, with an RGB → CMYK transform sampled once
 * from Ghostscript (LittleCMS) through the profiles; JPEG images go through
 * Ghostscript once each (it has the JPEG codec) and are cached by content,
 * so the background image of a batch is converted once for all its pieces.
 *
 * @example Usage
 * ```ts ignore
 * import { PdfXConverter } from "./pdfx.ts";
 *
 * await using pdfx = await PdfXConverter.open({ icc: "ISOcoated_v2_eci.icc" });
 * await pdfx.convertFile("out/0001.pdf", "out/0001.pdf");
 * await pdfx.convertFile("out/merged.pdf", "out/merged.pdf");
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import {
  ParseSpeeds,
  PDFArray,
  PDFDict,
  PDFDocument,
  PDFName,
  PDFNumber,
  type PDFObject,
  PDFRawStream,
  PDFRef,
} from "pdf-lib";
import { PressrunError } from "../common/errors.ts";
import { type CmykTransform, sampleTransform } from "./_colour.ts";
import { GHOSTSCRIPT } from "./_ghostscript.ts";
import {
  defaultOutputProfile,
  type OutputProfile,
  readOutputProfile,
} from "./_icc.ts";
import {
  type ConvertedImage,
  convertJpegs,
  deflate,
  type ImageLayout,
  type JpegJob,
} from "./_pdfx_images.ts";
import {
  ConversionError,
  decodeStream,
  DocumentConverter,
} from "./_pdfx_convert.ts";
import { PDFX_VERSION, writePdfX } from "./_pdfx_write.ts";

export { PDFX_VERSION };

/** Options for {@linkcode PdfXConverter.open}. */
export interface PdfXOptions {
  /**
   * The printer's ICC output profile (a CMYK `prtr` profile: FOGRA39,
   * GRACoL, …), as the `--icc FILE` option names it.
   * @default {Ghostscript's default_cmyk.icc}
   */
  icc?: string;
  /**
   * The OutputConditionIdentifier of the OutputIntent: a registered
   * characterization name such as "FOGRA39" or "CGATS TR 006" when the
   * profile is one, else "Custom".
   * @default {"FOGRA39" etc. when the profile's description names one, else "Custom"}
   */
  outputCondition?: string;
  /**
   * Pure RGB black (0 0 0) in text and vector art becomes 100 % K, as
   * presses want small text; images keep the profile's rich black.
   * @default {true}
   */
  blackToK?: boolean;
  /**
   * JPEG quality of converted JPEG images, 1–100.
   * @default {90}
   */
  jpegQuality?: number;
  /**
   * The Ghostscript executable.
   * @default {"gs"}
   */
  ghostscript?: string;
  /**
   * Bytes of converted images kept for the next files (a background image
   * is converted once a batch).
   * @default {268435456}
   */
  cacheBytes?: number;
  /** Stops opening (sampling the profile) early. */
  signal?: AbortSignal;
}

/** Options for one conversion. */
export interface PdfXConvertOptions {
  /**
   * The document title.
   * @default {the input's title, else "pressrun"}
   */
  title?: string;
  /**
   * CreationDate and ModDate (PDF/X requires them).
   * @default {now}
   */
  date?: Date;
  /** Stops the conversion: it rejects with the signal's reason, nothing written. */
  signal?: AbortSignal;
}

/** The options a converter keeps, defaults applied. */
type Settings = Required<
  Omit<PdfXOptions, "icc" | "signal" | "outputCondition">
>;

/** What a converter has done so far. */
export interface PdfXStats {
  documents: number;
  pages: number;
  /** Images converted (JPEG through Ghostscript, others here). */
  imagesConverted: number;
  /** Images found already converted, in this document or an earlier one. */
  imagesReused: number;
  /** Ghostscript runs for JPEG images. */
  ghostscriptRuns: number;
}

/**
 * Converts PDFs to PDF/X-4 with one output profile. Open one per batch:
 * the profile is read and checked, and its transform sampled, once; images
 * converted for one file are reused by the next. Owns a temporary folder
 * for Ghostscript: `close()` it (safe twice), or `await using`.
 */
export class PdfXConverter implements AsyncDisposable {
  #options: Settings;
  #profile: OutputProfile;
  #profilePath: string;
  #dir: string;
  #conditionIdentifier: string;
  #deviceRgb: CmykTransform;
  #compressedProfile: Uint8Array;
  /** Transforms from image ICC profiles, by profile hash. */
  #iccTransforms = new Map<string, Promise<CmykTransform>>();
  #iccReady = new Map<string, CmykTransform>();
  #transformIds = new WeakMap<CmykTransform, string>();
  /** Converted images by key, oldest first (a Map keeps insertion order). */
  #images = new Map<string, ConvertedImage>();
  #imageBytes = 0;
  #pendingJpegs = new Map<string, Promise<ConvertedImage>>();
  #closed = false;
  #stats: PdfXStats = {
    documents: 0,
    pages: 0,
    imagesConverted: 0,
    imagesReused: 0,
    ghostscriptRuns: 0,
  };

  private constructor(
    options: Settings,
    profile: OutputProfile,
    dir: string,
    deviceRgb: CmykTransform,
    conditionIdentifier: string,
  ) {
    this.#options = options;
    this.#profile = profile;
    this.#dir = dir;
    this.#profilePath = join(dir, "output.icc");
    this.#deviceRgb = deviceRgb;
    this.#transformIds.set(deviceRgb, "device");
    this.#conditionIdentifier = conditionIdentifier;
    this.#compressedProfile = deflate(profile.bytes);
  }

  /**
   * Reads and checks the output profile, and samples its transform with
   * Ghostscript (≈ 0.3–0.7 s).
   *
   * @throws {UsageError} If `icc` cannot be read or is not a CMYK output
   * profile (the message names `--icc` and the file).
   * @throws {PressrunError} If Ghostscript (or, with no `icc`, its profile)
   * is not installed: the message says to run setup.sh.
   */
  static async open(options: PdfXOptions = {}): Promise<PdfXConverter> {
    options.signal?.throwIfAborted();
    const profile = options.icc === undefined
      ? await defaultOutputProfile()
      : await readOutputProfile(options.icc);
    const quality = options.jpegQuality ?? 90;
    if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
      throw new RangeError(`jpegQuality must be 1 to 100, got ${quality}`);
    }
    const dir = await Deno.makeTempDir({ prefix: "pressrun-pdfx-" });
    try {
      await Deno.writeFile(join(dir, "output.icc"), profile.bytes);
      const ghostscript = options.ghostscript ?? GHOSTSCRIPT;
      const deviceRgb = await sampleTransform({
        ghostscript,
        dir,
        profilePath: join(dir, "output.icc"),
        signal: options.signal,
      });
      return new PdfXConverter(
        {
          blackToK: options.blackToK ?? true,
          jpegQuality: quality,
          ghostscript,
          cacheBytes: options.cacheBytes ?? 256 * 1024 * 1024,
        },
        profile,
        dir,
        deviceRgb,
        options.outputCondition ?? conditionOf(profile.description),
      );
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** The standard the files meet. */
  get standard(): string {
    return PDFX_VERSION;
  }

  /** The output profile: where it came from, and its description. */
  get profile(): { path: string; description: string } {
    return { path: this.#profile.path, description: this.#profile.description };
  }

  /** Counts of what was converted and reused. */
  get stats(): PdfXStats {
    return { ...this.#stats };
  }

  /**
   * Converts one PDF (a piece, a chunk, merged.pdf) and returns the PDF/X
   * bytes.
   *
   * @throws {PressrunError} If the PDF cannot be read, a page lacks a
   * TrimBox or BleedBox, or holds something PDF/X cannot carry or pressrun
   * cannot convert (the message names the page and what).
   */
  async convert(
    pdf: Uint8Array,
    options: PdfXConvertOptions = {},
  ): Promise<Uint8Array> {
    this.#open();
    const { signal } = options;
    signal?.throwIfAborted();
    let doc: PDFDocument;
    try {
      doc = await PDFDocument.load(pdf, {
        updateMetadata: false,
        parseSpeed: ParseSpeeds.Fastest,
        throwOnInvalidObject: true,
      });
    } catch (error) {
      throw new PressrunError(
        `Cannot read the PDF to convert to PDF/X: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const { jpegs, profiles } = this.#prepare(doc, signal);
    // Everything cached (the usual case after a batch's first piece): no
    // await at all.
    let converted = this.#cachedJpegs(jpegs);
    const byProfile = new Map<PDFRawStream, CmykTransform>();
    const unsampled = profiles.filter(({ hash, stream }) => {
      const ready = this.#iccReady.get(hash);
      if (ready) byProfile.set(stream, ready);
      return !ready;
    });
    if (!converted || unsampled.length > 0) {
      const [jpegImages, transforms] = await Promise.all([
        converted ?? this.#convertJpegs(jpegs, signal),
        Promise.all(
          unsampled.map(async ({ hash, stream }) =>
            [stream, await this.#iccTransform(hash, stream, signal)] as const
          ),
        ),
      ]);
      converted = jpegImages;
      for (const [stream, transform] of transforms) {
        byProfile.set(stream, transform);
      }
      signal?.throwIfAborted();
    }
    const converter = new DocumentConverter(doc.context, {
      deviceRgb: this.#deviceRgb,
      iccRgb: (stream) => {
        const transform = byProfile.get(stream);
        if (!transform) {
          throw new ConversionError(
            "an ICC profile was not sampled beforehand",
          );
        }
        return transform;
      },
      jpeg: (ref) => converted.get(ref),
      flateImage: (raw, layout, transform, convert) =>
        this.#flateImage(raw, layout, transform, convert),
      blackToK: this.#options.blackToK,
    });
    const pages = doc.getPages();
    pages.forEach((page, i) => {
      const node = page.node;
      for (const box of ["TrimBox", "BleedBox"]) {
        if (!(node.get(PDFName.of(box)) instanceof PDFArray)) {
          throw new PressrunError(
            `Cannot convert page ${i + 1} to PDF/X: it has no ${box}`,
          );
        }
      }
      try {
        converter.page(node, i + 1);
      } catch (error) {
        if (error instanceof ConversionError) {
          throw new PressrunError(
            `Cannot convert to PDF/X: ${error.message}`,
            { cause: error },
          );
        }
        throw error;
      }
    });
    signal?.throwIfAborted();
    const date = options.date ?? new Date();
    const id = createHash("sha256").update(pdf).update(this.#profile.hash)
      .update(date.toISOString()).digest("hex").slice(0, 32);
    const out = writePdfX(doc, {
      title: options.title ?? (doc.getTitle() || "pressrun"),
      date,
      id,
      profile: this.#compressedProfile,
      conditionIdentifier: this.#conditionIdentifier,
      condition: this.#profile.description,
    });
    this.#stats.documents++;
    this.#stats.pages += pages.length;
    return out;
  }

  /**
   * Converts the PDF at `input` and writes the PDF/X file at `output` (which
   * may be `input`): through a temporary file beside `output`, renamed over
   * it once whole, so a failure or an abort leaves `output` as it was.
   */
  async convertFile(
    input: string,
    output: string,
    options: PdfXConvertOptions = {},
  ): Promise<void> {
    this.#open();
    options.signal?.throwIfAborted();
    const bytes = await this.convert(await Deno.readFile(input), options);
    const temporary = join(
      dirname(output),
      `.${crypto.randomUUID()}.pdfx.tmp`,
    );
    try {
      await Deno.writeFile(temporary, bytes);
      options.signal?.throwIfAborted();
      await Deno.rename(temporary, output);
    } catch (error) {
      await Deno.remove(temporary).catch(() => {});
      throw error;
    }
  }

  /** Removes the temporary folder; safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#images.clear();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #open(): void {
    if (this.#closed) throw new Error("The PDF/X converter is closed");
  }

  /**
   * Finds what needs Ghostscript before the pages are walked: the JPEG
   * images in RGB (with their cache keys) and the ICC profiles of RGB
   * spaces (for their transforms).
   */
  #prepare(doc: PDFDocument, signal?: AbortSignal): {
    jpegs: { ref: PDFRef; key: string; job: JpegJob }[];
    profiles: { hash: string; stream: PDFRawStream }[];
  } {
    signal?.throwIfAborted();
    const context = doc.context;
    const lookup = (o: PDFObject | undefined) =>
      o instanceof PDFRef ? context.lookup(o) : o;
    const profiles = new Map<PDFRawStream, string>();
    const rgbProfile = (space: PDFObject | undefined) => {
      const cs = lookup(space);
      if (!(cs instanceof PDFArray) || cs.size() < 2) return undefined;
      const family = lookup(cs.get(0));
      if (!(family instanceof PDFName) || family.decodeText() !== "ICCBased") {
        return undefined;
      }
      const stream = lookup(cs.get(1));
      if (!(stream instanceof PDFRawStream)) return undefined;
      const n = lookup(stream.dict.get(PDFName.of("N")));
      if (!(n instanceof PDFNumber) || n.asNumber() !== 3) return undefined;
      return stream;
    };
    const jpegs: { ref: PDFRef; key: string; job: JpegJob }[] = [];
    // Every array naming an ICCBased RGB space, anywhere.
    const visit = (object: PDFObject | undefined, depth: number) => {
      if (depth > 32 || object === undefined) return;
      if (object instanceof PDFArray) {
        const stream = rgbProfile(object);
        if (stream && !profiles.has(stream)) {
          // The stored bytes (and how they are stored) identify the profile.
          const filter = stream.dict.get(PDFName.of("Filter"))?.toString();
          const hash = createHash("sha1").update(stream.contents)
            .update(`${filter}`).digest("hex");
          profiles.set(stream, hash);
        }
        for (const v of object.asArray()) {
          if (!(v instanceof PDFRef)) visit(v, depth + 1);
        }
      } else if (object instanceof PDFRawStream) visit(object.dict, depth + 1);
      else if (object instanceof PDFDict) {
        for (const [, v] of object.entries()) {
          if (!(v instanceof PDFRef)) visit(v, depth + 1);
        }
      }
    };
    for (const [ref, object] of context.enumerateIndirectObjects()) {
      visit(object, 0);
      if (!(object instanceof PDFRawStream)) continue;
      const dict = object.dict;
      const subtype = lookup(dict.get(PDFName.of("Subtype")));
      if (!(subtype instanceof PDFName) || subtype.decodeText() !== "Image") {
        continue;
      }
      const filter = lookup(dict.get(PDFName.of("Filter")));
      const filters = filter instanceof PDFArray
        ? filter.asArray().map((f) => (lookup(f) as PDFName).decodeText?.())
        : filter instanceof PDFName
        ? [filter.decodeText()]
        : [];
      if (filters.length !== 1 || !["DCTDecode", "DCT"].includes(filters[0]!)) {
        continue;
      }
      const space = dict.get(PDFName.of("ColorSpace"));
      const resolved = lookup(space);
      const profile = rgbProfile(space);
      const deviceRgb = resolved instanceof PDFName &&
        ["DeviceRGB", "RGB"].includes(resolved.decodeText());
      const calRgb = resolved instanceof PDFArray &&
        (lookup(resolved.get(0)) as PDFName | undefined)?.decodeText?.() ===
          "CalRGB";
      if (!profile && !deviceRgb && !calRgb) continue;
      const number = (key: string) => {
        const v = lookup(dict.get(PDFName.of(key)));
        return v instanceof PDFNumber ? v.asNumber() : undefined;
      };
      let parms = lookup(dict.get(PDFName.of("DecodeParms")));
      if (parms instanceof PDFArray) parms = lookup(parms.get(0));
      const transform = parms instanceof PDFDict
        ? lookup(parms.get(PDFName.of("ColorTransform")))
        : undefined;
      const profileBytes = profile ? decodeStream(profile) : undefined;
      const job: JpegJob = {
        width: number("Width") ?? 0,
        height: number("Height") ?? 0,
        data: object.contents,
        profile: profileBytes,
        colorTransform: transform instanceof PDFNumber
          ? transform.asNumber()
          : undefined,
      };
      const key = createHash("sha1").update(object.contents)
        .update(profileBytes ?? new Uint8Array())
        .update(`${job.width}x${job.height} ${job.colorTransform}`)
        .digest("hex");
      jpegs.push({ ref, key: `jpeg ${key}`, job });
    }
    return {
      jpegs,
      profiles: [...profiles].map(([stream, hash]) => ({ hash, stream })),
    };
  }

  /** The converted JPEGs, when every one is cached. */
  #cachedJpegs(
    jpegs: { ref: PDFRef; key: string }[],
  ): Map<PDFRef, ConvertedImage> | undefined {
    const out = new Map<PDFRef, ConvertedImage>();
    for (const { key } of jpegs) {
      if (!this.#images.has(key)) return undefined;
    }
    for (const { ref, key } of jpegs) out.set(ref, this.#cached(key)!);
    return out;
  }

  async #convertJpegs(
    jpegs: { ref: PDFRef; key: string; job: JpegJob }[],
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
        this.#stats.imagesReused++;
        waiting.push([ref, pending]);
        continue;
      }
      todo.set(key, job);
    }
    if (todo.size > 0) {
      const keys = [...todo.keys()];
      const run = convertJpegs([...todo.values()], {
        ghostscript: this.#options.ghostscript,
        dir: this.#dir,
        profilePath: this.#profilePath,
        quality: this.#options.jpegQuality,
        signal,
      });
      this.#stats.ghostscriptRuns++;
      keys.forEach((key, i) => {
        const one = run.then((images) => {
          this.#keep(key, images[i]!);
          this.#stats.imagesConverted++;
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

  #iccTransform(
    hash: string,
    stream: PDFRawStream,
    signal?: AbortSignal,
  ): Promise<CmykTransform> {
    let transform = this.#iccTransforms.get(hash);
    if (!transform) {
      transform = sampleTransform({
        ghostscript: this.#options.ghostscript,
        dir: this.#dir,
        profilePath: this.#profilePath,
        source: decodeStream(stream),
        signal,
      }).then((t) => {
        this.#transformIds.set(t, hash);
        this.#iccReady.set(hash, t);
        return t;
      });
      transform.catch(() => this.#iccTransforms.delete(hash));
      this.#iccTransforms.set(hash, transform);
    }
    return transform;
  }

  #flateImage(
    raw: Uint8Array,
    layout: ImageLayout,
    transform: CmykTransform | "gray",
    convert: () => ConvertedImage,
  ): ConvertedImage {
    const id = transform === "gray"
      ? "gray"
      : this.#transformIds.get(transform);
    const key = `flate ${id} ${
      createHash("sha256").update(raw).update(JSON.stringify(layout)).digest(
        "hex",
      )
    }`;
    const cached = this.#cached(key);
    if (cached) return cached;
    const image = convert();
    this.#stats.imagesConverted++;
    this.#keep(key, image);
    return image;
  }

  #cached(key: string): ConvertedImage | undefined {
    const image = this.#images.get(key);
    if (!image) return undefined;
    // Most recently used last.
    this.#images.delete(key);
    this.#images.set(key, image);
    this.#stats.imagesReused++;
    return image;
  }

  #keep(key: string, image: ConvertedImage): void {
    if (this.#closed || this.#images.has(key)) return;
    this.#images.set(key, image);
    this.#imageBytes += image.data.length;
    for (const [old, kept] of this.#images) {
      if (this.#imageBytes <= this.#options.cacheBytes) break;
      this.#images.delete(old);
      this.#imageBytes -= kept.data.length;
    }
  }
}

/**
 * Converts the PDF at `input` to PDF/X-4 at `output` (may be the same
 * path; written through a temporary file and renamed) with a converter of
 * its own. For many files, open one {@linkcode PdfXConverter} instead.
 */
export async function convertToPdfX(
  input: string,
  output: string,
  options: PdfXOptions & PdfXConvertOptions = {},
): Promise<void> {
  await using converter = await PdfXConverter.open(options);
  await converter.convertFile(input, output, options);
}

/**
 * The characterization a profile's description names, as registered with
 * the ICC (https://www.color.org/chardata/drsection1.xalter), else
 * "Custom".
 */
function conditionOf(description: string): string {
  const fogra = /FOGRA\s?(\d{2})/i.exec(description);
  if (fogra) return `FOGRA${fogra[1]}`;
  if (/GRACoL\s?2006/i.test(description)) return "CGATS TR 006";
  if (/SWOP\s?2006.*Coated\s?3/i.test(description)) return "CGATS TR 003";
  if (/SWOP\s?2006.*Coated\s?5/i.test(description)) return "CGATS TR 005";
  return "Custom";
}
