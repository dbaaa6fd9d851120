"""gather / scatter / scatter_add / masked_fill beyond op_db: reduce=, 0-d inputs, in place, errors."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backends import to_host


def _values(t):
    return np.asarray(to_host(t.array))


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_reduce_combines_repeated_positions(reduce, device):
    index = gg.tensor([[0, 1, 0], [0, 1, 2]], device=device)
    src = gg.tensor([[2.0, 3.0, 4.0], [5.0, 6.0, 7.0]], device=device)
    out = gg.full((3, 3), 2.0, device=device).scatter(0, index, src, reduce=reduce)
    expected = np.full((3, 3), 2.0)
    for (i, j), k in np.ndenumerate(_values(index)):
        expected[k, j] = expected[k, j] + _values(src)[i, j] if reduce == "add" else expected[k, j] * _values(src)[i, j]
    np.testing.assert_allclose(_values(out), expected)


def test_scatter_reduce_has_no_derivative_as_in_pytorch():
    x = gg.ones(3, requires_grad=True)
    out = x.scatter(0, gg.tensor([0, 0]), 2.0, reduce="add")
    with pytest.raises(RuntimeError, match="not implemented"):
        out.sum().backward()


def test_zero_dim_input_and_index():
    x = gg.tensor(3.0, requires_grad=True)
    y = gg.gather(x, 0, gg.tensor(0))
    assert y.shape == () and float(y) == 3.0
    y.backward()
    assert float(x.grad) == 1.0
    assert float(gg.tensor(1.0).scatter(0, gg.tensor(0), 5.0)) == 5.0


def test_in_place_forms_write_and_return_the_tensor(device):
    t = gg.zeros(2, 3, device=device)
    assert t.scatter_(1, gg.tensor([[2], [0]], device=device), 1.0) is t
    np.testing.assert_array_equal(_values(t), [[0, 0, 1], [1, 0, 0]])
    t.scatter_add_(0, gg.tensor([[1, 1, 1]], device=device), gg.ones(1, 3, device=device))
    np.testing.assert_array_equal(_values(t), [[0, 0, 1], [2, 1, 1]])
    t.masked_fill_(t > 1, -1.0)
    np.testing.assert_array_equal(_values(t), [[0, 0, 1], [-1, 1, 1]])


def test_masked_fill_keeps_the_input_dtype_and_takes_a_0d_value():
    out = gg.tensor([1, 2, 3]).masked_fill(gg.tensor([True, False, True]), gg.tensor(7))
    assert out.dtype == gg.int64 and out.tolist() == [7, 2, 7]


@pytest.mark.parametrize("call, message", [
    (lambda x: x.gather(0, gg.tensor([[0.0, 1.0]])), "int64 for index"),
    (lambda x: x.gather(1, gg.tensor([[0, 3]])), "out of bounds"),
    (lambda x: x.gather(0, gg.tensor([0, 1])), "same number of dimensions"),
    (lambda x: x.gather(0, gg.tensor([[0, 0, 0]])), "Size does not match"),
    (lambda x: x.gather(2, gg.tensor([[0]])), "dimension out of range"),
    (lambda x: x.scatter(0, gg.tensor([[0, 1]]), gg.ones(1, 2, dtype=gg.float64)), "dtype"),
    (lambda x: x.scatter(0, gg.tensor([[0, 1]]), gg.ones(2)), "number of dimensions"),
    (lambda x: x.scatter(0, gg.tensor([[0, 1]]), 1.0, reduce="max"), "add or multiply"),
    (lambda x: x.scatter_add(0, gg.tensor([[0, 1]]), 1.0), "src must be a Tensor"),
    (lambda x: x.masked_fill(x > 0, gg.ones(2)), "0-dimensional"),
    (lambda x: x.masked_fill(gg.tensor([1, 0]), 0.0), "bool Tensor mask"),
])
def test_errors_name_the_op_and_the_fix(call, message):
    with pytest.raises((RuntimeError, TypeError, IndexError), match=message):
        call(gg.ones(2, 2))


def test_scatter_parity_with_torch_for_value_and_in_place():
    torch = pytest.importorskip("torch")
    index = np.array([[1, 0, 2], [0, 2, 1]])
    ours = gg.zeros(3, 3).scatter_(0, gg.tensor(index), gg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    theirs = torch.zeros(3, 3).scatter_(0, torch.tensor(index), torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours = gg.ones(2, 3).scatter_add(1, gg.tensor([[0, 0, 2]]), gg.ones(1, 3))
    theirs = torch.ones(2, 3).scatter_add(1, torch.tensor([[0, 0, 2]]), torch.ones(1, 3))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
