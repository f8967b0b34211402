/**
 * RGB to CMYK through the output profile, in Deno: Ghostscript (LittleCMS)
 * converts a grid of RGB patches once, and every colour after that is
 * interpolated from the grid (tetrahedral interpolation, as colour engines
 * do). The grid steps by 5 in 8-bit units (52 points a side, 140,608
 * patches), so every 52nd level is Ghostscript's own answer and the rest lie
 * within a unit or two of it.
 *
 * @module
 */
import { join } from "node:path";
import { runGhostscript } from "./_ghostscript.ts";

/** Points a side of the grid: 0, 5, 10, … 255. */
const GRID = 52;
const STEP = 255 / (GRID - 1);

/** An RGB → CMYK transform sampled through Ghostscript. */
export class CmykTransform {
  /** GRID³ × 4 bytes: the CMYK of (r, g, b) at ((r·GRID + g)·GRID + b)·4. */
  readonly #lut: Uint8Array;
  /** Per 8-bit level: the grid cell below it, and how far into it (0–1). */
  readonly #cell = new Int32Array(256);
  readonly #frac = new Float64Array(256);
  readonly #corners = new Int32Array(4);
  readonly #weights = new Float64Array(4);
  /** Colours converted lately: 0xRRGGBB (-1: none) and their packed CMYK. */
  readonly #cacheKeys = new Int32Array(65536).fill(-1);
  readonly #cacheValues = new Uint32Array(65536);

  constructor(lut: Uint8Array) {
    if (lut.length !== GRID * GRID * GRID * 4) {
      throw new RangeError(`A transform takes ${GRID ** 3 * 4} bytes`);
    }
    this.#lut = lut;
    for (let v = 0; v < 256; v++) {
      const cell = Math.min(GRID - 2, Math.floor(v / STEP));
      this.#cell[v] = cell;
      this.#frac[v] = v / STEP - cell;
    }
  }

  /**
   * A transform whose grid points are `convert` of their RGB (0–255 each,
   * CMYK 0–255 back): for tests, and for transforms known in closed form.
   */
  static fromFunction(
    convert: (r: number, g: number, b: number) => number[],
  ): CmykTransform {
    const lut = new Uint8Array(GRID * GRID * GRID * 4);
    for (let r = 0, o = 0; r < GRID; r++) {
      for (let g = 0; g < GRID; g++) {
        for (let b = 0; b < GRID; b++, o += 4) {
          const cmyk = convert(
            Math.round(r * STEP),
            Math.round(g * STEP),
            Math.round(b * STEP),
          );
          for (let c = 0; c < 4; c++) lut[o + c] = cmyk[c] ?? 0;
        }
      }
    }
    return new CmykTransform(lut);
  }

  /**
   * The CMYK (0–1) of an RGB colour (0–1), into `out` at `offset`.
   */
  colour(
    r: number,
    g: number,
    b: number,
    out: number[] | Float64Array,
    offset = 0,
  ): void {
    const x = clamp01(r) * (GRID - 1);
    const y = clamp01(g) * (GRID - 1);
    const z = clamp01(b) * (GRID - 1);
    const i = Math.min(GRID - 2, Math.floor(x));
    const j = Math.min(GRID - 2, Math.floor(y));
    const k = Math.min(GRID - 2, Math.floor(z));
    const w = this.#weights;
    this.#tetrahedron(((i * GRID + j) * GRID + k) * 4, x - i, y - j, z - k);
    const lut = this.#lut;
    const [a, b2, c, d] = this.#corners;
    for (let ch = 0; ch < 4; ch++) {
      out[offset + ch] = (w[0]! * lut[a! + ch]! + w[1]! * lut[b2! + ch]! +
        w[2]! * lut[c! + ch]! + w[3]! * lut[d! + ch]!) / 255;
    }
  }

  /**
   * Converts `count` 8-bit RGB pixels (`rgb`, 3 bytes each) to 8-bit CMYK
   * (`cmyk`, 4 bytes each). A run of one colour costs one lookup, and the
   * last 65,536 colours met are remembered (pages have few: flat areas,
   * antialiased edges).
   */
  pixels(rgb: Uint8Array, cmyk: Uint8Array, count: number): void {
    const keys = this.#cacheKeys;
    const values = this.#cacheValues;
    const aligned = cmyk.byteOffset % 4 === 0;
    const out32 = aligned
      ? new Uint32Array(cmyk.buffer, cmyk.byteOffset, count)
      : undefined;
    let last = -1;
    let packed = 0;
    for (let p = 0, q = 0; p < count; p++, q += 3) {
      const key = (rgb[q]! << 16) | (rgb[q + 1]! << 8) | rgb[q + 2]!;
      if (key !== last) {
        last = key;
        const slot = Math.imul(key, 0x9e3779b1) >>> 16;
        if (keys[slot] === key) packed = values[slot]!;
        else {
          packed = this.#convert(key);
          keys[slot] = key;
          values[slot] = packed;
        }
      }
      if (out32) out32[p] = packed;
      else {
        const o = p * 4;
        cmyk[o] = packed & 0xff;
        cmyk[o + 1] = (packed >>> 8) & 0xff;
        cmyk[o + 2] = (packed >>> 16) & 0xff;
        cmyk[o + 3] = packed >>> 24;
      }
    }
  }

  /** One 0xRRGGBB colour to CMYK packed as bytes C, M, Y, K (little-endian). */
  #convert(key: number): number {
    const r = key >>> 16, g = (key >>> 8) & 0xff, b = key & 0xff;
    const lut = this.#lut;
    const w = this.#weights;
    const corners = this.#corners;
    this.#tetrahedron(
      ((this.#cell[r]! * GRID + this.#cell[g]!) * GRID + this.#cell[b]!) * 4,
      this.#frac[r]!,
      this.#frac[g]!,
      this.#frac[b]!,
    );
    const w0 = w[0]!, w1 = w[1]!, w2 = w[2]!, w3 = w[3]!;
    const a = corners[0]!, bb = corners[1]!, c = corners[2]!, d = corners[3]!;
    let packed = 0;
    for (let ch = 3; ch >= 0; ch--) {
      // + 0.5 | 0: round, the weights being ≥ 0 and summing to 1.
      const v = (w0 * lut[a + ch]! + w1 * lut[bb + ch]! + w2 * lut[c + ch]! +
        w3 * lut[d + ch]! + 0.5) | 0;
      packed = (packed << 8) | v;
    }
    return packed >>> 0;
  }

  /**
   * Tetrahedral interpolation in the cell whose corner (0,0,0) sits at
   * `base`, at (fx, fy, fz) inside it: the four corners of the tetrahedron
   * holding the point, and their weights, into `#corners` and `#weights`.
   */
  #tetrahedron(base: number, fx: number, fy: number, fz: number): void {
    const dr = GRID * GRID * 4, dg = GRID * 4, db = 4;
    const corners = this.#corners;
    const w = this.#weights;
    // Axes by decreasing fraction: first d1 (f1), then d2 (f2), last f3.
    let d1 = dr, d2 = dg, f1 = fx, f2 = fy, f3 = fz;
    if (fx >= fy) {
      if (fy >= fz) { /* x ≥ y ≥ z: as set */ }
      else if (fx >= fz) {
        d2 = db;
        f2 = fz;
        f3 = fy;
      } else {
        d1 = db;
        d2 = dr;
        f1 = fz;
        f2 = fx;
        f3 = fy;
      }
    } else if (fz >= fy) {
      d1 = db;
      d2 = dg;
      f1 = fz;
      f2 = fy;
      f3 = fx;
    } else if (fz >= fx) {
      d1 = dg;
      d2 = db;
      f1 = fy;
      f2 = fz;
      f3 = fx;
    } else {
      d1 = dg;
      d2 = dr;
      f1 = fy;
      f2 = fx;
      f3 = fz;
    }
    corners[0] = base;
    corners[1] = base + d1;
    corners[2] = base + d1 + d2;
    corners[3] = base + dr + dg + db;
    w[0] = 1 - f1;
    w[1] = f1 - f2;
    w[2] = f2 - f3;
    w[3] = f3;
  }
}

function clamp01(v: number): number {
  return v <= 0 ? 0 : v >= 1 ? 1 : Number.isFinite(v) ? v : 0;
}

/** Options for {@linkcode sampleTransform}. */
export interface SampleOptions {
  /** The Ghostscript executable. */
  ghostscript: string;
  /** A folder for Ghostscript's files. */
  dir: string;
  /** The CMYK output profile, a file Ghostscript can read. */
  profilePath: string;
  /**
   * The ICC profile the RGB values are in (an image's ICCBased space);
   * none for DeviceRGB, which Ghostscript takes as sRGB.
   */
  source?: Uint8Array;
  signal?: AbortSignal;
}

/**
 * Converts the grid with Ghostscript: one RGB image of every grid point,
 * drawn pixel for pixel by the `bitcmyk` device at 8 bits a channel through
 * `profilePath`; ≈ 0.1–0.3 s.
 */
export async function sampleTransform(
  options: SampleOptions,
): Promise<CmykTransform> {
  const { dir, source } = options;
  const width = GRID * GRID, height = GRID;
  const pixels = new Uint8Array(width * height * 3);
  for (let r = 0, o = 0; r < GRID; r++) {
    for (let g = 0; g < GRID; g++) {
      for (let b = 0; b < GRID; b++, o += 3) {
        pixels[o] = Math.round(r * STEP);
        pixels[o + 1] = Math.round(g * STEP);
        pixels[o + 2] = Math.round(b * STEP);
      }
    }
  }
  const name = crypto.randomUUID();
  const input = join(dir, `${name}.pdf`);
  const output = join(dir, `${name}.cmyk`);
  await Deno.writeFile(
    input,
    imagePagePdf({
      width,
      height,
      colourSpace: source ? "[/ICCBased 5 0 R]" : "/DeviceRGB",
      data: pixels,
      profile: source,
    }),
  );
  try {
    await runGhostscript(options.ghostscript, [
      "-sDEVICE=bitcmyk",
      "-dGrayValues=256",
      "-r72",
      "-dInterpolateControl=0",
      `-sOutputICCProfile=${options.profilePath}`,
      `-sOutputFile=${output}`,
      input,
    ], options.signal);
    const cmyk = await Deno.readFile(output);
    if (cmyk.length !== width * height * 4) {
      throw new Error(
        `Ghostscript wrote ${cmyk.length} bytes of CMYK samples, expected ${
          width * height * 4
        }`,
      );
    }
    // Rows are r, columns g·GRID + b: the same order as the grid.
    return new CmykTransform(cmyk);
  } finally {
    await Deno.remove(input).catch(() => {});
    await Deno.remove(output).catch(() => {});
  }
}

/**
 * A one-page PDF of one uncompressed image drawn pixel for pixel at 72 dpi
 * (object 5 holds `profile` when given).
 */
export function imagePagePdf(image: {
  width: number;
  height: number;
  colourSpace: string;
  data: Uint8Array;
  profile?: Uint8Array;
}): Uint8Array {
  const { width, height, data, profile } = image;
  const content = `q ${width} 0 0 ${height} 0 0 cm /I Do Q`;
  const parts: (string | Uint8Array)[] = [];
  const offsets: number[] = [];
  let size = 0;
  const add = (part: string | Uint8Array) => {
    parts.push(part);
    size += typeof part === "string" ? part.length : part.length;
  };
  const object = (n: number, ...body: (string | Uint8Array)[]) => {
    offsets[n] = size;
    add(`${n} 0 obj\n`);
    for (const part of body) add(part);
    add("\nendobj\n");
  };
  add("%PDF-1.4\n");
  object(1, "<</Type/Catalog/Pages 2 0 R>>");
  object(2, "<</Type/Pages/Kids[3 0 R]/Count 1>>");
  object(
    3,
    `<</Type/Page/Parent 2 0 R/MediaBox[0 0 ${width} ${height}]/Resources<</XObject<</I 4 0 R>>>>/Contents 6 0 R>>`,
  );
  object(
    4,
    `<</Type/XObject/Subtype/Image/Width ${width}/Height ${height}/ColorSpace${image.colourSpace}/BitsPerComponent 8/Length ${data.length}>>stream\n`,
    data,
    "\nendstream",
  );
  const last = 6;
  if (profile) {
    object(
      5,
      `<</N 3/Length ${profile.length}>>stream\n`,
      profile,
      "\nendstream",
    );
  } else {
    object(5, "null");
  }
  object(6, `<</Length ${content.length}>>stream\n${content}\nendstream`);
  const xref = size;
  add(`xref\n0 ${last + 1}\n0000000000 65535 f \n`);
  for (let n = 1; n <= last; n++) {
    add(`${String(offsets[n]).padStart(10, "0")} 00000 n \n`);
  }
  add(`trailer\n<</Size ${last + 1}/Root 1 0 R>>\nstartxref\n${xref}\n%%EOF\n`);
  const bytes = new Uint8Array(size);
  const encoder = new TextEncoder();
  let at = 0;
  for (const part of parts) {
    const chunk = typeof part === "string" ? encoder.encode(part) : part;
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}
