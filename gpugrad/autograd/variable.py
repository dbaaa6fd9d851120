"""``gg.autograd.Variable``: PyTorch's deprecated wrapper, kept so old scripts run.

Since PyTorch 0.4, Variables and Tensors are one thing; ``Variable(t)``
returns a tensor sharing ``t``'s memory, outside the graph, with the
``requires_grad`` asked for, and ``isinstance(t, Variable)`` is true for
every tensor. New code uses tensors directly (``t.requires_grad_()``).
"""

from __future__ import annotations

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        from ..tensor import Tensor  # late: the autograd package is imported before tensor.py

        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """Deprecated: ``Variable(t, requires_grad=False)`` is a tensor sharing ``t``'s data; use tensors directly.

    Example:
        >>> w = Variable(gg.zeros(3), requires_grad=True)   # the same as gg.zeros(3).requires_grad_()
    """

    def __new__(cls, data=None, requires_grad: bool = False, volatile: bool = False):
        from ..tensor import Tensor

        if data is None:
            from ..creation import empty

            return empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}; "
                            "wrap it first with gg.tensor(...)")
        out = data.detach()
        return out.requires_grad_(True) if requires_grad else out
