// @ts-check
// The render page: barcodes, painted on the canvas (raster) and exported as
// SVG paths (vector). Their geometry comes encoded from Deno
// (template/barcode.ts); here it is only scaled into the object's box. A
// classic script after qr.js; see scope.d.ts.
"use strict";

/**
 * @import { BarcodeDrawing } from "../page_api.ts"
 * @import { BarcodeSlot } from "./scope.d.ts"
 */

/**
 * Where a barcode goes in its object's own coordinates: the scale from its
 * units, and its top left corner — as large as the box allows, its
 * proportions kept, centred. A linear code's drawing already has the box's
 * proportions, so it fills the box.
 * @param {BarcodeSlot} slot
 * @param {BarcodeDrawing} drawing
 */
function barcodeFit({ obj }, drawing) {
  const scale = Math.min(
    obj.width / drawing.width,
    obj.height / drawing.height,
  );
  return {
    scale,
    x0: -drawing.width * scale / 2,
    y0: -drawing.height * scale / 2,
  };
}

/**
 * The drawing's paths for the canvas, made once per drawing.
 * @param {BarcodeSlot} slot
 * @param {BarcodeDrawing} drawing
 */
function barcodePaths(slot, drawing) {
  if (slot.paths?.drawing !== drawing) {
    slot.paths = {
      drawing,
      bars: new Path2D(drawing.bars),
      text: new Path2D(drawing.text),
    };
  }
  return slot.paths;
}

/**
 * The background over the object's box, then the bars and the text, filled.
 * @type {typeof globalThis.drawBarcode}
 */
// Used by load.js: classic scripts share their top-level names.
// deno-lint-ignore no-unused-vars
function drawBarcode(ctx, slot) {
  const { obj, style, drawing } = slot;
  const w = obj.width;
  const h = obj.height;
  ctx.save();
  ctx.fillStyle = style.background;
  ctx.fillRect(-w / 2, -h / 2, w, h);
  if (drawing) {
    const { scale, x0, y0 } = barcodeFit(slot, drawing);
    const paths = barcodePaths(slot, drawing);
    ctx.translate(x0, y0);
    ctx.scale(scale, scale);
    ctx.fillStyle = style.color;
    ctx.fill(paths.bars, "evenodd");
    ctx.fill(paths.text, "nonzero");
  }
  ctx.restore();
}

/**
 * A number for an SVG attribute, to a millionth (a scale is small).
 * @param {number} v
 */
function svgFigure(v) {
  return String(Math.round(v * 1e6) / 1e6);
}

/**
 * The barcode for print: its background, then its bars and its text as two
 * paths, in Fabric's `_toSVG()` form (`COMMON_PARTS` becomes the object's
 * transform). Vector all through: no image.
 * @type {typeof globalThis.barcodeSvg}
 */
// Used by vector.js: classic scripts share their top-level names.
// deno-lint-ignore no-unused-vars
function barcodeSvg(slot) {
  const { obj, style, drawing } = slot;
  const w = obj.width;
  const h = obj.height;
  const markup = [
    "<g ",
    "COMMON_PARTS",
    ">\n",
    `<rect x="${svgFigure(-w / 2)}" y="${svgFigure(-h / 2)}" width="${
      svgFigure(w)
    }" height="${
      svgFigure(h)
    }" style="fill:${style.background};stroke:none"/>\n`,
  ];
  if (drawing) {
    const { scale, x0, y0 } = barcodeFit(slot, drawing);
    const s = svgFigure(scale);
    markup.push(
      `<g transform="matrix(${s} 0 0 ${s} ${svgFigure(x0)} ${
        svgFigure(y0)
      })">\n`,
      `<path d="${drawing.bars}" style="fill:${style.color};fill-rule:evenodd;stroke:none"/>\n`,
    );
    if (drawing.text) {
      markup.push(
        `<path d="${drawing.text}" style="fill:${style.color};stroke:none"/>\n`,
      );
    }
    markup.push("</g>\n");
  }
  markup.push("</g>\n");
  return markup;
}
