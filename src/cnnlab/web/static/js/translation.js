// The translation lesson (lecture: "the cat can be anywhere in the picture"): a switch for MNIST's
// centring, shift controls (buttons, and arrow keys on the pad), and the shift sweep: p(class) of
// the student's digit against its horizontal and vertical shift, for every network on the page, with
// the shipped networks' accuracy on the shifted MNIST test set as the reference curve
// (models/translation.json, made by scripts/translation_reference.py). The server's twin is
// cnnlab.web.translation (POST /api/shift-sweep).

import { fitFrame, shiftFrame } from "./engine/digit.js";

export const MAX_SHIFT = 8;
export const PALETTE = ["#0f766e", "#9333ea", "#b45309", "#475569", "#be185d"];
const NS = "http://www.w3.org/2000/svg";
const AXES = [["horizontal", "moved right (px)", "dx"], ["vertical", "moved down (px)", "dy"]];

// The centring switch and the shift buttons; onChange() after every change. Arrow keys on `pad` shift.
export class LessonControls {
  constructor(root, pad, onChange) {
    this.center = true;
    this.dx = 0;
    this.dy = 0;
    this.onChange = onChange;
    root.innerHTML = `
      <label class="switch"><input type="checkbox" id="center" checked> centre the digit (MNIST-style)</label>
      <div class="shift-row" role="group" aria-label="shift the digit">
        <span class="dim">shift</span>
        <button id="shift-left" aria-label="shift left by 1 pixel">←</button>
        <button id="shift-right" aria-label="shift right by 1 pixel">→</button>
        <button id="shift-up" aria-label="shift up by 1 pixel">↑</button>
        <button id="shift-down" aria-label="shift down by 1 pixel">↓</button>
        <button id="shift-reset" aria-label="0: no shift">0</button>
        <output id="shift-value" aria-live="polite">dx = 0, dy = 0 px</output>
      </div>`;
    this.box = root.querySelector("#center");
    this.value = root.querySelector("#shift-value");
    this.box.addEventListener("change", () => { this.center = this.box.checked; this.onChange("center"); });
    const moves = { "shift-left": [-1, 0], "shift-right": [1, 0], "shift-up": [0, -1], "shift-down": [0, 1] };
    for (const [id, [dx, dy]] of Object.entries(moves)) root.querySelector(`#${id}`).onclick = () => this.move(dx, dy);
    root.querySelector("#shift-reset").onclick = () => this.set(0, 0);
    const keys = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    pad.tabIndex = 0;
    pad.addEventListener("keydown", (e) => {
      if (e.key in keys) { e.preventDefault(); this.move(...keys[e.key]); } else if (e.key === "0") this.set(0, 0);
    });
  }

  move(dx, dy) {
    this.set(this.dx + dx, this.dy + dy);
  }

  set(dx, dy) {
    const clamp = (v) => Math.max(-MAX_SHIFT, Math.min(MAX_SHIFT, v));
    this.dx = clamp(dx);
    this.dy = clamp(dy);
    const sign = (v) => (v > 0 ? `+${v}` : String(v).replace("-", "−"));
    this.value.textContent = `dx = ${sign(this.dx)}, dy = ${sign(this.dy)} px`;
    this.onChange("shift");
  }
}

const shiftsUpTo = (k) => Array.from({ length: 2 * k + 1 }, (_, i) => i - k);

// p(every class) of one network for `base` (the 28x28 frame before the manual shift) moved by each shift
// along one axis ("horizontal": dx, "vertical": dy).
export function sweepRow(view, base, axis, shifts) {
  const [, h, w] = view.engine.inputShape;
  return shifts.map((k) => {
    const moved = axis === "horizontal" ? shiftFrame(base, k, 0) : shiftFrame(base, 0, k);
    return Array.from(view.engine.forward(fitFrame(moved, h, w)).probabilities);
  });
}

// Every network, both axes, shifts -K..K: {shifts, models: {name: {horizontal, vertical}}}.
export function sweep(views, base, maxShift = MAX_SHIFT) {
  const shifts = shiftsUpTo(maxShift), models = {};
  for (const view of views) {
    models[view.model.name] = Object.fromEntries(AXES.map(([axis]) => [axis, sweepRow(view, base, axis, shifts)]));
  }
  return { shifts, models };
}

export class SweepView {
  constructor(root) {
    this.root = root;
    this.reference = null;
    this.choice = "auto";
    root.innerHTML = `
      <div class="sweep-controls"><label>class <select id="sweep-label"><option value="auto">auto</option></select></label>
        <span id="sweep-say" class="dim" aria-live="polite"></span></div>
      <div class="sweep-charts"><svg id="sweep-horizontal" role="img"></svg><svg id="sweep-vertical" role="img"></svg></div>
      <div id="sweep-legend" class="legend"></div>
      <details><summary>the numbers</summary><div id="sweep-table" tabindex="0" role="region" aria-label="the sweep's numbers"></div></details>`;
    this.select = root.querySelector("#sweep-label");
    this.select.addEventListener("change", () => { this.choice = this.select.value; if (this.last) this.draw(...this.last); });
    fetch("models/translation.json").then((r) => (r.ok ? r.json() : null)).then((ref) => {
      this.reference = ref;
      if (this.last) this.draw(...this.last);
    }).catch(() => {});
  }

  // Compute and draw. base: the 28x28 frame before the shift (null: nothing drawn); shift: [dx, dy].
  // The forward passes run one network and axis at a time, yielding in between (no long task while the
  // student draws on); stale() true means a newer digit arrived: give up and return null.
  async update(views, base, shift, stale = () => false) {
    const classes = views.length ? views[0].model.classes : [];
    if (this.select.options.length !== classes.length + 1) {
      this.select.replaceChildren(new Option("auto", "auto"), ...classes.map((c) => new Option(c, c)));
      this.select.value = classes.includes(this.choice) ? this.choice : "auto";
    }
    let result = null;
    const cached = base && this.cache && this.cache.views === views && this.cache.base.every((v, i) => v === base[i]);
    if (cached) result = this.cache.result; // only the shift changed: the same sweep, a new marker
    else if (base) {
      const shifts = shiftsUpTo(MAX_SHIFT), models = {};
      for (const view of views) {
        models[view.model.name] = {};
        for (const [axis] of AXES) {
          models[view.model.name][axis] = sweepRow(view, base, axis, shifts);
          await new Promise((resolve) => setTimeout(resolve, 0));
          if (stale()) return null;
        }
      }
      result = { shifts, models };
      this.cache = { views, base: Float32Array.from(base), result };
    }
    this.last = [views, result, shift];
    this.draw(views, result, shift);
    return this.state;
  }

  draw(views, result, shift) {
    const say = this.root.querySelector("#sweep-say");
    if (!result) {
      this.state = { empty: true };
      say.textContent = "Nothing drawn: draw a digit to see how the networks react when it moves.";
      for (const [axis] of AXES) this.root.querySelector(`#sweep-${axis}`).replaceChildren();
      return;
    }
    const zero = result.shifts.indexOf(0);
    // auto: what the networks together say for the unshifted digit (the largest summed probability).
    let label = this.choice;
    if (label === "auto") {
      const classes = views[0].model.classes, total = classes.map(() => 0);
      for (const v of views) result.models[v.model.name].horizontal[zero].forEach((p, i) => { total[i] += p; });
      label = classes[total.indexOf(Math.max(...total))];
    }
    const curves = views.map((v, n) => {
      const i = v.model.classes.indexOf(label);
      const row = result.models[v.model.name];
      return { name: v.model.name, title: v.model.title, color: PALETTE[n % PALETTE.length], spec: v.model.spec,
        horizontal: i < 0 ? null : row.horizontal.map((p) => p[i]), vertical: i < 0 ? null : row.vertical.map((p) => p[i]) };
    });
    const refs = this.reference ? Object.entries(this.reference.models).map(([name, r]) => {
      const match = curves.find((c) => c.spec === r.spec);
      return { name, title: r.title, color: match ? match.color : "#94a3b8", horizontal: r.horizontal, vertical: r.vertical };
    }) : [];
    say.textContent = `p(${label}) as the digit moves${this.choice === "auto" ? ` (${label}: what the networks say for the unshifted digit; pick another class above)` : ""}.`;
    for (const [axis, title, key] of AXES) {
      chart(this.root.querySelector(`#sweep-${axis}`), result.shifts, curves, refs, axis, title, key === "dx" ? shift[0] : shift[1], label);
    }
    this.legend(curves, refs);
    this.table(result.shifts, curves);
    this.state = { empty: false, label, shifts: result.shifts, models: result.models,
      curves: Object.fromEntries(curves.map((c) => [c.name, { horizontal: c.horizontal, vertical: c.vertical }])) };
  }

  legend(curves, refs) {
    const el = this.root.querySelector("#sweep-legend");
    el.replaceChildren();
    const item = (color, dashed, text) => {
      const span = document.createElement("span");
      span.innerHTML = `<svg width="26" height="8" aria-hidden="true"><line x1="1" x2="25" y1="4" y2="4" stroke="${color}"
        stroke-width="${dashed ? 1.5 : 2.5}" ${dashed ? 'stroke-dasharray="4 3"' : ""}/></svg> `;
      span.append(text);
      el.appendChild(span);
    };
    curves.forEach((c) => item(c.color, false, `${c.title}: your digit`));
    refs.forEach((r) => item(r.color, true, `${r.title} (shipped): accuracy on the ${this.reference.test_images.toLocaleString("en")} MNIST test digits moved the same way`));
  }

  table(shifts, curves) {
    const rows = curves.flatMap((c) => AXES.map(([axis]) => [`${c.title}, ${axis}`, c[axis]])).filter(([, v]) => v);
    const el = this.root.querySelector("#sweep-table");
    el.innerHTML = `<table class="params"><tr><th>shift (px)</th>${shifts.map((k) => `<th>${k}</th>`).join("")}</tr></table>`;
    const table = el.querySelector("table");
    for (const [name, values] of rows) {
      const tr = table.insertRow();
      tr.insertCell().textContent = name;
      values.forEach((p) => { tr.insertCell().textContent = `${(100 * p).toFixed(0)}%`; });
    }
  }
}

function chart(svg, shifts, curves, refs, axis, title, current, label) {
  const W = 330, H = 190, L = 40, R = 10, T = 12, B = 34, k0 = shifts[0], k1 = shifts[shifts.length - 1];
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("xmlns", NS);
  const x = (k) => L + (W - L - R) * (k - k0) / (k1 - k0), y = (p) => T + (H - T - B) * (1 - p);
  const parts = [];
  for (const p of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(p)}" y2="${y(p)}" stroke="#e5e7eb"/>`,
      `<text x="${L - 4}" y="${y(p) + 3.5}" text-anchor="end" font-size="10" fill="#4b5563">${100 * p}%</text>`);
  }
  for (let k = k0; k <= k1; k += 2) {
    parts.push(`<text x="${x(k)}" y="${H - B + 13}" text-anchor="middle" font-size="10" fill="#4b5563">${k > 0 ? "+" : ""}${k}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" font-size="11" fill="#374151">${title}</text>`,
    `<line x1="${x(current)}" x2="${x(current)}" y1="${T}" y2="${H - B}" stroke="#e11d48" stroke-dasharray="2 2"/>`);
  const line = (values, color, dashed) => `<polyline fill="none" stroke="${color}" stroke-width="${dashed ? 1.5 : 2.5}"
    ${dashed ? 'stroke-dasharray="4 3"' : ""} points="${values.map((p, i) => `${x(shifts[i]).toFixed(1)},${y(p).toFixed(1)}`).join(" ")}"/>`;
  for (const r of refs) if (r[axis]) parts.push(line(r[axis], r.color, true));
  for (const c of curves) {
    if (!c[axis]) continue;
    parts.push(line(c[axis], c.color, false));
    const i = shifts.indexOf(current);
    if (i >= 0) parts.push(`<circle cx="${x(current)}" cy="${y(c[axis][i])}" r="3.5" fill="${c.color}"/>`);
  }
  svg.innerHTML = parts.join("");
  const at = (c, k) => `${(100 * c[axis][shifts.indexOf(k)]).toFixed(0)}%`;
  svg.setAttribute("aria-label", `p(${label}) against the ${axis} shift: ` + curves.filter((c) => c[axis])
    .map((c) => `${c.title} ${at(c, 0)} unshifted, ${at(c, 4)} at +4 px, ${at(c, -4)} at −4 px`).join("; "));
}
