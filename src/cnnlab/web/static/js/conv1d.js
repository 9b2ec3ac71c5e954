// The lecture's 1-D convolution, step by step: padding, window, dot product, bias, ReLU.
// Every number comes from engine/explain.js, the browser's port of cnnlab.explain.conv1d_steps
// (what `cnnlab explain conv1d` prints).

import { conv1dSteps } from "./engine/explain.js";

const num = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(2)).replace("-", "−");
// Numbers where the text is a number; the text itself otherwise, so that the error can quote it.
const parseList = (text) => text.split(",").map((t) => t.trim()).filter(Boolean)
  .map((t) => (Number.isFinite(Number(t)) ? Number(t) : t));

export function renderConv1d(root) {
  root.innerHTML = `
    <div class="c1-form">
      <label>input x <input id="c1-x" value="1, 2, 2, -1, 3"></label>
      <label>filter w <input id="c1-w" value="1, -1, 1" size="8"></label>
      <label>bias b <input id="c1-b" value="-2" size="3"></label>
      <label>stride S <input id="c1-s" type="number" value="1" min="1"></label>
      <label>padding P <input id="c1-p" type="number" value="1" min="0"></label>
    </div>
    <div class="c1-controls">
      <button id="c1-reset" title="back to the start">↺ reset</button><button id="c1-prev">◀ step</button>
      <button id="c1-next">step ▶</button><button id="c1-play">▶ play</button>
      <span id="c1-say" class="c1-say"></span>
    </div>
    <div id="c1-view" class="c1-view" tabindex="0" role="region" aria-label="the convolution, step by step"></div>`;
  const state = { data: null, step: 0, timer: null };
  const $ = (id) => root.querySelector(id);
  const stepCount = () => 2 + 3 * state.data.output_width;

  function load() {
    try {
      const bias = Number($("#c1-b").value);
      state.data = conv1dSteps(parseList($("#c1-x").value), parseList($("#c1-w").value),
        { bias: Number.isFinite(bias) ? bias : $("#c1-b").value, stride: Number($("#c1-s").value), padding: Number($("#c1-p").value) });
      state.step = Math.min(state.step, stepCount() - 1);
      draw();
    } catch (err) {
      state.data = null;
      $("#c1-view").innerHTML = '<div class="error"></div>';
      $("#c1-view .error").textContent = err.message;
      $("#c1-say").textContent = "";
    }
  }

  // pos(j): the 0-based column of value j on the padded input's grid.
  function cells(values, cls, pos) {
    return values.map((v, j) => `<span class="cell ${cls(j)}" style="grid-column:${pos(j) + 1}">${v === null ? "" : num(v)}</span>`).join("");
  }

  function draw() {
    const d = state.data, step = state.step, F = d.weight.length, P = d.padding, S = d.stride;
    const n = d.padded.length, i = Math.floor((step - 2) / 3), sub = (step - 2) % 3;
    const padded = step >= 1;
    const xs = padded ? d.padded : d.input;
    const offset = padded ? 0 : P;
    const inWindow = (j) => step >= 2 && j >= i * S && j < i * S + F;
    const isPad = (j) => padded && (j < P || j >= n - P);
    const shown = (j, kind) => j < i || (j === i && sub >= kind);
    const rows = [
      ["x", cells(xs, (j) => `${isPad(j + offset) ? "pad" : ""} ${inWindow(j + offset) ? "win" : ""}`, (j) => j + offset)],
    ];
    if (step >= 2) {
      rows.push(["w", cells(d.weight, () => "w", (k) => i * S + k)]);
      rows.push(["w·x", cells(d.weight.map((w, k) => w * d.padded[i * S + k]), () => "prod", (k) => i * S + k)]);
    }
    const out = (arr, kind) => arr.map((v, j) => (step >= 2 && shown(j, kind) ? v : null));
    const outCls = (kind) => (j) => (step >= 2 && j === i && sub === kind ? "now" : "");
    const under = (j) => j * S + Math.floor(F / 2); // each output sits under its window's centre
    rows.push(["Σ w·x", cells(out(d.dots, 0), outCls(0), under)]);
    rows.push([`+ b (${num(d.bias)})`, cells(out(d.pre_activations, 1), outCls(1), under)]);
    rows.push(["ReLU", cells(out(d.outputs, 2), outCls(2), under)]);
    $("#c1-view").innerHTML = rows.map(([label, html]) =>
      `<div class="c1-row"><span class="c1-label">${label}</span><div class="c1-cells" style="grid-template-columns:repeat(${n},minmax(24px,42px))">${html}</div></div>`).join("");
    const W = d.input.length;
    const say = step === 0 ? `Input: W = ${W} neurons, depth 1. Output width 1 + (W − F + 2P)/S = 1 + (${W} − ${F} + 2·${P})/${S} = ${d.output_width}.`
      : step === 1 ? `Zero padding: P = ${P} zero${P === 1 ? "" : "s"} on each side → W + 2P = ${n}.`
      : sub === 0 ? `Output ${i}: the window x[${i * S}…${i * S + F - 1}] times w, summed: ${d.weight.map((w, k) => `${num(w)}·${num(d.padded[i * S + k])}`).join(" + ")} = ${num(d.dots[i])}.`
      : sub === 1 ? `Output ${i}: add the bias: ${num(d.dots[i])} + (${num(d.bias)}) = ${num(d.pre_activations[i])}.`
      : `Output ${i}: ReLU (unit slope): max(0, ${num(d.pre_activations[i])}) = ${num(d.outputs[i])}.`;
    $("#c1-say").textContent = `step ${step + 1}/${stepCount()} · ${say}`;
  }

  const go = (step) => { if (state.data) { state.step = Math.max(0, Math.min(stepCount() - 1, step)); draw(); } };
  const stop = () => { clearInterval(state.timer); state.timer = null; $("#c1-play").textContent = "▶ play"; };
  $("#c1-reset").onclick = () => { stop(); go(0); };
  $("#c1-prev").onclick = () => { stop(); go(state.step - 1); };
  $("#c1-next").onclick = () => { stop(); go(state.step + 1); };
  $("#c1-play").onclick = () => {
    if (state.timer) return stop();
    if (state.data && state.step >= stepCount() - 1) go(0);
    $("#c1-play").textContent = "⏸ pause";
    state.timer = setInterval(() => (state.data && state.step < stepCount() - 1 ? go(state.step + 1) : stop()), 900);
  };
  root.querySelectorAll("input").forEach((el) => el.addEventListener("change", () => { stop(); load(); }));
  load();
}
