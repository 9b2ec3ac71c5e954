// Coarse-graining a configuration by blocks of 2 x 2 spins (cnnlab.physics.rg): the renormalization
// group's block spin next to a CNN's pooling layers, the lecture's "pooling ~ RG decimation".
//   majority rule (Kadanoff): the sign of the block's sum, a tie (sum 0) broken by a fair coin;
//   max pooling: the largest value (+1 as soon as one spin is up: it favours +1, breaking the Z2 symmetry);
//   average pooling: the mean (conserves the magnetization, averages the fluctuations away).
// Values are flat row-major arrays of a side x side lattice; every map halves the side.

export const METHODS = ["majority", "max", "avg"];

function blocks(values, side, reduce) {
  if (side % 2 || values.length !== side * side) {
    throw new Error(`a lattice of even side with side*side values is needed, got side ${side} and ${values.length} values`);
  }
  const n = side / 2, out = new Float32Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = 2 * y * side + 2 * x;
      out[y * n + x] = reduce(values[i], values[i + 1], values[i + side], values[i + side + 1]);
    }
  }
  return out;
}

// rng: an object with next() -> uint32 (ising-mc.js's Rng), drawn once per tie.
export const majorityRule = (values, side, rng) =>
  blocks(values, side, (a, b, c, d) => { const t = a + b + c + d; return t > 0 ? 1 : t < 0 ? -1 : rng.next() & 1 ? 1 : -1; });
export const maxPool = (values, side) => blocks(values, side, (a, b, c, d) => Math.max(a, b, c, d));
export const avgPool = (values, side) => blocks(values, side, (a, b, c, d) => (a + b + c + d) / 4);

// The lattice after `steps` coarse-graining steps of `method` (side -> side / 2^steps).
export function coarseGrain(values, side, method, steps, rng) {
  if (!METHODS.includes(method)) throw new Error(`method must be one of ${METHODS.join(", ")}, got ${JSON.stringify(method)}`);
  if (!Number.isInteger(steps) || steps < 0 || side % 2 ** steps) {
    throw new Error(`steps must be an integer >= 0 with the side ${side} divisible by 2^steps, got ${JSON.stringify(steps)}`);
  }
  let x = Float32Array.from(values);
  for (let k = 0; k < steps; k++, side /= 2) {
    x = method === "majority" ? majorityRule(x, side, rng) : method === "max" ? maxPool(x, side) : avgPool(x, side);
  }
  return x;
}
