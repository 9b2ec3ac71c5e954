// Filters gallery: every conv layer's filters, one column per filter, one tile per input channel.

import { colorBar, diverging, drawGrid, scale } from "./colors.js";

export function renderGallery(root, views) {
  root.innerHTML = "";
  for (const { model, engine } of views) {
    for (const layer of model.layers.filter((l) => l.kind === "conv")) {
      const { weight, bias, shape: [out, cin, k] } = engine.unitWeights(layer.index);
      let m = 0;
      for (const v of weight) m = Math.max(m, Math.abs(v));
      m = m || 1;
      const s = k <= 3 ? 10 : 7, gap = 2, tile = k * s;
      const block = document.createElement("div");
      block.className = "gallery-block";
      block.innerHTML = `<div class="stage-title"><span></span></div>
        <div class="dim">${out} filters of depth ${cin}, ${k}×${k} · ${layer.params.toLocaleString()} params
        (untied: ${layer.locally_connected.toLocaleString()}, dense: ${layer.dense.toLocaleString()})</div>`;
      block.querySelector(".stage-title span").textContent = `${model.title} · layer ${layer.index}: ${layer.text}`;
      // One column per filter; its rows are the filter's slices through the input channels.
      const canvas = document.createElement("canvas");
      canvas.width = out * (tile + gap) - gap;
      canvas.height = cin * (tile + gap) - gap;
      canvas.className = "filters";
      canvas.title = "blue: negative weight, red: positive (scaled to the layer's largest |w|)";
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `${out} filters of layer ${layer.index} of ${model.title}`);
      const ctx = canvas.getContext("2d");
      for (let o = 0; o < out; o++) for (let c = 0; c < cin; c++) {
        drawGrid(ctx, weight, (o * cin + c) * k * k, k, k, o * (tile + gap), c * (tile + gap), s, (v) => diverging(v / m));
      }
      block.appendChild(canvas);
      const bar = colorBar(`weights of layer ${layer.index}`);
      bar.update(scale(true, m));
      block.appendChild(bar);
      block.insertAdjacentHTML("beforeend", `<div class="dim">biases: ${Array.from(bias, (b) => b.toFixed(2)).join(", ")}</div>`);
      root.appendChild(block);
    }
  }
}
