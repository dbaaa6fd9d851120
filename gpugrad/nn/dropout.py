"""Dropout and Dropout2d."""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module


class Dropout(Module):
    """In training mode, zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    The identity after ``eval()``. Masks come from the seeded generator
    (``gg.manual_seed``), so runs repeat. ``inplace=True`` is accepted but the
    input is left untouched (see ``F.dropout``).

    Example:
        >>> drop = gg.nn.Dropout(0.1)
        >>> drop.eval()(x) is x
        True
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """In training mode, zero whole channels with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Example:
        >>> gg.nn.Dropout2d(0.2)(gg.ones(2, 3, 4, 4)).shape
        (2, 3, 4, 4)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training)
