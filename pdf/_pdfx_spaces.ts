/**
 * Converting colour spaces and shadings: DeviceRGB, CalRGB and ICC-based
 * RGB become DeviceCMYK (DeviceGray inside a luminosity soft mask, by
 * luminosity); Indexed palettes, spot colours' alternates and patterns'
 * underlying spaces are converted inside; a shading gets its colour space
 * and its function converted. Lab, CalGray and CMYK or gray ICC spaces are
 * device-independent and stay.
 *
 * @module
 */
import {
  decodePDFRawStream,
  PDFArray,
  PDFDict,
  PDFHexString,
  PDFName,
  type PDFObject,
  PDFRawStream,
  PDFRef,
  PDFString,
} from "pdf-lib";
import type { CmykTransform } from "./_colour.ts";
import type { SpaceRule } from "./_content_colour.ts";
import { convertFunction } from "./_pdf_functions.ts";
import type { ConvertedImage, ImageLayout } from "./_pdfx_images.ts";
import {
  ConversionError,
  hex,
  type Mode,
  N,
  type Objects,
} from "./_pdfx_objects.ts";

/** What the conversion needs from outside. */
export interface ConversionTools {
  /** DeviceRGB (and CalRGB) to CMYK. */
  deviceRgb: CmykTransform;
  /** RGB in the ICC profile stream `profile` to CMYK, sampled beforehand. */
  iccRgb(profile: PDFRawStream): CmykTransform;
  /** A JPEG image converted beforehand, by its reference. */
  jpeg(ref: PDFRef): ConvertedImage | undefined;
  /** A Flate image converted before (by the key of its bytes), or to convert and keep. */
  flateImage(
    raw: Uint8Array,
    layout: ImageLayout,
    transform: CmykTransform | "gray",
    convert: () => ConvertedImage,
  ): ConvertedImage;
  /** Pure RGB black (0 0 0) in vector art and text becomes 100 % K. */
  blackToK: boolean;
}

/** A colour space, converted: the space to write, how its colours convert, how its pixels do. */
export interface ConvertedSpace {
  space: PDFObject;
  rule: SpaceRule | undefined;
  /** For a 3-component RGB space: the transform of its image pixels. */
  pixels?: CmykTransform | "gray";
}

/** Names of device RGB, as a content stream or an inline image writes it. */
export const DEVICE_RGB = ["DeviceRGB", "RGB"];

/** Colour spaces and shadings of one document, converted once each. */
export class Spaces {
  #objects: Objects;
  #tools: ConversionTools;

  constructor(objects: Objects, tools: ConversionTools) {
    this.#objects = objects;
    this.#tools = tools;
  }

  rgbRule(transform: CmykTransform, mode: Mode): SpaceRule {
    return {
      convert: (values) =>
        this.rgb(
          values[0] ?? 0,
          values[1] ?? 0,
          values[2] ?? 0,
          transform,
          mode,
        ),
    };
  }

  rgb(
    r: number,
    g: number,
    b: number,
    transform: CmykTransform,
    mode: Mode,
  ): number[] {
    if (mode === "gray") return [0.3 * r + 0.59 * g + 0.11 * b];
    if (this.#tools.blackToK && r === 0 && g === 0 && b === 0) {
      return [0, 0, 0, 1];
    }
    const out = [0, 0, 0, 0];
    transform.colour(r, g, b, out);
    return out;
  }

  /** A colour space converted (the same object when nothing changes). */
  space(object: PDFObject, mode: Mode): ConvertedSpace {
    const resolved = this.#objects.source(object);
    if (resolved instanceof PDFName) {
      const name = resolved.decodeText();
      if (DEVICE_RGB.includes(name)) return this.deviceRgbSpace(mode);
      return { space: object, rule: undefined };
    }
    if (!(resolved instanceof PDFArray)) {
      return { space: object, rule: undefined };
    }
    return this.#objects.once(resolved, mode, () => {
      const converted = this.#arraySpace(resolved, mode);
      // A space stored as its own object keeps its number.
      if (
        object instanceof PDFRef && mode === "cmyk" &&
        converted.space !== resolved
      ) {
        this.#objects.assign(object, this.#objects.lookup(converted.space)!);
        return { ...converted, space: object };
      }
      return converted.space === resolved
        ? { ...converted, space: object }
        : converted;
    });
  }

  deviceRgbSpace(mode: Mode): ConvertedSpace {
    const transform = this.#tools.deviceRgb;
    return {
      space: N(mode === "gray" ? "DeviceGray" : "DeviceCMYK"),
      rule: {
        ...this.rgbRule(transform, mode),
        rename: mode === "gray" ? "DeviceGray" : "DeviceCMYK",
      },
      pixels: mode === "gray" ? "gray" : transform,
    };
  }

  #arraySpace(array: PDFArray, mode: Mode): ConvertedSpace {
    const family = this.#objects.name(array.get(0));
    const keep: ConvertedSpace = { space: array, rule: undefined };
    switch (family) {
      case "ICCBased": {
        const profile = this.#objects.lookup(array.get(1));
        if (!(profile instanceof PDFRawStream)) {
          throw new ConversionError("an ICCBased colour space has no profile");
        }
        const n = this.#objects.number(profile.dict.get(N("N")));
        if (n !== 3) return keep;
        const transform = this.#tools.iccRgb(profile);
        return {
          space: N(mode === "gray" ? "DeviceGray" : "DeviceCMYK"),
          rule: this.rgbRule(transform, mode),
          pixels: mode === "gray" ? "gray" : transform,
        };
      }
      case "CalRGB": {
        const converted = this.deviceRgbSpace(mode);
        return { ...converted, rule: { convert: converted.rule!.convert } };
      }
      case "Indexed":
      case "I": {
        const base = this.space(array.get(1)!, mode);
        if (!base.rule) return keep;
        const hival = this.#objects.number(array.get(2)) ?? 0;
        const table = this.#bytesOf(array.get(3));
        const inComponents = 3;
        const outComponents = mode === "gray" ? 1 : 4;
        const out = new Uint8Array((hival + 1) * outComponents);
        for (let i = 0; i <= hival; i++) {
          const values = base.rule.convert(
            Array.from(
              { length: inComponents },
              (_, c) => (table[i * inComponents + c] ?? 0) / 255,
            ),
          );
          for (let c = 0; c < outComponents; c++) {
            out[i * outComponents + c] = Math.round(
              Math.min(1, Math.max(0, values[c] ?? 0)) * 255,
            );
          }
        }
        return {
          space: this.#objects.context.obj([
            N("Indexed"),
            base.space,
            hival,
            PDFHexString.of(hex(out)),
          ]),
          rule: undefined,
        };
      }
      case "Separation":
      case "DeviceN": {
        const alternate = this.space(array.get(2)!, mode);
        if (!alternate.rule) return keep;
        const outputs = mode === "gray" ? 1 : 4;
        const tint = convertFunction(
          this.#objects.context,
          array.get(3)!,
          (values) => alternate.rule!.convert(values),
          outputs,
        );
        const parts = array.asArray().slice();
        parts[2] = alternate.space;
        parts[3] = tint;
        if (family === "DeviceN" && parts[4] !== undefined) {
          const attributes = this.#objects.lookup(parts[4]);
          const process = attributes instanceof PDFDict
            ? this.#objects.lookup(attributes.get(N("Process")))
            : undefined;
          if (process instanceof PDFDict) {
            const space = this.space(process.get(N("ColorSpace"))!, mode);
            if (space.rule) {
              throw new ConversionError(
                "a DeviceN colour space has RGB process colorants",
              );
            }
          }
        }
        return { space: this.#objects.context.obj(parts), rule: undefined };
      }
      case "Pattern": {
        if (array.size() < 2) return keep;
        const base = this.space(array.get(1)!, mode);
        if (!base.rule) return keep;
        return {
          space: this.#objects.context.obj([N("Pattern"), base.space]),
          rule: { convert: base.rule.convert },
        };
      }
      default:
        // Lab, CalGray: device-independent, allowed as they are.
        return keep;
    }
  }

  #bytesOf(object: PDFObject | undefined): Uint8Array {
    const v = this.#objects.lookup(object);
    if (v instanceof PDFHexString || v instanceof PDFString) return v.asBytes();
    if (v instanceof PDFRawStream) return decodePDFRawStream(v).decode();
    return new Uint8Array();
  }

  shading(object: PDFObject, mode: Mode): PDFObject {
    const shading = this.#objects.source(object);
    if (shading === undefined) return object;
    return this.#objects.once(shading, mode, () => {
      const isStream = shading instanceof PDFRawStream;
      const source = isStream ? shading.dict : shading;
      if (!(source instanceof PDFDict)) return object;
      const cs = source.get(N("ColorSpace"));
      if (cs === undefined) return object;
      const converted = this.space(cs, mode);
      if (converted.space === cs) return object;
      const dict = this.#objects.copy(source);
      dict.set(N("ColorSpace"), converted.space);
      const rule = converted.rule;
      if (rule) {
        const outputs = mode === "gray" ? 1 : 4;
        const fn = source.get(N("Function"));
        if (fn !== undefined) {
          dict.set(
            N("Function"),
            convertFunction(
              this.#objects.context,
              fn,
              (v) => rule.convert(v),
              outputs,
            ),
          );
        } else if (isStream) {
          throw new ConversionError(
            "a mesh shading with colours at its vertices cannot be converted",
          );
        }
        const background = this.#objects.lookup(source.get(N("Background")));
        if (background instanceof PDFArray) {
          dict.set(
            N("Background"),
            this.#objects.context.obj(
              rule.convert(
                background.asArray().map((v) => this.#objects.number(v) ?? 0),
              ),
            ),
          );
        }
      }
      const result = isStream ? PDFRawStream.of(dict, shading.contents) : dict;
      if (object instanceof PDFRef) {
        if (mode === "gray") return this.#objects.context.register(result);
        this.#objects.assign(object, result);
        return object;
      }
      return result;
    });
  }
}
