// The render page: Fabric and the template load once; each record is one
// call to `pressrun.render(payload)`, which applies the record's values, paints
// and returns the encoded image. Runs in Chromium; plain JavaScript, no build.
"use strict";

/** @typedef {{ obj: any, kind: string, base: Record<string, any> }} Slot */

const state = {
  /** @type {any} */ canvas: null,
  /** @type {HTMLCanvasElement | null} */ element: null,
  /** @type {Map<string, Slot>} */ slots: new Map(),
};

/** Loads fonts, then the Fabric document, scaled to the raster size. */
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
  const authored = authoredBoxes(spec.canvas.objects);
  const visit = (objects) => {
    for (const obj of objects) {
      obj.objectCaching = false;
      if (obj.pressrunId) {
        state.slots.set(
          obj.pressrunId,
          slotFor(obj, authored.get(obj.pressrunId)),
        );
      }
      if (obj.type?.toLowerCase() === "group") visit(obj.getObjects());
    }
  };
  visit(canvas.getObjects());
  state.canvas = canvas;
  state.element = element;
  return { ms: performance.now() - started, objects: state.slots.size };
}

async function loadSystemFonts(objects) {
  const wanted = new Set();
  const visit = (list) => {
    for (const o of list) {
      if (o.fontFamily) {
        wanted.add(
          `${o.fontStyle ?? "normal"} ${o.fontWeight ?? "normal"} 40px ${
            JSON.stringify(String(o.fontFamily))
          }`,
        );
      }
      if (Array.isArray(o.objects)) visit(o.objects);
    }
  };
  visit(objects);
  await Promise.all([...wanted].map((font) => document.fonts.load(font)));
}

/**
 * The box sizes as the template states them. Fabric recomputes a text's
 * height from its (placeholder) text on load, so the stated height is the
 * one a `fit: "shrink"` text must fit into.
 */
function authoredBoxes(objects, boxes = new Map()) {
  for (const o of objects) {
    if (o.pressrunId) {
      boxes.set(o.pressrunId, { width: o.width, height: o.height });
    }
    if (Array.isArray(o.objects)) authoredBoxes(o.objects, boxes);
  }
  return boxes;
}

function slotFor(obj, authored) {
  const kind = obj.qr ? "qr" : obj.text !== undefined ? "text" : obj.type;
  const base = {
    visible: obj.visible,
    text: obj.text,
    fontSize: obj.fontSize,
    width: authored?.width ?? obj.width,
    height: authored?.height ?? obj.height,
    scaleX: obj.scaleX,
    scaleY: obj.scaleY,
    boxWidth: obj.width * obj.scaleX,
    boxHeight: obj.height * obj.scaleY,
    originX: obj.originX,
    originY: obj.originY,
  };
  if (kind === "qr") {
    obj.pressrunQr = null;
    obj._render = function (ctx) {
      drawQr(ctx, this);
    };
  }
  return { obj, kind, base };
}

/** Dark modules as filled rectangles over the object's box, with a quiet zone. */
function drawQr(ctx, obj) {
  const qr = obj.pressrunQr;
  const w = obj.width;
  const h = obj.height;
  ctx.save();
  ctx.fillStyle = obj.qr.background ?? "#ffffff";
  ctx.fillRect(-w / 2, -h / 2, w, h);
  if (qr) {
    const quiet = obj.qr.quietZone ?? 4;
    const count = qr.size + 2 * quiet;
    const side = Math.min(w, h);
    const unit = side / count;
    const x0 = -side / 2 + quiet * unit;
    const y0 = -side / 2 + quiet * unit;
    ctx.fillStyle = obj.qr.color ?? "#000000";
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

/** Applies a record's values; every variable object is reset from its base. */
async function apply(payload) {
  const loads = [];
  for (const update of payload.objects) {
    const slot = state.slots.get(update.id);
    if (!slot) throw new Error(`Unknown object ${update.id}`);
    const { obj, base } = slot;
    obj.visible = base.visible !== false && update.visible;
    // A value equal to the one already on the object leaves it as it is:
    // the object's whole state follows from the value, so nothing leaks.
    if (update.text !== undefined && update.text !== slot.text) {
      setText(obj, base, update.text);
      slot.text = update.text;
    }
    if (update.qr !== undefined) obj.pressrunQr = update.qr;
    if (update.image === null) obj.visible = false;
    else if (update.image !== undefined && update.image !== slot.image) {
      slot.image = undefined;
      const src = update.image;
      loads.push(setImage(obj, base, src).then(() => (slot.image = src)));
    }
  }
  await Promise.all(loads);
}

const FIT_CACHE_SIZE = 256;

/**
 * Sets a text; with `fit: "shrink"` finds the largest font size that fits the
 * template's box. The size found for a text is remembered per object (the
 * search is pure), so a repeated value costs one layout.
 */
function setText(obj, base, text) {
  const known = base.fits?.get(text);
  obj.set({ text, fontSize: known ?? base.fontSize, width: base.width });
  obj.initDimensions();
  if (obj.fit !== "shrink" || known !== undefined) return;
  const min = obj.minFontSize ?? 6;
  const isBox = obj.type?.toLowerCase() === "textbox";
  const tooBig = () =>
    isBox
      ? obj.height > base.height + 0.5 || obj.width > base.width + 0.5
      : obj.width > base.width + 0.5;
  let size = base.fontSize;
  if (tooBig()) {
    // Binary search on the font size: the largest that fits.
    let lo = min;
    let hi = base.fontSize;
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
  base.fits ??= new Map();
  base.fits.set(text, size);
  if (base.fits.size > FIT_CACHE_SIZE) {
    base.fits.delete(base.fits.keys().next().value);
  }
}

/** Sets the image and crops it to cover the template's box. */
const IMAGE_CACHE_SIZE = 32;
/** Decoded images by source, most recently used last. */
const images = new Map();

async function decodedImage(src) {
  let image = images.get(src);
  if (image) {
    images.delete(src);
  } else {
    image = globalThis.fabric.util.loadImage(src);
    image.catch(() => images.delete(src));
  }
  images.set(src, image);
  if (images.size > IMAGE_CACHE_SIZE) images.delete(images.keys().next().value);
  return await image;
}

async function setImage(obj, base, src) {
  obj.setElement(await decodedImage(src));
  const el = obj.getElement();
  const iw = el.naturalWidth || el.width;
  const ih = el.naturalHeight || el.height;
  const fit = obj.fit ?? "cover";
  if (fit === "fill") {
    obj.set({ cropX: 0, cropY: 0, width: iw, height: ih });
    obj.set({ scaleX: base.boxWidth / iw, scaleY: base.boxHeight / ih });
  } else if (fit === "contain") {
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

function encode(format, quality) {
  const type = format === "jpeg" ? "image/jpeg" : "image/png";
  return new Promise((resolve, reject) => {
    state.element.toBlob(
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

function toDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/** A small PNG of the current piece, `width` pixels wide, as base64. */
async function thumbnailOf(width) {
  const source = state.element;
  const small = document.createElement("canvas");
  small.width = width;
  small.height = Math.round((source.height * width) / source.width);
  const ctx = small.getContext("2d", { alpha: false });
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(source, 0, 0, small.width, small.height);
  const blob = await new Promise((resolve) =>
    small.toBlob(resolve, "image/png")
  );
  const url = await toDataUrl(blob);
  return url.slice(url.indexOf(",") + 1);
}

/**
 * One piece: apply, paint, encode. The image is POSTed to `postTo` when given
 * (binary, to the page's own origin), else returned as base64.
 */
async function render(payload, format, quality, postTo, thumbnail) {
  if (!state.canvas) throw new Error("No template loaded");
  const t0 = performance.now();
  await apply(payload);
  const t1 = performance.now();
  state.canvas.renderAll();
  const t2 = performance.now();
  const blob = await encode(format, quality);
  const t3 = performance.now();
  let data;
  if (postTo) {
    // Not awaited: Deno waits for the upload; the page is free for the next
    // record meanwhile.
    fetch(postTo, { method: "POST", body: blob }).catch((error) =>
      console.error(`Posting the piece failed: ${error}`)
    );
  } else {
    const url = await toDataUrl(blob);
    data = url.slice(url.indexOf(",") + 1);
  }
  const t4 = performance.now();
  return {
    data,
    thumbnail: thumbnail ? await thumbnailOf(thumbnail) : undefined,
    width: state.element.width,
    height: state.element.height,
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
 * current state, nothing else. Returns the ms taken.
 */
async function floor(count, format, quality) {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    state.canvas.renderAll();
    await encode(format, quality);
  }
  return performance.now() - started;
}

globalThis.pressrun = { load, render, floor };
