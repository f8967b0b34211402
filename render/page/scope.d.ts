/**
 * The render page's own types, and the names its scripts share.
 *
 * The page's scripts (`load.js`, `qr.js`, `barcode.js`, `apply.js`,
 * `vector.js`, `render.js`, loaded in that order) are classic scripts: at run time their
 * top-level names share one global scope. Deno checks each file as a module,
 * so a name one script takes from another is declared here; the script that
 * defines it is annotated `@type {typeof globalThis.name}` (or with the type
 * named here), so the two cannot drift apart.
 *
 * @module
 */
import type {
  FabricImage,
  FabricObject,
  FabricText,
  Group,
  StaticCanvas,
} from "fabric";
import type {
  ImageStyle,
  OversetInfo,
  PageApi,
  PageSpec,
  PiecePayload,
  QrStyle,
  TextFitInfo,
  TextStyle,
} from "../page_api.ts";
import type { QrMatrix } from "../page_api.ts";
import type { BarcodeDrawing, BarcodeStyle } from "../page_api.ts";

/**
 * An object as the template left it: the box a text must fit into and an
 * image must fill.
 */
export interface Base {
  visible: boolean;
  /** The stated width, unscaled. */
  width: number;
  /** The stated height, unscaled. */
  height: number;
  /** The width on the canvas, scaled. */
  boxWidth: number;
  /** The height on the canvas, scaled. */
  boxHeight: number;
}

/** Where a text's copyfit ended: the values drawn, and whether it overflows. */
export interface TextFitState {
  fontSize: number;
  charSpacing: number;
  /** A factor of the template's `scaleX`. */
  scaleX: number;
  overset: boolean;
}

/**
 * A text slot: the text now set, the template's font size, letter spacing
 * and horizontal scale, and the copyfit found for each recent text.
 */
export interface TextSlot {
  kind: "text";
  obj: FabricText;
  style: TextStyle;
  base: Base;
  fontSize: number;
  charSpacing: number;
  scaleX: number;
  fits: Map<string, TextFitState>;
  /** The copyfit of the text now set, when the text has a `fit`. */
  fitted?: TextFitState;
  text?: string;
}

/** An image slot and the source now set. */
export interface ImageSlot {
  kind: "image";
  obj: FabricImage;
  style: ImageStyle;
  base: Base;
  image?: string;
}

/** A QR code slot and the matrix now drawn. */
export interface QrSlot {
  kind: "qr";
  obj: FabricObject;
  style: QrStyle;
  base: Base;
  matrix: QrMatrix | null;
}

/** An object only shown or hidden. */
export interface OtherSlot {
  kind: "other";
  obj: FabricObject;
  base: Base;
}

/** A barcode slot, the drawing now drawn and its canvas paths. */
export interface BarcodeSlot {
  kind: "barcode";
  obj: FabricObject;
  style: BarcodeStyle;
  base: Base;
  drawing: BarcodeDrawing | null;
  /** `drawing`'s paths, made for the canvas when first painted. */
  paths: { drawing: BarcodeDrawing; bars: Path2D; text: Path2D } | null;
}

export type Slot = TextSlot | ImageSlot | QrSlot | BarcodeSlot | OtherSlot;

/** The loaded template: its canvas, and the variable objects by id. */
export interface PageState {
  canvas: StaticCanvas | null;
  element: HTMLCanvasElement | null;
  slots: Map<string, Slot>;
  print: PageSpec["print"] | null;
  /** The canvas's objects export for print (QR paths, blob: images). */
  vectorReady: boolean;
  /**
   * Groups drawn as one layer (opacity below 1 or a shadow): Fabric caches
   * them, so each record redraws their layer.
   */
  layers: Group[];
}

declare global {
  // load.js
  /** The loaded template. */
  const state: PageState;
  /** Loads fonts, then the Fabric document, scaled to the raster size. */
  var load: PageApi["load"];
  /** The loaded canvas and its element; throws before `load()`. */
  var loaded: () => { canvas: StaticCanvas; element: HTMLCanvasElement };

  // qr.js
  /** Paints a QR slot on the canvas (its object's `_render`). */
  var drawQr: (ctx: CanvasRenderingContext2D, slot: QrSlot) => void;
  /** A QR slot's SVG markup (its object's `_toSVG`). */
  var qrSvg: (slot: QrSlot) => string[];

  // barcode.js
  /** Paints a barcode slot on the canvas (its object's `_render`). */
  var drawBarcode: (ctx: CanvasRenderingContext2D, slot: BarcodeSlot) => void;
  /** A barcode slot's SVG markup (its object's `_toSVG`). */
  var barcodeSvg: (slot: BarcodeSlot) => string[];

  // apply.js
  /** Applies a record's values; every variable object is reset from its base. */
  var apply: (payload: PiecePayload) => Promise<void>;
  /** The visible texts with a `fit`, as the last `apply()` left them. */
  var textFits: () => { texts: TextFitInfo[]; overset: OversetInfo[] };
  var layout: PageApi["layout"];

  // vector.js
  var vector: PageApi["vector"];
  var clearPrint: PageApi["clearPrint"];

  // render.js
  var render: PageApi["render"];
  var floor: PageApi["floor"];
  /** A small PNG of the current piece, `width` pixels wide, as base64. */
  var thumbnailOf: (width: number) => string;
}
