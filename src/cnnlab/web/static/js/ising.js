// The Ising playground (ising.html): a live lattice (ising-mc.js), the exact curves (ising-exact.js), the
// phase classifier of `cnnlab ising tc` run by the client-side engine (ising-cnn.js) and the lattice
// coarse-grained three ways (ising-rg.js). The same files run on a static site and under cnnlab serve.
// Global API for scripts and tests (window.cnnlab.ising):
//
//   await simulate({L, T, sweeps, seed})   -> {energy_per_spin, abs_magnetization, ...} (ising-mc.js)
//   await predict(spins)                   -> {p_ordered, probabilities, logits}; spins: L*L (or L rows) of +-1
//   await coarseGrain(spins, {method, steps, seed}) -> the coarse lattice, flat (ising-rg.js)
//   exact: {TC, onsagerEnergy, yangMagnetization}; page: the page's state

import { diverging } from "./colors.js";
import { loadClassifier } from "./ising-cnn.js";
import { onsagerEnergy, TC, yangMagnetization } from "./ising-exact.js";
import { Lattice, MAX_L, Rng, simulate } from "./ising-mc.js";
import { coarseGrain, METHODS } from "./ising-rg.js";

const $ = (id) => document.getElementById(id);
const HISTORY = 400; // measurements kept for the dots of the plots
const P_EVERY_MS = 120; // the CNN runs at most this often (twice per call: x and -x)
const T_RANGE = [0.5, 5];
const fmt = (v, d = 3) => (Number.isFinite(v) ? v.toFixed(d).replace("-", "−") : "–");
const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

const state = {
  lattice: null, classifier: null, playing: !reduceMotion, T: Number($("temperature").value), L: 64, seed: 0,
  perFrame: 4, steps: 2, sweeps: 0, history: [], p: null, pAt: -Infinity, pFor: -1, frames: 0, updates: 0,
  rate: null, error: null, rgRng: new Rng(0), dirty: false,
};

const api = window.cnnlab || (window.cnnlab = {});
api.ising = {
  simulate,
  exact: { TC, onsagerEnergy, yangMagnetization },
  page: state,
  async predict(spins) {
    const flat = spinValues(spins);
    return (await classifierReady).predict(flat, Math.round(Math.sqrt(flat.length)));
  },
  async coarseGrain(spins, { method = "majority", steps = 1, seed = 0 } = {}) {
    const flat = spinValues(spins, false);
    return Array.from(coarseGrain(flat, Math.round(Math.sqrt(flat.length)), method, steps, new Rng(seed)));
  },
};

// A configuration from the API as a flat Float32Array of an even L x L lattice (+-1 unless `strict` is false).
function spinValues(spins, strict = true) {
  const flat = Array.isArray(spins) && Array.isArray(spins[0]) ? spins.flat() : Array.from(spins ?? []);
  const L = Math.round(Math.sqrt(flat.length));
  if (L * L !== flat.length || L % 2 || L < 2 || L > MAX_L) {
    throw new Error(`spins must be an L x L lattice with L even and at most ${MAX_L} (flat or nested), got ${flat.length} values`);
  }
  const bad = flat.findIndex((v) => (strict ? v !== 1 && v !== -1 : typeof v !== "number" || !Number.isFinite(v)));
  if (bad >= 0) throw new Error(`spins[${bad}] = ${JSON.stringify(flat[bad])} is not ${strict ? "+1 or -1" : "a finite number"}`);
  return Float32Array.from(flat);
}

const classifierReady = loadClassifier();

function restart(start = "hot") {
  state.lattice = new Lattice(state.L, state.T, { seed: state.seed, start });
  state.sweeps = 0;
  state.pFor = -1;
  state.rgRng = new Rng(state.seed);
  $("lattice").width = $("lattice").height = state.L;
  $("lattice-meta").textContent = `L = ${state.L}, ${state.L * state.L} spins, seed ${state.seed}`;
  draw();
}

function setTemperature(T) {
  state.T = T;
  state.lattice.setTemperature(T);
  $("temperature-value").textContent = `T = ${T.toFixed(2)}`;
  $("temperature").setAttribute("aria-valuetext", `T = ${T.toFixed(2)}`);
  const phase = T < TC ? "below" : "above";
  $("tc-note").textContent = `${phase} Tc = ${TC.toFixed(3)}: the infinite lattice is ${T < TC ? "ordered" : "disordered"} ` +
    `(T/Tc = ${(T / TC).toFixed(3)})`;
  $("energy-exact").textContent = fmt(onsagerEnergy(T));
  $("magnet-exact").textContent = fmt(yangMagnetization(T));
}

// ---- drawing -------------------------------------------------------------------------------------
const UP = diverging(1), DOWN = diverging(-1);
const packed = ([r, g, b]) => (255 << 24) | (b << 16) | (g << 8) | r; // ImageData is RGBA bytes, little-endian

function drawLattice() {
  const canvas = $("lattice"), ctx = canvas.getContext("2d"), L = state.L, spins = state.lattice.spins;
  const img = ctx.createImageData(L, L), words = new Uint32Array(img.data.buffer), up = packed(UP), down = packed(DOWN);
  for (let i = 0; i < spins.length; i++) words[i] = spins[i] > 0 ? up : down;
  ctx.putImageData(img, 0, 0);
}

function drawCoarse() {
  for (const method of METHODS) {
    const values = coarseGrain(state.lattice.spins, state.L, method, Math.min(state.steps, Math.log2(state.L) - 1), state.rgRng);
    const n = Math.round(Math.sqrt(values.length)), canvas = $(`coarse-${method}`);
    if (canvas.width !== n) canvas.width = canvas.height = n;
    const ctx = canvas.getContext("2d"), img = ctx.createImageData(n, n), words = new Uint32Array(img.data.buffer);
    for (let i = 0; i < values.length; i++) words[i] = packed(diverging(values[i]));
    ctx.putImageData(img, 0, 0);
  }
}

// A plot of y against T on [0.5, 5]: axes, the exact curve (if any), Tc dashed, the history as dots.
function plot(id, { label, lo, hi, exact, pick, ticks }) {
  const canvas = $(id), dpr = window.devicePixelRatio || 1, w = canvas.clientWidth || 360, h = canvas.clientHeight || 220;
  if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const left = 40, right = 8, top = 18, bottom = 26;
  const X = (T) => left + ((T - T_RANGE[0]) / (T_RANGE[1] - T_RANGE[0])) * (w - left - right);
  const Y = (v) => top + ((hi - v) / (hi - lo)) * (h - top - bottom);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#4b5563";
  ctx.strokeStyle = "#e5e7eb";
  ctx.lineWidth = 1;
  for (const v of ticks) {
    ctx.beginPath(); ctx.moveTo(left, Y(v)); ctx.lineTo(w - right, Y(v)); ctx.stroke();
    ctx.textAlign = "right"; ctx.fillText(String(v).replace("-", "−"), left - 4, Y(v) + 4);
  }
  for (let T = 1; T <= 5; T++) { ctx.textAlign = "center"; ctx.fillText(T === 5 ? "T = 5" : String(T), X(T) - (T === 5 ? 12 : 0), h - bottom + 14); }
  ctx.textAlign = "left";
  ctx.fillText(label, left, 12);
  ctx.setLineDash([4, 3]); ctx.strokeStyle = "#9ca3af";
  ctx.beginPath(); ctx.moveTo(X(TC), top); ctx.lineTo(X(TC), h - bottom); ctx.stroke();
  ctx.setLineDash([]);
  if (exact) {
    ctx.strokeStyle = "#111827"; ctx.lineWidth = 1.5; ctx.beginPath();
    for (let k = 0; k <= 300; k++) {
      const T = T_RANGE[0] + ((T_RANGE[1] - T_RANGE[0]) * k) / 300, y = Y(exact(T));
      k ? ctx.lineTo(X(T), y) : ctx.moveTo(X(T), y);
    }
    ctx.stroke();
  }
  const points = state.history.filter((p) => Number.isFinite(pick(p)));
  ctx.fillStyle = "rgba(225, 29, 72, 0.35)";
  for (const p of points) ctx.fillRect(X(p.T) - 1.5, Y(pick(p)) - 1.5, 3, 3);
  const last = points[points.length - 1];
  if (last) { ctx.fillStyle = "#e11d48"; ctx.beginPath(); ctx.arc(X(last.T), Y(pick(last)), 4, 0, 2 * Math.PI); ctx.fill(); }
}

function drawPlots() {
  plot("plot-energy", { label: "energy per spin (Onsager)", lo: -2, hi: 0, exact: onsagerEnergy, pick: (p) => p.e, ticks: [-2, -1.5, -1, -0.5, 0] });
  plot("plot-magnet", { label: "|m| (Yang)", lo: 0, hi: 1, exact: yangMagnetization, pick: (p) => p.m, ticks: [0, 0.5, 1] });
  plot("plot-p", { label: "CNN: P(ordered)", lo: 0, hi: 1, exact: null, pick: (p) => p.p, ticks: [0, 0.5, 1] });
}

function drawReadout(e, m) {
  $("sweeps").textContent = String(state.sweeps);
  $("energy").textContent = fmt(e);
  $("magnet").textContent = fmt(m);
  $("rate").textContent = state.rate ? `${(state.rate / 1e6).toFixed(0)} million per second` : "–";
  if (state.p) {
    $("p-value").textContent = `P(ordered) = ${state.p.p_ordered.toFixed(3)}`;
    $("p-fill").style.width = `${(100 * state.p.p_ordered).toFixed(1)}%`;
    $("p-meter").setAttribute("aria-valuenow", state.p.p_ordered.toFixed(3));
  }
}

function predictNow() {
  if (!state.classifier || state.pFor === state.updates) return;
  state.p = state.classifier.predict(state.lattice.spins, state.L);
  state.pFor = state.updates;
  state.pAt = performance.now();
}

function draw(e = state.lattice.energyPerSpin(), m = Math.abs(state.lattice.magnetization())) {
  drawLattice();
  drawCoarse();
  drawReadout(e, m);
  drawPlots();
}

// One animation frame: sweeps, a measurement, the CNN now and then, every panel redrawn.
function frame() {
  if (state.playing) {
    const t0 = performance.now();
    state.lattice.sweep(state.perFrame);
    const dt = performance.now() - t0;
    if (dt > 0) state.rate = (state.perFrame * state.L * state.L) / (dt / 1000);
    state.sweeps += state.perFrame;
    state.updates++;
  }
  if (state.playing || state.dirty) {
    if (performance.now() - state.pAt > P_EVERY_MS || state.dirty) predictNow();
    state.dirty = false;
    const e = state.lattice.energyPerSpin(), m = Math.abs(state.lattice.magnetization());
    state.history.push({ T: state.T, e, m, p: state.p && state.pFor === state.updates ? state.p.p_ordered : NaN });
    if (state.history.length > HISTORY) state.history.shift();
    draw(e, m);
  }
  state.frames++;
  requestAnimationFrame(frame);
}

// Something changed the lattice outside the loop (a Wolff flip, a restart): measure and redraw once.
function changed() {
  state.updates++;
  state.dirty = true;
}

function setPlaying(on) {
  state.playing = on;
  $("play").textContent = on ? "pause" : "play";
  if (!on) changed(); // the CNN's answer for the configuration that stays on the screen
}

let announce = null;
function wire() {
  $("temperature").addEventListener("input", (ev) => { setTemperature(Number(ev.target.value)); state.dirty = true; });
  $("temperature").addEventListener("change", () => {
    clearTimeout(announce);
    announce = setTimeout(() => {
      if (state.p) $("live").textContent = `T = ${state.T.toFixed(2)}: the CNN gives P(ordered) = ${state.p.p_ordered.toFixed(2)}`;
    }, 1000);
  });
  $("play").addEventListener("click", () => setPlaying(!state.playing));
  $("wolff").addEventListener("click", () => {
    const size = state.lattice.wolff();
    $("wolff-note").textContent = `Wolff: flipped a cluster of ${size} spins (${((100 * size) / (state.L * state.L)).toFixed(1)} % of the lattice)`;
    changed();
  });
  $("hot").addEventListener("click", () => { restart("hot"); changed(); });
  $("cold").addEventListener("click", () => { restart("cold"); changed(); });
  $("side").addEventListener("change", (ev) => { state.L = Number(ev.target.value); state.history = []; restart(); changed(); });
  $("seed").addEventListener("change", (ev) => {
    const seed = Number(ev.target.value);
    if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) {
      ev.target.value = String(state.seed);
      $("wolff-note").textContent = `seed must be an integer in [0, 4294967295], got ${JSON.stringify(ev.target.value)}`;
      return;
    }
    state.seed = seed;
    restart();
    changed();
  });
  $("speed").addEventListener("change", (ev) => { state.perFrame = Number(ev.target.value); });
  $("blocks").addEventListener("change", (ev) => { state.steps = Number(ev.target.value); state.dirty = true; });
}

async function main() {
  wire();
  state.lattice = new Lattice(state.L, state.T, { seed: state.seed, start: "hot" });
  setTemperature(state.T);
  restart();
  setPlaying(state.playing);
  try {
    state.classifier = await classifierReady;
    const prov = state.classifier.header.provenance || {}, trained = prov.ising || {};
    $("cnn-meta").textContent = `${state.classifier.header.spec}; trained by cnnlab ising tc at L = ${state.classifier.trainedL}` +
      `${trained.train_below ? ` on T < ${trained.train_below.toFixed(1)} (ordered) vs T > ${trained.train_above.toFixed(1)}` : ""}` +
      `${Number.isFinite(trained.tc_of_size) ? `; its P = 1/2 at T = ${trained.tc_of_size.toFixed(3)}` : ""}. ` +
      "P = softmax((f(x) + f(−x))/2): a lattice and its flip are equally ordered.";
  } catch (err) {
    state.error = err.message;
    $("p-value").textContent = `the CNN could not be loaded: ${err.message}`;
  }
  changed();
  requestAnimationFrame(frame);
  document.body.dataset.ready = "1";
}

main();
