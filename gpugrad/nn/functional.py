"""gg.nn.functional: the stateless forms of the layers and losses (``import gpugrad.nn.functional as F``).

Everything here is built from differentiable gpugrad ops, so gradients (and
double backward) come from the primitives.

    >>> import gpugrad.nn.functional as F
    >>> logits = gg.randn(4, 3, requires_grad=True)
    >>> loss = F.cross_entropy(logits, gg.tensor([0, 2, 1, 2]))
    >>> loss.backward()
"""

from __future__ import annotations

import warnings

from .. import dtypes
from ..device import on_tensor_device
from ..creation import arange, bernoulli_mask
from ..ops import elementwise as _ew
from ..ops import linalg as _linalg
from ..ops import norms as _norms
from ..ops import reduction as _red
from ..ops import gelu, leaky_relu, relu, sigmoid, softplus, tanh, where  # with PyTorch's keywords (input=...)
from ..tensor import Tensor
from .conv_functions import (
    adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d, avg_pool2d, conv1d, conv2d, fold, max_pool1d, max_pool2d,
    unfold,
)
from .loss_functions import (
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss, kl_div, l1_loss, mse_loss,
    nll_loss, smooth_l1_loss,
)
from .activation_functions import elu, hardtanh, logsigmoid, mish, relu6, selu, softsign
from .distance import cosine_similarity, pairwise_distance
from .normalization_functions import batch_norm
from .padding import pad

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "conv1d", "conv2d", "cosine_similarity", "cross_entropy", "dropout",
    "dropout2d", "elu", "embedding", "fold", "gelu", "hardtanh", "huber_loss", "kl_div", "l1_loss", "layer_norm",
    "leaky_relu", "linear", "log_softmax", "logsigmoid", "max_pool1d", "max_pool2d", "mish", "mse_loss", "nll_loss",
    "normalize", "one_hot", "pad", "pairwise_distance", "relu", "relu6", "selu", "sigmoid", "silu",
    "smooth_l1_loss", "softmax", "softplus", "softsign", "tanh", "unfold",
]


# ----------------------------------------------------------- activations
def silu(input: Tensor) -> Tensor:
    """``x * sigmoid(x)`` (also called swish)."""
    return input * sigmoid(input)


def _softmax_dim(name: str, ndim: int) -> int:
    """PyTorch's legacy choice when ``dim`` is not given: 0 for 0-, 1- and 3-d inputs, else 1."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """``exp(x) / exp(x).sum(dim)``; pass ``dim`` (without it PyTorch's legacy rule picks one, with a warning)."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    return _red.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """``log(softmax(x, dim))``, computed stably."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    return _red.log_softmax(input, dim, dtype=dtype)


# ----------------------------------------------------------- layers
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` with ``weight`` of shape (out_features, in_features).

    Example:
        >>> F.linear(gg.randn(8, 3), gg.randn(2, 3), gg.zeros(2)).shape
        (8, 2)
    """
    if weight.ndim != 2:
        raise RuntimeError(f"linear(): weight must be 2-D (out_features, in_features), got shape {tuple(weight.shape)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise RuntimeError(
            f"linear(): input of shape {tuple(input.shape)} does not match weight of shape {tuple(weight.shape)}: "
            f"the input's last dimension must be in_features={weight.shape[1]}"
        )
    return _linalg.linear(input, weight, bias)


@on_tensor_device
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``; the identity unless training.

    The mask comes from the device's seeded generator (``gg.manual_seed``).
    Unlike PyTorch, ``inplace=True`` still returns a new tensor (same values
    and gradient), leaving ``input`` untouched.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    mask = bernoulli_mask(input.shape, 1.0 - p, like=input)
    mask *= 1.0 / (1.0 - p)
    return input * Tensor._make(mask, input.device)


def layer_norm(
    input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dimensions to mean 0 and variance 1, then scale and shift.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, with the biased variance, as PyTorch.
    """
    normalized_shape = _as_shape(normalized_shape)
    k = len(normalized_shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise RuntimeError(
            f"layer_norm(): given normalized_shape={list(normalized_shape)}, expected input with shape "
            f"[*, {', '.join(map(str, normalized_shape))}], but got input of size {list(input.shape)}"
        )
    dims = tuple(range(input.ndim - k, input.ndim))
    centered = input - input.mean(dim=dims, keepdim=True)
    variance = (centered * centered).mean(dim=dims, keepdim=True)
    out = centered * _ew.rsqrt(variance + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


@on_tensor_device
def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels (``input[n, c]`` of an ``(N, C, H, W)`` or ``(C, H, W)`` input) with probability ``p``
    and scale the rest by ``1 / (1 - p)``; the identity unless training.

    Example:
        >>> F.dropout2d(gg.ones(2, 3, 4, 4), 0.5).shape
        (2, 3, 4, 4)
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"dropout2d(): expected a (N, C, H, W) or (C, H, W) input, got {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    channels = tuple(input.shape[:-2]) + (1, 1)  # one draw per channel, broadcast over its plane
    mask = bernoulli_mask(channels, 1.0 - p, like=input)
    if p < 1.0:
        mask *= 1.0 / (1.0 - p)
    return input * Tensor._make(mask, input.device)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``: unit vectors, as ``torch.nn.functional.normalize``.

    Example:
        >>> F.normalize(gg.tensor([[3.0, 4.0]]))
        tensor([[0.6, 0.8]])
    """
    norm = _norms.vector_norm(input, p, dim, keepdim=True)
    return input / _ew.clamp(norm, min=eps).expand_as(input)


def _as_shape(shape) -> tuple:
    return (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)


@on_tensor_device
def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``: the result has shape ``input.shape + (dim,)``.

    The gradient scatter-adds into the picked rows; positions whose index is
    ``padding_idx`` send no gradient to ``weight``.

    Example:
        >>> F.embedding(gg.tensor([[0, 2], [1, 0]]), gg.randn(3, 4)).shape
        (2, 2, 4)
    """
    if not isinstance(input, Tensor) or input.dtype.category != dtypes.INT:
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise TypeError(f"embedding(): expected indices as an integer Tensor (e.g. int64), got {got}")
    if weight.ndim != 2:
        raise RuntimeError(
            f"embedding(): weight must be 2-D (num_embeddings, embedding_dim), got {tuple(weight.shape)}"
        )
    num = weight.shape[0]
    xp = input.device.xp
    if input.numel() and bool(xp.any((input.array < 0) | (input.array >= num))):
        bad = input.array[(input.array < 0) | (input.array >= num)].ravel()[0].item()
        raise IndexError(
            f"embedding(): index {bad} is out of range for a weight of {num} rows (shape {tuple(weight.shape)}); "
            f"indices must be in [0, {num})"
        )
    rows = weight[input]
    if padding_idx is None:
        return rows
    if padding_idx < 0:
        padding_idx += num
    is_padding = Tensor._make(xp.expand_dims(input.array == padding_idx, -1), input.device)
    return where(is_padding, rows.detach(), rows)  # same values; padding positions cut from the graph


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Integer class indices to an int64 one-hot tensor with a new last dimension of ``num_classes``.

    ``num_classes=-1`` uses ``max(tensor) + 1``. Not differentiable (its output is integer).
    """
    if tensor.dtype.category != dtypes.INT:
        raise RuntimeError(f"one_hot is only applicable to index tensor (an integer dtype), got {tensor.dtype}")
    data = tensor.array
    if num_classes == -1:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and (int(data.min()) < 0 or int(data.max()) >= num_classes):
        raise RuntimeError(
            f"one_hot(): class values must be in [0, {num_classes}), got values in "
            f"[{int(data.min())}, {int(data.max())}]"
        )
    classes = arange(num_classes, device=tensor.device).array
    return Tensor._make((data[..., None] == classes).astype(dtypes.int64.np), tensor.device)


# Functions here may call the array module directly (masks, index checks): each runs with its first
# tensor's CUDA device current, as gg.<op> does (gpugrad.ops), whichever module defines it.
for _name in __all__:
    _fn = globals()[_name]
    if callable(_fn) and not isinstance(_fn, type) and not hasattr(_fn, "__wrapped__"):
        globals()[_name] = on_tensor_device(_fn)
