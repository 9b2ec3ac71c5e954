// Locality and weight sharing, drawn over a network's stages when a unit is hovered or pinned:
//
// * weightsInPlace: the unit's weights where they act, on the stage it reads. A dense unit's whole
//   template (784 weights of the first MLP layer: a 28x28 picture); a conv unit's F x F kernel at its
//   window only, in every input channel.
// * sameWeights: every position of the hovered conv unit's channel outlined: they all use this one
//   kernel (weight sharing). The count is H x W of the channel.
// * connections: nn_vis-style lines from the unit to each input it reads (all of them for a dense
//   unit, the window for a conv unit), coloured by the weight's sign, opaque by its size.

import { css, diverging, maxAbs } from "./colors.js";
import { padIndex } from "./engine/layers.js";

export const UNIT_COLOR = "#e11d48";
export const FIELD_COLOR = "#f97316";

// The inputs a unit of stage k reads, as units of stage k - 1 with their weight:
// [{unit: {c, y, x} | {i}, w}] (padding positions read nothing and are left out).
export function inputsOf(view, k, unit, weights) {
  const stage = view.stages[k], prev = view.stages[k - 1], out = [];
  if (stage.kind === "conv") {
    const [c, h, w] = stage.layer.in_shape, F = stage.layer.kernel_size, S = stage.layer.stride, P = stage.layer.padding;
    const mode = view.engine.infos[stage.first].layer.padding_mode;
    for (let ch = 0; ch < c; ch++) for (let ky = 0; ky < F; ky++) for (let kx = 0; kx < F; kx++) {
      const y = unit.y * S - P + ky, x = unit.x * S - P + kx;
      // Circular or reflect padding reads real inputs through the boundary; zero padding reads nothing.
      const yy = padIndex(y, h, mode), xx = padIndex(x, w, mode);
      if (yy >= 0 && xx >= 0) out.push({ unit: { c: ch, y: yy, x: xx }, w: weights.weight[(ch * F + ky) * F + kx] });
    }
  } else if (stage.kind === "linear") {
    const n = weights.weight.length;
    if (prev.shape.length === 3) {
      const [, h, w] = prev.shape;
      for (let j = 0; j < n; j++) out.push({ unit: { c: Math.floor(j / (h * w)), y: Math.floor(j / w) % h, x: j % w }, w: weights.weight[j] });
    } else {
      for (let j = 0; j < n; j++) out.push({ unit: { i: j }, w: weights.weight[j] });
    }
  }
  return out;
}

// The stage's weights for this unit (conv filter or dense row), or null for a stage without weights.
export function unitWeights(view, k, unit) {
  const stage = view.stages[k];
  if (stage.kind !== "conv" && stage.kind !== "linear") return null;
  return view.engine.unitWeights(stage.first, stage.kind === "conv" ? unit.c : unit.i);
}

// The weights drawn over stage k - 1 where they act; on the input stage (`ink`: its pixels) the
// drawing stays visible on top, faintly. Returns the largest |w| (the colour scale's end).
export function weightsInPlace(view, ctx, lay, inputs, ink = null) {
  const m = maxAbs(inputs.map((e) => e.w));
  for (const { unit, w } of inputs) {
    const [px, py, s] = view.cell(lay, unit);
    ctx.fillStyle = css(diverging(w / m));
    ctx.fillRect(px, py, s, s);
    if (ink) {
      const v = ink[(unit.c * lay.h + unit.y) * lay.w + unit.x];
      if (v > 0.05) {
        ctx.fillStyle = `rgba(17, 17, 17, ${(0.55 * Math.min(1, v)).toFixed(3)})`;
        ctx.fillRect(px, py, s, s);
      }
    }
  }
  return m;
}

// Outline every position of channel c of a grid stage: they all share one kernel. Returns how many.
export function sameWeights(view, ctx, lay, c) {
  ctx.save();
  ctx.strokeStyle = "rgba(225, 29, 72, 0.3)";
  ctx.lineWidth = 1;
  ctx.beginPath();
  let count = 0;
  for (let y = 0; y < lay.h; y++) for (let x = 0; x < lay.w; x++) {
    const [px, py, s] = view.cell(lay, { c, y, x });
    ctx.rect(px + 0.5, py + 0.5, Math.max(s - 1, 0.5), Math.max(s - 1, 0.5));
    count++;
  }
  ctx.stroke();
  ctx.restore();
  return count;
}

// Lines from the focused unit to its inputs, on the overlay canvas that covers the network's column.
export function connections(view, overlay, k, unit, inputs) {
  const root = view.root, dpr = window.devicePixelRatio || 1;
  const width = root.clientWidth, height = root.clientHeight;
  if (overlay.width !== Math.round(width * dpr) || overlay.height !== Math.round(height * dpr)) {
    overlay.width = Math.round(width * dpr);
    overlay.height = Math.round(height * dpr);
    overlay.style.width = `${width}px`;
    overlay.style.height = `${height}px`;
  }
  const ctx = overlay.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  overlay.dataset.lines = "0";
  if (!inputs || !inputs.length) return;
  const base = root.getBoundingClientRect();
  const from = view.unitCentre(k, unit, base), prevLay = view.layouts[k - 1], prevEl = view.views[k - 1];
  if (!from || !prevLay) return;
  const r = prevEl.getBoundingClientRect(), ox = r.left - base.left, oy = r.top - base.top;
  const m = maxAbs(inputs.map((e) => e.w));
  // Ten buckets (sign x size): ten strokes instead of one per line keep 784 lines cheap.
  const buckets = Array.from({ length: 10 }, () => []);
  for (const { unit: u, w } of inputs) {
    const [px, py, s] = view.cell(prevLay, u);
    const b = Math.min(4, Math.floor(5 * Math.abs(w) / m)) + (w < 0 ? 0 : 5);
    buckets[b].push([ox + px + s / 2, oy + py + s / 2]);
  }
  ctx.lineWidth = 1;
  buckets.forEach((points, b) => {
    if (!points.length) return;
    const level = (b % 5 + 1) / 5, sign = b < 5 ? -1 : 1;
    const [cr, cg, cb] = diverging(sign * Math.max(0.35, level));
    ctx.strokeStyle = `rgba(${cr}, ${cg}, ${cb}, ${(0.08 + 0.5 * level * level).toFixed(3)})`;
    ctx.beginPath();
    for (const [x, y] of points) { ctx.moveTo(from[0], from[1]); ctx.lineTo(x, y); }
    ctx.stroke();
  });
  overlay.dataset.lines = String(inputs.length);
}

// The focused unit's marks on stage k: the unit itself (and, for a conv unit, every position sharing its
// weights), its weights in place on the stage it reads, and its receptive field on every earlier stage.
export function drawFocus(view, k, ctx, lay, values) {
  const canvas = view.views[k];
  delete canvas.dataset.rf;
  delete canvas.dataset.sameWeights;
  delete canvas.dataset.inPlace;
  if (!view.focus) return;
  ctx.lineWidth = 2;
  if (k === view.focus.k) {
    const u = view.focus.unit;
    if (view.stages[k].kind === "conv") {
      canvas.dataset.sameWeights = sameWeights(view, ctx, lay, u.c);
      canvas.dataset.sameChannel = u.c;
    }
    ctx.lineWidth = 2;
    ctx.strokeStyle = UNIT_COLOR;
    const [x, y, s] = view.cell(lay, u);
    ctx.strokeRect(x - 1, y - 1, s + 2, s + 2);
    return;
  }
  if (k === view.focus.k - 1 && view.inputs) {
    weightsInPlace(view, ctx, lay, view.inputs, k === 0 ? values : null);
    canvas.dataset.inPlace = view.inputs.length;
  }
  const region = view.trace[k];
  if (!region || region.empty) return;
  ctx.strokeStyle = FIELD_COLOR;
  ctx.lineWidth = 2;
  if (region.all) {
    if (k !== view.focus.k - 1 || !view.inputs) {
      ctx.fillStyle = "rgba(249, 115, 22, 0.12)";
      ctx.fillRect(0, 0, lay.width, lay.height);
    }
    ctx.strokeRect(1, 1, lay.width - 2, lay.height - 2);
    if (k === 0) canvas.dataset.rf = `0,${lay.h - 1},0,${lay.w - 1}`;
    return;
  }
  const [y0, y1] = region.rows, [x0, x1] = region.cols;
  for (let c = 0; c < lay.c; c++) {
    if (region.channels !== "all" && !region.channels.has(c)) continue;
    const [ox, oy] = view.tileOrigin(lay, c);
    const rx = ox + x0 * lay.s, ry = oy + y0 * lay.s, rw = (x1 - x0 + 1) * lay.s, rh = (y1 - y0 + 1) * lay.s;
    if (k === 0 && k !== view.focus.k - 1) {
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

