// The page: the networks load as web model files (models/index.json), every forward pass, weight and
// receptive field is computed here in the browser (engine/), and the drawing pad redraws every network.
// The same code runs on a static site (cnnlab web build) and under cnnlab serve.

import { renderCalculator } from "./calculator.js";
import { drawGrid, ink } from "./colors.js";
import { renderConv1d } from "./conv1d.js";
import { DrawingPad } from "./draw.js";
import { setupDrop } from "./drop.js";
import { fitFrame, preprocess } from "./engine/digit.js";
import { renderGallery } from "./gallery.js";
import { Inspector } from "./inspect.js";
import { NetView } from "./network.js";
import { installApi, Registry } from "./registry.js";
import { renderTraining } from "./train.js";

const arc = (cx, cy, rx, ry, a0, a1, n = 24) =>
  Array.from({ length: n + 1 }, (_, j) => { const a = a0 + (a1 - a0) * j / n; return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)]; });
const EXAMPLES = [
  [[[0.28, 0.22], [0.72, 0.22], [0.46, 0.82]]],
  [arc(0.5, 0.34, 0.17, 0.13, -Math.PI * 0.9, Math.PI * 0.5), arc(0.5, 0.64, 0.19, 0.17, -Math.PI * 0.5, Math.PI * 0.85)],
  [[[0.58, 0.82], [0.58, 0.18], [0.28, 0.6], [0.74, 0.6]]],
  [arc(0.5, 0.5, 0.2, 0.3, 0, 2 * Math.PI, 40)],
];

const registry = new Registry();
const api = installApi(registry);
// Page state, for the browser tests and for students poking around in the console.
const state = { views: [], focus: null, pinned: false, frame: null, ink: false, updates: 0, example: 0, ready: false,
  lastMs: null, firstPredictionMs: null, registry };
api.page = state;

async function main() {
  const status = document.getElementById("status");
  await registry.load();
  performance.mark("cnnlab:models-loaded"); // benchmarks/web_static.py reads these marks
  const inspector = new Inspector(document.getElementById("inspector"));
  const nets = document.getElementById("nets");
  const preview = document.getElementById("preview");

  function setFocus(view, k, unit) {
    state.focus = view ? { model: view.model.name, k, unit } : null;
    state.views.forEach((v) => v.setFocus(v === view ? { k, unit } : null));
    if (view) inspector.show(view, k, unit, state.pinned);
    else inspector.clear();
  }

  function onFocus(view, k, unit, click) {
    if (k === null) { if (!state.pinned) setFocus(null); return; }
    const same = state.focus && state.focus.model === view.model.name && state.focus.k === k &&
      JSON.stringify(state.focus.unit) === JSON.stringify(unit);
    if (click) {
      state.pinned = !(state.pinned && same);
      setFocus(view, k, unit);
    } else if (!state.pinned && !same) {
      setFocus(view, k, unit);
    }
  }

  // One forward pass of every network on the current frame; the frame is resized for inputs other than 28x28.
  function predict(view) {
    const [, h, w] = view.engine.inputShape;
    const input = fitFrame(state.frame, h, w);
    const { probabilities, activations } = view.engine.forward(input);
    let k = 0;
    probabilities.forEach((p, i) => { if (p > probabilities[k]) k = i; });
    view.update(input, { probabilities, prediction: k, label: view.model.classes[k], layers: activations.map((values) => ({ values })) });
  }

  function update() {
    const t0 = performance.now();
    state.views.forEach(predict);
    if (state.focus) {
      const view = state.views.find((v) => v.model.name === state.focus.model);
      if (view) inspector.show(view, state.focus.k, state.focus.unit, state.pinned);
    }
    state.lastMs = performance.now() - t0;
    state.updates++;
    if (state.firstPredictionMs === null) {
      state.firstPredictionMs = performance.now();
      performance.mark("cnnlab:first-prediction");
    }
    status.textContent = `computed in your browser: ${state.lastMs.toFixed(1)} ms for ${state.views.length} networks, every activation`;
    document.body.dataset.ready = "1";
  }

  function buildViews() {
    nets.replaceChildren();
    if (state.focus && !registry.get(state.focus.model)) { state.pinned = false; setFocus(null); }
    state.views = registry.models.map((engine) => {
      const column = document.createElement("section");
      column.className = "net card";
      column.id = `net-${engine.name}`;
      nets.appendChild(column);
      const remove = engine.source === "built-in" ? null : (view) => registry.remove(view.engine.name);
      return new NetView(column, engine, onFocus, remove);
    });
    layout();
    if (state.frame) update();
  }
  const gallery = () => renderGallery(document.getElementById("gallery"), state.views);

  const layout = () => state.views.forEach((v) => v.layout(v.root.clientWidth - 28));
  window.addEventListener("resize", layout);

  function refresh() {
    const pad = state.pad;
    ({ frame: state.frame, ink: state.ink } = preprocess(pad.grey(), pad.canvas.height, pad.canvas.width));
    drawGrid(preview.getContext("2d"), state.frame, 0, 28, 28, 0, 0, preview.width / 28, ink);
    update();
  }

  // Strokes arrive faster than frames: preprocess and predict at most once per animation frame.
  let scheduled = false;
  function onDraw() {
    if (scheduled || !state.ready) return;
    scheduled = true;
    requestAnimationFrame(() => { scheduled = false; refresh(); });
  }

  const pad = new DrawingPad(document.getElementById("pad"), onDraw);
  state.pad = pad;
  state.refresh = refresh; // for benchmarks/web_static.py: one whole update (preprocess, forward, redraw)
  pad.drawStrokes(EXAMPLES[state.example++]);
  registry.onChange(buildViews);
  registry.onChange(gallery);
  buildViews();
  refresh(); // the first prediction, before the rest of the page is drawn
  state.ready = true;
  gallery();
  document.getElementById("clear").onclick = () => { pad.clear(); onDraw(); };
  document.getElementById("example").onclick = () => {
    pad.clear();
    pad.drawStrokes(EXAMPLES[state.example++ % EXAMPLES.length]);
  };
  setupDrop(registry, { button: document.getElementById("add-model"), input: document.getElementById("model-file"),
    status: document.getElementById("drop-status") });
  renderConv1d(document.getElementById("conv1d"));
  renderCalculator(document.getElementById("calc"));
  renderTraining(document.getElementById("train"), registry.server);
}

main().catch((err) => {
  const status = document.getElementById("status");
  status.textContent = `error: ${err.message}`;
  status.classList.add("error");
});
