"""Parameter: a Tensor that a Module registers as one of its learnable weights.

    >>> w = gg.nn.Parameter(gg.zeros(2))
    >>> w
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
"""

from __future__ import annotations

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and is registered when assigned to a Module attribute.

    It shares memory (and the version counter) with the tensor it wraps, as
    ``torch.nn.Parameter`` does. Results of ops on a Parameter are plain Tensors.

    Args:
        data: the initial values (a Tensor); None gives an empty float tensor.
        requires_grad: whether the parameter is trained (default True).

    Example:
        >>> layer_scale = gg.nn.Parameter(gg.ones(4) * 0.1)
        >>> layer_scale.is_leaf, layer_scale.requires_grad
        (True, True)
    """

    __slots__ = ()

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ..creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(
                f"Parameter(): expected a Tensor, got {type(data).__name__}; wrap values with gg.tensor(...) first"
            )
        self._take(data.detach())  # a leaf sharing data, even when ``data`` came out of an op
        self.requires_grad_(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        # pickle and deepcopy the values and the flag only: the graph bookkeeping (a weak reference to the
        # gradient accumulator, hooks) cannot be pickled, and a copy must not share it with the original
        return _rebuild_parameter, (self.detach(), self.requires_grad)


def _rebuild_parameter(data: Tensor, requires_grad: bool) -> Parameter:
    return Parameter(data, requires_grad)
