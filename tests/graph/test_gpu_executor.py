"""The GPU executor's schedule (fused regions launched as kernels), checked on the CPU and, with a GPU, on CuPy.

On the CPU the region kernels run through the g++ harness (``conftest.EmulatedLauncher``):
the same generated source, the same schedule, NumPy arrays instead of device arrays.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.graph import compile
from gpugrad.graph.executor import Executor, xp_function
from gpugrad.graph.tracer import raw_data
from graph_test_steps import curve_fit_step


def _curve_fit_step(dtype, n=1000, device="cpu"):
    theta, _, step = curve_fit_step(n, dtype, momentum=0.9, device=device)
    return [theta], step


def _mlp_step(dtype, device="cpu"):
    gg.manual_seed(1)
    model = gg.nn.Sequential(gg.nn.Linear(5, 16), gg.nn.Tanh(), gg.nn.Linear(16, 16), gg.nn.ReLU(),
                             gg.nn.Linear(16, 1)).to(device=device, dtype=dtype)
    x = gg.randn(32, 5, dtype=dtype).to(device)
    y = (x[:, :1] * 2.0).sin()
    opt = gg.optim.SGD(model.parameters(), lr=0.05)

    def step():
        loss = gg.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return list(model.parameters()), step


CASES = {"curve fit": _curve_fit_step, "mlp": _mlp_step}


def _traced(make, dtype):
    params, step = make(dtype)
    compiled = compile(step)
    compiled()
    compiled()
    return params, compiled


def _run(executor, exe, params):
    """Run one step with ``executor``; returns its outputs and the parameters after it, then undoes the step."""
    externals = exe.externals()  # parameters, data, momentum buffers: everything the step may write
    before = [a.copy() for a in externals]
    outputs = executor([], externals)
    after = [raw_data(p).copy() for p in params]
    for a, b in zip(externals, before):
        a[...] = b
    return [np.asarray(o) for o in outputs], after


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", [gg.float64, gg.float32])
def test_fused_regions_launched_as_kernels_match_the_numpy_executor(case, dtype, emulated_launcher):
    params, compiled = _traced(CASES[case], dtype)
    exe = compiled.last.exe
    assert exe.prog.regions, "nothing was fused: the test would not launch a kernel"
    launches = emulated_launcher.launches
    fused = Executor(exe.prog, launch=emulated_launcher)
    assert "# fused" in fused.source
    expected, expected_params = _run(exe.executor, exe, params)
    got, got_params = _run(fused, exe, params)
    assert emulated_launcher.launches - launches == len(exe.prog.regions)
    rtol = 1e-12 if dtype is gg.float64 else 1e-5
    for e, g in zip(expected + expected_params, got + got_params):
        np.testing.assert_allclose(g, e, rtol=rtol, atol=rtol * 1e-3)


def test_kernel_outputs_never_share_a_buffer_with_the_kernels_inputs(emulated_launcher):
    _, compiled = _traced(_curve_fit_step, gg.float64)
    fused = Executor(compiled.last.exe.prog, launch=emulated_launcher)
    for line in fused.source.splitlines():
        if "# fused" in line:
            call = line.split("#")[0]
            names = call[call.index("(") + 1:call.rindex(")")].split(", ")
            assert len(set(names)) == len(names), line


def test_numpy_functions_map_to_cupy_functions_of_the_same_name():
    cupy = pytest.importorskip("cupy")
    assert xp_function(np.sin, cupy) is cupy.sin
    assert xp_function(np.add.at, cupy) == cupy.add.at
    assert xp_function(np.where, cupy) is cupy.where
    assert xp_function(np.zeros, cupy) is cupy.zeros
    method = compile.__module__  # anything that is not NumPy's stays itself
    assert xp_function(len, cupy) is len and method


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_recorded_function_has_a_cupy_counterpart(case):
    cupy = pytest.importorskip("cupy")
    _, compiled = _traced(CASES[case], gg.float32)
    prog = compiled.last.exe.prog
    for n in list(prog.all_nodes()) + prog.fold_program:
        if n.fn is not None and callable(n.fn):
            xp_function(n.fn, cupy)  # raises NotImplementedError for a function CuPy lacks


def test_xp_function_is_the_identity_on_numpy():
    assert xp_function(np.sin, np) is np.sin and xp_function(np.add.at, np) == np.add.at


# ------------------------------------------------------------------ on a GPU
@pytest.mark.gpu
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", [gg.float64, gg.float32])
def test_a_compiled_step_on_the_gpu_matches_eager_on_the_gpu_and_on_the_cpu(case, dtype):
    params_c, compiled = CASES[case](dtype, device="cuda")
    params_g, eager_gpu = CASES[case](dtype, device="cuda")
    params_h, eager_cpu = CASES[case](dtype, device="cpu")
    compiled = compile(compiled)
    rtol = 1e-10 if dtype is gg.float64 else 1e-4
    for _ in range(12):
        got, on_gpu, on_cpu = compiled(), eager_gpu(), eager_cpu()
        assert got.device.type == "cuda"
        assert got.item() == pytest.approx(on_gpu.item(), rel=rtol)
        assert got.item() == pytest.approx(on_cpu.item(), rel=rtol)
    for c, g, h in zip(params_c, params_g, params_h):
        np.testing.assert_allclose(c.detach().cpu().numpy(), g.detach().cpu().numpy(), rtol=rtol, atol=rtol)
        np.testing.assert_allclose(c.detach().cpu().numpy(), h.detach().numpy(), rtol=rtol, atol=rtol)
    replay = compiled.last.exe.executor
    assert compiled.traces == 1
    assert replay.reason is None and replay.captures == 1  # replayed as one CUDA graph
    assert "# fused" in replay.source  # fused regions ran as ElementwiseKernels


@pytest.mark.gpu
def test_a_returned_loss_is_not_overwritten_by_the_next_graph_launch():
    _, step = _curve_fit_step(gg.float64, device="cuda")
    compiled = compile(step)
    losses = [compiled() for _ in range(6)]
    values = [loss.item() for loss in losses]
    assert len(set(values)) == len(values)  # each call's loss kept its own value


@pytest.mark.gpu
def test_a_replaced_parameter_array_is_captured_again():
    params, step = _curve_fit_step(gg.float64, device="cuda")
    compiled = compile(step)
    for _ in range(4):
        compiled()
    (theta,) = params
    with gg.no_grad():
        with theta.device.activate():
            theta.array = theta.array.copy()  # a new array: the graph's address for theta is stale
    compiled()
    assert compiled.last.exe.executor.captures == 2


@pytest.mark.gpu
def test_a_data_dependent_branch_runs_uncaptured_and_says_why():
    x = gg.tensor([1.0, -2.0, 3.0], dtype=gg.float64, device="cuda")

    @compile
    def f():
        return gg.cond((x.sum() > 0), lambda: x * 2.0, lambda: x - 1.0)

    results = [f() for _ in range(4)]
    np.testing.assert_allclose(results[-1].cpu().numpy(), [2.0, -4.0, 6.0])
    assert f.last.exe.executor.reason is not None


@pytest.mark.parametrize("dtype", [gg.float64, gg.float32])
def test_elementwise_kernels_are_accepted_by_cupy(dtype):
    """CuPy parses the generated parameter lists (compiling needs a GPU: that is the gpu tests' part)."""
    cupy = pytest.importorskip("cupy")
    from gpugrad.graph.cuda import PRELUDE, region_kernels

    _, compiled = _traced(_mlp_step, dtype)
    for kernel in region_kernels(compiled.last.exe.prog):
        in_params, out_params, operation = kernel.elementwise
        made = cupy.ElementwiseKernel(in_params, out_params, operation, kernel.name, preamble=PRELUDE)
        assert made.nin == len(kernel.inputs) and made.nout == len(kernel.outputs)
        assert all(p.split()[0] == dtype.np.name for p in in_params.split(", ") if p)


def test_placeholders_take_a_device_and_the_graph_runs_there():
    with gg.Graph() as g:
        a = gg.placeholder((3,), gg.float64, name="a", device="cpu")
        y = (a * 2.0).sin()
    assert a.device.type == "cpu"
    out = g.run(y, feed={a: np.array([0.1, 0.2, 0.3])})
    assert out.device.type == "cpu"
    np.testing.assert_allclose(out.numpy(), np.sin(2 * np.array([0.1, 0.2, 0.3])))


@pytest.mark.gpu
def test_a_define_then_run_graph_on_the_gpu_matches_the_cpu():
    cupy = pytest.importorskip("cupy")
    results = {}
    for device in ("cpu", "cuda"):
        w = gg.tensor([0.5, -1.5, 2.0], dtype=gg.float64).to(device)
        with gg.Graph() as g:
            x = gg.placeholder((3,), gg.float64, name="x", device=device)
            loss = ((x * w).tanh() - 0.25).square().sum()
            (dx,) = gg.gradients(loss, [x])
        feed = gg.tensor([0.3, 0.1, -0.2], dtype=gg.float64).to(device)
        results[device] = [t.cpu().numpy() for t in g.run([loss, dx], feed={x: feed})]
        if device == "cuda":
            with pytest.raises(ValueError, match="not on cuda"):
                g.run(loss, feed={x: np.zeros(3)})  # no implicit host-to-device copy
            assert isinstance(raw_data(g.run(loss, feed={x: feed})), cupy.ndarray)
    for got, want in zip(results["cuda"], results["cpu"]):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def _fused_vs_numpy(fn, x, emulated_launcher):
    """Trace ``fn(x)`` and run its program with the NumPy executor and with emulated kernels: both results."""
    compiled = compile(fn, warmup=False)
    compiled(x)
    exe = compiled.last.exe
    fused = Executor(exe.prog, launch=emulated_launcher)
    return exe.prog, exe.executor([raw_data(x)], exe.externals()), fused([raw_data(x)], exe.externals())


def test_float32_kernels_treat_python_numbers_as_float32_like_numpy(emulated_launcher):
    x = gg.tensor(np.array([0.1, 0.3, 2.0, -1.7], dtype=np.float32))

    def f(x):
        return gg.where(x == 0.1, x * 0.1, x + 1.7) * 3.3

    prog, expected, got = _fused_vs_numpy(f, x, emulated_launcher)
    assert prog.regions
    np.testing.assert_array_equal(got[0], expected[0])  # bit for bit: the same float32 arithmetic
    assert expected[0][0] == np.float32(np.float32(0.1) * np.float32(0.1)) * np.float32(3.3)


def test_infinite_constants_stay_out_of_kernels(emulated_launcher):
    x = gg.tensor([0.5, -1.0, 2.0, -3.0], dtype=gg.float64)

    def f(x):
        return gg.where(x > 0, x * 2.0, float("-inf")) + 1.0

    prog, expected, got = _fused_vs_numpy(f, x, emulated_launcher)
    from gpugrad.graph.cuda import region_kernels

    assert all("inf" not in k.source for k in region_kernels(prog))
    np.testing.assert_array_equal(got[0], expected[0])


def test_functions_of_numpy_submodules_map_to_cupy_submodules():
    cupy = pytest.importorskip("cupy")
    assert xp_function(np.linalg.norm, cupy) is cupy.linalg.norm
    assert xp_function(np.sum, cupy) is cupy.sum  # defined in numpy._core: the top level


@pytest.mark.gpu
def test_in_place_changes_to_arguments_survive_graph_launches():
    x = gg.tensor([1.0, 2.0], dtype=gg.float64, device="cuda")

    @compile
    def f(x):
        with gg.no_grad():
            x.mul_(2.0)
        return x.sum()

    sums = [f(x).item() for _ in range(5)]
    assert sums == [6.0, 12.0, 24.0, 48.0, 96.0]
    np.testing.assert_array_equal(x.cpu().numpy(), [32.0, 64.0])


@pytest.mark.gpu
def test_a_tensor_given_a_new_array_every_step_runs_uncaptured():
    w = gg.tensor([1.0, 2.0], dtype=gg.float64, device="cuda", requires_grad=True)

    @compile
    def f():
        loss = (w * w).sum()
        loss.backward()
        with gg.no_grad():
            with w.device.activate():
                w.array = w.array - 0.1 * w.grad.array  # a new array each call
            w.grad = None
        return loss

    eager_w = np.array([1.0, 2.0])
    for _ in range(6):
        f()
        eager_w = eager_w - 0.1 * 2 * eager_w
    np.testing.assert_allclose(w.detach().cpu().numpy(), eager_w, rtol=1e-12)
    assert "every call" in f.last.exe.executor.reason
