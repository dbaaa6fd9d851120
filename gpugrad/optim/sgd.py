"""SGD: stochastic gradient descent with optional momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from .functional import run_update
from .optimizer import Optimizer, by_device, zeros_state


class SGD(Optimizer):
    r"""Stochastic gradient descent, PyTorch's update rule.

    With gradient :math:`g_t` (negated when ``maximize``), weight decay
    :math:`\lambda`, momentum :math:`\mu` and dampening :math:`\tau`:

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        b_t &= g_t \text{ at the first step, else } \mu b_{t-1} + (1 - \tau) g_t \\
        g_t &\leftarrow g_t + \mu b_t \text{ (nesterov) or } b_t \\
        \theta_t &= \theta_{t-1} - \text{lr} \cdot g_t

    Args:
        params: tensors or param groups to optimize.
        lr: learning rate (PyTorch's default, 1e-3).
        momentum: momentum factor :math:`\mu` (0 disables the buffer).
        dampening: dampening :math:`\tau` for the momentum.
        weight_decay: L2 penalty :math:`\lambda`.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: ascend the objective instead of descending.

    State per parameter: ``momentum_buffer`` (only when momentum is non-zero).

    Example:
        >>> opt = gg.optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True)
        >>> loss = (w ** 2).sum(); loss.backward(); opt.step()
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _update_group(self, group: dict, params: list) -> None:
        uses_buffer = group["momentum"] != 0

        def is_fresh(p):  # a parameter whose momentum buffer has never been written
            return uses_buffer and self.state.get(p, {}).get("momentum_buffer") is None

        for batch in by_device(params, key=is_fresh):
            first_step = is_fresh(batch[0])
            if first_step:
                for p in batch:
                    self.state[p]["momentum_buffer"] = zeros_state(p)
            buffers = [self.state[p]["momentum_buffer"].array if uses_buffer else None for p in batch]
            run_update(
                "sgd", [p.array for p in batch], [p.grad.array for p in batch], buffers,
                lr=group["lr"], momentum=group["momentum"], dampening=group["dampening"],
                nesterov=group["nesterov"], weight_decay=group["weight_decay"], maximize=group["maximize"],
                first_step=first_step, xp=batch[0].device.xp,
            )
