// A drawing turned into MNIST's 28x28 frame, in the browser: the port of cnnlab/web/digit.py and
// cnnlab.data.images.preprocess_digit, tested equal to them on real strokes (tests/test_web_e2e.py).
//
// The MNIST recipe (LeCun et al.): ink bright on dark; the ink's bounding box scaled, aspect kept, so
// that its longer side is 20 px (antialiased: Pillow's LANCZOS filter, ported below with its exact
// coefficients and float32 rounding); placed in a 28x28 frame with its centre of mass at pixel (14, 14).

const SIZE = 28, BOX = 20, MIN_CONTRAST = 0.1, INK_LEVEL = 0.1;

// RGBA bytes (canvas ImageData) -> grey levels in [0, 1] as Pillow reads a PNG: transparency over
// white, then L = (19595 R + 38470 G + 7471 B + 2^15) >> 16, then float32(L) / 255.
export function greyFromRGBA(rgba, width, height) {
  const out = new Float32Array(width * height);
  for (let i = 0, p = 0; i < out.length; i++, p += 4) {
    let r = rgba[p], g = rgba[p + 1], b = rgba[p + 2];
    const a = rgba[p + 3];
    if (a !== 255) { // the pad is opaque; other canvases are composited over white first
      r = Math.round((r * a + 255 * (255 - a)) / 255);
      g = Math.round((g * a + 255 * (255 - a)) / 255);
      b = Math.round((b * a + 255 * (255 - a)) / 255);
    }
    out[i] = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) / 255;
  }
  return out;
}

function median(values) {
  const s = Float64Array.from(values).sort(), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function lanczos(x) {
  const sinc = (t) => { if (t === 0) return 1; const y = t * Math.PI; return Math.sin(y) / y; };
  return x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

// Pillow's precompute_coeffs (libImaging/Resample.c) for LANCZOS, support 3.
function coefficients(inSize, outSize) {
  const scale = inSize / outSize, filterScale = Math.max(scale, 1), support = 3 * filterScale;
  const rows = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    const k = new Float64Array(Math.max(0, xmax)), ss = 1 / filterScale;
    let ww = 0;
    for (let x = 0; x < xmax; x++) { k[x] = lanczos((x + xmin - center + 0.5) * ss); ww += k[x]; }
    if (ww !== 0) for (let x = 0; x < xmax; x++) k[x] /= ww;
    rows.push({ xmin, k });
  }
  return rows;
}

// Image.fromarray(float32 (h, w)).resize((nw, nh), LANCZOS): a horizontal pass, then a vertical one,
// each rounding to float32 as Pillow's mode "F" images do; an axis whose size does not change is left alone.
export function resample(src, h, w, nh, nw) {
  let img = src, width = w;
  if (nw !== w) {
    const cs = coefficients(w, nw), out = new Float32Array(h * nw);
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < nw; xx++) {
        const { xmin, k } = cs[xx];
        let ss = 0;
        for (let x = 0; x < k.length; x++) ss += img[y * w + xmin + x] * k[x];
        out[y * nw + xx] = ss;
      }
    }
    img = out;
    width = nw;
  }
  if (nh !== h) {
    const cs = coefficients(h, nh), out = new Float32Array(nh * width);
    for (let yy = 0; yy < nh; yy++) {
      const { xmin: ymin, k } = cs[yy];
      for (let x = 0; x < width; x++) {
        let ss = 0;
        for (let y = 0; y < k.length; y++) ss += img[(ymin + y) * width + x] * k[y];
        out[yy * width + x] = ss;
      }
    }
    img = out;
  }
  return img === src ? Float32Array.from(src) : img; // a copy even when no axis changes
}

// Grey (h, w) in [0, 1], either polarity -> ink levels (Float64Array, bright ink on 0, the strongest ink
// = 1), or null for a blank image (no two pixels differ by 0.1, or no ink above the background):
// cnnlab.data.images.ink_levels.
function inkLevels(grey, h, w) {
  let lo = Infinity, hi = -Infinity;
  for (const v of grey) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (Math.fround(hi - lo) < MIN_CONTRAST) return null;
  const border = [];
  for (let x = 0; x < w; x++) border.push(grey[x], grey[(h - 1) * w + x]);
  for (let y = 1; y < h - 1; y++) border.push(grey[y * w], grey[y * w + w - 1]);
  const invert = median(border) > 0.5;
  const background = median(border.map((v) => (invert ? 1 - v : v)));
  const a = new Float64Array(grey.length);
  let peak = -Infinity;
  for (let i = 0; i < a.length; i++) {
    a[i] = (invert ? 1 - grey[i] : grey[i]) - background;
    if (a[i] > peak) peak = a[i];
  }
  if (peak < MIN_CONTRAST) return null;
  for (let i = 0; i < a.length; i++) a[i] = Math.min(1, Math.max(0, a[i] / peak));
  return a;
}

// Grey (h, w) in [0, 1], either polarity -> {frame: 28x28 Float32Array, ink: false for a blank image}.
// Blank: an all-zero frame, as cnnlab.web.digit.preprocess returns for a cleared pad.
export function preprocess(grey, h, w) {
  const a = inkLevels(grey, h, w);
  if (!a) return { frame: new Float32Array(SIZE * SIZE), ink: false };
  let r0 = h, r1 = -1, c0 = w, c1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (a[y * w + x] > INK_LEVEL) { r0 = Math.min(r0, y); r1 = Math.max(r1, y); c0 = Math.min(c0, x); c1 = Math.max(c1, x); }
    }
  }
  const ch = r1 - r0 + 1, cw = c1 - c0 + 1, crop = new Float32Array(ch * cw);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) crop[y * cw + x] = a[(r0 + y) * w + c0 + x];
  const scale = BOX / Math.max(ch, cw);
  const nh = Math.max(1, Math.floor(ch * scale + 0.5)), nw = Math.max(1, Math.floor(cw * scale + 0.5));
  const small = new Float64Array(resample(crop, ch, cw, nh, nw));
  for (let i = 0; i < small.length; i++) small[i] = Math.min(1, Math.max(0, small[i])); // LANCZOS rings slightly
  let mass = 0, my = 0, mx = 0;
  for (let y = 0; y < nh; y++) {
    for (let x = 0; x < nw; x++) { const v = small[y * nw + x]; mass += v; my += v * y; mx += v * x; }
  }
  const top = Math.floor(SIZE / 2 - my / mass + 0.5), left = Math.floor(SIZE / 2 - mx / mass + 0.5);
  const frame = new Float32Array(SIZE * SIZE);
  // Paste with clipping: a digit whose mass sits far off its box centre may lose an edge row.
  for (let y = Math.max(top, 0); y < Math.min(top + nh, SIZE); y++) {
    for (let x = Math.max(left, 0); x < Math.min(left + nw, SIZE); x++) frame[y * SIZE + x] = small[(y - top) * nw + x - left];
  }
  return { frame, ink: true };
}

// The digit where it was drawn: the ink levels of the whole image resized to 28x28 (aspect kept, the
// shorter side centred), no crop and no centring: cnnlab.web.digit.as_drawn. -> {frame, ink}.
export function asDrawn(grey, h, w) {
  const a = inkLevels(grey, h, w), frame = new Float32Array(SIZE * SIZE);
  if (!a) return { frame, ink: false };
  const nh = h >= w ? SIZE : Math.max(1, Math.floor(h * SIZE / w + 0.5));
  const nw = h >= w ? Math.max(1, Math.floor(w * SIZE / h + 0.5)) : SIZE;
  const small = resample(Float32Array.from(a), h, w, nh, nw);
  const top = Math.floor((SIZE - nh) / 2), left = Math.floor((SIZE - nw) / 2);
  for (let y = 0; y < nh; y++) {
    for (let x = 0; x < nw; x++) frame[(top + y) * SIZE + left + x] = Math.min(1, Math.max(0, small[y * nw + x]));
  }
  return { frame, ink: true };
}

// The frame moved dx pixels right and dy down, zero fill, no wrap (cnnlab.web.digit.shift_frame).
export function shiftFrame(frame, dx, dy, size = SIZE) {
  if (dx === 0 && dy === 0) return frame;
  const out = new Float32Array(frame.length);
  for (let y = Math.max(0, dy); y < Math.min(size, size + dy); y++) {
    for (let x = Math.max(0, dx); x < Math.min(size, size + dx); x++) out[y * size + x] = frame[(y - dy) * size + x - dx];
  }
  return out;
}

// No pixel reaches 0.1: nothing to classify (cnnlab.web.digit.is_empty).
export function isEmpty(frame) {
  for (const v of frame) if (v >= INK_LEVEL) return false;
  return true;
}

// The 28x28 frame at another network input size (h, w): the same LANCZOS filter, clipped to [0, 1].
export function fitFrame(frame, h, w) {
  if (h === SIZE && w === SIZE) return frame;
  const out = resample(frame, SIZE, SIZE, h, w);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, out[i]));
  return out;
}
