// Shape arithmetic in the browser: the same rule, the same messages as cnnlab/shapes.py.
//
// Output width of a conv or pooling window along one axis: 1 + (W - F + 2P)/S, with a dilated filter
// spanning F_eff = d(F - 1) + 1 inputs. Receptive fields follow Araujo et al. (Distill 2019):
// r_out = r_in + (F_eff - 1) j_in, j_out = j_in S, start_out = start_in + ((F_eff - 1)/2 - P) j_in.
// tests/test_web_engine.py checks every function here against its Python twin on random cases,
// error messages included.

// Python's format(x, "g"): 6 significant digits, trailing zeros dropped, exponent form outside [1e-4, 1e6).
export function formatG(x) {
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  const [mantissa, exponent] = x.toExponential(5).split("e");
  const exp = Number(exponent);
  const strip = (s) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (exp < -4 || exp >= 6) {
    const e = Math.abs(exp);
    return `${strip(mantissa)}e${exp < 0 ? "-" : "+"}${e < 10 ? "0" : ""}${e}`;
  }
  return strip(x.toFixed(5 - exp));
}

// Python's repr() for the values an argument check can meet.
function repr(value) {
  if (typeof value === "string") return `'${value}'`;
  if (value === true || value === false) return value ? "True" : "False";
  if (value === null || value === undefined) return "None";
  if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value)) return formatG(value);
  if (typeof value === "number" && Number.isInteger(value)) return String(value);
  if (typeof value === "number") return String(value).includes(".") || String(value).includes("e") ? String(value) : `${value}.0`;
  return String(value);
}

const isInt = (v) => typeof v === "number" && Number.isInteger(v);
const floorDiv = (a, b) => Math.floor(a / b);
const mod = (a, b) => ((a % b) + b) % b; // Python's % (sign of the divisor)

// Output width 1 + (W - F + 2P)/S; throws the message cnnlab.shapes.conv_output_size raises.
export function convOutputSize(size, kernelSize, stride = 1, padding = 0, dilation = 1) {
  for (const [name, value, low] of [["size", size, 1], ["kernel_size", kernelSize, 1], ["stride", stride, 1],
    ["padding", padding, 0], ["dilation", dilation, 1]]) {
    if (!isInt(value) || value < low) throw new Error(`${name} must be an integer >= ${low}, got ${repr(value)}`);
  }
  const span = dilation * (kernelSize - 1) + 1;
  const fText = dilation === 1 ? `${span}` : `${span} (F=${kernelSize} dilated by ${dilation})`;
  const numerator = size - span + 2 * padding;
  if (numerator < 0) {
    const need = Math.ceil((span - size) / 2);
    throw new Error(`filter wider than the padded input: F = ${fText} > W + 2P = ${size} + 2*${padding} = ` +
      `${size + 2 * padding}; use kernel_size <= ${size + 2 * padding} or padding >= ${need}`);
  }
  if (mod(numerator, stride)) {
    throw new Error(`(W - F + 2P)/S = (${size} - ${fText} + 2*${padding})/${stride} = ${formatG(numerator / stride)} ` +
      `is not an integer; ${suggestFix(size, span, stride, padding)}`);
  }
  return floorDiv(numerator, stride) + 1;
}

// Nearest padding, and a kernel size and a stride, for which the filter tiles the input exactly, in O(1)
// whatever the stride (cnnlab.shapes._suggest_fix): a huge stride typed into the page must not freeze it.
const STRIDE_CANDIDATES = 64;

function suggestFix(size, span, stride, padding) {
  const options = [];
  const numerator = size - span + 2 * padding;
  const extra = extraPadding(numerator, stride);
  if (extra !== null) {
    const p = padding + extra;
    options.push(`padding=${p} (gives ${floorDiv(size - span + 2 * p, stride) + 1})`);
  }
  for (const k of [span - 1, span + 1]) {
    if (k >= 1 && k <= size + 2 * padding && mod(size - k + 2 * padding, stride) === 0) {
      options.push(`kernel_size=${k} (gives ${floorDiv(size - k + 2 * padding, stride) + 1})`);
      break;
    }
  }
  // The largest stride below S that divides W - F + 2P; only a few candidates (stride 1 always works).
  const low = Math.max(stride - 1 - STRIDE_CANDIDATES, 1);
  const strides = [];
  for (let s = stride - 1; s > low; s--) strides.push(s);
  strides.push(1);
  for (const s of strides) {
    if (mod(numerator, s) === 0) {
      options.push(`stride=${s} (gives ${floorDiv(numerator, s) + 1})`);
      break;
    }
  }
  return options.length ? `choose ${options.join(" or ")}` : "change kernel_size, stride or padding";
}

// Smallest d in [1, S] with (numerator + 2d) % S == 0, or null (S even, numerator odd): 2 has an inverse
// modulo an odd S, so no search. BigInt because numerator x S can pass 2^53.
function extraPadding(numerator, stride) {
  if (stride % 2) {
    const s = BigInt(stride);
    const d = Number((((-BigInt(numerator) * ((s + 1n) / 2n)) % s) + s) % s);
    return d || stride;
  }
  if (mod(numerator, 2)) return null;
  const half = stride / 2;
  return mod(-(numerator / 2), half) || half;
}

// Parameters of a conv layer on inShape = [C, W] or [C, H, W], of its untied (locally connected) twin
// and of a dense layer between the same neurons (cnnlab.shapes.conv_param_counts).
export function convParamCounts(inShape, outChannels, kernelSize, stride = 1, padding = 0, bias = true) {
  if (![2, 3].includes(inShape.length) || !inShape.every((v) => isInt(v) && v >= 1)) {
    throw new Error(`in_shape must be (C, W) or (C, H, W) with positive ints, got (${inShape.join(", ")})`);
  }
  if (!isInt(outChannels) || outChannels < 1) throw new Error(`out_channels must be a positive int, got ${repr(outChannels)}`);
  const [channels, ...spatial] = inShape;
  const outSpatial = spatial.map((n) => convOutputSize(n, kernelSize, stride, padding));
  const positions = outSpatial.reduce((a, b) => a * b, 1);
  const filterSize = channels * kernelSize ** spatial.length;
  const nIn = channels * spatial.reduce((a, b) => a * b, 1);
  const nOut = outChannels * positions;
  const conv = outChannels * (filterSize + (bias ? 1 : 0));
  const locallyConnected = nOut * filterSize + (bias ? nOut : 0);
  const dense = nIn * nOut + (bias ? nOut : 0);
  return { conv, locally_connected: locallyConnected, dense, positions,
    tied_reduction: locallyConnected / conv, dense_reduction: dense / conv };
}

// Receptive field of one neuron, per spatial axis: size r, jump j, centre of the first neuron's field.
export function inputField(dims) {
  return { size: Array(dims).fill(1), jump: Array(dims).fill(1), start: Array(dims).fill(0) };
}

export function receptiveFieldStep(rf, kernelSize, stride = 1, padding = 0, dilation = 1) {
  const span = dilation * (kernelSize - 1) + 1;
  return {
    size: rf.size.map((r, a) => r + (span - 1) * rf.jump[a]),
    jump: rf.jump.map((j) => j * stride),
    start: rf.start.map((s, a) => s + ((span - 1) / 2 - padding) * rf.jump[a]),
  };
}

// Input pixels [lo, hi) per axis seen by the neuron at `index`, clipped to `extent` (ReceptiveField.span).
export function fieldSpan(rf, index, extent) {
  return index.map((i, a) => {
    const lo = Math.floor(rf.start[a] + i * rf.jump[a] - (rf.size[a] - 1) / 2);
    return [Math.max(0, lo), Math.min(extent[a], lo + rf.size[a])];
  });
}

// One layer backwards: output rows [lo, hi] of a window layer read input rows
// [lo*S - P, hi*S - P + F - 1], clipped to the input (padding is connected to nothing). null: none.
export function backRange([lo, hi], { kernel_size: F, stride: S, padding: P }, size) {
  const a = Math.max(0, lo * S - P);
  const b = Math.min(size - 1, hi * S - P + F - 1);
  return a <= b ? [a, b] : null;
}
