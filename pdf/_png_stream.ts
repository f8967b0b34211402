/**
 * Reads the chunks of a PNG file so its compressed pixel data can go into a
 * PDF unchanged.
 *
 * PNG's IDAT data is a zlib stream of scanlines, each prefixed by a filter
 * byte. A PDF reader decodes exactly that with `/FlateDecode` and
 * `/DecodeParms << /Predictor 15 … >>`, so nothing has to be decoded or
 * re-deflated in JavaScript. That only works for non-interlaced PNGs without
 * an alpha channel; everything else is rejected with a TypeError.
 *
 * Chunk CRCs are not verified (the bytes come from our own renderer and the
 * check would cost a pass over every byte); truncation and malformed chunk
 * structure are detected.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/** The parts of a PNG a PDF image XObject needs. */
export interface PngStream {
  width: number;
  height: number;
  /** Always 8: other depths are rejected. */
  bitDepth: 8;
  /** 0 (greyscale) or 2 (RGB). */
  colorType: 0 | 2;
  /** Colour components per pixel: 1 for greyscale, 3 for RGB. */
  channels: 1 | 3;
  /** The zlib stream: all IDAT chunk data, concatenated in file order. */
  data: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const IHDR = 0x49484452;
const IDAT = 0x49444154;
const IEND = 0x49454e44;
/** The chunk header (length + type) and the trailing CRC. */
const CHUNK_OVERHEAD = 12;

/** Returns true if `bytes` starts with the PNG signature. */
function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= SIGNATURE.length &&
    SIGNATURE.every((byte, i) => bytes[i] === byte);
}

/**
 * Parses the PNG in `bytes` without decompressing it.
 *
 * @throws {TypeError} If the bytes are not a complete PNG, or the PNG has an
 * alpha channel, a palette, interlacing or a bit depth other than 8.
 */
export function parsePng(bytes: Uint8Array): PngStream {
  if (!isPng(bytes)) {
    throw new TypeError("Cannot read PNG: the PNG signature is missing");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Uint8Array[] = [];
  let header: Omit<PngStream, "data"> | undefined;
  let offset = SIGNATURE.length;
  let ended = false;

  while (!ended) {
    if (offset + CHUNK_OVERHEAD > bytes.length) {
      throw new TypeError(
        `Cannot read PNG: the data ends at byte ${bytes.length} before the IEND chunk (truncated file?)`,
      );
    }
    const length = view.getUint32(offset);
    const type = view.getUint32(offset + 4);
    const start = offset + 8;
    const end = start + length;
    if (end + 4 > bytes.length) {
      throw new TypeError(
        `Cannot read PNG: chunk "${
          chunkName(type)
        }" at byte ${offset} runs past the end of the data (truncated file?)`,
      );
    }
    if (header === undefined && type !== IHDR) {
      throw new TypeError(
        `Cannot read PNG: the first chunk is "${chunkName(type)}", not "IHDR"`,
      );
    }
    if (type === IHDR) header = readHeader(view, start, length);
    else if (type === IDAT) idat.push(bytes.subarray(start, end));
    else if (type === IEND) ended = true;
    offset = end + 4;
  }

  if (header === undefined || idat.length === 0) {
    throw new TypeError("Cannot read PNG: it has no IDAT chunk");
  }
  return { ...header, data: concat(idat) };
}

function readHeader(
  view: DataView,
  start: number,
  length: number,
): Omit<PngStream, "data"> {
  if (length !== 13) {
    throw new TypeError(
      `Cannot read PNG: the IHDR chunk is ${length} bytes long, not 13`,
    );
  }
  const width = view.getUint32(start);
  const height = view.getUint32(start + 4);
  const bitDepth = view.getUint8(start + 8);
  const colorType = view.getUint8(start + 9);
  const interlace = view.getUint8(start + 12);
  if (width === 0 || height === 0) {
    throw new TypeError(`Cannot read PNG: its size is ${width}×${height}`);
  }
  if (colorType === 4 || colorType === 6) {
    throw new TypeError(
      `PNG with alpha (colour type ${colorType}) cannot be embedded without re-encoding; render with an opaque canvas`,
    );
  }
  if (colorType !== 0 && colorType !== 2) {
    throw new TypeError(
      `PNG colour type ${colorType} (palette or unknown) cannot be embedded without re-encoding; use RGB or greyscale`,
    );
  }
  if (bitDepth !== 8) {
    throw new TypeError(
      `PNG bit depth ${bitDepth} cannot be embedded without re-encoding; use 8 bits per channel`,
    );
  }
  if (interlace !== 0) {
    throw new TypeError(
      "Interlaced PNG cannot be embedded without re-encoding; render without interlacing",
    );
  }
  return {
    width,
    height,
    bitDepth,
    colorType,
    channels: colorType === 0 ? 1 : 3,
  };
}

/** Joins the IDAT chunks; a single chunk is returned as a view, not copied. */
function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  return Buffer.concat(parts);
}

function chunkName(type: number): string {
  return String.fromCharCode(
    (type >>> 24) & 0xff,
    (type >>> 16) & 0xff,
    (type >>> 8) & 0xff,
    type & 0xff,
  );
}
