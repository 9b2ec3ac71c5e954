"""Translations of image batches: deterministic shifts and random-translation augmentation.

Convention: a shift by ``(dx, dy)`` moves the content ``dx`` pixels right and ``dy`` pixels down,
``out[..., i, j] = x[..., i - dy, j - dx]``; pixels that come from outside the image are zero
(``mode="zeros"``) or wrap around (``mode="circular"``). For 1-D signals ``(N, C, W)`` only ``dx``
applies.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def shift(x: torch.Tensor, dx: int, dy: int = 0, mode: str = "zeros") -> torch.Tensor:
    """Shift every image of a batch by the same whole number of pixels.

    Args:
        x: images ``(N, C, H, W)`` (or any ``(..., H, W)``), or signals ``(N, C, W)``.
        dx: pixels to the right (negative: left).
        dy: pixels down (negative: up); must be 0 for signals ``(N, C, W)``.
        mode: ``"zeros"`` (fill with 0) or ``"circular"`` (wrap around, a torus).

    Shape:
        output: the same as ``x``.

    Example:
        >>> x = torch.tensor([[[1., 2., 3., 4.]]])  # (N, C, W) = (1, 1, 4)
        >>> shift(x, 1)
        tensor([[[0., 1., 2., 3.]]])
        >>> shift(x, -1, mode="circular")
        tensor([[[2., 3., 4., 1.]]])
    """
    if mode not in ("zeros", "circular"):
        raise ValueError(f"shift: mode must be 'zeros' or 'circular', got {mode!r}")
    if x.dim() < 2:
        raise ValueError(f"shift: x must have at least 2 dimensions (..., H, W), got shape {tuple(x.shape)}")
    if x.dim() == 3 and dy != 0:
        raise ValueError(
            f"shift: x of shape {tuple(x.shape)} is a batch of 1-D signals (N, C, W); dy must be 0, got {dy}"
        )
    dx, dy = int(dx), int(dy)
    if mode == "circular":
        dims = (-1,) if x.dim() == 3 else (-2, -1)
        return torch.roll(x, (dx,) if x.dim() == 3 else (dy, dx), dims=dims)
    out = torch.zeros_like(x)
    h, w = x.shape[-2], x.shape[-1]
    if abs(dx) >= w or abs(dy) >= h:
        return out
    src_rows = slice(max(-dy, 0), h - max(dy, 0))
    dst_rows = slice(max(dy, 0), h - max(-dy, 0))
    src_cols = slice(max(-dx, 0), w - max(dx, 0))
    dst_cols = slice(max(dx, 0), w - max(-dx, 0))
    out[..., dst_rows, dst_cols] = x[..., src_rows, src_cols]
    return out


def random_offsets(n: int, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` random whole-pixel offsets ``(dx, dy)``, each uniform in ``{-max_shift, ..., max_shift}``.

    Drawn on the CPU from ``generator``: one epoch's offsets drawn at once equal those drawn batch
    by batch (the generator's stream is consumed element by element), so a GPU can receive a whole
    epoch of them in one copy.

    Shape:
        output: ``(n, 2)`` int64, column 0 the x offsets, column 1 the y offsets.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> torch.equal(random_offsets(5, 2, g), torch.cat([random_offsets(3, 2, g.manual_seed(0)), random_offsets(2, 2, g)]))
        True
    """
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
        raise ValueError(f"random_translate: max_shift must be an integer >= 0, got {max_shift!r}")
    return torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator)


def translate(x: torch.Tensor, offsets: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Shift example ``i`` by ``offsets[i] = (dx, dy)`` whole pixels, zero fill; runs on ``x``'s device.

    Vectorised: the batch is zero-padded by ``max_shift`` once and each example's window is gathered
    with index arithmetic (no loop over examples, no host synchronisation).

    Args:
        x: images ``(N, C, H, W)`` or signals ``(N, C, W)`` (``dy`` is ignored for signals).
        offsets: ``(N, 2)`` integers with ``|offset| <= max_shift`` (see :func:`random_offsets`).
        max_shift: the padding, at least the largest ``|offset|``.

    Shape:
        output: the same as ``x``.

    Example:
        >>> x = torch.arange(1., 6.).reshape(1, 1, 5)
        >>> translate(x, torch.tensor([[-1, 0]]), 1)
        tensor([[[2., 3., 4., 5., 0.]]])
    """
    if x.dim() not in (3, 4):
        raise ValueError(f"random_translate: x must be (N, C, H, W) or (N, C, W), got shape {tuple(x.shape)}")
    m, n = max_shift, x.shape[0]
    offsets = offsets.to(x.device)
    if x.dim() == 3:
        padded = F.pad(x, (m, m))  # (N, C, W + 2m)
        w = x.shape[-1]
        cols = torch.arange(w, device=x.device) + m - offsets[:, :1]  # (N, W): out j <- in j - dx
        return padded.gather(2, cols[:, None, :].expand(-1, x.shape[1], -1))
    h, w = x.shape[-2:]
    padded = F.pad(x, (m, m, m, m))  # (N, C, H + 2m, W + 2m)
    rows = torch.arange(h, device=x.device) + m - offsets[:, 1:]  # (N, H)
    cols = torch.arange(w, device=x.device) + m - offsets[:, :1]  # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chans = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[batch, chans, rows[:, None, :, None], cols[:, None, None, :]]  # (N, C, H, W)


def random_translate(x: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each example by its own random whole-pixel offset, zero fill (data augmentation).

    Offsets are drawn uniformly from ``{-max_shift, ..., max_shift}``, independently for x and y
    and for each example (:func:`random_offsets`, on the CPU), and applied on ``x``'s device
    (:func:`translate`).

    Args:
        x: images ``(N, C, H, W)`` or signals ``(N, C, W)``.
        max_shift: the largest shift in pixels (0 returns a copy).
        generator: a CPU ``torch.Generator`` for reproducible offsets.

    Shape:
        output: the same as ``x``.

    Example:
        >>> x = torch.arange(1., 6.).reshape(1, 1, 5)  # one signal [1, 2, 3, 4, 5]
        >>> y = random_translate(x, 2, torch.Generator().manual_seed(0))
        >>> y
        tensor([[[0., 0., 1., 2., 3.]]])
        >>> torch.equal(y, shift(x, 2))  # this example was shifted 2 to the right
        True
    """
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
        raise ValueError(f"random_translate: max_shift must be an integer >= 0, got {max_shift!r}")
    if x.dim() not in (3, 4):
        raise ValueError(f"random_translate: x must be (N, C, H, W) or (N, C, W), got shape {tuple(x.shape)}")
    if max_shift == 0:
        return x.clone()
    offsets = random_offsets(x.shape[0], max_shift, generator)
    return translate(x, offsets, max_shift)
