// The networks on the page: the built-in ones listed in models/index.json (written by `cnnlab web
// build`, or answered by `cnnlab serve`), plus files a user drops onto the page. Also the global API
// for scripts and tests:
//
//   await window.cnnlab.models()             -> [{name, spec, input_shape}]
//   await window.cnnlab.forward(name, image) -> {probabilities: [...], activations: [...]}
//
// `image` is the network's raw input as a nested array (H rows of W values in [0, 1], or 1 x H x W;
// MNIST convention: ink bright on dark, no centring applied); the model's own normalisation is
// applied inside, as cnnlab.load(run).predict_proba does. activations[i] is layer i's output as a
// nested array of its shape (the input itself is not repeated).

import { MAX_BYTES } from "./engine/bundle.js";
import { Model } from "./engine/model.js";

export class Registry {
  constructor(base = "models/") {
    this.base = base;
    this.models = [];
    this.server = false;
    this.listeners = [];
    this.ready = null;
  }

  load() {
    this.ready ??= (async () => {
      const response = await fetch(`${this.base}index.json`);
      if (!response.ok) throw new Error(`${this.base}index.json: HTTP ${response.status}; rebuild the site with cnnlab web build`);
      const manifest = await response.json();
      this.server = manifest.server === true;
      this.models = await Promise.all(manifest.models.map(async (entry) => {
        const file = await fetch(`${this.base}${entry.file}`);
        if (!file.ok) throw new Error(`${this.base}${entry.file}: HTTP ${file.status}`);
        try {
          return Model.fromBuffer(await file.arrayBuffer(), { source: "built-in" });
        } catch (err) {
          throw new Error(`${entry.file}: ${err.message}`);
        }
      }));
      return this.models;
    })();
    return this.ready;
  }

  get(name) {
    return this.models.find((m) => m.name === name);
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  changed() {
    this.listeners.forEach((f) => f(this.models));
  }

  // A dropped or chosen file: read, checked, added under a unique name. Throws Error with one sentence.
  async addFile(file) {
    if (file.size > MAX_BYTES) {
      throw new Error(`the file is ${(file.size / 2 ** 20).toFixed(1)} MB, over the page's limit of ${MAX_BYTES / 2 ** 20} MB for a web model`);
    }
    return this.addBuffer(await file.arrayBuffer(), file.name);
  }

  // A web model file's bytes (a dropped file, or the network trained in the page) added under a unique name.
  addBuffer(buffer, source) {
    const model = Model.fromBuffer(buffer, { source });
    const base = model.name;
    for (let k = 2; this.get(model.name); k++) model.name = `${base}-${k}`;
    this.models.push(model);
    this.changed();
    return model;
  }

  remove(name) {
    this.models = this.models.filter((m) => m.name !== name);
    this.changed();
  }
}

// Flat values of a (C, H, W) or (N,) block -> nested arrays of that shape.
export function nest(values, shape) {
  if (shape.length <= 1) return Array.from(values);
  const step = values.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) => nest(values.subarray(i * step, (i + 1) * step), shape.slice(1)));
}

// A nested-array image for `model` -> Float32Array of its H*W values; throws an Error naming the rule.
export function imageValues(model, image) {
  const [, h, w] = model.inputShape;
  let rows = image;
  if (Array.isArray(image) && image.length === 1 && Array.isArray(image[0]) && Array.isArray(image[0][0])) rows = image[0];
  if (!Array.isArray(rows) || rows.length !== h || !rows.every((r) => Array.isArray(r) && r.length === w)) {
    throw new Error(`image must be ${h} rows of ${w} numbers in [0, 1] for model '${model.name}' (input ${model.inputShape.join("x")})`);
  }
  const out = new Float32Array(h * w);
  rows.forEach((row, y) => row.forEach((v, x) => {
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
      throw new Error(`image values must be numbers in [0, 1] (0 = background, 1 = ink), got image[${y}][${x}] = ${JSON.stringify(v)}`);
    }
    out[y * w + x] = v;
  }));
  return out;
}

export function installApi(registry) {
  const api = window.cnnlab || (window.cnnlab = {});
  api.models = async () => {
    await registry.load();
    return registry.models.map((m) => ({ name: m.name, spec: m.spec, input_shape: m.inputShape.slice() }));
  };
  api.forward = async (name, image) => {
    await registry.load();
    const model = registry.get(name);
    if (!model) throw new Error(`unknown model '${name}'; the page has ${registry.models.map((m) => m.name).join(", ")}`);
    const { probabilities, activations } = model.forward(imageValues(model, image));
    return {
      probabilities: Array.from(probabilities),
      activations: activations.map((values, i) => nest(values, model.infos[i].out_shape)),
    };
  };
  return api;
}
