"""The emulated CuPy enforces CuPy's rules: each test is a way real CuPy fails that the emulation must copy.

They run in the emulated suite (``GPUGRAD_EMULATE_CUDA=1 python -m pytest -m gpu``) and skip
elsewhere: on a real GPU the rules are CuPy's own.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(os.environ.get("GPUGRAD_EMULATE_CUDA") != "1",
                       reason="checks the emulated CuPy: run with GPUGRAD_EMULATE_CUDA=1"),
]


@pytest.fixture
def cupy():
    import cupy

    assert cupy.__gpugrad_emulated__
    return cupy


def test_implicit_device_to_host_conversion_raises_and_get_is_explicit(cupy):
    x = cupy.arange(3.0)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(x)
    np.testing.assert_array_equal(x.get(), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(cupy.asnumpy(x), [0.0, 1.0, 2.0])


@pytest.mark.parametrize("operation", [
    lambda cp, x: x + np.ones(3),
    lambda cp, x: np.ones(3) + x,
    lambda cp, x: cp.add(x, [1.0, 2.0, 3.0]),
    lambda cp, x: cp.maximum(x, np.zeros(3)),
    lambda cp, x: np.shares_memory(x, np.ones(3)),
    lambda cp, x: np.concatenate([x, np.ones(3)]),
], ids=["op-numpy", "numpy-op", "ufunc-list", "ufunc-numpy", "shares_memory", "concatenate"])
def test_host_operands_are_refused(cupy, operation):
    with pytest.raises(TypeError, match="Unsupported type"):
        operation(cupy, cupy.arange(3.0))


def test_assigning_a_host_array_into_device_memory_raises_as_cupy_fill_does(cupy):
    x = cupy.zeros(3)
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        x[...] = np.ones(3)
    x[...] = cupy.ones(3)
    x[0] = 5.0
    assert x.get().tolist() == [5.0, 1.0, 1.0]


@pytest.mark.parametrize("call", [
    lambda cp, x: cp.clip(x, min=0.0, max=1.0),
    lambda cp, x: cp.sum(x, keepdim=True),
    lambda cp, x: x.sum(dim=0),
    lambda cp, x: cp.concatenate([x, x], dim=0),
], ids=["clip-min-max", "sum-keepdim", "method-dim", "concatenate-dim"])
def test_numpy_or_torch_only_keywords_fail_against_cupys_signatures(cupy, call):
    with pytest.raises(TypeError, match="signature in CuPy 14"):
        call(cupy, cupy.arange(3.0))


def test_names_cupy_lacks_do_not_exist(cupy):
    assert not hasattr(cupy, "frombuffer_of_torch")
    assert not hasattr(cupy.random.default_rng(0), "permutation")  # CuPy 14's Generator has none
    with pytest.raises(AttributeError, match="has no attribute"):
        cupy.float128


def test_every_emulated_name_is_in_the_snapshot():
    from cupy_emulation import api, install

    for name, module in install.modules.items():
        if name not in api.snapshot()["modules"]:
            continue
        members = api.module_members(name)
        defined = [k for k in vars(module) if not k.startswith("_")]
        assert defined and not [k for k in defined if k not in members], name


def test_reductions_and_element_access_give_0d_device_arrays(cupy):
    x = cupy.arange(6.0).reshape(2, 3)
    for value in (x.sum(), cupy.max(x), x[1, 2], cupy.dot(x[0], x[1])):
        assert isinstance(value, cupy.ndarray) and value.shape == ()
    view = x[0, 1]
    view[...] = 10.0  # a 0-d view, as CuPy gives, not a copied scalar
    assert x.get()[0, 1] == 10.0


def test_an_array_on_another_device_is_refused_by_kernels(cupy):
    with cupy.cuda.Device(1):
        y = cupy.ones(3)
    x = cupy.ones(3)
    with pytest.raises(ValueError, match="Peer access is unavailable"):
        x + y
    with cupy.cuda.Device(1):
        assert (y + 1).device.id == 1
    assert cupy.cuda.runtime.deviceCanAccessPeer(0, 1) == 0


def test_random_numbers_come_from_a_stream_other_than_numpys(cupy):
    got = cupy.random.default_rng(0).random(5).get()
    assert not np.allclose(got, np.random.default_rng(0).random(5))
    np.testing.assert_array_equal(got, cupy.random.default_rng(0).random(5).get())  # but they repeat


def test_empty_memory_holds_garbage(cupy):
    assert np.isnan(cupy.empty(4).get()).all()


def test_host_synchronisation_during_capture_fails_and_invalidates_the_graph(cupy):
    x = cupy.arange(3.0)
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        y = x * 2
        with pytest.raises(cupy.cuda.runtime.CUDARuntimeError, match="cudaErrorStreamCaptureUnsupported"):
            y.get()
        with pytest.raises(cupy.cuda.runtime.CUDARuntimeError, match="cudaErrorStreamCaptureInvalidated"):
            stream.end_capture()


def test_captured_work_runs_at_launch_not_at_capture(cupy):
    x = cupy.arange(3.0)
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        y = x * 2
        x += 1
        graph = stream.end_capture()
    assert np.isnan(y.get()).all() and x.get().tolist() == [0.0, 1.0, 2.0]  # nothing ran yet
    graph.launch()
    assert y.get().tolist() == [0.0, 2.0, 4.0] and x.get().tolist() == [1.0, 2.0, 3.0]
    graph.launch()
    assert y.get().tolist() == [2.0, 4.0, 6.0] and x.get().tolist() == [2.0, 3.0, 4.0]


def test_the_pool_limit_frees_cached_blocks_first_then_raises_cupys_error(cupy):
    pool = cupy.get_default_memory_pool()
    pool.free_all_blocks()
    try:
        pool.set_limit(size=pool.total_bytes() + 8192)
        a = cupy.empty(1024)  # 8 KiB: the whole allowance
        del a  # now cached by the pool, still counted in total_bytes
        b = cupy.empty(1024)  # fits only because the pool frees its cached blocks first
        with pytest.raises(cupy.cuda.memory.OutOfMemoryError, match=r"Out of memory allocating 8,192 bytes "
                                                                     r"\(allocated so far: .*limit set to"):
            cupy.empty(1024)
        del b
    finally:
        pool.set_limit(size=0)


def test_elementwise_kernels_enforce_cupys_type_rules(cupy):
    kernel = cupy.ElementwiseKernel("T x, float64 y", "T z", "z = x * y", "scale")
    x = cupy.arange(3.0)
    np.testing.assert_array_equal(kernel(x, cupy.full(3, 2.0)).get(), [0.0, 2.0, 4.0])
    with pytest.raises(TypeError, match="Type is mismatched"):
        kernel(x, cupy.full(3, 2.0, dtype=cupy.float32))
    with pytest.raises(TypeError, match="Output arguments must be cupy.ndarray"):
        kernel(x, cupy.full(3, 2.0), np.empty(3))


def test_raw_modules_resolve_name_expressions_when_a_function_is_taken(cupy):
    from gpugrad.backends import kernels

    module = cupy.RawModule(code=kernels.load_source("reduce.cu"), name_expressions=["sum_all_partial<float>"])
    assert module.get_function("sum_all_partial<float>") is not None
    with pytest.raises(Exception, match="named symbol not found"):
        module.get_function("sum_all_partial<half>")
    with pytest.raises(NotImplementedError, match="only gpugrad's kernels"):
        cupy.RawModule(code='extern "C" __global__ void f() {}')


def test_the_device_says_it_is_emulated():
    import gpugrad as gg

    assert "emulated" in gg.cuda.get_device_name(0) and "not a GPU" in gg.cuda.get_device_name(0)
    assert gg.cuda.device_count() == 2


def test_gpu_benchmarks_and_gpu_sh_refuse_the_emulation(capsys):
    import subprocess
    import sys
    from pathlib import Path

    from gpugrad.bench.cli import main

    assert main(["tiny", "--device", "cuda", "--tiny"]) == 2
    assert "emulation (not a GPU)" in capsys.readouterr().err
    script = Path(__file__).resolve().parents[2] / "ci" / "gpu.sh"
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHON": sys.executable})
    assert done.returncode == 3 and "emulated CuPy is not a GPU" in done.stderr
