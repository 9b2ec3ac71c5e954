// The neuron inspector: a unit's weights, its inputs and the arithmetic it performs, with numbers.

import { css, drawGrid, scaleFor } from "./colors.js";
import { padIndex } from "./engine/layers.js";

const fmt = (v) => (Math.abs(v) >= 1000 ? v.toExponential(2) : v.toFixed(4)).replace("-", "−");

function flatIndex(shape, unit) {
  return shape.length === 3 ? (unit.c * shape[1] + unit.y) * shape[2] + unit.x : unit.i;
}

function unitText(unit) {
  return unit.i !== undefined ? `unit ${unit.i}` : `channel ${unit.c}, row ${unit.y}, column ${unit.x}`;
}

// Input of layer `index`: the previous layer's output, or the normalised image for layer 0.
function layerInput(view, index) {
  if (index > 0) return view.result.layers[index - 1].values;
  const { mean: [m], std: [s] } = view.model;
  return view.input.map((v) => (v - m) / s);
}

// Small canvases, one per channel of a (C, H, W) block held flat in `values`.
function tiles(values, shape, scale, color) {
  const [c, h, w] = shape, s = Math.max(2, Math.round(scale / Math.max(h, w)));
  const wrap = document.createElement("div");
  wrap.className = "tiles";
  for (let k = 0; k < c; k++) {
    const canvas = document.createElement("canvas");
    canvas.width = w * s; canvas.height = h * s;
    drawGrid(canvas.getContext("2d"), values, k * h * w, h, w, 0, 0, s, color);
    wrap.appendChild(canvas);
  }
  return wrap;
}

function strip(values, color) {
  const canvas = document.createElement("canvas"), cell = 4, perRow = 75;
  canvas.width = Math.min(values.length, perRow) * cell;
  canvas.height = Math.ceil(values.length / perRow) * cell;
  const ctx = canvas.getContext("2d");
  values.forEach((v, i) => { ctx.fillStyle = css(color(v)); ctx.fillRect((i % perRow) * cell, Math.floor(i / perRow) * cell, cell, cell); });
  return canvas;
}

function row(label, node) {
  const div = document.createElement("div");
  div.className = "insp-row";
  div.innerHTML = `<span class="insp-label">${label}</span>`;
  div.appendChild(node);
  return div;
}

export class Inspector {
  constructor(root) {
    this.root = root;
    this.token = 0;
    this.clear();
  }

  clear() {
    this.token++;
    this.root.innerHTML = `<p class="hint">Hover over any neuron (click to pin it) to see its weights, its inputs,
      its receptive field in the input and the arithmetic it performs.</p>`;
  }

  show(view, k, unit, pinned) {
    const token = ++this.token;
    const stage = view.stages[k];
    if (!view.result) return;
    const flat = flatIndex(stage.shape, unit);
    const field = view.trace[0];
    let seen = "the whole input";
    if (k === 0) seen = "itself";
    else if (field && !field.all) {
      const [y0, y1] = field.rows, [x0, x1] = field.cols;
      seen = `input rows ${y0}–${y1}, columns ${x0}–${x1} (${y1 - y0 + 1}×${x1 - x0 + 1} pixels)`;
    }
    const head = document.createElement("div");
    head.innerHTML = `<h3><span></span>${pinned ? ' <span class="pin">pinned</span>' : ""}</h3>
      <div class="dim">${unitText(unit)} · sees ${seen}</div>`;
    head.querySelector("h3 span").textContent = `${view.model.title} · ${stage.title}`;
    const body = document.createElement("div");
    if (stage.kind === "input") {
      const v = view.input[flat], { mean: [m], std: [s] } = view.model;
      body.innerHTML = `<pre class="math">pixel = ${fmt(v)}\nx = (pixel − ${m}) / ${s} = ${fmt((v - m) / s)}</pre>`;
    } else if (stage.kind === "conv" || stage.kind === "linear") {
      this.weighted(view, stage, unit, flat, body, view.stages[k - 1].kind === "input");
    } else {
      this.pooled(view, stage, unit, flat, body);
    }
    if (token !== this.token) return;
    this.root.replaceChildren(...head.childNodes, body);
  }

  weighted(view, stage, unit, flat, body, fromInput) {
    const layer = stage.layer, first = stage.first;
    const inputs = layerInput(view, first);
    let w, b, xs, shape;
    if (stage.kind === "conv") {
      const one = view.engine.unitWeights(first, unit.c);
      const [c, h, wd] = layer.in_shape, F = layer.kernel_size, S = layer.stride, P = layer.padding;
      const mode = view.engine.infos[first].layer.padding_mode;
      w = one.weight; b = one.bias; shape = one.shape;
      xs = new Float32Array(c * F * F);
      for (let ch = 0; ch < c; ch++) for (let ky = 0; ky < F; ky++) for (let kx = 0; kx < F; kx++) {
        // The padded input as the engine sees it: zeros, or wrapped/reflected values of the image.
        const y = padIndex(unit.y * S - P + ky, h, mode), x = padIndex(unit.x * S - P + kx, wd, mode);
        xs[(ch * F + ky) * F + kx] = y >= 0 && x >= 0 ? inputs[(ch * h + y) * wd + x] : 0;
      }
    } else {
      const one = view.engine.unitWeights(first, unit.i);
      shape = one.shape; w = one.weight; b = one.bias; xs = inputs;
    }
    const products = Array.from(w, (wi, j) => wi * xs[j]);
    const sum = products.reduce((a, p) => a + p, 0), z = sum + b;
    const zEngine = view.result.layers[first].values[flat];
    const top = products.map((p, j) => [Math.abs(p), j]).sort((a, c) => c[0] - a[0]).slice(0, 3)
      .map(([, j]) => `${fmt(w[j])}×${fmt(xs[j])}`).join(" + ");
    const xColor = scaleFor(xs), wColor = scaleFor(w), pColor = scaleFor(products);
    if (shape.length === 3) {
      const scale = shape[1] <= 7 ? 30 : 84;
      body.appendChild(row("weights w", tiles(w, shape, scale, wColor)));
      body.appendChild(row(fromInput ? "input x" : "inputs x", tiles(xs, shape, scale, fromInput ? scaleFor(xs) : xColor)));
      body.appendChild(row("w·x", tiles(products, shape, scale, pColor)));
    } else {
      body.appendChild(row("weights w", strip(w, wColor)));
      body.appendChild(row("inputs x", strip(Array.from(xs), xColor)));
      body.appendChild(row("w·x", strip(products, pColor)));
    }
    const lines = [
      `Σ w·x over ${w.length} inputs = ${fmt(sum)}`,
      `   largest terms: ${top} + …`,
      `+ b = ${fmt(b)}`,
      `z = Σ w·x + b = ${fmt(z)}   (engine: ${fmt(zEngine)} ${Math.abs(z - zEngine) < 1e-3 * Math.max(1, Math.abs(z)) ? "✓" : "≠"})`,
    ];
    let prev = "z";
    for (const f of stage.folded) {
      const value = view.result.layers[f.index].values[flat];
      lines.push(`${f.text}(${prev}) = a = ${fmt(value)}`);
      prev = "a";
    }
    if (stage.output) lines.push(`softmax → p(${view.model.classes[unit.i]}) = ${(100 * view.result.probabilities[unit.i]).toFixed(2)}%`);
    const pre = document.createElement("pre");
    pre.className = "math";
    pre.textContent = lines.join("\n");
    body.appendChild(pre);
    if (fromInput) body.insertAdjacentHTML("beforeend", `<div class="dim">x = (pixel − ${view.model.mean[0]}) / ${view.model.std[0]}: the input is normalised like the training set.</div>`);
  }

  pooled(view, stage, unit, flat, body) {
    const layer = stage.layer, inputs = layerInput(view, stage.first);
    const out = view.result.layers[stage.last].values[flat];
    if (stage.kind === "gap") {
      body.innerHTML = `<pre class="math">mean over channel ${unit.i} = ${fmt(out)}</pre>`;
      return;
    }
    const [, h, w] = layer.in_shape, F = layer.kernel_size, S = layer.stride, P = layer.padding;
    const window = [];
    for (let ky = 0; ky < F; ky++) for (let kx = 0; kx < F; kx++) {
      const y = unit.y * S - P + ky, x = unit.x * S - P + kx;
      if (y >= 0 && y < h && x >= 0 && x < w) window.push(inputs[(unit.c * h + y) * w + x]);
    }
    const op = stage.kind === "maxpool" ? "max" : "mean";
    body.innerHTML = `<pre class="math">${op} of the ${F}×${F} window of channel ${unit.c}:\n${op}{${window.map(fmt).join(", ")}}\n= ${fmt(out)}</pre>
      <div class="dim">Pooling has no weights: it coarse-grains each channel separately (like a renormalisation-group decimation).</div>`;
  }
}
