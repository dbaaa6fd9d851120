"""isinf / isclose / equal / logical_and|or|xor / count_nonzero / nansum."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.autograd import gradcheck
from gpugrad.backends import to_host


def _host(t):
    return np.asarray(to_host(t.array))


def test_isinf_isclose_equal(device):
    x = gg.tensor([1.0, math.inf, -math.inf, math.nan], device=device)
    assert _host(x.isinf()).tolist() == [False, True, True, False]
    a = gg.tensor([1.0, 2.0, math.nan], dtype=gg.float64, device=device)
    b = gg.tensor([1.0 + 1e-9, 2.1, math.nan], dtype=gg.float64, device=device)
    assert _host(gg.isclose(a, b)).tolist() == [True, False, False]
    assert _host(a.isclose(b, equal_nan=True)).tolist() == [True, False, True]
    assert _host(a.isclose(b, atol=0.2)).tolist() == [True, True, False]
    assert gg.equal(a[:2], a[:2].clone()) is True
    assert gg.equal(a[:2], b[:2]) is False and a[:2].equal(a[:1]) is False


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
def test_logical_ops_match_numpy(device, name):
    a, b = np.array([0, 1, 2, 0]), np.array([0.0, 0.0, 3.0, -1.0])
    out = getattr(gg, name)(gg.tensor(a, device=device), gg.tensor(b, device=device))
    assert out.dtype == gg.bool
    np.testing.assert_array_equal(_host(out), getattr(np, name)(a, b))
    method = getattr(gg.tensor(a, device=device), name)(gg.tensor(b, device=device))
    np.testing.assert_array_equal(_host(method), getattr(np, name)(a, b))


def test_count_nonzero(device):
    a = np.array([[0, 1, 2], [0, 0, 3]])
    x = gg.tensor(a, device=device)
    assert _host(x.count_nonzero()).item() == 3 and x.count_nonzero().dtype == gg.int64
    np.testing.assert_array_equal(_host(gg.count_nonzero(x, dim=0)), [0, 1, 2])
    np.testing.assert_array_equal(_host(x.count_nonzero(dim=(0, 1))), 3)


def test_nansum_values_and_gradient(device):
    x = gg.tensor([[1.0, math.nan], [2.0, 3.0]], dtype=gg.float64, device=device, requires_grad=True)
    assert _host(x.nansum()).item() == 6.0
    np.testing.assert_array_equal(_host(x.nansum(dim=1)), [1.0, 5.0])
    x.nansum().backward()
    np.testing.assert_array_equal(_host(x.grad), [[1.0, 0.0], [1.0, 1.0]])
    y = gg.tensor([0.5, -1.0], dtype=gg.float64, device=device, requires_grad=True)
    assert gradcheck(lambda t: gg.nansum(t * t), (y,))


def test_torch_parity():
    torch = pytest.importorskip("torch")
    data = np.array([[0.0, math.nan, 2.0], [math.inf, 1.0, 0.0]])
    g, t = gg.tensor(data), torch.tensor(data)
    np.testing.assert_array_equal(g.isinf().numpy(), t.isinf().numpy())
    np.testing.assert_array_equal(g.nansum(dim=0).numpy(), t.nansum(dim=0).numpy())
    np.testing.assert_array_equal(g.count_nonzero(dim=1).numpy(), t.count_nonzero(dim=1).numpy())
    np.testing.assert_array_equal(g.isclose(g, equal_nan=True).numpy(), t.isclose(t, equal_nan=True).numpy())
    np.testing.assert_array_equal(gg.logical_xor(g, g > 0).numpy(), torch.logical_xor(t, t > 0).numpy())


def test_bad_input():
    with pytest.raises(TypeError, match="isinf"):
        gg.isinf([1.0])
    with pytest.raises(TypeError, match="equal"):
        gg.equal(gg.ones(1), [1.0])
