"""cumsum / cumprod beyond op_db: dtypes, and cumprod's gradient with zeros against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg

WITH_ZEROS = [
    [0.0, 2.0, 3.0],
    [2.0, 0.0, 3.0],
    [2.0, 3.0, 0.0],
    [0.0, 2.0, 0.0, 3.0],
    [0.0, 0.0, 2.0],
    [1.5, -2.0, 0.0, 0.0, 4.0],
]


def test_integer_and_bool_scans_are_int64_and_dtype_casts_first():
    assert gg.tensor([1, 2], dtype=gg.int32).cumsum(0).dtype == gg.int64
    assert gg.tensor([True, True]).cumsum(0).tolist() == [1, 2]
    assert gg.tensor([1, 2, 3]).cumprod(0, dtype=gg.float64).dtype == gg.float64


@pytest.mark.parametrize("values", WITH_ZEROS)
def test_cumprod_gradient_with_zeros_matches_torch(values):
    torch = pytest.importorskip("torch")
    weights = np.arange(1.0, len(values) + 1)
    x = gg.tensor(values, dtype=gg.float64, requires_grad=True)
    (x.cumprod(0) * gg.tensor(weights, dtype=gg.float64)).sum().backward()
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    (tx.cumprod(0) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("values", WITH_ZEROS)
def test_cumprod_gradcheck_with_zeros(values):
    x = gg.tensor(values, dtype=gg.float64, requires_grad=True)
    assert gg.autograd.gradcheck(lambda t: t.cumprod(0), (x,))


def test_dim_is_checked():
    with pytest.raises(IndexError, match="cumsum"):
        gg.ones(2, 3).cumsum(2)
