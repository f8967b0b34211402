/**
 * Converting RGB images to CMYK (or to gray inside a luminosity soft mask).
 *
 * - Flate-compressed and uncompressed images (Chromium's PNGs, shadows, a
 *   raster page) are decoded here, their PNG predictors undone, converted
 *   through the sampled transform and deflated again.
 * - JPEG images go to Ghostscript, which has a JPEG codec: all the new ones
 *   of a document in one run of its `jpegcmyk` device, each drawn pixel for
 *   pixel on a page of its size, through the output profile. Its JPEGs are
 *   Adobe-style (inverted) CMYK, so they are written with
 *   `/Decode [1 0 1 0 1 0 1 0]`, as Acrobat writes Photoshop's; the ICC
 *   profile Ghostscript puts in them is cut (the OutputIntent has it).
 *
 * @module
 */
import { join } from "node:path";
import { deflateSync, inflateSync } from "node:zlib";
import { runGhostscript } from "./_ghostscript.ts";
import type { CmykTransform } from "./_colour.ts";

/** An image's pixels after conversion, ready to store. */
export interface ConvertedImage {
  /** The stream data, compressed. */
  data: Uint8Array;
  filter: "FlateDecode" | "DCTDecode";
  colourSpace: "DeviceCMYK" | "DeviceGray";
  /** The /Decode array to write, when not the default. */
  decode?: number[];
}

/** Why an image cannot be converted; the caller names the image. */
export class ImageError extends Error {
  override name = "ImageError";
}

/** The decoding an image's stream needs, as its dictionary says. */
export interface ImageLayout {
  width: number;
  height: number;
  /** Colour components a pixel (3 for RGB). */
  components: number;
  bitsPerComponent: number;
  /** Filters, outermost first; only FlateDecode is decoded here. */
  filters: string[];
  /** /DecodeParms of the Flate filter: Predictor, Colors, BitsPerComponent, Columns. */
  predictor?: {
    predictor: number;
    colors: number;
    bits: number;
    columns: number;
  };
  /** A /Decode array other than the default, if any. */
  decode?: number[];
}

/**
 * The 8-bit samples of a Flate-compressed or uncompressed image (16-bit
 * samples keep their high byte).
 *
 * @throws {ImageError} For other filters, bit depths or a short stream.
 */
export function imageSamples(raw: Uint8Array, layout: ImageLayout): Uint8Array {
  const { width, height, components, bitsPerComponent: bits } = layout;
  if (bits !== 8 && bits !== 16) {
    throw new ImageError(`it has ${bits} bits a component (8 or 16 convert)`);
  }
  if (layout.decode) throw new ImageError("it has a /Decode array");
  let data = raw;
  for (const filter of layout.filters) {
    if (filter !== "FlateDecode" && filter !== "Fl") {
      throw new ImageError(`it is compressed with ${filter}`);
    }
    data = new Uint8Array(inflateSync(data));
  }
  const p = layout.predictor;
  if (p && p.predictor >= 2) {
    data = unpredict(data, p);
  }
  const rowBytes = width * components * (bits / 8);
  if (data.length < rowBytes * height) {
    throw new ImageError(
      `its data is ${data.length} bytes, ${rowBytes * height} expected`,
    );
  }
  if (bits === 8) return data.subarray(0, rowBytes * height);
  const out = new Uint8Array(width * components * height);
  for (let i = 0; i < out.length; i++) out[i] = data[i * 2]!;
  return out;
}

/** Undoes a TIFF (2) or PNG (10–15) predictor. */
function unpredict(
  data: Uint8Array,
  p: { predictor: number; colors: number; bits: number; columns: number },
): Uint8Array {
  const bpp = Math.max(1, Math.ceil(p.colors * p.bits / 8));
  const rowBytes = Math.ceil(p.columns * p.colors * p.bits / 8);
  if (p.predictor === 2) {
    if (p.bits !== 8) {
      throw new ImageError("it has a TIFF predictor on non-8-bit data");
    }
    const out = new Uint8Array(data);
    for (let row = 0; row + rowBytes <= out.length; row += rowBytes) {
      for (let i = row + bpp; i < row + rowBytes; i++) {
        out[i] = (out[i]! + out[i - bpp]!) & 0xff;
      }
    }
    return out;
  }
  const rows = Math.floor(data.length / (rowBytes + 1));
  const out = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r++) {
    const type = data[r * (rowBytes + 1)]!;
    const src = r * (rowBytes + 1) + 1;
    const dst = r * rowBytes;
    const up = dst - rowBytes;
    switch (type) {
      case 0:
        out.set(data.subarray(src, src + rowBytes), dst);
        break;
      case 1:
        for (let i = 0; i < rowBytes; i++) {
          const left = i >= bpp ? out[dst + i - bpp]! : 0;
          out[dst + i] = (data[src + i]! + left) & 0xff;
        }
        break;
      case 2:
        if (r === 0) out.set(data.subarray(src, src + rowBytes), dst);
        else {
          for (let i = 0; i < rowBytes; i++) {
            out[dst + i] = (data[src + i]! + out[up + i]!) & 0xff;
          }
        }
        break;
      case 3:
        for (let i = 0; i < rowBytes; i++) {
          const left = i >= bpp ? out[dst + i - bpp]! : 0;
          const above = r > 0 ? out[up + i]! : 0;
          out[dst + i] = (data[src + i]! + ((left + above) >> 1)) & 0xff;
        }
        break;
      case 4:
        for (let i = 0; i < rowBytes; i++) {
          const a = i >= bpp ? out[dst + i - bpp]! : 0;
          const b = r > 0 ? out[up + i]! : 0;
          const c = i >= bpp && r > 0 ? out[up + i - bpp]! : 0;
          const pa = Math.abs(b - c),
            pb = Math.abs(a - c),
            pc = Math.abs(a + b - 2 * c);
          const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          out[dst + i] = (data[src + i]! + pred) & 0xff;
        }
        break;
      default:
        throw new ImageError(`its PNG data has an unknown row filter ${type}`);
    }
  }
  return out;
}

/** RGB samples to gray by luminosity (0.3 R + 0.59 G + 0.11 B), as a soft mask measures them. */
export function luminosity(rgb: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let p = 0, q = 0; p < count; p++, q += 3) {
    out[p] = Math.round(
      0.3 * rgb[q]! + 0.59 * rgb[q + 1]! + 0.11 * rgb[q + 2]!,
    );
  }
  return out;
}

/**
 * Converts an RGB image stored as Flate (or not compressed) to CMYK (or
 * gray) and deflates it. 8-bit images with PNG predictors, the usual kind,
 * are undone and converted row by row, with no full-size RGB copy in
 * between; anything else goes through {@linkcode imageSamples}.
 *
 * @throws {ImageError} As {@linkcode imageSamples} does.
 */
export function convertImage(
  raw: Uint8Array,
  layout: ImageLayout,
  transform: CmykTransform | "gray",
): ConvertedImage {
  const { width, height } = layout;
  const p = layout.predictor;
  const png = p !== undefined && p.predictor >= 10 && p.colors === 3 &&
    p.bits === 8 && p.columns === width;
  if (
    !png || layout.bitsPerComponent !== 8 || layout.decode !== undefined ||
    layout.filters.some((f) => f !== "FlateDecode" && f !== "Fl")
  ) {
    return convertSamples(imageSamples(raw, layout), width * height, transform);
  }
  let data = raw;
  for (const _ of layout.filters) data = new Uint8Array(inflateSync(data));
  const rowBytes = width * 3;
  if (data.length < (rowBytes + 1) * height) {
    throw new ImageError(
      `its data is ${data.length} bytes, ${(rowBytes + 1) * height} expected`,
    );
  }
  const components = transform === "gray" ? 1 : 4;
  const out = new Uint8Array(width * height * components);
  // Rows padded to whole 32-bit words, for the Up filter four bytes at a time.
  const padded = Math.ceil(rowBytes / 4) * 4;
  let previous = new Uint8Array(padded);
  let current = new Uint8Array(padded);
  for (let r = 0; r < height; r++) {
    const start = r * (rowBytes + 1);
    unfilterRow(
      data[start]!,
      data.subarray(start + 1, start + 1 + rowBytes),
      current,
      previous,
      r === 0,
    );
    const row = out.subarray(
      r * width * components,
      (r + 1) * width * components,
    );
    if (transform === "gray") {
      for (let x = 0, q = 0; x < width; x++, q += 3) {
        row[x] = Math.round(
          0.3 * current[q]! + 0.59 * current[q + 1]! + 0.11 * current[q + 2]!,
        );
      }
    } else transform.pixels(current, row, width);
    [previous, current] = [current, previous];
  }
  return {
    data: deflate(out, 3),
    filter: "FlateDecode",
    colourSpace: transform === "gray" ? "DeviceGray" : "DeviceCMYK",
  };
}

/** Undoes one PNG row filter of 3-byte pixels: `row` (filtered) into `out`, `above` the row before. */
function unfilterRow(
  type: number,
  row: Uint8Array,
  out: Uint8Array,
  above: Uint8Array,
  first: boolean,
): void {
  const n = row.length;
  out.set(row);
  switch (type) {
    case 0:
      return;
    case 1:
      for (let i = 3; i < n; i++) out[i] = (out[i]! + out[i - 3]!) & 0xff;
      return;
    case 2: {
      if (first) return;
      // Bytewise addition, four bytes a word: add the low 7 bits, then
      // the top bits without carry.
      const words = out.length >> 2;
      const a = new Uint32Array(out.buffer, out.byteOffset, words);
      const b = new Uint32Array(above.buffer, above.byteOffset, words);
      for (let i = 0; i < words; i++) {
        const x = a[i]!, y = b[i]!;
        a[i] = ((x & 0x7f7f7f7f) + (y & 0x7f7f7f7f)) ^ ((x ^ y) & 0x80808080);
      }
      return;
    }
    case 3:
      for (let i = 0; i < n; i++) {
        const left = i >= 3 ? out[i - 3]! : 0;
        const up = first ? 0 : above[i]!;
        out[i] = (out[i]! + ((left + up) >> 1)) & 0xff;
      }
      return;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i >= 3 ? out[i - 3]! : 0;
        const b = first ? 0 : above[i]!;
        const c = i >= 3 && !first ? above[i - 3]! : 0;
        const pa = Math.abs(b - c),
          pb = Math.abs(a - c),
          pc = Math.abs(a + b - 2 * c);
        out[i] = (out[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) &
          0xff;
      }
      return;
    default:
      throw new ImageError(`its PNG data has an unknown row filter ${type}`);
  }
}

/** Converts decoded 8-bit RGB samples and deflates them. */
export function convertSamples(
  rgb: Uint8Array,
  count: number,
  transform: CmykTransform | "gray",
): ConvertedImage {
  if (transform === "gray") {
    return {
      data: deflate(luminosity(rgb, count), 3),
      filter: "FlateDecode",
      colourSpace: "DeviceGray",
    };
  }
  const cmyk = new Uint8Array(count * 4);
  transform.pixels(rgb, cmyk, count);
  return {
    data: deflate(cmyk, 3),
    filter: "FlateDecode",
    colourSpace: "DeviceCMYK",
  };
}

/**
 * Deflated bytes: zlib level 6 (its default) unless told. Content streams
 * and converted images use 3: for 2–7 % more bytes, half to two thirds of
 * the time (25 KiB of postcard content to 4.4 KiB in 0.3 ms, against
 * 4.3 KiB in 0.6 ms; a 1875×1275 CMYK raster page to 301 KiB in 21 ms,
 * against 281 KiB in 32 ms).
 */
export function deflate(bytes: Uint8Array, level = 6): Uint8Array {
  return new Uint8Array(deflateSync(bytes, { level }));
}

/** A JPEG image to convert with Ghostscript. */
export interface JpegJob {
  width: number;
  height: number;
  /** The JPEG data as stored. */
  data: Uint8Array;
  /** The image's ICC profile (its ICCBased space), or none for DeviceRGB. */
  profile?: Uint8Array;
  /** /ColorTransform of the image's DCTDecode parameters, if given. */
  colorTransform?: number;
}

/** Options for {@linkcode convertJpegs}. */
export interface JpegOptions {
  ghostscript: string;
  dir: string;
  profilePath: string;
  /** JPEG quality, 1–100. */
  quality: number;
  signal?: AbortSignal;
}

/**
 * Converts JPEG images to CMYK JPEGs in one Ghostscript run, one page each.
 * Returns the converted images in the order given.
 */
export async function convertJpegs(
  jobs: JpegJob[],
  options: JpegOptions,
): Promise<ConvertedImage[]> {
  if (jobs.length === 0) return [];
  const name = crypto.randomUUID();
  const input = join(options.dir, `${name}.pdf`);
  await Deno.writeFile(input, jpegPagesPdf(jobs));
  const outputs = jobs.map((_, i) => join(options.dir, `${name}-${i + 1}.jpg`));
  try {
    await runGhostscript(options.ghostscript, [
      "-sDEVICE=jpegcmyk",
      "-r72",
      `-dJPEGQ=${options.quality}`,
      "-dInterpolateControl=0",
      `-sOutputICCProfile=${options.profilePath}`,
      `-sOutputFile=${join(options.dir, `${name}-%d.jpg`)}`,
      input,
    ], options.signal);
    const images: ConvertedImage[] = [];
    for (const output of outputs) {
      images.push({
        data: withoutIccProfile(await Deno.readFile(output)),
        filter: "DCTDecode",
        colourSpace: "DeviceCMYK",
        decode: [1, 0, 1, 0, 1, 0, 1, 0],
      });
    }
    return images;
  } finally {
    await Deno.remove(input).catch(() => {});
    for (const output of outputs) await Deno.remove(output).catch(() => {});
  }
}

/** A PDF with one page per JPEG, each drawn pixel for pixel at 72 dpi. */
function jpegPagesPdf(jobs: JpegJob[]): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const offsets: number[] = [];
  let size = 0;
  const add = (part: string | Uint8Array) => {
    const bytes = typeof part === "string" ? encoder.encode(part) : part;
    parts.push(bytes);
    size += bytes.length;
  };
  const object = (n: number, ...body: (string | Uint8Array)[]) => {
    offsets[n] = size;
    add(`${n} 0 obj\n`);
    for (const part of body) add(part);
    add("\nendobj\n");
  };
  add("%PDF-1.4\n");
  // 1 catalog, 2 pages; then per image: page, content, image, profile.
  const first = (i: number) => 3 + i * 4;
  object(1, "<</Type/Catalog/Pages 2 0 R>>");
  object(
    2,
    `<</Type/Pages/Count ${jobs.length}/Kids[${
      jobs.map((_, i) => `${first(i)} 0 R`).join(" ")
    }]>>`,
  );
  jobs.forEach((job, i) => {
    const n = first(i);
    const { width, height } = job;
    const content = `q ${width} 0 0 ${height} 0 0 cm /I Do Q`;
    object(
      n,
      `<</Type/Page/Parent 2 0 R/MediaBox[0 0 ${width} ${height}]/Resources<</XObject<</I ${
        n + 2
      } 0 R>>>>/Contents ${n + 1} 0 R>>`,
    );
    object(n + 1, `<</Length ${content.length}>>stream\n${content}\nendstream`);
    const space = job.profile ? `[/ICCBased ${n + 3} 0 R]` : "/DeviceRGB";
    const parms = job.colorTransform === undefined
      ? ""
      : `/DecodeParms<</ColorTransform ${job.colorTransform}>>`;
    object(
      n + 2,
      `<</Type/XObject/Subtype/Image/Width ${width}/Height ${height}/ColorSpace${space}/BitsPerComponent 8/Filter/DCTDecode${parms}/Length ${job.data.length}>>stream\n`,
      job.data,
      "\nendstream",
    );
    if (job.profile) {
      object(
        n + 3,
        `<</N 3/Length ${job.profile.length}>>stream\n`,
        job.profile,
        "\nendstream",
      );
    } else object(n + 3, "null");
  });
  const count = first(jobs.length);
  const xref = size;
  add(`xref\n0 ${count}\n0000000000 65535 f \n`);
  for (let n = 1; n < count; n++) {
    add(`${String(offsets[n]).padStart(10, "0")} 00000 n \n`);
  }
  add(`trailer\n<</Size ${count}/Root 1 0 R>>\nstartxref\n${xref}\n%%EOF\n`);
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

/** A JPEG without its APP2 ICC_PROFILE segments. */
export function withoutIccProfile(jpeg: Uint8Array): Uint8Array {
  const keep: Uint8Array[] = [jpeg.subarray(0, 2)];
  let i = 2;
  let size = 2;
  while (i + 4 <= jpeg.length && jpeg[i] === 0xff) {
    const marker = jpeg[i + 1]!;
    if (marker === 0xda || marker === 0xd9) break; // start of scan: the rest as is
    const length = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    const segment = jpeg.subarray(i, i + 2 + length);
    const icc = marker === 0xe2 &&
      new TextDecoder("latin1").decode(segment.subarray(4, 15)) ===
        "ICC_PROFILE";
    if (!icc) {
      keep.push(segment);
      size += segment.length;
    }
    i += 2 + length;
  }
  keep.push(jpeg.subarray(i));
  size += jpeg.length - i;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of keep) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
