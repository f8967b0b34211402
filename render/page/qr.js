// @ts-check
// The render page: QR codes, painted on the canvas (raster) and exported as
// one SVG path (vector). A classic script after load.js; see scope.d.ts.
"use strict";

/**
 * @import { QrMatrix } from "../page_api.ts"
 * @import { QrSlot } from "./scope.d.ts"
 */

/**
 * Where a QR code's modules go in its object's own coordinates: the module
 * size, and the corner of the first module inside the quiet zone.
 * @param {QrSlot} slot
 * @param {QrMatrix} qr the matrix drawn
 */
function qrGrid({ obj, style }, qr) {
  const quiet = style.quietZone;
  const count = qr.size + 2 * quiet;
  const side = Math.min(obj.width, obj.height);
  const unit = side / count;
  const x0 = -side / 2 + quiet * unit;
  const y0 = -side / 2 + quiet * unit;
  return { unit, x0, y0 };
}

/**
 * The runs of dark modules, row by row, left to right: `[row, first, end]`,
 * `end` past the run's last module.
 * @param {QrMatrix} qr
 * @returns {Generator<[number, number, number]>}
 */
function* qrRuns(qr) {
  for (let y = 0; y < qr.size; y++) {
    let x = 0;
    while (x < qr.size) {
      if (qr.modules[y * qr.size + x] !== "1") {
        x++;
        continue;
      }
      const start = x;
      while (x < qr.size && qr.modules[y * qr.size + x] === "1") x++;
      yield [y, start, x];
    }
  }
}

/**
 * Dark modules as filled rectangles over the object's box, with a quiet zone.
 * @type {typeof globalThis.drawQr}
 */
// Used by load.js: classic scripts share their top-level names.
// deno-lint-ignore no-unused-vars
function drawQr(ctx, slot) {
  const { obj, style, matrix: qr } = slot;
  const w = obj.width;
  const h = obj.height;
  ctx.save();
  ctx.fillStyle = style.background;
  ctx.fillRect(-w / 2, -h / 2, w, h);
  if (qr) {
    const { unit, x0, y0 } = qrGrid(slot, qr);
    ctx.fillStyle = style.color;
    ctx.beginPath();
    for (const [y, start, end] of qrRuns(qr)) {
      // Overlap by a hair so neighbouring rows leave no seams.
      ctx.rect(
        x0 + start * unit,
        y0 + y * unit,
        (end - start) * unit,
        unit + 0.02,
      );
    }
    ctx.fill();
  }
  ctx.restore();
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
function qrPath(slot) {
  const qr = slot.matrix;
  if (!qr) return "";
  const { unit, x0, y0 } = qrGrid(slot, qr);
  const u = svgNumber(unit);
  let d = "";
  for (const [y, start, end] of qrRuns(qr)) {
    const w = svgNumber((end - start) * unit);
    d += `M${svgNumber(x0 + start * unit)} ${svgNumber(y0 + y * unit)}` +
      `h${w}v${u}h-${w}z`;
  }
  return d;
}

/**
 * The QR code for print: its background and its modules as one path, in
 * Fabric's `_toSVG()` form (`COMMON_PARTS` becomes the object's transform).
 * @type {typeof globalThis.qrSvg}
 */
// Used by vector.js: classic scripts share their top-level names.
// deno-lint-ignore no-unused-vars
function qrSvg(slot) {
  const { obj, style } = slot;
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
}
