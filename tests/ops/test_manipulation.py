"""flip / repeat / diag / tril / triu beyond op_db: copies, not views; errors."""

from __future__ import annotations

import pytest

import gpugrad as gg


def test_flip_and_repeat_return_copies_with_their_own_memory():
    x = gg.tensor([1.0, 2.0, 3.0])
    flipped, repeated = x.flip(0), x.repeat(2)
    x.add_(10.0)
    assert flipped.tolist() == [3.0, 2.0, 1.0] and repeated.tolist() == [1.0, 2.0, 3.0] * 2


def test_repeat_result_can_be_changed_in_place_while_recording():
    w = gg.ones(2, requires_grad=True)
    y = w.repeat(2)
    y.mul_(3.0)  # not a view of w: allowed
    y.sum().backward()
    assert w.grad.tolist() == [6.0, 6.0]


def test_flip_accepts_a_tuple_or_separate_dims():
    x = gg.arange(6).reshape(2, 3)
    assert x.flip(0, 1).tolist() == x.flip((0, 1)).tolist() == [[5, 4, 3], [2, 1, 0]]
    assert gg.flip(x, dims=[1]).tolist() == gg.flip(x, [1]).tolist() == [[2, 1, 0], [5, 4, 3]]


def test_diag_round_trip_and_grad_fn_names():
    v = gg.tensor([1.0, 2.0], requires_grad=True)
    m = gg.diag(v, -1)
    assert m.shape == (3, 3) and m.grad_fn.name() == "DiagBackward0"
    assert gg.diag(m, -1).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("call, message", [
    (lambda: gg.ones(2, 3).repeat(2), "can not be smaller"),
    (lambda: gg.ones(2).repeat(-1), "non-negative"),
    (lambda: gg.ones(2, 2).flip(0, 0), "more than once"),
    (lambda: gg.ones(2, 2).flip(2), "dimension out of range"),
    (lambda: gg.diag(gg.ones(2, 2, 2)), "1D or 2D"),
    (lambda: gg.ones(3).tril(), "at least 2 dimensions"),
    (lambda: gg.triu(gg.tensor(1.0)), "at least 2 dimensions"),
])
def test_errors(call, message):
    with pytest.raises((RuntimeError, IndexError), match=message):
        call()
