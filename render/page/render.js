// @ts-check
// The render page: Fabric and the template load once; each record is one
// call to `pressrun.render(request)`, which applies the record's values,
// paints and returns the encoded image. Runs in Chromium as a classic script,
// no build; `deno check` checks it against ../page_api.ts (see README.md).
"use strict";

/**
 * @import {
 *   Encoding,
 *   FabricObject as ObjectJson,
 *   FloorRequest,
 *   FloorResult,
 *   ImageStyle,
 *   LoadResult,
 *   PageApi,
 *   PageSpec,
 *   PageVariable,
 *   PiecePayload,
 *   QrMatrix,
 *   QrStyle,
 *   RenderRequest,
 *   RenderResult,
 *   TextStyle,
 *   VectorRequest,
 *   VectorResult,
 * } from "../page_api.ts"
 * @import { FabricImage, FabricObject, FabricText, StaticCanvas } from "fabric"
 * @import {} from "./globals.d.ts"
 */

/**
 * An object as the template left it: the box a text must fit into and an
 * image must fill.
 * @typedef {object} Base
 * @property {boolean} visible
 * @property {number} width the stated width, unscaled
 * @property {number} height the stated height, unscaled
 * @property {number} boxWidth the width on the canvas, scaled
 * @property {number} boxHeight the height on the canvas, scaled
 */
/**
 * A text slot: the text now set, the template's font size and the font size
 * found for each recent text.
 * @typedef {{ kind: "text", obj: FabricText, style: TextStyle, base: Base,
 *   fontSize: number, fits: Map<string, number>, text?: string }} TextSlot
 */
/**
 * An image slot and the source now set.
 * @typedef {{ kind: "image", obj: FabricImage, style: ImageStyle, base: Base,
 *   image?: string }} ImageSlot
 */
/**
 * A QR code slot and the matrix now drawn.
 * @typedef {{ kind: "qr", obj: FabricObject, style: QrStyle, base: Base,
 *   matrix: QrMatrix | null }} QrSlot
 */
/**
 * An object only shown or hidden.
 * @typedef {{ kind: "other", obj: FabricObject, base: Base }} OtherSlot
 */
/** @typedef {TextSlot | ImageSlot | QrSlot | OtherSlot} Slot */

/** The loaded template: its canvas, and the variable objects by id. */
const state = {
  /** @type {StaticCanvas | null} */ canvas: null,
  /** @type {HTMLCanvasElement | null} */ element: null,
  /** @type {Map<string, Slot>} */ slots: new Map(),
  /** @type {PageSpec["print"] | null} */ print: null,
  /** The canvas's objects export for print (QR paths, blob: images). */
  vectorReady: false,
};

/**
 * Loads fonts, then the Fabric document, scaled to the raster size.
 * @param {PageSpec} spec
 * @returns {Promise<LoadResult>}
 */
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
  if (!canvas.backgroundColor) canvas.backgroundColor = "#ffffff";
  canvas.setViewportTransform([spec.zoom, 0, 0, spec.zoom, 0, 0]);
  state.slots.clear();
  const variables = new Map(spec.variables.map((v) => [v.id, v]));
  const authored = authoredBoxes(spec.canvas.objects);
  /** @param {FabricObject[]} objects */
  const visit = (objects) => {
    for (const obj of objects) {
      obj.objectCaching = false;
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
 * one a `fit: "shrink"` text must fit into.
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
    case "text":
      if (!(obj instanceof f.FabricText)) break;
      return {
        kind: "text",
        obj,
        style: variable,
        base,
        fontSize: obj.fontSize,
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

/**
 * Dark modules as filled rectangles over the object's box, with a quiet zone.
 * @param {CanvasRenderingContext2D} ctx
 * @param {QrSlot} slot
 */
function drawQr(ctx, { obj, style, matrix: qr }) {
  const w = obj.width;
  const h = obj.height;
  ctx.save();
  ctx.fillStyle = style.background;
  ctx.fillRect(-w / 2, -h / 2, w, h);
  if (qr) {
    const quiet = style.quietZone;
    const count = qr.size + 2 * quiet;
    const side = Math.min(w, h);
    const unit = side / count;
    const x0 = -side / 2 + quiet * unit;
    const y0 = -side / 2 + quiet * unit;
    ctx.fillStyle = style.color;
    ctx.beginPath();
    for (let y = 0; y < qr.size; y++) {
      let x = 0;
      while (x < qr.size) {
        if (qr.modules[y * qr.size + x] !== "1") {
          x++;
          continue;
        }
        const start = x;
        while (x < qr.size && qr.modules[y * qr.size + x] === "1") x++;
        // Overlap by a hair so neighbouring rows leave no seams.
        ctx.rect(
          x0 + start * unit,
          y0 + y * unit,
          (x - start) * unit,
          unit + 0.02,
        );
      }
    }
    ctx.fill();
  }
  ctx.restore();
}

/**
 * Applies a record's values; every variable object is reset from its base.
 * @param {PiecePayload} payload
 */
async function apply(payload) {
  /** @type {Promise<void>[]} */
  const loads = [];
  try {
    for (const update of payload.objects) {
      const slot = state.slots.get(update.id);
      if (!slot) throw new Error(`Unknown object ${update.id}`);
      const { obj, base } = slot;
      obj.visible = base.visible !== false && update.visible;
      // A value equal to the one already on the object leaves it as it is:
      // the object's whole state follows from the value, so nothing leaks.
      if (
        slot.kind === "text" && update.text !== undefined &&
        update.text !== slot.text
      ) {
        setText(slot, update.text);
        slot.text = update.text;
      }
      if (slot.kind === "qr" && update.qr !== undefined) {
        slot.matrix = update.qr;
      }
      if (slot.kind !== "image" || update.image === undefined) continue;
      if (update.image === null) obj.visible = false;
      else if (update.image !== slot.image) {
        slot.image = undefined;
        const src = update.image;
        loads.push(setImage(slot, src).then(() => void (slot.image = src)));
      }
    }
  } catch (error) {
    // A record that fails half-way still lets its image loads finish, so
    // none lands on the next record.
    await Promise.allSettled(loads);
    throw error;
  }
  await Promise.all(loads);
}

const FIT_CACHE_SIZE = 256;

/**
 * Sets a text; with `fit: "shrink"` finds the largest font size that fits the
 * template's box. The size found for a text is remembered per object (the
 * search is pure), so a repeated value costs one layout.
 * @param {TextSlot} slot
 * @param {string} text
 */
function setText({ obj, style, base, fontSize, fits }, text) {
  const known = fits.get(text);
  obj.set({ text, fontSize: known ?? fontSize, width: base.width });
  obj.initDimensions();
  if (style.fit !== "shrink" || known !== undefined) return;
  const isBox = obj instanceof globalThis.fabric.Textbox;
  const tooBig = () =>
    isBox
      ? obj.height > base.height + 0.5 || obj.width > base.width + 0.5
      : obj.width > base.width + 0.5;
  let size = fontSize;
  if (tooBig()) {
    // Binary search on the font size: the largest that fits.
    let lo = style.minFontSize;
    let hi = fontSize;
    for (let i = 0; i < 12 && hi - lo > 0.25; i++) {
      const mid = (lo + hi) / 2;
      obj.set({ fontSize: mid, width: base.width });
      obj.initDimensions();
      if (tooBig()) hi = mid;
      else lo = mid;
    }
    size = lo;
    obj.set({ fontSize: size, width: base.width });
    obj.initDimensions();
  }
  fits.set(text, size);
  if (fits.size > FIT_CACHE_SIZE) dropOldest(fits);
}

const IMAGE_CACHE_SIZE = 32;
/**
 * Decoded images by source, most recently used last.
 * @type {Map<string, Promise<HTMLImageElement>>}
 */
const images = new Map();

/** @param {string} src */
async function decodedImage(src) {
  let image = images.get(src);
  if (image) {
    images.delete(src);
  } else {
    image = globalThis.fabric.util.loadImage(src);
    image.catch(() => images.delete(src));
  }
  images.set(src, image);
  if (images.size > IMAGE_CACHE_SIZE) dropOldest(images);
  return await image;
}

/**
 * The first key of a map is its oldest: drop it.
 * @param {Map<string, unknown>} map
 */
function dropOldest(map) {
  const oldest = map.keys().next();
  if (!oldest.done) map.delete(oldest.value);
}

/**
 * Sets the image and fits it to the template's box: `cover` crops it,
 * `contain` shows all of it, `fill` stretches it.
 * @param {ImageSlot} slot
 * @param {string} src
 */
async function setImage({ obj, style, base }, src) {
  obj.setElement(await decodedImage(src));
  const el = obj.getElement();
  const iw = ("naturalWidth" in el && el.naturalWidth) || el.width;
  const ih = ("naturalHeight" in el && el.naturalHeight) || el.height;
  if (style.fit === "fill") {
    obj.set({ cropX: 0, cropY: 0, width: iw, height: ih });
    obj.set({ scaleX: base.boxWidth / iw, scaleY: base.boxHeight / ih });
  } else if (style.fit === "contain") {
    const s = Math.min(base.boxWidth / iw, base.boxHeight / ih);
    obj.set({
      cropX: 0,
      cropY: 0,
      width: iw,
      height: ih,
      scaleX: s,
      scaleY: s,
    });
  } else {
    const s = Math.max(base.boxWidth / iw, base.boxHeight / ih);
    const cw = base.boxWidth / s;
    const ch = base.boxHeight / s;
    obj.set({
      cropX: (iw - cw) / 2,
      cropY: (ih - ch) / 2,
      width: cw,
      height: ch,
      scaleX: s,
      scaleY: s,
    });
  }
}

/** @returns {{ canvas: StaticCanvas, element: HTMLCanvasElement }} */
function loaded() {
  const { canvas, element } = state;
  if (!canvas || !element) throw new Error("No template loaded");
  return { canvas, element };
}

/**
 * @param {Encoding} encoding
 * @returns {Promise<Blob>}
 */
function encode({ format, quality }) {
  const { element } = loaded();
  const type = format === "jpeg" ? "image/jpeg" : "image/png";
  return new Promise((resolve, reject) => {
    element.toBlob(
      (blob) => {
        if (!blob || blob.size === 0) {
          reject(new Error("The canvas encoded to an empty image"));
        } else resolve(blob);
      },
      type,
      quality,
    );
  });
}

/**
 * The blob as base64.
 * @param {Blob} blob
 * @returns {Promise<string>}
 */
function toBase64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(",") + 1));
    };
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/**
 * A small PNG of the current piece, `width` pixels wide, as base64.
 * @param {number} width
 */
async function thumbnailOf(width) {
  const source = loaded().element;
  const small = document.createElement("canvas");
  small.width = width;
  small.height = Math.round((source.height * width) / source.width);
  const ctx = small.getContext("2d", { alpha: false });
  if (!ctx) throw new Error("No 2D context for the thumbnail");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(source, 0, 0, small.width, small.height);
  /** @type {Blob | null} */
  const blob = await new Promise((resolve) =>
    small.toBlob(resolve, "image/png")
  );
  if (!blob) throw new Error("The thumbnail encoded to nothing");
  return await toBase64(blob);
}

/**
 * One piece: apply, paint, encode. The image is POSTed to `postTo` when given
 * (binary, to the page's own origin), else returned as base64.
 * @param {RenderRequest} request
 * @returns {Promise<RenderResult>}
 */
async function render({ payload, format, quality, postTo, thumbnail }) {
  const { canvas, element } = loaded();
  const t0 = performance.now();
  await apply(payload);
  const t1 = performance.now();
  canvas.renderAll();
  const t2 = performance.now();
  const blob = await encode({ format, quality });
  const t3 = performance.now();
  let data;
  if (postTo) {
    // Not awaited: Deno waits for the upload; the page is free for the next
    // record meanwhile.
    fetch(postTo, { method: "POST", body: blob }).catch((error) =>
      console.error(`Posting the piece failed: ${error}`)
    );
  } else {
    data = await toBase64(blob);
  }
  const t4 = performance.now();
  return {
    data,
    thumbnail: thumbnail ? await thumbnailOf(thumbnail) : undefined,
    width: element.width,
    height: element.height,
    timings: {
      apply: t1 - t0,
      paint: t2 - t1,
      encode: t3 - t2,
      serialize: t4 - t3,
    },
  };
}

/**
 * The in-page floor, for the benchmark: `count` × (paint + encode) of the
 * current state, nothing else.
 * @param {FloorRequest} request
 * @returns {Promise<FloorResult>}
 */
async function floor({ count, format, quality }) {
  const { canvas } = loaded();
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    canvas.renderAll();
    await encode({ format, quality });
  }
  return { ms: performance.now() - started };
}

// ---- Vector mode: toSVG() per record, one print document per chunk --------

const BLOB_CACHE_SIZE = 64;
/**
 * A `blob:` URL per distinct `data:` URL, most recently used last. Every
 * `<image>` of a chunk showing the same picture names the same short URL, so
 * the SVG stays small and Chromium's PDF writer stores the picture once per
 * chunk. Entries are revoked only between chunks.
 * @type {Map<string, string>}
 */
const blobUrls = new Map();

/** @param {string} src a `data:` URL */
function blobUrlOf(src) {
  let url = blobUrls.get(src);
  if (url) {
    blobUrls.delete(src);
  } else {
    const comma = src.indexOf(",");
    const meta = src.slice(5, comma);
    const type = meta.split(";")[0] ?? "";
    const body = src.slice(comma + 1);
    const bytes = meta.endsWith(";base64")
      ? Uint8Array.from(atob(body), (c) => c.charCodeAt(0))
      : new TextEncoder().encode(decodeURIComponent(body));
    url = URL.createObjectURL(new Blob([bytes], { type }));
  }
  blobUrls.set(src, url);
  return url;
}

/** Revokes the oldest blob URLs past the cache size; only between chunks. */
function trimBlobUrls() {
  while (blobUrls.size > BLOB_CACHE_SIZE) {
    const oldest = blobUrls.entries().next();
    if (oldest.done) break;
    URL.revokeObjectURL(oldest.value[1]);
    blobUrls.delete(oldest.value[0]);
  }
}

/**
 * A number for an SVG attribute, to 1/1000 of a design unit.
 * @param {number} v
 */
function svgNumber(v) {
  return String(Math.round(v * 1000) / 1000);
}

/**
 * The dark modules of a QR code as one SVG path (a union of runs, so no seams
 * between rows), with the quiet zone, in the object's own coordinates.
 * @param {QrSlot} slot
 */
function qrPath({ obj, style, matrix: qr }) {
  if (!qr) return "";
  const quiet = style.quietZone;
  const count = qr.size + 2 * quiet;
  const side = Math.min(obj.width, obj.height);
  const unit = side / count;
  const x0 = -side / 2 + quiet * unit;
  const y0 = -side / 2 + quiet * unit;
  const u = svgNumber(unit);
  let d = "";
  for (let y = 0; y < qr.size; y++) {
    let x = 0;
    while (x < qr.size) {
      if (qr.modules[y * qr.size + x] !== "1") {
        x++;
        continue;
      }
      const start = x;
      while (x < qr.size && qr.modules[y * qr.size + x] === "1") x++;
      const w = svgNumber((x - start) * unit);
      d += `M${svgNumber(x0 + start * unit)} ${svgNumber(y0 + y * unit)}` +
        `h${w}v${u}h-${w}z`;
    }
  }
  return d;
}

/**
 * Once per loaded template: QR objects export their modules as one path, and
 * images name a shared `blob:` URL instead of their `data:` URL.
 */
function prepareVector() {
  if (state.vectorReady) return;
  const f = globalThis.fabric;
  for (const slot of state.slots.values()) {
    if (slot.kind !== "qr") continue;
    const { obj, style } = slot;
    obj._toSVG = () => {
      const w = svgNumber(obj.width);
      const h = svgNumber(obj.height);
      return [
        "<g ",
        "COMMON_PARTS",
        ">\n",
        `<rect x="-${svgNumber(obj.width / 2)}" y="-${
          svgNumber(obj.height / 2)
        }" width="${w}" height="${h}" style="fill:${style.background};stroke:none"/>\n`,
        `<path d="${qrPath(slot)}" style="fill:${style.color};stroke:none"/>\n`,
        "</g>\n",
      ];
    };
  }
  /** @param {FabricObject[]} objects */
  const visit = (objects) => {
    for (const obj of objects) {
      if (obj instanceof f.FabricImage) {
        const image = obj;
        const original = image.getSrc.bind(image);
        image.getSrc = (filtered) => {
          const src = original(filtered);
          return src.startsWith("data:") ? blobUrlOf(src) : src;
        };
      }
      if (obj instanceof f.Group) visit(obj.getObjects());
    }
  };
  visit(loaded().canvas.getObjects());
  state.vectorReady = true;
}

/** The print document's style: one CSS page per record at trim + bleed. */
function printStyle() {
  const print = state.print;
  if (!print) throw new Error("No template loaded");
  const w = `${print.geometry.widthPt}pt`;
  const h = `${print.geometry.heightPt}pt`;
  return `@page{size:${w} ${h};margin:0}` +
    "html,body{margin:0;padding:0;background:transparent}" +
    `.pr-page{width:${w};height:${h};overflow:hidden;position:relative;` +
    "break-after:page}.pr-page:last-child{break-after:auto}" +
    `.pr-page>svg{display:block;width:${w};height:${h}}`;
}

/**
 * Resolves when the image has loaded; rejects when it cannot.
 * @param {Element} image
 * @returns {Promise<void>}
 */
function imageLoaded(image) {
  return new Promise((resolve, reject) => {
    image.addEventListener("load", () => resolve(), { once: true });
    image.addEventListener(
      "error",
      () =>
        reject(
          new Error(
            `An image of the print document did not load: ${
              image.getAttribute("href") ?? image.getAttribute("xlink:href")
            }`,
          ),
        ),
      { once: true },
    );
  });
}

/**
 * One print document for a chunk of records: each record is applied and
 * exported with `toSVG()`; a record that throws is left out and reported.
 * Resolves when every image of the document has loaded.
 * @param {VectorRequest} request
 * @returns {Promise<VectorResult>}
 */
async function vector({ payloads, thumbnail }) {
  const { canvas } = loaded();
  const print = state.print;
  if (!print) throw new Error("No template loaded");
  prepareVector();
  clearPrint();
  trimBlobUrls();
  const vpt = canvas.viewportTransform;
  const options = {
    suppressPreamble: true,
    width: `${print.geometry.widthPt}pt`,
    height: `${print.geometry.heightPt}pt`,
    viewBox: {
      x: 0,
      y: 0,
      width: canvas.width / vpt[0],
      height: canvas.height / vpt[3],
    },
  };
  /** @type {VectorResult} */
  const result = {
    pages: [],
    timings: [],
    thumbnails: [],
    failed: [],
    layout: 0,
    svgChars: 0,
  };
  /** @type {string[]} */
  const parts = [];
  for (const payload of payloads) {
    try {
      const t0 = performance.now();
      await apply(payload);
      const t1 = performance.now();
      const svg = canvas.toSVG(options);
      const t2 = performance.now();
      let small;
      if (thumbnail) {
        canvas.renderAll();
        small = await thumbnailOf(thumbnail);
      }
      const t3 = performance.now();
      parts.push(`<div class="pr-page">${svg}</div>`);
      result.svgChars += svg.length;
      result.pages.push(payload.index);
      result.timings.push({ apply: t1 - t0, svg: t2 - t1, thumbnail: t3 - t2 });
      if (small) result.thumbnails.push(small);
    } catch (error) {
      result.failed.push({
        index: payload.index,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }
  const started = performance.now();
  const style = document.createElement("style");
  style.textContent = printStyle();
  document.head.append(style);
  document.body.innerHTML = parts.join("");
  await Promise.all(
    [...document.body.querySelectorAll("image")].map(imageLoaded),
  );
  await document.fonts.ready;
  result.layout = performance.now() - started;
  return result;
}

/** Empties the print document (after printing, or before the next chunk). */
function clearPrint() {
  document.body.replaceChildren();
  for (const style of document.head.querySelectorAll("style")) style.remove();
}

/** @type {PageApi} */
const api = { load, render, floor, vector, clearPrint };
globalThis.pressrun = api;
