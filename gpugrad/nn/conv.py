"""Convolution layers, Conv1d and Conv2d, and the im2col layers, Unfold and Fold."""

from __future__ import annotations

from ..tensor import Tensor
from . import conv_functions as F
from . import init
from .linear import add_weight_and_bias
from .module import Module


class _ConvNd(Module):
    """What Conv1d and Conv2d share: arguments, parameters (PyTorch's shapes and initialisation) and repr."""

    _dims = 2
    _function = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                             f"divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: padding_mode={padding_mode!r} is not supported by gpugrad; "
                                      "only 'zeros' (pad the input yourself for other modes)")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of ['valid', 'same']")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = F._pair(name, "kernel_size", kernel_size, self._dims)
        self.stride = F._pair(name, "stride", stride, self._dims)
        self.padding = padding if isinstance(padding, str) else F._pair(name, "padding", padding, self._dims)
        self.dilation = F._pair(name, "dilation", dilation, self._dims)
        if padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
        self.padding_mode = padding_mode
        add_weight_and_bias(self, (out_channels, in_channels // groups) + self.kernel_size, bias, device, dtype)

    def reset_parameters(self) -> None:
        init.layer_defaults_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                                    self.groups)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._dims:
            text += f", padding={self.padding}"  # a string unquoted (padding=same), as PyTorch prints it
        if self.dilation != (1,) * self._dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) (or (C_in, H, W)); see ``F.conv2d``.

    ``weight`` has shape (out_channels, in_channels / groups, kH, kW) and ``bias``
    (out_channels,), initialised as PyTorch's. Only ``padding_mode="zeros"``.

    Example:
        >>> conv = gg.nn.Conv2d(1, 6, 5, padding=2)
        >>> conv(gg.randn(8, 1, 28, 28)).shape
        (8, 6, 28, 28)
        >>> conv
        Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
    """

    _dims = 2
    _function = staticmethod(F.conv2d)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) (or (C_in, L)); see ``F.conv1d``.

    ``weight`` has shape (out_channels, in_channels / groups, k).

    Example:
        >>> gg.nn.Conv1d(3, 4, 3, padding="same")(gg.randn(2, 3, 10)).shape
        (2, 4, 10)
    """

    _dims = 1
    _function = staticmethod(F.conv1d)


class Unfold(Module):
    """Sliding blocks as columns, (N, C, H, W) -> (N, C*kH*kW, L); see ``F.unfold``.

    Example:
        >>> gg.nn.Unfold(kernel_size=2)(gg.randn(2, 3, 4, 4)).shape
        (2, 12, 9)
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """Columns summed back into a plane, (N, C*kH*kW, L) -> (N, C, H, W); see ``F.fold``.

    Example:
        >>> gg.nn.Fold(output_size=(3, 3), kernel_size=2)(gg.ones(1, 4, 4)).shape
        (1, 1, 3, 3)
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
