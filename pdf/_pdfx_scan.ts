/**
 * What a document needs from Ghostscript before its pages are converted:
 * its JPEG images in RGB (with the key their conversion is cached by) and
 * the ICC profiles of its RGB spaces (each needs its own sampled
 * transform). Everything else converts in Deno as the pages are walked.
 *
 * @module
 */
import { createHash } from "node:crypto";
import {
  PDFArray,
  PDFDict,
  type PDFDocument,
  PDFName,
  PDFNumber,
  type PDFObject,
  PDFRawStream,
  PDFRef,
} from "pdf-lib";
import type { JpegJob } from "./_pdfx_images.ts";
import { decodeStream } from "./_pdfx_objects.ts";

/** A JPEG image to convert: its reference, cache key and Ghostscript job. */
export interface JpegWork {
  ref: PDFRef;
  key: string;
  job: JpegJob;
}

/** An ICC profile of an RGB space, and the hash its transform is kept by. */
export interface ProfileWork {
  hash: string;
  stream: PDFRawStream;
}

/** Finds the JPEG images in RGB and the RGB ICC profiles of `doc`. */
export function scanDocument(
  doc: PDFDocument,
): { jpegs: JpegWork[]; profiles: ProfileWork[] } {
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
  const jpegs: JpegWork[] = [];
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
