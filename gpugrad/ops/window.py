"""Sliding windows over the last two dimensions: the primitive under convolution and pooling.

``unfold_windows(x, ...)`` turns an (N, C, H, W) tensor into its windows,
(N, C, out_h, out_w, kernel_h, kernel_w), as a strided view of the (padded)
input: no copy until a consumer reshapes it. Convolution is then one matmul
over the windows, max pooling a max over the last two dimensions, average
pooling a sum. The backward of unfolding is folding (each window's gradient
added back where the window came from), and the backward of folding is
unfolding, so everything built on these two is twice differentiable.

Only ``as_strided``, ``pad``, ``zeros``, slicing and ``+=`` are used on
arrays, all of which CuPy has with NumPy's signatures, so one code path
serves both.
"""

from __future__ import annotations

from ..autograd.function import Function
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


class UnfoldWindows(Function):
    """(N, C, H, W) -> (N, C, out_h, out_w, kernel_h, kernel_w): a strided view of the padded input.

    ``pad_value`` fills the padding (0 for convolution and average pooling,
    the lowest value for max pooling); padding never receives gradient.
    """

    view_of_input = True  # the windows read the input's memory: an in-place change must invalidate both
    backward_name = "Im2ColBackward0"

    def __init__(self, spec: WindowSpec, pad_value=0):
        self.spec, self.pad_value = spec, pad_value

    def forward(self, x):
        self.in_shape = x.shape
        spec = self.spec
        if any(spec.pads[0]) or any(spec.pads[1]):
            x = self.xp.pad(x, ((0, 0), (0, 0)) + spec.pads, mode="constant", constant_values=self.pad_value)
        n, c, _, _ = x.shape
        (kh, kw), (sh, sw), (dh, dw) = spec.kernel, spec.stride, spec.dilation
        oh, ow = spec.out_size(self.in_shape[2], 0), spec.out_size(self.in_shape[3], 1)
        s_n, s_c, s_h, s_w = x.strides
        shape = (n, c, oh, ow, kh, kw)
        strides = (s_n, s_c, s_h * sh, s_w * sw, s_h * dh, s_w * dw)
        return self.xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)

    def backward(self, gy):
        return FoldWindows(self.spec, self.in_shape)(gy)


class FoldWindows(Function):
    """(N, C, out_h, out_w, kernel_h, kernel_w) -> (N, C, H, W): each window added back where it came from.

    Overlapping windows sum; what falls on the padding is dropped.
    """

    backward_name = "Col2ImBackward0"

    def __init__(self, spec: WindowSpec, in_shape: tuple):
        self.spec, self.in_shape = spec, tuple(in_shape)

    def forward(self, windows):
        spec = self.spec
        n, c, oh, ow, kh, kw = windows.shape
        (top, bottom), (left, right) = spec.pads
        height, width = self.in_shape[2], self.in_shape[3]
        out = self.xp.zeros((n, c, height + top + bottom, width + left + right), dtype=windows.dtype)
        (sh, sw), (dh, dw) = spec.stride, spec.dilation
        # one strided slice-add per kernel offset: kernel_h * kernel_w array ops, no per-window Python loop
        for i in range(kh):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            for j in range(kw):
                out[:, :, rows, j * dw : j * dw + sw * (ow - 1) + 1 : sw] += windows[:, :, :, :, i, j]
        return out[:, :, top : top + height, left : left + width]

    def backward(self, gy):
        return UnfoldWindows(self.spec)(gy)


def unfold_windows(x: Tensor, spec: WindowSpec, pad_value=0) -> Tensor:
    """The windows of a 4-D tensor, (N, C, out_h, out_w, kernel_h, kernel_w); see ``UnfoldWindows``."""
    return UnfoldWindows(spec, pad_value)(x)


def fold_windows(windows: Tensor, spec: WindowSpec, in_shape: tuple) -> Tensor:
    """Sum 6-D windows back into an (N, C, H, W) tensor of ``in_shape``; see ``FoldWindows``."""
    return FoldWindows(spec, in_shape)(windows)
