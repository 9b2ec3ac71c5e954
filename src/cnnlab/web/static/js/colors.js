// Colour scales, d3-style: one sequential map for non-negative values (activations after ReLU, pixels:
// white = 0, black = the scale's maximum) and one diverging map for signed values (weights,
// pre-activations: blue = negative, white = 0, red = positive, symmetric around 0). Every panel that
// uses one shows a colour bar with its range (colorBar).

const SEQ = [[255, 255, 255], [217, 217, 217], [150, 150, 150], [82, 82, 82], [0, 0, 0]]; // d3 schemeGreys
const DIV = [[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]]; // RdBu, reversed

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
const SEQ_T = table(SEQ), DIV_T = table(DIV);

export const sequential = (t) => SEQ_T(t); // t in [0, 1]
export const diverging = (t) => DIV_T((t + 1) / 2); // t in [-1, 1]
export const ink = sequential; // pixels are non-negative values too: ink is the sequential map on [0, 1]

export function css([r, g, b]) {
  return `rgb(${r},${g},${b})`;
}

// Largest |v| of an array (1 when all are 0, so that a blank map stays white instead of dividing by 0).
export function maxAbs(values) {
  let m = 0;
  for (const v of values) { const a = v < 0 ? -v : v; if (a > m) m = a; }
  return m || 1;
}

// A scale: {signed, max, color(v)}: diverging on [-max, max] or sequential on [0, max].
export function scale(signed, max) {
  const m = max || 1;
  return { signed, max: m, color: signed ? (v) => diverging(v / m) : (v) => sequential(v / m) };
}

const fmtEnd = (v) => (v === 0 ? "0" : Math.abs(v) >= 100 || Math.abs(v) < 0.01 ? v.toExponential(1) : v.toPrecision(3)).replace("-", "−");

// A colour bar with its range, as text too: <span class="cbar" role="img" aria-label="..."><lo><bar><hi></span>.
// update(scale) redraws it for a new range (cheap: only the two labels change when the map does not).
export function colorBar(label = "colour scale") {
  const el = document.createElement("span");
  el.className = "cbar";
  el.setAttribute("role", "img");
  el.innerHTML = `<span class="cbar-lo"></span><canvas width="48" height="8"></canvas><span class="cbar-hi"></span>`;
  const canvas = el.querySelector("canvas"), lo = el.querySelector(".cbar-lo"), hi = el.querySelector(".cbar-hi");
  let drawn = null;
  el.update = (s) => {
    if (drawn !== s.signed) {
      const ctx = canvas.getContext("2d");
      for (let x = 0; x < canvas.width; x++) {
        const t = x / (canvas.width - 1);
        ctx.fillStyle = css(s.signed ? diverging(2 * t - 1) : sequential(t));
        ctx.fillRect(x, 0, 1, canvas.height);
      }
      drawn = s.signed;
    }
    lo.textContent = s.signed ? fmtEnd(-s.max) : "0";
    hi.textContent = fmtEnd(s.max);
    el.dataset.lo = s.signed ? -s.max : 0;
    el.dataset.hi = s.max;
    el.setAttribute("aria-label", `${label}: ${s.signed ? "blue negative, white 0, red positive" : "white 0 to black"}, ` +
      `from ${lo.textContent} to ${hi.textContent}`);
  };
  return el;
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
