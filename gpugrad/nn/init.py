"""Weight initialisation, with PyTorch's names, formulas and defaults.

Every function fills its tensor in place under ``no_grad`` (so it works on
parameters that require grad), bumps the tensor's version like any in-place
op, draws from the seeded generator of the tensor's device
(``gg.manual_seed``) and returns the tensor.

    >>> w = gg.nn.Parameter(gg.empty(256, 128))
    >>> gg.nn.init.kaiming_uniform_(w, nonlinearity="relu")   # U(-b, b), b = sqrt(6 / 128)
"""

from __future__ import annotations

import math
import warnings

from ..autograd.grad_mode import no_grad
from ..creation import full, rand, randn
from ..tensor import Tensor


def _fill(tensor: Tensor, values: Tensor) -> Tensor:
    """Copy ``values`` into ``tensor`` in place without recording (copy_ bumps the version)."""
    with no_grad():
        tensor.copy_(values)
    return tensor


def _random(tensor: Tensor, sampler) -> Tensor:
    return sampler(tensor.shape, dtype=tensor.dtype, device=tensor.device)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with samples of U(a, b).

    Example:
        >>> gg.nn.init.uniform_(gg.empty(3, 5), -0.1, 0.1)
    """
    if _is_empty(tensor):
        return tensor
    return _fill(tensor, _random(tensor, rand) * (b - a) + a)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with samples of N(mean, std**2)."""
    if _is_empty(tensor):
        return tensor
    return _fill(tensor, _random(tensor, randn) * std + mean)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _fill(tensor, full(tensor.shape, val, dtype=tensor.dtype, device=tensor.device))


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain PyTorch recommends for a nonlinearity (scales the std of the init).

    ====================  =========================================
    linear, conv*, sigmoid  1
    tanh                    5/3
    relu                    sqrt(2)
    leaky_relu              sqrt(2 / (1 + negative_slope**2)), slope ``param`` (default 0.01)
    selu                    3/4
    ====================  =========================================
    """
    linear = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"}
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain(): negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain(): unsupported nonlinearity {nonlinearity!r}; use one of linear, conv1d/2d/3d, sigmoid, "
        "tanh, relu, leaky_relu, selu"
    )


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight laid out as PyTorch lays them: (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError(
            f"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (got shape "
            f"{tuple(tensor.shape)})"
        )
    receptive_field = 1
    for size in tensor.shape[2:]:
        receptive_field *= size
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot normal: N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan); ``a`` is the leaky_relu slope for the gain.

    ``nn.Linear`` uses ``a=sqrt(5)``, which gives b = 1 / sqrt(fan_in).
    """
    if _is_empty(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He normal: N(0, std**2) with std = gain / sqrt(fan)."""
    if _is_empty(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def _is_empty(tensor: Tensor) -> bool:
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def layer_defaults_(weight: Tensor, bias: Tensor | None) -> None:
    """PyTorch's default start for Linear and Conv layers: ``weight`` by ``kaiming_uniform_(a=sqrt(5))``,
    i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and ``bias`` from the same range."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
