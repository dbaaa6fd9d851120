"""Parity with PyTorch (skipped without torch): losses and layers, forward and backward, in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]


def pair(array, requires_grad=False, integer=False):
    """The same values as a gpugrad tensor and a torch tensor."""
    array = np.asarray(array, dtype=np.int64 if integer else np.float64)
    return (
        gg.tensor(array.copy(), requires_grad=requires_grad),
        torch.tensor(array.copy(), requires_grad=requires_grad),
    )


def assert_close(ours, theirs, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)


def check_loss(ours_fn, torch_fn, inputs, reduction):
    """Compare value and input gradient; ``inputs`` are (gg, torch) pairs, the first one differentiated."""
    ours = ours_fn(*[g for g, _ in inputs], reduction=reduction)
    theirs = torch_fn(*[t for _, t in inputs], reduction=reduction)
    assert_close(ours, theirs)
    seed = np.random.default_rng(5).normal(size=tuple(theirs.shape))
    ours.backward(gg.tensor(seed))
    theirs.backward(torch.tensor(seed))
    assert_close(inputs[0][0].grad, inputs[0][1].grad)


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(reduction):
    x, y = rng().normal(size=(4, 3)), rng(1).normal(size=(4, 3))
    check_loss(F.mse_loss, TF.mse_loss, [pair(x, True), pair(y)], reduction)
    check_loss(F.l1_loss, TF.l1_loss, [pair(x, True), pair(y)], reduction)
    check_loss(lambda a, b, reduction: F.huber_loss(a, b, reduction=reduction, delta=0.7),
               lambda a, b, reduction: TF.huber_loss(a, b, reduction=reduction, delta=0.7),
               [pair(x, True), pair(y)], reduction)
    for beta in (1.0, 0.4, 0.0):
        check_loss(lambda a, b, reduction: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
                   lambda a, b, reduction: TF.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
                   [pair(x, True), pair(y)], reduction)
        check_loss(lambda a, b, reduction: nn.SmoothL1Loss(reduction=reduction, beta=beta)(a, b),
                   lambda a, b, reduction: torch.nn.SmoothL1Loss(reduction=reduction, beta=beta)(a, b),
                   [pair(x, True), pair(y)], reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction):
    p, y, w = rng().uniform(0.02, 0.98, size=(4, 3)), rng(1).uniform(size=(4, 3)), rng(2).uniform(size=3)
    w_ours, w_torch = pair(w)
    check_loss(lambda a, b, reduction: F.binary_cross_entropy(a, b, weight=w_ours, reduction=reduction),
               lambda a, b, reduction: TF.binary_cross_entropy(a, b, weight=w_torch, reduction=reduction),
               [pair(p, True), pair(y)], reduction)


def test_binary_cross_entropy_at_exact_zero_and_one_clamps_like_torch():
    p, y = pair([0.0, 1.0, 0.0, 1.0]), pair([1.0, 0.0, 0.0, 1.0])
    assert_close(F.binary_cross_entropy(p[0], y[0], reduction="none"),
                 TF.binary_cross_entropy(p[1], y[1], reduction="none"))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(reduction):
    x = rng().normal(size=(4, 3)) * 4
    x[0, :] = [1000.0, -1000.0, 0.0]
    y = rng(1).uniform(size=(4, 3))
    (w_ours, w_torch), (pos_ours, pos_torch) = pair(rng(2).uniform(size=(4, 1))), pair([0.5, 2.0, 3.0])
    check_loss(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
               [pair(x, True), pair(y)], reduction)
    check_loss(
        lambda a, b, reduction: F.binary_cross_entropy_with_logits(
            a, b, weight=w_ours, pos_weight=pos_ours, reduction=reduction),
        lambda a, b, reduction: TF.binary_cross_entropy_with_logits(
            a, b, weight=w_torch, pos_weight=pos_torch, reduction=reduction),
        [pair(x, True), pair(y)], reduction,
    )


CE_OPTIONS = [
    {},
    {"weight": [0.3, 1.0, 2.5, 0.7]},
    {"ignore_index": 2},
    {"label_smoothing": 0.15},
    {"weight": [0.3, 1.0, 2.5, 0.7], "ignore_index": 1, "label_smoothing": 0.4},
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", CE_OPTIONS, ids=lambda o: "-".join(o) or "plain")
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 3)], ids=["NC", "NCd1d2"])
def test_cross_entropy_class_indices(shape, options, reduction):
    x = rng().normal(size=shape) * 2
    target = rng(1).integers(0, 4, size=(shape[0],) + shape[2:])
    target.flat[0], target.flat[-1] = 1, 2
    weight = pair(options["weight"]) if "weight" in options else (None, None)
    rest = {k: v for k, v in options.items() if k != "weight"}
    check_loss(lambda a, t, reduction: F.cross_entropy(a, t, weight=weight[0], reduction=reduction, **rest),
               lambda a, t, reduction: TF.cross_entropy(a, t, weight=weight[1], reduction=reduction, **rest),
               [pair(x, True), pair(target, integer=True)], reduction)
    check_loss(lambda a, t, reduction: F.nll_loss(F.log_softmax(a, 1), t, weight=weight[0], reduction=reduction,
                                                  ignore_index=options.get("ignore_index", -100)),
               lambda a, t, reduction: TF.nll_loss(TF.log_softmax(a, 1), t, weight=weight[1], reduction=reduction,
                                                   ignore_index=options.get("ignore_index", -100)),
               [pair(x, True), pair(target, integer=True)], reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.2}, {"weight": [1.0, 0.5, 2.0]}], ids=str)
def test_cross_entropy_probabilities(options, reduction):
    x = rng().normal(size=(4, 3, 2))
    probs = np.exp(rng(1).normal(size=(4, 3, 2)))
    probs /= probs.sum(1, keepdims=True)
    weight = pair(options["weight"]) if "weight" in options else (None, None)
    smoothing = options.get("label_smoothing", 0.0)
    options = {"reduction": reduction, "label_smoothing": smoothing}
    check_loss(
        lambda a, p, reduction: F.cross_entropy(a, p, weight=weight[0], **options),
        lambda a, p, reduction: TF.cross_entropy(a, p, weight=weight[1], **options),
        [pair(x, True), pair(probs)], reduction,
    )


def test_cross_entropy_one_dimensional_input():
    x = rng().normal(size=4)
    check_loss(lambda a, t, reduction: F.cross_entropy(a, t, reduction=reduction, label_smoothing=0.1),
               lambda a, t, reduction: TF.cross_entropy(a, t, reduction=reduction, label_smoothing=0.1),
               [pair(x, True), pair(3, integer=True)], "mean")


# ----------------------------------------------------------------- layers with identical weights
def copy_parameters(ours: nn.Module, theirs) -> None:
    for (name, p), (torch_name, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == torch_name
        with torch.no_grad():
            q.copy_(torch.from_numpy(p.detach().numpy().copy()))


def check_layer(ours: nn.Module, theirs, x: np.ndarray, integer_input=False):
    copy_parameters(ours, theirs)
    x_ours, x_torch = pair(x, requires_grad=not integer_input, integer=integer_input)
    out_ours, out_torch = ours(x_ours), theirs(x_torch)
    assert_close(out_ours, out_torch)
    seed = rng(9).normal(size=tuple(out_torch.shape))
    out_ours.backward(gg.tensor(seed))
    out_torch.backward(torch.tensor(seed))
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, q.grad)
    if not integer_input:
        assert_close(x_ours.grad, x_torch.grad)


def test_linear_parity():
    check_layer(nn.Linear(5, 3, dtype=gg.float64), torch.nn.Linear(5, 3, dtype=torch.float64),
                rng().normal(size=(2, 4, 5)))


def test_layer_norm_parity():
    ours = nn.LayerNorm((3, 4), eps=1e-3, dtype=gg.float64)
    with gg.no_grad():
        ours.weight.copy_(gg.randn(3, 4, dtype=gg.float64))
        ours.bias.copy_(gg.randn(3, 4, dtype=gg.float64))
    check_layer(ours, torch.nn.LayerNorm((3, 4), eps=1e-3, dtype=torch.float64), rng().normal(size=(2, 3, 4)) * 3)


def test_embedding_parity_with_padding_and_repeats():
    check_layer(nn.Embedding(6, 3, padding_idx=2, dtype=gg.float64),
                torch.nn.Embedding(6, 3, padding_idx=2, dtype=torch.float64),
                np.array([[0, 2, 5], [2, 5, 5]]), integer_input=True)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_parity(approximate):
    check_layer(nn.GELU(approximate), torch.nn.GELU(approximate), rng().normal(size=(3, 4)) * 3)


def test_clip_grad_norm_parity():
    grads = [rng().normal(size=(3, 2)) * 5, rng(1).normal(size=4)]
    ours = [nn.Parameter(gg.zeros(*g.shape, dtype=gg.float64)) for g in grads]
    theirs = [torch.zeros(*g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = gg.tensor(g), torch.tensor(g)
    for norm_type in (2.0, math.inf):
        assert_close(gg.nn.utils.clip_grad_norm_(ours, 1.5, norm_type), torch.nn.utils.clip_grad_norm_(theirs, 1.5,
                                                                                                         norm_type))
        for p, q in zip(ours, theirs):
            assert_close(p.grad, q.grad)


def test_reprs_match_torch():
    def build(lib):
        return lib.Sequential(
            lib.Linear(3, 4), lib.GELU(approximate="tanh"), lib.LeakyReLU(0.2), lib.Dropout(0.1),
            lib.Sequential(lib.LayerNorm(4), lib.Softmax(dim=-1), lib.Flatten()), lib.Embedding(5, 2, padding_idx=0),
            lib.ModuleList([lib.Linear(2, 2), lib.Linear(2, 2), lib.ReLU()]), lib.Identity(), lib.Tanh(),
            lib.CrossEntropyLoss(),
        )

    assert repr(build(nn)) == repr(build(torch.nn))


@pytest.mark.parametrize("kwargs", [{}, {"p": 1.0, "dim": 0}, {"dim": -1, "eps": 0.5}])
def test_normalize(kwargs):
    x = rng().normal(size=(3, 4))
    x[1] = 0.0  # a zero row: divided by eps, with a finite gradient
    ours_in, theirs_in = pair(x, True)
    ours, theirs = F.normalize(ours_in, **kwargs), TF.normalize(theirs_in, **kwargs)
    assert_close(ours, theirs)
    seed = rng(3).normal(size=x.shape)
    ours.backward(gg.tensor(seed))
    theirs.backward(torch.tensor(seed))
    assert_close(ours_in.grad, theirs_in.grad)
