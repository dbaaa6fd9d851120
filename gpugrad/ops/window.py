"""Sliding windows over the last two dimensions: the primitive under convolution and pooling.

``unfold_windows(x, spec)`` copies the windows of an (N, C, H, W) tensor into
im2col's layout, (C, kernel_h, kernel_w, N, out_h, out_w): one strided slice of
the padded input per kernel offset, so each copy moves whole rows. Convolution is
then one matmul (the first three axes are the weight's), average pooling a sum
over axes 1 and 2. The backward of unfolding is folding (each window's gradient
added back where the window came from), and the backward of folding is
unfolding, so everything built on these two is twice differentiable.
Max pooling has its own pair (``WindowMax`` and ``ScatterToWinners``, each the
other's backward), working on output-sized arrays only.

Only ``pad``, ``zeros``/``empty``, basic slicing, ``maximum``, ``where`` and
``+=`` touch arrays: CuPy has them all with NumPy's signatures (one code path),
and the static-graph tracer records them (no ``as_strided``, which reads raw memory).
"""

from __future__ import annotations

import numpy as np

from ..autograd.node import ArrayFunction
from ..tensor import Tensor


class WindowSpec:
    """Where the windows of an (H, W) plane lie: kernel, stride, dilation and (before, after) padding per dim."""

    __slots__ = ("kernel", "stride", "dilation", "pads")

    def __init__(self, kernel: tuple, stride: tuple, dilation: tuple, pads: tuple):
        self.kernel, self.stride, self.dilation, self.pads = kernel, stride, dilation, pads

    def out_size(self, size: int, axis: int) -> int:
        """How many windows fit along ``axis`` (0 = H, 1 = W) of an input of ``size`` (may be <= 0: none fit)."""
        padded = size + self.pads[axis][0] + self.pads[axis][1]
        reach = self.dilation[axis] * (self.kernel[axis] - 1) + 1
        return (padded - reach) // self.stride[axis] + 1


def _padded(xp, x, spec: WindowSpec, pad_value=0):
    if any(spec.pads[0]) or any(spec.pads[1]):
        return xp.pad(x, ((0, 0), (0, 0)) + spec.pads, mode="constant", constant_values=pad_value)
    return x


def _offset_dtype(kernel: tuple):
    """The smallest integer type that numbers a window's positions (int8 for the usual 2x2 or 3x3)."""
    return np.int8 if kernel[0] * kernel[1] <= 127 else np.int32


def _window_slice(spec: WindowSpec, i: int, j: int, out_size: tuple) -> tuple:
    """The positions of the padded plane that kernel offset (i, j) covers, over all oH x oW windows."""
    (sh, sw), (dh, dw) = spec.stride, spec.dilation
    rows = slice(i * dh, i * dh + sh * (out_size[0] - 1) + 1, sh)
    cols = slice(j * dw, j * dw + sw * (out_size[1] - 1) + 1, sw)
    return slice(None), slice(None), rows, cols


def _out_size(spec: WindowSpec, in_shape: tuple) -> tuple:
    return spec.out_size(in_shape[2], 0), spec.out_size(in_shape[3], 1)


class UnfoldWindows(ArrayFunction):
    """(N, C, H, W) -> (C, kH, kW, N, oH, oW): every window, in im2col's layout.

    ``pad_value`` fills the padding; padding never receives gradient.
    """

    backward_name = "Im2ColBackward0"

    def __init__(self, spec: WindowSpec, pad_value=0):
        self.spec, self.pad_value = spec, pad_value

    def forward(self, x):
        self.in_shape = x.shape
        spec = self.spec
        (kh, kw), out_size = spec.kernel, _out_size(spec, x.shape)
        channels_first = _padded(self.xp, x, spec, self.pad_value).transpose(1, 0, 2, 3)  # a view
        out = self.xp.empty((x.shape[1], kh, kw, x.shape[0]) + out_size, dtype=x.dtype)
        for i in range(kh):
            for j in range(kw):
                out[:, i, j] = channels_first[_window_slice(spec, i, j, out_size)]
        return out

    def backward(self, gy):
        return FoldWindows(self.spec, self.in_shape)(gy)


class FoldWindows(ArrayFunction):
    """(C, kH, kW, N, oH, oW) -> (N, C, H, W): each window added back where it came from.

    Overlapping windows sum; what falls on the padding is dropped.
    """

    backward_name = "Col2ImBackward0"

    def __init__(self, spec: WindowSpec, in_shape: tuple):
        self.spec, self.in_shape = spec, tuple(in_shape)

    def forward(self, windows):
        spec = self.spec
        channels, kh, kw, n, oh, ow = windows.shape
        (top, bottom), (left, right) = spec.pads
        height, width = self.in_shape[2], self.in_shape[3]
        out = self.xp.zeros((channels, n, height + top + bottom, width + left + right), dtype=windows.dtype)
        for i in range(kh):  # one strided slice-add per kernel offset, no per-window Python loop
            for j in range(kw):
                out[_window_slice(spec, i, j, (oh, ow))] += windows[:, i, j]
        return out[:, :, top : top + height, left : left + width].transpose(1, 0, 2, 3)

    def backward(self, gy):
        return UnfoldWindows(self.spec)(gy)


class WindowMax(ArrayFunction):
    """Max pooling of (N, C, H, W) -> (N, C, oH, oW); the gradient goes to one winner per window.

    Forward is a running ``maximum`` over the kH*kW window offsets (NaN propagates, as in
    PyTorch), then each window's winner is found as its first position equal to the
    maximum (``chosen``, the offset in the window, row-major; PyTorch's first-max rule),
    when backward or ``keep_winners`` (for ``return_indices``) needs it. Given ``chosen``, the op instead picks those positions: that is the backward of
    ``ScatterToWinners``, which is the backward of this, so max pooling is twice
    differentiable. Everything works on output-sized arrays (kH*kW elementwise ops),
    never on arrays with tiny trailing window axes, which NumPy walks slowly.
    """

    backward_name = "MaxPool2DWithIndicesBackward0"

    needs_input_grad = None  # set by Function.__call__ when the op is recorded

    def __init__(self, spec: WindowSpec, pad_value=0, chosen=None, keep_winners: bool = False):
        self.spec, self.pad_value, self.chosen, self.keep_winners = spec, pad_value, chosen, keep_winners

    def forward(self, x):
        self.in_shape = x.shape
        padded, out_size = _padded(self.xp, x, self.spec, self.pad_value), _out_size(self.spec, x.shape)
        kh, kw = self.spec.kernel
        at = [padded[_window_slice(self.spec, offset // kw, offset % kw, out_size)] for offset in range(kh * kw)]
        if self.chosen is not None:
            out = self.xp.zeros(at[0].shape, dtype=x.dtype)
            for offset, value in enumerate(at):
                out = self.xp.where(self.chosen == offset, value, out)
            return out
        best = at[0].copy()
        for value in at[1:]:
            best = self.xp.maximum(best, value)
        if self.needs_input_grad is None and not self.keep_winners:  # no backward, no indices: half the work
            return best
        chosen = self.xp.zeros(best.shape, dtype=_offset_dtype(self.spec.kernel))
        for offset in range(kh * kw - 1, -1, -1):  # backwards, so the first equal position is the last written
            chosen = self.xp.where(at[offset] == best, offset, chosen).astype(chosen.dtype, copy=False)
        self.chosen = chosen
        return best

    def backward(self, gy):
        return ScatterToWinners(self.spec, self.chosen, self.in_shape)(gy)


class ScatterToWinners(ArrayFunction):
    """(N, C, oH, oW) -> (N, C, H, W): each value added at its window's winner (max pooling's backward)."""

    backward_name = "MaxPool2DWithIndicesBackwardBackward0"

    def __init__(self, spec: WindowSpec, chosen, in_shape: tuple):
        self.spec, self.chosen, self.in_shape = spec, chosen, tuple(in_shape)

    def forward(self, gy):
        spec, xp = self.spec, self.xp
        (top, bottom), (left, right) = spec.pads
        height, width = self.in_shape[2], self.in_shape[3]
        out = xp.zeros(self.in_shape[:2] + (height + top + bottom, width + left + right), dtype=gy.dtype)
        kh, kw = spec.kernel
        for offset in range(kh * kw):
            target = _window_slice(spec, offset // kw, offset % kw, gy.shape[2:])
            out[target] += xp.where(self.chosen == offset, gy, 0)
        return out[:, :, top : top + height, left : left + width]

    def backward(self, ggx):
        return WindowMax(self.spec, chosen=self.chosen)(ggx)


def unfold_windows(x: Tensor, spec: WindowSpec, pad_value=0) -> Tensor:
    """The windows of a 4-D tensor, (C, kernel_h, kernel_w, N, out_h, out_w); see ``UnfoldWindows``."""
    return UnfoldWindows(spec, pad_value)(x)


def fold_windows(windows: Tensor, spec: WindowSpec, in_shape: tuple) -> Tensor:
    """Sum 6-D windows (C, kH, kW, N, oH, oW) back into an (N, C, H, W) tensor of ``in_shape``."""
    return FoldWindows(spec, in_shape)(windows)
