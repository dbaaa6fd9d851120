"""Pooling layers: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d (each calls its ``F.`` function)."""

from __future__ import annotations

from ..tensor import Tensor
from . import conv_functions as F
from .module import Module


class _MaxPoolNd(Module):
    _function = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        return type(self)._function(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                                    self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    """The largest value of each window; see ``F.max_pool2d`` (``stride`` defaults to ``kernel_size``).

    Example:
        >>> gg.nn.MaxPool2d(2)(gg.randn(8, 6, 28, 28)).shape
        (8, 6, 14, 14)
    """

    _function = staticmethod(F.max_pool2d)


class MaxPool1d(_MaxPoolNd):
    """The largest value of each window of (N, C, L); see ``F.max_pool1d``.

    Example:
        >>> gg.nn.MaxPool1d(3, 2)(gg.randn(8, 6, 11)).shape
        (8, 6, 5)
    """

    _function = staticmethod(F.max_pool1d)


class _AvgPoolNd(Module):
    def __init__(self, kernel_size, stride, padding, ceil_mode: bool, count_include_pad: bool):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """The mean of each window; see ``F.avg_pool2d`` (``stride`` defaults to ``kernel_size``).

    Example:
        >>> gg.nn.AvgPool2d(2)(gg.randn(8, 6, 28, 28)).shape
        (8, 6, 14, 14)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AvgPool1d(_AvgPoolNd):
    """The mean of each window of (N, C, L); see ``F.avg_pool1d``. Sizes are kept as 1-tuples, as PyTorch.

    Example:
        >>> gg.nn.AvgPool1d(2)(gg.randn(8, 6, 10)).shape
        (8, 6, 5)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True):
        def single(value):  # PyTorch's _single
            return F._pair("AvgPool1d", "argument", value, 1)

        super().__init__(single(kernel_size), single(stride if stride is not None else kernel_size), single(padding),
                         ceil_mode, count_include_pad)

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class _AdaptiveAvgPoolNd(Module):
    _function = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed output size; see ``F.adaptive_avg_pool2d``.

    Example:
        >>> gg.nn.AdaptiveAvgPool2d((1, 1))(gg.randn(8, 16, 5, 5)).shape
        (8, 16, 1, 1)
    """

    _function = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average pooling of (N, C, L) to length ``output_size``; see ``F.adaptive_avg_pool1d``.

    Example:
        >>> gg.nn.AdaptiveAvgPool1d(4)(gg.randn(8, 16, 10)).shape
        (8, 16, 4)
    """

    _function = staticmethod(F.adaptive_avg_pool1d)
