"""Graph passes (node counts before/after) and the generated CUDA kernels (nvcc, and run on the CPU by g++)."""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.graph import Graph, compile, placeholder
from gpugrad.graph.cuda import region_kernels
from gpugrad.graph.passes import Program, cse, dce, fold
from gpugrad.graph.tracer import raw_data

F64 = gg.float64


def _program(build):
    with Graph() as g:
        fetches = build()
    tracer = g._tracer
    outs = [raw_data(t).node for t in fetches]
    return Program(tracer.leaves, tracer.nodes, outs), outs


def test_cse_merges_repeated_computations():
    w = gg.tensor([1.0, 2.0], dtype=F64)

    def build():
        x = placeholder((2,), F64)
        return [(x * w).sin() + (x * w).sin()]

    prog, _ = _program(build)
    before = prog.count()
    cse(prog)
    assert before == 5 and prog.count() == 3  # one multiply and one sin left


def test_dce_drops_what_no_fetch_needs():
    def build():
        x = placeholder((2,), F64)
        x.exp().sum()  # unused
        return [x * 2.0]

    prog, _ = _program(build)
    assert prog.count() == 3
    dce(prog)
    assert prog.count() == 1


def test_folding_computes_constant_subgraphs_once():
    data = gg.linspace(0, 1, 5, dtype=F64)

    def build():
        x = placeholder((5,), F64)
        return [x * gg.cos(data / 4) + gg.sin(data)]

    prog, _ = _program(build)
    fold(prog)
    dce(prog)
    assert prog.count() == 2  # multiply and add; divide, cos and sin are folded
    assert sum(n.kind == "folded" for n in prog.leaves) == 2


def test_fusion_groups_forward_and_backward_elementwise_chains():
    _, step = _step()
    for _ in range(2):
        step()
    regions = step.graph.regions
    assert len(regions) >= 2 and all(len(r) >= 2 for r in regions)
    assert step.graph.stats["traced"] > step.graph.stats["after dce"]


def _step(n=1000):
    x = gg.linspace(-10, 10, n, dtype=F64)
    y = 1.5 * gg.sin(x) + 1.2 * gg.cos(x / 4)
    theta = gg.tensor([0.5, -0.3, 0.8], dtype=F64, requires_grad=True)
    opt = gg.optim.SGD([theta], lr=0.01)

    @compile
    def step():
        pred = theta[0] * x + theta[1] * gg.sin(x) + theta[2] * gg.cos(x / 4)
        loss = ((pred - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return theta, step


def test_kernel_sources_are_complete_cuda_kernels():
    _, step = _step()
    step()
    step()
    sources = step.kernel_sources()
    assert sources
    for name, source in sources.items():
        assert f'extern "C" __global__ void {name}(' in source


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
def test_generated_kernels_compile_with_nvcc(tmp_path):
    _, step = _step()
    step()
    step()
    for name, source in step.kernel_sources().items():
        path = tmp_path / f"{name}.cu"
        path.write_text(source)
        result = subprocess.run(["nvcc", "-arch=sm_80", "-c", str(path), "-o", str(tmp_path / f"{name}.o")],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


HARNESS = """
#include <cmath>
#include <cstdint>
using std::sin; using std::cos; using std::exp; using std::log; using std::tanh; using std::sqrt;
using std::fabs; using std::log1p; using std::tan; using std::pow;
struct gg_dim3 { unsigned x, y, z; };
static gg_dim3 blockIdx, threadIdx, blockDim, gridDim;
#define __global__
"""


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")
def test_generated_kernels_run_on_the_cpu_and_match_the_numpy_executor(tmp_path):
    theta, step = _step(n=1000)
    step()
    step()
    exe = step.last.exe
    env = exe.executor.interpret([], exe.externals())
    for kernel in region_kernels(exe.prog):
        params = [f"{'double' if i.value.dtype == np.float64 else 'float'}* a{k}" for k, i in enumerate(kernel.inputs)]
        params += [f"double* o{k}" for k in range(len(kernel.outputs))]
        args = [f"a{k}" for k in range(len(kernel.inputs))] + [f"o{k}" for k in range(len(kernel.outputs))]
        launcher = (
            f'extern "C" void launch({", ".join(params)}, long long n) {{\n'
            "  blockDim.x = 32; gridDim.x = 4;\n"  # fewer threads than elements: the grid-stride loop is exercised
            "  for (unsigned b = 0; b < gridDim.x; ++b) for (unsigned t = 0; t < blockDim.x; ++t) {\n"
            f"    blockIdx.x = b; threadIdx.x = t; {kernel.name}({', '.join(args)}, n);\n  }}\n}}\n"
        )
        src = tmp_path / f"{kernel.name}.cpp"
        src.write_text(HARNESS + kernel.source + launcher)
        lib = tmp_path / f"{kernel.name}.so"
        subprocess.run(["g++", "-O1", "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
        fn = ctypes.CDLL(str(lib)).launch
        inputs = [np.ascontiguousarray(np.asarray(env[i], dtype=i.value.dtype)).reshape(-1) for i in kernel.inputs]
        outputs = [np.zeros(kernel.size) for _ in kernel.outputs]
        pointers = [a.ctypes.data_as(ctypes.c_void_p) for a in inputs + outputs]
        fn(*pointers, ctypes.c_longlong(kernel.size))
        for node, got in zip(kernel.outputs, outputs):
            np.testing.assert_allclose(got, np.asarray(env[node]).reshape(-1), rtol=1e-13, atol=1e-15)
