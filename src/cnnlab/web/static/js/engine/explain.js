// The lecture's 1-D convolution step by step, in the browser: the port of cnnlab.explain.conv1d_steps
// (same fields, same values; tests/test_web_engine.py compares the two on random inputs).

import { convOutputSize } from "./shapes.js";

export const ACTIVATIONS = {
  relu: (z) => Math.max(z, 0),
  identity: (z) => z,
  tanh: Math.tanh,
  sigmoid: (z) => 1 / (1 + Math.exp(-z)),
};
export const MAX_LENGTH = 64; // the page's inputs, like POST /api/conv1d

function pad(x, padding, mode) {
  const n = x.length;
  if (mode === "reflect" && padding >= n) {
    throw new Error(`reflect padding must be smaller than the input: padding=${padding}, input width ${n}`);
  }
  return Array.from({ length: n + 2 * padding }, (_, j) => {
    const i = j - padding;
    if (i >= 0 && i < n) return x[i];
    if (mode === "circular") return x[((i % n) + n) % n];
    if (mode === "reflect") return x[i < 0 ? -i : 2 * (n - 1) - i];
    return 0;
  });
}

// One-channel 1-D convolution with every intermediate value: padded input, windows, dot products,
// pre-activations, outputs.
export function conv1dSteps(x, weight, { bias = 0, stride = 1, padding = 0, padding_mode = "zeros", activation = "relu" } = {}) {
  for (const [name, values] of [["x", x], ["weight", weight]]) {
    if (!Array.isArray(values) || values.length < 1 || values.length > MAX_LENGTH) {
      throw new Error(`${name} must be a list of 1 to ${MAX_LENGTH} numbers, got ${Array.isArray(values) ? values.length : typeof values}`);
    }
    const bad = values.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${name}[${bad}] must be a number, got ${JSON.stringify(values[bad])}`);
  }
  if (typeof bias !== "number" || !Number.isFinite(bias)) throw new Error(`bias must be a number, got ${JSON.stringify(bias)}`);
  if (!(activation in ACTIVATIONS)) {
    throw new Error(`activation must be one of ${Object.keys(ACTIVATIONS).join(", ")}, got '${activation}'`);
  }
  if (!["zeros", "circular", "reflect"].includes(padding_mode)) {
    throw new Error(`padding_mode must be one of zeros, circular, reflect, got '${padding_mode}'`);
  }
  const width = convOutputSize(x.length, weight.length, stride, padding);
  const padded = pad(x, padding, padding_mode);
  const windows = Array.from({ length: width }, (_, i) => padded.slice(i * stride, i * stride + weight.length));
  const dots = windows.map((win) => win.reduce((acc, v, k) => acc + v * weight[k], 0));
  const pre = dots.map((d) => d + bias);
  return {
    input: x.slice(), weight: weight.slice(), bias, stride, padding, padding_mode, activation,
    output_width: width, padded, windows, dots, pre_activations: pre, outputs: pre.map(ACTIVATIONS[activation]),
  };
}
