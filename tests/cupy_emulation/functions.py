"""CuPy's functions and ufuncs for the emulated modules, each checked against CuPy 14's signature.

Most names map to NumPy's function of the same name run on device memory (core._run);
the ones whose rules differ (creation from host data, host copies, array-module
lookup, memory metadata) are written out here.
"""

from __future__ import annotations

import numpy as np

from . import api, core, device_state, memory
from .core import ndarray

# functions whose answer is host metadata (a bool, a dtype), not a device array
_HOST_RESULTS = {"shares_memory", "may_share_memory", "result_type", "can_cast", "promote_types", "min_scalar_type",
                 "common_type", "isscalar", "ndim", "shape", "size", "iscomplexobj", "isrealobj", "isfortran",
                 "array_repr", "array_str", "array2string", "issubdtype", "broadcast_shapes", "iterable",
                 "mintypecode", "typename", "get_printoptions", "set_printoptions", "printoptions", "binary_repr",
                 "base_repr", "finfo", "iinfo", "dtype", "format_float_positional", "format_float_scientific"}


class ufunc:
    """A CuPy ufunc: operands must be device arrays on the current device or scalars."""

    def __init__(self, name: str, numpy_ufunc, qualname: str, signature: str | None):
        self._np, self._qualname, self._signature = numpy_ufunc, qualname, signature
        self.__name__ = self.name = name
        self.nin, self.nout = numpy_ufunc.nin, numpy_ufunc.nout
        self.nargs = numpy_ufunc.nargs
        self.types = numpy_ufunc.types

    def __repr__(self):
        return f"<ufunc '{self.name}'>"

    def __call__(self, *args, **kwargs):
        if self.nout == 1:
            api.check_call(self._qualname, self._signature, args, kwargs)
        for value in args:
            core._check_operand(self._qualname, value)
        out = kwargs.get("out")
        for o in (out if isinstance(out, tuple) else (out,)):
            if o is not None and not isinstance(o, ndarray):
                raise TypeError("Output arguments must be cupy.ndarray")
        return core._run(self._qualname, self._np, args, kwargs)

    def _method(self, method, array, *args, **kwargs):
        core._check_operand(f"{self._qualname}.{method}", array)
        return core._run(f"{self._qualname}.{method}", getattr(self._np, method), (array, *args), kwargs)

    def reduce(self, array, axis=0, dtype=None, out=None, keepdims=False):
        return self._method("reduce", array, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def accumulate(self, array, axis=0, dtype=None, out=None):
        return self._method("accumulate", array, axis=axis, dtype=dtype, out=out)

    def outer(self, A, B, **kwargs):
        core._check_operand(f"{self._qualname}.outer", B)
        return self._method("outer", A, B, **kwargs)

    def at(self, a, indices, b=None):
        core._check_operand(f"{self._qualname}.at", a)
        index = core._index_for_numpy(indices)[:-1] if not isinstance(indices, tuple) else indices
        index = tuple(i._a if isinstance(i, ndarray) else i for i in (index if isinstance(index, tuple) else (index,)))
        value = b._a if isinstance(b, ndarray) else b
        core._run_inplace(f"{self._qualname}.at", lambda x: self._np.at(x, index if len(index) > 1 else index[0], value),
                          a)


def checked(qualname: str, signature: str | None, impl, *, host_ok=False, host_result=False):
    """A function that checks its call against ``signature`` and runs ``impl`` on device memory."""

    def function(*args, **kwargs):
        api.check_call(qualname, signature, args, kwargs)
        return core._run(qualname, impl, args, kwargs, host_ok=host_ok, host_result=host_result)

    function.__name__ = qualname.rsplit(".", 1)[-1]
    function.__qualname__ = qualname
    return function


# ----------------------------------------------------------------------------- creation and transfers
def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        if copy is False and obj._device == device_state.current_device() and (dtype is None or obj.dtype == dtype):
            return obj
        source = obj._a  # a device-to-device copy (peer copies need no peer access)
    else:
        source = np.array(_host_value(obj), dtype=dtype, ndmin=ndmin)
        if source.dtype == object:
            raise ValueError(f"Unsupported dtype object (cupy.array of {type(obj).__name__})")
    result = np.array(source, dtype=dtype, ndmin=ndmin, order="C" if order in ("K", "A") else order)
    return core._to_device(result)


def _host_value(obj):
    """Host data CuPy can upload: numbers, NumPy arrays, nested lists of those (device arrays are refused in lists)."""
    if isinstance(obj, (list, tuple)):
        if any(isinstance(x, ndarray) for x in obj):
            return [x.get() if isinstance(x, ndarray) else _host_value(x) for x in obj]  # CuPy gathers them
        return [_host_value(x) for x in obj]
    return obj


def asarray(a, dtype=None, order=None, *, copy=None, blocking=False):
    if isinstance(a, ndarray) and (dtype is None or np.dtype(dtype) == a.dtype) and not copy:
        return a
    return array(a, dtype=dtype, copy=True if copy is None else copy)


def ascontiguousarray(a, dtype=None):
    if not isinstance(a, ndarray):
        return array(a, dtype=dtype)
    if a._a.flags.c_contiguous and (dtype is None or np.dtype(dtype) == a.dtype):
        return a
    return core._run("cupy.ascontiguousarray", lambda x: np.ascontiguousarray(x, dtype=dtype), (a,), {})


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out, blocking=blocking)
    host = np.asarray(a, order=order)
    if out is not None:
        out[...] = host
        return out
    return host


def get_array_module(*args):
    from . import install

    return install.modules["cupy"] if any(isinstance(a, ndarray) for a in args) else np


def empty(shape, dtype=float, order="C"):
    return core.empty(shape, dtype, order=order)


def empty_like(prototype, dtype=None, order="K", subok=None, shape=None):
    _require_array("cupy.empty_like", prototype)
    return core.empty(prototype.shape if shape is None else shape, prototype.dtype if dtype is None else dtype)


def _require_array(qualname, value):
    if not isinstance(value, ndarray):
        raise TypeError(f"{qualname}: Unsupported type {type(value)}")
    core._check_device(qualname, value)


def _creation(qualname, signature, numpy_function):
    """zeros/ones/full/arange/...: computed on the host, written to fresh device memory."""

    def function(*args, **kwargs):
        api.check_call(qualname, signature, args, kwargs)
        for value in list(args) + list(kwargs.values()):
            if isinstance(value, np.ndarray):
                raise TypeError(f"{qualname}: Unsupported type {type(value)}")
        return core._run(qualname, numpy_function, args, kwargs)

    function.__name__ = qualname.rsplit(".", 1)[-1]
    return function


def _filled(qualname, signature, fill):
    """zeros/ones/full: device memory first (so a pool limit is met with CuPy's OutOfMemoryError), then a fill."""

    def function(*args, **kwargs):
        api.check_call(qualname, signature, args, kwargs)
        bound = api.parse_signature(signature).bind(*args, **kwargs)
        bound.apply_defaults()
        values = bound.arguments
        dtype = values.get("dtype")
        fill_value = values.get("fill_value", fill)
        if isinstance(fill_value, ndarray):
            raise TypeError(f"{qualname}: fill_value must be a scalar here")
        if dtype is None:
            dtype = np.asarray(fill_value).dtype
        made = core.empty(values["shape"], dtype, order=values.get("order", "C"))
        made.fill(fill_value)
        return made

    function.__name__ = qualname.rsplit(".", 1)[-1]
    return function


_CREATION = {"arange", "linspace", "logspace", "eye", "identity", "tri", "indices",
             "zeros_like", "ones_like", "full_like"}
_SPECIAL = {
    "array": array, "asarray": asarray, "asanyarray": asarray, "ascontiguousarray": ascontiguousarray,
    "asnumpy": asnumpy, "get_array_module": get_array_module, "empty": empty, "empty_like": empty_like,
    "get_default_memory_pool": memory.get_default_memory_pool,
    "get_default_pinned_memory_pool": memory.get_default_pinned_memory_pool,
    "ndarray": ndarray, "is_available": lambda: True,
}


def namespace(module: str, numpy_module) -> dict:
    """The emulated members of one CuPy module: every snapshotted name that NumPy can compute."""
    members = {}
    for name, entry in api.module_members(module).items():
        kind = entry["kind"]
        qualname = f"{module}.{name}"
        if module == "cupy" and name in _SPECIAL:
            members[name] = _SPECIAL[name]
            continue
        target = getattr(numpy_module, name, None) if numpy_module is not None else None
        if kind == "constant":
            members[name] = getattr(np, name, None) if target is None else target
        elif kind == "ufunc" and isinstance(target, np.ufunc):
            members[name] = core._UFUNCS.setdefault(name, ufunc(name, target, qualname, entry.get("signature")))
        elif kind == "class" and isinstance(target, type) and issubclass(target, (np.generic, np.dtype)):
            members[name] = target  # the scalar types are NumPy's own in CuPy too
        elif kind == "other" and name == "matmul":  # a generalized ufunc in CuPy
            members[name] = core._UFUNCS.setdefault(name, ufunc(name, np.matmul, qualname, None))
        elif kind == "other" and name in ("s_", "index_exp"):
            members[name] = target  # index helpers: pure Python in both
        elif kind == "function" and callable(target):
            if name in ("zeros", "ones", "full"):
                members[name] = _filled(qualname, entry.get("signature"), {"zeros": 0, "ones": 1}.get(name))
            elif name in _CREATION:
                members[name] = _creation(qualname, entry.get("signature"), target)
            else:
                members[name] = checked(qualname, entry.get("signature"), target,
                                        host_result=name in _HOST_RESULTS)
    return members

