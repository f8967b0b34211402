/**
 * The render page's contract, written once: what Deno hands the page (the
 * spec once, then one request per piece) and what the page hands back. The
 * page's code (`render/page/*.js`) is type-checked against these types
 * and {@linkcode RenderPage} calls it through them: `globalThis.pressrun` is
 * typed as {@linkcode PageApi} inside `page.evaluate()`.
 *
 * Everything crossing the boundary is plain JSON: puppeteer serialises it.
 *
 * @module
 */
import type { PageGeometry } from "../pdf/geometry.ts";
import type { ObjectStyle } from "../template/format.ts";
import type { FabricDocument } from "../template/parse.ts";

export type {
  BarcodeStyle,
  ImageStyle,
  ObjectStyle,
  OtherStyle,
  QrStyle,
  TextStyle,
} from "../template/format.ts";
export type { FabricDocument, FabricObject } from "../template/parse.ts";

/** A font handed to the page as bytes. */
export interface PageFont {
  family: string;
  weight: string;
  style: string;
  /** The font file, base64. */
  data: string;
}

/**
 * A variable object the page draws: its `pressrunId` in the canvas, its kind
 * and its validated settings (a text's fit, an image's fit, a QR code's
 * colours), every default filled in.
 */
export type PageVariable = { id: string } & ObjectStyle;

/** Everything the page's `load()` takes, once per page. */
export interface PageSpec {
  /** The Fabric document; variable objects carry a `pressrunId`. */
  canvas: FabricDocument;
  pixelWidth: number;
  pixelHeight: number;
  /** Design units to raster pixels. */
  zoom: number;
  /**
   * The design-space point at the page's top-left corner (bleed included):
   * 0, 0 unless a bare document's workspace lies elsewhere.
   */
  origin: { x: number; y: number };
  fonts: PageFont[];
  /** One entry per object with a `pressrunId`. */
  variables: PageVariable[];
  /**
   * The printed page: vector mode prints at `geometry.widthPt` ×
   * `geometry.heightPt` (trim + bleed) and titles each piece
   * "`name` — record N".
   */
  print: { geometry: PageGeometry; name: string };
}

/** What `load()` reports. */
export interface LoadResult {
  /** Time taken to load the fonts and the document. */
  ms: number;
  /** Variable objects found in the loaded canvas. */
  objects: number;
}

/** A QR code's modules: `size`×`size`, row by row, "1" for dark. */
export interface QrMatrix {
  size: number;
  modules: string;
}

/**
 * A barcode as vector geometry, in its own units (y down, from the top left
 * corner of its quiet zone), encoded per record by `template/barcode.ts`.
 * The page scales it into its object's box, keeping its proportions,
 * centred.
 */
export interface BarcodeDrawing {
  /** The extent, quiet zone included. */
  width: number;
  height: number;
  /**
   * The bars and modules: SVG path data of closed rectangles and polygons,
   * filled even-odd.
   */
  bars: string;
  /**
   * The human-readable text's glyph outlines: SVG path data, filled
   * non-zero; empty when the code shows no text.
   */
  text: string;
}

/** The new state of one variable object. */
export interface ObjectUpdate {
  id: string;
  visible: boolean;
  text?: string;
  /** A `data:` URL, or null to hide the image. */
  image?: string | null;
  qr?: QrMatrix;
  barcode?: BarcodeDrawing;
}

/** Everything that changes between two pieces. */
export interface PiecePayload {
  /** 1-based record number. */
  index: number;
  objects: ObjectUpdate[];
}

/**
 * Where a text with a `fit` (see `template/format.ts`) ended for one record:
 * the values it is drawn with.
 */
export interface TextFitInfo {
  /** The object's `pressrunId`. */
  id: string;
  /** Font size drawn, in design units. */
  fontSize: number;
  /** Letter spacing drawn: Fabric's `charSpacing`, in 1/1000 em. */
  charSpacing: number;
  /**
   * Horizontal scale drawn, as a factor of the template's own `scaleX`:
   * 1 when not narrowed.
   */
  scaleX: number;
}

/**
 * A text that overflows its box even at its copyfit bounds (overset), with
 * the values it is drawn with: taller than a Textbox's box or with a word
 * wider than it, or wider than an IText's or Text's box.
 */
export type OversetInfo = TextFitInfo;

/** Records to apply and measure, not drawn: preflight's layout pass. */
export interface LayoutRequest {
  records: PiecePayload[];
}

/** One record as `layout()` found it. */
export interface LayoutRecord {
  index: number;
  /** Its visible texts that are overset; empty when none. */
  overset: OversetInfo[];
  /** Every visible text with a `fit`, as drawn (the overset ones too). */
  texts: TextFitInfo[];
  /**
   * Why the record cannot be applied (its render would fail the same way);
   * `overset` and `texts` are empty then.
   */
  error?: string;
}

/** What `layout()` hands back, one entry per record asked for, in order. */
export interface LayoutResult {
  records: LayoutRecord[];
  /** Time taken in the page for all of them, ms. */
  ms: number;
}

/** The encoding of a piece's image. */
export interface Encoding {
  format: "png" | "jpeg";
  /** JPEG quality, 0..1. */
  quality: number;
}

/** One piece to render. */
export interface RenderRequest extends Encoding {
  payload: PiecePayload;
  /**
   * Where the page POSTs the image (its own origin). Unset, the image comes
   * back in the result as base64.
   */
  postTo?: string;
  /** Also a PNG thumbnail this many pixels wide; unset or 0 for none. */
  thumbnail?: number;
}

/** Time spent inside the page on one piece, in ms. */
export interface PageTimings {
  apply: number;
  paint: number;
  encode: number;
  /** Blob to base64 (or handing it to the upload). */
  serialize: number;
}

/** What `render()` hands back. */
export interface RenderResult {
  /** The image, base64, when it was not posted. */
  data?: string;
  /** The thumbnail, base64 PNG, when asked for. */
  thumbnail?: string;
  width: number;
  height: number;
  timings: PageTimings;
  /** The piece's overset texts; absent when none. */
  overset?: OversetInfo[];
}

/** Paint and encode the current piece `count` times: the benchmark's floor. */
export interface FloorRequest extends Encoding {
  count: number;
}

/** What `floor()` reports. */
export interface FloorResult {
  /** Time taken for all `count` rounds. */
  ms: number;
}

/** A chunk of records to lay out as one print document (vector mode). */
export interface VectorRequest {
  payloads: PiecePayload[];
  /** Also a PNG thumbnail per record this many pixels wide; 0 for none. */
  thumbnail?: number;
}

/** A record that could not be laid out; the rest of its chunk still prints. */
export interface VectorFailure {
  index: number;
  message: string;
}

/** Time spent inside the page on one record of a chunk, in ms. */
export interface VectorRecordTimings {
  apply: number;
  svg: number;
  /** Painting and encoding the thumbnail, when asked for. */
  thumbnail: number;
}

/** What `vector()` hands back: the print document is ready in the page. */
export interface VectorResult {
  /** The records laid out, one print page each, in page order. */
  pages: number[];
  /** Per printed record, in page order. */
  timings: VectorRecordTimings[];
  /** Per printed record, in page order, base64 PNG, when asked for. */
  thumbnails: string[];
  /** Per printed record, in page order: its overset texts (often none). */
  overset: OversetInfo[][];
  failed: VectorFailure[];
  /** Setting the print document and waiting for its images, ms. */
  layout: number;
  /** Characters of SVG in the print document. */
  svgChars: number;
}

/** What the render page exposes as `globalThis.pressrun`. */
export interface PageApi {
  /** Loads fonts and the document; call once, before rendering. */
  load(spec: PageSpec): Promise<LoadResult>;
  /** Applies one record's values, paints and encodes the piece. */
  render(request: RenderRequest): Promise<RenderResult>;
  /** Paints and encodes the current piece again, nothing else. */
  floor(request: FloorRequest): Promise<FloorResult>;
  /**
   * Applies each record and exports it with Fabric's `toSVG()`, then lays
   * the chunk out as one print document, one CSS page per record, and waits
   * for its images. Deno prints it, then calls `clearPrint()`.
   */
  vector(request: VectorRequest): Promise<VectorResult>;
  /** Empties the print document. */
  clearPrint(): void;
  /**
   * Applies each record as `render()` and `vector()` do (the same values,
   * fonts and copyfit) and reports its fitted and overset texts, without
   * painting, encoding or exporting anything: preflight.
   */
  layout(request: LayoutRequest): Promise<LayoutResult>;
}

declare global {
  /** The render page's API; only defined inside the render page. */
  var pressrun: PageApi;
}
