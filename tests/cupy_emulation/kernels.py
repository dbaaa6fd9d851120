"""User kernels: ``RawModule``/``RawKernel`` run by the CUDA emulator, ``ElementwiseKernel`` compiled by g++.

* ``RawModule(code, name_expressions=...)``: the code must be one of gpugrad's kernels/
  sources (the emulator library was built from exactly those); ``get_function(name)``
  resolves a name expression there, or fails as CuPy does for an unknown symbol. Launches
  go through the emulator's launch checks (argument types, device pointers, barriers).
* ``ElementwiseKernel(in_params, out_params, operation, name, preamble=...)``: CuPy's type
  rules (``Type is mismatched``, outputs must be device arrays; _core/_kernel.pyx
  ``_decide_params_type_core``), then the operation compiled into a C++ loop by g++ and
  run over the broadcast arguments.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading

import numpy as np

from . import core, device_state, graphs
from .core import ndarray


class CUDADriverError(RuntimeError):
    pass


def _known_sources() -> set:
    from gpugrad.backends import kernels

    return {kernels.load_source(name) for name in kernels.source_files()}


class Function:
    """A kernel of a module: ``f(grid, block, args, shared_mem=0, stream=None)``."""

    def __init__(self, expression: str):
        self.expression = expression

    def __call__(self, grid, block, args, *, shared_mem=0, stream=None, enable_cooperative_groups=False):
        marshalled = tuple(_kernel_argument(i, a) for i, a in enumerate(args))
        library = device_state.emulator_library()

        def launch():
            library.launch(self.expression, grid, block, marshalled, int(shared_mem), "forward")

        graphs.run_or_record(launch)


def _kernel_argument(index, value):
    if isinstance(value, ndarray):
        core._check_device("cupy.cuda.Function.__call__", value)
        return value._a
    if isinstance(value, np.ndarray) or isinstance(value, (list, tuple)):
        raise TypeError(f"Unsupported type {type(value)}")
    return value


class RawModule:
    def __init__(self, code=None, *, path=None, options=(), backend="nvrtc", translate_cucomplex=False,
                 enable_cooperative_groups=False, name_expressions=None, jitify=None):
        if code is None:
            raise NotImplementedError("the emulated RawModule takes code=, not path=")
        if code not in _known_sources():
            raise NotImplementedError(
                "the emulated RawModule can run only gpugrad's kernels/ sources (the CUDA emulator is built from "
                "them); this code is not one of them"
            )
        self.code, self.options, self.backend = code, tuple(options), backend
        self.name_expressions = tuple(name_expressions or ())

    def get_function(self, name):
        registered = device_state.emulator_library().kernel_signatures()
        if name not in self.name_expressions and name not in registered:
            raise CUDADriverError("CUDA_ERROR_NOT_FOUND: named symbol not found")
        if name not in registered:
            raise CUDADriverError(f"CUDA_ERROR_NOT_FOUND: named symbol not found ({name} is not instantiated)")
        return Function(name)

    def compile(self, log_stream=None):
        pass


class RawKernel:
    def __init__(self, code, name, options=(), backend="nvrtc", translate_cucomplex=False, *,
                 enable_cooperative_groups=False, jitify=None):
        self._function = RawModule(code=code, options=options).get_function(name)
        self.code, self.name, self.options = code, name, tuple(options)

    def __call__(self, grid, block, args, **kwargs):
        return self._function(grid, block, args, **kwargs)


# ----------------------------------------------------------------------------- ElementwiseKernel
_C_TYPES = {"float64": "double", "float32": "float", "float16": None, "int64": "long long", "int32": "int",
            "int16": "short", "int8": "signed char", "uint64": "unsigned long long", "uint32": "unsigned int",
            "uint16": "unsigned short", "uint8": "unsigned char", "bool": "bool"}


class _Param:
    def __init__(self, text: str, is_const: bool):
        words = text.split()
        if len(words) < 2:
            raise ValueError(f"Syntax error: {text}")
        self.name, type_name = words[-1], words[-2]
        self.raw = "raw" in words[:-2]
        self.is_const = is_const
        self.dtype = np.dtype(type_name) if type_name in _C_TYPES else None
        self.ctype = type_name  # a placeholder such as T when dtype is None


def _params(text: str, is_const: bool) -> list:
    return [_Param(p, is_const) for p in text.split(",") if p.strip()]


class ElementwiseKernel:
    def __init__(self, in_params, out_params, operation, name="kernel", reduce_dims=True, preamble="",
                 no_return=False, return_tuple=False, **kwargs):
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ValueError(f"Invalid kernel name: {name}")
        self.in_params, self.out_params = _params(in_params, True), _params(out_params, False)
        self.operation, self.name, self.preamble = operation, name, preamble
        self.nin, self.nout = len(self.in_params), len(self.out_params)
        self.nargs = self.nin + self.nout
        self.no_return, self.return_tuple = no_return, return_tuple

    def __call__(self, *args, **kwargs):
        size = kwargs.pop("size", None)
        kwargs.pop("stream", None)
        if kwargs:
            raise TypeError(f"Wrong arguments {kwargs}")
        if len(args) not in (self.nin, self.nargs):
            raise TypeError(f"Wrong number of arguments for {self.name!r}. It must be either {self.nin} or "
                            f"{self.nargs} (with outputs), but given {len(args)}.")
        inputs, outputs = list(args[:self.nin]), list(args[self.nin:])
        for value in inputs:
            if isinstance(value, ndarray):
                core._check_device(self.name, value)
            elif isinstance(value, (np.ndarray, list, tuple)) or not np.isscalar(value):
                raise TypeError(f"Unsupported type {type(value)}")
        for value in outputs:
            if not isinstance(value, ndarray):
                raise TypeError("Output arguments must be cupy.ndarray")
            core._check_device(self.name, value)
        in_types, out_types = self._decide_types(inputs, outputs)
        shape = np.broadcast_shapes(*[a.shape for a in inputs + outputs if isinstance(a, ndarray)])
        if size is not None:
            shape = (size,)
        if not outputs:
            outputs = [core.empty(shape, t) for t in out_types]
        elif any(o.shape != shape for o in outputs):
            raise ValueError(f"Out shape is mismatched: {[o.shape for o in outputs]} vs {shape}")
        compiled = _compile(self, in_types, out_types)

        def run():
            host_in = [np.ascontiguousarray(np.broadcast_to(a._a if isinstance(a, ndarray) else np.asarray(a, t), shape),
                                            dtype=t).reshape(-1) for a, t in zip(inputs, in_types)]
            host_out = [np.empty(shape, t).reshape(-1) for t in out_types]
            pointers = (ctypes.c_void_p * max(1, len(host_in) + len(host_out)))(
                *[h.ctypes.data for h in host_in + host_out])
            compiled(pointers, ctypes.c_longlong(int(np.prod(shape, dtype=np.int64))))
            for out, host in zip(outputs, host_out):
                out._a[...] = host.reshape(shape)

        graphs.run_or_record(run)
        if self.no_return:
            return None
        return tuple(outputs) if self.return_tuple or len(outputs) > 1 else outputs[0]

    def _decide_types(self, inputs, outputs):
        """CuPy's _decide_params_type_core: fixed dtypes must match exactly, one dtype per placeholder."""
        bound = {}
        for p, a in zip(self.out_params, outputs):
            _bind(p, a.dtype, bound)
        for p, a in zip(self.in_params, inputs):
            if isinstance(a, ndarray):
                _bind(p, a.dtype, bound)
        in_types = []
        for p, a in zip(self.in_params, inputs):
            if p.dtype is not None:
                in_types.append(p.dtype)
            elif p.ctype in bound:
                in_types.append(bound[p.ctype])
            else:  # a Python scalar fixes its placeholder (float -> float64, int -> int64)
                bound[p.ctype] = np.dtype(type(a)) if not isinstance(a, np.generic) else a.dtype
                in_types.append(bound[p.ctype])
        out_types = []
        for p in self.out_params:
            if p.dtype is not None:
                out_types.append(p.dtype)
            elif p.ctype in bound:
                out_types.append(bound[p.ctype])
            else:
                raise TypeError(f"Cannot determine the dtype of output {p.name} ({p.ctype})")
        return in_types, out_types


def _bind(param, dtype, bound):
    if param.dtype is not None:
        if np.dtype(dtype) != param.dtype:
            raise TypeError(f"Type is mismatched. {param.name} {np.dtype(dtype).type} {param.dtype.type}")
    elif param.ctype in bound:
        if bound[param.ctype] != np.dtype(dtype):
            raise TypeError(f"Type is mismatched. {param.name} {np.dtype(dtype).type} "
                            f"{bound[param.ctype].type} {param.ctype}")
    else:
        bound[param.ctype] = np.dtype(dtype)


_HEADER = """#include <cmath>
#include <cstdint>
#include <algorithm>
using namespace std;
"""
_compiled: dict = {}
_compile_lock = threading.Lock()
_workdir = None


def _compile(kernel: ElementwiseKernel, in_types, out_types):
    typedefs = {}
    for p, t in zip(kernel.in_params + kernel.out_params, list(in_types) + list(out_types)):
        if p.dtype is None:
            typedefs[p.ctype] = _C_TYPES[np.dtype(t).name]
    lines = [f"typedef {c} {name};" for name, c in typedefs.items()]
    body = []
    for k, (p, t) in enumerate(zip(kernel.in_params, in_types)):
        c = _C_TYPES[np.dtype(t).name]
        body.append(f"const {c} {p.name} = reinterpret_cast<const {c}*>(gg_args[{k}])[i];")
    for k, (p, t) in enumerate(zip(kernel.out_params, out_types)):
        c = _C_TYPES[np.dtype(t).name]
        body.append(f"{c}& {p.name} = reinterpret_cast<{c}*>(gg_args[{kernel.nin + k}])[i];")
    source = (_HEADER + "\n".join(lines) + "\n" + kernel.preamble + "\n"
              'extern "C" void gg_run(void** gg_args, long long gg_n) {\n'
              "  for (long long i = 0; i < gg_n; ++i) {\n    " + "\n    ".join(body) +
              f"\n    {kernel.operation};\n  }}\n}}\n")
    key = hashlib.sha256(source.encode()).hexdigest()[:20]
    with _compile_lock:
        if key not in _compiled:
            _compiled[key] = _build(key, source)
    return _compiled[key]


def _build(key: str, source: str):
    global _workdir
    compiler = shutil.which(os.environ.get("CXX", "g++"))
    if compiler is None:
        raise RuntimeError("the emulated ElementwiseKernel needs g++ (apt-get install g++)")
    if _workdir is None:
        _workdir = tempfile.mkdtemp(prefix="gg_emulated_elementwise_")
    src = os.path.join(_workdir, f"k{key}.cpp")
    lib = os.path.join(_workdir, f"k{key}.so")
    with open(src, "w") as f:
        f.write(source)
    done = subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-ffp-contract=off", src, "-o", lib],
                          capture_output=True, text=True)
    if done.returncode:
        from .cuda import CompileException

        raise CompileException(done.stderr[-4000:], source, key)
    function = ctypes.CDLL(lib).gg_run
    function.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_longlong]
    return function
