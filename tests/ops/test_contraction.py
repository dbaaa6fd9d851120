"""einsum and outer beyond op_db: every op_db equation against PyTorch, operand lists, promotion, errors."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from op_db import EINSUM
from opinfo import make_arrays, to_gg, to_torch, torch_or_skip


@pytest.mark.parametrize("sample", EINSUM[0].samples, ids=lambda s: s.id)
def test_every_equation_matches_torch_values_and_gradients(sample):
    torch = torch_or_skip()
    arrays = make_arrays(EINSUM[0], sample)
    ours, theirs = to_gg(arrays), to_torch(torch, arrays)
    out = gg.einsum(sample.kwargs["equation"], *ours)
    expected = torch.einsum(sample.kwargs["equation"], *theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    seed = np.random.default_rng(1).standard_normal(tuple(out.shape))
    grads = gg.autograd.grad(out, ours, grad_outputs=gg.tensor(seed, dtype=gg.float64))
    expected_grads = torch.autograd.grad(expected, theirs, grad_outputs=torch.tensor(seed))
    for g, e in zip(grads, expected_grads):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-12, atol=1e-12)


def test_operands_as_a_list_and_spaces_in_the_equation():
    a, b = gg.randn(2, 3), gg.randn(3, 4)
    np.testing.assert_allclose(gg.einsum("ij, jk -> ik", [a, b]).numpy(), (a @ b).numpy(), rtol=1e-5)


def test_mixed_dtypes_promote():
    out = gg.einsum("i,i->", gg.tensor([1, 2]), gg.tensor([0.5, 0.25]))
    assert out.dtype == gg.float32 and float(out) == 1.0


def test_outer_promotes_and_differentiates():
    a = gg.tensor([1.0, 2.0], requires_grad=True)
    out = gg.outer(a, gg.tensor([1, 10, 100]))
    assert out.dtype == gg.float32 and out.tolist() == [[1, 10, 100], [2, 20, 200]]
    out.sum().backward()
    assert a.grad.tolist() == [111.0, 111.0]


@pytest.mark.parametrize("call, message", [
    (lambda: gg.einsum("ij,jk->ik", gg.ones(2, 3)), "operand subscripts"),
    (lambda: gg.einsum("ij->ij", gg.ones(2)), "do not fit"),
    (lambda: gg.einsum("i,i->i", gg.ones(2), gg.ones(3)), "does not broadcast"),
    (lambda: gg.einsum("i->j", gg.ones(2)), "output subscripts"),
    (lambda: gg.einsum("i->ii", gg.ones(2)), "output subscripts"),
    (lambda: gg.einsum("i", [1.0, 2.0]), "Tensor operands"),
    (lambda: gg.outer(gg.ones(2, 2), gg.ones(2)), "1-D"),
])
def test_errors(call, message):
    with pytest.raises((RuntimeError, TypeError), match=message):
        call()
