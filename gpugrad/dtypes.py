"""Data types and PyTorch's type-promotion rules.

A ``gpugrad.dtype`` wraps a NumPy dtype (CuPy uses the same ones), so arrays
of both backends map onto the same objects::

    >>> import gpugrad as gg
    >>> gg.tensor([1, 2]).dtype
    gpugrad.int64
    >>> (gg.tensor([1, 2], dtype=gg.int32) * 2.5).dtype   # a float scalar lifts ints to the default float
    gpugrad.float32
"""

from __future__ import annotations

from functools import reduce

import numpy as np

BOOL, INT, FLOAT = 0, 1, 2  # categories, ordered as PyTorch orders them


class dtype:
    """One element type; compare with ``==`` (``t.dtype == gg.float32``)."""

    __slots__ = ("name", "np", "category", "itemsize", "is_floating_point")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == FLOAT

    def __repr__(self) -> str:
        return f"gpugrad.{self.name}"

    def __reduce__(self):  # dtypes are singletons, also across copy/deepcopy
        return (to_dtype, (self.name,))


bool_ = dtype("bool", np.bool_, BOOL)
uint8 = dtype("uint8", np.uint8, INT)
int8 = dtype("int8", np.int8, INT)
int16 = dtype("int16", np.int16, INT)
int32 = dtype("int32", np.int32, INT)
int64 = dtype("int64", np.int64, INT)
float16 = dtype("float16", np.float16, FLOAT)
float32 = dtype("float32", np.float32, FLOAT)
float64 = dtype("float64", np.float64, FLOAT)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "long": int64, "int": int32})

_default_float = float32


def get_default_dtype() -> dtype:
    """The float dtype used for Python floats and new float tensors (float32)."""
    return _default_float


def set_default_dtype(d) -> None:
    """Set the default float dtype, like ``torch.set_default_dtype``."""
    global _default_float
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype(): only floating dtypes can be the default, got {d}")
    _default_float = d


def from_numpy_dtype(np_dtype) -> dtype:
    """The gpugrad dtype of a NumPy/CuPy array dtype, or a TypeError naming the supported ones."""
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        pass
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        names = ", ".join(d.name for d in ALL)
        raise TypeError(f"gpugrad does not support arrays of dtype {np_dtype}; supported: {names}") from None


def to_dtype(d) -> dtype:
    """Accept a gpugrad dtype, a NumPy dtype, a name such as ``"float32"`` or ``float``/``int``/``bool``.

    As in PyTorch, the Python types name the dtypes of their C counterparts: ``float`` is float64
    (a C double, whatever the default dtype), ``int`` int64, ``bool`` bool.
    """
    if isinstance(d, dtype):
        return d
    if d is float:
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str):
        if d in _BY_NAME:
            return _BY_NAME[d]
        raise TypeError(f"unknown dtype name {d!r}; use one of {', '.join(sorted(_BY_NAME))}")
    return from_numpy_dtype(d)


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to, by PyTorch's table."""
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    return _BY_NP[np.promote_types(a.np, b.np)]


def scalar_dtype(value) -> dtype:
    """The dtype PyTorch gives a Python number standing alone."""
    if isinstance(value, (bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    if isinstance(value, (float, np.floating)):
        return _default_float
    raise TypeError(f"expected a Python number, got {type(value).__name__}")


def result_type(*operands) -> dtype:
    """PyTorch's promotion over tensors and Python numbers.

    Dimensioned tensors decide first; zero-dim tensors and then Python numbers
    only matter when they are of a higher category (bool < int < float), which
    is why ``float32_tensor * 2.5`` stays float32.
    """
    tiers = ([], [], [])
    for x in operands:
        if hasattr(x, "dtype") and hasattr(x, "ndim"):
            tiers[0 if x.ndim else 1].append(to_dtype(x.dtype))
        else:
            tiers[2].append(scalar_dtype(x))
    result = None
    for tier in tiers:
        if tier:
            candidate = reduce(promote_types, tier)
            if result is None or candidate.category > result.category:
                result = candidate
    return result
