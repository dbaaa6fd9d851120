"""atleast_1d/2d/3d, broadcast_tensors, nan_to_num (values with NaN and inf; the rest is in op_db)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backends import to_host


def _host(t):
    return np.asarray(to_host(t.array))


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 4)])
def test_atleast_nd_matches_numpy(device, shape):
    x = gg.zeros(*shape, device=device)
    for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
        assert getattr(gg, name)(x).shape == getattr(np, name)(np.zeros(shape)).shape
    assert [t.shape for t in gg.atleast_2d(x, x)] == [np.atleast_2d(np.zeros(shape)).shape] * 2


def test_broadcast_tensors(device):
    a = gg.ones(2, 1, device=device, requires_grad=True)
    b = gg.ones(3, device=device)
    out = gg.broadcast_tensors(a, b)
    assert [t.shape for t in out] == [(2, 3), (2, 3)]
    out[0].sum().backward()
    assert _host(a.grad).tolist() == [[3.0], [3.0]]


def test_nan_to_num_values_and_gradient(device):
    x = gg.tensor([math.nan, 1.5, math.inf, -math.inf], dtype=gg.float64, device=device, requires_grad=True)
    big = np.finfo(np.float64).max
    np.testing.assert_array_equal(_host(x.nan_to_num()), [0.0, 1.5, big, -big])
    np.testing.assert_array_equal(_host(gg.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-9.0)), [-1.0, 1.5, 9.0, -9.0])
    x.nan_to_num().sum().backward()
    assert _host(x.grad).tolist() == [0.0, 1.0, 0.0, 0.0]
    assert _host(gg.tensor([1, 2], device=device).nan_to_num()).tolist() == [1, 2]


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # 0 / 0 of an all-NaN mean, as NumPy
def test_nanmean_all_nan_and_torch_parity():
    assert math.isnan(gg.tensor([math.nan]).nanmean().item())
    torch = pytest.importorskip("torch")
    data = np.array([[math.nan, 1.0, 2.0], [math.inf, -math.inf, math.nan]])
    np.testing.assert_array_equal(gg.tensor(data).nan_to_num(posinf=5.0).numpy(),
                                  torch.tensor(data).nan_to_num(posinf=5.0).numpy())
    np.testing.assert_array_equal(gg.tensor(data[:1]).nanmean(dim=1).numpy(), torch.tensor(data[:1]).nanmean(dim=1))
    np.testing.assert_array_equal(gg.atleast_3d(gg.zeros(3)).shape, torch.atleast_3d(torch.zeros(3)).shape)
