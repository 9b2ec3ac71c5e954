// Training from the page: POST /api/train starts cnnlab's trainer on MNIST in the server; the page
// polls GET /api/train and redraws the accuracy curve and the first conv layer's filters per epoch.
// Training needs Python: on a static site (cnnlab web build) the panel says how to get it instead.

import { getJson, postJson } from "./api.js";
import { diverging, drawGrid } from "./colors.js";

const NS = "http://www.w3.org/2000/svg";

// addTrained(buffer): put the trained network (a web model file from GET /api/train/model) on the page.
export function renderTraining(root, server, addTrained = null) {
  if (!server) {
    root.innerHTML = `<p class="needs-server">Training runs PyTorch, so it needs Python: install cnnlab and run
      <code>cnnlab serve</code>, then open the page it prints. Everything else on this page runs in your browser.</p>`;
    return;
  }
  root.innerHTML = `
    <div class="c1-form train-form">
      <label class="grow">model <input id="tr-model" value="conv(6,5,p=2)-relu-maxpool(2)-conv(16,5)-relu-maxpool(2)-flatten-linear(120)-relu-linear(84)-relu-linear"></label>
      <label>epochs <input id="tr-epochs" type="number" value="8" min="1" max="30"></label>
      <label>images per epoch <input id="tr-subset" type="number" value="6000" min="100" max="60000" step="100"></label>
      <label>lr <input id="tr-lr" type="number" value="0.001" step="0.0005" min="0"></label>
    </div>
    <div class="c1-controls"><button id="tr-start">▶ train</button><button id="tr-stop">■ stop</button>
      <button id="tr-add" disabled>show it next to the other networks</button>
      <span id="tr-say" class="dim" role="status"></span></div>
    <div class="train-view">
      <svg id="tr-chart" width="380" height="170" viewBox="0 0 380 170" role="img" aria-label="accuracy per epoch"></svg>
      <div><div class="dim">first conv layer: initial filters</div><canvas id="tr-f0" role="img" aria-label="the first conv layer's initial filters"></canvas>
        <div class="dim">after the latest epoch</div><canvas id="tr-f1" role="img" aria-label="the first conv layer's filters after the latest epoch"></canvas></div>
    </div>`;
  const $ = (id) => root.querySelector(id);
  let timer = null;

  async function poll() {
    const status = await getJson("api/train");
    draw(status);
    const busy = status.state === "running" || status.state === "loading data";
    clearTimeout(timer);
    if (busy) timer = setTimeout(poll, 600);
  }

  function draw(s) {
    const last = s.epochs[s.epochs.length - 1];
    const acc = last && last.test_accuracy !== undefined ? ` · test accuracy ${(100 * last.test_accuracy).toFixed(2)}%` : "";
    const total = s.config ? s.config.epochs : 0;
    $("#tr-say").textContent = s.state === "idle" ? "Trains on the server's MNIST copy; nothing is saved."
      : s.state === "error" ? `error: ${s.error}`
      : `${s.state} · epoch ${s.epochs.length}/${total}${acc} · ${s.seconds.toFixed(0)} s`;
    $("#tr-say").className = s.state === "error" ? "error" : "dim";
    document.body.dataset.training = s.state;
    $("#tr-add").disabled = !addTrained || !(s.state === "done" || s.state === "stopped") || !s.epochs.length;
    chart($("#tr-chart"), s.epochs, total);
    filters($("#tr-f0"), s.initial_filters);
    filters($("#tr-f1"), s.epochs.length ? s.filters : null);
  }

  $("#tr-start").onclick = async () => {
    try {
      await postJson("api/train", { model: $("#tr-model").value, epochs: Number($("#tr-epochs").value),
        train_subset: Number($("#tr-subset").value), lr: Number($("#tr-lr").value) });
      poll();
    } catch (err) {
      $("#tr-say").textContent = `error: ${err.message}`;
      $("#tr-say").className = "error";
    }
  };
  $("#tr-stop").onclick = async () => { await postJson("api/train/stop", {}); poll(); };
  $("#tr-add").onclick = async () => {
    try {
      const response = await fetch("api/train/model");
      if (!response.ok) throw new Error((await response.json().catch(() => ({}))).error || `HTTP ${response.status}`);
      const model = await addTrained(await response.arrayBuffer());
      $("#tr-say").textContent = `${model.title} is on the page as '${model.name}', next to the others.`;
    } catch (err) {
      $("#tr-say").textContent = `error: ${err.message}`;
      $("#tr-say").className = "error";
    }
  };
  poll();
}

// Tick values for [lo, hi]: a round step (1, 2 or 5 times a power of ten) giving at most `most` ticks.
export function ticks(lo, hi, most = 6) {
  const raw = (hi - lo) / Math.max(1, most - 1), power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw - 1e-12);
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return { values: out, step };
}

// Train and test accuracy per epoch. y: from a round value below the lowest accuracy (at most 80%) to
// 100%, ticks at round percentages; x: epochs 1..n (fit counts from 1), a tick at each (or every k-th).
export function chart(svg, epochs, total) {
  const W = 380, H = 170, L = 40, R = 12, T = 10, B = 30;
  const values = epochs.flatMap((e) => [e.train_accuracy, e.test_accuracy]).filter((v) => v !== undefined);
  const low = Math.min(0.8, ...values);
  const yt = ticks(low, 1, 6);
  const lo = Math.min(yt.values[0], Math.floor(low / yt.step) * yt.step);
  const n = Math.max(total, epochs.length, 1);
  const x = (i) => L + (W - L - R) * (n === 1 ? 0.5 : (i - 1) / (n - 1));
  const y = (v) => T + (H - T - B) * (1 - (v - lo) / (1 - lo));
  const parts = [];
  for (const v of ticks(lo, 1, 6).values) {
    const label = yt.step >= 0.01 ? (100 * v).toFixed(0) : (100 * v).toFixed(1);
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e7eb"/>`,
      `<text x="${L - 4}" y="${y(v) + 4}" text-anchor="end" font-size="10" fill="#4b5563">${label}%</text>`);
  }
  const every = Math.max(1, Math.ceil(n / 10));
  for (let e = 1; e <= n; e += every) {
    parts.push(`<line x1="${x(e)}" x2="${x(e)}" y1="${H - B}" y2="${H - B + 4}" stroke="#9ca3af"/>`,
      `<text x="${x(e)}" y="${H - B + 14}" text-anchor="middle" font-size="10" fill="#4b5563">${e}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 3}" text-anchor="middle" font-size="10" fill="#4b5563">epoch</text>`);
  for (const [key, color] of [["train_accuracy", "#93c5fd"], ["test_accuracy", "#2563eb"]]) {
    const pts = epochs.filter((e) => e[key] !== undefined).map((e) => [x(e.epoch), y(e[key])]);
    if (pts.length) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => p.join(",")).join(" ")}"/>`);
    pts.forEach(([px, py]) => parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${color}"/>`));
  }
  parts.push(`<text x="${L + 6}" y="${T + 12}" font-size="10" fill="#2563eb">test</text>`,
    `<text x="${L + 34}" y="${T + 12}" font-size="10" fill="#1e3a8a">train (light)</text>`);
  svg.innerHTML = parts.join("");
  svg.setAttribute("xmlns", NS);
  svg.dataset.yTicks = ticks(lo, 1, 6).values.join(",");
  svg.dataset.xTicks = Array.from({ length: Math.ceil(n / every) }, (_, j) => 1 + j * every).join(",");
}

// The first input channel of every filter, side by side, each scaled to its own largest |w|.
function filters(canvas, data) {
  const ctx = canvas.getContext("2d");
  if (!data) { canvas.width = 1; canvas.height = 1; return; }
  const w = data.weight, k = w[0][0].length, s = Math.max(4, Math.round(40 / k)), gap = 3;
  canvas.width = w.length * (k * s + gap) - gap;
  canvas.height = k * s;
  w.forEach((filter, o) => {
    const flat = filter[0].flat(), m = Math.max(...flat.map(Math.abs)) || 1;
    drawGrid(ctx, flat, 0, k, k, o * (k * s + gap), 0, s, (v) => diverging(v / m));
  });
}
