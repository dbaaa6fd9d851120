"""Adagrad: per-coordinate learning rates that shrink with the accumulated squared gradients."""

from __future__ import annotations

from .functional import run_update
from .optimizer import Optimizer, by_device, zeros_state


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), PyTorch's update rule.

    With gradient :math:`g_t` (negated when ``maximize``) and step count :math:`t`:

    .. math::
        \tilde{\text{lr}} &= \text{lr} / (1 + (t - 1)\,\eta) \\
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        s_t &= s_{t-1} + g_t^2 \\
        \theta_t &= \theta_{t-1} - \tilde{\text{lr}}\, g_t / (\sqrt{s_t} + \epsilon)

    Args:
        params: tensors or param groups to optimize.
        lr: learning rate.
        lr_decay: the learning-rate decay :math:`\eta`.
        weight_decay: L2 penalty :math:`\lambda`.
        initial_accumulator_value: the starting value of every :math:`s`.
        eps: added to the denominator for numerical stability.
        maximize: ascend the objective instead of descending.

    State per parameter (created at construction, as PyTorch does): ``step`` (a Python int)
    and ``sum``. Under ``gg.compile`` the step count is baked into a traced graph only when
    ``lr_decay`` is non-zero (then a changed count re-traces, so a compiled step re-traces
    on every call and ends up eager); with ``lr_decay=0`` the update does not read it, the
    graph replays, and each replay advances ``state["step"]``.

    Example:
        >>> opt = gg.optim.Adagrad([w], lr=0.1, initial_accumulator_value=0.1)
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *, maximize: bool = False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(group, p)

    def _init_state(self, group: dict, p) -> None:
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["sum"] = zeros_state(p, fill=group["initial_accumulator_value"])

    def _update_group(self, group: dict, params: list) -> None:
        for p in params:
            self._init_state(group, p)  # parameters added later with add_param_group
            self.state[p]["step"] += 1
        for batch in by_device(params, key=lambda p: self.state[p]["step"]):
            states = [self.state[p] for p in batch]
            run_update(
                "adagrad", [p.array for p in batch], [p.grad.array for p in batch], [s["sum"].array for s in states],
                step=states[0]["step"], lr=group["lr"], lr_decay=group["lr_decay"],
                weight_decay=group["weight_decay"], eps=group["eps"], maximize=group["maximize"],
                xp=batch[0].device.xp,
            )

    def _update_reads_step(self, group: dict) -> bool:
        return group["lr_decay"] != 0
