"""gg.optim: optimizers and learning-rate schedulers with PyTorch's names, options and update rules.

    >>> import gpugrad as gg
    >>> w = gg.randn(3, requires_grad=True)
    >>> opt = gg.optim.Adam([w], lr=0.1)
    >>> sched = gg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    >>> for _ in range(100):
    ...     opt.zero_grad()
    ...     ((w - 1) ** 2).sum().backward()
    ...     opt.step()
    ...     sched.step()

The update math of each optimizer lives in :mod:`gpugrad.optim.functional`,
on raw arrays, so a fused GPU kernel can replace it without touching the classes.
"""

from . import functional, lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .optimizer import Optimizer, required
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Optimizer", "RMSprop", "SGD", "functional", "lr_scheduler",
    "required",
]
