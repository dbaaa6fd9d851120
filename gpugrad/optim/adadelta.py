"""Adadelta: per-coordinate steps from running averages of squared gradients and squared steps."""

from __future__ import annotations

from .functional import run_update
from .optimizer import Optimizer, by_device, zeros_state


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), PyTorch's update rule.

    With gradient :math:`g_t` (negated when ``maximize``, plus :math:`\lambda \theta_{t-1}`):

    .. math::
        v_t &= \rho v_{t-1} + (1 - \rho) g_t^2 \\
        \Delta_t &= \sqrt{u_{t-1} + \epsilon} / \sqrt{v_t + \epsilon} \; g_t \\
        u_t &= \rho u_{t-1} + (1 - \rho) \Delta_t^2 \\
        \theta_t &= \theta_{t-1} - \text{lr}\, \Delta_t

    Args:
        params: tensors or param groups to optimize.
        lr: scales the step (1.0, the paper's rule, by default).
        rho: the decay of both running averages.
        eps: added inside the square roots.
        weight_decay: L2 penalty :math:`\lambda`.
        maximize: ascend the objective instead of descending.

    State per parameter: ``step`` (a Python int that only counts: the update does not read it, so a
    step compiled with ``gg.compile`` replays), ``square_avg`` and ``acc_delta``.

    Example:
        >>> opt = gg.optim.Adadelta(model.parameters())
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 *, maximize: bool = False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _update_group(self, group: dict, params: list) -> None:
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = zeros_state(p)
                state["acc_delta"] = zeros_state(p)
            state["step"] += 1
        for batch in by_device(params):
            states = [self.state[p] for p in batch]
            run_update(
                "adadelta", [p.array for p in batch], [p.grad.array for p in batch],
                [s["square_avg"].array for s in states], [s["acc_delta"].array for s in states],
                lr=group["lr"], rho=group["rho"], eps=group["eps"], weight_decay=group["weight_decay"],
                maximize=group["maximize"], xp=batch[0].device.xp,
            )
