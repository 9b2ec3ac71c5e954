// The page: the networks load as web model files (models/index.json), every forward pass, weight and
// receptive field is computed here in the browser (engine/), and the drawing pad redraws every network.
// The same code runs on a static site (cnnlab web build) and under cnnlab serve.

import { ConvAnimation } from "./animate.js";
import { renderCalculator } from "./calculator.js";
import { drawGrid, ink } from "./colors.js";
import { renderConv1d } from "./conv1d.js";
import { DrawingPad } from "./draw.js";
import { setupDrop } from "./drop.js";
import { asDrawn, fitFrame, isEmpty, preprocess, shiftFrame } from "./engine/digit.js";
import { renderGallery } from "./gallery.js";
import { Inspector } from "./inspect.js";
import { NetView, unitText } from "./network.js";
import { installApi, Registry } from "./registry.js";
import { renderTraining } from "./train.js";
import { LessonControls, SweepView } from "./translation.js";

const arc = (cx, cy, rx, ry, a0, a1, n = 24) =>
  Array.from({ length: n + 1 }, (_, j) => { const a = a0 + (a1 - a0) * j / n; return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)]; });
const EXAMPLES = [
  [[[0.28, 0.22], [0.72, 0.22], [0.46, 0.82]]],
  [arc(0.5, 0.34, 0.17, 0.13, -Math.PI * 0.9, Math.PI * 0.5), arc(0.5, 0.64, 0.19, 0.17, -Math.PI * 0.5, Math.PI * 0.85)],
  [[[0.58, 0.82], [0.58, 0.18], [0.28, 0.6], [0.74, 0.6]]],
  [arc(0.5, 0.5, 0.2, 0.3, 0, 2 * Math.PI, 40)],
];
const $ = (id) => document.getElementById(id);

const registry = new Registry();
const api = installApi(registry);
// Page state, for the browser tests and for students poking around in the console.
const state = { views: [], focus: null, pinned: false, base: null, frame: null, ink: false, empty: true, updates: 0,
  example: 0, ready: false, lastMs: null, firstPredictionMs: null, registry, sweep: null, sweepFor: -1 };
api.page = state;

// The title and the header follow the networks on the page ("Dense 784-300-100-10 vs LeNet-like CNN").
function retitle(models) {
  const titles = models.map((m) => m.title);
  const pair = titles.length ? titles.join(" vs ") : "no network loaded";
  document.title = `cnnlab · ${pair}`;
  $("subtitle").textContent = `· ${pair}${titles.length > 1 ? ", side by side" : ""}`;
  $("who").textContent = titles.length === 1 ? "The network classifies" : titles.length === 2 ? "Both networks classify" : `All ${titles.length} networks classify`;
}

async function main() {
  const status = $("status"), nets = $("nets"), preview = $("preview");
  await registry.load();
  performance.mark("cnnlab:models-loaded"); // benchmarks/web_static.py reads these marks
  const inspector = new Inspector($("inspector"));
  const sweepView = new SweepView($("sweep"));
  const animation = new ConvAnimation($("animate"));
  state.animation = animation;

  const close = () => { state.pinned = false; setFocus(null); };
  function setFocus(view, k, unit) {
    state.focus = view ? { model: view.model.name, k, unit } : null;
    state.views.forEach((v) => v.setFocus(v === view ? { k, unit } : null));
    if (view) inspector.show(view, k, unit, state.pinned, close);
    else inspector.clear();
  }

  function announce(view, k, unit) {
    const values = view.values(k), stage = view.stages[k];
    const flat = unit.i !== undefined ? unit.i : (unit.c * stage.shape[1] + unit.y) * stage.shape[2] + unit.x;
    const value = stage.output && view.result ? `p = ${(100 * view.result.probabilities[unit.i]).toFixed(1)}%`
      : values ? `value ${values[flat].toFixed(3)}` : "no value";
    $("unit-live").textContent = `${view.model.title}, ${stage.title}: ${unitText(unit)}, ${value}${state.pinned ? ", pinned" : ""}`;
  }

  // how: "hover" | "leave" (pointer), "click" (pointer, pins), "move" | "pin" | "unpin" (keyboard).
  function onFocus(view, k, unit, how) {
    const same = state.focus && k !== null && state.focus.model === view.model.name && state.focus.k === k &&
      JSON.stringify(state.focus.unit) === JSON.stringify(unit);
    if (how === "leave") { if (!state.pinned) setFocus(null); return; }
    if (how === "unpin") { close(); return; }
    if (how === "hover") { if (!state.pinned && !same) setFocus(view, k, unit); return; }
    if (how === "click" || how === "pin") state.pinned = !(state.pinned && same);
    setFocus(view, k, unit);
    if (how !== "click") announce(view, k, unit);
  }

  // One forward pass of every network on the current frame; the frame is resized for inputs other than 28x28.
  function predict(view) {
    const [, h, w] = view.engine.inputShape;
    const input = fitFrame(state.frame, h, w);
    if (state.empty) { view.update(input, null); return; }
    const { probabilities, activations } = view.engine.forward(input);
    let k = 0;
    probabilities.forEach((p, i) => { if (p > probabilities[k]) k = i; });
    view.update(input, { probabilities, prediction: k, label: view.model.classes[k], layers: activations.map((values) => ({ values })) });
  }

  let said = "";
  function update() {
    const t0 = performance.now();
    state.views.forEach(predict);
    if (state.focus) {
      const view = state.views.find((v) => v.model.name === state.focus.model);
      if (view) inspector.show(view, state.focus.k, state.focus.unit, state.pinned, close);
    }
    state.lastMs = performance.now() - t0;
    state.updates++;
    if (state.firstPredictionMs === null) {
      state.firstPredictionMs = performance.now();
      performance.mark("cnnlab:first-prediction");
    }
    status.textContent = `computed in your browser: ${state.lastMs.toFixed(1)} ms for ${state.views.length} networks, every activation`;
    // Screen readers hear the prediction when it changes, not on every stroke.
    const say = state.empty ? "Nothing drawn: no prediction." : state.views.map((v) =>
      `${v.model.title}: ${v.result.label} (${(100 * v.result.probabilities[v.result.prediction]).toFixed(0)}%)`).join("; ");
    if (say !== said) { $("prediction-live").textContent = say; said = say; }
    document.body.dataset.ready = "1";
    scheduleLesson();
  }

  // The shift sweep (two dozen forward passes per network) and the animation wait until the pen rests.
  let lessonTimer = null;
  function scheduleLesson() {
    clearTimeout(lessonTimer);
    lessonTimer = setTimeout(async () => {
      const n = state.updates, stale = () => state.updates !== n;
      const sweep = await sweepView.update(state.views, state.empty ? null : state.base, [controls.dx, controls.dy], stale);
      if (sweep === null || stale()) return;
      state.sweep = sweep;
      animation.setViews(state.views);
      state.sweepFor = n;
    }, state.pad && state.pad.drawing ? 200 : 20);
  }

  function buildViews() {
    nets.replaceChildren();
    retitle(registry.models);
    if (state.focus && !registry.get(state.focus.model)) { state.pinned = false; setFocus(null); }
    state.views = registry.models.map((engine) => {
      const column = document.createElement("section");
      column.className = "net card";
      column.id = `net-${engine.name}`;
      column.setAttribute("aria-label", engine.title);
      nets.appendChild(column);
      const remove = engine.source === "built-in" ? null : (view) => registry.remove(view.engine.name);
      return new NetView(column, engine, onFocus, remove);
    });
    layout();
    if (state.frame) update();
  }
  const gallery = () => renderGallery($("gallery"), state.views);

  const layout = () => state.views.forEach((v) => v.layout(v.root.clientWidth - 28));
  window.addEventListener("resize", layout);

  function refresh() {
    const pad = state.pad;
    const drawn = controls.center ? preprocess(pad.grey(), pad.canvas.height, pad.canvas.width)
      : asDrawn(pad.grey(), pad.canvas.height, pad.canvas.width);
    state.base = drawn.frame;
    state.ink = drawn.ink;
    state.frame = shiftFrame(drawn.frame, controls.dx, controls.dy);
    state.empty = !drawn.ink || isEmpty(state.frame);
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

  const pad = new DrawingPad($("pad"), onDraw);
  state.pad = pad;
  const controls = new LessonControls($("lesson"), pad.canvas, (what) => {
    if (what === "center") {
      pad.setFollow(controls.center);
      $("pad-guide").hidden = controls.center;
      $("preview-say").textContent = controls.center ? "ink cropped, scaled to 20 px, centre of mass at (14, 14)"
        : "the whole pad shrunk to 28×28: the digit stays where you drew it";
    }
    refresh();
  });
  state.controls = controls;
  state.refresh = refresh; // for benchmarks/web_static.py: one whole update (preprocess, forward, redraw)
  pad.drawStrokes(EXAMPLES[state.example++]);
  registry.onChange(buildViews);
  registry.onChange(gallery);
  buildViews();
  refresh(); // the first prediction, before the rest of the page is drawn
  state.ready = true;
  gallery();
  $("clear").onclick = () => { pad.clear(); onDraw(); };
  $("example").onclick = () => {
    pad.clear();
    pad.drawStrokes(EXAMPLES[state.example++ % EXAMPLES.length]);
  };
  for (const input of document.querySelectorAll("input[name=scale]")) {
    input.addEventListener("change", () => {
      NetView.scaleMode = input.value;
      state.views.forEach((v) => v.drawAll());
    });
  }
  setupDrop(registry, { button: $("add-model"), input: $("model-file"), status: $("drop-status") });
  renderConv1d($("conv1d"));
  renderCalculator($("calc"));
  renderTraining($("train"), registry.server, async (buffer) => {
    for (const m of registry.models.filter((m) => m.source === "trained in the page")) registry.remove(m.name);
    return registry.addBuffer(buffer, "trained in the page");
  });
}

main().catch((err) => {
  const status = $("status");
  status.textContent = `error: ${err.message}`;
  status.classList.add("error");
});
