"""Op behaviour that gradcheck cannot see: ties, indices, non-differentiable results, zeros, return types.

Values are derived by hand (and compared with PyTorch where it is importable).
"""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from opinfo import torch_or_skip


def leaf(values):
    return gg.tensor(values, dtype=gg.float64, requires_grad=True)


def grads_of(fn, *values):
    """The gradients of ``fn(*leaves).sum()`` for leaves made from ``values``, as NumPy arrays."""
    leaves = [leaf(v) for v in values]
    fn(*leaves).sum().backward()
    return [x.grad.numpy() for x in leaves]


def torch_grads_of(fn, *values):
    torch = torch_or_skip()
    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    fn(torch, *leaves).sum().backward()
    return [x.grad.numpy() for x in leaves]


# ---------------------------------------------------------------- ties
A, B = [1.0, 2.0, 3.0], [1.0, 5.0, 0.0]  # equal in the first place


@pytest.mark.parametrize("name, expected_a, expected_b", [
    ("maximum", [0.5, 0.0, 1.0], [0.5, 1.0, 0.0]),
    ("minimum", [0.5, 1.0, 0.0], [0.5, 0.0, 1.0]),
])
def test_maximum_minimum_split_the_gradient_evenly_at_ties(name, expected_a, expected_b):
    ga, gb = grads_of(lambda a, b: getattr(gg, name)(a, b), A, B)
    np.testing.assert_array_equal(ga, expected_a)
    np.testing.assert_array_equal(gb, expected_b)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_ties_match_torch(name):
    expected = torch_grads_of(lambda lib, a, b: getattr(lib, name)(a, b), A, B)
    for got, want in zip(grads_of(lambda a, b: getattr(gg, name)(a, b), A, B), expected):
        np.testing.assert_array_equal(got, want)


TIED = [[3.0, 1.0, 3.0], [2.0, 3.0, 0.0]]


def test_full_max_and_min_share_the_gradient_among_ties():
    (g,) = grads_of(lambda x: x.max(), TIED)
    np.testing.assert_allclose(g, [[1 / 3, 0, 1 / 3], [0, 1 / 3, 0]])
    (g,) = grads_of(lambda x: x.min(), [[0.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(g, [[1 / 3, 0], [1 / 3, 1 / 3]])


def test_amax_amin_share_the_gradient_among_ties_per_slice():
    (g,) = grads_of(lambda x: x.amax(dim=1), TIED)
    np.testing.assert_allclose(g, [[0.5, 0, 0.5], [0, 1, 0]])
    (g,) = grads_of(lambda x: x.amin(dim=0), [[1.0, 2.0], [1.0, 3.0]])
    np.testing.assert_allclose(g, [[0.5, 1], [0.5, 0]])


def test_tie_gradients_match_torch():
    for fn in (lambda lib, x: x.max(), lambda lib, x: x.amax(dim=1), lambda lib, x: x.max(dim=1)[0]):
        (want,) = torch_grads_of(fn, TIED)
        (got,) = grads_of(lambda x: fn(gg, x), TIED)
        np.testing.assert_allclose(got, want)


def test_max_along_a_dim_returns_values_and_indices_and_routes_the_gradient_to_the_index():
    x = leaf(TIED)
    result = x.max(dim=1)
    values, indices = result  # a named pair, as torch.return_types.max
    assert result.values is values and result.indices is indices
    np.testing.assert_array_equal(values.detach().numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(indices.numpy(), [0, 1])  # the first of tied maxima
    assert indices.dtype == gg.int64 and not indices.requires_grad
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0, 0], [0, 1, 0]])


def test_min_along_a_dim_with_keepdim():
    values, indices = gg.tensor([[4.0, 1.0, 1.0], [0.0, 5.0, -1.0]]).min(dim=-1, keepdim=True)
    assert values.shape == (2, 1) and indices.shape == (2, 1)
    np.testing.assert_array_equal(indices.numpy(), [[1], [2]])


def test_clamp_with_tensor_bounds_gives_x_the_gradient_at_ties():
    gx, glo = grads_of(lambda x, lo: x.clamp(min=lo), [1.0, 0.0, 3.0], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(gx, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(glo, [0.0, 1.0, 0.0])


def test_clamp_with_number_bounds_passes_the_gradient_at_the_bounds():
    (g,) = grads_of(lambda x: x.clamp(-1.0, 1.0), [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(g, [0, 1, 1, 1, 0])


def test_clamp_with_min_above_max_gives_max_everywhere():
    x = gg.tensor([-1.0, 0.5, 3.0])
    np.testing.assert_array_equal(x.clamp(min=2.0, max=1.0).numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(
        x.clamp(min=gg.tensor([2.0, 2.0, 2.0]), max=gg.tensor(1.0)).numpy(), [1.0, 1.0, 1.0]
    )


@pytest.mark.parametrize("name, derivative_at_zero", [("relu", 0.0), ("leaky_relu", 0.01), ("abs", 0.0)])
def test_derivatives_at_the_kink_follow_pytorch(name, derivative_at_zero):
    (g,) = grads_of(getattr(gg, name), [0.0])
    assert g[0] == derivative_at_zero


# ---------------------------------------------------------------- non-differentiable results
@pytest.mark.parametrize("op", [gg.eq, gg.ne, gg.lt, gg.le, gg.gt, gg.ge])
def test_comparisons_are_bool_and_cut_the_graph(op):
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 0.0, 4.0])
    for result in (op(a, b), op(a, 2.0), op(2, a)):
        assert result.dtype == gg.bool
        assert not result.requires_grad and result.grad_fn is None


def test_comparison_values_with_ties():
    a, b = gg.tensor([1.0, 2.0, 3.0]), gg.tensor([1.0, 0.0, 4.0])
    assert (a == b).tolist() == [True, False, False]
    assert (a <= b).tolist() == [True, False, True]
    assert (a > b).tolist() == [False, True, False]
    assert (a != 2).tolist() == [True, False, True]


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_are_int64_and_not_differentiable(name):
    x = leaf([[1.0, 5.0, 5.0], [7.0, 0.0, 7.0]])
    flat, per_row = getattr(x, name)(), getattr(x, name)(dim=1, keepdim=True)
    assert flat.dtype == per_row.dtype == gg.int64
    assert not flat.requires_grad and not per_row.requires_grad
    assert per_row.shape == (2, 1)
    assert getattr(x, name)(keepdim=True).shape == (1, 1)
    expected = {"argmax": (3, [[1], [0]]), "argmin": (4, [[0], [1]])}[name]  # first occurrence of a tie
    assert flat.item() == expected[0]
    assert per_row.tolist() == expected[1]


# ---------------------------------------------------------------- indexing
def test_repeated_integer_indices_accumulate_their_gradients():
    (g,) = grads_of(lambda x: x[gg.tensor([0, 2, 0, 0])], [10.0, 20.0, 30.0])
    np.testing.assert_array_equal(g, [3.0, 0.0, 1.0])
    (g,) = grads_of(lambda x: x[[0, 0, 1], [1, 1, 0]], [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(g, [[0.0, 2.0], [1.0, 0.0]])


def test_repeated_indices_match_torch():
    index = [[0, 1, 1], [2, 2, 2]]

    def fn(lib, x):
        return x[lib.tensor(index)] * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)

    (want,) = torch_grads_of(fn, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    (got,) = grads_of(lambda x: fn(gg, x), [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    np.testing.assert_array_equal(got, want)


def test_bool_mask_selects_in_order_and_routes_the_gradient():
    x = leaf([[1.0, -2.0], [-3.0, 4.0]])
    picked = x[x > 0]
    np.testing.assert_array_equal(picked.detach().numpy(), [1.0, 4.0])
    (picked * gg.tensor([10.0, 20.0], dtype=gg.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[10.0, 0.0], [0.0, 20.0]])


def test_index_forms_agree():
    x = gg.arange(12).reshape(3, 4)
    as_tensor = x[gg.tensor([2, 0])]
    assert x[[2, 0]].tolist() == as_tensor.tolist() == x[np.array([2, 0])].tolist()
    assert x[..., 1].tolist() == x[:, 1].tolist() == [1, 5, 9]
    assert x[None].shape == (1, 3, 4) and x[:, None, 1].shape == (3, 1)
    assert x[::-1, ::2].tolist() == [[8, 10], [4, 6], [0, 2]]  # negative steps: NumPy's, not PyTorch's
    assert x[-1, -1].item() == 11


# ---------------------------------------------------------------- zeros, empties, 0-d
@pytest.mark.parametrize("values, expected", [
    ([2.0, 0.0, 3.0], [0.0, 6.0, 0.0]),     # one zero: its gradient is the product of the others
    ([0.0, 0.0, 3.0], [0.0, 0.0, 0.0]),     # two zeros: every gradient is 0
    ([2.0, -1.0, 3.0], [-3.0, 6.0, -2.0]),  # none: prod / x
])
def test_prod_gradient_is_exact_with_zeros(values, expected):
    (g,) = grads_of(lambda x: x.prod(), values)
    np.testing.assert_array_equal(g, expected)


def test_prod_gradient_with_zeros_along_a_dim_matches_torch():
    values = [[1.0, 0.0, 3.0], [0.0, 0.0, 2.0], [2.0, 4.0, 0.5]]
    (want,) = torch_grads_of(lambda lib, x: x.prod(dim=1), values)
    (got,) = grads_of(lambda x: x.prod(dim=1), values)
    np.testing.assert_array_equal(got, want)


def test_prod_double_backward_with_a_single_zero():
    x = leaf([2.0, 0.0, 3.0])
    (g,) = gg.autograd.grad(x.prod(), x, create_graph=True)
    (h,) = gg.autograd.grad(g[1], x)  # d/dx of (x0 * x2)
    np.testing.assert_array_equal(h.numpy(), [3.0, 0.0, 2.0])


def test_reductions_of_empty_tensors():
    empty = gg.zeros(0)
    assert empty.sum().item() == 0.0
    assert empty.prod().item() == 1.0
    assert gg.zeros(2, 0).sum(dim=1).tolist() == [0.0, 0.0]


def test_reductions_of_0d_tensors_accept_dim_0_and_minus_1():
    x = gg.tensor(4.0)
    assert x.sum(dim=0).item() == x.mean(dim=-1).item() == x.amax(dim=0).item() == 4.0
    values, indices = x.max(dim=0)
    assert values.item() == 4.0 and indices.item() == 0 and indices.shape == ()
    assert x.argmax(dim=0).item() == 0
    assert x.softmax(dim=0).item() == 1.0


def test_an_empty_dim_tuple_reduces_everything_as_in_pytorch():
    x = gg.ones(2, 3)
    assert x.sum(dim=()).item() == 6.0


def test_reduction_dim_spellings_agree():
    x = gg.arange(24, dtype=gg.float64).reshape(2, 3, 4)
    expected = x.sum(dim=2).tolist()
    assert x.sum(dim=-1).tolist() == x.sum(dim=(2,)).tolist() == x.sum(dim=[-1]).tolist() == expected
    assert x.sum(dim=(0, 2)).tolist() == x.sum(dim=(2, 0)).tolist() == x.sum(dim=(-1, -3)).tolist()


@pytest.mark.parametrize("kwargs, ddof", [({}, 1), ({"unbiased": True}, 1), ({"unbiased": False}, 0),
                                          ({"correction": 0}, 0), ({"correction": 2}, 2)])
def test_var_and_std_corrections(kwargs, ddof):
    values = np.array([[1.0, 4.0, 2.0, 8.0], [0.5, 0.5, 3.0, -1.0]])
    x = gg.tensor(values, dtype=gg.float64)
    np.testing.assert_allclose(x.var(**kwargs).item(), np.var(values, ddof=ddof))
    np.testing.assert_allclose(x.std(dim=1, **kwargs).numpy(), np.std(values, axis=1, ddof=ddof))


def test_softmax_and_logsumexp_are_stable_for_large_inputs():
    x = gg.tensor([1000.0, 1000.0, -1000.0])
    np.testing.assert_allclose(x.softmax(dim=0).numpy(), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(x.log_softmax(dim=0).numpy()[:2], [np.log(0.5)] * 2, rtol=1e-6)
    np.testing.assert_allclose(x.logsumexp(dim=0).item(), 1000 + np.log(2), rtol=1e-6)
    with np.errstate(divide="ignore"):  # log(0) on purpose: a row of -inf stays -inf, not nan
        assert gg.tensor([-float("inf")] * 2).logsumexp(dim=0).item() == -float("inf")


def test_pow_gradient_at_a_zero_base_is_not_nan():
    ga, gb = grads_of(lambda a, b: a**b, [0.0, 2.0], [2.0, 3.0])
    np.testing.assert_array_equal(ga, [0.0, 12.0])
    np.testing.assert_allclose(gb, [0.0, 8 * np.log(2)])
    (g,) = grads_of(lambda x: x**2.0, [0.0, -3.0])
    np.testing.assert_array_equal(g, [0.0, -6.0])


def test_gelu_modes_are_close_but_different():
    x = gg.linspace(-3, 3, 13, dtype=gg.float64)
    exact, approx = gg.gelu(x), gg.gelu(x, approximate="tanh")
    difference = np.abs(exact.numpy() - approx.numpy())
    assert 0 < difference.max() < 1e-3


def test_softplus_switches_to_the_identity_above_the_threshold():
    x = gg.tensor([30.0, 10.0], dtype=gg.float64)
    np.testing.assert_allclose(gg.softplus(x).numpy(), [30.0, np.log1p(np.exp(10.0))])
    np.testing.assert_allclose(gg.softplus(x, beta=2.0, threshold=15.0).numpy()[1], 10.0)


# ---------------------------------------------------------------- shapes of results
def test_split_and_chunk_piece_shapes_and_gradients():
    x = leaf(np.arange(10.0).reshape(5, 2))
    pieces = x.split(2)
    assert [p.shape for p in pieces] == [(2, 2), (2, 2), (1, 2)]
    assert [p.shape for p in gg.ones(2, 6).chunk(4, dim=1)] == [(2, 2)] * 3  # fewer chunks than asked, as torch
    assert [p.shape for p in gg.ones(5).chunk(2)] == [(3,), (2,)]
    (pieces[0].sum() + 2 * pieces[2].sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy()[:, 0], [1, 1, 0, 0, 2])


@pytest.mark.parametrize("a, b, shape", [
    ((3,), (3,), ()), ((3,), (3, 2), (2,)), ((2, 3), (3,), (2,)), ((5, 2, 3), (3, 4), (5, 2, 4)),
    ((3,), (5, 3, 4), (5, 4)), ((5, 2, 3), (3,), (5, 2)), ((2, 1, 4, 3), (5, 3, 2), (2, 5, 4, 2)),
])
def test_matmul_result_shapes(a, b, shape):
    assert (gg.ones(*a) @ gg.ones(*b)).shape == shape


def test_shape_views_and_transposes():
    x = gg.arange(24).reshape(2, 3, 4)
    assert x.T.shape == (4, 3, 2) and x.mT.shape == (2, 4, 3)
    assert x.flatten().shape == (24,) and x.flatten(1).shape == (2, 12) and x.flatten(0, 1).shape == (6, 4)
    assert x.permute(2, 0, 1).shape == (4, 2, 3) and x.transpose(0, -1).shape == (4, 3, 2)
    assert x.unsqueeze(-1).shape == (2, 3, 4, 1) and x.unsqueeze(0).squeeze(0).shape == (2, 3, 4)
    assert x[:, :1].squeeze().shape == (2, 4) and x[:, :1].squeeze(0).shape == (2, 1, 4)
    assert gg.ones(3, 1).expand(-1, 4).shape == (3, 4) and gg.ones(3).expand(2, 3).shape == (2, 3)
    assert gg.stack([gg.ones(2), gg.ones(2)], dim=-1).shape == (2, 2)
    assert x.narrow(2, -3, 2).tolist() == x[:, :, 1:3].tolist()


def test_where_with_two_numbers_uses_the_default_float():
    result = gg.where(gg.tensor([True, False]), 1.0, 2.0)
    assert result.dtype == gg.float32 and result.tolist() == [1.0, 2.0]
