"""Put the emulated CuPy into ``sys.modules`` as ``cupy`` (and ``cupyx``), before gpugrad imports it.

Only names in the CuPy 14 snapshot are exposed; a real name that the emulation does not
implement raises AttributeError saying so.
"""

from __future__ import annotations

import math
import sys
import types

import numpy as np

from . import api, core, cuda, functions, kernels, memory, random

modules: dict = {}

_NUMPY_MODULES = {"numpy": "cupy", "numpy.linalg": "cupy.linalg", "numpy.fft": "cupy.fft"}


def module_for(numpy_module_name: str | None):
    """The emulated module matching a NumPy module (for ``__array_function__``)."""
    return modules.get(_NUMPY_MODULES.get(numpy_module_name or "", ""))


def _module(name: str, members: dict, snapshot_name: str | None = None) -> types.ModuleType:
    module = types.ModuleType(name, f"{name}, emulated (not a GPU): see tests/cupy_emulation")
    snapshot_name = snapshot_name or name
    known = api.module_members(snapshot_name) if snapshot_name in api.snapshot()["modules"] else None
    for key, value in members.items():
        if known is not None and key not in known:
            raise AssertionError(f"the emulation defines {name}.{key}, which CuPy 14 does not have")
        setattr(module, key, value)

    def __getattr__(attribute):
        if known is not None and attribute in known:
            raise AttributeError(f"module '{name}' has attribute '{attribute}' in CuPy 14, "
                                 "but the emulated CuPy does not implement it")
        raise AttributeError(f"module '{name}' has no attribute '{attribute}'")

    module.__getattr__ = __getattr__
    module.__gpugrad_emulated__ = True
    modules[name] = module
    return module


def _as_module(name: str, namespace) -> types.ModuleType:
    module = types.ModuleType(name, f"{name}, emulated (not a GPU)")
    module.__dict__.update(vars(namespace))
    modules[name] = module
    return module


def _scatter_add(a, slices, value):
    core._check_operand("cupyx.scatter_add", a)
    index = slices if isinstance(slices, tuple) else (slices,)
    index = tuple(i._a if isinstance(i, core.ndarray) else i for i in index)
    source = value._a if isinstance(value, core.ndarray) else value
    if isinstance(value, np.ndarray):
        raise TypeError(f"Unsupported type {type(value)}")
    core._run_inplace("cupyx.scatter_add", lambda x: np.add.at(x, index if len(index) > 1 else index[0], source), a)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _special_erf(x, out=None):
    core._check_operand("cupyx.scipy.special.erf", x)
    return core._run("cupyx.scipy.special.erf", lambda a: _erf(a).astype(a.dtype), (x,), {})


def install() -> types.ModuleType:
    """Register the emulated ``cupy`` and ``cupyx`` packages; returns ``cupy``."""
    if "cupy" in modules:
        return modules["cupy"]
    cuda_members = dict(cuda.MEMBERS)
    for sub in ("runtime", "compiler", "graph", "stream", "device"):
        cuda_members[sub] = _as_module(f"cupy.cuda.{sub}", cuda_members[sub])
    cuda_members["memory"] = _as_module("cupy.cuda.memory", cuda_members["memory"])
    cuda_module = _module("cupy.cuda", cuda_members)

    stride_tricks = types.ModuleType("cupy.lib.stride_tricks")
    stride_tricks.as_strided = _as_strided
    lib = types.ModuleType("cupy.lib")
    lib.stride_tricks = stride_tricks
    modules.update({"cupy.lib": lib, "cupy.lib.stride_tricks": stride_tricks})

    top = functions.namespace("cupy", np)
    top.update({
        "cuda": cuda_module,
        "random": _module("cupy.random", random.MEMBERS),
        "linalg": _module("cupy.linalg", functions.namespace("cupy.linalg", np.linalg)),
        "fft": _module("cupy.fft", functions.namespace("cupy.fft", np.fft)),
        "lib": lib,
        "ElementwiseKernel": kernels.ElementwiseKernel, "RawModule": kernels.RawModule,
        "RawKernel": kernels.RawKernel, "ufunc": functions.ufunc,
        "get_default_memory_pool": memory.get_default_memory_pool,
    })
    cupy = _module("cupy", top)
    cupy.__version__ = api.snapshot()["cupy_version"]
    special = _module("cupyx.scipy.special", {"erf": _special_erf})
    scipy = types.ModuleType("cupyx.scipy")
    scipy.special = special
    modules["cupyx.scipy"] = scipy
    _module("cupyx", {"scatter_add": _scatter_add, "scipy": scipy})
    sys.modules.update(modules)
    return cupy


def _as_strided(x, shape=None, strides=None):
    """``cupy.lib.stride_tricks.as_strided``: a view of the same device memory."""
    if not isinstance(x, core.ndarray):
        raise TypeError(f"Unsupported type {type(x)}")
    return core._view(x, np.lib.stride_tricks.as_strided(x._a, shape, strides))
