// Colour maps: a sequential one for non-negative activations, a diverging one for signed values.

const SEQ = [[255, 255, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
const DIV = [[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]];
const INK = [[255, 255, 255], [17, 17, 17]];

function ramp(stops, t) {
  t = Math.min(1, Math.max(0, t));
  const pos = t * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(pos));
  const f = pos - i;
  return stops[i].map((v, k) => Math.round(v + f * (stops[i + 1][k] - v)));
}

// Each map tabulated at 1024 levels (finer than 8-bit colour can show): drawing a layer then looks
// colours up instead of interpolating, which keeps a pen stroke's redraw of every layer cheap.
const LEVELS = 1024;
function table(stops) {
  const rows = Array.from({ length: LEVELS }, (_, i) => ramp(stops, i / (LEVELS - 1)));
  return (t) => rows[Math.round(Math.min(1, Math.max(0, t)) * (LEVELS - 1)) || 0];
}
const SEQ_T = table(SEQ), DIV_T = table(DIV), INK_T = table(INK);

export const sequential = (t) => SEQ_T(t);
export const diverging = (t) => DIV_T((t + 1) / 2); // t in [-1, 1]
export const ink = (t) => INK_T(t);

export function css([r, g, b]) {
  return `rgb(${r},${g},${b})`;
}

// Pick a map for an array: signed data get the diverging map, scaled by the largest magnitude.
export function scaleFor(values) {
  let lo = 0, hi = 0;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const m = Math.max(-lo, hi) || 1;
  return lo < 0 ? (v) => diverging(v / m) : (v) => sequential(v / m);
}

// Draw a (H, W) slice of a flat array into a context at (ox, oy), `s` screen pixels per value.
export function drawGrid(ctx, values, offset, h, w, ox, oy, s, color) {
  const img = ctx.createImageData(w * s, h * s);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = color(values[offset + y * w + x]);
      for (let dy = 0; dy < s; dy++) {
        let p = ((y * s + dy) * w * s + x * s) * 4;
        for (let dx = 0; dx < s; dx++, p += 4) {
          img.data[p] = r; img.data[p + 1] = g; img.data[p + 2] = b; img.data[p + 3] = 255;
        }
      }
    }
  }
  ctx.putImageData(img, ox, oy);
}
