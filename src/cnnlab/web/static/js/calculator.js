// Shape and parameter calculator: 1 + (W - F + 2P)/S and conv vs locally connected vs dense parameter
// counts, computed in the browser by engine/shapes.js (the same rule and messages as cnnlab.shapes).

import { convOutputSize, convParamCounts } from "./engine/shapes.js";

const FIELDS = [["H", "height", 28], ["W", "width", 28], ["F", "kernel_size", 5], ["S", "stride", 1],
  ["P", "padding", 2], ["D_in", "in_channels", 1], ["D_out", "out_channels", 6]];

// The numbers POST /api/shape returns (cnnlab.web.app.shape_report), for sizes [H, W].
export function shapeReport(size, kernel, stride, padding, inChannels, outChannels) {
  const out = size.map((n) => convOutputSize(n, kernel, stride, padding));
  const params = convParamCounts([inChannels, ...size], outChannels, kernel, stride, padding);
  const letters = "HW".slice(-size.length);
  const formula = size.map((n, a) =>
    `${letters[a]}_out = 1 + (${letters[a]} - F + 2P)/S = 1 + (${n} - ${kernel} + 2*${padding})/${stride} = ${out[a]}`);
  return { output_size: out, out_shape: [outChannels, ...out], formula, params };
}

export function renderCalculator(root) {
  root.innerHTML = `<div class="calc-form">${FIELDS.map(([letter, name, value]) =>
    `<label><span>${letter}</span><input type="number" id="calc-${name}" value="${value}" min="0"><small>${name}</small></label>`).join("")}</div>
    <div id="calc-out" class="calc-out" aria-live="polite"></div>`;
  const out = root.querySelector("#calc-out");
  const update = () => {
    const v = Object.fromEntries(FIELDS.map(([, name]) => [name, Number(root.querySelector(`#calc-${name}`).value)]));
    try {
      const r = shapeReport([v.height, v.width], v.kernel_size, v.stride, v.padding, v.in_channels, v.out_channels);
      const p = r.params;
      out.classList.remove("error");
      out.innerHTML = `<div class="calc-shape">${v.in_channels}×${v.height}×${v.width} → <b>${r.out_shape.join("×")}</b></div>
        <pre class="math">${r.formula.join("\n")}</pre>
        <table class="params"><tr><th>layer</th><th>parameters</th><th>vs conv</th></tr>
        <tr><td>conv (tied weights)</td><td>${p.conv.toLocaleString()}</td><td>1×</td></tr>
        <tr><td>locally connected (untied)</td><td>${p.locally_connected.toLocaleString()}</td><td>${p.tied_reduction.toFixed(1)}×</td></tr>
        <tr><td>dense (all-to-all)</td><td>${p.dense.toLocaleString()}</td><td>${p.dense_reduction.toFixed(1)}×</td></tr></table>
        <div class="dim">Tying the weights saves a factor H_out × W_out = ${p.positions}.</div>`;
    } catch (err) {
      out.classList.add("error");
      out.textContent = err.message;
    }
  };
  root.querySelectorAll("input").forEach((el) => el.addEventListener("input", update));
  update();
}
