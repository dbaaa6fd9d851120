"""Define-then-run graphs: the seed programs, gg.cond, and the errors of Graph.run."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.graph import Graph, TraceError, cond, gradients, placeholder


def _values(tensors):
    return [float(t.item()) for t in tensors]


def test_seed_sum_of_products_and_its_gradients():
    with Graph() as g:
        a, b, c, d = (placeholder((), gg.float64, name=n) for n in "abcd")
        x = a + b
        y = c * d
        z = x + y
        grads = gradients(z, [a, b, c, d])
    out = g.run([x, y, z] + grads, feed={a: 1.0, b: 2.0, c: 3.0, d: 4.0})
    assert _values(out) == [3.0, 12.0, 15.0, 1.0, 1.0, 4.0, 3.0]
    # the same graph, run again with new feeds
    out = g.run([z] + grads, feed={a: 2.0, b: 2.0, c: -1.0, d: 5.0})
    assert _values(out) == [-1.0, 1.0, 1.0, 5.0, -1.0]


def test_seed_cond_takes_one_branch_and_differentiates_through_it():
    with Graph() as g:
        a, b = placeholder((), gg.float64, name="a"), placeholder((), gg.float64, name="b")
        out = cond(a > 0, lambda: a + b, lambda: a - b)
        da, db = gradients(out, [a, b])
    assert _values(g.run([out, da, db], feed={a: 1.0, b: 2.0})) == [3.0, 1.0, 1.0]
    assert _values(g.run([out, da, db], feed={a: -1.0, b: 2.0})) == [-3.0, 1.0, -1.0]


def test_cond_runs_only_the_taken_branch():
    with Graph() as g:
        a = placeholder((), gg.float64, name="a")
        out = cond(a > 0, lambda: gg.log(a), lambda: a * 2.0)
    with np.errstate(invalid="raise", divide="raise"):  # log(-1) in the untaken branch would raise
        assert g.run(out, feed={a: -1.0}).item() == -2.0
        assert g.run(out, feed={a: np.e}).item() == pytest.approx(1.0)


def test_cond_gradient_of_nonlinear_branches_matches_hand_derivative():
    with Graph() as g:
        x = placeholder((3,), gg.float64, name="x")
        s = x.sum()
        out = cond(s > 0, lambda: (x * x).sum(), lambda: (x * 3.0).sum())
        (dx,) = gradients(out, [x])
    v = np.array([1.0, 2.0, -0.5])
    np.testing.assert_allclose(g.run(dx, feed={x: v}).numpy(), 2 * v)
    np.testing.assert_allclose(g.run(dx, feed={x: -v}).numpy(), [3.0, 3.0, 3.0])


def test_cond_is_plain_python_in_eager_mode():
    a = gg.tensor(2.0, requires_grad=True)
    out = cond(a > 0, lambda: a * 3, lambda: a * 5)
    out.backward()
    assert out.item() == 6.0 and a.grad.item() == 3.0


def test_graph_reads_captured_tensors_live():
    w = gg.tensor([1.0, 2.0], dtype=gg.float64)
    with Graph() as g:
        x = placeholder((2,), gg.float64)
        y = (x * w).sum()
    assert g.run(y, feed={x: np.ones(2)}).item() == 3.0
    with gg.no_grad():
        w.mul_(10)
    assert g.run(y, feed={x: np.ones(2)}).item() == 30.0


def test_run_accepts_tensors_numbers_and_arrays_as_feeds_and_keeps_structure():
    with Graph() as g:
        x = placeholder((2,), gg.float64, name="x")
        k = placeholder((), gg.float64, name="k")
        y = x * k
    out = g.run({"y": y, "pair": (y, x)}, feed={x: gg.tensor([1.0, 2.0], dtype=gg.float64), k: 3})
    np.testing.assert_allclose(out["y"].numpy(), [3.0, 6.0])
    np.testing.assert_allclose(out["pair"][1].numpy(), [1.0, 2.0])


def test_feed_errors_name_the_placeholder_and_the_fix():
    with Graph() as g:
        x = placeholder((2,), gg.float64, name="x")
        y = x * 2.0
    with pytest.raises(ValueError, match=r"'x' has shape \(3,\)"):
        g.run(y, feed={x: np.ones(3)})
    with pytest.raises(ValueError, match="dtype float32.*float64"):
        g.run(y, feed={x: np.ones(2, np.float32)})
    with pytest.raises(ValueError, match="'x'.*was not fed"):
        g.run(y, feed={})


def test_fetching_a_tensor_of_another_graph_is_an_error():
    with Graph(name="first") as g1:
        x1 = placeholder((), gg.float64)
        y1 = x1 + 1.0
    with Graph(name="second") as g2:
        x2 = placeholder((), gg.float64)
        x2 * 2.0
    with pytest.raises(ValueError, match="another graph"):
        g2.run(y1, feed={x2: 1.0})
    with pytest.raises(ValueError, match="ordinary tensor"):
        g1.run(gg.tensor(1.0), feed={x1: 1.0})


def test_reading_a_symbolic_value_raises_a_clear_error():
    with Graph() as g:
        x = placeholder((), gg.float64)
        with pytest.raises(TraceError, match="gg.cond"):
            if x > 0:
                pass
    with pytest.raises(TraceError, match="g.run"):
        x.item()


def test_print_and_dot_show_the_graph():
    with Graph(name="seed") as g:
        a = placeholder((), gg.float64, name="a")
        b = placeholder((), gg.float64, name="b")
        z = a * b + a
    text = str(g)
    assert "input a" in text and "multiply" in text and "add" in text
    dot = g.to_dot()
    assert dot.startswith('digraph "seed"') and "->" in dot
    assert "digraph" in g.to_dot([z])
