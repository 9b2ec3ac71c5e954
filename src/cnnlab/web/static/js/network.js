// One network drawn as a column of stages: input, each conv/pool/dense layer (its activation
// folded in), and the output probabilities. Handles hit-testing and receptive-field highlights.
// Any network the engine accepts (one grey channel, up to 64x64) is laid out from its description.

import { css, drawGrid, ink, scaleFor } from "./colors.js";
import { traceBack } from "./trace.js";

const OWN = new Set(["conv", "linear", "maxpool", "avgpool", "gap"]);
const FOLD = new Set(["relu", "tanh", "sigmoid", "bn", "dropout", "softmax"]);
const GAP = 3;
export const UNIT_COLOR = "#e11d48";
export const FIELD_COLOR = "#f97316";

// Stages from the model's layer list; `first` is the layer computing z, `last` the one shown.
export function buildStages(model) {
  const stages = [{ kind: "input", shape: model.input_shape, first: -1, last: -1, title: "input (preprocessed)" }];
  for (const layer of model.layers) {
    const current = stages[stages.length - 1];
    if (OWN.has(layer.kind)) {
      stages.push({ kind: layer.kind, shape: layer.out_shape, first: layer.index, last: layer.index,
                    layer, title: layer.text, params: layer.params, folded: [] });
    } else if (FOLD.has(layer.kind) && current.kind !== "input") {
      current.last = layer.index;
      current.folded.push(layer);
      current.title += ` + ${layer.text}`;
    } // flatten: the next dense stage reads the previous stage's values in the same (C, H, W) order
  }
  stages[stages.length - 1].output = true;
  return stages;
}

export function shapeText(shape) {
  return shape.join("×");
}

export class NetView {
  // engine: an engine/model.js Model; onFocus(view, k, unit, click); onRemove(view) for a dropped model.
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
        <div><h2></h2><code class="spec"></code></div>
        <div class="pred" data-prediction=""><span class="pred-label">–</span><span class="pred-p"></span></div>
      </div>
      <div class="meta"></div>`;
    // Names and facts come from the model file: text, never markup.
    this.root.querySelector(".meta").textContent = `${m.num_params.toLocaleString()} parameters` +
      (typeof acc === "number" ? ` · ${dataset}test accuracy ${(100 * acc).toFixed(2)}%` : "");
    this.root.querySelector("h2").textContent = m.title;
    this.root.querySelector(".spec").textContent = m.spec;
    const pred = this.root.querySelector(".pred");
    pred.id = `pred-${m.name}`;
    pred.dataset.model = m.name;
    if (this.onRemove) {
      const meta = this.root.querySelector(".meta");
      meta.append(` · from ${this.engine.source} `);
      const remove = document.createElement("button");
      remove.className = "remove";
      remove.textContent = "remove";
      remove.title = `remove ${m.name} from the page`;
      remove.onclick = () => this.onRemove(this);
      meta.appendChild(remove);
    }
    this.stages[0].title = h === 28 && w === 28 ? "input (preprocessed)" : `input (the 28×28 frame resized to ${h}×${w})`;
    this.views = this.stages.map((stage, k) => {
      const block = document.createElement("div");
      block.className = "stage";
      const caption = stage.kind === "input" ? "" : ` · ${stage.params.toLocaleString()} params`;
      block.innerHTML = `<div class="stage-title"><span></span><span class="dim">${shapeText(stage.shape)}${caption}</span></div>`;
      block.querySelector("span").textContent = stage.title;
      let el;
      if (stage.output) {
        el = document.createElement("div");
        el.className = "bars";
        m.classes.forEach((c, i) => {
          el.insertAdjacentHTML("beforeend", `<div class="bar-row" data-i="${i}"><span class="bar-label"></span>
            <span class="bar-track"><span class="bar-fill"></span></span><span class="bar-p">–</span></div>`);
          el.lastElementChild.querySelector(".bar-label").textContent = c;
        });
        el.addEventListener("pointermove", (e) => {
          const row = e.target.closest(".bar-row");
          if (row) this.onFocus(this, k, { i: +row.dataset.i }, false);
        });
        el.addEventListener("click", (e) => {
          const row = e.target.closest(".bar-row");
          if (row) this.onFocus(this, k, { i: +row.dataset.i }, true);
        });
      } else {
        el = document.createElement("canvas");
        if (stage.kind === "input") {
          el.id = `input-${m.name}`;
          el.classList.add("input-stage");
        }
        el.dataset.stage = k;
        el.addEventListener("pointermove", (e) => {
          const unit = this.hit(k, e.offsetX, e.offsetY);
          if (unit) this.onFocus(this, k, unit, false);
        });
        el.addEventListener("click", (e) => {
          const unit = this.hit(k, e.offsetX, e.offsetY);
          if (unit) this.onFocus(this, k, unit, true);
        });
      }
      el.addEventListener("pointerleave", () => this.onFocus(this, null, null, false));
      block.appendChild(el);
      this.root.appendChild(block);
      return el;
    });
  }

  // Tile sizes that fit `width` CSS pixels.
  layout(width) {
    this.layouts = this.stages.map((stage, k) => {
      if (stage.output) return null;
      if (stage.shape.length === 3) {
        const [c, h, w] = stage.shape;
        const target = stage.kind === "input" ? 140 : c <= 6 ? 56 : 40; // CSS pixels for the longer side
        const s = Math.max(1, Math.round(target / Math.max(h, w)));
        const cols = Math.max(1, Math.min(c, Math.floor((width + GAP) / (w * s + GAP))));
        const rows = Math.ceil(c / cols);
        return { kind: "grid", c, h, w, s, cols, width: cols * (w * s + GAP) - GAP, height: rows * (h * s + GAP) - GAP };
      }
      const n = stage.shape[0], cell = n <= 128 ? 12 : 9;
      const perRow = Math.max(1, Math.min(n, Math.floor((width + 1) / (cell + 1))));
      return { kind: "strip", n, cell, perRow, width: perRow * (cell + 1) - 1, height: Math.ceil(n / perRow) * (cell + 1) - 1 };
    });
    this.layouts.forEach((lay, k) => {
      if (!lay) return;
      this.views[k].width = lay.width;
      this.views[k].height = lay.height;
    });
    this.drawAll();
  }

  tileOrigin(lay, c) {
    return [(c % lay.cols) * (lay.w * lay.s + GAP), Math.floor(c / lay.cols) * (lay.h * lay.s + GAP)];
  }

  hit(k, px, py) {
    const lay = this.layouts[k];
    if (!lay) return null;
    if (lay.kind === "grid") {
      const col = Math.floor(px / (lay.w * lay.s + GAP)), row = Math.floor(py / (lay.h * lay.s + GAP));
      const c = row * lay.cols + col;
      if (c >= lay.c || col >= lay.cols) return null;
      const [ox, oy] = this.tileOrigin(lay, c);
      const x = Math.floor((px - ox) / lay.s), y = Math.floor((py - oy) / lay.s);
      return x >= 0 && x < lay.w && y >= 0 && y < lay.h ? { c, y, x } : null;
    }
    const i = Math.floor(py / (lay.cell + 1)) * lay.perRow + Math.floor(px / (lay.cell + 1));
    return i < lay.n ? { i } : null;
  }

  // Values shown by stage k (the input image, or the last layer folded into the stage).
  values(k) {
    const stage = this.stages[k];
    if (stage.kind === "input") return this.input;
    return this.result ? this.result.layers[stage.last].values : null;
  }

  update(input, result) {
    this.input = input;
    this.result = result;
    const label = this.root.querySelector(".pred");
    label.dataset.prediction = result.label;
    label.querySelector(".pred-label").textContent = result.label;
    label.querySelector(".pred-p").textContent = `${(100 * result.probabilities[result.prediction]).toFixed(1)}%`;
    this.drawAll();
  }

  setFocus(focus) {
    this.focus = focus;
    this.trace = focus ? traceBack(this.stages, focus.k, focus.unit) : {};
    this.drawAll();
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
    if (!values) return;
    const color = stage.kind === "input" ? ink : scaleFor(values);
    if (lay.kind === "grid") {
      for (let c = 0; c < lay.c; c++) {
        const [ox, oy] = this.tileOrigin(lay, c);
        drawGrid(ctx, values, c * lay.h * lay.w, lay.h, lay.w, ox, oy, lay.s, color);
      }
    } else {
      for (let i = 0; i < lay.n; i++) {
        ctx.fillStyle = css(color(values[i]));
        ctx.fillRect((i % lay.perRow) * (lay.cell + 1), Math.floor(i / lay.perRow) * (lay.cell + 1), lay.cell, lay.cell);
      }
    }
    this.drawHighlight(k, ctx, lay);
  }

  drawHighlight(k, ctx, lay) {
    const canvas = this.views[k];
    delete canvas.dataset.rf;
    if (!this.focus) return;
    ctx.lineWidth = 2;
    if (k === this.focus.k) {
      ctx.strokeStyle = UNIT_COLOR;
      const u = this.focus.unit;
      if (lay.kind === "grid") {
        const [ox, oy] = this.tileOrigin(lay, u.c);
        ctx.strokeRect(ox + u.x * lay.s - 1, oy + u.y * lay.s - 1, lay.s + 2, lay.s + 2);
      } else {
        ctx.strokeRect((u.i % lay.perRow) * (lay.cell + 1) - 1, Math.floor(u.i / lay.perRow) * (lay.cell + 1) - 1, lay.cell + 2, lay.cell + 2);
      }
      return;
    }
    const region = this.trace[k];
    if (!region || region.empty) return;
    ctx.strokeStyle = FIELD_COLOR;
    if (region.all) {
      ctx.fillStyle = "rgba(249, 115, 22, 0.12)";
      ctx.fillRect(0, 0, lay.width, lay.height);
      ctx.strokeRect(1, 1, lay.width - 2, lay.height - 2);
      if (k === 0) canvas.dataset.rf = `0,${lay.h - 1},0,${lay.w - 1}`;
      return;
    }
    const [y0, y1] = region.rows, [x0, x1] = region.cols;
    for (let c = 0; c < lay.c; c++) {
      if (region.channels !== "all" && !region.channels.has(c)) continue;
      const [ox, oy] = this.tileOrigin(lay, c);
      const rx = ox + x0 * lay.s, ry = oy + y0 * lay.s, rw = (x1 - x0 + 1) * lay.s, rh = (y1 - y0 + 1) * lay.s;
      if (k === 0) {
        // Dim what the unit cannot see, so its receptive field stands out on the input.
        ctx.fillStyle = "rgba(255, 255, 255, 0.65)";
        ctx.fillRect(ox, oy, lay.w * lay.s, ry - oy);
        ctx.fillRect(ox, ry + rh, lay.w * lay.s, oy + lay.h * lay.s - ry - rh);
        ctx.fillRect(ox, ry, rx - ox, rh);
        ctx.fillRect(rx + rw, ry, ox + lay.w * lay.s - rx - rw, rh);
      }
      ctx.strokeRect(rx + 1, ry + 1, rw - 2, rh - 2);
    }
    if (k === 0) canvas.dataset.rf = `${y0},${y1},${x0},${x1}`;
  }

  drawBars(k) {
    const bars = this.views[k];
    const probs = this.result ? this.result.probabilities : null;
    bars.querySelectorAll(".bar-row").forEach((row, i) => {
      const p = probs ? probs[i] : 0;
      row.querySelector(".bar-fill").style.width = `${(100 * p).toFixed(1)}%`;
      row.querySelector(".bar-p").textContent = probs ? `${(100 * p).toFixed(1)}%` : "–";
      row.classList.toggle("top", !!this.result && i === this.result.prediction);
      row.classList.toggle("focus", !!this.focus && this.focus.k === k && this.focus.unit.i === i);
    });
  }
}
