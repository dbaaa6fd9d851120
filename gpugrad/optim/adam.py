"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

from ..tensor import Tensor
from .functional import run_update
from .optimizer import Optimizer, by_device, step_tensor, zeros_state


def check_adam_options(lr, betas, eps, weight_decay) -> None:
    """PyTorch's checks of the options the Adam family shares (Adam, AdamW, Adamax)."""
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    r"""Adam, PyTorch's update rule (Kingma & Ba, 2014), optionally AMSGrad.

    With gradient :math:`g_t` (negated when ``maximize``) and step count :math:`t`:

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1}
            \quad\text{(or } \theta_{t-1} \leftarrow \theta_{t-1}(1 - \text{lr}\,\lambda) \text{ when decoupled)} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \text{ (amsgrad) or } v_t \\
        \theta_t &= \theta_{t-1} - \frac{\text{lr}}{1 - \beta_1^t}\,
            \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    Args:
        params: tensors or param groups to optimize.
        lr: learning rate.
        betas: the averaging coefficients :math:`(\beta_1, \beta_2)` of the two moments.
        eps: added to the denominator for numerical stability.
        weight_decay: the decay :math:`\lambda` (an L2 penalty unless ``decoupled_weight_decay``).
        amsgrad: use the running maximum of the second moments (Reddi et al., 2018).
        maximize: ascend the objective instead of descending.
        decoupled_weight_decay: decay the weights directly, as AdamW does.
        capturable: keep the step count in a 0-d tensor on the parameter's device and compute
            the bias corrections from it with array ops (PyTorch's meaning). Nothing is read
            back to the host, so a step traced by ``gg.compile`` (or captured as a CUDA graph)
            follows the counter on every replay. Costs a few tiny array ops per parameter and
            step; on CUDA it also skips the fused multi-tensor kernel, which takes the step as
            a host number. Unlike PyTorch, also allowed on the CPU.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq`` and, with amsgrad,
    ``max_exp_avg_sq``. ``step`` is a Python int by default (PyTorch keeps a 0-d CPU tensor);
    ``gg.compile`` bakes it into a traced graph and re-traces when it changes, so a compiled
    training step with a non-capturable Adam re-traces on every call and, after ``max_traces``
    traces, runs eagerly with a warning. With ``capturable=True`` it is a 0-d tensor on the
    parameter's device, float32 unless the default dtype is float64 (PyTorch's choice),
    incremented in place.

    Example:
        >>> opt = gg.optim.Adam(model.parameters(), lr=1e-3, capturable=True)
        >>> @gg.compile
        ... def train_step():
        ...     loss = F.mse_loss(model(x), y)
        ...     opt.zero_grad(); loss.backward(); opt.step()
        ...     return loss
        >>> for _ in range(100):
        ...     train_step()  # traced once, replayed 98 times; state["step"] counts 100
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 amsgrad: bool = False, *, maximize: bool = False, capturable: bool = False,
                 decoupled_weight_decay: bool = False):
        check_adam_options(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, capturable=capturable, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update_group(self, group: dict, params: list) -> None:
        amsgrad, capturable = group["amsgrad"], group["capturable"]
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = step_tensor(p) if capturable else 0
                state["exp_avg"] = zeros_state(p)
                state["exp_avg_sq"] = zeros_state(p)
            if amsgrad and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = zeros_state(p)
            step = state["step"]
            if isinstance(step, Tensor) != capturable:  # capturable was switched in the group
                step = step_tensor(p, step) if capturable else int(step.item())
            state["step"] = step if capturable else step + 1
        if capturable:
            for batch in by_device(params):
                steps = [self.state[p]["step"].array for p in batch]
                xp = batch[0].device.xp
                for step in steps:
                    xp.add(step, 1, out=step)  # on the device, in place: a traced graph replays the increment
                self._update_batch(group, batch, steps)
            return
        # parameters that missed steps (no gradient) have other bias corrections: one call per step count
        for batch in by_device(params, key=lambda p: self.state[p]["step"]):
            self._update_batch(group, batch, self.state[batch[0]]["step"])

    def _update_batch(self, group: dict, batch: list, step) -> None:
        """Run the update on parameters of one device; ``step`` is an int or a list of 0-d step arrays."""
        amsgrad = group["amsgrad"]
        beta1, beta2 = group["betas"]
        states = [self.state[p] for p in batch]
        run_update(
            "adam", [p.array for p in batch], [p.grad.array for p in batch],
            [s["exp_avg"].array for s in states], [s["exp_avg_sq"].array for s in states],
            [s["max_exp_avg_sq"].array if amsgrad else None for s in states],
            step=step, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
            weight_decay=group["weight_decay"], decoupled=group["decoupled_weight_decay"], amsgrad=amsgrad,
            maximize=group["maximize"], xp=batch[0].device.xp,
        )

    def _update_reads_step(self, group: dict) -> bool:
        return not group["capturable"]


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), PyTorch's ``AdamW``.

    The weights shrink by ``lr * weight_decay`` of themselves each step, apart from the
    gradient's moments, instead of adding an L2 term to the gradient; see :class:`Adam`
    (``capturable`` included).

    Example:
        >>> opt = gg.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False, capturable: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, capturable=capturable, decoupled_weight_decay=True)
