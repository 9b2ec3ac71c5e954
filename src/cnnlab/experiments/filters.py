"""What the first layer learned: its filters, their Fourier spectra, the nearest finite-difference stencil.

A learned 3x3 or 5x5 filter is compared with a bank of normalised stencils that a physicist knows
from finite differences: identity, box and binomial (Gaussian) blurs, forward and central
differences, Sobel (smoothed derivative), second differences, the 5- and 9-point Laplacians and the
mixed derivative. Stencils smaller than the filter are tried at every offset inside it; larger
binomial versions (derivative of Gaussian, Laplacian of Gaussian) are built for the filter's own size.
The match is the cosine similarity ``<f, s> / (|f| |s|)``; its sign tells e.g. +d/dx from -d/dx.
A filter over several input channels is summed over them: its response to a grey input.

Example:
    >>> import numpy as np
    >>> sobel = np.array([[-1., 0, 1], [-2, 0, 2], [-1, 0, 1]])
    >>> m = nearest_stencil(-2 * sobel + 0.01 * np.random.default_rng(0).normal(size=(3, 3)))
    >>> m["stencil"], m["sign"], round(m["similarity"], 2)
    ('sobel x (d/dx)', -1, 1.0)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cnnlab.engine import Network
from cnnlab.experiments import plots, report
from cnnlab.io import make_folder
from cnnlab.shapes import shape_text

GOOD_MATCH = 0.7  # |cosine| above which a filter "is" its stencil (chance level for 9 random taps is ~0.3)


def _binomial(n: int) -> np.ndarray:
    """Row n-1 of Pascal's triangle: the discrete Gaussian of width n."""
    b = np.array([1.0])
    for _ in range(n - 1):
        b = np.convolve(b, [1.0, 1.0])
    return b


def stencils(dims: int, size: int) -> dict[str, np.ndarray]:
    """The stencil bank for filters of ``size`` taps per axis (1-D or 2-D), each of unit norm.

    Example:
        >>> bank = stencils(2, 3)
        >>> bank["laplacian 5-point"].round(3).tolist()[1]
        [0.224, -0.894, 0.224]
    """
    d1, c1, s1 = np.array([0.0, -1, 1]), np.array([-1.0, 0, 1]), np.array([1.0, -2, 1])
    delta, box, binom = np.array([0.0, 1, 0]), np.ones(3), _binomial(3)
    if dims == 1:
        bank = {
            "identity": delta,
            "box blur": box,
            "binomial blur": binom,
            "forward difference": d1,
            "central difference": c1,
            "second difference": s1,
        }
        if size > 3:
            bank |= {
                f"binomial blur {size}": _binomial(size),
                f"derivative of gaussian {size}": np.convolve(_binomial(size - 1), [-1.0, 1.0]),
                f"second derivative of gaussian {size}": np.convolve(_binomial(size - 2), s1),
            }
    else:
        row = lambda v: np.outer(delta, v)
        bank = {
            "identity": np.outer(delta, delta),
            "box blur": np.outer(box, box),
            "binomial blur": np.outer(binom, binom),
            "forward difference x": row(d1),
            "forward difference y": row(d1).T,
            "central difference x": row(c1),
            "central difference y": row(c1).T,
            "sobel x (d/dx)": np.outer(binom, c1),
            "sobel y (d/dy)": np.outer(c1, binom),
            "sobel diagonal (d/dx + d/dy)": np.array([[-2.0, -1, 0], [-1, 0, 1], [0, 1, 2]]),
            "sobel antidiagonal (d/dx - d/dy)": np.array([[0.0, 1, 2], [-1, 0, 1], [-2, -1, 0]]),
            "second difference x": row(s1),
            "second difference y": row(s1).T,
            "laplacian 5-point": row(s1) + row(s1).T,
            "laplacian 9-point": np.ones((3, 3)) - 9 * np.outer(delta, delta),
            "mixed derivative d2/dxdy": np.outer(c1, c1),
        }
        if size > 3:
            b, db = _binomial(size), np.convolve(_binomial(size - 1), [-1.0, 1.0])
            sb = np.convolve(_binomial(size - 2), s1)
            bank |= {
                f"binomial blur {size}x{size}": np.outer(b, b),
                f"derivative of gaussian x {size}x{size}": np.outer(b, db),
                f"derivative of gaussian y {size}x{size}": np.outer(db, b),
                f"laplacian of gaussian {size}x{size}": np.outer(b, sb) + np.outer(sb, b),
            }
    return {name: s / np.linalg.norm(s) for name, s in bank.items()}


def _placements(stencil: np.ndarray, shape: tuple[int, ...]):
    """The stencil zero-padded into ``shape`` at every offset where it fits."""
    ranges = [range(n - s + 1) for n, s in zip(shape, stencil.shape)]
    for offset in np.ndindex(*[len(r) for r in ranges]):
        placed = np.zeros(shape)
        placed[tuple(slice(o, o + s) for o, s in zip(offset, stencil.shape))] = stencil
        yield offset, placed


def nearest_stencil(weights: np.ndarray) -> dict:
    """The stencil with the largest |cosine similarity| to a filter ``(k,)`` or ``(k, k)``.

    Returns:
        ``{"stencil", "similarity" (|cos|), "sign" (+1/-1), "offset" (top-left of the stencil)}``.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim not in (1, 2) or min(w.shape) < 3:
        raise ValueError(f"nearest_stencil needs a filter of shape (k,) or (k, k) with k >= 3, got {w.shape}")
    norm = np.linalg.norm(w)
    best: dict[str, Any] = {"stencil": "none", "similarity": 0.0, "sign": 1, "offset": [0] * w.ndim}
    if norm == 0:
        return best
    for name, s in stencils(w.ndim, max(w.shape)).items():
        if any(a < b for a, b in zip(w.shape, s.shape)):
            continue
        for offset, placed in _placements(s, w.shape):
            cos = float((w * placed).sum() / norm)
            if abs(cos) > best["similarity"] + 1e-12:
                best = {"stencil": name, "similarity": abs(cos), "sign": 1 if cos >= 0 else -1, "offset": list(offset)}
    return best


def spectrum(weights: np.ndarray, size: int = 16) -> np.ndarray:
    """|Fourier transform| of a filter zero-padded to ``size`` per axis, zero frequency at the centre.

    Example:
        >>> s = spectrum(np.ones((3, 3)), size=8)
        >>> [int(i) for i in np.unravel_index(s.argmax(), s.shape)]   # a blur passes low frequencies
        [4, 4]
    """
    w = np.asarray(weights, dtype=np.float64)
    size = max(size, *w.shape)
    return np.abs(np.fft.fftshift(np.fft.fftn(w, s=(size,) * w.ndim, axes=tuple(range(w.ndim)))))


def first_filters(net: Network) -> tuple[int, np.ndarray]:
    """Index and weights of the first conv layer, summed over input channels: ``(D_out, k[, k])``.

    A network without convs gives its first dense layer's weights reshaped to the input (templates).
    """
    for index, module in enumerate(net):
        if isinstance(module, (torch.nn.Conv1d, torch.nn.Conv2d)):
            return index, module.weight.detach().cpu().double().sum(1).numpy()
        if isinstance(module, torch.nn.Linear):
            shape = net.input_shape
            w = module.weight.detach().cpu().double().view(-1, *shape).sum(1).numpy()
            return index, w
    raise ValueError("the network has no conv or linear layer whose filters could be shown")


def _orientation(freq: list[float]) -> float | None:
    """Direction (degrees in [0, 180), 0 = along x) of the intensity change a 2-D filter responds to.

    The spectrum's peak (f_y, f_x) is the wave vector of the pattern that excites the filter most; a
    vertical edge (a change along x) has f_y = 0, hence 0 degrees. None for 1-D or low-pass filters.
    """
    if len(freq) != 2 or not any(freq):
        return None
    return round(float(np.degrees(np.arctan2(-freq[0], freq[1])) % 180.0), 1)


@dataclass
class FiltersResult:
    """Per filter: nearest stencil, similarity, peak spatial frequency."""

    run_dir: str
    layer: str
    filter_shape: list[int]
    rows: list[dict]
    counts: dict[str, int]
    plots: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(vars(self))

    def lines(self) -> list[str]:
        out = [f"{'#':>3} {'nearest stencil':<36} {'|cos|':>6} {'peak frequency (y, x) cycles/px':>32}"]
        for r in self.rows:
            sign = "-" if r["sign"] < 0 else "+"
            out.append(
                f"{r['filter']:>3} {sign + r['stencil']:<36} {r['similarity']:>6.2f} "
                f"{', '.join(f'{f:+.2f}' for f in r['peak_frequency']):>32}"
            )
        return out

    def markdown(self) -> str:
        n = len(self.rows)
        matched = sum(c for name, c in self.counts.items() if name != "no close stencil")
        lines = [
            f"# First-layer filters of {self.run_dir}",
            "",
            f"Layer `{self.layer}`: {n} filters of {shape_text(self.filter_shape)}. "
            f"{matched} of {n} are within |cos| >= {GOOD_MATCH} of a finite-difference stencil:",
            "",
        ]
        lines += [f"- {name}: {count}" for name, count in sorted(self.counts.items(), key=lambda kv: -kv[1])]
        low = sum(1 for r in self.rows if not any(r["peak_frequency"]))
        angles = sorted(r["orientation"] for r in self.rows if r.get("orientation") is not None)
        lines += [
            "",
            f"{low} of {n} spectra peak at zero frequency (smoothing, low-pass); the others peak at a "
            "nonzero frequency (edge and texture detectors, band- or high-pass)"
            + (
                f", responding to intensity changes along directions {', '.join(f'{a:.0f}°' for a in angles)} "
                "(0° = along x)."
                if angles
                else "."
            ),
            "",
            report.markdown_table(
                ["filter", "nearest stencil", "|cos|", "peak frequency (y, x) cycles/px"],
                [
                    [
                        r["filter"],
                        ("−" if r["sign"] < 0 else "+") + r["stencil"],
                        f"{r['similarity']:.2f}",
                        r["peak_frequency"],
                    ]
                    for r in self.rows
                ],
            ),
            "",
            report.plot_links(self.plots, None),
        ]
        return "\n".join(lines)


def inspect_filters(
    run_dir: str | Path, out: str | Path | None = None, spectrum_size: int = 16, max_plotted: int = 64
) -> FiltersResult:
    """First-layer filters of a trained run: image grid, Fourier spectra, nearest stencils.

    Args:
        run_dir: a run folder written by ``cnnlab train``.
        out: folder for ``filters.png``, ``spectra.png``, ``result.json`` and ``report.md``.
        spectrum_size: FFT size per axis (zero padding gives a smooth spectrum).
        max_plotted: at most this many filters in the plots (a dense layer has hundreds).
    """
    from cnnlab.model import Model

    model = Model.from_run(run_dir)
    index, weights = first_filters(model.net)
    layer = model.net.layers[index].to_text()
    stencil_sized = all(3 <= k <= 11 for k in weights.shape[1:])  # dense-layer templates are not stencils
    rows = []
    for i, w in enumerate(weights):
        match = nearest_stencil(w) if stencil_sized else {"stencil": "none", "similarity": 0.0, "sign": 1, "offset": []}
        s = spectrum(w, spectrum_size)
        peak = np.unravel_index(s.argmax(), s.shape)
        freq = [round(float(p - n // 2) / n, 4) for p, n in zip(peak, s.shape)]
        rows.append(
            dict(match, filter=i, peak_frequency=freq, orientation=_orientation(freq), norm=float(np.linalg.norm(w)))
        )
    counts = Counter(r["stencil"] if r["similarity"] >= GOOD_MATCH else "no close stencil" for r in rows)
    result = FiltersResult(str(run_dir), layer, list(weights.shape[1:]), rows, dict(counts))
    if out is not None:
        out = Path(out)
        make_folder(out)
        captions = [
            f"{r['filter']}: {'−' if r['sign'] < 0 else ''}{r['stencil']}\n|cos| {r['similarity']:.2f}"
            if r["similarity"] >= GOOD_MATCH
            else f"{r['filter']}: (|cos| {r['similarity']:.2f})"
            for r in rows
        ]
        shown = slice(0, max_plotted)
        result.plots.append(
            str(plots.filter_grid(weights[shown], captions[shown], out / "filters.png", f"{layer}: learned filters"))
        )
        spectra = np.stack([spectrum(w, spectrum_size) for w in weights[shown]])
        result.plots.append(
            str(
                plots.filter_grid(
                    spectra,
                    [f"{r['filter']}" for r in rows[shown]],
                    out / "spectra.png",
                    "|Fourier transform| (zero frequency at the centre)",
                    cmap="viridis",
                    symmetric=False,
                )
            )
        )
        report.save(result, out)
    return result
