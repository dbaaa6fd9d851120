"""Losses: values vs NumPy references, float64 gradchecks, every reduction, and the error messages."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck

REDUCTIONS = ["mean", "sum", "none"]


def host(t) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


def t64(array, device="cpu", requires_grad=False):
    return gg.tensor(np.asarray(array, dtype=np.float64), device=device, requires_grad=requires_grad)


def reduce(values, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](values)


def rng():
    return np.random.default_rng(0)


# ----------------------------------------------------------------- NumPy references
def np_huber(x, y, delta):
    d = np.abs(x - y)
    return np.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta))


def np_bce(p, y, weight=1.0):
    with np.errstate(divide="ignore"):
        return -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log(1 - p), -100)) * weight


def np_bce_logits(x, y, weight=1.0, pos_weight=1.0):
    log_sig, log_one_minus_sig = -np.logaddexp(0, -x), -np.logaddexp(0, x)
    return -(pos_weight * y * log_sig + (1 - y) * log_one_minus_sig) * weight


def np_log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def np_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """PyTorch's class-index cross-entropy for x of shape (N, C, *), written out directly."""
    classes = x.shape[1]
    log_probs = np_log_softmax(x, 1)
    w = np.ones(classes) if weight is None else weight
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    picked = np.take_along_axis(log_probs, safe[:, None], axis=1)[:, 0]
    target_weight = w[safe] * valid
    nll = -picked * target_weight
    w_view = w.reshape((1, classes) + (1,) * (x.ndim - 2))
    smooth = -(log_probs * w_view).sum(1) * valid
    per = (1 - label_smoothing) * nll + label_smoothing / classes * smooth
    if reduction == "mean":
        return per.sum() / target_weight.sum()
    return reduce(per, reduction)


def np_cross_entropy_probs(x, probs, weight=None, reduction="mean", label_smoothing=0.0):
    classes = x.shape[1]
    probs = probs * (1 - label_smoothing) + label_smoothing / classes
    w = np.ones(classes) if weight is None else weight
    per = -(np_log_softmax(x, 1) * probs * w.reshape((1, classes) + (1,) * (x.ndim - 2))).sum(1)
    return per.sum() / per.size if reduction == "mean" else reduce(per, reduction)


# ----------------------------------------------------------------- regression losses
REGRESSION = [
    (F.mse_loss, lambda x, y: (x - y) ** 2, {}),
    (F.l1_loss, lambda x, y: np.abs(x - y), {}),
    (F.huber_loss, lambda x, y: np_huber(x, y, 1.0), {}),
    (F.huber_loss, lambda x, y: np_huber(x, y, 0.3), {"delta": 0.3}),
    (F.smooth_l1_loss, lambda x, y: np_huber(x, y, 1.0), {}),
    (F.smooth_l1_loss, lambda x, y: np_huber(x, y, 0.3) / 0.3, {"beta": 0.3}),
    (F.smooth_l1_loss, lambda x, y: np.abs(x - y), {"beta": 0.0}),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss, reference, kwargs", REGRESSION,
                         ids=["mse", "l1", "huber", "huber_delta", "smooth_l1", "smooth_l1_beta", "smooth_l1_beta0"])
def test_regression_loss_values(loss, reference, kwargs, reduction, device):
    x, y = rng().normal(size=(4, 3)), rng().normal(size=(4, 3)) * 2
    out = loss(t64(x, device), t64(y, device), reduction=reduction, **kwargs)
    np.testing.assert_allclose(host(out), reduce(reference(x, y), reduction), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss, kwargs", [(F.mse_loss, {}), (F.l1_loss, {}), (F.huber_loss, {"delta": 0.5}),
                                          (F.smooth_l1_loss, {"beta": 0.5})],
                         ids=["mse", "l1", "huber", "smooth_l1"])
def test_regression_loss_gradcheck(loss, kwargs, reduction):
    x = t64(rng().normal(size=(3, 2)), requires_grad=True)
    y = t64(rng().normal(size=(3, 2)) + 0.05, requires_grad=True)  # both sides differentiate
    assert gradcheck(lambda a, b: loss(a, b, reduction=reduction, **kwargs), (x, y))


def test_mse_hand_computed_and_module():
    x, y = gg.tensor([1.0, 2.0, 3.0]), gg.tensor([1.0, 4.0, 0.0])
    assert F.mse_loss(x, y).item() == pytest.approx((0 + 4 + 9) / 3)
    assert nn.MSELoss(reduction="sum")(x, y).item() == pytest.approx(13.0)
    assert nn.L1Loss()(x, y).item() == pytest.approx(5 / 3)
    assert nn.HuberLoss(delta=2.0)(x, y).item() == pytest.approx((0 + 2 + 2 * (3 - 1)) / 3)
    assert nn.SmoothL1Loss(beta=2.0)(x, y).item() == pytest.approx((0 + 1 + (3 - 1)) / 3)
    assert nn.SmoothL1Loss(reduction="none")(x, y).tolist() == [0.0, 1.5, 2.5]


def test_smooth_l1_refuses_a_negative_beta():
    with pytest.raises(RuntimeError, match="negative values for beta"):
        F.smooth_l1_loss(gg.ones(2), gg.ones(2), beta=-1.0)
    with pytest.raises(RuntimeError, match="negative values for beta"):
        nn.SmoothL1Loss(beta=-0.5)


# ----------------------------------------------------------------- binary cross-entropy
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_values_with_weight(reduction, device):
    p, y, w = rng().uniform(0.01, 0.99, size=(5, 3)), rng().integers(0, 2, size=(5, 3)), rng().uniform(size=3)
    out = F.binary_cross_entropy(t64(p, device), t64(y, device), weight=t64(w, device), reduction=reduction)
    np.testing.assert_allclose(host(out), reduce(np_bce(p, y, w), reduction), rtol=1e-12)


def test_bce_clamps_the_log_at_minus_100_with_finite_gradients():
    p = gg.tensor([0.0, 1.0, 0.0, 1.0], dtype=gg.float64, requires_grad=True)
    y = gg.tensor([1.0, 0.0, 0.0, 1.0], dtype=gg.float64)
    out = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_array_equal(host(out), [100.0, 100.0, 0.0, 0.0])
    out.sum().backward()
    assert np.isfinite(host(p.grad)).all()


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_gradcheck(reduction):
    p = t64(rng().uniform(0.1, 0.9, size=(3, 2)), requires_grad=True)
    y = t64(rng().uniform(size=(3, 2)))
    w = t64(rng().uniform(size=(2,)))
    assert gradcheck(lambda p: F.binary_cross_entropy(p, y, weight=w, reduction=reduction), (p,))


def test_bce_rejects_values_outside_0_1():
    with pytest.raises(RuntimeError, match="between 0 and 1.*binary_cross_entropy_with_logits"):
        F.binary_cross_entropy(gg.tensor([1.5]), gg.tensor([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_values_weight_and_pos_weight(reduction, device):
    x, y = rng().normal(size=(4, 3)) * 3, rng().uniform(size=(4, 3))
    w, pos = rng().uniform(size=(4, 1)), np.array([0.5, 2.0, 3.0])
    plain = F.binary_cross_entropy_with_logits(t64(x, device), t64(y, device), reduction=reduction)
    np.testing.assert_allclose(host(plain), reduce(np_bce_logits(x, y), reduction), rtol=1e-12)
    weighted = F.binary_cross_entropy_with_logits(
        t64(x, device), t64(y, device), weight=t64(w, device), pos_weight=t64(pos, device), reduction=reduction
    )
    np.testing.assert_allclose(host(weighted), reduce(np_bce_logits(x, y, w, pos), reduction), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_gradcheck(reduction):
    x = t64(rng().normal(size=(3, 2)) * 3, requires_grad=True)
    y = t64(rng().uniform(size=(3, 2)), requires_grad=True)
    pos = t64([2.0, 0.5])
    assert gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction), (x, y))
    assert gradcheck(lambda x: F.binary_cross_entropy_with_logits(x, y, pos_weight=pos, reduction=reduction), (x,))


@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
def test_bce_with_logits_is_finite_for_huge_logits_with_correct_gradient_signs(dtype):
    x = gg.tensor([1000.0, -1000.0, 1000.0, -1000.0], dtype=dtype, requires_grad=True)
    y = gg.tensor([1.0, 0.0, 0.0, 1.0], dtype=dtype)
    losses = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(host(losses), [0.0, 0.0, 1000.0, 1000.0])
    losses.sum().backward()
    np.testing.assert_allclose(host(x.grad), [0.0, 0.0, 1.0, -1.0])  # sigmoid(x) - y: push wrong logits back


def test_bce_with_logits_gradient_at_zero_is_sigmoid_minus_target():
    x = gg.zeros(3, dtype=gg.float64, requires_grad=True)
    y = gg.tensor([0.0, 1.0, 0.25], dtype=gg.float64)
    F.binary_cross_entropy_with_logits(x, y, reduction="sum").backward()
    np.testing.assert_allclose(host(x.grad), [0.5, -0.5, 0.25])


def test_seed_graph_bce_with_logits_gradients_are_analytic():
    x = gg.ones(5)
    w = gg.randn(5, 3, requires_grad=True)
    b = gg.randn(3, requires_grad=True)
    z = x @ w + b
    loss = F.binary_cross_entropy_with_logits(z, gg.zeros(3))
    loss.backward()
    dz = 1 / (1 + np.exp(-host(z))) / 3  # d mean(softplus(z)) / dz = sigmoid(z) / 3
    np.testing.assert_allclose(host(b.grad), dz, rtol=1e-5)
    np.testing.assert_allclose(host(w.grad), np.outer(np.ones(5), dz), rtol=1e-5)


# ----------------------------------------------------------------- cross-entropy and NLL
CE_CASES = [
    pytest.param({}, id="plain"),
    pytest.param({"weight": [0.2, 1.0, 3.0, 0.5]}, id="weight"),
    pytest.param({"ignore_index": 1}, id="ignore"),
    pytest.param({"label_smoothing": 0.2}, id="smoothing"),
    pytest.param({"weight": [0.2, 1.0, 3.0, 0.5], "ignore_index": 2, "label_smoothing": 0.3}, id="all"),
]


def _ce_inputs(shape, seed=0):
    generator = np.random.default_rng(seed)
    x = generator.normal(size=shape) * 2
    target = generator.integers(0, shape[1], size=(shape[0],) + shape[2:])
    target.flat[0] = 1  # make sure ignore_index=1 and =2 both hit and miss somewhere
    target.flat[-1] = 2
    return x, target


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kwargs", CE_CASES)
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 2)], ids=["NC", "NCd1d2"])
def test_cross_entropy_class_indices_values(shape, kwargs, reduction, device):
    x, target = _ce_inputs(shape)
    weight = np.array(kwargs["weight"]) if "weight" in kwargs else None
    options = dict(kwargs, weight=None if weight is None else t64(weight, device))
    out = F.cross_entropy(t64(x, device), gg.tensor(target, device=device), reduction=reduction, **options)
    np_options = {k: v for k, v in kwargs.items() if k != "weight"}
    expected = np_cross_entropy(x, target, weight=weight, reduction=reduction, **np_options)
    np.testing.assert_allclose(host(out), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kwargs", CE_CASES)
def test_cross_entropy_class_indices_gradcheck(kwargs, reduction):
    x, target = _ce_inputs((3, 4, 2))
    x = t64(x, requires_grad=True)
    options = dict(kwargs, weight=t64(kwargs["weight"]) if "weight" in kwargs else None)
    assert gradcheck(lambda x: F.cross_entropy(x, gg.tensor(target), reduction=reduction, **options), (x,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing, weight", [(0.0, None), (0.25, None), (0.1, [1.0, 2.0, 0.5])])
def test_cross_entropy_probabilities(smoothing, weight, reduction, device):
    generator = np.random.default_rng(1)
    x = generator.normal(size=(4, 3, 2))
    probs = np_log_softmax(generator.normal(size=(4, 3, 2)), 1)
    probs = np.exp(probs)
    w = None if weight is None else np.array(weight)
    x_t = t64(x, device, requires_grad=True)
    w_t = None if w is None else t64(w, device)
    out = F.cross_entropy(x_t, t64(probs, device), weight=w_t, reduction=reduction, label_smoothing=smoothing)
    expected = np_cross_entropy_probs(x, probs, w, reduction, smoothing)
    np.testing.assert_allclose(host(out), expected, rtol=1e-12)
    if device == "cpu":
        assert gradcheck(
            lambda x, p: F.cross_entropy(x, p, weight=w_t, reduction=reduction, label_smoothing=smoothing),
            (x_t, t64(probs, requires_grad=True)),
        )


def test_cross_entropy_hand_computed_and_one_dimensional_input():
    assert F.cross_entropy(gg.zeros(2, 4), gg.tensor([1, 3])).item() == pytest.approx(np.log(4))
    logits = gg.tensor([1.0, 2.0, 3.0], dtype=gg.float64)
    expected = -np_log_softmax(np.array([1.0, 2.0, 3.0]), 0)[2]
    assert F.cross_entropy(logits, gg.tensor(2)).item() == pytest.approx(expected)
    assert F.cross_entropy(logits, gg.tensor(2), reduction="none").shape == ()
    probs = gg.tensor([0.0, 0.0, 1.0], dtype=gg.float64)
    assert F.cross_entropy(logits, probs).item() == pytest.approx(expected)


def test_cross_entropy_equals_nll_of_log_softmax():
    x, target = _ce_inputs((5, 3))
    x, target = t64(x), gg.tensor(target)
    w = t64([1.0, 2.0, 0.5])
    expected = F.nll_loss(F.log_softmax(x, 1), target, weight=w, ignore_index=0)
    np.testing.assert_allclose(host(F.cross_entropy(x, target, weight=w, ignore_index=0)), host(expected))


def test_cross_entropy_all_ignored_mean_is_nan():
    with np.errstate(invalid="ignore"):
        out = F.cross_entropy(gg.randn(2, 3), gg.tensor([-100, -100]))
    assert np.isnan(out.item())
    assert F.cross_entropy(gg.randn(2, 3), gg.tensor([-100, -100]), reduction="sum").item() == 0.0


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_values_and_gradcheck(reduction):
    x, target = _ce_inputs((5, 4))
    log_probs = np_log_softmax(x, 1)
    w = np.array([0.5, 1.0, 2.0, 1.5])
    out = F.nll_loss(t64(log_probs), gg.tensor(target), weight=t64(w), ignore_index=2, reduction=reduction)
    valid = target != 2
    per = -log_probs[np.arange(5), target] * w[target] * valid
    expected = per.sum() / (w[target] * valid).sum() if reduction == "mean" else reduce(per, reduction)
    np.testing.assert_allclose(host(out), expected, rtol=1e-12)
    lp = t64(log_probs, requires_grad=True)
    assert gradcheck(lambda lp: F.nll_loss(lp, gg.tensor(target), weight=t64(w), reduction=reduction), (lp,))


def test_loss_modules_wrap_the_functions_and_register_weights():
    x, target = _ce_inputs((4, 3))
    x, target = t64(x), gg.tensor(target)
    w = t64([1.0, 2.0, 3.0])
    criterion = nn.CrossEntropyLoss(weight=w, ignore_index=0, label_smoothing=0.1, reduction="sum")
    np.testing.assert_allclose(
        host(criterion(x, target)),
        host(F.cross_entropy(x, target, weight=w, ignore_index=0, label_smoothing=0.1, reduction="sum")),
    )
    assert list(criterion.state_dict()) == ["weight"] and repr(criterion) == "CrossEntropyLoss()"
    logp = F.log_softmax(x, 1)
    np.testing.assert_allclose(host(nn.NLLLoss(weight=w)(logp, target)), host(F.nll_loss(logp, target, weight=w)))
    p, y = gg.tensor([0.2, 0.9]), gg.tensor([0.0, 1.0])
    np.testing.assert_allclose(host(nn.BCELoss()(p, y)), host(F.binary_cross_entropy(p, y)))
    pos = gg.tensor([3.0])
    logits_loss = nn.BCEWithLogitsLoss(pos_weight=pos)
    assert list(logits_loss.state_dict()) == ["pos_weight"]
    np.testing.assert_allclose(host(logits_loss(p, y)), host(F.binary_cross_entropy_with_logits(p, y, pos_weight=pos)))


# ----------------------------------------------------------------- errors
ALL_LOSSES = [
    ("mse_loss", lambda r: F.mse_loss(gg.ones(2), gg.ones(2), reduction=r)),
    ("l1_loss", lambda r: F.l1_loss(gg.ones(2), gg.ones(2), reduction=r)),
    ("huber_loss", lambda r: F.huber_loss(gg.ones(2), gg.ones(2), reduction=r)),
    ("smooth_l1_loss", lambda r: F.smooth_l1_loss(gg.ones(2), gg.ones(2), reduction=r)),
    ("binary_cross_entropy", lambda r: F.binary_cross_entropy(gg.ones(2) / 2, gg.ones(2), reduction=r)),
    ("binary_cross_entropy_with_logits",
     lambda r: F.binary_cross_entropy_with_logits(gg.ones(2), gg.ones(2), reduction=r)),
    ("cross_entropy", lambda r: F.cross_entropy(gg.ones(2, 3), gg.tensor([0, 1]), reduction=r)),
    ("nll_loss", lambda r: F.nll_loss(gg.ones(2, 3), gg.tensor([0, 1]), reduction=r)),
]


@pytest.mark.parametrize("name, call", ALL_LOSSES, ids=[n for n, _ in ALL_LOSSES])
def test_bad_reduction_names_the_loss_and_the_choices(name, call):
    with pytest.raises(ValueError, match=rf"{name}\(\): reduction='avg' is not a valid value; use 'mean'"):
        call("avg")
    with pytest.raises(ValueError, match="reduction='avg'"):
        nn.MSELoss(reduction="avg")


@pytest.mark.parametrize("loss", [F.mse_loss, F.l1_loss, F.huber_loss, F.smooth_l1_loss, F.binary_cross_entropy,
                                  F.binary_cross_entropy_with_logits])
def test_shape_mismatch_names_the_loss_the_shapes_and_the_fix(loss):
    with pytest.raises(ValueError, match=rf"{loss.__name__}\(\): target shape \(4,\) differs from input shape "
                                         r"\(4, 1\).*input.squeeze\(-1\)"):
        loss(gg.ones(4, 1) / 2, gg.ones(4))


def test_class_index_errors():
    with pytest.raises(IndexError, match=r"cross_entropy\(\): target 3 is out of bounds for 3 classes"):
        F.cross_entropy(gg.randn(2, 3), gg.tensor([0, 3]))
    with pytest.raises(IndexError, match=r"nll_loss\(\): target -1 is out of bounds"):
        F.nll_loss(gg.randn(2, 3), gg.tensor([0, -1]))
    with pytest.raises(ValueError, match=r"expected target of shape \(2,\) for input of shape \(2, 3\)"):
        F.cross_entropy(gg.randn(2, 3), gg.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="integer dtype"):
        F.cross_entropy(gg.randn(2, 3), gg.tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match="class probabilities and must be floating point"):
        F.cross_entropy(gg.randn(2, 3), gg.zeros(2, 3, dtype=gg.int64))
    with pytest.raises(ValueError, match=r"weight must be a 1-D tensor with one value per class \(3\)"):
        F.cross_entropy(gg.randn(2, 3), gg.tensor([0, 1]), weight=gg.ones(2))
    with pytest.raises(ValueError, match="ignore_index=0 is not supported for a target of class probabilities"):
        F.cross_entropy(gg.randn(2, 3), gg.rand(2, 3), ignore_index=0)
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(gg.randn(2, 3), gg.tensor([0, 1]), label_smoothing=1.5)


# ----------------------------------------------------------------- double backward
SECOND_ORDER = [
    ("cross_entropy", lambda x, y: F.cross_entropy(x, gg.tensor([0, 3, 1]), weight=t64([1.0, 2.0, 0.5, 1.5]),
                                                   label_smoothing=0.1)),
    ("cross_entropy_probs", lambda x, y: F.cross_entropy(x, y)),
    ("bce_with_logits", lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=t64([2.0, 1.0, 0.5, 3.0]))),
    ("bce", lambda x, y: F.binary_cross_entropy(x.sigmoid(), y)),
    ("mse", lambda x, y: F.mse_loss(x, y)),
    ("huber", lambda x, y: F.huber_loss(x, y, delta=0.3)),
    ("layer_norm", lambda x, y: (F.layer_norm(x, (4,)) * y).sum()),
]


@pytest.mark.parametrize("fn", [f for _, f in SECOND_ORDER], ids=[n for n, _ in SECOND_ORDER])
def test_gradgradcheck(fn):
    x = t64(rng().normal(size=(3, 4)), requires_grad=True)
    y = t64(rng().uniform(size=(3, 4)))
    assert gg.autograd.gradgradcheck(lambda x: fn(x, y), (x,))


# ------------------------------------------------------------------ issue 11: all targets ignored, BCE targets
@pytest.mark.parametrize("call", [
    lambda m, x, t: m.nn.functional.cross_entropy(x, t),
    lambda m, x, t: m.nn.functional.cross_entropy(x, t, label_smoothing=0.1),
    lambda m, x, t: m.nn.functional.cross_entropy(x, t, weight=m.ones(4, dtype=m.float64)),
    lambda m, x, t: m.nn.functional.nll_loss(m.nn.functional.log_softmax(x, dim=1), t),
], ids=["cross_entropy", "label_smoothing", "class_weight", "nll_loss"])
def test_a_batch_of_only_ignored_targets_gives_nan_loss_and_zero_gradient(call):
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(0).standard_normal((3, 4))
    x = gg.tensor(values, requires_grad=True)
    loss = call(gg, x, gg.tensor([-100, -100, -100]))
    loss.backward()
    tx = torch.tensor(values, requires_grad=True)
    tloss = call(torch, tx, torch.tensor([-100, -100, -100]))
    tloss.backward()
    assert np.isnan(loss.item()) and np.isnan(tloss.item())
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


def test_ignored_targets_still_leave_the_other_gradients_exact():
    values = np.random.default_rng(1).standard_normal((3, 4))
    x = gg.tensor(values, requires_grad=True)
    gg.autograd.gradcheck(lambda v: gg.nn.functional.cross_entropy(v, gg.tensor([1, -100, 3])), (x,))


@pytest.mark.parametrize("target", [[2.0, 0.0], [-1.0, 0.0], [float("nan"), 0.0]], ids=["above", "below", "nan"])
def test_binary_cross_entropy_refuses_targets_outside_0_1(target):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.nn.functional.binary_cross_entropy(torch.full((2,), 0.5), torch.tensor(target))
    with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
        gg.nn.functional.binary_cross_entropy(gg.full((2,), 0.5), gg.tensor(target))


def test_binary_cross_entropy_refuses_nan_probabilities():
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        gg.nn.functional.binary_cross_entropy(gg.tensor([float("nan"), 0.5]), gg.tensor([1.0, 0.0]))
