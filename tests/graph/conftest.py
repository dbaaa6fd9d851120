"""The CPU stand-in for a GPU launch: generated region kernels compiled by g++ and run on NumPy arrays.

The kernel source is the very text nvcc compiles and CuPy runs; the harness
defines ``__global__`` and the thread indices and walks every (block, thread)
pair, with fewer threads than elements so the grid-stride loop is exercised.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

HARNESS = """
#include <cmath>
#include <cstdint>
using std::sin; using std::cos; using std::exp; using std::log; using std::tanh; using std::sqrt;
using std::fabs; using std::log1p; using std::tan; using std::pow;
struct gg_dim3 { unsigned x, y, z; };
static gg_dim3 blockIdx, threadIdx, blockDim, gridDim;
#define __global__
"""
_C = {np.dtype(np.float64): "double", np.dtype(np.float32): "float", np.dtype(np.bool_): "bool"}


class EmulatedLauncher:
    """``launcher(kernel)`` gives ``run(*inputs, *outputs)``, like ``gpugrad.graph.cuda.elementwise_launcher``."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.compiled = {}
        self.launches = 0

    def __call__(self, kernel):
        fn = self.compiled.get(kernel.name)
        if fn is None:
            fn = self.compiled[kernel.name] = self._build(kernel)

        def run(*arrays):
            n_in = len(kernel.inputs)
            inputs = [np.ascontiguousarray(np.asarray(a, dtype=node.value.dtype)).reshape(-1)
                      for a, node in zip(arrays[:n_in], kernel.inputs)]
            outputs = arrays[n_in:]
            assert all(o.flags.c_contiguous and o.size == kernel.size for o in outputs)
            fn(*(a.ctypes.data_as(ctypes.c_void_p) for a in inputs + list(outputs)), ctypes.c_longlong(kernel.size))
            self.launches += 1

        return run

    def _build(self, kernel):
        params = [f"{_C[i.value.dtype]}* a{k}" for k, i in enumerate(kernel.inputs)]
        params += [f"{_C[o.value.dtype]}* o{k}" for k, o in enumerate(kernel.outputs)]
        args = [f"a{k}" for k in range(len(kernel.inputs))] + [f"o{k}" for k in range(len(kernel.outputs))]
        launcher = (
            f'extern "C" void launch({", ".join(params)}, long long n) {{\n'
            "  blockDim.x = 32; gridDim.x = 4;\n"
            "  for (unsigned b = 0; b < gridDim.x; ++b) for (unsigned t = 0; t < blockDim.x; ++t) {\n"
            f"    blockIdx.x = b; threadIdx.x = t; {kernel.name}({', '.join(args)}, n);\n  }}\n}}\n"
        )
        src = self.workdir / f"{kernel.name}.cpp"
        src.write_text(HARNESS + kernel.source + launcher)
        lib = self.workdir / f"{kernel.name}.so"
        subprocess.run(["g++", "-O1", "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
        return ctypes.CDLL(str(lib)).launch


@pytest.fixture(scope="session")
def emulated_launcher(tmp_path_factory):
    """Runs generated region kernels on the CPU (needs g++)."""
    if shutil.which("g++") is None:
        pytest.skip("g++ not installed")
    return EmulatedLauncher(tmp_path_factory.mktemp("region_kernels"))
