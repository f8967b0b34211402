// @ts-check
// The render page, first script: the page's state, and load(): fonts, then
// the Fabric document with one slot per variable object. The page's scripts
// are classic scripts loaded in order by render.html (load.js, qr.js,
// barcode.js, apply.js, vector.js, render.js); they share their top-level names, declared
// in scope.d.ts. No build; `deno check` checks them against ../page_api.ts
// (see README.md).
"use strict";

/**
 * @import {
 *   FabricObject as ObjectJson,
 *   LoadResult,
 *   PageSpec,
 *   PageVariable,
 * } from "../page_api.ts"
 * @import { FabricObject, Group } from "fabric"
 * @import { Base, BarcodeSlot, PageState, QrSlot, Slot } from "./scope.d.ts"
 * @import {} from "./globals.d.ts"
 */

/** Chromium's largest canvas side, in pixels. */
const MAX_CANVAS_SIDE = 32_767;

/** @type {PageState} */
const state = {
  canvas: null,
  element: null,
  slots: new Map(),
  print: null,
  vectorReady: false,
  layers: [],
};

/**
 * Loads fonts, then the Fabric document, scaled to the raster size.
 * @type {typeof globalThis.load}
 */
// Used by render.js: classic scripts share their top-level names.
// deno-lint-ignore no-unused-vars
async function load(spec) {
  const started = performance.now();
  const f = globalThis.fabric;
  for (const font of spec.fonts) {
    const bytes = Uint8Array.from(atob(font.data), (c) => c.charCodeAt(0));
    const face = new FontFace(font.family, bytes, {
      weight: font.weight,
      style: font.style,
    });
    document.fonts.add(await face.load());
  }
  await loadSystemFonts(spec.canvas.objects);
  const element = document.createElement("canvas");
  // An opaque context makes the PNG encoder write RGB, which the PDF writer
  // embeds as is.
  element.getContext("2d", { alpha: false });
  const canvas = new f.StaticCanvas(element, {
    width: spec.pixelWidth,
    height: spec.pixelHeight,
    enableRetinaScaling: false,
    renderOnAddRemove: false,
  });
  await canvas.loadFromJSON(spec.canvas);
  // loadFromJSON() sets the canvas to the document's width and height, which
  // are design units: the raster is the page's pixel size, reached by zoom.
  canvas.setDimensions({ width: spec.pixelWidth, height: spec.pixelHeight });
  if (!canvas.backgroundColor) canvas.backgroundColor = "#ffffff";
  const { x, y } = spec.origin;
  canvas.setViewportTransform([
    spec.zoom,
    0,
    0,
    spec.zoom,
    -x * spec.zoom,
    -y * spec.zoom,
  ]);
  state.slots.clear();
  const variables = new Map(spec.variables.map((v) => [v.id, v]));
  const authored = authoredBoxes(spec.canvas.objects);
  // Objects draw straight onto the page, never from a cache canvas (Fabric
  // sizes those to a pixel budget, so a large object would print soft),
  // except groups with an opacity below 1 or a shadow: as Fabric does, such a
  // group is drawn into one layer, then the layer with the group's opacity
  // and shadow (drawn child by child, a child's shadow and colour would show
  // through its neighbour). That layer may be as large as the page: the
  // budget covers the page at its pixel size.
  const side = Math.max(spec.pixelWidth, spec.pixelHeight);
  f.config.configure({
    perfLimitSizeTotal: Math.max(
      f.config.perfLimitSizeTotal,
      4 * spec.pixelWidth * spec.pixelHeight,
    ),
    maxCacheSideLimit: Math.max(
      f.config.maxCacheSideLimit,
      Math.min(MAX_CANVAS_SIDE, 2 * side),
    ),
  });
  state.layers = [];
  /** @param {FabricObject[]} objects */
  const visit = (objects) => {
    for (const obj of objects) {
      obj.objectCaching = obj instanceof f.Group &&
        (obj.opacity < 1 || Boolean(obj.shadow));
      if (obj.objectCaching) state.layers.push(/** @type {Group} */ (obj));
      // Fabric's get() returns any (custom properties are untyped): read it
      // as unknown and check it.
      /** @type {unknown} */
      const id = obj.get("pressrunId");
      if (typeof id === "string") {
        const variable = variables.get(id);
        if (!variable) throw new Error(`Object ${id} is not in the spec`);
        state.slots.set(id, slotFor(obj, variable, authored.get(id)));
      }
      if (obj instanceof f.Group) visit(obj.getObjects());
    }
  };
  visit(canvas.getObjects());
  state.canvas = canvas;
  state.element = element;
  state.print = spec.print;
  state.vectorReady = false;
  return { ms: performance.now() - started, objects: state.slots.size };
}

/**
 * The children of a serialised group. `Array.isArray` narrows to `any[]`;
 * parse.ts checked that every item is an object.
 * @param {ObjectJson} o
 * @returns {ObjectJson[]}
 */
function children(o) {
  return Array.isArray(o.objects) ? o.objects : [];
}

/** @param {ObjectJson[]} objects */
async function loadSystemFonts(objects) {
  /** @type {Set<string>} */
  const wanted = new Set();
  /** @param {ObjectJson[]} list */
  const visit = (list) => {
    for (const o of list) {
      if (o.fontFamily) {
        wanted.add(
          `${o.fontStyle ?? "normal"} ${o.fontWeight ?? "normal"} 40px ${
            JSON.stringify(String(o.fontFamily))
          }`,
        );
      }
      visit(children(o));
    }
  };
  visit(objects);
  await Promise.all([...wanted].map((font) => document.fonts.load(font)));
}

/**
 * The box sizes as the template states them. Fabric recomputes a text's
 * height from its (placeholder) text on load, so the stated height is the
 * one a text with a `fit` must fit into.
 * @param {ObjectJson[]} objects
 * @param {Map<string, { width?: number, height?: number }>} boxes
 */
function authoredBoxes(objects, boxes = new Map()) {
  for (const o of objects) {
    if (typeof o.pressrunId === "string") {
      boxes.set(o.pressrunId, {
        width: typeof o.width === "number" ? o.width : undefined,
        height: typeof o.height === "number" ? o.height : undefined,
      });
    }
    authoredBoxes(children(o), boxes);
  }
  return boxes;
}

/**
 * @param {FabricObject} obj
 * @param {PageVariable} variable
 * @param {{ width?: number, height?: number } | undefined} authored
 * @returns {Slot}
 */
function slotFor(obj, variable, authored) {
  const f = globalThis.fabric;
  /** @type {Base} */
  const base = {
    visible: obj.visible,
    width: authored?.width ?? obj.width,
    height: authored?.height ?? obj.height,
    boxWidth: obj.width * obj.scaleX,
    boxHeight: obj.height * obj.scaleY,
  };
  switch (variable.kind) {
    case "qr": {
      /** @type {QrSlot} */
      const slot = { kind: "qr", obj, style: variable, base, matrix: null };
      obj._render = (ctx) => drawQr(ctx, slot);
      return slot;
    }
    case "barcode": {
      /** @type {BarcodeSlot} */
      const slot = {
        kind: "barcode",
        obj,
        style: variable,
        base,
        drawing: null,
        paths: null,
      };
      obj._render = (ctx) => drawBarcode(ctx, slot);
      return slot;
    }
    case "text":
      if (!(obj instanceof f.FabricText)) break;
      return {
        kind: "text",
        obj,
        style: variable,
        base,
        fontSize: obj.fontSize,
        charSpacing: obj.charSpacing,
        scaleX: obj.scaleX,
        fits: new Map(),
      };
    case "image":
      if (!(obj instanceof f.FabricImage)) break;
      return { kind: "image", obj, style: variable, base };
    case "other":
      return { kind: "other", obj, base };
  }
  throw new Error(`Object ${variable.id} (${obj.type}) is no ${variable.kind}`);
}

/** @type {typeof globalThis.loaded} */
// Used by vector.js and render.js: classic scripts share their top-level names.
// deno-lint-ignore no-unused-vars
function loaded() {
  const { canvas, element } = state;
  if (!canvas || !element) throw new Error("No template loaded");
  return { canvas, element };
}
