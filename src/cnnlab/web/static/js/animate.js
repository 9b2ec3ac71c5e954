// Convolution and pooling on the student's own digit, one position at a time (CNN Explainer's idea):
// the first conv layer's kernel slides over the padded input (stride and padding drawn), the dot
// product at the current position is written out term by term, the output map fills in, and the
// following 2x2 max pooling coarse-grains it into the next, smaller map. Step, play and pause; with
// prefers-reduced-motion nothing moves by itself and "play" advances a whole row per second.

import { colorBar, drawGrid, maxAbs, scale } from "./colors.js";
import { padIndex } from "./engine/layers.js";
import { constant } from "./inspect.js";

const fmt = (v) => v.toFixed(2).replace("-", "−");
const reduced = () => window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

function figure(parent, caption, label) {
  const fig = document.createElement("figure");
  fig.innerHTML = `<canvas role="img"></canvas><figcaption class="dim"></figcaption>`;
  fig.querySelector("figcaption").textContent = caption;
  fig.querySelector("canvas").setAttribute("aria-label", label);
  const bar = colorBar(label);
  fig.insertBefore(bar, fig.querySelector("figcaption"));
  parent.appendChild(fig);
  return { canvas: fig.querySelector("canvas"), bar, caption: fig.querySelector("figcaption") };
}

export class ConvAnimation {
  constructor(root) {
    this.root = root;
    this.position = 0;
    this.timer = null;
    this.views = [];
    root.innerHTML = `
      <div class="c1-controls anim-controls">
        <label>network <select id="anim-model"></select></label>
        <label>channel <select id="anim-channel"></select></label>
        <button id="anim-back" aria-label="step back">◀</button>
        <button id="anim-play">▶ play</button>
        <button id="anim-step" aria-label="step forward">▶|</button>
        <button id="anim-reset">reset</button>
        <label>speed <select id="anim-speed"><option value="1">one position</option><option value="row">one row</option></select></label>
      </div>
      <div class="anim-view"></div>
      <pre id="anim-dot" class="math" aria-live="off"></pre>
      <pre id="anim-pool" class="math"></pre>
      <p id="anim-none" class="dim" hidden>No network on the page has a conv layer.</p>`;
    const $ = (id) => root.querySelector(id);
    this.model = $("#anim-model");
    this.channel = $("#anim-channel");
    this.speed = $("#anim-speed");
    if (reduced()) this.speed.value = "row";
    const view = $(".anim-view");
    this.figs = {
      input: figure(view, "", "the conv layer's input with its padding and the kernel's window"),
      kernel: figure(view, "kernel w (one per output channel)", "the kernel's weights"),
      out: figure(view, "", "the output map z, filled up to the current position"),
      act: figure(view, "", "the activation map with the 2 by 2 pooling windows"),
      pool: figure(view, "", "the pooled map"),
    };
    this.model.onchange = () => { this.pickModel(); this.draw(); };
    this.channel.onchange = () => this.draw();
    $("#anim-back").onclick = () => { this.pause(); this.go(-1); };
    $("#anim-step").onclick = () => { this.pause(); this.go(1); };
    $("#anim-reset").onclick = () => { this.pause(); this.position = 0; this.draw(); };
    $("#anim-play").onclick = () => (this.timer ? this.pause() : this.play());
  }

  // views: the page's NetViews (after a forward pass); keeps the chosen network when it is still there.
  setViews(views) {
    this.views = views.filter((v) => v.stages.some((s) => s.kind === "conv"));
    const names = this.views.map((v) => v.model.name), keep = this.model.value;
    if ([...this.model.options].map((o) => o.value).join() !== names.join()) {
      this.model.replaceChildren(...this.views.map((v) => new Option(v.model.title, v.model.name)));
      if (names.includes(keep)) this.model.value = keep;
      this.pickModel();
    }
    this.root.querySelector("#anim-none").hidden = this.views.length > 0;
    this.draw();
  }

  pickModel() {
    this.view = this.views.find((v) => v.model.name === this.model.value) || this.views[0] || null;
    if (!this.view) return;
    this.k = this.view.stages.findIndex((s) => s.kind === "conv");
    const stage = this.view.stages[this.k], c = stage.shape[0];
    this.channel.replaceChildren(...Array.from({ length: c }, (_, i) => new Option(String(i), String(i))));
    this.position = 0;
  }

  go(step) {
    const [, h, w] = this.view.stages[this.k].shape, n = h * w;
    const by = this.speed.value === "row" ? w : 1;
    this.position = Math.max(0, Math.min(n - 1, this.position + step * by));
    this.draw();
  }

  play() {
    if (!this.view) return;
    const [, h, w] = this.view.stages[this.k].shape;
    if (this.position >= h * w - 1) this.position = 0;
    this.root.querySelector("#anim-play").textContent = "❚❚ pause";
    this.timer = setInterval(() => {
      if (this.position >= h * w - 1) { this.pause(); return; }
      this.go(1);
    }, this.speed.value === "row" || reduced() ? 1000 : 60);
  }

  pause() {
    clearInterval(this.timer);
    this.timer = null;
    this.root.querySelector("#anim-play").textContent = "▶ play";
  }

  // What the page's tests and scripts read.
  get state() {
    return { model: this.view && this.view.model.name, layer: this.view && this.view.stages[this.k].first,
      channel: Number(this.channel.value), position: this.position, playing: !!this.timer, reducedMotion: reduced(),
      dot: this.root.querySelector("#anim-dot").textContent };
  }

  draw() {
    const view = this.view;
    if (!view || !view.result) {
      this.root.querySelector("#anim-dot").textContent = view ? "Nothing drawn: draw a digit first." : "";
      return;
    }
    const stage = view.stages[this.k], layer = stage.layer, info = view.engine.infos[stage.first].layer;
    const [cin, h, w] = layer.in_shape, [, oh, ow] = layer.out_shape, F = layer.kernel_size, S = layer.stride, P = layer.padding;
    const c = Number(this.channel.value) || 0, oy = Math.floor(this.position / ow), ox = this.position % ow;
    const input = stage.first === 0 ? view.input.map((v) => (v - view.model.mean[0]) / view.model.std[0])
      : view.result.layers[stage.first - 1].values;
    const { weight, bias } = view.engine.unitWeights(stage.first, c);
    const z = view.result.layers[stage.first].values, a = view.result.layers[stage.last].values;

    // The padded input (channel 0), the padding ring hatched, the window and the stride.
    const s = Math.max(2, Math.min(6, Math.floor(190 / (Math.max(h, w) + 2 * P))));
    const hp = h + 2 * P, wp = w + 2 * P, padded = new Float32Array(hp * wp);
    for (let y = 0; y < hp; y++) for (let x = 0; x < wp; x++) {
      const yy = padIndex(y - P, h, info.padding_mode), xx = padIndex(x - P, w, info.padding_mode);
      padded[y * wp + x] = yy >= 0 && xx >= 0 ? input[yy * w + xx] : 0;
    }
    const inScale = scale(true, maxAbs(input.subarray(0, h * w)));
    const fin = this.figs.input, ctx = this.size(fin.canvas, wp * s, hp * s);
    drawGrid(ctx, padded, 0, hp, wp, 0, 0, s, inScale.color);
    ctx.fillStyle = "rgba(100, 116, 139, 0.35)";
    for (let y = 0; y < hp; y++) for (let x = 0; x < wp; x++) {
      if (y < P || y >= h + P || x < P || x >= w + P) if ((x + y) % 2 === 0) ctx.fillRect(x * s, y * s, s, s);
    }
    ctx.strokeStyle = "#f97316";
    ctx.lineWidth = 2;
    ctx.strokeRect(ox * S * s + 1, oy * S * s + 1, F * s - 2, F * s - 2);
    fin.bar.update(inScale);
    fin.caption.textContent = `input x${cin > 1 ? " (channel 0 of " + cin + ")" : ""}, ${h}×${w}, padded by P = ${P} ` +
      `(${info.padding_mode === "zeros" ? "zeros" : info.padding_mode}, hatched); the ${F}×${F} window moves S = ${S} px per step`;

    const kScale = scale(true, maxAbs(weight));
    const kctx = this.size(this.figs.kernel.canvas, F * 16, F * 16);
    drawGrid(kctx, weight, 0, F, F, 0, 0, 16, kScale.color);
    this.figs.kernel.bar.update(kScale);

    // Output z of channel c, filled up to the current position (positions are computed row by row).
    const so = s, zc = z.subarray(c * oh * ow, (c + 1) * oh * ow), shown = new Float32Array(oh * ow);
    for (let i = 0; i <= this.position; i++) shown[i] = zc[i];
    const zScale = scale(true, maxAbs(zc));
    const octx = this.size(this.figs.out.canvas, ow * so, oh * so);
    drawGrid(octx, shown, 0, oh, ow, 0, 0, so, zScale.color);
    octx.fillStyle = "#f1f5f9";
    for (let i = this.position + 1; i < oh * ow; i++) octx.fillRect((i % ow) * so, Math.floor(i / ow) * so, so, so);
    octx.strokeStyle = "#e11d48";
    octx.strokeRect(ox * so, oy * so, so, so);
    this.figs.out.bar.update(zScale);
    this.figs.out.caption.textContent = `z, channel ${c}: ${oh}×${ow} = 1 + (${h} − ${F} + 2·${P})/${S}`;

    // The dot product at this position, written out.
    const terms = [];
    let sum = 0;
    for (let ch = 0; ch < cin; ch++) for (let ky = 0; ky < F; ky++) for (let kx = 0; kx < F; kx++) {
      const yy = padIndex(oy * S - P + ky, h, info.padding_mode), xx = padIndex(ox * S - P + kx, w, info.padding_mode);
      const x = yy >= 0 && xx >= 0 ? input[(ch * h + yy) * w + xx] : 0, wv = weight[(ch * F + ky) * F + kx];
      sum += wv * x;
      if (cin === 1 || terms.length < 50) terms.push(`(${fmt(wv)})(${fmt(x)})`);
    }
    const folded = stage.folded.map((f) => f.text).join(" → ");
    const norm = stage.first === 0 ? `x = (pixel − ${constant(view.model.mean[0])}) / ${constant(view.model.std[0])}; ` : "";
    this.root.querySelector("#anim-dot").textContent = `${norm}position (row ${oy}, column ${ox}), window rows ${oy * S - P}…${oy * S - P + F - 1}, ` +
      `columns ${ox * S - P}…${ox * S - P + F - 1}:\nz[${c}, ${oy}, ${ox}] = Σ w·x + b = ${terms.join(" + ")}${terms.length < cin * F * F ? " + …" : ""}\n` +
      `             = ${fmt(sum)} + (${fmt(bias)}) = ${fmt(sum + bias)}` +
      (folded ? `   → ${folded} → ${fmt(a[(c * oh + oy) * ow + ox])}` : "");
    this.drawPool(view, c, oh, ow, oy, ox, a, so);
  }

  // The activation map with its pooling windows, and the pooled map filled as far as the conv has got.
  drawPool(view, c, oh, ow, oy, ox, a, s) {
    const next = view.stages[this.k + 1], ac = a.subarray(c * oh * ow, (c + 1) * oh * ow);
    const aScale = scale(view.stages[this.k].signed, maxAbs(ac));
    const actx = this.size(this.figs.act.canvas, ow * s, oh * s);
    drawGrid(actx, ac, 0, oh, ow, 0, 0, s, aScale.color);
    this.figs.act.bar.update(aScale);
    this.figs.act.caption.textContent = `after ${view.stages[this.k].folded.map((f) => f.text).join(", ") || "the conv"}, channel ${c}`;
    const pre = this.root.querySelector("#anim-pool");
    if (!next || (next.kind !== "maxpool" && next.kind !== "avgpool")) {
      pre.textContent = "No pooling layer follows this conv layer.";
      this.figs.pool.canvas.width = 0;
      return;
    }
    const { kernel_size: F, stride: S, padding: P } = next.layer, [, ph, pw] = next.shape;
    const pooled = view.result.layers[next.last].values.subarray(c * ph * pw, (c + 1) * ph * pw);
    actx.strokeStyle = "rgba(100, 116, 139, 0.6)";
    actx.lineWidth = 1;
    for (let y = 0; y < ph; y++) for (let x = 0; x < pw; x++) actx.strokeRect((x * S - P) * s + 0.5, (y * S - P) * s + 0.5, F * s - 1, F * s - 1);
    const py = Math.min(ph - 1, Math.floor((oy + P) / S)), px = Math.min(pw - 1, Math.floor((ox + P) / S));
    actx.strokeStyle = "#f97316";
    actx.lineWidth = 2;
    actx.strokeRect((px * S - P) * s + 1, (py * S - P) * s + 1, F * s - 2, F * s - 2);
    // A pooled unit is known once the last position of its window has been computed.
    const done = (y, x) => Math.min(oh - 1, y * S - P + F - 1) * ow + Math.min(ow - 1, x * S - P + F - 1) <= this.position;
    const shown = new Float32Array(ph * pw);
    for (let y = 0; y < ph; y++) for (let x = 0; x < pw; x++) if (done(y, x)) shown[y * pw + x] = pooled[y * pw + x];
    const pctx = this.size(this.figs.pool.canvas, pw * s, ph * s);
    drawGrid(pctx, shown, 0, ph, pw, 0, 0, s, aScale.color);
    pctx.fillStyle = "#f1f5f9";
    for (let y = 0; y < ph; y++) for (let x = 0; x < pw; x++) if (!done(y, x)) pctx.fillRect(x * s, y * s, s, s);
    pctx.strokeStyle = "#e11d48";
    pctx.strokeRect(px * s, py * s, s, s);
    this.figs.pool.bar.update(aScale);
    const op = next.kind === "maxpool" ? "max" : "mean";
    this.figs.pool.caption.textContent = `${next.layer.text}: ${ph}×${pw}, drawn at the same scale`;
    const win = [];
    for (let ky = 0; ky < F; ky++) for (let kx = 0; kx < F; kx++) {
      const y = py * S - P + ky, x = px * S - P + kx;
      if (y >= 0 && y < oh && x >= 0 && x < ow) win.push(fmt(ac[y * ow + x]));
    }
    pre.textContent = `${next.layer.text}, window (row ${py}, column ${px}): ${op}{${win.join(", ")}} = ${fmt(pooled[py * pw + px])}\n` +
      `Each ${F}×${F} block of the ${oh}×${ow} map becomes one value of the ${ph}×${pw} map: a coarse-graining, ` +
      `like a block-spin step of the renormalisation group. Pooling has no weights.`;
  }

  size(canvas, width, height) {
    if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
    return canvas.getContext("2d");
  }
}

