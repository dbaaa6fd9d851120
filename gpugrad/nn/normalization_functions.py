"""``F.batch_norm``: normalise each channel by its batch statistics (training) or its running ones (eval).

Built from differentiable ops (mean, subtraction, rsqrt), so the gradient also
flows through the batch statistics, as in PyTorch.
"""

from __future__ import annotations

from ..autograd import no_grad
from ..ops import elementwise as _ew
from ..tensor import Tensor


def _channel_shape(input: Tensor) -> tuple:
    """(1, C, 1, ...): how a per-channel vector broadcasts against ``input``."""
    return (1, input.shape[1]) + (1,) * (input.ndim - 2)


def _update_running(running: Tensor, batch_value: Tensor, momentum: float) -> None:
    """``running = (1 - momentum) * running + momentum * batch_value``, in place and off the tape."""
    with no_grad():
        running.mul_(1.0 - momentum).add_(batch_value.detach().to(running.dtype) * momentum)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise over every dimension but the channels (dim 1), then scale by ``weight`` and shift by ``bias``.

    Training uses the batch's mean and biased variance and, when running
    statistics are given, moves them towards the batch's (the unbiased variance, as PyTorch):
    ``running = (1 - momentum) * running + momentum * batch``. Evaluation uses the running ones.

    Example:
        >>> x = gg.randn(8, 3)
        >>> F.batch_norm(x, gg.zeros(3), gg.ones(3), training=True).mean(0)   # about 0
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm(): expected an input of shape (N, C, ...), got {tuple(input.shape)}")
    shape = _channel_shape(input)
    channels = input.shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                        ("bias", bias)):
        if value is not None and value.numel() != channels:
            raise RuntimeError(f"batch_norm(): {name} has {value.numel()} elements but the input has "
                               f"{channels} channels (dim 1 of shape {tuple(input.shape)})")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("batch_norm(): running_mean and running_var must be given in evaluation mode "
                           "(training=False); pass training=True to normalise by the batch's statistics")
    if training:
        dims = (0,) + tuple(range(2, input.ndim))
        count = input.numel() // channels
        if count <= 1:
            raise ValueError(f"batch_norm(): expected more than 1 value per channel when training, got input "
                             f"of shape {tuple(input.shape)}")
        mean = input.mean(dim=dims, keepdim=True)
        centered = input - mean
        variance = (centered * centered).mean(dim=dims, keepdim=True)
        if running_mean is not None:
            _update_running(running_mean, mean.reshape(-1), momentum)
        if running_var is not None:
            _update_running(running_var, variance.reshape(-1) * (count / (count - 1)), momentum)
    else:
        centered = input - running_mean.reshape(shape)
        variance = running_var.reshape(shape)
    out = centered * _ew.rsqrt(variance + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out
