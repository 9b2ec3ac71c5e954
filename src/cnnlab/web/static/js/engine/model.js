// One network in the browser: a web model file's layers and weights, checked against the spec
// arithmetic, with the forward pass (every layer's activations), the per-unit weights the inspector
// shows and the JSON description the page lays out (the same fields as cnnlab.web.models.describe).

import { readBundle } from "./bundle.js";
import { FORWARD, softmax } from "./layers.js";
import { analyze, shapeText } from "./spec.js";

export const MAX_SIDE = 64;

// Why the page cannot show a network with this input and these layers (null: it can); the wording
// is cnnlab.web.bundle.page_problem's.
export function pageProblem(inputShape, layers) {
  const shape = shapeText(inputShape);
  if (inputShape.length === 2) {
    return `a 1-D network (input ${shape}) cannot be drawn on: the page shows 2-D image networks (C x H x W)`;
  }
  if (inputShape.length !== 3) return `the input shape ${shape} is not C x H x W`;
  if (inputShape[0] !== 1) return `the input has ${inputShape[0]} channels (${shape}): the drawing pad makes one grey channel`;
  if (Math.max(inputShape[1], inputShape[2]) > MAX_SIDE) {
    return `the input is ${shape}, larger than the page's limit of ${MAX_SIDE}x${MAX_SIDE} pixels`;
  }
  const bad = layers.findIndex((l) => !(l.type in FORWARD));
  return bad >= 0 ? `layer ${bad} (${layers[bad].text || layers[bad].type}) is not supported by the page` : null;
}

// The tensors a layer owns, with their shapes (the engine's state_dict names without the index).
function layerTensors(info) {
  const { layer, in_shape: inShape } = info;
  if (layer.type === "conv") {
    const w = { weight: [layer.out_channels, inShape[0], layer.kernel_size, layer.kernel_size] };
    return layer.bias ? { ...w, bias: [layer.out_channels] } : w;
  }
  if (layer.type === "linear") {
    const w = { weight: [layer.out_features, inShape[0]] };
    return layer.bias ? { ...w, bias: [layer.out_features] } : w;
  }
  if (layer.type === "bn") {
    return Object.fromEntries(["weight", "bias", "running_mean", "running_var"].map((k) => [k, [inShape[0]]]));
  }
  return {};
}

export class Model {
  // header, tensors: a decoded web model file (readBundle). Throws Error with one sentence on any mismatch.
  constructor(header, tensors, { source = "built-in" } = {}) {
    const problem = pageProblem(header.input_shape, header.layers);
    if (problem) throw new Error(problem);
    this.header = header;
    this.name = String(header.name);
    this.title = String(header.title || header.name);
    this.spec = header.spec;
    this.inputShape = header.input_shape;
    this.classes = header.classes.map(String);
    this.mean = header.mean;
    this.std = header.std;
    this.source = source;
    this.infos = analyze(header.layers, header.input_shape);
    this.infos.forEach((info, i) => {
      if (shapeText(info.out_shape) !== shapeText(header.shapes[i] || [])) {
        throw new Error(`layer ${i} (${info.layer.text}): the file says its output is ${shapeText(header.shapes[i] || [])}, ` +
          `the spec gives ${shapeText(info.out_shape)}`);
      }
    });
    const last = this.infos[this.infos.length - 1].out_shape;
    if (last.length !== 1 || last[0] !== this.classes.length) {
      throw new Error(`the network ends in ${shapeText(last)} outputs but the file names ${this.classes.length} classes`);
    }
    if (this.mean.length !== 1 || this.std.length !== 1 || !(this.std[0] > 0)) {
      throw new Error(`mean and std must be one number each for a grey input (std > 0), got ${JSON.stringify([this.mean, this.std])}`);
    }
    this.params = this.infos.map((info) => {
      const own = {};
      for (const [key, shape] of Object.entries(layerTensors(info))) {
        const name = `${info.index}.${key}`, t = tensors[name];
        const count = shape.reduce((a, b) => a * b, 1);
        if (!t || t.length !== count) {
          throw new Error(`tensor ${name} should have shape ${shapeText(shape)}${t ? `, it has ${t.length} values` : ", it is missing"}`);
        }
        own[key] = t;
      }
      return own;
    });
    const known = new Set(this.infos.flatMap((info) => Object.keys(layerTensors(info)).map((k) => `${info.index}.${k}`)));
    const extra = Object.keys(tensors).filter((k) => !known.has(k));
    if (extra.length) throw new Error(`tensors ${extra.join(", ")} belong to no layer of ${this.spec}`);
    this.numParams = this.infos.reduce((a, info) => a + info.params, 0);
  }

  static fromBuffer(buffer, options) {
    const { header, tensors } = readBundle(buffer);
    return new Model(header, tensors, options);
  }

  // image: H*W raw values in [0, 1] (ink bright). Returns {probabilities, activations}: Float32Arrays,
  // activations[i] = layer i's output for this image (the input itself is not repeated).
  forward(image) {
    const [c, h, w] = this.inputShape;
    if (image.length !== c * h * w) throw new Error(`image must have ${c * h * w} values (${shapeText(this.inputShape)}), got ${image.length}`);
    const m = this.mean[0], s = this.std[0];
    let x = new Float32Array(image.length);
    for (let i = 0; i < x.length; i++) x[i] = (image[i] - m) / s;
    const activations = this.infos.map((info, i) => {
      x = FORWARD[info.layer.type](x, info.in_shape, info.out_shape, info.layer, this.params[i]);
      return x;
    });
    const lastType = this.infos[this.infos.length - 1].layer.type;
    const probabilities = lastType === "softmax" ? x : softmax(x);
    return { probabilities, activations };
  }

  // Weights of one unit (a conv filter or a dense neuron) or of a whole conv layer, as
  // cnnlab.web.models.unit_weights returns them: a dense row is shaped like the layer's input was
  // before `flatten` (a 784-row of the first MLP layer is 1x28x28, a template one can look at).
  unitWeights(layer, unit = null) {
    if (!(layer >= 0 && layer < this.infos.length)) {
      throw new Error(`layer must be in [0, ${this.infos.length - 1}] for model '${this.name}', got ${layer}`);
    }
    const info = this.infos[layer], kind = info.layer.type, p = this.params[layer];
    if (kind !== "conv" && kind !== "linear") {
      throw new Error(`layer ${layer} (${info.layer.text}) of model '${this.name}' has no weights; choose a conv or linear layer`);
    }
    const out = kind === "conv" ? info.layer.out_channels : info.layer.out_features;
    const per = p.weight.length / out, bias = p.bias || new Float32Array(out);
    if (unit === null) {
      if (kind === "linear") throw new Error(`layer ${layer} is dense (${out}x${per} weights); ask for one unit`);
      return { layer, shape: [out, ...info.in_shape.slice(0, 1), info.layer.kernel_size, info.layer.kernel_size], weight: p.weight, bias };
    }
    if (!(unit >= 0 && unit < out)) throw new Error(`unit must be in [0, ${out - 1}] for layer ${layer}, got ${unit}`);
    let shape = kind === "conv" ? [info.in_shape[0], info.layer.kernel_size, info.layer.kernel_size] : info.in_shape;
    if (kind === "linear") {
      // The shape the layer's input had before it was flattened: walk back over elementwise layers.
      for (const prev of this.infos.slice(0, layer).reverse()) {
        if (prev.layer.type === "flatten") { shape = prev.in_shape; break; }
        if (prev.out_shape.length > 1 || prev.layer.type === "linear" || prev.layer.type === "gap") break;
      }
    }
    return { layer, unit, shape, weight: p.weight.subarray(unit * per, (unit + 1) * per), bias: bias[unit] };
  }

  // The page's description of the network (cnnlab.web.models.describe's fields).
  describe() {
    const layers = this.infos.map((info) => {
      const l = info.layer, row = { index: info.index, kind: l.type, text: l.text, in_shape: info.in_shape,
        out_shape: info.out_shape, params: info.params };
      if (l.type === "conv") {
        Object.assign(row, { kernel_size: l.kernel_size, stride: l.stride, padding: l.padding,
          locally_connected: info.locally_connected, dense: info.dense });
      } else if (l.type === "maxpool" || l.type === "avgpool") {
        Object.assign(row, { kernel_size: l.kernel_size, stride: l.stride, padding: l.padding });
      }
      if (info.receptive_field) row.receptive_field = info.receptive_field;
      return row;
    });
    return { name: this.name, title: this.title, spec: this.spec, input_shape: this.inputShape, classes: this.classes,
      mean: this.mean, std: this.std, num_params: this.numParams, provenance: this.header.provenance || {}, layers };
  }
}
