"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_``.

    >>> loss.backward()
    >>> total = gg.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    >>> optimizer.step()
"""

from __future__ import annotations

import math

from ..autograd.grad_mode import no_grad
from ..ops.elementwise import isfinite
from ..ops.reduction import amax, sum as _sum
from ..ops.shape import stack
from ..tensor import Tensor


def _gradients(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients in place so their combined norm is at most ``max_norm``.

    The norm is taken over all gradients together, as if concatenated into
    one vector; ``norm_type`` may be ``float("inf")`` (the largest absolute
    entry). Gradients are multiplied by ``min(1, max_norm / (total + 1e-6))``,
    without reading the norm back to the host, as PyTorch does.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` is clipped.
        max_norm: the largest allowed total norm.
        norm_type: the p of the p-norm (2 by default; ``inf`` allowed).
        error_if_nonfinite: raise if the total norm is NaN or infinite (a host sync).

    Returns:
        The total norm before clipping, a 0-d tensor on the gradients' device.
    """
    grads = _gradients(parameters)
    norm_type = float(norm_type)
    if not grads:
        from ..creation import tensor

        return tensor(0.0)
    with no_grad():
        device = grads[0].device
        if norm_type == math.inf:
            per_grad = [amax(g.abs()) for g in grads]
            total = amax(stack([n.to(device) for n in per_grad]))
        else:
            per_grad = [_sum(g.abs() ** norm_type) for g in grads]
            total = _sum(stack([n.to(device) for n in per_grad])) ** (1.0 / norm_type)
        if error_if_nonfinite and not bool(isfinite(total)):
            raise RuntimeError(
                f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
                "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
                "`error_if_nonfinite=False`"
            )
        scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.to(g.device, g.dtype))
    return total


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient entry to ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _gradients(parameters):
            g.clamp_(-clip_value, clip_value)
