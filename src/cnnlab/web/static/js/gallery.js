// Filters gallery: every conv layer's filters, one column per filter, one tile per input channel.

import { getWeights } from "./api.js";
import { diverging, drawGrid } from "./colors.js";

export async function renderGallery(root, models) {
  root.innerHTML = "";
  for (const model of models) {
    for (const layer of model.layers.filter((l) => l.kind === "conv")) {
      const { weight, bias } = await getWeights(model.name, layer.index);
      const flat = weight.flat(Infinity), m = Math.max(...flat.map(Math.abs)) || 1;
      const [out, cin, k] = [weight.length, weight[0].length, weight[0][0].length];
      const s = k <= 3 ? 10 : 7, gap = 2, tile = k * s;
      const block = document.createElement("div");
      block.className = "gallery-block";
      block.innerHTML = `<div class="stage-title"><span>${model.title} · layer ${layer.index}: ${layer.text}</span></div>
        <div class="dim">${out} filters of depth ${cin}, ${k}×${k} · ${layer.params.toLocaleString()} params
        (untied: ${layer.locally_connected.toLocaleString()}, dense: ${layer.dense.toLocaleString()})</div>`;
      // One column per filter; its rows are the filter's slices through the input channels.
      const canvas = document.createElement("canvas");
      canvas.width = out * (tile + gap) - gap;
      canvas.height = cin * (tile + gap) - gap;
      canvas.className = "filters";
      canvas.title = "blue: negative weight, red: positive (scaled to the layer's largest |w|)";
      const ctx = canvas.getContext("2d");
      for (let o = 0; o < out; o++) for (let c = 0; c < cin; c++) {
        drawGrid(ctx, weight[o][c].flat(), 0, k, k, o * (tile + gap), c * (tile + gap), s, (v) => diverging(v / m));
      }
      block.appendChild(canvas);
      block.insertAdjacentHTML("beforeend", `<div class="dim">biases: ${bias.map((b) => b.toFixed(2)).join(", ")}</div>`);
      root.appendChild(block);
    }
  }
}
