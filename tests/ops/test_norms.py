"""Norms beyond op_db: zero-norm gradients, torch.norm/linalg.norm dispatch against PyTorch, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backends import to_host


@pytest.mark.parametrize("ord", [2, 3, 1.5, 0.5, 1, math.inf])
def test_gradient_at_a_zero_norm_is_zero_not_nan(ord, device):
    x = gg.zeros(2, 3, dtype=gg.float64, device=device, requires_grad=True)
    gg.linalg.vector_norm(x, ord, dim=1).sum().backward()
    grad = np.asarray(to_host(x.grad.array))
    assert np.isfinite(grad).all() and not grad.any()


def test_tensor_norm_on_data_outside_the_graph():
    w = gg.tensor([3.0, 4.0], requires_grad=True)
    n = w.data.norm()
    assert float(n) == 5.0 and not n.requires_grad


NORM_CALLS = [
    ("norm", {}), ("norm", {"p": 1}), ("norm", {"p": "fro"}), ("norm", {"p": "nuc"}), ("norm", {"dim": 0}),
    ("norm", {"p": 2, "dim": (0, 1)}), ("norm", {"p": "fro", "dim": 1, "keepdim": True}), ("norm", {"p": 0}),
    ("linalg.norm", {}), ("linalg.norm", {"ord": 2}), ("linalg.norm", {"ord": -math.inf}),
    ("linalg.norm", {"dim": 1}), ("linalg.norm", {"ord": 1, "dim": (1, 0)}), ("linalg.norm", {"ord": "nuc"}),
]


@pytest.mark.parametrize("name, kwargs", NORM_CALLS, ids=[f"{n}-{k}" for n, k in NORM_CALLS])
def test_dispatch_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((3, 4))

    def call(lib, t):
        return getattr(lib.linalg, "norm")(t, **kwargs) if name == "linalg.norm" else lib.norm(t, **kwargs)

    ours = call(gg, gg.tensor(x, requires_grad=True))
    theirs = call(torch, torch.tensor(x))
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy(), rtol=1e-12)


def test_three_d_input_needs_dim_with_ord():
    with pytest.raises(RuntimeError, match="must be 1D or 2D"):
        gg.linalg.norm(gg.ones(2, 2, 2), ord=1)
    assert float(gg.linalg.norm(gg.ones(2, 2, 2))) == pytest.approx(math.sqrt(8))


@pytest.mark.parametrize("call, message", [
    (lambda: gg.linalg.vector_norm(gg.tensor([1, 2])), "floating point"),
    (lambda: gg.linalg.vector_norm(gg.ones(2), ord="fro"), "must be a number"),
    (lambda: gg.linalg.matrix_norm(gg.ones(3)), "at least 2 dimensions"),
    (lambda: gg.linalg.matrix_norm(gg.ones(2, 2), ord=3), "not supported"),
    (lambda: gg.linalg.matrix_norm(gg.ones(2, 2), dim=(0, 0)), "must be different"),
    (lambda: gg.norm(gg.ones(2, 2, 2), p="nuc"), "2-tuple"),
])
def test_errors(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


def test_dtype_argument_casts_first():
    assert gg.linalg.vector_norm(gg.tensor([3, 4]), dtype=gg.float64).dtype == gg.float64
