// A network's layer list analysed in the browser: shapes, parameters, receptive fields (cnnlab.spec.analyze).
//
// Layers are the JSON objects a web model file carries (cnnlab/web/bundle.py, layer_json): {type, text,
// and PyTorch's argument names}. Each row has the same fields as Python's LayerInfo, and an error names
// the layer as Python does: "layer 3 'conv(16,5)' on input 6x4x4: filter wider than the padded input: ...".

import { convOutputSize, convParamCounts, inputField, receptiveFieldStep } from "./shapes.js";

export const LAYER_TYPES = ["conv", "maxpool", "avgpool", "gap", "flatten", "linear", "relu", "tanh", "sigmoid",
  "softmax", "dropout", "bn"];
const WINDOWED = new Set(["conv", "maxpool", "avgpool"]);

export class SpecError extends Error {}

export const shapeText = (shape) => (shape.length ? shape.join("x") : "()");

function spatial(kind, inShape) {
  if (inShape.length !== 2 && inShape.length !== 3) {
    throw new SpecError(`${kind} needs a (C, W) or (C, H, W) input, got shape ${shapeText(inShape)}`);
  }
  return inShape.slice(1);
}

const positive = (v) => Number.isInteger(v) && v >= 1;
const ARGUMENTS = {
  conv: { out_channels: positive, kernel_size: positive, stride: positive, padding: (v) => Number.isInteger(v) && v >= 0,
    padding_mode: (v) => ["zeros", "circular", "reflect"].includes(v), bias: (v) => typeof v === "boolean" },
  maxpool: { kernel_size: positive, stride: positive, padding: (v) => Number.isInteger(v) && v >= 0 },
  linear: { out_features: positive, bias: (v) => typeof v === "boolean" },
  bn: { eps: (v) => typeof v === "number" && v > 0 },
};
ARGUMENTS.avgpool = ARGUMENTS.maxpool;

// A layer object as a file gives it: every argument present and of the right kind (cnnlab.spec's rules).
function checkArguments(layer) {
  for (const [name, ok] of Object.entries(ARGUMENTS[layer.type] || {})) {
    if (!ok(layer[name])) throw new SpecError(`${layer.type}: ${name} = ${JSON.stringify(layer[name])} is not valid`);
  }
  if ((layer.type === "maxpool" || layer.type === "avgpool") && layer.padding > Math.floor(layer.kernel_size / 2)) {
    throw new SpecError(`${layer.type}: padding must be between 0 and kernel_size/2 = ${Math.floor(layer.kernel_size / 2)}, got ${layer.padding}`);
  }
}

// Output shape and parameter count of one layer on one example of inShape (Layer.out_shape / num_params).
function outShape(layer, inShape) {
  const kind = layer.type;
  checkArguments(layer);
  if (kind === "conv") {
    const dims = spatial("conv", inShape);
    if (layer.padding_mode === "reflect" && dims.some((n) => layer.padding >= n)) {
      throw new SpecError(`reflect padding must be smaller than the input: padding=${layer.padding}, input ${shapeText(inShape)}`);
    }
    const out = [layer.out_channels, ...dims.map((n) => convOutputSize(n, layer.kernel_size, layer.stride, layer.padding))];
    const counts = convParamCounts(inShape, layer.out_channels, layer.kernel_size, layer.stride, layer.padding, layer.bias);
    return { out, params: counts.conv, counts };
  }
  if (kind === "maxpool" || kind === "avgpool") {
    const dims = spatial(kind, inShape);
    return { out: [inShape[0], ...dims.map((n) => convOutputSize(n, layer.kernel_size, layer.stride, layer.padding))], params: 0 };
  }
  if (kind === "gap") {
    spatial("gap", inShape);
    return { out: [inShape[0]], params: 0 };
  }
  if (kind === "flatten") return { out: [inShape.reduce((a, b) => a * b, 1)], params: 0 };
  if (kind === "linear") {
    if (inShape.length !== 1) {
      throw new SpecError(`linear needs a flat input, got shape ${shapeText(inShape)}; insert 'flatten' before it`);
    }
    const n = layer.out_features;
    return { out: [n], params: inShape[0] * n + (layer.bias ? n : 0) };
  }
  if (kind === "softmax" && inShape.length !== 1) {
    throw new SpecError(`softmax needs a flat input, got shape ${shapeText(inShape)}`);
  }
  if (kind === "bn") return { out: inShape.slice(), params: 2 * inShape[0] };
  if (LAYER_TYPES.includes(kind)) return { out: inShape.slice(), params: 0 };
  throw new SpecError(`unknown layer type '${kind}'`);
}

// Propagate inputShape through the layers: one row per layer, as cnnlab.spec.analyze returns them.
export function analyze(layers, inputShape) {
  let shape = inputShape.slice();
  if (!shape.length || !shape.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new SpecError(`input shape must be positive integers like 1x28x28, got ${shapeText(shape)}`);
  }
  let rf = shape.length > 1 ? inputField(shape.length - 1) : null;
  return layers.map((layer, index) => {
    let result;
    try {
      result = outShape(layer, shape);
    } catch (err) {
      throw new SpecError(`layer ${index} '${layer.text}' on input ${shapeText(shape)}: ${err.message}`);
    }
    const { out, params, counts } = result;
    if (rf !== null) {
      rf = out.length > 1 ? (WINDOWED.has(layer.type) ? receptiveFieldStep(rf, layer.kernel_size, layer.stride, layer.padding) : rf) : null;
    }
    const row = { index, layer, in_shape: shape, out_shape: out, params,
      locally_connected: counts ? counts.locally_connected : null, dense: counts ? counts.dense : null,
      receptive_field: rf };
    shape = out;
    return row;
  });
}
