"""ELU, Softplus, Unflatten, Dropout2d, padding, KLDivLoss, cosine_similarity, ModuleDict, ParameterList/Dict."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn as nn
import gpugrad.nn.functional as F
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.backends import to_host

rng = np.random.default_rng(0)


def _host(t):
    return np.asarray(to_host(t.array))


def _t(array, device, grad=False):
    return gg.tensor(array, dtype=gg.float64, device=device, requires_grad=grad)


def test_elu_and_softplus(device):
    data = np.array([-800.0, -1.0, -0.2, 0.3, 800.0])
    np.testing.assert_allclose(_host(nn.ELU(alpha=0.5)(_t(data, device))),
                               np.where(data > 0, data, 0.5 * np.expm1(np.minimum(data, 0))))
    x = _t(data, device, True)
    F.elu(x).sum().backward()
    assert np.isfinite(_host(x.grad)).all()  # no inf * 0 from the branch where() discards
    assert gradcheck(F.elu, (_t([-1.0, -0.2, 0.3], device, True),))
    assert gradgradcheck(F.elu, (_t([-1.0, -0.2, 0.3], device, True),))
    np.testing.assert_allclose(_host(nn.Softplus(beta=2.0)(_t(data[1:4], device))),
                               np.log1p(np.exp(2 * data[1:4])) / 2)


def test_unflatten_and_dropout2d(device):
    assert nn.Unflatten(1, (2, 5))(gg.zeros(3, 10, device=device)).shape == (3, 2, 5)
    assert nn.Unflatten(-1, (2, 2))(gg.zeros(3, 4, device=device)).shape == (3, 2, 2)
    drop = nn.Dropout2d(0.5)
    out = _host(drop(gg.ones(8, 16, 3, 3, device=device)))
    per_channel = out.reshape(8, 16, 9)
    assert ((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1)).all()  # whole channels kept or dropped
    assert 0 < (per_channel[..., 0] == 0).mean() < 1
    assert drop.eval()(out_tensor := gg.ones(2, 3, 3, device=device)) is out_tensor


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_matches_numpy(device, mode):
    data = rng.normal(size=(2, 3, 4, 5))
    numpy_mode = {"replicate": "edge", "circular": "wrap"}.get(mode, mode)
    expected = np.pad(data, [(0, 0), (0, 0), (3, 1), (2, 2)], mode=numpy_mode)
    np.testing.assert_allclose(_host(F.pad(_t(data, device), (2, 2, 3, 1), mode=mode)), expected)
    assert gradcheck(lambda x: F.pad(x, (1, 2), mode=mode), (_t(rng.normal(size=(2, 4)), device, True),))


def test_pad_value_cropping_and_layers(device):
    x = _t([[1.0, 2.0, 3.0]], device)
    np.testing.assert_array_equal(_host(F.pad(x, (1, 0), value=9.0)), [[9.0, 1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(_host(F.pad(x, (-1, 1))), [[2.0, 3.0, 0.0]])
    assert nn.ZeroPad2d((1, 2, 0, 1))(gg.ones(1, 1, 2, 2, device=device)).shape == (1, 1, 3, 5)
    assert _host(nn.ConstantPad1d(1, 7.0)(x))[0, 0] == 7.0
    np.testing.assert_array_equal(_host(nn.ReflectionPad1d(1)(x)), [[2.0, 1.0, 2.0, 3.0, 2.0]])
    np.testing.assert_array_equal(_host(nn.ReplicationPad2d(1)(x.reshape(1, 1, 3)))[0, :, 0], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="even length"):
        F.pad(x, (1,))
    with pytest.raises(RuntimeError, match="smaller than the dimension"):
        F.pad(x, (3, 0), mode="reflect")


def test_kl_div_and_cosine_similarity(device):
    log_p = np.log(np.array([[0.2, 0.8], [0.5, 0.5]]))
    q = np.array([[0.5, 0.5], [0.0, 1.0]])
    terms = np.where(q > 0, q * (np.log(np.where(q > 0, q, 1)) - log_p), 0)
    np.testing.assert_allclose(_host(F.kl_div(_t(log_p, device), _t(q, device))), terms.mean())
    np.testing.assert_allclose(_host(nn.KLDivLoss(reduction="batchmean")(_t(log_p, device), _t(q, device))),
                               terms.sum() / 2)
    np.testing.assert_allclose(_host(F.kl_div(_t(log_p, device), _t(log_p, device), reduction="sum",
                                              log_target=True)), 0.0)
    assert gradcheck(lambda a, b: F.kl_div(a, b, reduction="sum"), (_t(log_p, device, True), _t(q + 0.1, device,
                                                                                                   True)))
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    expected = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(_host(F.cosine_similarity(_t(a, device), _t(b, device))), expected)
    assert _host(F.cosine_similarity(_t(np.zeros((1, 3)), device), _t(a[:1], device))).tolist() == [0.0]
    assert gradcheck(lambda x, y: F.cosine_similarity(x, y, dim=0), (_t(a, device, True), _t(b, device, True)))


def test_containers_register_what_they_hold():
    heads = nn.ModuleDict({"a": nn.Linear(2, 3)})
    heads["b"] = nn.Linear(3, 1)
    assert list(heads) == ["a", "b"] and "b" in heads and len(heads) == 2
    assert len(list(heads.parameters())) == 4 and set(heads.state_dict()) == {"a.weight", "a.bias", "b.weight",
                                                                                "b.bias"}
    heads.pop("a")
    assert list(heads.keys()) == ["b"]
    weights = nn.ParameterList([gg.ones(2), nn.Parameter(gg.zeros(3))])
    weights.append(gg.ones(1))
    assert len(weights) == 3 and all(isinstance(p, nn.Parameter) for p in weights)
    assert len(list(weights.parameters())) == 3 and weights[-1].shape == (1,)
    named = nn.ParameterDict({"scale": gg.ones(1)})
    named.update({"shift": gg.zeros(1)})
    assert list(named.keys()) == ["scale", "shift"] and isinstance(named["shift"], nn.Parameter)
    model = nn.Module()
    model.extra = named
    assert set(model.state_dict()) == {"extra.scale", "extra.shift"}


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # PyTorch's own notice about 'mean'
def test_torch_parity():
    torch = pytest.importorskip("torch")
    data = rng.normal(size=(2, 3, 4))
    x, t = gg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    for mode in ("constant", "reflect", "replicate", "circular"):
        np.testing.assert_allclose(F.pad(x, (1, 2), mode=mode).detach().numpy(),
                                   torch.nn.functional.pad(t, (1, 2), mode=mode).detach().numpy())
    np.testing.assert_allclose(F.elu(x, 0.7).detach().numpy(), torch.nn.functional.elu(t, 0.7).detach().numpy())
    np.testing.assert_allclose(F.cosine_similarity(x, x * 2 + 1, dim=2).detach().numpy(),
                               torch.nn.functional.cosine_similarity(t, t * 2 + 1, dim=2).detach().numpy())
    log_p, q = F.log_softmax(x, dim=-1), F.softmax(x * 3, dim=-1)
    for reduction in ("mean", "batchmean", "sum"):
        ours = F.kl_div(log_p, q, reduction=reduction)
        theirs = torch.nn.functional.kl_div(torch.log_softmax(t, -1), torch.softmax(t * 3, -1), reduction=reduction)
        np.testing.assert_allclose(ours.item(), theirs.item())
    F.kl_div(log_p, q, reduction="batchmean").backward()
    torch.nn.functional.kl_div(torch.log_softmax(t, -1), torch.softmax(t * 3, -1), reduction="batchmean").backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-12)


def test_reprs_match_pytorch():
    torch = pytest.importorskip("torch")
    for make in (lambda lib: lib.nn.BatchNorm1d(3, momentum=None), lambda lib: lib.nn.BatchNorm2d(4, affine=False),
                 lambda lib: lib.nn.ELU(0.5), lambda lib: lib.nn.Softplus(2.0), lambda lib: lib.nn.Unflatten(1, (2, 5)),
                 lambda lib: lib.nn.Dropout2d(0.3), lambda lib: lib.nn.ZeroPad2d(1), lambda lib: lib.nn.KLDivLoss(),
                 lambda lib: lib.nn.ConstantPad1d(1, 2.0), lambda lib: lib.nn.ReflectionPad2d((1, 0, 2, 0)),
                 lambda lib: lib.nn.ModuleDict({"a": lib.nn.ReLU()}),
                 lambda lib: lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2, 3))])):
        assert repr(make(gg)).replace("gpugrad.", "torch.") == repr(make(torch))


ACTIVATIONS = {
    "selu": lambda a: 1.0507009873554805 * np.where(a > 0, a, 1.6732632423543772 * np.expm1(np.minimum(a, 0))),
    "relu6": lambda a: np.clip(a, 0, 6),
    "hardtanh": lambda a: np.clip(a, -1, 1),
    "logsigmoid": lambda a: -np.logaddexp(0, -a),
    "softsign": lambda a: a / (1 + np.abs(a)),
    "mish": lambda a: a * np.tanh(np.logaddexp(0, a)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_more_activations_match_numpy_and_differentiate(device, name):
    data = np.array([-40.0, -7.0, -0.6, 0.3, 1.2, 6.5, 40.0])
    np.testing.assert_allclose(_host(getattr(F, name)(_t(data, device))), ACTIVATIONS[name](data), rtol=1e-12)
    smooth = _t([-2.0, -0.6, 0.3, 1.2, 3.0], device, True)  # away from the kinks of relu6/hardtanh
    assert gradcheck(getattr(F, name), (smooth,))


def test_activation_layers_and_distances_match_pytorch():
    torch = pytest.importorskip("torch")
    data = rng.normal(scale=4.0, size=(3, 5))
    for layer in ("SELU", "ReLU6", "Hardtanh", "LogSigmoid", "Softsign", "Mish"):
        x, t = gg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        ours, theirs = getattr(nn, layer)(), getattr(torch.nn, layer)()
        (ours(x) ** 2).sum().backward()
        (theirs(t) ** 2).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
        assert repr(ours) == repr(theirs)
    other = rng.normal(size=(3, 5))
    for ours, theirs in [(nn.CosineSimilarity(dim=0), torch.nn.CosineSimilarity(dim=0)),
                         (nn.PairwiseDistance(p=1.0, keepdim=True), torch.nn.PairwiseDistance(p=1.0, keepdim=True))]:
        np.testing.assert_allclose(ours(gg.tensor(data), gg.tensor(other)).numpy(),
                                   theirs(torch.tensor(data), torch.tensor(other)).numpy(), rtol=1e-12)


def test_pairwise_distance(device):
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    np.testing.assert_allclose(_host(F.pairwise_distance(_t(a, device), _t(b, device))),
                               np.linalg.norm(a - b + 1e-6, axis=-1))
    assert gradcheck(F.pairwise_distance, (_t(a, device, True), _t(b, device, True)))
