"""``F.pad`` and the padding layers (ZeroPad2d, ConstantPad1d/2d, ReflectionPad1d/2d, ReplicationPad1d/2d).

Constant padding joins blocks of the fill value to the input (``cat``); the
other modes pick input elements by index (``index_select``), one padded
dimension at a time, so every mode is differentiable through those ops.
"""

from __future__ import annotations

import numpy as np

from ..creation import full
from ..ops.selection import index_select
from ..ops.shape import cat, narrow
from ..tensor import Tensor, tensor
from .module import Module

_MODES = ("constant", "reflect", "replicate", "circular")


def _source_positions(mode: str, size: int, before: int, after: int) -> np.ndarray:
    """For each output position along one dimension, the input position it copies."""
    positions = np.arange(-before, size + after)
    if mode == "replicate":
        return np.clip(positions, 0, size - 1)
    if mode == "circular":
        return positions % size
    period = 2 * (size - 1)  # reflect: mirror at both ends without repeating the edge
    positions = np.abs(positions) % period if period else np.zeros_like(positions)
    return np.where(positions >= size, period - positions, positions)


def _constant_block(x: Tensor, dim: int, length: int, value) -> Tensor:
    """``value`` in ``x``'s shape, but ``length`` long along ``dim``."""
    return full(x.shape[:dim] + (length,) + x.shape[dim + 1:], value, dtype=x.dtype, device=x.device)


def _pad_one_dim(x: Tensor, dim: int, before: int, after: int, mode: str, value) -> Tensor:
    if before < 0:  # negative padding crops, as in PyTorch
        x, before = narrow(x, dim, -before, x.shape[dim] + before), 0
    if after < 0:
        x, after = narrow(x, dim, 0, x.shape[dim] + after), 0
    if before == after == 0:
        return x
    if mode == "constant":
        pieces = [_constant_block(x, dim, n, value) if n else None for n in (before, after)]
        return cat([p for p in (pieces[0], x, pieces[1]) if p is not None], dim)
    size = x.shape[dim]
    if mode == "reflect" and max(before, after) >= size:
        raise RuntimeError(f"pad(): reflect padding ({before}, {after}) must be smaller than the dimension "
                           f"{dim} it pads (size {size})")
    index = tensor(_source_positions(mode, size, before, after), device=x.device)
    return index_select(x, dim, index)


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad ``input``: ``pad = (left, right)`` pads the last dimension, ``(left, right, top, bottom)`` the last
    two, and so on. ``mode`` is ``"constant"`` (``value``, default 0), ``"reflect"``, ``"replicate"`` or
    ``"circular"``; negative amounts crop.

    Differs from PyTorch: every mode pads any dimension (PyTorch limits the non-constant modes to the
    last 1 to 3 dimensions of batched inputs).

    Example:
        >>> F.pad(gg.tensor([[1., 2.]]), (1, 1))
        tensor([[0., 1., 2., 0.]])
    """
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad(): padding {pad} must have an even length of at most 2 * input.dim() "
                         f"= {2 * input.ndim} (input shape {tuple(input.shape)})")
    if mode not in _MODES:
        raise NotImplementedError(f"pad(): mode {mode!r} is not supported; use one of {', '.join(_MODES)}")
    if value is not None and mode != "constant":
        raise ValueError(f"pad(): value= is only used by mode='constant', not {mode!r}")
    out = input
    for i in range(len(pad) // 2):
        out = _pad_one_dim(out, input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1], mode, value or 0)
    return out


class _PadNd(Module):
    mode = "constant"
    dims = 2

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        self.padding = (padding,) * (2 * self.dims) if isinstance(padding, int) else tuple(padding)
        if len(self.padding) != 2 * self.dims:
            raise ValueError(f"{type(self).__name__}(): padding must be an int or {2 * self.dims} ints, "
                             f"got {padding}")
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, self.mode, self.value if self.mode == "constant" else None)

    def extra_repr(self) -> str:
        if self.mode == "constant":
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pad the last dimension with ``value``: ``ConstantPad1d((left, right), value)``."""

    dims = 1

    def __init__(self, padding, value: float):
        super().__init__(padding, value)


class ConstantPad2d(_PadNd):
    """Pad the last two dimensions with ``value``: ``ConstantPad2d((left, right, top, bottom), value)``."""

    def __init__(self, padding, value: float):
        super().__init__(padding, value)


class ZeroPad2d(_PadNd):
    """Pad the last two dimensions with zeros.

    Example:
        >>> gg.nn.ZeroPad2d(1)(gg.ones(1, 1, 2, 2)).shape
        (1, 1, 4, 4)
    """

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Pad the last dimension with its mirror image (edge not repeated)."""

    mode, dims = "reflect", 1


class ReflectionPad2d(_PadNd):
    """Pad the last two dimensions with their mirror images (edge not repeated)."""

    mode = "reflect"


class ReplicationPad1d(_PadNd):
    """Pad the last dimension by repeating its edge values."""

    mode, dims = "replicate", 1


class ReplicationPad2d(_PadNd):
    """Pad the last two dimensions by repeating their edge values."""

    mode = "replicate"
