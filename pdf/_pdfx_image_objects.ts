/**
 * Converting image XObjects and inline images: an RGB image gets its
 * pixels converted (JPEGs beforehand by Ghostscript, looked up by
 * reference; others here, cached by content), an Indexed or spot-colour
 * image only its colour space; a soft mask's /Matte follows its image.
 *
 * @module
 */
import {
  PDFArray,
  PDFBool,
  PDFDict,
  PDFName,
  PDFNumber,
  type PDFObject,
  PDFRawStream,
  PDFRef,
} from "pdf-lib";
import type { CmykTransform } from "./_colour.ts";
import type { SpaceRule } from "./_content_colour.ts";
import {
  type ConvertedImage,
  convertImage,
  type ImageLayout,
  imageSamples,
} from "./_pdfx_images.ts";
import {
  ConversionError,
  hex,
  type Mode,
  N,
  type Objects,
} from "./_pdfx_objects.ts";
import type { ConversionTools, Spaces } from "./_pdfx_spaces.ts";

/** The images of one document, converted once each. */
export class Images {
  #objects: Objects;
  #spaces: Spaces;
  #tools: ConversionTools;

  constructor(objects: Objects, spaces: Spaces, tools: ConversionTools) {
    this.#objects = objects;
    this.#spaces = spaces;
    this.#tools = tools;
  }

  image(object: PDFObject, stream: PDFRawStream, mode: Mode): PDFObject {
    return this.#objects.once(stream, mode, () => {
      const dict = stream.dict;
      if (dict.get(N("SMask")) !== undefined || dict.get(N("SMaskInData"))) {
        this.#objects.transparent = true;
      }
      const mask = this.#objects.lookup(dict.get(N("ImageMask")));
      if (mask instanceof PDFBool && mask.asBoolean()) return object;
      const cs = dict.get(N("ColorSpace"));
      if (cs === undefined) return object; // JPX with its own colour: refused by the report
      const converted = this.#spaces.space(cs, mode);
      if (converted.space === cs) return object;
      if (this.#objects.lookup(dict.get(N("Mask"))) instanceof PDFArray) {
        throw new ConversionError(
          "an RGB image has a colour-key mask, which cannot be converted",
        );
      }
      const copy = this.#objects.copy(dict);
      if (!converted.pixels) {
        // Indexed or spot colours: only the space changes.
        copy.set(N("ColorSpace"), converted.space);
        return this.#objects.store(
          object,
          stream,
          PDFRawStream.of(copy, stream.contents),
          mode,
        );
      }
      const image = this.#pixels(object, stream, converted.pixels);
      // (Chromium puts a JPEG's /ColorTransform in the image dictionary.)
      for (
        const key of [
          "Filter",
          "DecodeParms",
          "Decode",
          "Length",
          "ColorTransform",
        ]
      ) {
        copy.delete(N(key));
      }
      copy.set(N("ColorSpace"), N(image.colourSpace));
      copy.set(N("BitsPerComponent"), PDFNumber.of(8));
      copy.set(N("Filter"), N(image.filter));
      if (image.decode) {
        copy.set(N("Decode"), this.#objects.context.obj(image.decode));
      }
      const smask = this.#objects.lookup(dict.get(N("SMask")));
      if (smask instanceof PDFRawStream) {
        const matte = this.#objects.lookup(smask.dict.get(N("Matte")));
        if (matte instanceof PDFArray && converted.rule) {
          const values = matte.asArray().map((v) =>
            this.#objects.number(v) ?? 0
          );
          smask.dict.set(
            N("Matte"),
            this.#objects.context.obj(converted.rule.convert(values)),
          );
        }
      }
      return this.#objects.store(
        object,
        stream,
        PDFRawStream.of(copy, image.data),
        mode,
      );
    });
  }

  #pixels(
    object: PDFObject,
    stream: PDFRawStream,
    transform: CmykTransform | "gray",
  ): ConvertedImage {
    const dict = stream.dict;
    const filters = this.#filters(dict);
    if (filters.includes("DCTDecode") || filters.includes("DCT")) {
      if (transform === "gray") {
        throw new ConversionError(
          "a JPEG image inside a luminosity soft mask cannot be converted",
        );
      }
      const converted = object instanceof PDFRef
        ? this.#tools.jpeg(object)
        : undefined;
      if (!converted) {
        throw new ConversionError("a JPEG image was not converted beforehand");
      }
      return converted;
    }
    const layout = this.#layout(dict, filters);
    return this.#tools.flateImage(
      stream.contents,
      layout,
      transform,
      () => convertImage(stream.contents, layout, transform),
    );
  }

  #filters(dict: PDFDict): string[] {
    const filter = this.#objects.lookup(dict.get(N("Filter")));
    if (filter instanceof PDFName) return [filter.decodeText()];
    if (filter instanceof PDFArray) {
      return filter.asArray().map((f) => this.#objects.name(f) ?? "?");
    }
    return [];
  }

  #layout(dict: PDFDict, filters: string[]): ImageLayout {
    let parms = this.#objects.lookup(dict.get(N("DecodeParms")));
    if (parms instanceof PDFArray) parms = this.#objects.lookup(parms.get(0));
    const decode = this.#objects.lookup(dict.get(N("Decode")));
    const decodeValues = decode instanceof PDFArray
      ? decode.asArray().map((v) => this.#objects.number(v) ?? 0)
      : undefined;
    const plain = !decodeValues ||
      decodeValues.every((v, i) => v === (i % 2 === 0 ? 0 : 1));
    const bits = this.#objects.number(dict.get(N("BitsPerComponent"))) ?? 8;
    const width = this.#objects.number(dict.get(N("Width"))) ?? 0;
    return {
      width,
      height: this.#objects.number(dict.get(N("Height"))) ?? 0,
      components: 3,
      bitsPerComponent: bits,
      filters,
      decode: plain ? undefined : decodeValues,
      predictor: parms instanceof PDFDict
        ? {
          predictor: this.#objects.number(parms.get(N("Predictor"))) ?? 1,
          colors: this.#objects.number(parms.get(N("Colors"))) ?? 1,
          bits: this.#objects.number(parms.get(N("BitsPerComponent"))) ?? 8,
          columns: this.#objects.number(parms.get(N("Columns"))) ?? 1,
        }
        : undefined,
    };
  }

  /** An inline image in RGB, converted and written with ASCIIHex data (never mistaken for its end). */
  inline(
    dict: string,
    data: Uint8Array,
    rules: Map<string, SpaceRule | undefined>,
    mode: Mode,
  ): string | undefined {
    const entry = (keys: string[]) => {
      for (const key of keys) {
        const match = new RegExp(
          `/${key}\\s*(/[^\\s/\\[<(]+|\\[[^\\]]*\\]|[\\d.]+|true|false)`,
        )
          .exec(dict);
        if (match) return match[1]!;
      }
      return undefined;
    };
    const space = entry(["ColorSpace", "CS"]);
    if (entry(["ImageMask", "IM"]) === "true" || space === undefined) {
      return undefined;
    }
    let transform: CmykTransform | "gray" | undefined;
    if (space === "/RGB" || space === "/DeviceRGB") {
      transform = mode === "gray" ? "gray" : this.#tools.deviceRgb;
    } else if (space.startsWith("/")) {
      const rule = rules.get(space.slice(1));
      if (rule) {
        throw new ConversionError(
          `an inline image in colour space ${space} cannot be converted`,
        );
      }
    } else if (/RGB/.test(space)) {
      throw new ConversionError(
        `an inline image in colour space ${space} cannot be converted`,
      );
    }
    if (!transform) return undefined;
    const width = Number(entry(["Width", "W"]));
    const height = Number(entry(["Height", "H"]));
    const bits = Number(entry(["BitsPerComponent", "BPC"]) ?? 8);
    const filter = entry(["Filter", "F"]);
    const filters = filter === undefined
      ? []
      : filter.replace(/[[\]]/g, " ").trim().split(/\s+/).map((f) =>
        f.replace(/^\//, "")
      );
    if (filters.some((f) => f !== "FlateDecode" && f !== "Fl")) {
      throw new ConversionError(
        `an inline RGB image compressed with ${filter} cannot be converted`,
      );
    }
    if (entry(["DecodeParms", "DP"]) !== undefined) {
      throw new ConversionError("an inline RGB image has /DecodeParms");
    }
    const rgb = imageSamples(data, {
      width,
      height,
      components: 3,
      bitsPerComponent: bits,
      filters,
    });
    const count = width * height;
    let samples: Uint8Array;
    if (transform === "gray") {
      samples = new Uint8Array(count);
      for (let p = 0; p < count; p++) {
        samples[p] = Math.round(
          0.3 * rgb[p * 3]! + 0.59 * rgb[p * 3 + 1]! + 0.11 * rgb[p * 3 + 2]!,
        );
      }
    } else {
      samples = new Uint8Array(count * 4);
      transform.pixels(rgb, samples, count);
    }
    const cs = transform === "gray" ? "/G" : "/CMYK";
    return `BI /W ${width} /H ${height} /BPC 8 /CS ${cs} /F /AHx ID\n${
      hex(samples)
    }>\nEI`;
  }
}
