// @ts-check
// What the editor paints over the design but never saves: the trim line,
// QR code stand-ins and the boxes of shrink-to-fit text.
import { objects } from "./editor_document.js";
import { canvas, state, trimInset } from "./editor_state.js";

/**
 * Paints what is not saved: the trim line, QR marks, shrink-to-fit boxes.
 * @param {{ ctx: CanvasRenderingContext2D }} event Fabric's "after:render"
 */
export function drawGuides({ ctx }) {
  const c = canvas();
  if (ctx !== c.getContext()) return; // the top layer is redrawn apart
  const zoom = c.getZoom();
  ctx.save();
  ctx.transform(...c.viewportTransform);
  for (const obj of objects()) {
    if (!obj.visible || !(obj.qr || obj.fit === "shrink")) continue;
    ctx.save();
    ctx.transform(...obj.calcTransformMatrix());
    if (obj.qr) drawQrMark(ctx, obj.width, obj.height, obj.qr.value);
    else if (obj.pressrunBox) {
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
