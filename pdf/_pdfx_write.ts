/**
 * Writing a converted document, as PDF/X-4 or as a plain CMYK PDF (a chunk
 * to split and merge, made PDF/X afterwards by `_pdfx_identity.ts`). The
 * PDF/X-4 identity: a new catalog with the OutputIntent (the output profile
 * embedded) and XMP metadata naming the standard, an Info dictionary with
 * the dates, Trapped and the version, and a trailer with a document ID.
 * Only objects the document still reaches are written, renumbered from 1 in
 * the order they are reached.
 *
 * @module
 */
import {
  PDFArray,
  PDFDict,
  PDFHexString,
  PDFName,
  type PDFObject,
  PDFRawStream,
  PDFRef,
  PDFString,
} from "pdf-lib";
import type { PDFDocument } from "pdf-lib";
import { PdfWriter } from "./_pdf_objects.ts";

/** The standard written, as the file names it. */
export const PDFX_VERSION = "PDF/X-4";

/** What the file says about itself. */
export interface PdfXMeta {
  /** Title, in Info and XMP. */
  title: string;
  /** Creation and modification date. */
  date: Date;
  /** 16 bytes, hex: the trailer's ID and the XMP document ID. */
  id: string;
  /** The output profile, compressed with Flate. */
  profile: Uint8Array;
  /** OutputConditionIdentifier. */
  conditionIdentifier: string;
  /** OutputCondition and Info of the intent: the profile's description. */
  condition: string;
  /**
   * Also name PDF/VT-1 in the XMP metadata (a merged file whose records are
   * DParts).
   */
  pdfvt?: boolean;
}

const N = (name: string) => PDFName.of(name);
export const PRODUCER = "pressrun";

/**
 * Serialises `doc`: as a PDF/X-4 file with `meta`, else as a plain PDF with
 * its own catalog and Info.
 */
export function writePdfX(
  doc: PDFDocument,
  meta: PdfXMeta | undefined,
): Uint8Array {
  const context = doc.context;
  const catalog = PDFDict.withContext(context);
  for (const [key, value] of doc.catalog.entries()) {
    const name = key.decodeText();
    // Actions and forms have no place in a print file; the header says
    // the version.
    if (
      [
        "Metadata",
        "OpenAction",
        "AA",
        "AcroForm",
        "OutputIntents",
        "Version",
      ].includes(name)
    ) {
      continue;
    }
    catalog.set(key, value);
  }
  let info: PDFObject | undefined = context.trailerInfo.Info;
  if (meta) {
    const profile = PDFRawStream.of(
      context.obj({ N: 4, Filter: "FlateDecode" }),
      meta.profile,
    );
    const intent = context.obj({
      Type: "OutputIntent",
      S: "GTS_PDFX",
      OutputConditionIdentifier: PDFString.of(
        ascii(meta.conditionIdentifier),
      ),
      OutputCondition: PDFHexString.fromText(meta.condition),
      Info: PDFHexString.fromText(meta.condition),
      RegistryName: PDFString.of("http://www.color.org"),
      DestOutputProfile: context.register(profile),
    });
    const xmp = new TextEncoder().encode(xmpPacket(meta));
    const metadata = PDFRawStream.of(
      context.obj({ Type: "Metadata", Subtype: "XML" }),
      xmp,
    );
    catalog.set(N("OutputIntents"), context.obj([context.register(intent)]));
    catalog.set(N("Metadata"), context.register(metadata));
    const date = pdfDate(meta.date);
    info = context.register(context.obj({
      Title: PDFHexString.fromText(meta.title),
      Producer: PDFHexString.fromText(PRODUCER),
      Creator: PDFHexString.fromText(PRODUCER),
      CreationDate: PDFString.of(date),
      ModDate: PDFString.of(date),
      Trapped: "False",
      GTS_PDFXVersion: PDFString.of(PDFX_VERSION),
    }));
  }
  const rootRef = context.register(catalog);
  const infoRef = info instanceof PDFRef ? info : undefined;

  // Number what the catalog and Info reach, in the order reached.
  const numbers = new Map<PDFRef, number>();
  const order: PDFRef[] = [];
  const stack: PDFObject[] = infoRef ? [infoRef, rootRef] : [rootRef];
  while (stack.length > 0) {
    const object = stack.pop()!;
    if (object instanceof PDFRef) {
      if (numbers.has(object)) continue;
      numbers.set(object, order.length + 1);
      order.push(object);
      const target = context.lookup(object);
      if (target !== undefined) stack.push(target);
    } else if (object instanceof PDFDict) {
      const values = object.entries().map(([, v]) => v);
      for (let i = values.length - 1; i >= 0; i--) stack.push(values[i]!);
    } else if (object instanceof PDFArray) {
      const values = object.asArray();
      for (let i = values.length - 1; i >= 0; i--) stack.push(values[i]!);
    } else if (object instanceof PDFRawStream) {
      stack.push(object.dict);
    }
  }
  const out = new PdfWriter(0);
  out.header("1.6");
  for (const ref of order) {
    out.begin(numbers.get(ref)!);
    const object = context.lookup(ref);
    if (object === undefined) out.text("null");
    else out.value(object, numbers);
    out.finish();
  }
  const body = out.bytes();
  const xref = [`xref\n0 ${order.length + 1}\n0000000000 65535 f \n`];
  const offsets = new Map(out.offsets);
  for (let n = 1; n <= order.length; n++) {
    xref.push(`${String(offsets.get(n)).padStart(10, "0")} 00000 n \n`);
  }
  const infoEntry = infoRef ? `/Info ${numbers.get(infoRef)} 0 R` : "";
  const id = meta ? `/ID[<${meta.id}><${meta.id}>]` : "";
  xref.push(
    `trailer\n<</Size ${order.length + 1}/Root ${
      numbers.get(rootRef)
    } 0 R${infoEntry}${id}>>\nstartxref\n${body.length}\n%%EOF\n`,
  );
  const tail = new TextEncoder().encode(xref.join(""));
  const bytes = new Uint8Array(body.length + tail.length);
  bytes.set(body);
  bytes.set(tail, body.length);
  return bytes;
}

/** D:YYYYMMDDHHmmSSZ, in UTC. */
export function pdfDate(date: Date): string {
  return `D:${date.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
}

/** YYYY-MM-DDTHH:mm:SSZ, in UTC. */
function xmpDate(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?");
}

function xml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) =>
      ({
        "<": "&lt;",
        ">": "&gt;",
        "&": "&amp;",
        "'": "&apos;",
        '"': "&quot;",
      })[c]!,
    // deno-lint-ignore no-control-regex
  ).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "");
}

function uuid(id: string): string {
  return `uuid:${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${
    id.slice(16, 20)
  }-${id.slice(20, 32)}`;
}

/** The XMP packet: what PDF/X-4 requires of it (ISO 15930-7, 6.7). */
export function xmpPacket(meta: PdfXMeta): string {
  const date = xmpDate(meta.date);
  return `<?xpacket begin="\u{feff}" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:pdfxid="http://www.npes.org/pdfx/ns/id/"${
    meta.pdfvt ? '\n    xmlns:pdfvtid="http://www.npes.org/pdfvt/ns/id/"' : ""
  }>
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">${
    xml(meta.title)
  }</rdf:li></rdf:Alt></dc:title>
   <xmp:CreateDate>${date}</xmp:CreateDate>
   <xmp:ModifyDate>${date}</xmp:ModifyDate>
   <xmp:MetadataDate>${date}</xmp:MetadataDate>
   <xmp:CreatorTool>${PRODUCER}</xmp:CreatorTool>
   <pdf:Producer>${PRODUCER}</pdf:Producer>
   <pdf:Trapped>False</pdf:Trapped>
   <xmpMM:DocumentID>${uuid(meta.id)}</xmpMM:DocumentID>
   <xmpMM:InstanceID>${uuid(meta.id)}</xmpMM:InstanceID>
   <xmpMM:VersionID>1</xmpMM:VersionID>
   <xmpMM:RenditionClass>default</xmpMM:RenditionClass>
   <pdfxid:GTS_PDFXVersion>${PDFX_VERSION}</pdfxid:GTS_PDFXVersion>${
    meta.pdfvt
      ? `
   <pdfvtid:GTS_PDFVTVersion>PDF/VT-1</pdfvtid:GTS_PDFVTVersion>
   <pdfvtid:GTS_PDFVTModDate>${date}</pdfvtid:GTS_PDFVTModDate>`
      : ""
  }
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`;
}
