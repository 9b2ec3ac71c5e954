// The neuron inspector: a unit's weights, its inputs and the arithmetic it performs, with numbers, and
// how many positions share its weights. Built once per unit; a new drawing only refills the numbers
// and the input-dependent pictures (a pinned unit must not slow down the pen).

import { colorBar, css, drawGrid, maxAbs, scale } from "./colors.js";
import { padIndex } from "./engine/layers.js";
import { unitText } from "./network.js";

const fmt = (v) => (Math.abs(v) >= 1000 ? v.toExponential(2) : v.toFixed(4)).replace("-", "−");
// Normalisation constants as people write them: 4 significant digits (0.13066047 -> 0.1307).
export const constant = (v) => String(Number(v.toPrecision(4))).replace("-", "−");

function flatIndex(shape, unit) {
  return shape.length === 3 ? (unit.c * shape[1] + unit.y) * shape[2] + unit.x : unit.i;
}

// Input of layer `index`: the previous layer's output, or the normalised image for layer 0.
function layerInput(view, index) {
  if (index > 0) return view.result.layers[index - 1].values;
  const { mean: [m], std: [s] } = view.model;
  return view.input.map((v) => (v - m) / s);
}

// A picture of a (C, H, W) block (one tile per channel) or of a vector (a strip that fits `width`):
// {el, draw(values, scale)}.
function picture(shape, width, label) {
  const wrap = document.createElement("div");
  wrap.className = "tiles";
  wrap.setAttribute("role", "img");
  wrap.setAttribute("aria-label", label);
  const canvases = [];
  if (shape.length === 3) {
    const [c, h, w] = shape, s = Math.max(2, Math.round((h <= 7 ? 30 : 84) / Math.max(h, w)));
    for (let k = 0; k < c; k++) {
      const canvas = document.createElement("canvas");
      canvas.width = w * s; canvas.height = h * s;
      wrap.appendChild(canvas);
      canvases.push(canvas);
    }
    return { el: wrap, draw: (values, sc) => canvases.forEach((cv, k) => drawGrid(cv.getContext("2d"), values, k * h * w, h, w, 0, 0, s, sc.color)) };
  }
  const n = shape[0], cell = 4, perRow = Math.max(10, Math.floor(width / cell));
  const canvas = document.createElement("canvas");
  canvas.width = Math.min(n, perRow) * cell;
  canvas.height = Math.ceil(n / perRow) * cell;
  wrap.appendChild(canvas);
  return { el: wrap, draw: (values, sc) => {
    const ctx = canvas.getContext("2d");
    for (let i = 0; i < n; i++) { ctx.fillStyle = css(sc.color(values[i])); ctx.fillRect((i % perRow) * cell, Math.floor(i / perRow) * cell, cell, cell); }
  } };
}

// One labelled row: label, picture, colour bar. refill(values, signed) redraws picture and bar.
function row(parent, label, shape, width, what) {
  const div = document.createElement("div");
  div.className = "insp-row";
  div.innerHTML = `<span class="insp-label">${label}</span>`;
  const pic = picture(shape, width, what), bar = colorBar(what);
  div.append(pic.el, bar);
  parent.appendChild(div);
  return (values, signed) => {
    let neg = false;
    if (signed === undefined) for (const v of values) if (v < 0) { neg = true; break; }
    const sc = scale(signed ?? neg, maxAbs(values));
    pic.draw(values, sc);
    bar.update(sc);
  };
}

// "1 kernel of 25 weights + 1 bias, used at 784 positions": what weight sharing means for this unit.
export function sharing(stage) {
  const layer = stage.layer;
  if (stage.kind === "conv") {
    const [cin] = layer.in_shape, F = layer.kernel_size, [, h, w] = layer.out_shape, n = cin * F * F;
    const depth = cin > 1 ? ` (${cin}×${F}×${F})` : "";
    return `1 kernel of ${n} weights${depth} + 1 bias, used at ${(h * w).toLocaleString("en")} positions: every outlined ` +
      `unit of this channel computes with these same weights. The layer has ${layer.params.toLocaleString("en")} parameters; ` +
      `untied (one kernel per position) it would need ${layer.locally_connected.toLocaleString("en")}, dense ${layer.dense.toLocaleString("en")}.`;
  }
  if (stage.kind === "linear") {
    const n = layer.in_shape[0], out = layer.out_shape[0];
    return `${n.toLocaleString("en")} weights + 1 bias, used by this unit alone: a dense layer has its own set for each of ` +
      `its ${out} units (${layer.params.toLocaleString("en")} parameters).`;
  }
  return "";
}

export class Inspector {
  constructor(root) {
    this.root = root;
    this.key = null;
    this.clear();
  }

  clear() {
    this.key = null;
    this.root.classList.add("empty");
    this.root.innerHTML = `<p class="hint">Hover over any neuron (tap or click to pin it; with the keyboard: Tab to a layer,
      arrow keys, Enter) to see its weights, its inputs, its receptive field in the input and the arithmetic it performs.</p>`;
  }

  // pinned: show the pin badge and a close button (the phone's bottom sheet). onClose: unpin.
  show(view, k, unit, pinned, onClose) {
    const key = `${view.model.name}|${k}|${JSON.stringify(unit)}|${pinned}`;
    if (!view.result) {
      this.key = null;
      this.root.classList.remove("empty");
      this.root.innerHTML = `<p class="hint">Nothing drawn: no activations to inspect.</p>`;
      return;
    }
    if (key !== this.key) this.build(view, k, unit, pinned, onClose);
    this.key = key;
    this.fill();
  }

  build(view, k, unit, pinned, onClose) {
    const stage = view.stages[k];
    const field = view.trace[0];
    let seen = "the whole input";
    if (k === 0) seen = "itself";
    else if (field && !field.all) {
      const [y0, y1] = field.rows, [x0, x1] = field.cols;
      seen = `input rows ${y0}–${y1}, columns ${x0}–${x1} (${y1 - y0 + 1}×${x1 - x0 + 1} pixels)`;
    }
    this.root.classList.remove("empty");
    this.root.innerHTML = `<div class="insp-head"><h3><span></span>${pinned ? ' <span class="pin">pinned</span>' : ""}</h3>
      <button class="close" aria-label="close the inspector">×</button></div>
      <div class="dim">${unitText(unit)} · sees ${seen}</div>`;
    this.root.querySelector("h3 span").textContent = `${view.model.title} · ${stage.title}`;
    this.root.querySelector(".close").onclick = onClose;
    const share = sharing(stage);
    if (share) this.root.insertAdjacentHTML("beforeend", `<p class="sharing">${share}</p>`);
    const body = document.createElement("div");
    this.root.appendChild(body);
    const width = Math.max(160, this.root.clientWidth - 150);
    if (stage.kind === "input") this.fill = this.pixel(view, unit, body);
    else if (stage.kind === "conv" || stage.kind === "linear") this.fill = this.weighted(view, stage, unit, body, width);
    else this.fill = this.pooled(view, stage, unit, body);
  }

  pixel(view, unit, body) {
    const pre = document.createElement("pre");
    pre.className = "math";
    body.appendChild(pre);
    const { mean: [m], std: [s] } = view.model, flat = flatIndex(view.stages[0].shape, unit);
    return () => {
      const v = view.input[flat];
      pre.textContent = `pixel = ${fmt(v)}\nx = (pixel − ${constant(m)}) / ${constant(s)} = ${fmt((v - m) / s)}`;
    };
  }

  weighted(view, stage, unit, body, width) {
    const layer = stage.layer, first = stage.first, fromInput = view.stages[view.stages.indexOf(stage) - 1].kind === "input";
    const flat = flatIndex(stage.shape, unit);
    const one = view.engine.unitWeights(first, stage.kind === "conv" ? unit.c : unit.i);
    const w = one.weight, b = one.bias, shape = one.shape;
    const gather = () => {
      const inputs = layerInput(view, first);
      if (stage.kind !== "conv") return inputs;
      const [c, h, wd] = layer.in_shape, F = layer.kernel_size, S = layer.stride, P = layer.padding;
      const mode = view.engine.infos[first].layer.padding_mode;
      const xs = new Float32Array(c * F * F);
      for (let ch = 0; ch < c; ch++) for (let ky = 0; ky < F; ky++) for (let kx = 0; kx < F; kx++) {
        // The padded input as the engine sees it: zeros, or wrapped/reflected values of the image.
        const y = padIndex(unit.y * S - P + ky, h, mode), x = padIndex(unit.x * S - P + kx, wd, mode);
        xs[(ch * F + ky) * F + kx] = y >= 0 && x >= 0 ? inputs[(ch * h + y) * wd + x] : 0;
      }
      return xs;
    };
    const fillW = row(body, "weights w", shape, width, "the unit's weights");
    const fillX = row(body, fromInput ? "input x" : "inputs x", shape, width, "the inputs it reads");
    const fillP = row(body, "w·x", shape, width, "the products w times x");
    fillW(w, true);
    const pre = document.createElement("pre");
    pre.className = "math";
    body.appendChild(pre);
    if (fromInput) {
      body.insertAdjacentHTML("beforeend", `<div class="dim">x = (pixel − ${constant(view.model.mean[0])}) / ${constant(view.model.std[0])}:
        the input is normalised like the training set.</div>`);
    }
    return () => {
      const xs = gather();
      const products = new Float32Array(w.length);
      let sum = 0;
      for (let j = 0; j < w.length; j++) { products[j] = w[j] * xs[j]; sum += products[j]; }
      fillX(xs, fromInput ? true : undefined);
      fillP(products, true);
      const z = sum + b, zEngine = view.result.layers[first].values[flat];
      const top = Array.from(products.keys()).sort((i, j) => Math.abs(products[j]) - Math.abs(products[i])).slice(0, 3)
        .map((j) => `${fmt(w[j])}×${fmt(xs[j])}`).join(" + ");
      const lines = [
        `Σ w·x over ${w.length} inputs = ${fmt(sum)}`,
        `   largest terms: ${top} + …`,
        `+ b = ${fmt(b)}`,
        `z = Σ w·x + b = ${fmt(z)}   (engine: ${fmt(zEngine)} ${Math.abs(z - zEngine) < 1e-3 * Math.max(1, Math.abs(z)) ? "✓" : "≠"})`,
      ];
      let prev = "z";
      for (const f of stage.folded) {
        lines.push(`${f.text}(${prev}) = a = ${fmt(view.result.layers[f.index].values[flat])}`);
        prev = "a";
      }
      if (stage.output) lines.push(`softmax → p(${view.model.classes[unit.i]}) = ${(100 * view.result.probabilities[unit.i]).toFixed(2)}%`);
      pre.textContent = lines.join("\n");
    };
  }

  pooled(view, stage, unit, body) {
    const layer = stage.layer, flat = flatIndex(stage.shape, unit);
    const pre = document.createElement("pre");
    pre.className = "math";
    body.appendChild(pre);
    body.insertAdjacentHTML("beforeend", `<div class="dim">Pooling has no weights: it coarse-grains each channel separately
      (like a renormalisation-group decimation).</div>`);
    return () => {
      const inputs = layerInput(view, stage.first), out = view.result.layers[stage.last].values[flat];
      if (stage.kind === "gap") { pre.textContent = `mean over channel ${unit.i} = ${fmt(out)}`; return; }
      const [, h, w] = layer.in_shape, F = layer.kernel_size, S = layer.stride, P = layer.padding;
      const window = [];
      for (let ky = 0; ky < F; ky++) for (let kx = 0; kx < F; kx++) {
        const y = unit.y * S - P + ky, x = unit.x * S - P + kx;
        if (y >= 0 && y < h && x >= 0 && x < w) window.push(inputs[(unit.c * h + y) * w + x]);
      }
      const op = stage.kind === "maxpool" ? "max" : "mean";
      pre.textContent = `${op} of the ${F}×${F} window of channel ${unit.c}:\n${op}{${window.map(fmt).join(", ")}}\n= ${fmt(out)}`;
    };
  }
}
