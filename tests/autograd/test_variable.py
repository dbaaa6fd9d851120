"""gg.autograd.Variable: PyTorch's deprecated alias still works as it does in PyTorch."""

from __future__ import annotations

import pytest

import gpugrad as gg


def test_variable_is_a_tensor_sharing_data():
    Variable = gg.autograd.Variable
    x = gg.ones(2)
    v = Variable(x, requires_grad=True)
    assert v is not x and v.requires_grad and not x.requires_grad and v.is_leaf
    v.data.add_(1)
    assert x.tolist() == [2.0, 2.0]
    (v * v).sum().backward()
    assert v.grad.tolist() == [4.0, 4.0]
    y = gg.ones(2, requires_grad=True) * 2
    assert Variable(y).grad_fn is None and not Variable(y).requires_grad
    assert isinstance(x, Variable) and not isinstance(1.0, Variable)
    assert Variable().shape == (0,)
    with pytest.raises(TypeError, match="Variable data has to be a tensor"):
        Variable([1.0])


def test_variable_parity_with_torch():
    torch = pytest.importorskip("torch")
    from torch.autograd import Variable as TorchVariable

    results = []
    for lib, Variable in ((gg, gg.autograd.Variable), (torch, TorchVariable)):
        w = Variable(lib.tensor([1.0, -2.0]), requires_grad=True)
        loss = (w * w * 3).sum()
        loss.backward()
        results.append((w.grad.tolist(), w.is_leaf, isinstance(w, Variable), Variable(loss).requires_grad))
    assert results[0] == results[1]
