// One network in the browser: a web model file's layers and weights, checked against the spec
// arithmetic, with the forward pass (every layer's activations), the per-unit weights the inspector
// shows and the JSON description the page lays out (the same fields as cnnlab.web.models.describe).

import { readBundle } from "./bundle.js";
import { FORWARD, softmax } from "./layers.js";
import { analyze, shapeText } from "./spec.js";

export const MAX_SIDE = 64;

// Why the engine cannot run a network (null: it can): it runs 2-D image networks (C x H x W) of the
// layers in layers.js. The wording is cnnlab.web.runs.page_problem's.
export function engineProblem(inputShape, layers) {
  const shape = shapeText(inputShape);
  if (inputShape.length === 2) {
    return `a 1-D network (input ${shape}) cannot be drawn on: the page shows 2-D image networks (C x H x W)`;
  }
  if (inputShape.length !== 3) return `the input shape ${shape} is not C x H x W`;
  const bad = layers.findIndex((l) => !(l && l.type in FORWARD));
  return bad >= 0 ? `layer ${bad} (${layers[bad].text || layers[bad].type}) is not supported by the page` : null;
}

// Why the drawing page cannot show a network (null: it can): what the engine runs, with one grey
// channel (the pad) and at most 64x64 pixels (a layout that fits the screen). Another page (Ising
// configurations, say) passes its own rule as Model's `problem` option.
export function pageProblem(inputShape, layers) {
  const problem = engineProblem(inputShape, layers);
  if (problem) return problem;
  const shape = shapeText(inputShape);
  if (inputShape[0] !== 1) return `the input has ${inputShape[0]} channels (${shape}): the drawing pad makes one grey channel`;
  if (Math.max(inputShape[1], inputShape[2]) > MAX_SIDE) {
    return `the input is ${shape}, larger than the page's limit of ${MAX_SIDE}x${MAX_SIDE} pixels`;
  }
  return null;
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
  // options: source (where the file came from, shown on the page); problem (inputShape, layers) -> why
  // the page cannot show the network or null (default pageProblem; engineProblem always applies).
  constructor(header, tensors, { source = "built-in", problem = pageProblem } = {}) {
    const why = engineProblem(header.input_shape, header.layers) || problem(header.input_shape, header.layers);
    if (why) throw new Error(why);
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
    const channels = this.inputShape[0];
    if (this.mean.length !== channels || this.std.length !== channels || !this.std.every((v) => v > 0) ||
        !this.mean.every(Number.isFinite)) {
      throw new Error(`mean and std must be ${channels} number(s) each, std > 0, got ${JSON.stringify([this.mean, this.std])}`);
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

  // image: C*H*W raw values in [0, 1] (ink bright), channels first. Returns {probabilities, activations}:
  // Float32Arrays, activations[i] = layer i's output for this image (the input itself is not repeated).
  forward(image) {
    const [c, h, w] = this.inputShape, plane = h * w;
    if (image.length !== c * plane) throw new Error(`image must have ${c * plane} values (${shapeText(this.inputShape)}), got ${image.length}`);
    let x = new Float32Array(image.length);
    for (let ch = 0; ch < c; ch++) {
      const m = this.mean[ch], s = this.std[ch];
      for (let i = ch * plane; i < (ch + 1) * plane; i++) x[i] = (image[i] - m) / s;
    }
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
