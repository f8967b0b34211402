/**
 * The pixel size of a PNG, JPEG, GIF or WebP image from its header, without
 * decoding it: what a preflight needs to tell an image's resolution at its
 * printed size.
 *
 * @module
 */

/** Width and height in pixels. */
export interface PixelSize {
  width: number;
  height: number;
}

/**
 * The size `bytes` declare, or undefined for another format (an SVG has
 * none) or a header cut short.
 */
export function imagePixelSize(bytes: Uint8Array): PixelSize | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const b = bytes;
  try {
    if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
      return { width: view.getUint32(16), height: view.getUint32(20) };
    }
    if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) {
      return {
        width: view.getUint16(6, true),
        height: view.getUint16(8, true),
      };
    }
    if (b[0] === 0xff && b[1] === 0xd8) return jpegSize(view);
    if (ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 4) === "WEBP") {
      return webpSize(b, view);
    }
  } catch (error) {
    if (error instanceof RangeError) return undefined; // cut short
    throw error;
  }
  return undefined;
}

/** A JPEG's size: the first start-of-frame marker's. */
function jpegSize(view: DataView): PixelSize | undefined {
  let at = 2;
  while (at + 9 < view.byteLength) {
    if (view.getUint8(at) !== 0xff) return undefined;
    const marker = view.getUint8(at + 1);
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    const length = view.getUint16(at + 2);
    // SOF0–SOF15 but DHT (C4), JPG (C8) and DAC (CC).
    if (
      marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 &&
      marker !== 0xc8 && marker !== 0xcc
    ) {
      return { height: view.getUint16(at + 5), width: view.getUint16(at + 7) };
    }
    at += 2 + length;
  }
  return undefined;
}

/** A WebP's size: lossy (VP8), lossless (VP8L) or extended (VP8X). */
function webpSize(b: Uint8Array, view: DataView): PixelSize | undefined {
  const chunk = ascii(b, 12, 4);
  if (chunk === "VP8 ") {
    return {
      width: view.getUint16(26, true) & 0x3fff,
      height: view.getUint16(28, true) & 0x3fff,
    };
  }
  if (chunk === "VP8L") {
    const bits = view.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8X") {
    const w = b[24]! | (b[25]! << 8) | (b[26]! << 16);
    const h = b[27]! | (b[28]! << 8) | (b[29]! << 16);
    return { width: w + 1, height: h + 1 };
  }
  return undefined;
}

function ascii(b: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...b.subarray(at, at + length));
}
