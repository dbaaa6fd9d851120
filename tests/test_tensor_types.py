"""gg.FloatTensor, gg.LongTensor, ...: PyTorch's legacy constructors and their isinstance checks."""

from __future__ import annotations

import pytest

import gpugrad as gg

TYPES = ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor"]


def describe(t):
    return (t.tolist(), tuple(t.shape), str(t.dtype).split(".")[-1])


def test_constructors():
    assert describe(gg.FloatTensor([1, 2])) == ([1.0, 2.0], (2,), "float32")
    assert describe(gg.LongTensor([1.7, -2.2])) == ([1, -2], (2,), "int64")
    assert gg.DoubleTensor(2, 3).shape == (2, 3) and gg.DoubleTensor(2, 3).dtype == gg.float64
    assert gg.IntTensor().shape == (0,) and gg.IntTensor().dtype == gg.int32
    assert gg.BoolTensor([1, 0]).tolist() == [True, False]
    assert gg.FloatTensor((2, 3)).tolist() == [2.0, 3.0]  # a tuple is data, as in PyTorch
    source = gg.ones(2)
    alias = gg.FloatTensor(source)
    alias.add_(1)
    assert source.tolist() == [2.0, 2.0]  # a tensor of the right dtype is shared
    with pytest.raises(TypeError, match="expected a cpu tensor of dtype"):
        gg.FloatTensor(gg.ones(2, dtype=gg.int64))
    with pytest.raises(RuntimeError, match="legacy constructor expects device type: cpu"):
        gg.FloatTensor(2, device=gg.device("cuda"))


def test_isinstance_checks_dtype():
    assert isinstance(gg.ones(2), gg.FloatTensor) and not isinstance(gg.ones(2), gg.LongTensor)
    assert isinstance(gg.arange(3), gg.LongTensor) and isinstance(gg.ones(1, dtype=gg.float64), gg.DoubleTensor)
    assert not isinstance([1.0], gg.FloatTensor)
    assert gg.FloatTensor.dtype == gg.float32 and gg.LongTensor.is_cuda is False


@pytest.mark.parametrize("name", TYPES)
def test_parity_with_torch(name):
    torch = pytest.importorskip("torch")
    for args in ([[1, 0, 2]], [[0.5, 1.5]], [], [3]):
        ours, theirs = getattr(gg, name)(*args), getattr(torch, name)(*args)
        assert tuple(ours.shape) == tuple(theirs.shape) and str(ours.dtype)[8:] == str(theirs.dtype)[6:]
        if args and isinstance(args[0], list):
            assert ours.tolist() == theirs.tolist()
    assert isinstance(gg.ones(2), getattr(gg, name)) == isinstance(torch.ones(2), getattr(torch, name))
