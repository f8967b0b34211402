/**
 * Printing a render page's print document (vector mode) and reading back
 * what Chromium wrote: `Page.printToPDF` with the settings measured for it,
 * and the Type 3 fonts a printed page uses.
 *
 * @module
 */
import type { CDPSession } from "puppeteer-core";
import { decodeBase64 } from "../template/_base64.ts";

/**
 * The print document as one PDF, one page per record. The page size comes
 * from the document's `@page` rule. `generateTaggedPDF: false` matters:
 * tagging doubled the print time and added ≈ 30 % to the size (measured on
 * the postcard, chunks of 50). The answer comes back in one message
 * (`ReturnAsBase64`): for chunk PDFs of a few hundred KB this measured no
 * slower than reading a stream in parts, and is one round trip.
 */
export async function printToPdf(session: CDPSession): Promise<Uint8Array> {
  const { data } = await session.send("Page.printToPDF", {
    preferCSSPageSize: true,
    printBackground: true,
    generateTaggedPDF: false,
    generateDocumentOutline: false,
    displayHeaderFooter: false,
    marginTop: 0,
    marginBottom: 0,
    marginLeft: 0,
    marginRight: 0,
    transferMode: "ReturnAsBase64",
  });
  return decodeBase64(data);
}

const TYPE3 = /\/Subtype\s*\/Type3(?![A-Za-z0-9])/g;
const decoder = new TextDecoder("latin1");

/**
 * The names of the Type 3 fonts a PDF uses (each font dictionary with
 * `/Subtype /Type3`): its `/BaseFont` or `/Name`, else that of its font
 * descriptor, else "object N". Reads the file's bytes; expects objects not
 * packed in object streams, as Chromium and `splitChunk()` write them.
 * Chromium writes a font as Type 3 when it cannot embed its outlines as
 * TrueType: OpenType-CFF fonts (Noto Sans CJK) and stroked or synthetic
 * glyphs. Presses reject Type 3 fonts.
 */
export function type3Fonts(pdf: Uint8Array): string[] {
  const text = decoder.decode(pdf);
  if (!text.includes("/Type3")) return [];
  const names = new Set<string>();
  for (const match of text.matchAll(TYPE3)) {
    const start = text.lastIndexOf(" obj", match.index);
    const end = text.indexOf("endobj", match.index);
    const object = text.slice(start < 0 ? 0 : start, end < 0 ? undefined : end);
    const number = /(\d+)\s+\d+$/.exec(
      text.slice(Math.max(0, start - 20), start),
    )
      ?.[1];
    names.add(fontName(text, object) ?? `object ${number ?? "?"}`);
  }
  return [...names];
}

function fontName(text: string, object: string): string | undefined {
  const own = /\/(?:BaseFont|Name)\s*\/([^\s/<>[\]()]+)/.exec(object)?.[1];
  if (own) return decodeName(own);
  const descriptor = /\/FontDescriptor\s+(\d+)\s+0\s+R/.exec(object)?.[1];
  if (!descriptor) return undefined;
  const at = text.search(new RegExp(`(^|[^0-9])${descriptor} 0 obj`));
  if (at < 0) return undefined;
  const body = text.slice(at, text.indexOf("endobj", at));
  const name = /\/FontName\s*\/([^\s/<>[\]()]+)/.exec(body)?.[1];
  return name ? decodeName(name) : undefined;
}

/** A PDF name's `#xx` escapes decoded; a subset prefix ("ABCDEF+") dropped. */
function decodeName(name: string): string {
  return name.replace(
    /#([0-9a-fA-F]{2})/g,
    (_, hex) => String.fromCharCode(parseInt(hex, 16)),
  ).replace(/^[A-Z]{6}\+/, "");
}
