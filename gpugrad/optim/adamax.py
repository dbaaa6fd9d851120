"""Adamax: Adam with the infinity norm of past gradients in place of the second moment."""

from __future__ import annotations

from .adam import check_adam_options
from .functional import run_update
from .optimizer import Optimizer, by_device, zeros_state


class Adamax(Optimizer):
    r"""Adamax (Kingma and Ba, 2015, section 7), PyTorch's update rule.

    With gradient :math:`g_t` (negated when ``maximize``, plus :math:`\lambda \theta_{t-1}`):

    .. math::
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        u_t &= \max(\beta_2 u_{t-1}, |g_t| + \epsilon) \\
        \theta_t &= \theta_{t-1} - \frac{\text{lr}}{1 - \beta_1^t} \frac{m_t}{u_t}

    Args:
        params: tensors or param groups to optimize.
        lr: learning rate.
        betas: :math:`(\beta_1, \beta_2)`.
        eps: added to :math:`|g_t|` so :math:`u_t` is never 0.
        weight_decay: L2 penalty :math:`\lambda`.
        maximize: ascend the objective instead of descending.

    State per parameter: ``step`` (a Python int), ``exp_avg`` and ``exp_inf``. The bias correction reads
    ``step``, so under ``gg.compile`` a changed count re-traces (a compiled step ends up eager).

    Example:
        >>> opt = gg.optim.Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 *, maximize: bool = False):
        check_adam_options(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _update_group(self, group: dict, params: list) -> None:
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = zeros_state(p)
                state["exp_inf"] = zeros_state(p)
            state["step"] += 1
        beta1, beta2 = group["betas"]
        for batch in by_device(params, key=lambda p: self.state[p]["step"]):
            states = [self.state[p] for p in batch]
            run_update(
                "adamax", [p.array for p in batch], [p.grad.array for p in batch],
                [s["exp_avg"].array for s in states], [s["exp_inf"].array for s in states],
                step=states[0]["step"], lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                weight_decay=group["weight_decay"], maximize=group["maximize"], xp=batch[0].device.xp,
            )

    def _update_reads_step(self, group: dict) -> bool:
        return True
