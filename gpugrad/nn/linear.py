"""Linear, Identity and Flatten."""

from __future__ import annotations

from ..creation import empty
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


def add_weight_and_bias(layer: Module, weight_shape: tuple, bias: bool, device, dtype) -> None:
    """Register ``weight`` (of ``weight_shape``) and ``bias`` (one per output, or None) and initialise them."""
    layer.weight = Parameter(empty(*weight_shape, dtype=dtype, device=device))
    if bias:
        layer.bias = Parameter(empty(weight_shape[0], dtype=dtype, device=device))
    else:
        layer.register_parameter("bias", None)
    layer.reset_parameters()


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are accepted and ignored (a placeholder layer)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """``y = x @ weight.T + bias``, applied to the last dimension of ``x``.

    ``weight`` has shape (out_features, in_features) and starts as PyTorch's
    ``kaiming_uniform_(a=sqrt(5))``, i.e. U(-1/sqrt(in), 1/sqrt(in)); ``bias``
    starts as U(-1/sqrt(in), 1/sqrt(in)).

    Example:
        >>> layer = gg.nn.Linear(3, 2)
        >>> layer(gg.randn(8, 3)).shape
        (8, 2)
        >>> layer
        Linear(in_features=3, out_features=2, bias=True)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        add_weight_and_bias(self, (out_features, in_features), bias, device, dtype)

    def reset_parameters(self) -> None:
        init.layer_defaults_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Merge dimensions ``start_dim..end_dim`` (by default all but the batch dimension)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size`` (the inverse of ``Flatten``).

    Example:
        >>> gg.nn.Unflatten(1, (2, 5))(gg.zeros(3, 10)).shape
        (3, 2, 5)
    """

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        dim = self.dim % input.ndim
        return input.reshape(tuple(input.shape[:dim]) + self.unflattened_size + tuple(input.shape[dim + 1:]))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
