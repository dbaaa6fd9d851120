"""The algebraic simplification pass: sum(a * b) as a dot, scalar factors pulled out, broadcasts of scalars dropped."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.graph import Graph, compile, placeholder
from gpugrad.graph.passes import Program, cse, dot_all, simplify
from gpugrad.graph.tracer import raw_data
from graph_test_steps import curve_fit_step

F64, F32 = gg.float64, gg.float32


def _simplified(build):
    with Graph() as g:
        fetches = build()
    tracer = g._tracer
    outs = [raw_data(t).node for t in fetches]
    prog = Program(tracer.leaves, tracer.nodes, outs)
    cse(prog)
    simplify(prog)
    return g, fetches, prog


def _ops(prog) -> list:
    return [n.op for n in prog.nodes]


@pytest.mark.parametrize("scaled", [
    lambda x: 3.0 * x,
    lambda x: x + x,
    lambda x: -x,
    lambda x: x / 4.0,
    lambda x: (2.0 * (x + x)) / -3.0,
])
def test_sum_of_a_product_becomes_a_dot_with_its_scalar_factors_pulled_out(scaled):
    a_np, b_np = np.random.default_rng(0).standard_normal((2, 7, 5))

    def build():
        a, b = placeholder((7, 5), F64, name="a"), placeholder((7, 5), F64, name="b")
        return [(scaled(a) * b).sum(), a, b]

    g, (total, a, b), prog = _simplified(build)
    assert "dot" in _ops(prog)
    expected = float((scaled(a_np) * b_np).sum())
    assert g.run(total, feed={a: a_np, b: b_np}).item() == pytest.approx(expected, rel=1e-13)


def test_the_scaled_temporaries_become_dead():
    x_np = np.linspace(-1, 1, 100)

    def build():
        x, k = placeholder((100,), F64, name="x"), placeholder((), F64, name="k")
        return [((k * (x + x)) * x).sum(), x, k]

    g, (total, x, k), prog = _simplified(build)
    from gpugrad.graph.passes import dce

    dce(prog)
    full_size = [n for n in prog.nodes if getattr(n.value, "size", 0) == 100]
    assert full_size == []  # only the dot reads the full array, and it makes a scalar
    assert g.run(total, feed={x: x_np, k: 0.5}).item() == pytest.approx(float((x_np * x_np).sum()), rel=1e-13)


def test_float32_products_keep_numpys_pairwise_sum():
    def build():
        a = placeholder((64,), F32)
        return [(a * a).sum()]

    _, _, prog = _simplified(build)
    assert "dot" not in _ops(prog)


def test_sums_along_an_axis_are_left_alone():
    def build():
        a = placeholder((4, 3), F64)
        return [(a * a).sum(dim=0)]

    _, _, prog = _simplified(build)
    assert "dot" not in _ops(prog)


def test_a_value_written_in_place_is_not_moved_into_a_dot():
    w = gg.tensor([1.0, 2.0, 3.0], dtype=F64)
    x = gg.tensor([0.5, -1.0, 2.0], dtype=F64)

    def f():
        scaled = 2.0 * w
        with gg.no_grad():
            w.add_(1.0)  # w changes after the scaling: a dot moved to the sum must not read the new w
        return (scaled * x).sum(), (w * x).sum()

    eager = [t.item() for t in f()]
    w.array[...] = [1.0, 2.0, 3.0]
    compiled = compile(f, warmup=False)
    got = [t.item() for t in compiled()]
    assert got == pytest.approx(eager, rel=1e-14)
    dot_reads = [a for n in compiled.graph.nodes if n.op == "dot" for a in n.args]
    assert dot_reads and not any(a.kind == "external" and a.tensor is w for a in dot_reads)


def test_a_broadcast_scalar_is_read_as_a_scalar():
    def build():
        x, k = placeholder((50,), F64), placeholder((), F64)
        return [gg.broadcast_to(k, (50,)) * x, x, k]

    g, (y, x, k), prog = _simplified(build)
    multiply = next(n for n in prog.nodes if n.op == "multiply")
    assert all(getattr(a.value, "shape", ()) in ((), (50,)) for a in multiply.args)
    assert not any(a.op == "broadcast_to" for a in multiply.args)
    x_np = np.arange(50.0)
    np.testing.assert_array_equal(g.run(y, feed={x: x_np, k: 3.0}).numpy(), 3.0 * x_np)


def test_dot_all_works_on_any_shape():
    a = np.arange(24.0).reshape(2, 3, 4)
    assert dot_all(a, a) == pytest.approx(float((a * a).sum()))
    assert dot_all(a.T, a.T) == pytest.approx(float((a * a).sum()))  # non-contiguous: reshape copies


def test_the_curve_fit_step_makes_fewer_full_passes():
    _, _, eager = curve_fit_step(1000)
    step = compile(eager)
    step()
    step()
    nodes = step.graph.nodes
    full = [n for n in nodes if getattr(n.value, "size", 0) == 1000]
    dots = [n for n in nodes if n.op == "dot"]
    # forward: three scalings, two adds, one subtract; backward: a dot per parameter plus the loss
    assert len(full) == 6 and len(dots) == 4
