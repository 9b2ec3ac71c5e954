// The Ising phase classifier of `cnnlab ising tc` in the browser: a web model file (models/ising/classifier.cnnlab,
// built from the run folder `ising tc` saved) run by the one client-side engine (engine/model.js).
//
// The file's network f ends in global average pooling, so its weights work at any even L: the engine
// analyses the spec again for the playground's L (one Model per L, built once). As in
// cnnlab.physics.phases.Z2Symmetric, the classifier is the spin-flip average of the logits,
// P = softmax((f(x) + f(-x)) / 2), so a configuration and its flip get the same P(ordered).

import { readBundle } from "./engine/bundle.js";
import { softmax } from "./engine/layers.js";
import { engineProblem, Model } from "./engine/model.js";
import { analyze } from "./engine/spec.js";
import { MAX_L } from "./ising-mc.js";

export const MODEL_URL = "models/ising/classifier.cnnlab";

// The rule for Ising configurations: what the engine runs, one channel of L x L spins, L <= MAX_L.
function isingProblem(inputShape, layers) {
  const problem = engineProblem(inputShape, layers);
  if (problem) return problem;
  const [c, h, w] = inputShape;
  if (c !== 1 || h !== w || h > MAX_L) return `the input must be 1 x L x L spins with L <= ${MAX_L}, got ${inputShape.join("x")}`;
  return null;
}

export class IsingClassifier {
  // buffer: the web model file's bytes. Throws an Error with one sentence when it is not a Z2 phase classifier.
  constructor(buffer) {
    const { header, tensors } = readBundle(buffer);
    this.header = header;
    this.tensors = tensors;
    this.ordered = header.classes.indexOf("ordered");
    if (header.classes.length !== 2 || this.ordered < 0) {
      throw new Error(`the Ising model must have the classes disordered and ordered, got ${JSON.stringify(header.classes)}`);
    }
    if (header.mean[0] !== 0 || header.std[0] !== 1) {
      throw new Error("the Ising model must read spins as they are (mean 0, std 1): a normalisation breaks the spin-flip symmetry");
    }
    this.trainedL = header.input_shape[1];
    this.models = new Map();
    this.model(this.trainedL); // the file as saved must check out
  }

  // The engine's network for L x L inputs (the same weights; shapes analysed for L).
  model(L) {
    if (!this.models.has(L)) {
      const inputShape = [1, L, L];
      const shapes = analyze(this.header.layers, inputShape).map((info) => info.out_shape);
      this.models.set(L, new Model({ ...this.header, input_shape: inputShape, shapes }, this.tensors, { problem: isingProblem }));
    }
    return this.models.get(L);
  }

  // spins: L*L values +-1 (any array), row-major. Returns {p_ordered, probabilities, logits}.
  predict(spins, L) {
    if (spins.length !== L * L) throw new Error(`spins must have L*L = ${L * L} values, got ${spins.length}`);
    const model = this.model(L), x = Float32Array.from(spins), flipped = x.map((v) => -v);
    // The logits: the last layer's output, or the one before a final softmax layer.
    const last = model.infos.length - (model.infos[model.infos.length - 1].layer.type === "softmax" ? 2 : 1);
    const a = model.forward(x).activations[last], b = model.forward(flipped).activations[last];
    const logits = a.map((v, i) => 0.5 * (v + b[i]));
    const probabilities = softmax(logits);
    return { p_ordered: probabilities[this.ordered], probabilities: Array.from(probabilities), logits: Array.from(logits) };
  }
}

export async function loadClassifier(url = MODEL_URL) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}; rebuild the site with cnnlab web build`);
  return new IsingClassifier(await response.arrayBuffer());
}
