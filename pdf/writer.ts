/**
 * Print PDFs from rendered images, without re-encoding them.
 *
 * A PNG's IDAT data goes into the PDF as a `/FlateDecode` stream with PNG
 * predictors; a JPEG goes in as a `/DCTDecode` stream. pdf-lib's high-level
 * `embedPng()` is avoided on purpose: it decodes and re-deflates every image
 * in JavaScript (≈160 ms a piece).
 *
 * Output is deterministic (no dates, no random names): same input, same bytes.
 *
 * @module
 */

import {
  concatTransformationMatrix,
  copyStringIntoBuffer,
  drawObject,
  type PDFDict,
  PDFDocument,
  PDFName,
  PDFStream,
  popGraphicsState,
  pushGraphicsState,
} from "pdf-lib";
import { parsePng } from "./_png_stream.ts";
import type { PageGeometry } from "./geometry.ts";

/** An encoded raster image as the renderer hands it back. */
export interface EncodedImage {
  format: "png" | "jpeg";
  bytes: Uint8Array;
  /** Width in pixels; must match the image's own header. */
  width: number;
  /** Height in pixels; must match the image's own header. */
  height: number;
}

/** Document metadata. */
export interface PdfMeta {
  /** Document title, shown by PDF viewers. */
  title?: string;
}

const PRODUCER = "pressrun";
const IMAGE_NAME = PDFName.of("Im0");

/**
 * Writes one single-page PDF for one piece: MediaBox = BleedBox = the full
 * page, TrimBox inset by the bleed, and the image filling the media box.
 *
 * @throws {TypeError} If the image cannot be embedded without re-encoding
 * (alpha, palette, interlacing, bit depth) or its bytes are not a valid image.
 * @throws {RangeError} If `image.width`/`image.height` disagree with the image.
 */
export async function piecePdf(
  image: EncodedImage,
  geometry: PageGeometry,
  meta?: PdfMeta,
): Promise<Uint8Array> {
  const xObject = imageXObject(image);
  const doc = await createDocument(meta);
  addPage(doc, xObject, geometry);
  return await save(doc);
}

/**
 * Accumulates pieces into one merged PDF, one page per piece, in the order
 * `add()` is called. Image bytes are kept by reference until `save()`.
 *
 * @example Usage
 * ```ts ignore
 * const merged = new MergedPdf(geometry, { title: "Spring postcards" });
 * for (const image of images) await merged.add(image);
 * await Deno.writeFile("merged.pdf", await merged.save());
 * ```
 */
export class MergedPdf {
  #geometry: PageGeometry;
  #doc: Promise<PDFDocument> | undefined;
  #pageCount = 0;

  constructor(geometry: PageGeometry, meta?: PdfMeta) {
    this.#geometry = geometry;
    this.#doc = createDocument(meta);
  }

  /** Number of pages added so far. */
  get pageCount(): number {
    return this.#pageCount;
  }

  /**
   * Appends one page showing `image`. Pages keep the order of the calls, even
   * when calls are not awaited one by one.
   *
   * @throws {TypeError} As {@linkcode piecePdf} does for a bad image.
   * @throws {Error} If `save()` was already called.
   */
  async add(image: EncodedImage): Promise<void> {
    // Validate before the first await so a bad image never takes a page slot.
    const xObject = imageXObject(image);
    const doc = this.#open("add a page");
    this.#pageCount++;
    addPage(await doc, xObject, this.#geometry);
  }

  /**
   * Appends the first page of a PDF this module wrote (a piece rendered
   * earlier, e.g. by a resumed batch). Its objects are copied, not re-encoded.
   */
  async addPdf(bytes: Uint8Array): Promise<void> {
    const doc = this.#open("add a page");
    this.#pageCount++;
    const target = await doc;
    const source = await PDFDocument.load(bytes, { updateMetadata: false });
    const [page] = await target.copyPages(source, [0]);
    target.addPage(page);
  }

  /**
   * Serialises the merged PDF. Call it once, after the last `add()`.
   *
   * @throws {Error} If no page was added, or `save()` was already called.
   */
  async save(): Promise<Uint8Array> {
    const doc = this.#open("save");
    if (this.#pageCount === 0) {
      throw new Error("Cannot save the merged PDF: no page was added");
    }
    // Forget the document (and the image bytes it holds) once it is written.
    this.#doc = undefined;
    return await save(await doc);
  }

  #open(action: string): Promise<PDFDocument> {
    if (this.#doc === undefined) {
      throw new Error(`Cannot ${action}: the merged PDF was already saved`);
    }
    return this.#doc;
  }
}

async function createDocument(meta: PdfMeta | undefined): Promise<PDFDocument> {
  // updateMetadata: false keeps pdf-lib from stamping dates and its own producer.
  const doc = await PDFDocument.create({ updateMetadata: false });
  doc.setProducer(PRODUCER);
  doc.setCreator(PRODUCER);
  if (meta?.title !== undefined) doc.setTitle(meta.title);
  return doc;
}

function save(doc: PDFDocument): Promise<Uint8Array> {
  // No object streams: a classic xref table suits older print RIPs, and
  // raw image streams are written as they are either way.
  return doc.save({
    useObjectStreams: false,
    addDefaultPage: false,
    updateFieldAppearances: false,
  });
}

function addPage(
  doc: PDFDocument,
  xObject: ImageXObject,
  geometry: PageGeometry,
): void {
  const { widthPt, heightPt, bleedPt, trimWidthPt, trimHeightPt } = geometry;
  const page = doc.addPage([widthPt, heightPt]);
  page.setBleedBox(0, 0, widthPt, heightPt);
  page.setTrimBox(bleedPt, bleedPt, trimWidthPt, trimHeightPt);
  const dict = doc.context.obj(xObject.dict);
  const ref = doc.context.register(new PassThroughStream(dict, xObject.data));
  page.node.setXObject(IMAGE_NAME, ref);
  page.pushOperators(
    pushGraphicsState(),
    concatTransformationMatrix(widthPt, 0, 0, heightPt, 0, 0),
    drawObject(IMAGE_NAME),
    popGraphicsState(),
  );
}

/**
 * A stream written exactly as given, like pdf-lib's PDFRawStream, but copied
 * into the output with one `set()`: pdf-lib copies stream contents a byte at
 * a time, ≈8 ms for a 4.6 MB image.
 */
class PassThroughStream extends PDFStream {
  readonly #contents: Uint8Array;

  constructor(dict: PDFDict, contents: Uint8Array) {
    super(dict);
    this.#contents = contents;
  }

  override getContents(): Uint8Array {
    return this.#contents;
  }

  override getContentsSize(): number {
    return this.#contents.length;
  }

  override copyBytesInto(buffer: Uint8Array, offset: number): number {
    this.updateDict();
    const start = offset;
    offset += this.dict.copyBytesInto(buffer, offset);
    offset += copyStringIntoBuffer("\nstream\n", buffer, offset);
    buffer.set(this.#contents, offset);
    offset += this.#contents.length;
    offset += copyStringIntoBuffer("\nendstream", buffer, offset);
    return offset - start;
  }
}

/** What an image XObject needs to know from an image file's header. */
interface ImageHeader {
  width: number;
  height: number;
  channels: 1 | 3;
}

/** An image XObject's dictionary entries and its still-encoded data. */
interface ImageXObject {
  dict: Record<string, string | number | Record<string, number>>;
  data: Uint8Array;
}

function imageXObject(image: EncodedImage): ImageXObject {
  if (!(image?.bytes instanceof Uint8Array)) {
    throw new TypeError("image.bytes must be a Uint8Array");
  }
  let header: ImageHeader;
  let data = image.bytes;
  let filter: ImageXObject["dict"];
  if (image.format === "png") {
    const png = parsePng(image.bytes);
    [header, data] = [png, png.data];
    filter = {
      Filter: "FlateDecode",
      DecodeParms: {
        Predictor: 15,
        Colors: png.channels,
        BitsPerComponent: 8,
        Columns: png.width,
      },
    };
  } else if (image.format === "jpeg") {
    header = readJpegHeader(image.bytes);
    filter = { Filter: "DCTDecode" };
  } else {
    const format = JSON.stringify(image.format);
    throw new TypeError(`image.format must be "png" or "jpeg", got ${format}`);
  }
  checkSize(image, header.width, header.height);
  const dict = {
    Type: "XObject",
    Subtype: "Image",
    Width: header.width,
    Height: header.height,
    ColorSpace: header.channels === 1 ? "DeviceGray" : "DeviceRGB",
    BitsPerComponent: 8,
    ...filter,
  };
  return { dict, data };
}

function checkSize(image: EncodedImage, width: number, height: number): void {
  if (image.width !== width || image.height !== height) {
    throw new RangeError(
      `image size must match its ${image.format.toUpperCase()} header: got ${image.width}×${image.height}, the header says ${width}×${height}`,
    );
  }
}

/**
 * Reads size and components from a baseline or progressive JPEG's SOF marker.
 * (pdf-lib's JpegEmbedder ignores `byteOffset`, so it misreads subarrays.)
 */
function readJpegHeader(bytes: Uint8Array): ImageHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  if (n < 4 || view.getUint16(0) !== 0xffd8) {
    throw new TypeError("Cannot read JPEG: the SOI marker is missing");
  }
  if (view.getUint16(n - 2) !== 0xffd9) {
    throw new TypeError(
      "Cannot read JPEG: it does not end with an EOI marker (truncated file?)",
    );
  }
  let pos = 2;
  while (pos + 4 <= n) {
    const marker = view.getUint16(pos);
    const length = view.getUint16(pos + 2);
    const isSof = marker >= 0xffc0 && marker <= 0xffcf &&
      marker !== 0xffc4 && marker !== 0xffc8 && marker !== 0xffcc;
    if (isSof && pos + 10 <= n) {
      const precision = view.getUint8(pos + 4);
      const height = view.getUint16(pos + 5);
      const width = view.getUint16(pos + 7);
      const components = view.getUint8(pos + 9);
      if (precision !== 8 || (components !== 1 && components !== 3)) {
        throw new TypeError(
          `JPEG with ${components} components at ${precision} bits cannot be embedded; use 8-bit RGB or greyscale`,
        );
      }
      return { width, height, channels: components };
    }
    if ((marker & 0xff00) !== 0xff00) break;
    pos += 2 + length;
  }
  throw new TypeError("Cannot read JPEG: no SOF marker with the image size");
}
