"""sort / argsort / topk beyond op_db: stability, NaN, grad_fn names, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backends import to_host


def _values(t):
    return np.asarray(to_host(t.array))


def test_sort_is_stable_both_ways(device):
    x = gg.tensor([2.0, 1.0, 2.0, 1.0, 2.0], device=device)
    np.testing.assert_array_equal(_values(gg.sort(x).indices), [1, 3, 0, 2, 4])
    np.testing.assert_array_equal(_values(gg.sort(x, descending=True).indices), [0, 2, 4, 1, 3])
    np.testing.assert_array_equal(_values(x.argsort(descending=True)), [0, 2, 4, 1, 3])


def test_nan_sorts_as_the_largest_value(device):
    x = gg.tensor([1.0, math.nan, -1.0], device=device)
    np.testing.assert_array_equal(_values(gg.sort(x).indices), [2, 0, 1])
    np.testing.assert_array_equal(_values(gg.sort(x, descending=True).indices), [1, 0, 2])


def test_integer_and_bool_inputs_sort_too(device):
    values, indices = gg.sort(gg.tensor([3, 1, 2], device=device), descending=True)
    assert values.dtype == gg.int64 and _values(values).tolist() == [3, 2, 1] and _values(indices).tolist() == [0, 2, 1]
    assert _values(gg.tensor([True, False], device=device).argsort()).tolist() == [1, 0]


def test_gradient_goes_back_to_where_each_value_came_from():
    x = gg.tensor([[3.0, 1.0, 2.0]], requires_grad=True)
    values, _ = gg.topk(x, 2)
    assert values.grad_fn.name() == "TopkBackward0"
    (values * gg.tensor([10.0, 1.0])).sum().backward()
    assert x.grad.tolist() == [[10.0, 0.0, 1.0]]
    assert gg.sort(x).values.grad_fn.name() == "SortBackward0"


def test_results_unpack_and_name_their_fields():
    values, indices = gg.tensor([2.0, 1.0]).sort()
    result = gg.tensor([2.0, 1.0]).topk(1)
    assert result.values.tolist() == [2.0] and result.indices.tolist() == [0]
    assert values.tolist() == [1.0, 2.0] and indices.dtype == gg.int64


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.topk(4), RuntimeError, "k out of range"),
    (lambda x: x.topk(-1), RuntimeError, "k out of range"),
    (lambda x: x.sort(dim=1), IndexError, "dimension out of range"),
    (lambda x: gg.sort([1, 2]), TypeError, "expected a Tensor"),
])
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(gg.tensor([1.0, 2.0, 3.0]))
