"""erf and exact GELU inside static graphs: gg.compile replays them and gg.Graph runs them, without SciPy.

erf used to fall back to ``math.erf`` per element through ``.tolist()`` when SciPy was missing, which a
trace cannot record (reading values raises TraceValueError). The fixture below hides SciPy so these tests
check that path wherever they run.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad.graph import Graph, compile, gradients, placeholder


@pytest.fixture(autouse=True)
def no_scipy(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.special", None)


def _inputs(seed, dtype):
    """Values in every piece of erf (|x| < 0.5, up to 6, beyond) and exact zeros."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-8.0, 8.0, (4, 8))
    a[0, :4] = [0.0, -0.3, 0.49, 0.51]
    b = rng.uniform(-2.0, 2.0, (4, 8))
    return (gg.tensor(a, dtype=dtype, requires_grad=True), gg.tensor(b, dtype=dtype, requires_grad=True))


def _loss_and_grads(a, b):
    a.grad = b.grad = None
    loss = (gg.erf(a) * b).sum() + F.gelu(a * b).mean() + gg.erf(b / 3).pow(2).sum()
    loss.backward()
    return loss, a.grad, b.grad


@pytest.mark.parametrize("dtype", [gg.float64, gg.float32], ids=str)
def test_compiled_erf_and_gelu_with_backward_replay_like_eager(dtype):
    compiled = compile(_loss_and_grads)
    rtol = 1e-12 if dtype == gg.float64 else 1e-6  # graph passes may reassociate constant factors
    for seed in range(5):  # new values each call: eager warm-up, trace, then replays fed these inputs
        got = compiled(*_inputs(seed, dtype))
        expected = _loss_and_grads(*_inputs(seed, dtype))
        for g, e in zip(got, expected):
            assert g.dtype == e.dtype
            np.testing.assert_allclose(g.detach().numpy(), e.detach().numpy(), rtol=rtol, atol=0)
    assert compiled.traces == 1 and compiled.replays == 3


def test_compiled_gelu_module_forward_matches_eager():
    layer = gg.nn.GELU()
    compiled = compile(lambda x: layer(x) * 2.0)
    for seed in range(4):
        x, _ = _inputs(seed, gg.float64)
        x = x.detach()
        np.testing.assert_allclose(compiled(x).numpy(), (layer(x) * 2.0).numpy(), rtol=1e-15, atol=0)
    assert compiled.replays == 2


def test_graph_with_gelu_and_erf_runs_and_differentiates():
    with Graph() as g:
        x = placeholder((6,), gg.float64, name="x")
        y = F.gelu(x) + gg.erf(x)
        (dx,) = gradients(y.sum(), [x])
    for values in ([-7.0, -1.0, -0.2, 0.0, 0.4, 3.0], [8.0, 2.0, 0.6, -0.45, -5.9, 1e-3]):
        out, grad = g.run([y, dx], feed={x: np.array(values)})
        xe = gg.tensor(values, dtype=gg.float64, requires_grad=True)
        ye = F.gelu(xe) + gg.erf(xe)
        ye.sum().backward()
        np.testing.assert_allclose(out.numpy(), ye.detach().numpy(), rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(grad.numpy(), xe.grad.numpy(), rtol=1e-14, atol=1e-300)
