"""Graph passes (node counts before/after) and the generated CUDA kernels (nvcc, and run on the CPU by g++)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.graph import Graph, compile, placeholder
from gpugrad.graph.cuda import region_kernels
from gpugrad.graph.passes import Program, cse, dce, fold
from gpugrad.graph.tracer import raw_data
from graph_test_steps import curve_fit_step

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


def _step(n=1000, dtype=F64):
    theta, _, step = curve_fit_step(n, dtype)
    return theta, compile(step)


def test_kernel_sources_are_complete_cuda_kernels():
    _, step = _step()
    step()
    step()
    sources = step.kernel_sources()
    assert sources
    for name, source in sources.items():
        assert f'extern "C" __global__ void {name}(' in source


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
def test_generated_kernels_pass_the_ci_compile_check(tmp_path):
    """The same check as kernels/: nvcc for sm_80 and sm_90, warnings as errors, no register spills."""
    sources = {}
    for dtype in (F64, gg.float32):
        _, step = _step(dtype=dtype)
        step()
        step()
        sources.update(step.kernel_sources())
    for name, source in sources.items():
        (tmp_path / f"{name}.cu").write_text(source)
    script = Path(__file__).resolve().parents[2] / "ci" / "compile_kernels.sh"
    env = dict(os.environ, KERNELS_DIR=str(tmp_path), STANDALONE="1")
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("compile_kernels: ok:") == len(sources) >= 4


def test_generated_kernels_run_on_the_cpu_and_match_the_numpy_executor(emulated_launcher):
    theta, step = _step(n=1000)
    step()
    step()
    exe = step.last.exe
    kernels = region_kernels(exe.prog)
    # each kernel's inputs and outputs as they were when it ran (theta[0] is a view; the step updates theta)
    env = exe.executor.interpret([], exe.externals(), keep={n for k in kernels for n in (*k.inputs, *k.outputs)})
    for kernel in kernels:
        outputs = [np.zeros(kernel.size) for _ in kernel.outputs]
        emulated_launcher(kernel)(*(env[i] for i in kernel.inputs), *outputs)
        for node, got in zip(kernel.outputs, outputs):
            np.testing.assert_allclose(got, np.asarray(env[node]).reshape(-1), rtol=1e-13, atol=1e-15)
