"""Tracing from several threads: each thread records only its own ops, and the hooks come off at the end.

Tracing swaps class and module attributes (``Tensor.array``/``Tensor.grad``,
the CPU device's ``xp``) for the whole process, so
these tests force threads to overlap while tracing (barriers and events, all
with timeouts so a broken build fails instead of hanging).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.graph import Graph, compile, placeholder
from gpugrad.graph import tracer as tracer_module
from gpugrad.graph.tracer import raw_data
from gpugrad.ops import shape as shape_ops
from gpugrad.tensor import Tensor

F64 = gg.float64
WAIT_S = 20  # generous: only reached when a thread is stuck

# what tracing replaces, as they are before any trace (this module is imported outside traces)
ORIGINAL_DATA = vars(Tensor)["array"]
ORIGINAL_GRAD = vars(Tensor)["grad"]
ORIGINAL_XP = gg.device("cpu").xp


def _assert_hooks_removed():
    assert vars(Tensor)["array"] is ORIGINAL_DATA
    assert vars(Tensor)["grad"] is ORIGINAL_GRAD
    assert gg.device("cpu").xp is ORIGINAL_XP is np


def _run_threads(*targets, on_error=()):
    """Run each target in its own thread; re-raise the first error here.

    ``on_error`` are barriers/events released when a thread fails, so the others stop waiting.
    """
    results, errors = [None] * len(targets), []

    def run(i, target):
        try:
            results[i] = target()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)
            for sync in on_error:
                sync.abort() if isinstance(sync, threading.Barrier) else sync.set()

    threads = [threading.Thread(target=run, args=(i, t), daemon=True) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(3 * WAIT_S)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    if errors:
        raise errors[0]
    return results


def _wait(event):
    assert event.wait(WAIT_S), "the other thread did not get there"


# ------------------------------------------------------- two threads training
def _training_problem(offset: float, on_trace=lambda: None):
    """A small curve fit with momentum; the step's forward gathers with repeated indices (scatter_add)."""
    x = gg.linspace(-10, 10, 64, dtype=F64)
    y = 1.5 * gg.sin(x) + 1.2 * gg.cos(x / 4)
    theta = gg.tensor([0.5 + offset, -0.3 - offset, 0.8], dtype=F64, requires_grad=True)
    opt = gg.optim.SGD([theta], lr=0.01, momentum=0.9)
    executions = [0]

    def step():
        executions[0] += 1
        tracing = executions[0] == 2  # gg.compile runs call 1 eagerly (warm-up) and traces call 2
        pred = theta[0] * x + theta[1] * gg.sin(x) + theta[2] * gg.cos(x / 4)
        loss = gg.nn.functional.mse_loss(pred, y) + 1e-3 * (theta[gg.tensor([0, 0, 2])] ** 2).sum()
        if tracing:
            on_trace()
        opt.zero_grad()
        loss.backward()
        if tracing:
            on_trace()
        opt.step()
        return loss

    return theta, step


def test_two_threads_compile_and_train_concurrently_and_match_eager():
    calls = 25
    offsets = (0.0, 0.7)
    expected = []
    for offset in offsets:
        theta, step = _training_problem(offset)
        losses = [step().item() for _ in range(calls)]
        expected.append((losses, theta.detach().numpy().copy(), theta.grad.numpy().copy()))

    barrier = threading.Barrier(len(offsets))

    def train(offset):
        def run():
            theta, step = _training_problem(offset, on_trace=lambda: barrier.wait(WAIT_S))
            compiled = compile(step)
            losses = [compiled().item() for _ in range(calls)]
            return compiled.traces, losses, theta.detach().numpy().copy(), theta.grad.numpy().copy()

        return run

    results = _run_threads(*(train(o) for o in offsets), on_error=[barrier])
    for (traces, losses, theta, grad), (losses_e, theta_e, grad_e) in zip(results, expected):
        assert traces == 1
        np.testing.assert_allclose(losses, losses_e, rtol=1e-12)
        np.testing.assert_allclose(theta, theta_e, rtol=1e-12)
        np.testing.assert_allclose(grad, grad_e, rtol=1e-12)
    _assert_hooks_removed()


# ------------------------------------------- eager work beside a running trace
def _eager_work():
    """Creation, conversion, autograd and a scatter-add (repeated-index gather backward), all eager."""
    a = gg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64, requires_grad=True)
    z = gg.zeros(3, dtype=F64)
    loss = (a[gg.tensor([0, 1, 0])] * 2.0).sum() + a.exp().sum()
    loss.backward()
    return a, z, loss


def _check_eager_work(a, z, loss):
    for t in (a, a.grad, z, loss):
        assert type(raw_data(t)) is np.ndarray
        assert type(t.array) is np.ndarray
    a_np = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(z.numpy(), np.zeros(3))
    np.testing.assert_allclose(loss.item(), 2 * (a_np[0].sum() * 2 + a_np[1].sum()) + np.exp(a_np).sum(), rtol=1e-14)
    np.testing.assert_allclose(a.grad.numpy(), np.array([[4.0, 4.0], [2.0, 2.0]]) + np.exp(a_np), rtol=1e-14)


def _traced_with_compile(pause):
    w = gg.tensor([1.0, -2.0, 0.5], dtype=F64, requires_grad=True)

    def fn(x):
        w.grad = None
        hidden = gg.tanh(x * w)
        pause()
        loss = (hidden * hidden).sum() + gg.zeros(3, dtype=F64).sum()
        loss.backward()
        return loss, w.grad

    compiled = compile(fn, warmup=False)
    x = gg.tensor([0.3, 0.1, -0.2], dtype=F64)
    loss, grad = compiled(x)  # the trace
    ops = [n.op for n in compiled.graph.leaves + compiled.graph.nodes]
    h = np.tanh(x.numpy() * w.detach().numpy())
    np.testing.assert_allclose(loss.item(), (h * h).sum(), rtol=1e-14)
    np.testing.assert_allclose(grad.numpy(), 2 * h * (1 - h * h) * x.numpy(), rtol=1e-14)
    compiled(x)  # and a replay
    return ops


def _traced_with_graph(pause):
    with Graph() as g:
        x = placeholder((3,), F64, name="x")
        hidden = gg.tanh(x * 2.0)
        pause()
        out = (hidden * hidden).sum() + gg.zeros(3, dtype=F64).sum()
    ops = [n.op for n in g._tracer.all_nodes]
    v = np.array([0.3, 0.1, -0.2])
    np.testing.assert_allclose(g.run(out, feed={x: v}).item(), (np.tanh(2 * v) ** 2).sum(), rtol=1e-14)
    return ops


@pytest.mark.parametrize("trace", [_traced_with_compile, _traced_with_graph], ids=["compile", "graph"])
def test_eager_ops_in_another_thread_are_not_recorded_into_the_trace(trace):
    reference_ops = trace(lambda: None)  # the same trace with nothing running beside it
    inside, eager_done = threading.Event(), threading.Event()

    def pause():
        inside.set()
        _wait(eager_done)

    def eager():
        _wait(inside)
        assert tracer_module.current() is None  # the worker's tracer is not this thread's
        try:
            return _eager_work()
        finally:
            eager_done.set()

    ops, work = _run_threads(lambda: trace(pause), eager, on_error=[inside, eager_done])
    assert ops == reference_ops
    _check_eager_work(*work)
    _assert_hooks_removed()


# ----------------------------------------------- hooks, exits out of order
def _trace_in_compile(entered, release, fail=False):
    x = gg.tensor([1.0, 2.0, 3.0], dtype=F64)

    def fn():
        y = x * 2.0
        entered.set()
        _wait(release)
        if fail:
            raise ValueError("the traced function failed")
        return y.sum()

    return compile(fn, warmup=False)().item()


def _trace_in_graph(entered, release, fail=False):
    with Graph() as g:
        p = placeholder((3,), F64, name="p")
        y = (p * 2.0).sum()
        entered.set()
        _wait(release)
    return g.run(y, feed={p: np.array([1.0, 2.0, 3.0])}).item()


@pytest.mark.parametrize("second", ["compile", "compile_raises", "graph"])
def test_hooks_come_off_when_traces_end_out_of_order(second):
    """A starts tracing, B starts, A ends, B ends: the originals must be back, and stay usable."""
    a_in, b_in, a_out, b_may_end = (threading.Event() for _ in range(4))

    def first():
        result = _trace_in_compile(a_in, b_in)
        a_out.set()
        return result

    def then():
        _wait(a_in)
        trace = _trace_in_graph if second == "graph" else _trace_in_compile
        if second == "compile_raises":
            with pytest.raises(ValueError, match="traced function failed"):
                trace(b_in, b_may_end, fail=True)
            return None
        return trace(b_in, b_may_end)

    def main_thread_checks():
        _wait(b_in)  # both threads are tracing now
        assert tracer_module.current() is None
        t = gg.tensor([1.0, 2.0], dtype=F64)
        assert type(t.array) is np.ndarray
        _wait(a_out)  # A's trace ended; B's is still open
        b_may_end.set()

    results = _run_threads(first, then, main_thread_checks, on_error=[a_in, b_in, a_out, b_may_end])
    assert results[0] == 12.0
    assert results[1] == (None if second == "compile_raises" else 12.0)
    _assert_hooks_removed()
    t = gg.tensor([3.0], dtype=F64, requires_grad=True)
    (t * t).sum().backward()
    assert type(t.array) is np.ndarray and t.grad.item() == 6.0


def test_nested_graphs_keep_recording_while_another_thread_traces():
    outer_in, inner_done, other_in = (threading.Event() for _ in range(3))

    def nested():
        with Graph() as outer:
            p = placeholder((2,), F64, name="p")
            y = p * 3.0
            outer_in.set()
            _wait(other_in)
            with Graph() as inner:
                q = placeholder((2,), F64, name="q")
                z = q + 1.0
            assert tracer_module.current() is outer._tracer
            w = y * y  # must still be recorded into the outer graph
            assert raw_data(w).node.tracer is outer._tracer
        inner_done.set()
        v = np.array([1.0, -2.0])
        return outer.run(w, feed={p: v}).numpy(), inner.run(z, feed={q: v}).numpy()

    def other():
        _wait(outer_in)
        return _trace_in_compile(other_in, inner_done)

    (outer_value, inner_value), other_value = _run_threads(nested, other, on_error=[outer_in, inner_done, other_in])
    np.testing.assert_allclose(outer_value, [9.0, 36.0])
    np.testing.assert_allclose(inner_value, [2.0, -1.0])
    assert other_value == 12.0
    _assert_hooks_removed()


def test_an_xp_read_while_another_thread_traces_still_scatters_after_the_trace_ends():
    entered, release = threading.Event(), threading.Event()
    worker = threading.Thread(target=_trace_in_compile, args=(entered, release), daemon=True)
    worker.start()
    try:
        _wait(entered)
        xp = gg.device("cpu").xp  # what ArrayFunction.__call__ stores as self.xp for an op starting now
    finally:
        release.set()
        worker.join(WAIT_S)
    _assert_hooks_removed()
    out = np.zeros(3)
    shape_ops.scatter_add(xp, out, np.array([0, 0, 2]), np.ones(3))  # what IndexAdd.forward does next
    np.testing.assert_array_equal(out, [2.0, 0.0, 1.0])
