// Exact results for the 2-D square-lattice Ising ferromagnet (J = 1, k_B = 1), the curves the
// playground's measurements are drawn against; the same formulas as cnnlab.physics.exact:
//   Onsager (1944): u(T) = -coth(2/T) [1 + (2/pi) (2 tanh^2(2/T) - 1) K(k)], k = 2 sinh(2/T) / cosh^2(2/T),
//   Yang (1952):    m(T) = (1 - sinh(2/T)^-4)^(1/8) below Tc, 0 above,
//   Tc = 2 / ln(1 + sqrt 2).
// K, the complete elliptic integral of the first kind, by the arithmetic-geometric mean:
// K(k) = pi / (2 AGM(1, sqrt(1 - k^2))).

export const TC = 2 / Math.log(1 + Math.SQRT2);

export function ellipticK(k) {
  if (k >= 1) return Infinity;
  let a = 1, b = Math.sqrt(1 - k * k);
  for (let i = 0; i < 64 && Math.abs(a - b) > 1e-15 * Math.abs(a); i++) [a, b] = [(a + b) / 2, Math.sqrt(a * b)];
  return Math.PI / (2 * a);
}

// Energy per spin of the infinite lattice; u(Tc) = -sqrt 2 (there k = 1 and the prefactor is 0).
export function onsagerEnergy(T) {
  const b2 = 2 / T, k = (2 * Math.sinh(b2)) / Math.cosh(b2) ** 2;
  const bracket = k >= 1 ? 1 : 1 + (2 / Math.PI) * (2 * Math.tanh(b2) ** 2 - 1) * ellipticK(k);
  return -bracket / Math.tanh(b2);
}

// Spontaneous magnetization per spin of the infinite lattice.
export function yangMagnetization(T) {
  return T < TC ? Math.max(0, 1 - Math.sinh(2 / T) ** -4) ** 0.125 : 0;
}
