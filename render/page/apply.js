// @ts-check
// The render page: apply() sets a record's values on the loaded template —
// texts (copyfitted to their box when asked: font size, letter spacing,
// horizontal scale), images (decoded once, fitted to their box), QR
// matrices, visibility; textFits() reports the texts' fit and overset, and
// layout() is preflight's pass: apply and report, nothing drawn. A classic
// script after barcode.js; see scope.d.ts.
"use strict";

/**
 * @import { LayoutRecord, OversetInfo, TextFitInfo } from "../page_api.ts"
 * @import { ImageSlot, TextFitState, TextSlot } from "./scope.d.ts"
 * @import {} from "./globals.d.ts"
 */

/**
 * Applies a record's values; every variable object is reset from its base.
 * @type {typeof globalThis.apply}
 */
// Also used by vector.js and render.js: classic scripts share their
// top-level names.
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
        // Unset when the object was left as it was (`layout()`), so that
        // the next record sets it.
        slot.text = setText(slot, update.text) ? update.text : undefined;
      }
      if (slot.kind === "qr" && update.qr !== undefined) {
        slot.matrix = update.qr;
      }
      if (slot.kind === "barcode" && update.barcode !== undefined) {
        slot.drawing = update.barcode;
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

/**
 * Strings of code units below U+0300 with no carriage return: one grapheme
 * per code unit (no combining marks, joiners, surrogates or CR LF pairs
 * there; UAX #29).
 */
const SIMPLE_GRAPHEMES = /^[^\r\u0300-\uffff]*$/;

/**
 * Fabric splits every text it lays out into graphemes with `Intl.Segmenter`,
 * measured at a third of a layout's time: a simple string (most names and
 * addresses in Latin script) is split per code unit instead, the same
 * graphemes; any other string still goes to Fabric's own split.
 */
function splitSimpleGraphemes() {
  const text = globalThis.fabric.FabricText.prototype;
  const split = text.graphemeSplit;
  /**
   * @this {import("fabric").FabricText}
   * @param {string} value
   */
  text.graphemeSplit = function (value) {
    return SIMPLE_GRAPHEMES.test(value)
      ? value.split("")
      : split.call(this, value);
  };
}
splitSimpleGraphemes();

const FIT_CACHE_SIZE = 256;
/** Font sizes this close end the search, in design units. */
const SIZE_STEP = 0.25;
/** Letter spacings this close end the search, in 1/1000 em. */
const SPACING_STEP = 1;
/** Horizontal scales this close end the search. */
const SCALE_STEP = 0.002;
/** How far a text may pass its box (rounding), in design units. */
const SLACK = 0.5;

/**
 * Set while `layout()` runs: a text is laid out only to find a fit not yet
 * known; one with no `fit`, or whose fit is known, is left as it is.
 */
let measuring = false;

/**
 * Sets a text; one with a `fit` is then fitted to the template's box
 * (`copyfit()`). The fit found for a text is remembered per object (the
 * search is pure), so a repeated value costs one layout, or none while
 * `measuring`. Returns whether the object now holds the text.
 * @param {TextSlot} slot
 * @param {string} text
 */
function setText(slot, text) {
  const { style, fits } = slot;
  if (!style.fit) {
    if (measuring) return false;
    place(slot, {
      fontSize: slot.fontSize,
      charSpacing: slot.charSpacing,
      scaleX: 1,
    }, text);
    return true;
  }
  const known = fits.get(text);
  if (known) {
    slot.fitted = known;
    if (measuring) return false;
    place(slot, known, text);
    return true;
  }
  const fit = copyfit(slot, text);
  fits.set(text, fit);
  if (fits.size > FIT_CACHE_SIZE) dropOldest(fits);
  slot.fitted = fit;
  return true;
}

/**
 * A text's copyfit, one step after the other, each a binary search for the
 * loosest value that fits: the font size (from the largest the `fit`
 * allows down to the smallest: `"shrink"` from the template's size to
 * `minFontSize`, `"grow"` from `maxFontSize` to the template's size,
 * `"fit"` from `maxFontSize` to `minFontSize`); at the smallest size, the
 * letter spacing (down to `minCharSpacing`); at the tightest spacing, the
 * horizontal scale (down to `minScaleX`). A text that overflows even at
 * all three bounds is overset, and drawn at them.
 * @param {TextSlot} slot
 * @param {string} text
 * @returns {TextFitState}
 */
function copyfit(slot, text) {
  const { style } = slot;
  const hi = style.fit === "shrink"
    ? slot.fontSize
    : style.maxFontSize ?? slot.fontSize;
  const lo = Math.min(
    style.fit === "grow" ? slot.fontSize : style.minFontSize,
    hi,
  );
  const spacing = slot.charSpacing;
  const minSpacing = Math.min(style.minCharSpacing ?? spacing, spacing);
  const minScale = style.minScaleX ?? 1;
  /**
   * @param {number} fontSize
   * @param {number} charSpacing
   * @param {number} scaleX
   */
  const fits = (fontSize, charSpacing, scaleX) => {
    place(slot, { fontSize, charSpacing, scaleX });
    return !overflows(slot, scaleX);
  };
  /**
   * The object laid out at the values found (the search may have left it
   * at others).
   * @param {number} fontSize
   * @param {number} charSpacing
   * @param {number} scaleX
   * @returns {TextFitState}
   */
  const at = (fontSize, charSpacing, scaleX, overset = false) => {
    place(slot, { fontSize, charSpacing, scaleX });
    return { fontSize, charSpacing, scaleX, overset };
  };
  place(slot, { fontSize: hi, charSpacing: spacing, scaleX: 1 }, text);
  if (!overflows(slot, 1)) {
    return { fontSize: hi, charSpacing: spacing, scaleX: 1, overset: false };
  }
  if (lo < hi && fits(lo, spacing, 1)) {
    const size = largest(lo, hi, SIZE_STEP, (s) => fits(s, spacing, 1));
    return at(size, spacing, 1);
  }
  if (minSpacing < spacing && fits(lo, minSpacing, 1)) {
    const tight = largest(
      minSpacing,
      spacing,
      SPACING_STEP,
      (c) => fits(lo, c, 1),
    );
    return at(lo, tight, 1);
  }
  if (minScale < 1 && fits(lo, minSpacing, minScale)) {
    const scale = largest(
      minScale,
      1,
      SCALE_STEP,
      (x) => fits(lo, minSpacing, x),
    );
    return at(lo, minSpacing, scale);
  }
  return at(lo, minSpacing, minScale, true);
}

/**
 * The largest value from `lo` (which fits) towards `hi` (which does not)
 * that `fits`, to within `step`: a binary search of at most 12 steps.
 * @param {number} lo
 * @param {number} hi
 * @param {number} step
 * @param {(value: number) => boolean} fits
 */
function largest(lo, hi, step, fits) {
  for (let i = 0; i < 12 && hi - lo > step; i++) {
    const mid = (lo + hi) / 2;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Lays the text out at `fit`'s font size, letter spacing and horizontal
 * scale (a factor of the template's). A narrowed Textbox is widened by as
 * much, so its box prints as wide as designed and its lines wrap to it.
 * Fabric's `set()` of text layout properties lays the text out once.
 * @param {TextSlot} slot
 * @param {Omit<TextFitState, "overset">} fit
 * @param {string} [text] set with them, in the same layout
 */
function place({ obj, base, scaleX }, fit, text) {
  obj.set({
    ...(text === undefined ? {} : { text }),
    fontSize: fit.fontSize,
    charSpacing: fit.charSpacing,
    scaleX: scaleX * fit.scaleX,
    width: isTextbox(obj) ? base.width / fit.scaleX : base.width,
  });
}

/**
 * Whether the text as laid out, narrowed by `scaleX`, passes its box: a
 * Textbox when taller than its box or with a word wider than it, an IText
 * or Text when wider.
 * @param {TextSlot} slot
 * @param {number} scaleX
 */
function overflows({ obj, base }, scaleX) {
  return isTextbox(obj)
    ? obj.height > base.height + SLACK ||
      obj.width > base.width / scaleX + SLACK
    : obj.width * scaleX > base.width + SLACK;
}

/** @param {import("fabric").FabricText} obj */
function isTextbox(obj) {
  return obj instanceof globalThis.fabric.Textbox;
}

/**
 * The visible texts with a `fit`, as the last `apply()` left them, and
 * those of them that are overset.
 * @type {typeof globalThis.textFits}
 */
// Also used by vector.js and render.js: classic scripts share their
// top-level names.
function textFits() {
  /** @type {TextFitInfo[]} */
  const texts = [];
  /** @type {OversetInfo[]} */
  const overset = [];
  for (const [id, slot] of state.slots) {
    if (slot.kind !== "text" || !slot.fitted || !shown(slot.obj)) continue;
    const { fontSize, charSpacing, scaleX } = slot.fitted;
    const info = { id, fontSize, charSpacing, scaleX };
    texts.push(info);
    if (slot.fitted.overset) overset.push(info);
  }
  return { texts, overset };
}

/**
 * Whether the object prints: it and every group around it are visible.
 * @param {import("fabric").FabricObject} obj
 */
function shown(obj) {
  /** @type {import("fabric").FabricObject | undefined} */
  let o = obj;
  while (o) {
    if (!o.visible) return false;
    o = o.group;
  }
  return true;
}

/**
 * Preflight's pass: applies each record as `render()` and `vector()` do
 * and reports its fitted and overset texts, drawing, encoding and
 * exporting nothing. Only what the fits need is laid out: a text with no
 * `fit`, or whose fit is known (the same text was fitted before, on this
 * page), is left as it is, and the next record drawn sets it. A record
 * that throws is reported with its message.
 * @type {typeof globalThis.layout}
 */
// Used by render.js: classic scripts share their top-level names.
// deno-lint-ignore no-unused-vars
async function layout({ records }) {
  const started = performance.now();
  /** @type {LayoutRecord[]} */
  const out = [];
  measuring = true;
  try {
    for (const payload of records) {
      try {
        await apply(payload);
        out.push({ index: payload.index, ...textFits() });
      } catch (error) {
        out.push({
          index: payload.index,
          overset: [],
          texts: [],
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  } finally {
    measuring = false;
  }
  return { records: out, ms: performance.now() - started };
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
