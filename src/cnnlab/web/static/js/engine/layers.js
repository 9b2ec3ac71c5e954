// The forward pass of every layer the spec language has, on Float32Arrays in PyTorch's (C, H, W) order.
//
// One function per layer type: (x, inShape, outShape, layer, params) -> a new Float32Array. Sums are
// accumulated in double precision and stored as float32; PyTorch accumulates in float32, so the two
// agree to about 1e-6 relative (tests/test_web_engine.py compares every layer with torch).
// Padding follows torch: zeros, circular (periodic: index mod W) or reflect (mirror without repeating
// the edge); max pooling pads with -inf and average pooling counts the zero padding in the mean
// (torch's count_include_pad=True), which for windows that tile the padded input is always F x F.

const prod = (shape) => shape.reduce((a, b) => a * b, 1);

// Index into an axis of length n for a padded coordinate i in [-P, n + P).
export function padIndex(i, n, mode) {
  if (i >= 0 && i < n) return i;
  if (mode === "circular") return ((i % n) + n) % n;
  if (mode === "reflect") return i < 0 ? -i : 2 * (n - 1) - i;
  return -1; // zeros
}

// (C, H, W) -> (C, H + 2P, W + 2P) filled as `mode` says; `fill` for the zeros mode (-inf for max pooling).
function pad2d(x, [c, h, w], p, mode, fill = 0) {
  if (p === 0) return x;
  const hp = h + 2 * p, wp = w + 2 * p, out = new Float32Array(c * hp * wp);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < hp; y++) {
      const sy = padIndex(y - p, h, mode);
      for (let xx = 0; xx < wp; xx++) {
        const sx = padIndex(xx - p, w, mode);
        out[(ch * hp + y) * wp + xx] = sy < 0 || sx < 0 ? fill : x[(ch * h + sy) * w + sx];
      }
    }
  }
  return out;
}

function conv(x, inShape, outShape, layer, params) {
  const [c, h, w] = inShape, [o, oh, ow] = outShape;
  const { kernel_size: k, stride: s, padding: p } = layer;
  const xp = pad2d(x, inShape, p, layer.padding_mode), hp = h + 2 * p, wp = w + 2 * p;
  const weight = params.weight, bias = params.bias, out = new Float32Array(o * oh * ow);
  for (let oc = 0; oc < o; oc++) {
    const b = bias ? bias[oc] : 0;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let sum = b;
        for (let ic = 0; ic < c; ic++) {
          const wBase = (oc * c + ic) * k * k, xBase = ic * hp * wp + ox * s;
          for (let ky = 0; ky < k; ky++) {
            const row = xBase + (oy * s + ky) * wp, wRow = wBase + ky * k;
            for (let kx = 0; kx < k; kx++) sum += weight[wRow + kx] * xp[row + kx];
          }
        }
        out[(oc * oh + oy) * ow + ox] = sum;
      }
    }
  }
  return out;
}

function pool(x, inShape, outShape, layer, isMax) {
  const [c, h, w] = inShape, [, oh, ow] = outShape;
  const { kernel_size: k, stride: s, padding: p } = layer;
  const xp = pad2d(x, inShape, p, "zeros", isMax ? -Infinity : 0), wp = w + 2 * p, hp = h + 2 * p;
  const out = new Float32Array(c * oh * ow);
  for (let ch = 0; ch < c; ch++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let acc = isMax ? -Infinity : 0;
        for (let ky = 0; ky < k; ky++) {
          const row = (ch * hp + oy * s + ky) * wp + ox * s;
          for (let kx = 0; kx < k; kx++) {
            const v = xp[row + kx];
            if (isMax) { if (v > acc) acc = v; } else acc += v;
          }
        }
        out[(ch * oh + oy) * ow + ox] = isMax ? acc : acc / (k * k);
      }
    }
  }
  return out;
}

function linear(x, inShape, outShape, layer, params) {
  const n = inShape[0], m = outShape[0], weight = params.weight, bias = params.bias, out = new Float32Array(m);
  for (let o = 0; o < m; o++) {
    let sum = bias ? bias[o] : 0;
    const base = o * n;
    for (let i = 0; i < n; i++) sum += weight[base + i] * x[i];
    out[o] = sum;
  }
  return out;
}

// Eval mode: (x - running_mean) / sqrt(running_var + eps) * weight + bias, per channel (dim 1 in torch).
function batchNorm(x, inShape, outShape, layer, params) {
  const c = inShape[0], per = prod(inShape) / c, out = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    const scale = params.weight[ch] / Math.sqrt(params.running_var[ch] + layer.eps);
    const mean = params.running_mean[ch], shift = params.bias[ch];
    for (let i = ch * per; i < (ch + 1) * per; i++) out[i] = (x[i] - mean) * scale + shift;
  }
  return out;
}

function globalAvgPool(x, inShape) {
  const c = inShape[0], per = prod(inShape) / c, out = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let i = ch * per; i < (ch + 1) * per; i++) sum += x[i];
    out[ch] = sum / per;
  }
  return out;
}

export function softmax(x) {
  let max = -Infinity, sum = 0;
  for (const v of x) if (v > max) max = v;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) { out[i] = Math.exp(x[i] - max); sum += out[i]; }
  for (let i = 0; i < x.length; i++) out[i] /= sum;
  return out;
}

// (TypedArray.from with a callback is several times slower than a loop in V8.)
const elementwise = (f) => (x) => {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  return out;
};

export const FORWARD = {
  conv,
  maxpool: (x, i, o, l) => pool(x, i, o, l, true),
  avgpool: (x, i, o, l) => pool(x, i, o, l, false),
  gap: globalAvgPool,
  flatten: (x) => x.slice(),
  linear,
  relu: elementwise((v) => (v > 0 ? v : 0)),
  tanh: elementwise(Math.tanh),
  sigmoid: elementwise((v) => 1 / (1 + Math.exp(-v))),
  softmax: (x) => softmax(x),
  dropout: (x) => x.slice(), // identity at inference, like torch's eval mode
  bn: batchNorm,
};
