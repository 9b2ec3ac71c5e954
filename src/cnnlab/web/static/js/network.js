// One network drawn as a column of stages: input, each conv/pool/dense layer (its activation folded
// in), and the output probabilities. Handles hit-testing, keyboard access and the highlights of a
// focused unit (receptive field, weights in place, shared weights, connection lines; overlay.js).
// Any network the engine accepts (one grey channel, up to 64x64) is laid out from its description.
//
// Scales are honest: every feature map of a network is drawn with the same number of screen pixels
// per unit (a pooled map is visibly smaller than its input), tiles have borders, non-negative stages
// use the sequential map and signed ones the diverging map, each with a colour bar and its range,
// scaled per layer or over the whole network (NetView.scaleMode).

import { colorBar, css, drawGrid, maxAbs, scale } from "./colors.js";
import { keyboard, taps } from "./access.js";
import { connections, drawFocus, inputsOf, unitWeights } from "./overlay.js";
import { traceBack } from "./trace.js";

const OWN = new Set(["conv", "linear", "maxpool", "avgpool", "gap"]);
const FOLD = new Set(["relu", "tanh", "sigmoid", "bn", "dropout", "softmax"]);
const GAP = 4; // between tiles; each tile also has a 1-px border

// Stages from the model's layer list; `first` is the layer computing z, `last` the one shown.
// `signed`: whether the values shown can be negative (decided by the layers, not by the data, so the
// colour map of a stage never flips between two strokes).
export function buildStages(model) {
  const stages = [{ kind: "input", shape: model.input_shape, first: -1, last: -1, title: "input", signed: false }];
  for (const layer of model.layers) {
    const current = stages[stages.length - 1];
    if (OWN.has(layer.kind)) {
      const pooled = layer.kind === "maxpool" || layer.kind === "avgpool" || layer.kind === "gap";
      stages.push({ kind: layer.kind, shape: layer.out_shape, first: layer.index, last: layer.index, layer,
        title: layer.text, params: layer.params, folded: [], signed: pooled ? current.signed : true });
    } else if (FOLD.has(layer.kind) && current.kind !== "input") {
      current.last = layer.index;
      current.folded.push(layer);
      current.title += ` + ${layer.text}`;
      if (layer.kind === "relu" || layer.kind === "sigmoid" || layer.kind === "softmax") current.signed = false;
      else if (layer.kind !== "dropout") current.signed = true;
    } // flatten: the next dense stage reads the previous stage's values in the same (C, H, W) order
  }
  stages[stages.length - 1].output = true;
  return stages;
}

export function shapeText(shape) {
  return shape.join("×");
}

// A spec as text that wraps only between layers: "conv(6,5)-relu-..." with a break opportunity after each "-".
export function specNode(spec) {
  const code = document.createElement("code");
  code.className = "spec";
  spec.split("-").forEach((part, i, parts) => {
    code.append(part + (i < parts.length - 1 ? "-" : ""));
    if (i < parts.length - 1) code.appendChild(document.createElement("wbr"));
  });
  return code;
}

export function unitText(unit) {
  return unit.i !== undefined ? `unit ${unit.i}` : `channel ${unit.c}, row ${unit.y}, column ${unit.x}`;
}

export class NetView {
  static scaleMode = "layer"; // "layer": each stage scaled to its own largest |value|; "network": one scale

  // engine: an engine/model.js Model; onFocus(view, k, unit, how) with how = "hover" | "click" | "move" |
  // "pin" | "unpin" | "leave"; onRemove(view) for a dropped model.
  constructor(container, engine, onFocus, onRemove = null) {
    this.engine = engine;
    this.model = engine.describe();
    this.stages = buildStages(this.model);
    this.onFocus = onFocus;
    this.onRemove = onRemove;
    this.focus = null;
    this.result = null;
    this.input = null;
    this.root = container;
    this.build();
  }

  build() {
    const m = this.model, acc = m.provenance.test_accuracy, [, h, w] = m.input_shape;
    const dataset = m.provenance.dataset ? `${String(m.provenance.dataset).toUpperCase()} ` : "";
    this.root.innerHTML = `
      <div class="net-head">
        <div><h2></h2></div>
        <div class="pred" data-prediction=""><span class="pred-label">—</span><span class="pred-p"></span></div>
      </div>
      <div class="meta"></div>`;
    // Names and facts come from the model file: text, never markup.
    this.root.querySelector(".net-head > div").appendChild(specNode(m.spec));
    this.root.querySelector(".meta").textContent = `${m.num_params.toLocaleString("en")} parameters` +
      (typeof acc === "number" ? ` · ${dataset}test accuracy ${(100 * acc).toFixed(2)}%` : "");
    this.root.querySelector("h2").textContent = m.title;
    const pred = this.root.querySelector(".pred");
    pred.id = `pred-${m.name}`;
    pred.dataset.model = m.name;
    if (this.onRemove) {
      const meta = this.root.querySelector(".meta");
      meta.append(` · from ${this.engine.source} `);
      const remove = document.createElement("button");
      remove.className = "remove";
      remove.textContent = "remove";
      remove.setAttribute("aria-label", `remove ${m.name} from the page`);
      remove.onclick = () => this.onRemove(this);
      meta.appendChild(remove);
    }
    this.stages[0].title = h === 28 && w === 28 ? "input" : `input (the 28×28 frame resized to ${h}×${w})`;
    this.bars = [];
    this.views = this.stages.map((stage, k) => this.buildStage(stage, k));
    this.overlay = document.createElement("canvas");
    this.overlay.className = "lines";
    this.overlay.setAttribute("aria-hidden", "true");
    this.root.appendChild(this.overlay);
  }

  buildStage(stage, k) {
    const m = this.model, block = document.createElement("div");
    block.className = "stage";
    const caption = stage.kind === "input" ? "" : ` · ${stage.params.toLocaleString("en")} params`;
    block.innerHTML = `<div class="stage-title"><span></span><span class="dim">${shapeText(stage.shape)}${caption}</span></div>`;
    block.querySelector("span").textContent = stage.title;
    const label = `${m.title}, ${stage.kind === "input" ? "input" : `layer ${stage.first}: ${stage.title}`}, ${shapeText(stage.shape)}`;
    let el;
    if (stage.output) {
      el = document.createElement("div");
      el.className = "bars";
      el.setAttribute("role", "listbox");
      el.setAttribute("aria-label", `${label}: the probability of each class. Arrow keys move, Enter pins.`);
      m.classes.forEach((c, i) => {
        el.insertAdjacentHTML("beforeend", `<div class="bar-row" role="option" aria-selected="false" data-i="${i}"
          id="bar-${m.name}-${i}"><span class="bar-label"></span><span class="bar-track"><span class="bar-fill"></span></span>
          <span class="bar-p">–</span></div>`);
        el.lastElementChild.querySelector(".bar-label").textContent = c;
      });
      const row = (e) => e.target.closest(".bar-row");
      el.addEventListener("pointermove", (e) => { if (row(e)) this.onFocus(this, k, { i: +row(e).dataset.i }, "hover"); });
      taps(el, (e) => (row(e) ? { i: +row(e).dataset.i } : null), (unit) => this.onFocus(this, k, unit, "click"));
    } else {
      el = document.createElement("canvas");
      if (stage.kind === "input") {
        el.id = `input-${m.name}`;
        el.classList.add("input-stage");
      }
      el.dataset.stage = k;
      el.setAttribute("role", "application");
      el.setAttribute("aria-roledescription", "units");
      el.setAttribute("aria-label", `${label}. Arrow keys move between units, Page Up/Down between channels, Enter pins.`);
      el.addEventListener("pointermove", (e) => {
        const unit = this.hit(k, e.offsetX, e.offsetY);
        if (unit) this.onFocus(this, k, unit, "hover");
      });
      taps(el, (e) => this.hit(k, e.offsetX, e.offsetY), (unit) => this.onFocus(this, k, unit, "click"));
      stage.bar = colorBar(`${label}: colour scale`);
      block.querySelector(".stage-title").appendChild(stage.bar);
    }
    el.dataset.kind = stage.kind;
    el.addEventListener("pointerleave", () => this.onFocus(this, null, null, "leave"));
    keyboard(el, () => this.layouts[k], () => (this.focus && this.focus.k === k ? this.focus.unit : null),
      (how, unit) => this.onFocus(this, k, unit, how));
    block.appendChild(el);
    this.root.appendChild(block);
    return el;
  }

  // Tile sizes that fit `width` CSS pixels: the input large, every feature map at one common scale.
  layout(width) {
    const sides = this.stages.filter((s, k) => k > 0 && s.shape.length === 3).map((s) => Math.max(s.shape[1], s.shape[2]));
    const mapScale = Math.max(1, Math.min(4, Math.floor(84 / Math.max(...sides, 1))));
    this.layouts = this.stages.map((stage, k) => {
      if (stage.output) return { kind: "bars", n: stage.shape[0], perRow: 1 };
      if (stage.shape.length === 3) {
        const [c, h, w] = stage.shape;
        const fit = Math.max(1, Math.floor((width - 2) / w));
        const s = k === 0 ? Math.max(1, Math.min(fit, Math.round(140 / Math.max(h, w)))) : Math.min(mapScale, fit);
        const pitch = w * s + 2 + GAP;
        const cols = Math.max(1, Math.min(c, Math.floor((width + GAP) / pitch)));
        const rows = Math.ceil(c / cols);
        return { kind: "grid", c, h, w, s, cols, width: cols * pitch - GAP, height: rows * (h * s + 2 + GAP) - GAP };
      }
      const n = stage.shape[0], cell = n <= 128 ? 12 : 9;
      const perRow = Math.max(1, Math.min(n, Math.floor((width + 1) / (cell + 1))));
      return { kind: "strip", n, cell, perRow, width: perRow * (cell + 1) - 1, height: Math.ceil(n / perRow) * (cell + 1) - 1 };
    });
    this.layouts.forEach((lay, k) => {
      if (lay.kind === "bars") return;
      this.views[k].width = lay.width;
      this.views[k].height = lay.height;
    });
    this.drawAll();
    this.drawLines();
  }

  // Top-left corner of channel c's tile (inside its border).
  tileOrigin(lay, c) {
    return [(c % lay.cols) * (lay.w * lay.s + 2 + GAP) + 1, Math.floor(c / lay.cols) * (lay.h * lay.s + 2 + GAP) + 1];
  }

  // [x, y, size] of a unit's cell in a stage's canvas.
  cell(lay, unit) {
    if (lay.kind === "grid") {
      const [ox, oy] = this.tileOrigin(lay, unit.c);
      return [ox + unit.x * lay.s, oy + unit.y * lay.s, lay.s];
    }
    return [(unit.i % lay.perRow) * (lay.cell + 1), Math.floor(unit.i / lay.perRow) * (lay.cell + 1), lay.cell];
  }

  // The centre of a unit relative to `base` (a DOMRect of the column), for the connection lines.
  unitCentre(k, unit, base) {
    const lay = this.layouts[k];
    if (lay.kind === "bars") {
      const r = this.views[k].children[unit.i].querySelector(".bar-label").getBoundingClientRect();
      return [r.left - base.left + r.width / 2, r.top - base.top + r.height / 2];
    }
    const r = this.views[k].getBoundingClientRect(), [x, y, s] = this.cell(lay, unit);
    return [r.left - base.left + x + s / 2, r.top - base.top + y + s / 2];
  }

  hit(k, px, py) {
    const lay = this.layouts[k];
    if (!lay || lay.kind === "bars") return null;
    if (lay.kind === "grid") {
      const col = Math.floor(px / (lay.w * lay.s + 2 + GAP)), row = Math.floor(py / (lay.h * lay.s + 2 + GAP));
      const c = row * lay.cols + col;
      if (c >= lay.c || col >= lay.cols) return null;
      const [ox, oy] = this.tileOrigin(lay, c);
      const x = Math.floor((px - ox) / lay.s), y = Math.floor((py - oy) / lay.s);
      return x >= 0 && x < lay.w && y >= 0 && y < lay.h ? { c, y, x } : null;
    }
    const i = Math.floor(py / (lay.cell + 1)) * lay.perRow + Math.floor(px / (lay.cell + 1));
    return i < lay.n ? { i } : null;
  }

  // Values shown by stage k (the input image, or the last layer folded into the stage); null when empty.
  values(k) {
    const stage = this.stages[k];
    if (stage.kind === "input") return this.input;
    return this.result ? this.result.layers[stage.last].values : null;
  }

  // The colour scale of stage k: pixels on [0, 1]; other stages per layer or over the network.
  scaleOf(k, values) {
    if (k === 0) return scale(false, 1);
    return scale(this.stages[k].signed, NetView.scaleMode === "layer" ? maxAbs(values) : this.networkMax);
  }

  // result: {probabilities, prediction, label, layers: [{values}]}, or null for an empty pad (no prediction).
  update(input, result) {
    this.input = input;
    this.result = result;
    this.networkMax = 1;
    if (result) {
      let m = 0;
      this.stages.forEach((s, k) => { if (k > 0 && !s.output) m = Math.max(m, maxAbs(result.layers[s.last].values)); });
      this.networkMax = m || 1;
    }
    const label = this.root.querySelector(".pred");
    label.dataset.prediction = result ? result.label : "";
    label.querySelector(".pred-label").textContent = result ? result.label : "—";
    label.querySelector(".pred-p").textContent = result ? `${(100 * result.probabilities[result.prediction]).toFixed(1)}%` : "no ink";
    this.drawAll();
  }

  setFocus(focus) {
    this.focus = focus;
    this.trace = focus ? traceBack(this.stages, focus.k, focus.unit) : {};
    this.inputs = null;
    if (focus && focus.k > 0) {
      const weights = unitWeights(this, focus.k, focus.unit);
      this.weights = weights;
      this.inputs = weights ? inputsOf(this, focus.k, focus.unit, weights) : null;
    }
    this.drawAll();
    this.drawLines();
  }

  drawLines() {
    if (!this.layouts) return;
    const f = this.focus;
    connections(this, this.overlay, f ? f.k : 0, f ? f.unit : null, f && this.inputs ? this.inputs : null);
  }

  drawAll() {
    if (!this.layouts) return;
    this.stages.forEach((_, k) => this.draw(k));
  }

  draw(k) {
    const stage = this.stages[k];
    if (stage.output) return this.drawBars(k);
    const lay = this.layouts[k], canvas = this.views[k], ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const values = this.values(k);
    const s = values ? this.scaleOf(k, values) : scale(stage.signed, 1);
    stage.bar.update(s);
    if (lay.kind === "grid") {
      ctx.strokeStyle = "#cbd5e1";
      ctx.lineWidth = 1;
      for (let c = 0; c < lay.c; c++) {
        const [ox, oy] = this.tileOrigin(lay, c);
        ctx.strokeRect(ox - 0.5, oy - 0.5, lay.w * lay.s + 1, lay.h * lay.s + 1); // the border between maps
        if (values) drawGrid(ctx, values, c * lay.h * lay.w, lay.h, lay.w, ox, oy, lay.s, s.color);
      }
    } else {
      // A light border per unit: a unit at 0 is white, and must still be seen to be there.
      ctx.strokeStyle = "#d1d5db";
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let i = 0; i < lay.n; i++) {
        const [x, y, size] = this.cell(lay, { i });
        if (values) { ctx.fillStyle = css(s.color(values[i])); ctx.fillRect(x, y, size, size); }
        ctx.rect(x + 0.5, y + 0.5, size - 1, size - 1);
      }
      ctx.stroke();
    }
    drawFocus(this, k, ctx, lay, values);
  }

  drawBars(k) {
    const bars = this.views[k];
    const probs = this.result ? this.result.probabilities : null;
    let active = null;
    bars.querySelectorAll(".bar-row").forEach((row, i) => {
      const p = probs ? probs[i] : 0;
      row.querySelector(".bar-fill").style.width = `${(100 * p).toFixed(1)}%`;
      row.querySelector(".bar-p").textContent = probs ? `${(100 * p).toFixed(1)}%` : "—";
      row.classList.toggle("top", !!this.result && i === this.result.prediction);
      const focused = !!this.focus && this.focus.k === k && this.focus.unit.i === i;
      row.classList.toggle("focus", focused);
      row.setAttribute("aria-selected", String(focused));
      if (focused) active = row.id;
    });
    if (active) bars.setAttribute("aria-activedescendant", active);
    else bars.removeAttribute("aria-activedescendant");
  }
}
