// What the editor paints over the design but never saves: the trim line,
// QR code stand-ins and the boxes of shrink-to-fit text.
import { state, trimInset } from "./editor_state.js";

/** Paints what is not saved: the trim line, QR marks, shrink-to-fit boxes. */
export function drawGuides({ ctx }) {
  const canvas = state.canvas;
  if (ctx !== canvas.getContext()) return; // the top layer is redrawn apart
  const zoom = canvas.getZoom();
  ctx.save();
  ctx.transform(...canvas.viewportTransform);
  for (const obj of canvas.getObjects()) {
    if (!obj.visible || !(obj.qr || obj.fit === "shrink")) continue;
    ctx.save();
    ctx.transform(...obj.calcTransformMatrix());
    if (obj.qr) drawQrMark(ctx, obj);
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
 * A QR stand-in: three finder squares, "QR" and the value, in the box.
 * @param {CanvasRenderingContext2D} ctx transformed to the object's centre
 * @param {any} obj the QR object
 */
function drawQrMark(ctx, obj) {
  const side = Math.min(obj.width, obj.height);
  const u = side / 29;
  const corner = (f) => f * (side / 2 - 2 * u) - (f > 0 ? 7 * u : 0);
  for (const [fx, fy] of [[-1, -1], [1, -1], [-1, 1]]) {
    for (
      const [inset, colour] of [[0, "#1d2733"], [1, "#fff"], [2, "#1d2733"]]
    ) {
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
  ctx.fillText(String(obj.qr.value ?? ""), 0, side / 6, side * 0.85);
}
