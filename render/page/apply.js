// @ts-check
// The render page: apply() sets a record's values on the loaded template —
// texts (shrunk to fit when asked), images (decoded once, fitted to their
// box), QR matrices, visibility. A classic script after qr.js; see scope.d.ts.
"use strict";

/**
 * @import { ImageSlot, TextSlot } from "./scope.d.ts"
 * @import {} from "./globals.d.ts"
 */

/**
 * Applies a record's values; every variable object is reset from its base.
 * @type {typeof globalThis.apply}
 */
// Used by vector.js and render.js: classic scripts share their top-level names.
// deno-lint-ignore no-unused-vars
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
  redrawLayers();
}

/**
 * The groups drawn as one layer draw it anew for the record: their bounds
 * fit their children as the record left them (a longer name is not cut at
 * the bounds the design had), and the layer is redrawn (Fabric cannot see a
 * QR code's new modules or a child hidden by `visibleIf`).
 */
function redrawLayers() {
  for (const group of state.layers) {
    group.triggerLayout();
    group.dirty = true;
  }
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
