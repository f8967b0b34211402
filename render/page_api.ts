/**
 * The render page's contract, written once: what Deno hands the page (the
 * spec once, then one request per piece) and what the page hands back. The
 * page's code (`render/page/render.js`) is type-checked against these types
 * and {@linkcode RenderPage} calls it through them: `globalThis.pressrun` is
 * typed as {@linkcode PageApi} inside `page.evaluate()`.
 *
 * Everything crossing the boundary is plain JSON: puppeteer serialises it.
 *
 * @module
 */
import type { ObjectStyle } from "../template/format.ts";
import type { FabricDocument } from "../template/parse.ts";

export type {
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
  fonts: PageFont[];
  /** One entry per object with a `pressrunId`. */
  variables: PageVariable[];
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

/** The new state of one variable object. */
export interface ObjectUpdate {
  id: string;
  visible: boolean;
  text?: string;
  /** A `data:` URL, or null to hide the image. */
  image?: string | null;
  qr?: QrMatrix;
}

/** Everything that changes between two pieces. */
export interface PiecePayload {
  /** 1-based record number. */
  index: number;
  objects: ObjectUpdate[];
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

/** What the render page exposes as `globalThis.pressrun`. */
export interface PageApi {
  /** Loads fonts and the document; call once, before rendering. */
  load(spec: PageSpec): Promise<LoadResult>;
  /** Applies one record's values, paints and encodes the piece. */
  render(request: RenderRequest): Promise<RenderResult>;
  /** Paints and encodes the current piece again, nothing else. */
  floor(request: FloorRequest): Promise<FloorResult>;
}

declare global {
  /** The render page's API; only defined inside the render page. */
  var pressrun: PageApi;
}
