/**
 * Converting every colour of a parsed PDF to CMYK, in place: content
 * streams, colour spaces, images, shadings and their functions, patterns,
 * soft masks, transparency groups, Type 3 glyphs and annotation
 * appearances. Objects shared by many pages (a background image, fonts, a
 * pattern) are converted once and stay shared.
 *
 * Inside a luminosity soft mask colours become gray instead, by the
 * luminosity the mask measures (0.3 R + 0.59 G + 0.11 B), so the mask lets
 * through what it let through before; such a mask's group is copied when the
 * same form is also drawn as content.
 *
 * Images arrive converted or convert here: JPEGs are converted beforehand
 * with Ghostscript (see `_pdfx_images.ts`) and looked up by reference.
 *
 * @module
 */
import {
  decodePDFRawStream,
  PDFArray,
  PDFBool,
  type PDFContext,
  PDFDict,
  PDFHexString,
  PDFName,
  PDFNumber,
  type PDFObject,
  type PDFPageLeaf,
  PDFRawStream,
  PDFRef,
  PDFString,
} from "pdf-lib";
import { inflateSync } from "node:zlib";
import type { CmykTransform } from "./_colour.ts";
import {
  type ColourMapper,
  format,
  rewriteColours,
  type SpaceRule,
} from "./_content_colour.ts";
import { convertFunction, FunctionError } from "./_pdf_functions.ts";
import {
  type ConvertedImage,
  convertImage,
  deflate,
  ImageError,
  type ImageLayout,
  imageSamples,
} from "./_pdfx_images.ts";

/** Why a document cannot be converted: what, where. */
export class ConversionError extends Error {
  override name = "ConversionError";
}

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

type Mode = "cmyk" | "gray";

/** A colour space, converted: the space to write, how its colours convert, how its pixels do. */
interface ConvertedSpace {
  space: PDFObject;
  rule: SpaceRule | undefined;
  /** For a 3-component RGB space: the transform of its image pixels. */
  pixels?: CmykTransform | "gray";
}

interface Memo {
  value: unknown;
  transparent: boolean;
}

const N = (name: string) => PDFName.of(name);
const DEVICE_RGB = ["DeviceRGB", "RGB"];
const KEEP_NAMES = new Set([
  "DeviceGray",
  "G",
  "DeviceCMYK",
  "CMYK",
  "Pattern",
  "Indexed",
  "I",
]);

/**
 * Converts the colours of one document. Call {@linkcode page} for each
 * page; shared objects are converted the first time a page reaches them.
 */
export class DocumentConverter {
  #context: PDFContext;
  #tools: ConversionTools;
  #memo: Record<Mode, Map<PDFObject, Memo>> = {
    cmyk: new Map(),
    gray: new Map(),
  };
  /** Whether what was converted since the last reset uses transparency. */
  #transparent = false;
  /** Where the conversion is, for messages. */
  #where = "";
  /** Objects replaced in place, as they were: conversions always start from these. */
  #original = new Map<PDFRef, PDFObject>();

  constructor(context: PDFContext, tools: ConversionTools) {
    this.#context = context;
    this.#tools = tools;
  }

  /**
   * Converts one page: its content, resources, group and annotation
   * appearances. Returns whether the page uses transparency (it then gets
   * a page group whose blending space is DeviceCMYK).
   *
   * @throws {ConversionError} Naming the page and the object that cannot be
   * converted.
   */
  page(leaf: PDFPageLeaf, number: number): boolean {
    this.#where = `page ${number}`;
    this.#transparent = false;
    try {
      const resources = leaf.Resources();
      const { rules } = this.#resources(resources, "cmyk", new Map());
      const contents = leaf.Contents();
      const streams = contents instanceof PDFArray
        ? contents.asArray()
        : [leaf.get(N("Contents"))];
      const state = { fill: undefined, stroke: undefined };
      for (const ref of streams) {
        if (!(ref instanceof PDFRef)) continue;
        const stream = this.#source(ref);
        if (!(stream instanceof PDFRawStream)) continue;
        const out = this.#rewrite(stream, rules, "cmyk", state);
        if (out) this.#assign(ref, out);
      }
      const group = this.#lookup(leaf.get(N("Group")));
      if (group instanceof PDFDict) {
        this.#group(group, "cmyk");
        if (this.#isTransparencyGroup(group)) this.#transparent = true;
      }
      const annots = this.#lookup(leaf.get(N("Annots")));
      if (annots instanceof PDFArray) {
        for (const annot of annots.asArray()) this.#annotation(annot, rules);
      }
      if (this.#transparent && !(group instanceof PDFDict)) {
        leaf.set(
          N("Group"),
          this.#context.obj({
            Type: "Group",
            S: "Transparency",
            CS: "DeviceCMYK",
          }),
        );
      }
      return this.#transparent;
    } catch (error) {
      if (
        error instanceof ConversionError || error instanceof ImageError ||
        error instanceof FunctionError || error instanceof SyntaxError
      ) {
        throw new ConversionError(`${this.#where}: ${error.message}`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  #lookup(object: PDFObject | undefined): PDFObject | undefined {
    return object instanceof PDFRef ? this.#context.lookup(object) : object;
  }

  /** An object as it was before any conversion replaced it. */
  #source(object: PDFObject | undefined): PDFObject | undefined {
    if (!(object instanceof PDFRef)) return object;
    return this.#original.get(object) ?? this.#context.lookup(object);
  }

  /** Puts `converted` at `ref`, remembering what was there. */
  #assign(ref: PDFRef, converted: PDFObject): void {
    if (!this.#original.has(ref)) {
      const before = this.#context.lookup(ref);
      if (before !== undefined) this.#original.set(ref, before);
    }
    this.#context.assign(ref, converted);
  }

  #number(object: PDFObject | undefined): number | undefined {
    const v = this.#lookup(object);
    return v instanceof PDFNumber ? v.asNumber() : undefined;
  }

  #name(object: PDFObject | undefined): string | undefined {
    const v = this.#lookup(object);
    return v instanceof PDFName ? v.decodeText() : undefined;
  }

  /** Runs `convert` once per object and mode; repeats its transparency finding. */
  #once<T>(object: PDFObject, mode: Mode, convert: () => T): T {
    const memo = this.#memo[mode];
    const hit = memo.get(object);
    if (hit) {
      if (hit.transparent) this.#transparent = true;
      return hit.value as T;
    }
    const outer = this.#transparent;
    this.#transparent = false;
    // A placeholder against cycles (a form drawing itself).
    memo.set(object, { value: object, transparent: false });
    const value = convert();
    const transparent = this.#transparent;
    memo.set(object, { value, transparent });
    this.#transparent = outer || transparent;
    return value;
  }

  // --- Colours -------------------------------------------------------------

  #rgbRule(transform: CmykTransform, mode: Mode): SpaceRule {
    return {
      convert: (values) =>
        this.#rgb(
          values[0] ?? 0,
          values[1] ?? 0,
          values[2] ?? 0,
          transform,
          mode,
        ),
    };
  }

  #rgb(
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
  #space(object: PDFObject, mode: Mode): ConvertedSpace {
    const resolved = this.#source(object);
    if (resolved instanceof PDFName) {
      const name = resolved.decodeText();
      if (DEVICE_RGB.includes(name)) return this.#deviceRgbSpace(mode);
      return { space: object, rule: undefined };
    }
    if (!(resolved instanceof PDFArray)) {
      return { space: object, rule: undefined };
    }
    return this.#once(resolved, mode, () => {
      const converted = this.#arraySpace(resolved, mode);
      // A space stored as its own object keeps its number.
      if (
        object instanceof PDFRef && mode === "cmyk" &&
        converted.space !== resolved
      ) {
        this.#assign(object, this.#lookup(converted.space)!);
        return { ...converted, space: object };
      }
      return converted.space === resolved
        ? { ...converted, space: object }
        : converted;
    });
  }

  #deviceRgbSpace(mode: Mode): ConvertedSpace {
    const transform = this.#tools.deviceRgb;
    return {
      space: N(mode === "gray" ? "DeviceGray" : "DeviceCMYK"),
      rule: {
        ...this.#rgbRule(transform, mode),
        rename: mode === "gray" ? "DeviceGray" : "DeviceCMYK",
      },
      pixels: mode === "gray" ? "gray" : transform,
    };
  }

  #arraySpace(array: PDFArray, mode: Mode): ConvertedSpace {
    const family = this.#name(array.get(0));
    const keep: ConvertedSpace = { space: array, rule: undefined };
    switch (family) {
      case "ICCBased": {
        const profile = this.#lookup(array.get(1));
        if (!(profile instanceof PDFRawStream)) {
          throw new ConversionError("an ICCBased colour space has no profile");
        }
        const n = this.#number(profile.dict.get(N("N")));
        if (n !== 3) return keep;
        const transform = this.#tools.iccRgb(profile);
        return {
          space: N(mode === "gray" ? "DeviceGray" : "DeviceCMYK"),
          rule: this.#rgbRule(transform, mode),
          pixels: mode === "gray" ? "gray" : transform,
        };
      }
      case "CalRGB": {
        const converted = this.#deviceRgbSpace(mode);
        return { ...converted, rule: { convert: converted.rule!.convert } };
      }
      case "Indexed":
      case "I": {
        const base = this.#space(array.get(1)!, mode);
        if (!base.rule) return keep;
        const hival = this.#number(array.get(2)) ?? 0;
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
          space: this.#context.obj([
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
        const alternate = this.#space(array.get(2)!, mode);
        if (!alternate.rule) return keep;
        const outputs = mode === "gray" ? 1 : 4;
        const tint = convertFunction(
          this.#context,
          array.get(3)!,
          (values) => alternate.rule!.convert(values),
          outputs,
        );
        const parts = array.asArray().slice();
        parts[2] = alternate.space;
        parts[3] = tint;
        if (family === "DeviceN" && parts[4] !== undefined) {
          const attributes = this.#lookup(parts[4]);
          const process = attributes instanceof PDFDict
            ? this.#lookup(attributes.get(N("Process")))
            : undefined;
          if (process instanceof PDFDict) {
            const space = this.#space(process.get(N("ColorSpace"))!, mode);
            if (space.rule) {
              throw new ConversionError(
                "a DeviceN colour space has RGB process colorants",
              );
            }
          }
        }
        return { space: this.#context.obj(parts), rule: undefined };
      }
      case "Pattern": {
        if (array.size() < 2) return keep;
        const base = this.#space(array.get(1)!, mode);
        if (!base.rule) return keep;
        return {
          space: this.#context.obj([N("Pattern"), base.space]),
          rule: { convert: base.rule.convert },
        };
      }
      default:
        // Lab, CalGray: device-independent, allowed as they are.
        return keep;
    }
  }

  #bytesOf(object: PDFObject | undefined): Uint8Array {
    const v = this.#lookup(object);
    if (v instanceof PDFHexString || v instanceof PDFString) return v.asBytes();
    if (v instanceof PDFRawStream) return decodePDFRawStream(v).decode();
    return new Uint8Array();
  }

  // --- Resources -----------------------------------------------------------

  /**
   * Converts a resource dictionary; returns it (a copy in gray mode) and
   * how each named colour space's colours convert. `inherited`: the rules of
   * the resources a form without its own draws with.
   */
  #resources(
    object: PDFObject | undefined,
    mode: Mode,
    inherited: Map<string, SpaceRule | undefined>,
  ): {
    dict: PDFObject | undefined;
    rules: Map<string, SpaceRule | undefined>;
  } {
    const resolved = this.#lookup(object);
    if (!(resolved instanceof PDFDict)) {
      return { dict: object, rules: inherited };
    }
    return this.#once(resolved, mode, () => {
      const rules = new Map<string, SpaceRule | undefined>();
      const dict = mode === "gray"
        ? copyDict(this.#context, resolved)
        : resolved;
      const category = (key: string) => {
        const value = this.#lookup(dict.get(N(key)));
        if (!(value instanceof PDFDict)) return undefined;
        if (mode === "cmyk") return value;
        const copy = copyDict(this.#context, value);
        dict.set(N(key), copy);
        return copy;
      };
      const spaces = category("ColorSpace");
      if (spaces) {
        for (const [key, value] of spaces.entries()) {
          const converted = this.#space(value, mode);
          if (converted.space !== value) spaces.set(key, converted.space);
          rules.set(key.decodeText(), converted.rule);
        }
      }
      const xobjects = category("XObject");
      if (xobjects) {
        for (const [key, value] of xobjects.entries()) {
          const converted = this.#xobject(value, mode, rules);
          if (converted !== value) xobjects.set(key, converted);
        }
      }
      const patterns = category("Pattern");
      if (patterns) {
        for (const [key, value] of patterns.entries()) {
          const converted = this.#pattern(value, mode);
          if (converted !== value) patterns.set(key, converted);
        }
      }
      const shadings = category("Shading");
      if (shadings) {
        for (const [key, value] of shadings.entries()) {
          const converted = this.#shading(value, mode);
          if (converted !== value) shadings.set(key, converted);
        }
      }
      const states = category("ExtGState");
      if (states) {
        for (const [key, value] of states.entries()) {
          const converted = this.#extGState(value, mode);
          if (converted !== value) states.set(key, converted);
        }
      }
      const fonts = category("Font");
      if (fonts) {
        for (const [, value] of fonts.entries()) this.#type3(value, rules);
      }
      return { dict, rules };
    });
  }

  // --- Content streams -----------------------------------------------------

  /** A content stream's colours rewritten: a new stream, or undefined when unchanged. */
  #rewrite(
    stream: PDFRawStream,
    rules: Map<string, SpaceRule | undefined>,
    mode: Mode,
    state = { fill: undefined, stroke: undefined } as {
      fill: SpaceRule | undefined;
      stroke: SpaceRule | undefined;
    },
  ): PDFRawStream | undefined {
    const content = decodeStream(stream);
    const deviceRgb = this.#tools.deviceRgb;
    const mapper: ColourMapper = {
      gray: mode === "gray",
      deviceRgb: (r, g, b) => this.#rgb(r, g, b, deviceRgb, mode),
      space: (name) => {
        if (DEVICE_RGB.includes(name)) return this.#deviceRgbSpace(mode).rule;
        if (KEEP_NAMES.has(name)) return undefined;
        return rules.get(name);
      },
      inlineImage: (dict, data) => this.#inlineImage(dict, data, rules, mode),
    };
    const out = rewriteColours(content, mapper, state);
    if (!out) return undefined;
    const dict = copyDict(this.#context, stream.dict);
    dict.delete(N("DecodeParms"));
    dict.delete(N("Length"));
    dict.set(N("Filter"), N("FlateDecode"));
    return PDFRawStream.of(dict, deflate(out, 3));
  }

  /** An inline image in RGB, converted and written with ASCIIHex data (never mistaken for its end). */
  #inlineImage(
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

  // --- XObjects, patterns, shadings, graphics states -----------------------

  #xobject(
    object: PDFObject,
    mode: Mode,
    rules: Map<string, SpaceRule | undefined>,
  ): PDFObject {
    const stream = this.#source(object);
    if (!(stream instanceof PDFRawStream)) return object;
    const subtype = this.#name(stream.dict.get(N("Subtype")));
    if (subtype === "Image") return this.#image(object, stream, mode);
    if (subtype === "Form") return this.#form(object, stream, mode, rules);
    if (subtype === "PS") {
      throw new ConversionError(
        "a PostScript XObject cannot be in a PDF/X file",
      );
    }
    return object;
  }

  #form(
    object: PDFObject,
    stream: PDFRawStream,
    mode: Mode,
    inherited: Map<string, SpaceRule | undefined>,
  ): PDFObject {
    return this.#once(stream, mode, () => {
      const own = stream.dict.get(N("Resources"));
      const { dict: resources, rules } = this.#resources(own, mode, inherited);
      const rewritten = this.#rewrite(stream, rules, mode);
      const target = rewritten ??
        (mode === "gray"
          ? PDFRawStream.of(
            copyDict(this.#context, stream.dict),
            stream.contents,
          )
          : stream);
      if (mode === "gray" && resources !== undefined) {
        target.dict.set(N("Resources"), resources);
      }
      const group = this.#lookup(target.dict.get(N("Group")));
      if (group instanceof PDFDict) {
        const copy = mode === "gray" ? copyDict(this.#context, group) : group;
        this.#group(copy, mode);
        if (copy !== group) target.dict.set(N("Group"), copy);
        if (this.#isTransparencyGroup(group)) this.#transparent = true;
      }
      return this.#store(object, stream, target, mode);
    });
  }

  /**
   * Where a converted stream goes: over the original's number in CMYK mode,
   * a new object in gray mode. Returns what refers to it.
   */
  #store(
    object: PDFObject,
    original: PDFRawStream,
    converted: PDFRawStream,
    mode: Mode,
  ): PDFObject {
    if (mode === "gray") {
      return converted === original
        ? object
        : this.#context.register(converted);
    }
    if (converted !== original && object instanceof PDFRef) {
      this.#assign(object, converted);
    }
    return object;
  }

  #group(group: PDFDict, mode: Mode): void {
    const cs = group.get(N("CS"));
    if (cs === undefined) return;
    const converted = this.#space(cs, mode);
    if (converted.space !== cs) group.set(N("CS"), converted.space);
  }

  #isTransparencyGroup(group: PDFDict): boolean {
    return this.#name(group.get(N("S"))) === "Transparency";
  }

  #image(object: PDFObject, stream: PDFRawStream, mode: Mode): PDFObject {
    return this.#once(stream, mode, () => {
      const dict = stream.dict;
      if (dict.get(N("SMask")) !== undefined || dict.get(N("SMaskInData"))) {
        this.#transparent = true;
      }
      const mask = this.#lookup(dict.get(N("ImageMask")));
      if (mask instanceof PDFBool && mask.asBoolean()) return object;
      const cs = dict.get(N("ColorSpace"));
      if (cs === undefined) return object; // JPX with its own colour: refused by the report
      const converted = this.#space(cs, mode);
      if (converted.space === cs) return object;
      if (this.#lookup(dict.get(N("Mask"))) instanceof PDFArray) {
        throw new ConversionError(
          "an RGB image has a colour-key mask, which cannot be converted",
        );
      }
      const copy = copyDict(this.#context, dict);
      if (!converted.pixels) {
        // Indexed or spot colours: only the space changes.
        copy.set(N("ColorSpace"), converted.space);
        return this.#store(
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
      if (image.decode) copy.set(N("Decode"), this.#context.obj(image.decode));
      const smask = this.#lookup(dict.get(N("SMask")));
      if (smask instanceof PDFRawStream) {
        const matte = this.#lookup(smask.dict.get(N("Matte")));
        if (matte instanceof PDFArray && converted.rule) {
          const values = matte.asArray().map((v) => this.#number(v) ?? 0);
          smask.dict.set(
            N("Matte"),
            this.#context.obj(converted.rule.convert(values)),
          );
        }
      }
      return this.#store(
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
    const filter = this.#lookup(dict.get(N("Filter")));
    if (filter instanceof PDFName) return [filter.decodeText()];
    if (filter instanceof PDFArray) {
      return filter.asArray().map((f) => this.#name(f) ?? "?");
    }
    return [];
  }

  #layout(dict: PDFDict, filters: string[]): ImageLayout {
    let parms = this.#lookup(dict.get(N("DecodeParms")));
    if (parms instanceof PDFArray) parms = this.#lookup(parms.get(0));
    const decode = this.#lookup(dict.get(N("Decode")));
    const decodeValues = decode instanceof PDFArray
      ? decode.asArray().map((v) => this.#number(v) ?? 0)
      : undefined;
    const plain = !decodeValues ||
      decodeValues.every((v, i) => v === (i % 2 === 0 ? 0 : 1));
    const bits = this.#number(dict.get(N("BitsPerComponent"))) ?? 8;
    const width = this.#number(dict.get(N("Width"))) ?? 0;
    return {
      width,
      height: this.#number(dict.get(N("Height"))) ?? 0,
      components: 3,
      bitsPerComponent: bits,
      filters,
      decode: plain ? undefined : decodeValues,
      predictor: parms instanceof PDFDict
        ? {
          predictor: this.#number(parms.get(N("Predictor"))) ?? 1,
          colors: this.#number(parms.get(N("Colors"))) ?? 1,
          bits: this.#number(parms.get(N("BitsPerComponent"))) ?? 8,
          columns: this.#number(parms.get(N("Columns"))) ?? 1,
        }
        : undefined,
    };
  }

  #pattern(object: PDFObject, mode: Mode): PDFObject {
    const pattern = this.#source(object);
    if (pattern === undefined) return object;
    return this.#once(pattern, mode, () => {
      if (pattern instanceof PDFRawStream) {
        // A tiling pattern: its cell is content.
        const { dict: resources, rules } = this.#resources(
          pattern.dict.get(N("Resources")),
          mode,
          new Map(),
        );
        const paint = this.#number(pattern.dict.get(N("PaintType")));
        const rewritten = paint === 2
          ? undefined
          : this.#rewrite(pattern, rules, mode);
        const target = rewritten ??
          (mode === "gray"
            ? PDFRawStream.of(
              copyDict(this.#context, pattern.dict),
              pattern.contents,
            )
            : pattern);
        if (mode === "gray" && resources !== undefined) {
          target.dict.set(N("Resources"), resources);
        }
        return this.#store(object, pattern, target, mode);
      }
      if (!(pattern instanceof PDFDict)) return object;
      const dict = mode === "gray" ? copyDict(this.#context, pattern) : pattern;
      const shading = dict.get(N("Shading"));
      if (shading !== undefined) {
        const converted = this.#shading(shading, mode);
        if (converted !== shading) dict.set(N("Shading"), converted);
      }
      const state = dict.get(N("ExtGState"));
      if (state !== undefined) {
        const converted = this.#extGState(state, mode);
        if (converted !== state) dict.set(N("ExtGState"), converted);
      }
      if (dict === pattern) return object;
      return object instanceof PDFRef ? this.#context.register(dict) : dict;
    });
  }

  #shading(object: PDFObject, mode: Mode): PDFObject {
    const shading = this.#source(object);
    if (shading === undefined) return object;
    return this.#once(shading, mode, () => {
      const isStream = shading instanceof PDFRawStream;
      const source = isStream ? shading.dict : shading;
      if (!(source instanceof PDFDict)) return object;
      const cs = source.get(N("ColorSpace"));
      if (cs === undefined) return object;
      const converted = this.#space(cs, mode);
      if (converted.space === cs) return object;
      const dict = copyDict(this.#context, source);
      dict.set(N("ColorSpace"), converted.space);
      const rule = converted.rule;
      if (rule) {
        const outputs = mode === "gray" ? 1 : 4;
        const fn = source.get(N("Function"));
        if (fn !== undefined) {
          dict.set(
            N("Function"),
            convertFunction(this.#context, fn, (v) => rule.convert(v), outputs),
          );
        } else if (isStream) {
          throw new ConversionError(
            "a mesh shading with colours at its vertices cannot be converted",
          );
        }
        const background = this.#lookup(source.get(N("Background")));
        if (background instanceof PDFArray) {
          dict.set(
            N("Background"),
            this.#context.obj(
              rule.convert(
                background.asArray().map((v) => this.#number(v) ?? 0),
              ),
            ),
          );
        }
      }
      const result = isStream ? PDFRawStream.of(dict, shading.contents) : dict;
      if (object instanceof PDFRef) {
        if (mode === "gray") return this.#context.register(result);
        this.#assign(object, result);
        return object;
      }
      return result;
    });
  }

  #extGState(object: PDFObject, mode: Mode): PDFObject {
    const state = this.#source(object);
    if (!(state instanceof PDFDict)) return object;
    return this.#once(state, mode, () => {
      for (const key of ["TR", "TR2"]) {
        const tr = this.#name(state.get(N(key)));
        if (
          state.get(N(key)) !== undefined && tr !== "Identity" &&
          tr !== "Default"
        ) {
          throw new ConversionError(
            `a graphics state has a transfer function (/${key}), which PDF/X does not allow`,
          );
        }
      }
      const ca = this.#number(state.get(N("ca")));
      const CA = this.#number(state.get(N("CA")));
      const bm = this.#name(state.get(N("BM")));
      if (
        (ca !== undefined && ca < 1) || (CA !== undefined && CA < 1) ||
        (bm !== undefined && bm !== "Normal" && bm !== "Compatible")
      ) {
        this.#transparent = true;
      }
      const smask = this.#lookup(state.get(N("SMask")));
      if (!(smask instanceof PDFDict)) return object;
      this.#transparent = true;
      const kind = this.#name(smask.get(N("S")));
      const maskMode: Mode = kind === "Luminosity" ? "gray" : mode;
      const form = smask.get(N("G"));
      const converted = form === undefined
        ? undefined
        : this.#xobject(form, maskMode, new Map());
      const backdrop = this.#lookup(smask.get(N("BC")));
      const needsCopy = mode === "gray" || converted !== form ||
        backdrop instanceof PDFArray;
      if (!needsCopy) return object;
      const mask = copyDict(this.#context, smask);
      if (converted !== undefined) mask.set(N("G"), converted);
      if (backdrop instanceof PDFArray && form !== undefined) {
        const group = this.#lookup(
          (this.#lookup(form) as PDFRawStream | undefined)?.dict.get(
            N("Group"),
          ),
        );
        const groupSpace = group instanceof PDFDict
          ? group.get(N("CS"))
          : undefined;
        const space = groupSpace === undefined
          ? undefined
          : this.#space(groupSpace, maskMode);
        if (space?.rule) {
          const values = backdrop.asArray().map((v) => this.#number(v) ?? 0);
          mask.set(N("BC"), this.#context.obj(space.rule.convert(values)));
        }
      }
      if (mode === "cmyk") {
        state.set(N("SMask"), mask);
        return object;
      }
      const copy = copyDict(this.#context, state);
      copy.set(N("SMask"), mask);
      return object instanceof PDFRef ? this.#context.register(copy) : copy;
    });
  }

  /** The glyphs of a Type 3 font are content streams too. */
  #type3(object: PDFObject, rules: Map<string, SpaceRule | undefined>): void {
    const font = this.#source(object);
    if (!(font instanceof PDFDict)) return;
    if (this.#name(font.get(N("Subtype"))) !== "Type3") return;
    this.#once(font, "cmyk", () => {
      const { rules: own } = this.#resources(
        font.get(N("Resources")),
        "cmyk",
        rules,
      );
      const procs = this.#lookup(font.get(N("CharProcs")));
      if (!(procs instanceof PDFDict)) return;
      for (const [, ref] of procs.entries()) {
        const glyph = this.#source(ref);
        if (!(glyph instanceof PDFRawStream) || !(ref instanceof PDFRef)) {
          continue;
        }
        const out = this.#rewrite(glyph, own, "cmyk");
        if (out) this.#assign(ref, out);
      }
    });
  }

  #annotation(
    object: PDFObject,
    rules: Map<string, SpaceRule | undefined>,
  ): void {
    const annot = this.#lookup(object);
    if (!(annot instanceof PDFDict)) return;
    const appearances = this.#lookup(annot.get(N("AP")));
    if (!(appearances instanceof PDFDict)) return;
    for (const [, value] of appearances.entries()) {
      const appearance = this.#lookup(value);
      if (appearance instanceof PDFRawStream) {
        this.#xobject(value, "cmyk", rules);
      } else if (appearance instanceof PDFDict) {
        for (const [, state] of appearance.entries()) {
          this.#xobject(state, "cmyk", rules);
        }
      }
    }
    for (const key of ["C", "IC"]) {
      const colour = this.#lookup(annot.get(N(key)));
      if (colour instanceof PDFArray && colour.size() === 3) {
        const values = colour.asArray().map((v) => this.#number(v) ?? 0);
        annot.set(
          N(key),
          this.#context.obj(
            this.#rgb(
              values[0]!,
              values[1]!,
              values[2]!,
              this.#tools.deviceRgb,
              "cmyk",
            ),
          ),
        );
      }
    }
  }
}

/** A shallow copy of a dictionary. */
function copyDict(context: PDFContext, dict: PDFDict): PDFDict {
  const copy = PDFDict.withContext(context);
  for (const [key, value] of dict.entries()) copy.set(key, value);
  return copy;
}

/** A stream's decoded bytes (Flate natively, other filters through pdf-lib). */
export function decodeStream(stream: PDFRawStream): Uint8Array {
  const filter = stream.dict.get(N("Filter"));
  if (filter === undefined) return stream.contents;
  const name = filter instanceof PDFName
    ? filter.decodeText()
    : filter instanceof PDFArray && filter.size() === 1
    ? (filter.get(0) as PDFName).decodeText?.()
    : undefined;
  if (
    (name === "FlateDecode" || name === "Fl") &&
    stream.dict.get(N("DecodeParms")) === undefined
  ) {
    return new Uint8Array(inflateSync(stream.contents));
  }
  return decodePDFRawStream(stream).decode();
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    out += bytes[i]!.toString(16).padStart(2, "0");
  }
  return out;
}

export { format };
