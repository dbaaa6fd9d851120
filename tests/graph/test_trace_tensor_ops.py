"""The newer ops (sort, gather, scatter, cumsum/cumprod, einsum, norms, //, %) inside gg.compile.

Their value checks (index bounds, integer zero divisors, cumprod's zero test) are skipped on tracing
proxies, so a step using them is traced once and replayed with the eager results and gradients.
"""

from __future__ import annotations

import numpy as np

import gpugrad as gg


def _step(x, index):
    x.grad = None
    y = gg.einsum("ij,kj->ik", x, x).cumsum(1)
    v = y.sort(dim=1, descending=True).values.gather(1, index) + x.flip(0).norm(dim=1, keepdim=True)
    w = gg.zeros(4, 5, dtype=x.dtype).scatter_add(1, index, v) + x.cumprod(1).tril()
    loss = (w % 1.7).sum() + x.repeat(2, 1).topk(2).values.sum() + gg.linalg.matrix_norm(x, ord=1)
    loss.backward()
    return loss, x.grad


def test_compiled_step_replays_the_eager_values_and_gradients():
    rng = np.random.default_rng(0)
    values = rng.uniform(-1, 1, (4, 5))
    values[1, 2] = 0.0  # cumprod's gradient through a zero
    index = gg.tensor(rng.integers(0, 4, (4, 2)))
    x = gg.tensor(values, dtype=gg.float64, requires_grad=True)
    loss, grad = _step(x, index)
    expected_loss, expected_grad = loss.detach().numpy().copy(), grad.numpy().copy()
    step = gg.compile(_step)
    for _ in range(4):
        loss, grad = step(x, index)
        np.testing.assert_allclose(loss.detach().numpy(), expected_loss, rtol=1e-12)
        np.testing.assert_allclose(grad.numpy(), expected_grad, rtol=1e-12, atol=1e-12)
    assert step.traces == 1 and step.replays == 2
