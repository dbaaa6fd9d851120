"""Tensor basics: creation dtypes, conversion, copying, pickling, repr."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import gpugrad as gg


def test_creation_dtypes_follow_pytorch():
    assert gg.tensor([1.0, 2.0]).dtype == gg.float32
    assert gg.tensor([1, 2]).dtype == gg.int64
    assert gg.tensor([True]).dtype == gg.bool
    assert gg.tensor(np.zeros(2, dtype=np.float64)).dtype == gg.float64  # an array keeps its dtype
    assert gg.arange(3).dtype == gg.int64 and gg.arange(3.0).dtype == gg.float32
    assert gg.full((2,), 7).dtype == gg.int64 and gg.full((2,), 7.0).dtype == gg.float32
    assert gg.zeros(2, 3).shape == (2, 3) and gg.ones((2, 3)).shape == (2, 3)


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3)
    t, s = gg.tensor(a), gg.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 0 and s[0].item() == 5


def test_conversions_and_their_errors():
    t = gg.tensor([[1.5, 2.0]])
    assert t.tolist() == [[1.5, 2.0]] and t.numel() == 2 and t.size(1) == 2 and t.ndim == 2
    assert float(t[0, 0]) == 1.5 and int(gg.tensor(3)) == 3
    with pytest.raises(RuntimeError, match="2 elements cannot be converted"):
        t.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)
    with pytest.raises(IndexError, match="dimension out of range"):
        t.size(2)


def test_manual_seed_repeats_random_tensors():
    gg.manual_seed(3)
    a = gg.randn(4)
    gg.manual_seed(3)
    assert gg.allclose(a, gg.randn(4))


def test_pickle_and_deepcopy_of_a_leaf_after_backward():
    w = gg.ones(2, requires_grad=True)
    (w * 2).sum().backward()
    restored = pickle.loads(pickle.dumps(w))
    assert restored.requires_grad and restored.grad.tolist() == [2.0, 2.0]
    clone = copy.deepcopy(w)
    (clone * 3).sum().backward()
    assert w.grad.tolist() == [2.0, 2.0] and clone.grad.tolist() == [5.0, 5.0]
    with pytest.raises(RuntimeError, match="deepcopy"):
        copy.deepcopy(w * 2)


def test_repr_is_pytorch_like():
    assert repr(gg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(gg.tensor([1, 2], dtype=gg.int32)) == "tensor([1, 2], dtype=gpugrad.int32)"
    x = gg.tensor([1.0], requires_grad=True)
    assert repr(x * 2) == "tensor([2.], grad_fn=<MulBackward0>)"
