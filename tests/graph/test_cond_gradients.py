"""Gradients through gg.cond in static graphs (issue 11): the backward branch reads what the forward branch
computed, in gg.Graph and under gg.compile, for nested conds and for graphs built inside other graphs."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg

F64 = gg.float64
BRANCHES = {  # name: (true branch, false branch, d(true)/dp, d(false)/dp), as functions of p
    "exp-or-times-3": (lambda p: p.exp(), lambda p: p * 3, np.exp, lambda v: np.full_like(v, 3.0)),
    "sqrt": (lambda p: p.sqrt(), lambda p: p * 2, lambda v: 0.5 / np.sqrt(v), lambda v: np.full_like(v, 2.0)),
    "tanh": (lambda p: p.tanh(), lambda p: -p, lambda v: 1 - np.tanh(v) ** 2, lambda v: -np.ones_like(v)),
    "cube": (lambda p: p * p * p, lambda p: p, lambda v: 3 * v ** 2, np.ones_like),
    "square-plus-1": (lambda p: (p + 1) ** 2, lambda p: p.sin(), lambda v: 2 * (v + 1), np.cos),
}
VALUES = [np.array([1.0, 2.0, 3.0]), np.array([-1.0, -2.0, 0.5])]


@pytest.mark.parametrize("name", list(BRANCHES))
@pytest.mark.parametrize("fetch_output", [False, True], ids=["grad-only", "with-output"])
def test_gradients_through_cond_in_a_graph(name, fetch_output):
    true_fn, false_fn, d_true, d_false = BRANCHES[name]
    with gg.Graph() as g:
        p = gg.placeholder((3,), F64, name="p")
        out = gg.cond(p.sum() > 0, lambda: true_fn(p), lambda: false_fn(p))
        (dp,) = gg.gradients(out, [p])
    for v in VALUES:
        expected = d_true(v) if v.sum() > 0 else d_false(v)
        got = g.run([out, dp], feed={p: v})[1] if fetch_output else g.run(dp, feed={p: v})
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_gradients_through_nested_conds_in_a_graph():
    with gg.Graph() as g:
        p = gg.placeholder((3,), F64, name="p")
        out = gg.cond(p.sum() > 0,
                      lambda: gg.cond(p.max() > 2, lambda: p.exp() * p, lambda: p.sqrt()),
                      lambda: p * p * p)
        (dp,) = gg.gradients(out, [p])
    for v, expected in [([1.0, 2.0, 3.0], lambda v: np.exp(v) * (1 + v)),
                        ([1.0, 1.0, 1.0], lambda v: 0.5 / np.sqrt(v)),
                        ([-1.0, -2.0, -3.0], lambda v: 3 * v ** 2)]:
        v = np.array(v)
        np.testing.assert_allclose(g.run(dp, feed={p: v}).numpy(), expected(v), rtol=1e-12)


def test_a_graph_built_inside_another_graph_on_the_outer_placeholder():
    with gg.Graph() as outer:
        p = gg.placeholder((3,), F64, name="p")
        with gg.Graph():
            q = p * 2  # ops on the outer graph's values belong to the outer graph
            out = gg.cond(q.sum() > 0, lambda: q.exp(), lambda: q * 3)
            (dp,) = gg.gradients(out, [p])
    for v in VALUES:
        expected = 2 * np.exp(2 * v) if v.sum() > 0 else np.full(3, 6.0)
        np.testing.assert_allclose(outer.run(dp, feed={p: v}).numpy(), expected, rtol=1e-12)


def test_a_value_of_an_inner_graph_used_by_the_outer_one_is_a_clear_error():
    with gg.Graph() as outer:
        p = gg.placeholder((3,), F64, name="p")
        with gg.Graph():
            r = gg.placeholder((3,), F64, name="r")
            with pytest.raises(gg.graph.TraceError, match="used in another one"):
                p + r.exp()
    assert outer is not None


@pytest.mark.parametrize("name", list(BRANCHES))
def test_backward_through_cond_under_compile_matches_eager(name):
    true_fn, false_fn, _, _ = BRANCHES[name]
    w = gg.tensor([0.5, 1.0, 1.5], dtype=F64, requires_grad=True)

    def step(x):
        w.grad = None
        out = gg.cond((w * x).sum() > 0, lambda: true_fn(w * x), lambda: false_fn(w * x))
        out.sum().backward()
        return w.grad * 1

    compiled = gg.compile(step)
    for sign in [1.0, 1.0, 1.0, -1.0, -1.0, 1.0, -1.0]:
        x = gg.tensor([sign, 2 * sign, 0.5 * sign], dtype=F64)
        np.testing.assert_allclose(compiled(x).numpy(), step(x).numpy(), rtol=1e-12)
    assert compiled.replays >= 4


def test_a_graph_with_a_cond_prints():
    with gg.Graph() as g:
        p = gg.placeholder((3,), F64, name="p")
        gg.cond(p.sum() > 0, lambda: p.exp(), lambda: p * 3)
    text = str(g)
    assert "cond(" in text and "then:" in text and "else:" in text
