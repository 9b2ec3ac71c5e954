// The 2-D Ising model (J = 1, k_B = 1, periodic L x L square lattice) simulated in the browser: the
// checkerboard Metropolis update and the Wolff cluster flip on an Int8Array of spins, driven by a seeded
// generator so that a run reproduces exactly (cnnlab.physics.ising is the Python counterpart).
//
// Checkerboard: colour the sites like a chess board (x + y even or odd). A site's four neighbours all
// have the other colour, so the spins of one colour can be updated one after the other in any order
// while the other colour stays fixed; a sweep is one pass over each colour, L*L proposals in all.
// Metropolis: flipping s_i changes the energy by dE = 2 s_i h_i with h_i the sum of the neighbours, so
// k = s_i h_i is one of -4, -2, 0, 2, 4; a flip with k <= 0 is always accepted and one with k = 2 or 4
// with probability exp(-2k/T), compared as integers with a 32-bit random word (the table `threshold`).
// Only those two cases draw a random number, which makes the loop cheap at low temperature.

export const MAX_L = 128;
export const MAX_UPDATES = 2 ** 31; // L*L*(equilibration + sweeps) per simulate() call: ~20 s at 10^8/s
const TWO32 = 2 ** 32;

// xoshiro128** (Blackman & Vigna 2018): 128 bits of state, period 2^128 - 1, passes BigCrush; seeded
// through splitmix32 so that nearby seeds give unrelated streams.
export class Rng {
  constructor(seed = 0) {
    let z = seed >>> 0;
    this.s = new Uint32Array(4);
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z ^ (z >>> 16);
      t = Math.imul(t, 0x21f0aaad);
      t ^= t >>> 15;
      t = Math.imul(t, 0x735a2d97);
      this.s[i] = (t ^ (t >>> 15)) >>> 0;
    }
  }

  // A uniform 32-bit unsigned integer.
  next() {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 11);
    return r;
  }
}

function rotl(x, k) {
  return (x << k) | (x >>> (32 - k));
}

// A value as the user wrote it: numbers as numbers (JSON would print NaN and Infinity as null).
const shown = (value) => (typeof value === "number" ? String(value) : JSON.stringify(value));

// Integer in [lo, hi] or an Error naming the argument, the rule and the value.
function checkInt(name, value, lo, hi, extra = "") {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new Error(`${name} must be an integer in [${lo}, ${hi}]${extra}, got ${shown(value)}`);
  }
  return value;
}

export function checkTemperature(T) {
  if (typeof T !== "number" || !Number.isFinite(T) || T <= 0) {
    throw new Error(`T must be a finite temperature > 0, got ${shown(T)}`);
  }
  return T;
}

export function checkSide(L) {
  checkInt("L", L, 2, MAX_L, " (the lattice side)");
  if (L % 2) throw new Error(`L must be even (the checkerboard update needs two colours on a periodic lattice), got ${L}`);
  return L;
}

export class Lattice {
  // L: even side in [2, MAX_L]; T > 0; seed: 32-bit integer; start: "cold" (all +1) or "hot" (random).
  constructor(L, T, { seed = 0, start = "cold" } = {}) {
    this.L = checkSide(L);
    this.N = L * L;
    this.spins = new Int8Array(this.N).fill(1);
    this.rng = new Rng(checkInt("seed", seed, 0, TWO32 - 1));
    this.stack = new Int32Array(this.N); // the Wolff cluster's frontier
    this.setTemperature(T);
    if (start === "hot") this.randomize();
    else if (start !== "cold") throw new Error(`start must be "cold" or "hot", got ${JSON.stringify(start)}`);
  }

  setTemperature(T) {
    this.T = checkTemperature(T);
    // threshold[k] = floor(2^32 exp(-2k/T)) for k = 2, 4: accept when the random word is below it.
    this.threshold = new Float64Array(5);
    for (const k of [2, 4]) this.threshold[k] = Math.floor(TWO32 * Math.exp((-2 * k) / T));
    this.wolffThreshold = Math.floor(TWO32 * -Math.expm1(-2 / T)); // p_add = 1 - exp(-2/T)
  }

  fill(value) {
    this.spins.fill(value);
  }

  randomize() {
    for (let i = 0; i < this.N; i++) this.spins[i] = this.rng.next() & 1 ? 1 : -1;
  }

  // n checkerboard sweeps (n * L * L proposals). The generator's state lives in locals inside the loop
  // (a method call per random number costs about a third of the speed).
  sweep(n = 1) {
    const L = this.L, s = this.spins, thr = this.threshold, st = this.rng.s;
    let a = st[0], b = st[1], c = st[2], d = st[3];
    for (let it = 0; it < n; it++) {
      for (let colour = 0; colour < 2; colour++) {
        for (let y = 0; y < L; y++) {
          const row = y * L, up = (y === 0 ? L - 1 : y - 1) * L, down = (y === L - 1 ? 0 : y + 1) * L;
          for (let x = (y + colour) & 1; x < L; x += 2) {
            const i = row + x;
            const h = s[x === 0 ? i + L - 1 : i - 1] + s[x === L - 1 ? row : i + 1] + s[up + x] + s[down + x];
            const k = s[i] * h;
            if (k > 0) {
              const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
              const t = b << 9;
              c ^= a; d ^= b; b ^= c; a ^= d; c ^= t; d = (d << 11) | (d >>> 21);
              if (r >= thr[k]) continue;
            }
            s[i] = -s[i];
          }
        }
      }
    }
    st[0] = a; st[1] = b; st[2] = c; st[3] = d;
  }

  // One Wolff cluster flip (Wolff 1989): grow a cluster of equal spins from a random site, adding each
  // aligned neighbour with probability 1 - exp(-2/T), and flip it. Returns the cluster's size.
  wolff() {
    const L = this.L, s = this.spins, stack = this.stack, rng = this.rng, thr = this.wolffThreshold;
    const seed = Math.floor((rng.next() / TWO32) * this.N);
    const old = s[seed];
    s[seed] = -old;
    let top = 0, size = 1;
    stack[top++] = seed;
    while (top > 0) {
      const i = stack[--top], x = i % L, row = i - x;
      const neighbours = [x === 0 ? i + L - 1 : i - 1, x === L - 1 ? row : i + 1,
        i < L ? i + this.N - L : i - L, i >= this.N - L ? i - this.N + L : i + L];
      for (const j of neighbours) {
        if (s[j] === old && rng.next() < thr) {
          s[j] = -old;
          stack[top++] = j;
          size++;
        }
      }
    }
    return size;
  }

  // Energy per spin -sum_<ij> s_i s_j / N (each bond once: right and down neighbours).
  energyPerSpin() {
    const L = this.L, s = this.spins;
    let e = 0;
    for (let y = 0; y < L; y++) {
      const row = y * L, down = (y === L - 1 ? 0 : y + 1) * L;
      for (let x = 0; x < L; x++) e -= s[row + x] * (s[x === L - 1 ? row : row + x + 1] + s[down + x]);
    }
    return e / this.N;
  }

  magnetization() {
    let m = 0;
    for (let i = 0; i < this.N; i++) m += this.spins[i];
    return m / this.N;
  }
}

// Sweeps discarded before measuring, cnnlab.physics.dataset.default_thermalization's rule: 20 tau with
// tau = 0.02 min(L, xi)^2.17 and the generous correlation length xi = 0.6 / |1 - T/Tc|, at least 200.
export function defaultEquilibration(L, T) {
  const xi = 0.6 / Math.abs(1 - T / (2 / Math.log(1 + Math.SQRT2)));
  const size = Math.min(L, Number.isFinite(xi) ? xi : L);
  return Math.max(200, Math.round(20 * 0.02 * size ** 2.17));
}

// The JS API's simulation: {L, T, sweeps, seed = 0, equilibration = defaultEquilibration(L, T),
// start = "cold", spins = false} -> {energy_per_spin, abs_magnetization} averaged over `sweeps`
// sweeps after `equilibration` (one measurement per sweep), with the run's settings, its speed and,
// when `spins` is true, the last configuration. Yields to the browser every ~50 ms.
export async function simulate(options = {}) {
  if (options === null || typeof options !== "object") throw new Error("simulate takes one object {L, T, sweeps, seed}");
  const { L, T, sweeps, seed = 0, start = "cold", spins = false } = options;
  checkSide(L);
  checkTemperature(T);
  checkInt("sweeps", sweeps, 1, 10 ** 7);
  const equilibration = options.equilibration ?? defaultEquilibration(L, T);
  checkInt("equilibration", equilibration, 0, 10 ** 7);
  if (L * L * (equilibration + sweeps) > MAX_UPDATES) {
    throw new Error(`L*L*(equilibration + sweeps) = ${L * L * (equilibration + sweeps)} spin updates is over the ` +
      `limit of ${MAX_UPDATES}; use fewer sweeps or a smaller L`);
  }
  const lattice = new Lattice(L, T, { seed, start });
  const chunk = Math.max(1, Math.floor(2 ** 20 / (L * L)));
  const t0 = performance.now();
  let lastYield = t0;
  const pause = async () => {
    if (performance.now() - lastYield > 50) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      lastYield = performance.now();
    }
  };
  for (let done = 0; done < equilibration; done += chunk) {
    lattice.sweep(Math.min(chunk, equilibration - done));
    await pause();
  }
  let e = 0, m = 0;
  for (let i = 0; i < sweeps; i++) {
    lattice.sweep(1);
    e += lattice.energyPerSpin();
    m += Math.abs(lattice.magnetization());
    if (i % chunk === chunk - 1) await pause();
  }
  const seconds = (performance.now() - t0) / 1000;
  const out = { L, T, sweeps, equilibration, seed, start, energy_per_spin: e / sweeps, abs_magnetization: m / sweeps,
    seconds, spin_updates_per_second: (L * L * (equilibration + sweeps)) / seconds };
  if (spins) out.spins = Array.from(lattice.spins);
  return out;
}
