/**
 * A structural check of a PDF/X file, for tests and for users who want to
 * see what a print shop's preflight will look at (there is no veraPDF or
 * Acrobat here): the version it claims, its OutputIntent and profile, the
 * page boxes, the fonts, every colour space and colour operator (no RGB may
 * be left in a CMYK file), and the images it stores, with the pages that
 * draw each.
 *
 * It reads the file on its own, independently of the converter: every
 * object pdf-lib parses is looked at, referenced or not, and every content
 * stream is tokenised.
 *
 * @module
 */
import {
  decodePDFRawStream,
  ParseSpeeds,
  PDFArray,
  PDFDict,
  PDFDocument,
  PDFHexString,
  PDFName,
  PDFNumber,
  type PDFObject,
  PDFRawStream,
  PDFRef,
  PDFString,
} from "pdf-lib";

/** A page's boxes, in points: [x0, y0, x1, y1]. */
export interface PageBoxes {
  mediaBox: number[];
  bleedBox?: number[];
  trimBox?: number[];
}

/** One image object the file stores. */
export interface ReportImage {
  /** "12 0 R". */
  ref: string;
  width: number;
  height: number;
  /** "DeviceCMYK", "ICCBased(3)", "Indexed(DeviceCMYK)", … */
  colourSpace: string;
  filter: string;
  /** 1-based pages that draw it (directly or through forms and patterns). */
  pages: number[];
}

/** What {@linkcode pdfxReport} finds. */
export interface PdfXReport {
  /** The header's version, "1.6". */
  pdfVersion: string;
  /** pdfxid:GTS_PDFXVersion of the XMP metadata. */
  version?: string;
  /** GTS_PDFXVersion of the Info dictionary. */
  infoVersion?: string;
  /** Info /Title. */
  title?: string;
  /** Info /Trapped. */
  trapped?: string;
  /** The trailer has an /ID. */
  hasId: boolean;
  outputIntents: {
    subtype?: string;
    identifier?: string;
    /** The embedded DestOutputProfile, if any. */
    profile?: {
      n?: number;
      deviceClass: string;
      colourSpace: string;
      size: number;
    };
  }[];
  pages: PageBoxes[];
  fonts: { name: string; subtype: string; embedded: boolean }[];
  images: ReportImage[];
  /** Where RGB colour is (object and key, or content stream and operator). */
  rgb: string[];
  /** Whether anything uses transparency (opacity, soft masks, blend modes). */
  transparency: boolean;
  /** Everything that breaks PDF/X-4 for a CMYK press; empty when none. */
  problems: string[];
}

const N = (name: string) => PDFName.of(name);

/**
 * Checks `pdf` as a PDF/X-4 file for a CMYK OutputIntent. Resolves to the
 * findings; `problems` lists what breaks the standard.
 *
 * @throws {Error} If the bytes are not a PDF pdf-lib can read.
 */
export async function pdfxReport(pdf: Uint8Array): Promise<PdfXReport> {
  const doc = await PDFDocument.load(pdf, {
    updateMetadata: false,
    parseSpeed: ParseSpeeds.Fastest,
  });
  const context = doc.context;
  const lookup = (o: PDFObject | undefined) =>
    o instanceof PDFRef ? context.lookup(o) : o;
  const name = (o: PDFObject | undefined) => {
    const v = lookup(o);
    return v instanceof PDFName ? v.decodeText() : undefined;
  };
  const num = (o: PDFObject | undefined) => {
    const v = lookup(o);
    return v instanceof PDFNumber ? v.asNumber() : undefined;
  };
  const text = (o: PDFObject | undefined) => {
    const v = lookup(o);
    return v instanceof PDFString || v instanceof PDFHexString
      ? v.decodeText()
      : undefined;
  };
  const problems: string[] = [];
  const header = new TextDecoder("latin1").decode(pdf.subarray(0, 16));
  const pdfVersion = /%PDF-(\d\.\d)/.exec(header)?.[1] ?? "?";
  if (pdfVersion > "1.6") {
    problems.push(`The file is PDF ${pdfVersion}; PDF/X-4 allows up to 1.6`);
  }

  // Identification: XMP and Info.
  const catalog = doc.catalog;
  const metadata = lookup(catalog.get(N("Metadata")));
  let version: string | undefined;
  let xmp = "";
  if (metadata instanceof PDFRawStream) {
    xmp = new TextDecoder().decode(decodePDFRawStream(metadata).decode());
    version = /<pdfxid:GTS_PDFXVersion>([^<]*)</.exec(xmp)?.[1] ??
      /pdfxid:GTS_PDFXVersion="([^"]*)"/.exec(xmp)?.[1];
  }
  if (version === undefined) {
    problems.push(
      "No XMP metadata names the PDF/X version (pdfxid:GTS_PDFXVersion)",
    );
  } else if (!version.startsWith("PDF/X-4")) {
    problems.push(`The XMP metadata names ${version}, not PDF/X-4`);
  }
  for (
    const field of [
      "xmp:CreateDate",
      "xmp:ModifyDate",
      "dc:title",
      "pdf:Trapped",
    ]
  ) {
    if (metadata && !xmp.includes(`<${field}>`)) {
      problems.push(`The XMP metadata has no ${field}`);
    }
  }
  const info = lookup(context.trailerInfo.Info);
  let infoVersion: string | undefined;
  let trapped: string | undefined;
  let title: string | undefined;
  if (info instanceof PDFDict) {
    title = text(info.get(N("Title")));
    infoVersion = text(info.get(N("GTS_PDFXVersion")));
    trapped = name(info.get(N("Trapped")));
    if (
      infoVersion !== undefined && version !== undefined &&
      infoVersion !== version
    ) {
      problems.push(
        `Info names ${infoVersion} but the XMP metadata ${version}`,
      );
    }
  }
  if (trapped !== "True" && trapped !== "False") {
    problems.push("Info /Trapped is not /True or /False");
  }
  const hasId = context.trailerInfo.ID !== undefined;
  if (!hasId) problems.push("The trailer has no /ID");

  // The OutputIntent and its profile.
  const outputIntents: PdfXReport["outputIntents"] = [];
  const intents = lookup(catalog.get(N("OutputIntents")));
  if (intents instanceof PDFArray) {
    for (const entry of intents.asArray()) {
      const intent = lookup(entry);
      if (!(intent instanceof PDFDict)) continue;
      const stream = lookup(intent.get(N("DestOutputProfile")));
      let profile: PdfXReport["outputIntents"][number]["profile"];
      if (stream instanceof PDFRawStream) {
        const bytes = decodePDFRawStream(stream).decode();
        const ascii = new TextDecoder("latin1");
        profile = {
          n: num(stream.dict.get(N("N"))),
          deviceClass: ascii.decode(bytes.subarray(12, 16)),
          colourSpace: ascii.decode(bytes.subarray(16, 20)).trim(),
          size: bytes.length,
        };
      }
      outputIntents.push({
        subtype: name(intent.get(N("S"))),
        identifier: text(intent.get(N("OutputConditionIdentifier"))),
        profile,
      });
    }
  }
  const pdfx = outputIntents.filter((i) => i.subtype === "GTS_PDFX");
  if (pdfx.length !== 1) {
    problems.push(`${pdfx.length} GTS_PDFX OutputIntents, 1 expected`);
  } else {
    const [intent] = pdfx;
    if (!intent!.identifier) {
      problems.push("The OutputIntent has no OutputConditionIdentifier");
    }
    const p = intent!.profile;
    if (!p) problems.push("The OutputIntent embeds no ICC profile");
    else {
      if (p.deviceClass !== "prtr" || p.colourSpace !== "CMYK") {
        problems.push(
          `The OutputIntent's profile is a ${p.deviceClass} ${p.colourSpace} profile, not a CMYK output (prtr) profile`,
        );
      }
      if (p.n !== 4) {
        problems.push(`The OutputIntent's profile has /N ${p.n}, not 4`);
      }
    }
  }

  // Pages and their boxes.
  const pages: PageBoxes[] = [];
  const box = (o: PDFObject | undefined) => {
    const v = lookup(o);
    return v instanceof PDFArray
      ? v.asArray().map((x) => num(x) ?? NaN)
      : undefined;
  };
  const inside = (a: number[], b: number[]) =>
    a[0]! >= b[0]! - 0.01 && a[1]! >= b[1]! - 0.01 &&
    a[2]! <= b[2]! + 0.01 && a[3]! <= b[3]! + 0.01;
  const pageNodes = doc.getPages().map((p) => p.node);
  pageNodes.forEach((node, i) => {
    const mediaBox = box(node.getInheritableAttribute(N("MediaBox"))) ?? [];
    const bleedBox = box(node.get(N("BleedBox")));
    const trimBox = box(node.get(N("TrimBox")));
    pages.push({ mediaBox, bleedBox, trimBox });
    if (!trimBox) problems.push(`Page ${i + 1} has no TrimBox`);
    if (!bleedBox) problems.push(`Page ${i + 1} has no BleedBox`);
    if (trimBox && bleedBox && !inside(trimBox, bleedBox)) {
      problems.push(`Page ${i + 1}: the TrimBox is not inside the BleedBox`);
    }
    if (bleedBox && !inside(bleedBox, mediaBox)) {
      problems.push(`Page ${i + 1}: the BleedBox is not inside the MediaBox`);
    }
  });

  // Every object: colour spaces, fonts, images, transparency.
  const rgb: string[] = [];
  const fonts: PdfXReport["fonts"] = [];
  let transparency = false;
  const softMasks = new Set<PDFRef>();
  const visitValue = (
    where: string,
    object: PDFObject | undefined,
    depth = 0,
  ) => {
    if (object === undefined || depth > 16) return;
    if (object instanceof PDFName) {
      const n = object.decodeText();
      if (n === "DeviceRGB" || n === "CalRGB") rgb.push(`${where}: /${n}`);
    } else if (object instanceof PDFArray) {
      const family = name(object.get(0));
      if (family === "ICCBased") {
        const stream = lookup(object.get(1));
        if (
          stream instanceof PDFRawStream && num(stream.dict.get(N("N"))) === 3
        ) {
          rgb.push(`${where}: ICCBased RGB`);
        }
      }
      object.asArray().forEach((v, i) => {
        if (!(v instanceof PDFRef)) visitValue(`${where}[${i}]`, v, depth + 1);
      });
    } else if (object instanceof PDFDict) {
      for (const [key, value] of object.entries()) {
        const k = key.decodeText();
        if (k === "ca" || k === "CA") {
          if ((num(value) ?? 1) < 1) transparency = true;
        } else if (k === "SMask") {
          if (value instanceof PDFRef) softMasks.add(value);
          if (name(value) !== "None") transparency = true;
        } else if (k === "BM") {
          const bm = name(value);
          if (bm !== undefined && bm !== "Normal" && bm !== "Compatible") {
            transparency = true;
          }
        } else if (k === "TR" || k === "TR2") {
          const tr = name(value);
          if (tr !== "Identity" && tr !== "Default") {
            problems.push(`${where}: a transfer function (/${k})`);
          }
        }
        if (!(value instanceof PDFRef)) {
          visitValue(`${where} /${k}`, value, depth + 1);
        }
      }
    } else if (object instanceof PDFRawStream) {
      visitValue(where, object.dict, depth + 1);
    }
  };
  for (const [ref, object] of context.enumerateIndirectObjects()) {
    const where = `object ${ref.objectNumber}`;
    // The output profile's own dictionary names no colour space.
    visitValue(where, object);
    const dict = object instanceof PDFRawStream
      ? object.dict
      : object instanceof PDFDict
      ? object
      : undefined;
    if (!dict) continue;
    if (name(dict.get(N("Type"))) === "Font") {
      const subtype = name(dict.get(N("Subtype"))) ?? "?";
      if (subtype === "CIDFontType0" || subtype === "CIDFontType2") continue;
      const fontName = name(dict.get(N("BaseFont"))) ??
        `object ${ref.objectNumber}`;
      let descriptor = lookup(dict.get(N("FontDescriptor")));
      if (subtype === "Type0") {
        const descendants = lookup(dict.get(N("DescendantFonts")));
        const descendant = descendants instanceof PDFArray
          ? lookup(descendants.get(0))
          : undefined;
        descriptor = descendant instanceof PDFDict
          ? lookup(descendant.get(N("FontDescriptor")))
          : undefined;
      }
      const embedded = subtype === "Type3" ||
        (descriptor instanceof PDFDict &&
          ["FontFile", "FontFile2", "FontFile3"].some((k) =>
            descriptor instanceof PDFDict && descriptor.get(N(k)) !== undefined
          ));
      fonts.push({ name: fontName, subtype, embedded });
      const procs = lookup(dict.get(N("CharProcs")));
      if (subtype === "Type3" && procs instanceof PDFDict) {
        for (const [glyph, value] of procs.entries()) {
          const proc = lookup(value);
          if (!(proc instanceof PDFRawStream)) continue;
          for (
            const finding of scanContent(decodePDFRawStream(proc).decode())
          ) {
            rgb.push(`glyph ${glyph.decodeText()} of ${fontName}: ${finding}`);
          }
        }
      }
      if (!embedded) problems.push(`The font ${fontName} is not embedded`);
    }
    if (object instanceof PDFRawStream && isContent(dict)) {
      for (const finding of scanContent(decodePDFRawStream(object).decode())) {
        rgb.push(`content of object ${ref.objectNumber}: ${finding}`);
      }
    }
  }
  // Page content streams have no /Type: scan them from the pages.
  pageNodes.forEach((node, i) => {
    const contents = node.get(N("Contents"));
    const list = lookup(contents) instanceof PDFArray
      ? (lookup(contents) as PDFArray).asArray()
      : [contents];
    for (const part of list) {
      const stream = lookup(part);
      if (!(stream instanceof PDFRawStream)) continue;
      for (const finding of scanContent(decodePDFRawStream(stream).decode())) {
        rgb.push(`page ${i + 1} content: ${finding}`);
      }
    }
  });
  if (rgb.length > 0) {
    problems.push(
      `RGB colour in a CMYK file (${rgb.length} places, first: ${rgb[0]})`,
    );
  }

  // Images and the pages that draw them.
  const images = new Map<PDFRef, ReportImage>();
  /** Forms and patterns already followed, per page: "page object". */
  const followed = new Set<string>();
  const drawIn = (resources: PDFObject | undefined, page: number) => {
    const res = lookup(resources);
    if (!(res instanceof PDFDict)) return;
    const xobjects = lookup(res.get(N("XObject")));
    const follow = (value: PDFObject | undefined) => {
      const target = lookup(value);
      if (!(target instanceof PDFRawStream)) return;
      const subtype = name(target.dict.get(N("Subtype")));
      if (subtype === "Image" && value instanceof PDFRef) {
        const found = images.get(value) ?? {
          ref: `${value.objectNumber} 0 R`,
          width: num(target.dict.get(N("Width"))) ?? 0,
          height: num(target.dict.get(N("Height"))) ?? 0,
          colourSpace: describeSpace(target.dict.get(N("ColorSpace"))),
          filter: describeFilter(target.dict.get(N("Filter"))),
          pages: [],
        };
        if (!found.pages.includes(page)) found.pages.push(page);
        images.set(value, found);
      } else if (value instanceof PDFRef) {
        const key = `${page} ${value.objectNumber}`;
        if (followed.has(key)) return;
        followed.add(key);
        drawIn(target.dict.get(N("Resources")), page);
      }
    };
    if (xobjects instanceof PDFDict) {
      for (const [, value] of xobjects.entries()) follow(value);
    }
    const patterns = lookup(res.get(N("Pattern")));
    if (patterns instanceof PDFDict) {
      for (const [, value] of patterns.entries()) {
        const pattern = lookup(value);
        if (pattern instanceof PDFRawStream) {
          drawIn(pattern.dict.get(N("Resources")), page);
        }
      }
    }
    const states = lookup(res.get(N("ExtGState")));
    if (states instanceof PDFDict) {
      for (const [, value] of states.entries()) {
        const state = lookup(value);
        const mask = state instanceof PDFDict
          ? lookup(state.get(N("SMask")))
          : undefined;
        if (mask instanceof PDFDict) follow(mask.get(N("G")));
      }
    }
  };
  const describeSpace = (o: PDFObject | undefined): string => {
    const v = lookup(o);
    if (v instanceof PDFName) return v.decodeText();
    if (v instanceof PDFArray) {
      const family = name(v.get(0)) ?? "?";
      if (family === "ICCBased") {
        const s = lookup(v.get(1));
        return `ICCBased(${
          s instanceof PDFRawStream ? num(s.dict.get(N("N"))) : "?"
        })`;
      }
      if (family === "Indexed") return `Indexed(${describeSpace(v.get(1))})`;
      return family;
    }
    return "none";
  };
  const describeFilter = (o: PDFObject | undefined): string => {
    const v = lookup(o);
    if (v instanceof PDFName) return v.decodeText();
    if (v instanceof PDFArray) return v.asArray().map((f) => name(f)).join("+");
    return "none";
  };
  pageNodes.forEach((node, i) => drawIn(node.Resources(), i + 1));
  for (const mask of softMasks) images.delete(mask);

  return {
    pdfVersion,
    version,
    infoVersion,
    title,
    trapped,
    hasId,
    outputIntents,
    pages,
    fonts,
    images: [...images.values()],
    rgb,
    transparency,
    problems,
  };
}

/** Whether a stream dictionary is content: a form, a tiling pattern, a Type 3 glyph is not told apart here. */
function isContent(dict: PDFDict): boolean {
  const subtype = dict.get(N("Subtype"));
  const patternType = dict.get(N("PatternType"));
  return (subtype instanceof PDFName && subtype.decodeText() === "Form") ||
    (patternType instanceof PDFNumber && patternType.asNumber() === 1);
}

/**
 * RGB in a content stream: `rg`/`RG`, DeviceRGB set by `cs`/`CS`, and
 * inline images in RGB. Strings, arrays and dictionaries are skipped whole.
 */
export function scanContent(content: Uint8Array): string[] {
  const found: string[] = [];
  const text = new TextDecoder("latin1").decode(content);
  // Inline image data, strings and hex strings can hold anything: drop them.
  const stripped = text
    .replace(/\bID\s[\s\S]*?\sEI\b/g, "ID EI")
    .replace(/\\[()\\]/g, "")
    .replace(/\((?:[^()]|\([^()]*\))*\)/g, "()")
    .replace(/<[0-9A-Fa-f\s]*>/g, "<>");
  const tokens = stripped.split(/[\s\[\]<>(){}]+|(?=\/)/).filter((t) => t);
  let previous = "";
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === "rg" || token === "RG") found.push(token);
    else if (
      (token === "cs" || token === "CS") &&
      /^\/(DeviceRGB|RGB|CalRGB)$/.test(previous)
    ) {
      found.push(`${previous} ${token}`);
    }
    previous = token;
  }
  for (const match of stripped.matchAll(/\bBI\b([\s\S]*?)\bID\b/g)) {
    if (/\/(CS|ColorSpace)\s*\/(RGB|DeviceRGB|CalRGB)\b/.test(match[1]!)) {
      found.push("inline RGB image");
    }
  }
  return found;
}
