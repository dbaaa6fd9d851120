"""Tensor: an array on a device, plus what autograd needs to differentiate it.

    >>> import gpugrad as gg
    >>> x = gg.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y
    tensor(5., grad_fn=<SumBackward0>)
    >>> y.backward()
    >>> x.grad
    tensor([2., 4.])

The math methods (``x.sin()``, ``x + y``, ``x[0]``, ...) are installed by
``gpugrad.ops``; this module holds state, conversion and the autograd entry
points.
"""

from __future__ import annotations

import operator

import numpy as np

from . import dtypes
from .autograd import engine as _engine, function as _custom_function, node as _node
from .backends import cupy, is_cupy_array, to_host
from .device import Device, get_default_device, resolve as to_device


class Tensor:
    """A multi-dimensional array on a device that can record the ops applied to it.

    Attributes:
        array: the NumPy (cpu) or CuPy (cuda) array holding the values.
        data: the values as a Tensor outside the graph sharing memory (PyTorch's ``.data``).
        device: the :class:`~gpugrad.device.Device` the data lives on.
        requires_grad: whether ops on this tensor are recorded for backward.
        grad: the accumulated gradient (a Tensor) of a leaf, or None.
        grad_fn: the node that produced this tensor, None for leaves.
    """

    __slots__ = (
        "array", "device", "_requires_grad", "_grad", "grad_fn", "name",
        "_version", "_accumulator", "_hooks", "_retains_grad", "_base", "__weakref__",
    )
    __array_priority__ = 1000  # numpy_scalar * tensor defers to Tensor.__rmul__

    def __init__(self, data, dtype=None, device=None, requires_grad: bool = False):
        self._take(tensor(data, dtype=dtype, device=device, requires_grad=requires_grad))

    def _take(self, other: "Tensor") -> None:
        """Become ``other`` (used by constructors such as ``Parameter``)."""
        for slot in Tensor.__slots__[:-1]:
            setattr(self, slot, getattr(other, slot))

    @staticmethod
    def _make(data, device: Device, requires_grad: bool = False) -> "Tensor":
        """Wrap an array already on ``device`` without copying or checking (the ops' fast path)."""
        t = object.__new__(Tensor)
        t.array = data
        t.device = device
        t._requires_grad = requires_grad
        t._grad = None
        t.grad_fn = None
        t.name = None
        t._version = [0]  # a box, shared with views, so in-place changes show through them
        t._accumulator = None
        t._hooks = None
        t._retains_grad = False
        t._base = None  # the tensor this one is a view of (set by view ops)
        return t

    # ----------------------------------------------------------------- attributes
    @property
    def shape(self) -> tuple:
        return self.array.shape

    @property
    def dtype(self) -> dtypes.dtype:
        return dtypes.from_numpy_dtype(self.array.dtype)

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op (user-created, or results with no grad)."""
        return self.grad_fn is None

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def _version_number(self) -> int:
        return self._version[0]

    def dim(self) -> int:
        return self.array.ndim

    def size(self, dim: int | None = None):
        """The shape, or the length of dimension ``dim``."""
        if dim is None:
            return self.array.shape
        return self.array.shape[_wrap_dim("size", dim, self.array.ndim)]

    def numel(self) -> int:
        return int(self.array.size)

    def element_size(self) -> int:
        return self.array.dtype.itemsize

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        if self.array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.array.shape[0]))

    __hash__ = object.__hash__  # == is elementwise, so hash by identity as PyTorch does

    # ----------------------------------------------------------- requires_grad
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place on a leaf; returns self."""
        if requires_grad and not self.is_leaf:
            return self
        self.requires_grad = requires_grad
        return self

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, requires_grad: bool) -> None:
        """``t.requires_grad = flag``, refused where PyTorch refuses it (integer tensors; False on a non-leaf)."""
        if requires_grad and not dtypes.from_numpy_dtype(self.array.dtype).is_floating_point:
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, got {self.dtype}; "
                "convert first with .to(gg.float32)"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        self._requires_grad = bool(requires_grad)

    @property
    def grad(self):
        """The gradient accumulated by backward (a Tensor of this tensor's shape, dtype and device) or None.

        Assigning checks what PyTorch checks: a Tensor (or None) of the same shape, dtype and device.

        Example:
            >>> w.grad = gg.zeros_like(w)
        """
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            _check_assigned_grad(self, value)
        self._grad = value

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data (and version counter), outside the graph."""
        out = Tensor._make(self.array, self.device)
        out._version = self._version
        return out

    @property
    def data(self) -> "Tensor":
        """This tensor's values as a new tensor outside the graph, sharing memory, as in PyTorch.

        Unlike :meth:`detach`, in-place changes through ``.data`` are hidden from autograd's
        version check (PyTorch's ``.data`` does the same), which is what manual updates such as
        ``p.data -= lr * p.grad.data`` rely on. The raw NumPy/CuPy array is ``t.array``.

        Example:
            >>> w = gg.ones(2, requires_grad=True)
            >>> w.data.add_(1)          # w is now [2., 2.], no graph recorded
            >>> w.data = gg.zeros(2)    # replace the values (shape and dtype may change)
        """
        return Tensor._make(self.array, self.device)

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(
                f"Tensor.data: expected a Tensor to assign, got {type(value).__name__}; "
                "wrap it first with gg.tensor(value, device=...)"
            )
        if self.requires_grad and value.array.dtype.kind != "f":
            raise RuntimeError(
                f"data set to a tensor that requires gradients must be floating point or complex dtype, "
                f"got {value.dtype}; convert it first (.to({self.dtype}))"
            )
        self.array = value.array
        self.device = value.device

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retains_grad:
            return
        self._retains_grad = True
        node = self.grad_fn
        if node._retained is None:
            node._retained = []
        node._retained.append(_weakref(self))

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it.

        Example:
            >>> h = x.register_hook(lambda g: g * 2)   # doubles the gradient reaching x
            >>> h.remove()
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn.register_prehook(hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _node._RemovableHandle(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` each time a backward pass has accumulated into this leaf's ``.grad``.

        The hook sees the updated ``.grad`` and returns nothing; it does not run for
        ``gg.autograd.grad``, which accumulates nothing. DistributedDataParallel uses it
        to reduce a gradient as soon as it is final.

        Example:
            >>> h = w.register_post_accumulate_grad_hook(lambda p: print(p.grad))
            >>> h.remove()
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors; use register_hook for "
                "the gradient flowing through this tensor"
            )
        return _node.accumulator_of(self).register_post_hook(hook)

    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``; see ``gpugrad.autograd.backward``."""
        _engine.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    # ------------------------------------------------------------- conversion
    def item(self):
        """The value of a one-element tensor as a Python number (a device sync on GPU)."""
        if self.array.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.array.size} elements cannot be converted to Scalar; "
                "item() needs exactly one element (index or reduce first)"
            )
        return to_host(self.array).item()

    def tolist(self):
        return to_host(self.array).tolist()

    def numpy(self) -> np.ndarray:
        """The NumPy array behind a CPU tensor (shared memory, no copy)."""
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self.device.type != "cpu":
            raise TypeError(
                f"can't convert {self.device} device type tensor to numpy. "
                "Use Tensor.cpu() to copy the tensor to host memory first."
            )
        array = self.array
        if not isinstance(array, np.ndarray):  # a traced value (gg.compile / gg.Graph): reading it raises, as .item()
            array = np.asarray(array)
        return array

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype, copy=False)

    def __format__(self, format_spec: str) -> str:
        """``f"{loss:+.2f}"``: a 0-d tensor formats as its Python number, as in PyTorch.

        Other tensors take only the empty spec (their repr); a one-element 1-d tensor
        raises TypeError as in PyTorch: index it (``t[0]``) or call ``.item()``.
        """
        if self.array.ndim == 0:
            return self.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if dtypes.from_numpy_dtype(self.array.dtype).category != dtypes.INT:
            raise TypeError(f"only integer tensors of a single element can be converted to an index, got {self.dtype}")
        return int(self.item())

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self.array.size} values is ambiguous; use .any() or .all()"
            )
        return bool(self.item())

    def to(self, *args, **kwargs) -> "Tensor":
        """Move and/or cast: ``t.to("cuda")``, ``t.to(gg.float64)``, ``t.to("cpu", gg.float16)``, ``t.to(other)``.

        Returns self when nothing changes, else a new tensor; gradients flow back
        through the move or cast to the original device and dtype.
        """
        target_device, target_dtype = _parse_to_args(args, kwargs)
        from .ops.elementwise import to_copy

        same_device = target_device is None or target_device is self.device
        same_dtype = target_dtype is None or target_dtype.np == self.array.dtype
        if same_device and same_dtype:
            return self
        return to_copy(self, target_device or self.device, target_dtype or self.dtype)

    def cpu(self) -> "Tensor":
        return self.to(to_device("cpu"))

    def cuda(self, device=None) -> "Tensor":
        return self.to(to_device("cuda" if device is None else device))

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    def double(self) -> "Tensor":
        return self.to(dtypes.float64)

    def float(self) -> "Tensor":
        return self.to(dtypes.float32)

    def half(self) -> "Tensor":
        return self.to(dtypes.float16)

    def long(self) -> "Tensor":
        return self.to(dtypes.int64)

    def int(self) -> "Tensor":
        return self.to(dtypes.int32)

    def bool(self) -> "Tensor":
        return self.to(dtypes.bool_)

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    # ---------------------------------------------------------- copy & pickle
    def __deepcopy__(self, memo) -> "Tensor":
        """A new leaf with copied data, ``requires_grad`` and ``.grad``; only leaves, as in PyTorch."""
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol; "
                "deepcopy t.detach() instead"
            )
        import copy

        out = object.__new__(type(self))  # keeps subclasses such as Parameter
        out._take(Tensor._make(self.array.copy(), self.device, self.requires_grad))
        out.name = self.name
        out.grad = copy.deepcopy(self.grad, memo)
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, protocol):
        """Pickle as (host data, device name, requires_grad, grad); the graph is not pickled."""
        return (_rebuild_tensor, (to_host(self.array), str(self.device), self.requires_grad, self.grad))

    # ------------------------------------------------------------------ repr
    def __repr__(self) -> str:
        body = np.array2string(
            to_host(self.array), separator=", ", prefix="tensor(", threshold=1000, edgeitems=3, precision=4
        )
        extras = []
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        dt = self.dtype
        if dt not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool_) or self.array.size == 0:
            extras.append(f"dtype={dt}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"


def shape_tuple(op: str, sizes) -> tuple:
    """``sizes`` as a tuple of Python ints; a float (2.5, or even 2.0) raises a TypeError, as in PyTorch.

    Ints, NumPy integers, bools and one-element integer tensors are sizes (``operator.index`` accepts them).
    """
    result = []
    for position, size in enumerate(sizes):
        try:
            result.append(operator.index(size))
        except TypeError:
            raise TypeError(
                f"{op}(): argument 'size' must be a tuple of ints, but found element of type "
                f"{type(size).__name__} at pos {position}"
            ) from None
    return tuple(result)


def _check_assigned_grad(t: Tensor, grad) -> None:
    if not isinstance(grad, Tensor):
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {type(grad).__name__}")
    if grad.shape != t.shape:
        raise RuntimeError(
            f"attempting to assign a gradient of size {list(grad.shape)} to a tensor of size {list(t.shape)}. "
            "Please ensure that the gradient and the tensor are the same size"
        )
    if grad.array.dtype != t.array.dtype:
        raise RuntimeError(
            f"attempting to assign a gradient with dtype {grad.dtype} to a tensor with dtype {t.dtype}; "
            f"convert it first with .to({t.dtype})"
        )
    if grad.device is not t.device:
        raise RuntimeError(
            f"attempting to assign a gradient on {grad.device} to a tensor on {t.device}; move it with .to('{t.device}')"
        )


def _rebuild_tensor(array, device_name: str, requires_grad: bool, grad) -> "Tensor":
    t = Tensor._make(to_device(device_name).put(array), to_device(device_name), requires_grad)
    t.grad = grad
    return t


def _weakref(obj):
    import weakref

    return weakref.ref(obj)


def _parse_to_args(args, kwargs):
    """Split ``.to()``'s PyTorch-style arguments into (device or None, dtype or None)."""
    target_device = kwargs.pop("device", None)
    target_dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("copy", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, Tensor):
            target_device, target_dtype = arg.device, arg.dtype
        elif isinstance(arg, (Device, str)) and not (isinstance(arg, str) and arg in dtypes._BY_NAME):
            target_device = arg
        elif isinstance(arg, int) and not isinstance(arg, bool):
            target_device = arg
        else:
            target_dtype = arg
    return (
        None if target_device is None else to_device(target_device),
        None if target_dtype is None else dtypes.to_dtype(target_dtype),
    )


def _wrap_dim(op: str, dim: int, ndim: int) -> int:
    """A dimension index in range(ndim) (negative dims count from the end), or a clear IndexError."""
    limit = max(ndim, 1)
    if not -limit <= dim < limit:
        raise IndexError(
            f"{op}(): dimension out of range (expected to be in range of [{-limit}, {limit - 1}], but got {dim})"
        )
    return dim % limit


def check_same_device(function, inputs) -> Device:
    """The device shared by the tensors among ``inputs``; an error naming both and the fix otherwise."""
    found = None
    for x in inputs:
        if isinstance(x, Tensor):
            if found is None:
                found = x.device
            elif x.device is not found:
                name = getattr(function, "__name__", None) or type(function).__name__.lower()
                raise RuntimeError(
                    f"{name}(): expected all tensors to be on the same device, but found at least two "
                    f"devices, {found} and {x.device}. Move one with .to('{found}') or .to('{x.device}'); "
                    "gpugrad never moves data between devices implicitly."
                )
    if found is None:
        name = getattr(function, "__name__", None) or type(function).__name__.lower()
        raise TypeError(f"{name}(): needs at least one Tensor argument")
    return found


_node.Tensor = Tensor
_node.check_same_device = check_same_device
_custom_function.Tensor = Tensor


# ------------------------------------------------------------------ creation
def _as_array(data, dtype, device: Device):
    """An array of ``data`` on ``device``, typed as ``torch.tensor`` would type it."""
    given_array = isinstance(data, np.ndarray) or is_cupy_array(data)
    if given_array:
        array = data
        np_dtype = dtypes.to_dtype(dtype).np if dtype is not None else dtypes.from_numpy_dtype(array.dtype).np
    else:
        values, inferred = _unwrap_nested(data)
        array = np.asarray(values)
        np_dtype = dtypes.to_dtype(dtype).np if dtype is not None else _python_data_dtype(array, inferred)
        _check_fits(array, np_dtype)
    array = device.put(array)
    if array.dtype != np_dtype:
        with device.activate():
            array = array.astype(np_dtype)
    return array


def _shares_memory(array, data) -> bool:
    """Whether a new tensor's array still uses the caller's memory (then it must be copied).

    Only arrays of one kind can: NumPy's shares_memory given a CuPy array dispatches to CuPy's,
    which refuses the NumPy one (TypeError), so a device array never meets a host one here.
    """
    if isinstance(array, np.ndarray) and isinstance(data, np.ndarray):
        return np.shares_memory(array, data)
    if is_cupy_array(array) and is_cupy_array(data):
        return array.device == data.device and bool(cupy.may_share_memory(array, data))
    return False


def _unwrap_nested(data):
    """``(values, dtype)``: ``data`` with one-element tensors in lists (``[t0, t1]``) as numbers, and the dtype
    PyTorch infers from the elements' types (Python float -> the default float, int -> int64, NumPy scalars
    and tensors -> their own dtype, all promoted together; None for no elements)."""
    inferred, has_tensors = _scan_elements(data)
    return (_numbers_for_tensors(data) if has_tensors else data), inferred


_SCALAR_TYPES = (float, int, bool)


def _scan_elements(data):
    """The promoted dtype of the elements of nested lists, and whether any is a Tensor; no recursion, and
    one C-level ``set(map(type, ...))`` per list of plain numbers (tensor() of a long list stays fast)."""
    inferred, has_tensors = None, False
    stack = [data]
    while stack:
        item = stack.pop()
        items = item if isinstance(item, (list, tuple)) else (item,)
        kinds = set(map(type, items))
        if kinds.issubset(_SCALAR_TYPES):
            for kind in kinds:
                inferred = _promoted(inferred, dtypes.scalar_dtype(kind()))
            continue
        for x in items:
            if isinstance(x, (list, tuple)):
                stack.append(x)
            elif isinstance(x, Tensor):
                has_tensors = True
                inferred = _promoted(inferred, dtypes.from_numpy_dtype(x.array.dtype))
            elif isinstance(x, np.generic):
                inferred = _promoted(inferred, dtypes.from_numpy_dtype(x.dtype))
            elif isinstance(x, _SCALAR_TYPES):
                inferred = _promoted(inferred, dtypes.scalar_dtype(x))
    return inferred, has_tensors


def _promoted(a, b):
    return b if a is None else dtypes.promote_types(a, b)


def _numbers_for_tensors(data):
    """``data`` with every Tensor in its nested lists replaced by its value (``tolist()``), without recursion."""
    root = [data]
    stack = [(root, 0)]
    while stack:
        parent, index = stack.pop()
        item = parent[index]
        if isinstance(item, Tensor):
            parent[index] = item.tolist()
        elif isinstance(item, (list, tuple)):
            parent[index] = copy = list(item)
            stack.extend((copy, i) for i in range(len(copy)))
    return root[0]


def _python_data_dtype(array, inferred) -> np.dtype:
    """PyTorch's defaults for Python data: floats -> the default float, ints -> int64, bools -> bool."""
    kind = array.dtype.kind
    if array.dtype == np.uint64 or (kind == "O" and all(type(x) is int for x in array.reshape(-1).tolist())):
        # NumPy makes uint64 (or objects) of Python ints past int64; PyTorch refuses them
        raise ValueError("tensor(): Overflow when unpacking long long: a Python int does not fit in int64")
    if inferred is not None and kind in "fiub":
        return inferred.np
    if kind == "f":
        return dtypes.get_default_dtype().np
    if kind in "iu":
        return np.dtype(np.int64)
    if kind == "b":
        return np.dtype(np.bool_)
    raise TypeError(f"tensor(): cannot make a tensor from Python data of type {array.dtype} (expected numbers)")


def fill_value_for(op: str, value, np_dtype):
    """A Python number to fill an array of ``np_dtype`` with, checked as PyTorch checks it (``full``, ``fill_``).

    An integer a dtype cannot hold raises; a negative one in an unsigned dtype wraps (-1 -> 255), as in PyTorch.
    """
    if type(value) is int and np.dtype(np_dtype).kind in "iu":
        _check_fits(np.asarray([value], dtype=object), np.dtype(np_dtype), op)
        return int(np.asarray(value).astype(np_dtype)) if value < 0 else value  # a Python int: CuPy takes no arrays
    return value


def _check_fits(array, np_dtype, op: str = "tensor") -> None:
    """Python numbers that an integer dtype cannot hold raise, as in PyTorch, instead of wrapping around.

    As PyTorch does, an unsigned dtype also takes negatives down to minus its maximum (-1 -> 255 for uint8).
    """
    if np_dtype.kind not in "iu" or array.size == 0 or array.dtype.kind not in "iufO":
        return
    info = np.iinfo(np_dtype)
    low = -int(info.max) if np_dtype.kind == "u" else int(info.min)
    values = array.reshape(-1)
    if array.dtype.kind == "O":
        values = values.tolist()
        fits = all(isinstance(v, (int, float)) and low <= v <= info.max for v in values)
    else:
        fits = not (array.dtype.kind == "f" and np.isnan(array).any()) and low <= values.min() and values.max() <= info.max
    if not fits:
        raise RuntimeError(
            f"{op}(): value cannot be converted to type {dtypes.from_numpy_dtype(np_dtype).name} without overflow "
            f"({dtypes.from_numpy_dtype(np_dtype).name} holds {int(info.min)}..{int(info.max)}); pick a wider dtype"
        )


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor copied from ``data`` (nested lists, numbers, a NumPy/CuPy array or a Tensor).

    Python floats become the default dtype (float32), Python ints int64, NumPy scalars
    keep their dtype (``np.float64(5)`` -> float64), and a NumPy array keeps its dtype, as
    ``torch.tensor`` does. Integers a dtype cannot hold raise instead of wrapping around.

    Example:
        >>> gg.tensor([[1, 2], [3, 4]], dtype=gg.float64, requires_grad=True)
    """
    if isinstance(data, Tensor):
        dev = to_device(device) if device is not None else data.device
        data = data.array
    else:
        dev = to_device(device) if device is not None else get_default_device()
    array = _as_array(data, dtype, dev)
    if array is data or _shares_memory(array, data):
        with dev.activate():
            array = array.copy()
    t = Tensor._make(array, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t
