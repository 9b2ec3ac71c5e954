// Receptive-field tracing: which units of every earlier stage feed one unit, exactly.
//
// A conv or pool window maps output rows [lo, hi] to input rows [lo*S - P, hi*S - P + F - 1],
// clipped to the input (padding is connected to nothing): backRange in engine/shapes.js, the one
// accounting of windows in the browser, tested against cnnlab.shapes. Conv windows span every input
// channel; pooling keeps the channel. Dense layers see everything before them.

import { backRange } from "./engine/shapes.js";

export { backRange };

// stages: [{kind, shape, layer (window metadata for conv/pool)}], stage 0 = input.
// unit: {c, y, x} for a spatial stage, {i} for a dense one.
// Returns per stage index (< k): {channels: Set | "all", rows: [y0, y1], cols: [x0, x1]} or {all: true}.
export function traceBack(stages, k, unit) {
  const out = {};
  let region = stages[k].shape.length === 3
    ? { channels: new Set([unit.c]), rows: [unit.y, unit.y], cols: [unit.x, unit.x] }
    : { all: true };
  for (let s = k; s > 0; s--) {
    const stage = stages[s], prev = stages[s - 1];
    if (region.all || prev.shape.length !== 3 || stage.shape.length !== 3) {
      region = { all: true };
    } else {
      const [, h, w] = prev.shape;
      const rows = backRange(region.rows, stage.layer, h);
      const cols = backRange(region.cols, stage.layer, w);
      if (!rows || !cols) { region = { empty: true }; }
      else {
        const channels = stage.kind === "conv" ? "all" : region.channels;
        region = { channels, rows, cols };
      }
    }
    out[s - 1] = region;
    if (region.empty) break;
  }
  return out;
}
