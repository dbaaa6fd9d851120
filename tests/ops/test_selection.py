"""nonzero / argwhere / masked_select / index_select / unique / bincount / searchsorted / roll / diff."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.backends import to_host


def _host(t):
    return np.asarray(to_host(t.array))


A = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -3.0]])


def test_nonzero_and_argwhere(device):
    x = gg.tensor(A, device=device)
    np.testing.assert_array_equal(_host(x.nonzero()), np.argwhere(A))
    np.testing.assert_array_equal(_host(gg.argwhere(x)), np.argwhere(A))
    rows, cols = x.nonzero(as_tuple=True)
    np.testing.assert_array_equal(_host(x[rows, cols]), A[np.nonzero(A)])
    assert x.nonzero().dtype == gg.int64 and tuple(gg.zeros(2, 2, device=device).nonzero().shape) == (0, 2)


def test_masked_select_broadcasts_and_differentiates(device):
    x = gg.tensor(A, dtype=gg.float64, device=device, requires_grad=True)
    mask = gg.tensor([True, False, True], device=device)
    np.testing.assert_array_equal(_host(x.masked_select(mask)), A[:, [0, 2]].reshape(-1))
    assert gradcheck(lambda t: gg.masked_select(t, mask), (x,))
    x.masked_select(mask).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [[1, 0, 1], [1, 0, 1]])


def test_index_select(device):
    x = gg.tensor(A, dtype=gg.float64, device=device, requires_grad=True)
    index = gg.tensor([2, 0, 2], device=device)
    np.testing.assert_array_equal(_host(x.index_select(1, index)), A[:, [2, 0, 2]])
    np.testing.assert_array_equal(_host(gg.index_select(x, 0, gg.tensor([1], device=device))), A[[1]])
    assert gradcheck(lambda t: t.index_select(1, index), (x,))
    assert gradgradcheck(lambda t: (t.index_select(-1, index) ** 2), (x,))


def test_unique(device):
    data = np.array([[3, 1], [3, 2]])
    x = gg.tensor(data, device=device)
    values, inverse, counts = x.unique(return_inverse=True, return_counts=True)
    expected_values, expected_inverse, expected_counts = np.unique(data, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(_host(values), expected_values)
    np.testing.assert_array_equal(_host(inverse), expected_inverse.reshape(data.shape))
    np.testing.assert_array_equal(_host(counts), expected_counts)
    np.testing.assert_array_equal(_host(gg.unique(x)), [1, 2, 3])
    rows = gg.tensor([[3, 1], [3, 2], [3, 1]], device=device)
    values, inverse, counts = rows.unique(dim=0, return_inverse=True, return_counts=True)
    assert _host(values).tolist() == [[3, 1], [3, 2]] and _host(inverse).tolist() == [0, 1, 0]
    assert _host(counts).tolist() == [2, 1]
    values, inverse = rows.unique(dim=-1, return_inverse=True)
    assert _host(values).tolist() == [[1, 3], [2, 3], [1, 3]] and _host(inverse).tolist() == [1, 0]


def test_bincount_and_searchsorted(device):
    x = gg.tensor([0, 2, 2, 5], device=device)
    np.testing.assert_array_equal(_host(x.bincount()), np.bincount([0, 2, 2, 5]))
    np.testing.assert_array_equal(_host(gg.bincount(x, minlength=8)), np.bincount([0, 2, 2, 5], minlength=8))
    weights = gg.tensor([0.5, 1.0, 1.0, 2.0], device=device)
    np.testing.assert_allclose(_host(gg.bincount(x, weights)), [0.5, 0, 2.0, 0, 0, 2.0])
    seq = gg.tensor([1.0, 3.0, 5.0], device=device)
    values = gg.tensor([[3.0, 6.0], [0.0, 1.0]], device=device)
    np.testing.assert_array_equal(_host(gg.searchsorted(seq, values)), [[1, 3], [0, 0]])
    np.testing.assert_array_equal(_host(gg.searchsorted(seq, values, right=True)), [[2, 3], [0, 1]])
    assert gg.searchsorted(seq, values, out_int32=True).dtype == gg.int32
    batch = gg.tensor([[1.0, 3.0, 5.0], [0.0, 10.0, 20.0]], device=device)
    np.testing.assert_array_equal(_host(gg.searchsorted(batch, values, side="right")), [[2, 3], [1, 1]])
    with pytest.raises(RuntimeError, match="leading dimensions"):
        gg.searchsorted(batch, gg.zeros(3, 2, device=device))
    with pytest.raises(RuntimeError, match="non-negative"):
        gg.bincount(gg.tensor([-1, 2], device=device))


def test_roll_and_diff(device):
    x = gg.tensor(A, dtype=gg.float64, device=device, requires_grad=True)
    np.testing.assert_array_equal(_host(x.roll(1)), np.roll(A, 1))
    np.testing.assert_array_equal(_host(x.roll((1, -1), (0, 1))), np.roll(A, (1, -1), (0, 1)))
    np.testing.assert_array_equal(_host(x.diff()), np.diff(A))
    np.testing.assert_array_equal(_host(x.diff(n=2, dim=0)), np.diff(A, n=2, axis=0))
    front = gg.zeros(2, 1, dtype=gg.float64, device=device)
    np.testing.assert_array_equal(_host(x.diff(prepend=front)), np.diff(A, prepend=0))
    assert gradcheck(lambda t: t.roll(2, 1), (x,)) and gradgradcheck(lambda t: t.roll(1) ** 2, (x,))
    assert gradcheck(lambda t: t.diff(n=2), (x,))


def test_torch_parity():
    torch = pytest.importorskip("torch")
    g, t = gg.tensor(A), torch.tensor(A)
    np.testing.assert_array_equal(g.nonzero().numpy(), t.nonzero().numpy())
    np.testing.assert_array_equal(g.masked_select(g > 0).numpy(), t.masked_select(t > 0).numpy())
    np.testing.assert_array_equal(g.roll(2).numpy(), t.roll(2).numpy())
    np.testing.assert_array_equal(g.diff(dim=0).numpy(), t.diff(dim=0).numpy())
    ints = [4, 1, 4, 0]
    for got, want in zip(gg.tensor(ints).unique(return_inverse=True, return_counts=True),
                         torch.tensor(ints).unique(return_inverse=True, return_counts=True)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    rows = [[2, 1], [0, 5], [2, 1]]
    for got, want in zip(gg.tensor(rows).unique(dim=0, return_inverse=True, return_counts=True),
                         torch.tensor(rows).unique(dim=0, return_inverse=True, return_counts=True)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    np.testing.assert_array_equal(gg.bincount(gg.tensor(ints)).numpy(), torch.bincount(torch.tensor(ints)).numpy())
    batch, queries = [[1.0, 3.0, 5.0], [0.0, 10.0, 20.0]], [[3.0, 6.0], [15.0, -1.0]]
    np.testing.assert_array_equal(gg.searchsorted(gg.tensor(batch), gg.tensor(queries)).numpy(),
                                  torch.searchsorted(torch.tensor(batch), torch.tensor(queries)).numpy())
    assert gg.bincount(gg.tensor(ints), gg.ones(4)).dtype.name == str(torch.bincount(
        torch.tensor(ints), torch.ones(4)).dtype).removeprefix("torch.")
