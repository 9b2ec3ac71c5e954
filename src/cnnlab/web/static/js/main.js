// The page: drawing pad -> POST /api/forward -> every network redrawn; hover/click -> inspector.

import { forwardPng, getModels } from "./api.js";
import { renderCalculator } from "./calculator.js";
import { drawGrid, ink } from "./colors.js";
import { renderConv1d } from "./conv1d.js";
import { DrawingPad } from "./draw.js";
import { renderGallery } from "./gallery.js";
import { Inspector } from "./inspect.js";
import { NetView } from "./network.js";
import { renderTraining } from "./train.js";

const arc = (cx, cy, rx, ry, a0, a1, n = 24) =>
  Array.from({ length: n + 1 }, (_, j) => { const a = a0 + (a1 - a0) * j / n; return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)]; });
const EXAMPLES = [
  [[[0.28, 0.22], [0.72, 0.22], [0.46, 0.82]]],
  [arc(0.5, 0.34, 0.17, 0.13, -Math.PI * 0.9, Math.PI * 0.5), arc(0.5, 0.64, 0.19, 0.17, -Math.PI * 0.5, Math.PI * 0.85)],
  [[[0.58, 0.82], [0.58, 0.18], [0.28, 0.6], [0.74, 0.6]]],
  [arc(0.5, 0.5, 0.2, 0.3, 0, 2 * Math.PI, 40)],
];

// Exposed for the browser test and for students poking around in the console.
const state = { models: [], views: [], focus: null, pinned: false, busy: false, dirty: false, last: null, example: 0, responses: 0 };
window.cnnlab = state;

async function main() {
  state.models = await getModels();
  const inspector = new Inspector(document.getElementById("inspector"));
  const nets = document.getElementById("nets");
  const preview = document.getElementById("preview");
  const status = document.getElementById("status");

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

  state.views = state.models.map((model) => {
    const column = document.createElement("section");
    column.className = "net card";
    column.id = `net-${model.name}`;
    nets.appendChild(column);
    return new NetView(column, model, onFocus);
  });
  const layout = () => state.views.forEach((v) => v.layout(v.root.clientWidth - 28));
  layout();
  window.addEventListener("resize", layout);

  async function send() {
    if (state.busy) { state.dirty = true; return; }
    state.busy = true;
    try {
      const data = await forwardPng(await pad.png());
      state.last = data;
      const input = new Float32Array(data.input.flat());
      drawGrid(preview.getContext("2d"), input, 0, 28, 28, 0, 0, preview.width / 28, ink);
      state.views.forEach((v) => v.update(input, data.results[v.model.name]));
      if (state.focus) {
        const view = state.views.find((v) => v.model.name === state.focus.model);
        inspector.show(view, state.focus.k, state.focus.unit, state.pinned);
      }
      status.textContent = `server: ${data.ms.toFixed(1)} ms for ${state.views.length} networks, every activation`;
      state.responses++;
      document.body.dataset.ready = "1";
    } catch (err) {
      status.textContent = `error: ${err.message}`;
    } finally {
      state.busy = false;
    }
    if (state.dirty) { state.dirty = false; send(); }
  }

  const pad = new DrawingPad(document.getElementById("pad"), send);
  document.getElementById("clear").onclick = () => { pad.clear(); send(); };
  document.getElementById("example").onclick = () => {
    pad.clear();
    pad.drawStrokes(EXAMPLES[state.example++ % EXAMPLES.length]);
  };
  pad.drawStrokes(EXAMPLES[state.example++]);

  renderConv1d(document.getElementById("conv1d"));
  renderCalculator(document.getElementById("calc"));
  renderTraining(document.getElementById("train"));
  await renderGallery(document.getElementById("gallery"), state.models);
}

main().catch((err) => { document.getElementById("status").textContent = `error: ${err.message}`; });
