"""RMSprop: divide the gradient by a running root mean square of recent gradients."""

from __future__ import annotations

from .functional import run_update
from .optimizer import Optimizer, by_device, zeros_state


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), PyTorch's update rule.

    With gradient :math:`g_t` (negated when ``maximize``):

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        v_t &= \alpha v_{t-1} + (1 - \alpha) g_t^2 \\
        \bar g_t &= \alpha \bar g_{t-1} + (1 - \alpha) g_t, \quad
            d_t = \sqrt{v_t - \bar g_t^2} + \epsilon \text{ (centered) or } \sqrt{v_t} + \epsilon \\
        b_t &= \mu b_{t-1} + g_t / d_t, \quad \theta_t = \theta_{t-1} - \text{lr}\, b_t
            \text{ (momentum } \mu > 0 \text{) or } \theta_t = \theta_{t-1} - \text{lr}\, g_t / d_t

    Args:
        params: tensors or param groups to optimize.
        lr: learning rate.
        alpha: smoothing constant of the running averages.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty :math:`\lambda`.
        momentum: momentum factor :math:`\mu`.
        centered: normalise by an estimate of the gradient's variance instead of its second moment.
        maximize: ascend the objective instead of descending.

    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (momentum > 0) and
    ``grad_avg`` (centered). ``step`` (a Python int) only counts: the update does not read
    it, so a step compiled with ``gg.compile`` replays, and each replay advances it.

    Example:
        >>> opt = gg.optim.RMSprop([w], lr=1e-2, momentum=0.9, centered=True)
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, *, maximize: bool = False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _update_group(self, group: dict, params: list) -> None:
        momentum, centered = group["momentum"], group["centered"]
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = zeros_state(p)
            if momentum > 0 and "momentum_buffer" not in state:
                state["momentum_buffer"] = zeros_state(p)
            if centered and "grad_avg" not in state:
                state["grad_avg"] = zeros_state(p)
            state["step"] += 1
        for batch in by_device(params):
            states = [self.state[p] for p in batch]
            run_update(
                "rmsprop", [p.array for p in batch], [p.grad.array for p in batch],
                [s["square_avg"].array for s in states],
                [s["grad_avg"].array if centered else None for s in states],
                [s["momentum_buffer"].array if momentum > 0 else None for s in states],
                lr=group["lr"], alpha=group["alpha"], eps=group["eps"], weight_decay=group["weight_decay"],
                momentum=momentum, centered=centered, maximize=group["maximize"], xp=batch[0].device.xp,
            )
