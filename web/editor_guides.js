// @ts-check
// What the editor paints over the design but never saves: the trim line,
// QR code and barcode stand-ins and the boxes of shrink-to-fit text.
import { BARCODE_NAMES, objects } from "./editor_document.js";
import { canvas, state, trimInset } from "./editor_state.js";

/**
 * Paints what is not saved: the trim line, QR and barcode marks,
 * shrink-to-fit boxes.
 * @param {{ ctx: CanvasRenderingContext2D }} event Fabric's "after:render"
 */
export function drawGuides({ ctx }) {
  const c = canvas();
  if (ctx !== c.getContext()) return; // the top layer is redrawn apart
  const zoom = c.getZoom();
  ctx.save();
  ctx.transform(...c.viewportTransform);
  for (const obj of objects()) {
    const marked = obj.qr || obj.barcode || (obj.fit && obj.pressrunBox);
    if (!obj.visible || !marked) continue;
    ctx.save();
    ctx.transform(...obj.calcTransformMatrix());
    if (obj.qr) drawQrMark(ctx, obj.width, obj.height, obj.qr.value);
    else if (obj.barcode) {
      drawBarcodeMark(ctx, obj.width, obj.height, obj.barcode);
    } else if (obj.pressrunBox) {
      ctx.setLineDash([6 / zoom, 4 / zoom]);
      ctx.lineWidth = 1 / (zoom * obj.scaleX);
      ctx.strokeStyle = "rgba(47, 93, 138, 0.8)";
      const { width: w, height: ht, pressrunBox: box } = obj;
      ctx.strokeRect(-w / 2, -ht / 2, w, box);
    }
    ctx.restore();
  }
  const { x, y } = trimInset();
  if (x > 0 || y > 0) {
    ctx.setLineDash([10 / zoom, 6 / zoom]);
    ctx.lineWidth = 1.5 / zoom;
    ctx.strokeStyle = "rgba(194, 65, 12, 0.9)";
    ctx.strokeRect(x, y, state.width - 2 * x, state.height - 2 * y);
  }
  ctx.restore();
}

/**
 * A finder square's rings: inset in modules, and colour.
 * @type {[number, string][]}
 */
const FINDER_RINGS = [[0, "#1d2733"], [1, "#fff"], [2, "#1d2733"]];

/**
 * A QR stand-in: three finder squares, "QR" and the value, in the box.
 * @param {CanvasRenderingContext2D} ctx transformed to the object's centre
 * @param {number} width the object's box
 * @param {number} height
 * @param {string} value what the code will say
 */
function drawQrMark(ctx, width, height, value) {
  const side = Math.min(width, height);
  const u = side / 29;
  /** @param {number} f -1 or 1: which side @returns {number} */
  const corner = (f) => f * (side / 2 - 2 * u) - (f > 0 ? 7 * u : 0);
  /** @type {[number, number][]} */
  const corners = [[-1, -1], [1, -1], [-1, 1]];
  for (const [fx, fy] of corners) {
    for (const [inset, colour] of FINDER_RINGS) {
      ctx.fillStyle = colour;
      const d = 7 * u - 2 * inset * u;
      ctx.fillRect(corner(fx) + inset * u, corner(fy) + inset * u, d, d);
    }
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.font = `bold ${side / 5}px system-ui, sans-serif`;
  ctx.fillText("QR", 0, 0);
  ctx.font = `${side / 16}px system-ui, sans-serif`;
  ctx.fillText(value, 0, side / 6, side * 0.85);
}

/** A stand-in's bar widths, in narrow bars, repeated across the box. */
const STAND_IN_BARS = [2, 1, 1, 3, 1, 2, 2, 1, 3, 1, 1, 2, 1, 1];

/**
 * A barcode stand-in: a Data Matrix's finder and modules, or bars, then the
 * type and the value over them. The server encodes the real one per record.
 * @param {CanvasRenderingContext2D} ctx transformed to the object's centre
 * @param {number} width the object's box
 * @param {number} height
 * @param {import("./editor_document.js").BarcodeSpec} barcode what it will be
 */
function drawBarcodeMark(ctx, width, height, { type, value }) {
  const w = width * 0.9;
  const h = height * 0.9;
  ctx.fillStyle = "#1d2733";
  if (type === "datamatrix") {
    const n = 12;
    const u = Math.min(w, h) / n;
    const x0 = -u * n / 2;
    const y0 = -u * n / 2;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const finder = c === 0 || r === n - 1;
        const clock = (r === 0 && c % 2 === 0) ||
          (c === n - 1 && r % 2 === 1);
        const data = r > 0 && c < n - 1 && (r * 5 + c * 3) % 7 < 3;
        if (finder || clock || data) {
          ctx.fillRect(x0 + c * u, y0 + r * u, u, u);
        }
      }
    }
  } else {
    const unit = w / 70;
    let x = -w / 2;
    for (let i = 0; x < w / 2; i++) {
      const bar = (STAND_IN_BARS[i % STAND_IN_BARS.length] ?? 1) * unit;
      if (i % 2 === 0) ctx.fillRect(x, -h / 2, Math.min(bar, w / 2 - x), h);
      x += bar;
    }
  }
  const label = `${BARCODE_NAMES[type]}: ${value}`;
  const size = Math.max(1, Math.min(h / 3, w / 16));
  ctx.font = `${size}px system-ui, sans-serif`;
  const tw = Math.min(ctx.measureText(label).width, w * 0.9);
  ctx.fillStyle = "rgba(255, 255, 255, 0.9)";
  ctx.fillRect(-tw / 2 - size / 3, -size * 0.7, tw + size * 2 / 3, size * 1.4);
  ctx.fillStyle = "#1d2733";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(label, 0, 0, w * 0.9);
}
