"""gg.compile: compiled results equal eager ones; guards, re-tracing, folding, value reads."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.graph import TraceValueError, compile, cond
from graph_test_steps import curve_fit_step

F64 = gg.float64


def _curve_fit(n=64, momentum=0.0):
    return curve_fit_step(n, momentum=momentum)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_compiled_training_step_matches_eager(momentum):
    theta_e, _, eager = _curve_fit(momentum=momentum)
    theta_c, _, step = _curve_fit(momentum=momentum)
    compiled = compile(step)
    for _ in range(20):
        le, lc = eager(), compiled()
        assert lc.item() == pytest.approx(le.item(), rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(theta_c.detach().numpy(), theta_e.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(theta_c.grad.numpy(), theta_e.grad.numpy(), rtol=1e-12)
    assert compiled.traces == 1 and compiled.replays == 18


def test_outputs_are_fresh_tensors_each_call():
    _, _, step = _curve_fit()
    compiled = compile(step)
    losses = [compiled() for _ in range(5)]
    values = [v.item() for v in losses]
    assert len(set(values)) == 5  # no output was overwritten by a later call
    assert losses[-1].grad_fn is None


# a representative op set: each entry maps input tensors to a scalar loss
OPS = {
    "arith": lambda a, b: ((a + b) * (a - b) / (b * b + 1.0) - a ** 2).sum(),
    "unary": lambda a, b: (a.exp() + b.tanh() + a.sigmoid() + (b * b + 1).log() + a.sin() * b.cos()).sum(),
    "activations": lambda a, b: (gg.relu(a) + gg.softplus(b) + gg.leaky_relu(a, 0.1) + a.abs()).mean(),
    "reductions": lambda a, b: a.sum(dim=0).pow(2).sum() + b.mean(dim=1, keepdim=True).sum() + a.amax(dim=1).sum(),
    "softmax": lambda a, b: (gg.softmax(a, dim=1) * b).sum() + gg.log_softmax(b, dim=0).mean(),
    "matmul": lambda a, b: (a @ b.T).tanh().sum(),
    "shapes": lambda a, b: (a.reshape(12).unsqueeze(0) * b.flatten()).sum() + a.T.sum(dim=0).pow(2).sum(),
    "indexing": lambda a, b: (a[1:, ::2] * b[:2, 1:3]).sum() + a[gg.tensor([0, 2, 0])].sum() + a[0, 1] * 3,
    "cat_where": lambda a, b: gg.cat([a, b], dim=0).pow(2).sum() + gg.where(a > 0, a, b * 2).sum(),
    "maximum_clamp": lambda a, b: (gg.maximum(a, b) + gg.clamp(a, -0.5, 0.5)).sum(),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_compiled_ops_match_eager_values_and_gradients(name):
    op = OPS[name]
    gg.manual_seed(1)
    a0, b0 = gg.randn(3, 4, dtype=F64), gg.randn(3, 4, dtype=F64)

    def run(compiled):
        a = a0.clone().requires_grad_()
        b = b0.clone().requires_grad_()

        def fn(a, b):
            a.grad = b.grad = None
            loss = op(a, b)
            loss.backward()
            return loss, a.grad, b.grad

        f = compile(fn) if compiled else fn
        results = [f(a, b) for _ in range(3)]  # eager warm-up, trace, replay
        return results

    for (le, gae, gbe), (lc, gac, gbc) in zip(run(False), run(True)):
        np.testing.assert_allclose(lc.item(), le.item(), rtol=1e-12)
        np.testing.assert_allclose(gac.numpy(), gae.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(gbc.numpy(), gbe.numpy(), rtol=1e-12, atol=1e-14)


def test_new_inputs_are_fed_and_a_shape_change_retraces(capsys):
    @compile(explain=True)
    def f(x):
        return (x * x).sum()

    for v in (1.0, 2.0, 3.0):
        assert f(gg.full((3,), v, dtype=F64)).item() == 3 * v * v
    assert f.traces == 1
    assert f(gg.ones(5, dtype=F64)).item() == 5.0
    assert f.traces == 2
    assert "argument 0 shape changed from (3,) to (5,)" in capsys.readouterr().err
    f(gg.ones(5, dtype=gg.float32))
    assert "dtype changed" in f.reasons[-1]
    f(gg.ones(5, dtype=gg.float32, requires_grad=True))
    assert "requires_grad changed" in f.reasons[-1]


def test_grad_none_guard_retraces_when_grads_are_kept():
    theta_e, _, _ = _curve_fit()
    theta = gg.tensor([1.0, 2.0], dtype=F64, requires_grad=True)

    @compile
    def f():
        (theta * theta).sum().backward()  # accumulates: the result depends on whether .grad was None

    for _ in range(3):
        f()
    np.testing.assert_allclose(theta.grad.numpy(), 3 * 2 * np.array([1.0, 2.0]))
    theta.grad = None
    f()
    np.testing.assert_allclose(theta.grad.numpy(), 2 * np.array([1.0, 2.0]))
    assert any(".grad" in r for r in f.reasons)
    del theta_e


def test_folded_values_follow_an_in_place_change_of_a_captured_tensor():
    x = gg.linspace(0, 1, 8, dtype=F64)
    w = gg.tensor(2.0, dtype=F64)

    @compile
    def f():
        return (gg.sin(x) * w).sum()

    for _ in range(3):
        f()
    assert "folded" in str(f.graph)
    with gg.no_grad():
        x.mul_(2.0)  # bumps x's version: the folded sin(x) must be recomputed
    np.testing.assert_allclose(f().item(), 2 * np.sin(np.linspace(0, 2, 8)).sum(), rtol=1e-12)
    with gg.no_grad():
        w.fill_(3.0)
    np.testing.assert_allclose(f().item(), 3 * np.sin(np.linspace(0, 2, 8)).sum(), rtol=1e-12)


def test_reading_a_value_while_tracing_raises_and_rolls_back():
    theta = gg.tensor([1.0, 2.0], dtype=F64, requires_grad=True)

    @compile
    def f():
        loss = (theta * theta).sum()
        with gg.no_grad():
            theta.sub_(0.5)
        if loss.item() > 0:
            return loss
        return -loss

    f()  # eager warm-up
    np.testing.assert_allclose(theta.detach().numpy(), [0.5, 1.5])
    with pytest.raises(TraceValueError, match="gg.cond"):
        f()
    np.testing.assert_allclose(theta.detach().numpy(), [0.5, 1.5])  # the aborted trace left no trace
    assert isinstance(theta.array, np.ndarray)


def test_fallback_eager_runs_the_function_and_says_why():
    x = gg.tensor([1.0, -2.0], dtype=F64)

    @compile(fallback="eager")
    def f():
        return x.sum() if float(x.sum()) > 0 else -x.sum()

    assert [f().item() for _ in range(3)] == [1.0, 1.0, 1.0]
    assert "eagerly" in f.reasons[-1]


def test_cond_inside_compile_follows_the_data():
    x = gg.tensor([1.0, 2.0], dtype=F64)

    @compile
    def f():
        s = x.sum()
        return cond(s > 0, lambda: s * 2.0, lambda: s * -1.0)

    assert [f().item() for _ in range(3)] == [6.0, 6.0, 6.0]
    with gg.no_grad():
        x.fill_(-1.0)
    assert f().item() == 2.0


# ------------------------------------------------------------------ issue 11: cache bound, numpy(), random ops
def test_the_cache_holds_at_most_cache_size_limit_signatures_then_runs_eagerly():
    w = gg.tensor([2.0], dtype=F64)
    compiled = compile(lambda x: (x * w).sum(), cache_size_limit=3)
    with pytest.warns(RuntimeWarning, match="cache_size_limit"):
        for n in range(1, 12):
            x = gg.arange(n, dtype=F64)
            assert compiled(x).item() == pytest.approx(n * (n - 1))
    assert compiled.cache_size == 3 and compiled.traces == 3
    compiled.clear_cache()
    assert compiled.cache_size == 0 and compiled.last is None
    assert compiled(gg.arange(20, dtype=F64)).item() == pytest.approx(380.0)
    assert compiled.cache_size == 1


def test_the_default_cache_limit_matches_torch_compile():
    compiled = compile(lambda x: x * 2)
    assert compiled.cache_size_limit == 8
    with pytest.raises(ValueError, match="cache_size_limit"):
        compile(lambda x: x, cache_size_limit=0)


def test_numpy_inside_a_compiled_function_raises_like_item():
    x = gg.tensor([1.0, 2.0], dtype=F64)

    @compile(warmup=False)
    def f():
        return (x * 2).numpy()

    with pytest.raises(TraceValueError, match="NumPy array"):
        f()
    assert isinstance(x.array, np.ndarray)

    @compile(warmup=False, fallback="eager")
    def g():
        return np.asarray(x * 2) + 1

    for _ in range(3):
        result = g()
        assert isinstance(result, np.ndarray) and result.tolist() == [3.0, 5.0]


@pytest.mark.parametrize("draw", [
    lambda x: gg.nn.functional.dropout(x, 0.5),
    lambda x: x + gg.rand(6, dtype=F64),
    lambda x: x + gg.randn(6, dtype=F64),
    lambda x: x + gg.rand_like(x),
    lambda x: x + gg.randint(0, 100, (6,)).to(F64),
], ids=["dropout", "rand", "randn", "rand_like", "randint"])
@pytest.mark.parametrize("graph_kind", ["compile", "graph"])
def test_random_ops_draw_fresh_numbers_at_each_replay_as_eager_code_does(draw, graph_kind):
    x = gg.ones(6, dtype=F64)
    gg.manual_seed(7)
    eager = [draw(x).numpy().copy() for _ in range(5)]
    gg.manual_seed(7)
    if graph_kind == "compile":
        compiled = compile(lambda: draw(x))
        replayed = [compiled().numpy().copy() for _ in range(5)]
        assert compiled.replays == 3
        for a, b in zip(replayed, eager):
            np.testing.assert_array_equal(a, b)
    else:
        with gg.Graph() as g:
            p = gg.placeholder((6,), F64, name="p")
            y = draw(p)
        replayed = [g.run(y, feed={p: np.ones(6)}).numpy().copy() for _ in range(5)]
    assert len({a.tobytes() for a in replayed}) == 5, "a replay reused the numbers drawn while tracing"
