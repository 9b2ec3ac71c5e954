// Filters gallery: every conv layer's filters, one row per filter, one tile per input channel.

import { getWeights } from "./api.js";
import { diverging, drawGrid } from "./colors.js";

export async function renderGallery(root, models) {
  root.innerHTML = "";
  for (const model of models) {
    for (const layer of model.layers.filter((l) => l.kind === "conv")) {
      const { weight, bias } = await getWeights(model.name, layer.index);
      const flat = weight.flat(Infinity), m = Math.max(...flat.map(Math.abs)) || 1;
      const [out, cin, k] = [weight.length, weight[0].length, weight[0][0].length];
      const s = k <= 3 ? 8 : 6, gap = 2, tile = k * s;
      const block = document.createElement("div");
      block.className = "gallery-block";
      block.innerHTML = `<div class="stage-title"><span>${model.title} · layer ${layer.index}: ${layer.text}</span>
        <span class="dim">${out} filters × ${cin} input channel${cin > 1 ? "s" : ""} · ${k}×${k} · ${layer.params.toLocaleString()} params
        (untied: ${layer.locally_connected.toLocaleString()}, dense: ${layer.dense.toLocaleString()})</span></div>`;
      const canvas = document.createElement("canvas");
      // One filter per column when there is a single input channel, otherwise one per row.
      const transpose = cin === 1;
      const cols = transpose ? out : cin, rows = transpose ? 1 : out;
      canvas.width = cols * (tile + gap);
      canvas.height = rows * (tile + gap);
      canvas.className = "filters";
      canvas.title = "blue: negative weight, red: positive (scaled to the layer's largest |w|)";
      const ctx = canvas.getContext("2d");
      for (let o = 0; o < out; o++) for (let c = 0; c < cin; c++) {
        const [col, row] = transpose ? [o, 0] : [c, o];
        drawGrid(ctx, weight[o][c].flat(), 0, k, k, col * (tile + gap), row * (tile + gap), s, (v) => diverging(v / m));
      }
      block.appendChild(canvas);
      block.insertAdjacentHTML("beforeend", `<div class="dim">biases: ${bias.map((b) => b.toFixed(2)).join(", ")}</div>`);
      root.appendChild(block);
    }
  }
}
