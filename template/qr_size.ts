/**
 * The size of the QR code a value needs, without drawing it: qrcode's own
 * version choice, step for step as `QRCode.create()` makes it (its segments
 * of the value and the smallest version that holds them at the error
 * correction level),
 * at about a seventh of the cost of encoding the symbol.
 *
 * @module
 */
// @ts-types="./qr_internals.d.ts"
import Segments from "qrcode/lib/core/segments.js";
// @ts-types="./qr_internals.d.ts"
import Version from "qrcode/lib/core/version.js";
// @ts-types="./qr_internals.d.ts"
import ECLevel from "qrcode/lib/core/error-correction-level.js";
import type { QrEcc } from "./format.ts";

/** Largest QR code version. */
const MAX_VERSION = 40;

/**
 * Modules on a side of the QR code `text` needs at error correction `ecc`,
 * or undefined if it does not fit the largest (version 40, 177 modules).
 */
export function qrModules(text: string, ecc: QrEcc): number | undefined {
  const level = ECLevel[ecc];
  // As QRCode.create(): a first guess from the raw segments, then the
  // segments optimised for that version, then the smallest that holds them.
  const guess = Version.getBestVersionForData(Segments.rawSplit(text), level);
  const segments = Segments.fromString(text, guess ?? MAX_VERSION);
  const version = Version.getBestVersionForData(segments, level);
  return version === undefined ? undefined : version * 4 + 17;
}
