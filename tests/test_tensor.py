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


# ------------------------------------------------------------------ .data (PyTorch's: a Tensor sharing memory)
def test_data_is_a_tensor_sharing_memory_outside_the_graph(device):
    w = gg.tensor([1.0, 2.0], device=device, requires_grad=True)
    d = w.data
    assert isinstance(d, gg.Tensor) and d.device is w.device
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    d.add_(1)  # no "leaf requires grad" error: .data is outside the graph
    assert w.tolist() == [2.0, 3.0] and w.requires_grad


def test_manual_sgd_step_through_data(device):
    p = gg.tensor([1.0, -2.0], device=device, requires_grad=True)
    (p * p).sum().backward()
    array = p.array
    p.data -= 0.1 * p.grad.data
    p.grad.data.zero_()
    assert p.array is array  # updated in place, as PyTorch's p.data -= ... is
    np.testing.assert_allclose(p.tolist(), [0.8, -1.6], rtol=1e-6)
    assert p.grad.tolist() == [0.0, 0.0] and p.requires_grad and p.is_leaf


def test_assigning_data_replaces_values_and_keeps_the_leaf():
    p = gg.ones(2, requires_grad=True)
    other = gg.zeros(3, dtype=gg.float64)
    p.data = other
    assert p.shape == (3,) and p.dtype == gg.float64 and p.requires_grad
    other.add_(5)
    assert p.tolist() == [5.0, 5.0, 5.0]  # shares other's memory, as in PyTorch
    (p * 2).sum().backward()
    assert p.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(TypeError, match="expected a Tensor"):
        p.data = [1.0, 2.0]
    with pytest.raises(RuntimeError, match="must be floating point"):
        p.data = gg.zeros(3, dtype=gg.int64)  # as in PyTorch, while p requires grad
    q = gg.ones(2)
    q.data = gg.zeros(2, dtype=gg.int64)
    assert q.dtype == gg.int64


def test_backward_reads_data_assigned_after_forward_as_pytorch_does():
    y = gg.ones(2, requires_grad=True)
    loss = (y * y).sum()
    y.data = gg.ones(2) * 3  # the saved y is the same tensor, now with the new values
    loss.backward()
    assert y.grad.tolist() == [6.0, 6.0]


def test_data_of_a_non_leaf():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.data
    assert d.is_leaf and not d.requires_grad and y.grad_fn is not None
    d.mul_(0)
    assert y.tolist() == [0.0, 0.0]


def test_in_place_change_through_data_does_not_trip_the_version_check():
    """As in PyTorch: autograd does not see changes made through .data (backward uses the new value)."""
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    w = gg.tensor([3.0, 4.0], requires_grad=True)
    loss = (x * w).sum()
    w.data.mul_(10)
    loss.backward()  # a detach().mul_() or a no_grad mul_ would raise here
    assert x.grad.tolist() == [30.0, 40.0]
    x2, w2 = gg.tensor([1.0], requires_grad=True), gg.tensor([3.0], requires_grad=True)
    loss2 = (x2 * w2).sum()
    with gg.no_grad():
        w2.mul_(10)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss2.backward()


def test_data_and_norm():
    w = gg.tensor([3.0, 4.0], requires_grad=True)
    if not hasattr(w, "norm"):
        pytest.skip("Tensor.norm comes with the missing-ops part of issue 12")
    assert w.data.norm().item() == pytest.approx(5.0) and not w.data.norm().requires_grad


def test_data_parity_with_torch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (gg, torch):
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = w * 2
        loss = (h * w).sum()
        w.data.add_(1)
        loss.backward()
        grad = w.grad.tolist()
        w.data -= 0.5 * w.grad.data
        results.append((grad, w.tolist(), h.data.requires_grad, h.data.is_leaf, w.data.requires_grad))
    assert results[0] == results[1]


def test_data_read_and_written_inside_compile():
    w = gg.tensor([1.0, 2.0], requires_grad=True)
    x = gg.tensor([[1.0, 0.5], [0.0, 2.0]])

    def step():
        loss = (x @ w).pow(2).sum()
        w.grad = None
        loss.backward()
        w.data -= 0.01 * w.grad.data
        return loss

    expected_w = gg.tensor([1.0, 2.0], requires_grad=True)
    compiled = gg.compile(step)
    losses = [compiled().item() for _ in range(4)]
    assert compiled.traces == 1 and compiled.replays >= 1
    w_compiled = w.tolist()
    w.data = expected_w.data.clone()
    eager = [step().item() for _ in range(4)]
    np.testing.assert_allclose(losses, eager, rtol=1e-6)
    np.testing.assert_allclose(w_compiled, w.tolist(), rtol=1e-6)


# ------------------------------------------------------------------ format()
def test_format_spec_on_a_0d_tensor_formats_its_number():
    loss = gg.tensor(3.14159)
    assert format(loss, "+.2f") == "+3.14" and f"{loss:.1e}" == "3.1e+00" and f"{gg.tensor(7):03d}" == "007"
    assert f"{gg.tensor([1.0, 2.0])}" == repr(gg.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="unsupported format string"):
        format(gg.tensor([1.0]), "+.2f")  # as in PyTorch: only 0-d tensors take a spec


def test_format_matches_torch():
    torch = pytest.importorskip("torch")
    for spec in ["+.2f", ".3e", "", "8.1f"]:
        assert format(gg.tensor(-2.71828), spec) == format(torch.tensor(-2.71828), spec)
    assert f"{gg.tensor(5)}" == f"{torch.tensor(5)}"
