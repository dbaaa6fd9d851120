"""Index-driven ops along one dimension: ``gather``, ``scatter``, ``scatter_add``; and ``masked_fill``.

``index`` names, for each of its elements, a position along ``dim``; every other
coordinate is the element's own. So gather reads ``out[i][j] = input[index[i][j]][j]``
(for ``dim=0``) and scatter writes ``out[index[i][j]][j] = src[i][j]``. The two are
each other's adjoint: gather's backward is a scatter-add into zeros, whose backward
is gather again, so both are twice differentiable.
"""

from __future__ import annotations

from .. import dtypes
from ..autograd.node import ArrayFunction
from ..backends import has_values
from ..tensor import Tensor, _wrap_dim
from .elementwise import _check_operand, where
from .shape import scatter_add as _scatter_add_array


def coordinates(xp, index, axis: int) -> tuple:
    """The full advanced index of ``index`` along ``axis``: ``index`` there, each element's own position elsewhere."""
    coords = []
    for d, size in enumerate(index.shape):
        if d == axis:
            coords.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = size
            coords.append(xp.arange(size).reshape(shape))
    return tuple(coords)


def _leading(array, shape):
    """The leading block of ``array`` with ``shape`` (PyTorch reads only index.shape of src)."""
    if tuple(array.shape) == tuple(shape):
        return array
    return array[tuple(slice(0, n) for n in shape)]


class Gather(ArrayFunction):
    """``x`` read at ``index`` along ``axis``; sort and topk are this op with indices they compute."""

    def __init__(self, axis, index, backward_name=None):
        self.axis, self.index = axis, index
        if backward_name:
            self.backward_name = backward_name

    def forward(self, x):
        self.in_shape = x.shape
        return x[coordinates(self.xp, self.index, self.axis)]

    def backward(self, gy):
        return ScatterAddToZeros(self.in_shape, self.axis, self.index)(gy)


class ScatterAddToZeros(ArrayFunction):
    """Zeros of ``shape`` with ``values`` added at ``index`` along ``axis`` (repeated positions add up)."""

    backward_name = "ScatterAddBackward0"

    def __init__(self, shape, axis, index):
        self.shape, self.axis, self.index = tuple(shape), axis, index

    def forward(self, values):
        out = self.xp.zeros(self.shape, dtype=values.dtype)
        _scatter_add_array(self.xp, out, coordinates(self.xp, self.index, self.axis), values)
        return out

    def backward(self, gy):
        return Gather(self.axis, self.index)(gy)


class Scatter(ArrayFunction):
    """``input`` with ``src`` (a tensor read over index's shape, or a number) written at ``index`` along ``axis``.

    ``reduce`` ("add"/"multiply") combines instead of overwriting; as in PyTorch, that form has no derivative.
    """

    def __init__(self, axis, index, reduce=None):
        self.axis, self.index, self.reduce = axis, index, reduce
        if reduce is not None:
            self.backward_name = "NotImplemented"

    def forward(self, x, src):
        xp = self.xp
        out = x.copy()
        positions = coordinates(xp, self.index, self.axis)
        self.src_shape = getattr(src, "shape", None)
        values = _leading(src, self.index.shape) if self.src_shape is not None else src
        if self.reduce is None:
            out[positions] = values
            return out
        values = xp.broadcast_to(xp.asarray(values, dtype=x.dtype), self.index.shape)
        if self.reduce == "add":
            _scatter_add_array(xp, out, positions, values)
        else:
            _scatter_multiply(xp, out, positions, values)
        return out

    def backward(self, gy):
        if self.reduce is not None:
            raise RuntimeError(f"derivative for scatter with reduce={self.reduce!r} is not implemented (as in PyTorch)")
        gx = Scatter(self.axis, self.index)(gy, 0.0) if self.needs_input_grad[0] else None
        gsrc = None
        if len(self.needs_input_grad) > 1 and self.needs_input_grad[1]:
            gsrc = _pad_to(Gather(self.axis, self.index)(gy), self.src_shape)
        return gx, gsrc


class ScatterAdd(ArrayFunction):
    def __init__(self, axis, index):
        self.axis, self.index = axis, index

    def forward(self, x, src):
        self.src_shape = src.shape
        out = x.copy()
        _scatter_add_array(self.xp, out, coordinates(self.xp, self.index, self.axis), _leading(src, self.index.shape))
        return out

    def backward(self, gy):
        gx = gy if self.needs_input_grad[0] else None
        gsrc = _pad_to(Gather(self.axis, self.index)(gy), self.src_shape) if self.needs_input_grad[1] else None
        return gx, gsrc


def _scatter_multiply(xp, out, positions, values) -> None:
    """``out[positions] *= values`` with repeated positions all multiplied in (NumPy's multiply.at; CuPy has none).

    Positions are grouped by sorting; round ``r`` applies the ``r``-th value of every group, so each round
    writes distinct positions and the rounds are as many as the most repeated position.
    """
    flat = xp.ravel_multi_index(tuple(xp.broadcast_to(c, values.shape).ravel() for c in positions), out.shape)
    order = xp.argsort(flat, kind="stable")
    flat, values = flat[order], values.ravel()[order]
    starts = xp.concatenate([xp.ones(1, dtype=bool), flat[1:] != flat[:-1]]) if flat.size else flat > 0
    group = xp.cumsum(starts) - 1
    rank = xp.arange(flat.size) - xp.flatnonzero(starts)[group]
    target = out.reshape(-1)  # a view: out is a fresh contiguous copy
    for r in range(int(rank.max()) + 1 if flat.size else 0):
        chosen = rank == r
        target[flat[chosen]] *= values[chosen]


def _pad_to(grad: Tensor, shape) -> Tensor:
    """``grad`` (index's shape) as the leading block of zeros of ``shape``: src elements past index get nothing."""
    if tuple(grad.shape) == tuple(shape):
        return grad
    from .shape import IndexAdd

    return IndexAdd(tuple(shape), tuple(slice(0, n) for n in grad.shape), True)(grad)


# ----------------------------------------------------------- argument checks
def _check_index(op: str, input: Tensor, dim: int, index, src_shape=None) -> int:
    """``dim`` wrapped, after checking ``index`` as PyTorch does (an integer tensor of input's ndim, same device)."""
    if not isinstance(input, Tensor) or not isinstance(index, Tensor):
        raise TypeError(f"{op}(): input and index must be Tensors, got {type(input).__name__} and "
                        f"{type(index).__name__}")
    if index.array.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {index.dtype}; convert it with .long()")
    if index.device is not input.device:
        raise RuntimeError(f"{op}(): index is on {index.device} but input is on {input.device}; move it with "
                           f".to('{input.device}')")
    axis = _wrap_dim(op, dim, input.array.ndim)
    if index.array.ndim != input.array.ndim and not (input.array.ndim <= 1 and index.array.ndim <= 1):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as input tensor "
                           f"(index shape {tuple(index.shape)}, input shape {tuple(input.shape)})")
    for d, n in enumerate(index.shape):
        if d != axis and input.array.ndim and n > input.array.shape[d]:
            raise RuntimeError(f"{op}(): Size does not match at dimension {d}: index has size {n}, larger than "
                               f"the input's {input.array.shape[d]} (input shape {tuple(input.shape)})")
        if src_shape is not None and len(src_shape) == index.array.ndim and n > src_shape[d]:
            raise RuntimeError(f"{op}(): Expected index {tuple(index.shape)} to be smaller than src "
                               f"{tuple(src_shape)} apart from dimension {dim}")
    if index.array.size and has_values(index.array):
        xp = input.device.xp
        size = input.array.shape[axis] if input.array.ndim else 1
        if bool(xp.any((index.array < 0) | (index.array >= size))):
            raise RuntimeError(f"{op}(): index out of bounds: every index must be in [0, {size}) for dimension "
                               f"{axis} of the input of shape {tuple(input.shape)}")
    return axis


def _as_1d(input: Tensor, index: Tensor) -> tuple:
    """A 0-d input or index as a 1-D one (PyTorch accepts 0-d ones); the caller restores the result's shape."""
    if input.array.ndim and index.array.ndim:
        return input, index
    return input.reshape(-1), index.reshape(-1)


# ----------------------------------------------------------- the ops
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:  # noqa: A002
    """Values of ``input`` at ``index`` along ``dim``: ``out[i][j] = input[index[i][j]][j]`` for ``dim=0``.

    ``index`` has input's number of dimensions and may be smaller than input in the others.
    ``sparse_grad`` is accepted for PyTorch's signature; the gradient is always dense.

    Example:
        >>> gg.gather(gg.tensor([[1., 2.], [3., 4.]]), 1, gg.tensor([[0, 0], [1, 0]]))
        tensor([[1., 1.],
                [4., 3.]])
    """
    axis = _check_index("gather", input, dim, index)
    flat_input, flat_index = _as_1d(input, index)
    return Gather(axis, flat_index.array)(flat_input).reshape(index.shape)


def scatter(input: Tensor, dim: int, index: Tensor, src=None, value=None, *, reduce=None) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``src`` written at ``index`` along ``dim``: ``out[index[i][j]][j] = src[i][j]``.

    ``src`` is a tensor (only its leading ``index.shape`` block is read) or a number (``value=`` also works).
    ``reduce="add"`` or ``"multiply"`` combines with what is there; as in PyTorch that form has no gradient.
    Where ``index`` repeats a position, which write wins is unspecified, as in PyTorch.

    Example:
        >>> gg.zeros(2, 3).scatter(1, gg.tensor([[2], [0]]), 1.0)
        tensor([[0., 0., 1.],
                [1., 0., 0.]])
    """
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter(): expected a src tensor or a value")
    if reduce not in (None, "add", "multiply"):
        raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got {reduce!r}")
    _check_operand("scatter", src)
    if isinstance(src, Tensor):
        _check_src("scatter", input, src)
        src = src.reshape(-1) if src.array.ndim == 0 else src
    axis = _check_index("scatter", input, dim, index, tuple(src.shape) if isinstance(src, Tensor) else None)
    flat_input, flat_index = _as_1d(input, index)
    return Scatter(axis, flat_index.array, reduce)(flat_input, src).reshape(input.shape)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim``; repeated positions add up.

    Example:
        >>> gg.zeros(3).scatter_add(0, gg.tensor([0, 2, 0]), gg.tensor([1., 2., 3.]))
        tensor([4., 0., 2.])
    """
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): src must be a Tensor, got {type(src).__name__}")
    _check_src("scatter_add", input, src)
    src = src.reshape(-1) if src.array.ndim == 0 else src
    axis = _check_index("scatter_add", input, dim, index, tuple(src.shape))
    flat_input, flat_index = _as_1d(input, index)
    return ScatterAdd(axis, flat_index.array)(flat_input, src).reshape(input.shape)


def _check_src(op: str, input: Tensor, src: Tensor) -> None:  # noqa: A002
    if src.device is not input.device:
        raise RuntimeError(f"{op}(): src is on {src.device} but input is on {input.device}; move it with "
                           f".to('{input.device}')")
    if src.array.ndim != input.array.ndim and not (src.array.ndim <= 1 and input.array.ndim <= 1):
        raise RuntimeError(f"{op}(): src must have the input's number of dimensions, got shapes "
                           f"{tuple(src.shape)} and {tuple(input.shape)}")
    if src.dtype != input.dtype:  # PyTorch casts neither way here
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype, got {input.dtype} and "
                           f"{src.dtype}; cast src first (src.to({input.dtype}))")


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``value`` (a number or a 0-d tensor) where the bool ``mask`` (broadcast) is true.

    Example:
        >>> gg.tensor([1., 2., 3.]).masked_fill(gg.tensor([True, False, True]), 0.0)
        tensor([0., 2., 0.])
    """
    if not isinstance(mask, Tensor) or mask.dtype.category != dtypes.BOOL:
        raise RuntimeError(f"masked_fill(): expected a bool Tensor mask, got "
                           f"{mask.dtype if isinstance(mask, Tensor) else type(mask).__name__}; compare first (x > 0)")
    if isinstance(value, Tensor):
        if value.array.ndim:
            raise RuntimeError(f"masked_fill(): only supports a 0-dimensional value tensor, got shape "
                               f"{tuple(value.shape)}")
        value = value.to(input.dtype)
    out = where(mask, value, input)
    if tuple(out.shape) != tuple(input.shape):
        raise RuntimeError(f"masked_fill(): mask of shape {tuple(mask.shape)} does not broadcast to the input's "
                           f"shape {tuple(input.shape)}")
    return out.to(input.dtype)
