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
  PDFArray,
  type PDFContext,
  PDFDict,
  type PDFObject,
  type PDFPageLeaf,
  PDFRawStream,
  PDFRef,
} from "pdf-lib";
import {
  type ColourMapper,
  rewriteColours,
  type SpaceRule,
} from "./_content_colour.ts";
import { FunctionError } from "./_pdf_functions.ts";
import { deflate, ImageError } from "./_pdfx_images.ts";
import { Images } from "./_pdfx_image_objects.ts";
import {
  ConversionError,
  decodeStream,
  type Mode,
  N,
  Objects,
} from "./_pdfx_objects.ts";
import { type ConversionTools, DEVICE_RGB, Spaces } from "./_pdfx_spaces.ts";

export { ConversionError, type ConversionTools };

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
  #objects: Objects;
  #spaces: Spaces;
  #images: Images;
  #tools: ConversionTools;
  /** Where the conversion is, for messages. */
  #where = "";

  constructor(context: PDFContext, tools: ConversionTools) {
    this.#objects = new Objects(context);
    this.#spaces = new Spaces(this.#objects, tools);
    this.#images = new Images(this.#objects, this.#spaces, tools);
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
    this.#objects.transparent = false;
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
        const stream = this.#objects.source(ref);
        if (!(stream instanceof PDFRawStream)) continue;
        const out = this.#rewrite(stream, rules, "cmyk", state);
        if (out) this.#objects.assign(ref, out);
      }
      const group = this.#objects.lookup(leaf.get(N("Group")));
      if (group instanceof PDFDict) {
        this.#group(group, "cmyk");
        if (this.#isTransparencyGroup(group)) this.#objects.transparent = true;
      }
      const annots = this.#objects.lookup(leaf.get(N("Annots")));
      if (annots instanceof PDFArray) {
        for (const annot of annots.asArray()) this.#annotation(annot, rules);
      }
      if (this.#objects.transparent && !(group instanceof PDFDict)) {
        leaf.set(
          N("Group"),
          this.#objects.context.obj({
            Type: "Group",
            S: "Transparency",
            CS: "DeviceCMYK",
          }),
        );
      }
      return this.#objects.transparent;
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
    const resolved = this.#objects.lookup(object);
    if (!(resolved instanceof PDFDict)) {
      return { dict: object, rules: inherited };
    }
    return this.#objects.once(resolved, mode, () => {
      const rules = new Map<string, SpaceRule | undefined>();
      const dict = mode === "gray" ? this.#objects.copy(resolved) : resolved;
      const category = (key: string) => {
        const value = this.#objects.lookup(dict.get(N(key)));
        if (!(value instanceof PDFDict)) return undefined;
        if (mode === "cmyk") return value;
        const copy = this.#objects.copy(value);
        dict.set(N(key), copy);
        return copy;
      };
      const spaces = category("ColorSpace");
      if (spaces) {
        for (const [key, value] of spaces.entries()) {
          const converted = this.#spaces.space(value, mode);
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
          const converted = this.#spaces.shading(value, mode);
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
      deviceRgb: (r, g, b) => this.#spaces.rgb(r, g, b, deviceRgb, mode),
      space: (name) => {
        if (DEVICE_RGB.includes(name)) {
          return this.#spaces.deviceRgbSpace(mode).rule;
        }
        if (KEEP_NAMES.has(name)) return undefined;
        return rules.get(name);
      },
      inlineImage: (dict, data) => this.#images.inline(dict, data, rules, mode),
    };
    const out = rewriteColours(content, mapper, state);
    if (!out) return undefined;
    const dict = this.#objects.copy(stream.dict);
    dict.delete(N("DecodeParms"));
    dict.delete(N("Length"));
    dict.set(N("Filter"), N("FlateDecode"));
    return PDFRawStream.of(dict, deflate(out, 3));
  }

  // --- XObjects, patterns, shadings, graphics states -----------------------

  #xobject(
    object: PDFObject,
    mode: Mode,
    rules: Map<string, SpaceRule | undefined>,
  ): PDFObject {
    const stream = this.#objects.source(object);
    if (!(stream instanceof PDFRawStream)) return object;
    const subtype = this.#objects.name(stream.dict.get(N("Subtype")));
    if (subtype === "Image") return this.#images.image(object, stream, mode);
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
    return this.#objects.once(stream, mode, () => {
      const own = stream.dict.get(N("Resources"));
      const { dict: resources, rules } = this.#resources(own, mode, inherited);
      const rewritten = this.#rewrite(stream, rules, mode);
      const target = rewritten ??
        (mode === "gray"
          ? PDFRawStream.of(
            this.#objects.copy(stream.dict),
            stream.contents,
          )
          : stream);
      if (mode === "gray" && resources !== undefined) {
        target.dict.set(N("Resources"), resources);
      }
      const group = this.#objects.lookup(target.dict.get(N("Group")));
      if (group instanceof PDFDict) {
        const copy = mode === "gray" ? this.#objects.copy(group) : group;
        this.#group(copy, mode);
        if (copy !== group) target.dict.set(N("Group"), copy);
        if (this.#isTransparencyGroup(group)) this.#objects.transparent = true;
      }
      return this.#objects.store(object, stream, target, mode);
    });
  }

  #group(group: PDFDict, mode: Mode): void {
    const cs = group.get(N("CS"));
    if (cs === undefined) return;
    const converted = this.#spaces.space(cs, mode);
    if (converted.space !== cs) group.set(N("CS"), converted.space);
  }

  #isTransparencyGroup(group: PDFDict): boolean {
    return this.#objects.name(group.get(N("S"))) === "Transparency";
  }

  #pattern(object: PDFObject, mode: Mode): PDFObject {
    const pattern = this.#objects.source(object);
    if (pattern === undefined) return object;
    return this.#objects.once(pattern, mode, () => {
      if (pattern instanceof PDFRawStream) {
        // A tiling pattern: its cell is content.
        const { dict: resources, rules } = this.#resources(
          pattern.dict.get(N("Resources")),
          mode,
          new Map(),
        );
        const paint = this.#objects.number(pattern.dict.get(N("PaintType")));
        const rewritten = paint === 2
          ? undefined
          : this.#rewrite(pattern, rules, mode);
        const target = rewritten ??
          (mode === "gray"
            ? PDFRawStream.of(
              this.#objects.copy(pattern.dict),
              pattern.contents,
            )
            : pattern);
        if (mode === "gray" && resources !== undefined) {
          target.dict.set(N("Resources"), resources);
        }
        return this.#objects.store(object, pattern, target, mode);
      }
      if (!(pattern instanceof PDFDict)) return object;
      const dict = mode === "gray" ? this.#objects.copy(pattern) : pattern;
      const shading = dict.get(N("Shading"));
      if (shading !== undefined) {
        const converted = this.#spaces.shading(shading, mode);
        if (converted !== shading) dict.set(N("Shading"), converted);
      }
      const state = dict.get(N("ExtGState"));
      if (state !== undefined) {
        const converted = this.#extGState(state, mode);
        if (converted !== state) dict.set(N("ExtGState"), converted);
      }
      if (dict === pattern) return object;
      return object instanceof PDFRef
        ? this.#objects.context.register(dict)
        : dict;
    });
  }

  #extGState(object: PDFObject, mode: Mode): PDFObject {
    const state = this.#objects.source(object);
    if (!(state instanceof PDFDict)) return object;
    return this.#objects.once(state, mode, () => {
      for (const key of ["TR", "TR2"]) {
        const tr = this.#objects.name(state.get(N(key)));
        if (
          state.get(N(key)) !== undefined && tr !== "Identity" &&
          tr !== "Default"
        ) {
          throw new ConversionError(
            `a graphics state has a transfer function (/${key}), which PDF/X does not allow`,
          );
        }
      }
      const ca = this.#objects.number(state.get(N("ca")));
      const CA = this.#objects.number(state.get(N("CA")));
      const bm = this.#objects.name(state.get(N("BM")));
      if (
        (ca !== undefined && ca < 1) || (CA !== undefined && CA < 1) ||
        (bm !== undefined && bm !== "Normal" && bm !== "Compatible")
      ) {
        this.#objects.transparent = true;
      }
      const smask = this.#objects.lookup(state.get(N("SMask")));
      if (!(smask instanceof PDFDict)) return object;
      this.#objects.transparent = true;
      const kind = this.#objects.name(smask.get(N("S")));
      const maskMode: Mode = kind === "Luminosity" ? "gray" : mode;
      const form = smask.get(N("G"));
      const converted = form === undefined
        ? undefined
        : this.#xobject(form, maskMode, new Map());
      const backdrop = this.#objects.lookup(smask.get(N("BC")));
      const needsCopy = mode === "gray" || converted !== form ||
        backdrop instanceof PDFArray;
      if (!needsCopy) return object;
      const mask = this.#objects.copy(smask);
      if (converted !== undefined) mask.set(N("G"), converted);
      if (backdrop instanceof PDFArray && form !== undefined) {
        const group = this.#objects.lookup(
          (this.#objects.lookup(form) as PDFRawStream | undefined)?.dict.get(
            N("Group"),
          ),
        );
        const groupSpace = group instanceof PDFDict
          ? group.get(N("CS"))
          : undefined;
        const space = groupSpace === undefined
          ? undefined
          : this.#spaces.space(groupSpace, maskMode);
        if (space?.rule) {
          const values = backdrop.asArray().map((v) =>
            this.#objects.number(v) ?? 0
          );
          mask.set(
            N("BC"),
            this.#objects.context.obj(space.rule.convert(values)),
          );
        }
      }
      if (mode === "cmyk") {
        state.set(N("SMask"), mask);
        return object;
      }
      const copy = this.#objects.copy(state);
      copy.set(N("SMask"), mask);
      return object instanceof PDFRef
        ? this.#objects.context.register(copy)
        : copy;
    });
  }

  /** The glyphs of a Type 3 font are content streams too. */
  #type3(object: PDFObject, rules: Map<string, SpaceRule | undefined>): void {
    const font = this.#objects.source(object);
    if (!(font instanceof PDFDict)) return;
    if (this.#objects.name(font.get(N("Subtype"))) !== "Type3") return;
    this.#objects.once(font, "cmyk", () => {
      const { rules: own } = this.#resources(
        font.get(N("Resources")),
        "cmyk",
        rules,
      );
      const procs = this.#objects.lookup(font.get(N("CharProcs")));
      if (!(procs instanceof PDFDict)) return;
      for (const [, ref] of procs.entries()) {
        const glyph = this.#objects.source(ref);
        if (!(glyph instanceof PDFRawStream) || !(ref instanceof PDFRef)) {
          continue;
        }
        const out = this.#rewrite(glyph, own, "cmyk");
        if (out) this.#objects.assign(ref, out);
      }
    });
  }

  #annotation(
    object: PDFObject,
    rules: Map<string, SpaceRule | undefined>,
  ): void {
    const annot = this.#objects.lookup(object);
    if (!(annot instanceof PDFDict)) return;
    const appearances = this.#objects.lookup(annot.get(N("AP")));
    if (!(appearances instanceof PDFDict)) return;
    for (const [, value] of appearances.entries()) {
      const appearance = this.#objects.lookup(value);
      if (appearance instanceof PDFRawStream) {
        this.#xobject(value, "cmyk", rules);
      } else if (appearance instanceof PDFDict) {
        for (const [, state] of appearance.entries()) {
          this.#xobject(state, "cmyk", rules);
        }
      }
    }
    for (const key of ["C", "IC"]) {
      const colour = this.#objects.lookup(annot.get(N(key)));
      if (colour instanceof PDFArray && colour.size() === 3) {
        const values = colour.asArray().map((v) =>
          this.#objects.number(v) ?? 0
        );
        annot.set(
          N(key),
          this.#objects.context.obj(
            this.#spaces.rgb(
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
