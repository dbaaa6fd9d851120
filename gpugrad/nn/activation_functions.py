"""Activation functions built from other ops (re-exported by ``gg.nn.functional``): ``elu``, ``selu``,
``relu6``, ``hardtanh``, ``logsigmoid``, ``softsign``, ``mish``.

Each is a composite of differentiable ops, so its gradient and double backward come from them.
PyTorch's ``inplace=`` is accepted where PyTorch has it, but the result is always a new tensor.
"""

from __future__ import annotations

from ..ops import elementwise as _ew
from ..ops import softplus, where
from ..tensor import Tensor

# SELU's constants (Klambauer et al., 2017), as PyTorch's
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, else ``alpha * (exp(x) - 1)``.

    Example:
        >>> F.elu(gg.tensor([-1.0, 2.0]))
        tensor([-0.6321,  2.0000])
    """
    # exp of the clamped input: exp(x) of a large positive x would overflow in the branch where() discards
    negative_side = (_ew.exp(_ew.clamp(input, max=0.0)) - 1.0) * alpha
    return where(input > 0, input, negative_side)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalising constants of SELU.

    Example:
        >>> F.selu(gg.tensor([1.0]))
        tensor([1.0507])
    """
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` clamped to ``[min_val, max_val]``.

    Example:
        >>> F.hardtanh(gg.tensor([-3.0, 0.5, 3.0]))
        tensor([-1.0000,  0.5000,  1.0000])
    """
    return _ew.clamp(input, min_val, max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``.

    Example:
        >>> F.relu6(gg.tensor([-1.0, 7.0]))
        tensor([0., 6.])
    """
    return hardtanh(input, 0.0, 6.0)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, without the overflow of computing the sigmoid first.

    Example:
        >>> F.logsigmoid(gg.tensor([0.0]))
        tensor([-0.6931])
    """
    return -softplus(-input)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``.

    Example:
        >>> F.softsign(gg.tensor([1.0]))
        tensor([0.5000])
    """
    return input / (_ew.abs(input) + 1.0)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``.

    Example:
        >>> F.mish(gg.tensor([1.0]))
        tensor([0.8651])
    """
    return input * _ew.tanh(softplus(input))
