"""Layers and the non-loss functional ops: values vs NumPy, shapes, gradients, containers."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck


def host(t) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


def randn64(*shape, device="cpu", requires_grad=True):
    return gg.randn(*shape, dtype=gg.float64, device=device, requires_grad=requires_grad)


def np_erf(x):
    return np.vectorize(math.erf)(x)


# ----------------------------------------------------------------- Linear, Identity, Flatten
def test_linear_matches_numpy(device):
    layer = nn.Linear(3, 2).to(device)
    x = gg.randn(4, 5, 3, device=device)
    expected = host(x) @ host(layer.weight).T + host(layer.bias)
    out = layer(x)
    assert out.shape == (4, 5, 2) and out.device == device
    np.testing.assert_allclose(host(out), expected, rtol=1e-5, atol=1e-6)


def test_linear_gradcheck_input_weight_bias():
    x, w, b = randn64(4, 3), randn64(2, 3), randn64(2)
    assert gradcheck(F.linear, (x, w, b))
    assert gradcheck(lambda x, w: F.linear(x, w), (x, w))


def test_linear_default_init_bounds_and_no_bias():
    layer = nn.Linear(50, 40)
    bound = 1 / math.sqrt(50)
    w, b = host(layer.weight), host(layer.bias)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert layer.weight.shape == (40, 50) and layer.weight.requires_grad
    plain = nn.Linear(3, 2, bias=False)
    assert plain.bias is None and [n for n, _ in plain.named_parameters()] == ["weight"]
    assert repr(plain) == "Linear(in_features=3, out_features=2, bias=False)"


def test_linear_shape_error_names_the_shapes():
    with pytest.raises(RuntimeError, match=r"linear\(\): input of shape \(4, 5\).*weight of shape \(2, 3\)"):
        nn.Linear(3, 2)(gg.randn(4, 5))


def test_linear_dtype_and_device_arguments():
    layer = nn.Linear(3, 2, dtype=gg.float64, device="cpu")
    assert layer.weight.dtype == gg.float64 and layer.bias.dtype == gg.float64


def test_identity_and_flatten():
    x = gg.randn(2, 3, 4, 5)
    assert nn.Identity(54, unused=True)(x) is x
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


# ----------------------------------------------------------------- containers
def test_sequential_indexing_len_iteration_and_forward():
    a, b, c = nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)
    model = nn.Sequential(a, b, c)
    assert len(model) == 3 and model[0] is a and model[-1] is c and list(model) == [a, b, c]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b]
    x = gg.randn(5, 3)
    np.testing.assert_allclose(host(model(x)), host(c(b(a(x)))))
    assert len(list(model.parameters())) == 4
    with pytest.raises(IndexError, match="out of range for Sequential of length 3"):
        model[3]


def test_sequential_append_insert_delete_keep_names_numbered():
    model = nn.Sequential(nn.ReLU(), nn.Tanh())
    assert model.append(nn.Sigmoid()) is model
    del model[0]
    assert [n for n, _ in model.named_children()] == ["0", "1"]
    assert isinstance(model[0], nn.Tanh) and isinstance(model[1], nn.Sigmoid)
    model.insert(0, nn.Identity())
    assert [type(m).__name__ for m in model] == ["Identity", "Tanh", "Sigmoid"]
    model[1] = nn.ReLU()
    assert isinstance(model[1], nn.ReLU)
    assert isinstance(model.pop(), nn.Sigmoid) and len(model) == 2


def test_sequential_from_ordered_dict_keeps_names():
    model = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [n for n, _ in model.named_parameters()] == ["fc.weight", "fc.bias"]
    assert model.fc is model[0]
    assert [n for n, _ in model[1:].named_children()] == ["act"]


def test_module_list_registers_and_has_no_forward():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers += [nn.ReLU()]
    layers.append(nn.Linear(2, 1))
    assert len(layers) == 5 and len(list(layers.parameters())) == 8
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    with pytest.raises(NotImplementedError, match="iterate over it"):
        layers(gg.ones(2))
    text = repr(layers)
    assert "(0-2): 3 x Linear(in_features=2, out_features=2, bias=True)" in text
    assert "(3): ReLU()" in text and "(4): Linear(in_features=2, out_features=1, bias=True)" in text


# ----------------------------------------------------------------- activations
ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.Tanh(), np.tanh),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.GELU(), lambda x: 0.5 * x * (1 + np_erf(x / math.sqrt(2)))),
    (nn.GELU(approximate="tanh"),
     lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.SiLU(), lambda x: x / (1 + np.exp(-x))),
    (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (nn.LogSoftmax(dim=0), lambda x: x - np.log(np.exp(x).sum(0, keepdims=True))),
]


@pytest.mark.parametrize("module, reference", ACTIVATIONS, ids=lambda v: repr(v) if isinstance(v, nn.Module) else "")
def test_activation_values(module, reference, device):
    x = gg.randn(4, 5, dtype=gg.float64, device=device) * 3
    np.testing.assert_allclose(host(module(x)), reference(host(x)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("module", [m for m, _ in ACTIVATIONS], ids=repr)
def test_activation_gradcheck(module):
    x = randn64(3, 4)
    assert gradcheck(module, (x,))


def test_activation_reprs_match_pytorch_spelling():
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.Softmax(dim=-1)) == "Softmax(dim=-1)"
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


def test_softmax_without_dim_warns_and_uses_the_legacy_choice():
    x = gg.randn(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = F.softmax(x)
    np.testing.assert_allclose(host(out).sum(1), [1.0, 1.0], rtol=1e-6)


# ----------------------------------------------------------------- Dropout
def test_dropout_train_zeroes_about_p_and_scales_the_rest(device):
    drop = nn.Dropout(0.25)
    x = gg.ones(200, 100, device=device)
    out = host(drop(x))
    kept = out != 0
    assert abs(1 - kept.mean() - 0.25) < 0.02
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)


def test_dropout_eval_is_identity_and_extremes():
    x = gg.randn(10, 10)
    drop = nn.Dropout(0.5)
    assert drop.eval()(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert not host(F.dropout(x, 1.0)).any()
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)


def test_dropout_is_seeded_and_its_gradient_is_the_mask():
    x = gg.ones(50, requires_grad=True)
    gg.manual_seed(3)
    first = F.dropout(x, 0.5)
    gg.manual_seed(3)
    second = F.dropout(x, 0.5)
    np.testing.assert_array_equal(host(first), host(second))
    first.sum().backward()
    np.testing.assert_allclose(host(x.grad), host(first))  # d(x * mask)/dx = mask, and x = 1


# ----------------------------------------------------------------- LayerNorm
def np_layer_norm(x, dims, weight, bias, eps=1e-5):
    mean = x.mean(axis=dims, keepdims=True)
    var = x.var(axis=dims, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def test_layer_norm_matches_numpy(device):
    norm = nn.LayerNorm((3, 4), dtype=gg.float64).to(device)
    with gg.no_grad():
        norm.weight.copy_(gg.randn(3, 4, dtype=gg.float64))
        norm.bias.copy_(gg.randn(3, 4, dtype=gg.float64))
    x = gg.randn(2, 3, 4, dtype=gg.float64, device=device) * 5 + 2
    expected = np_layer_norm(host(x), (1, 2), host(norm.weight), host(norm.bias))
    np.testing.assert_allclose(host(norm(x)), expected, rtol=1e-10, atol=1e-12)


def test_layer_norm_init_repr_and_no_affine():
    norm = nn.LayerNorm(4)
    np.testing.assert_array_equal(host(norm.weight), np.ones(4))
    np.testing.assert_array_equal(host(norm.bias), np.zeros(4))
    assert repr(norm) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)"
    bare = nn.LayerNorm(4, elementwise_affine=False)
    assert list(bare.parameters()) == [] and bare.weight is None
    out = host(bare(gg.randn(3, 4)))
    np.testing.assert_allclose(out.mean(-1), 0, atol=1e-6)
    np.testing.assert_allclose(out.std(-1), 1, atol=1e-3)


def test_layer_norm_gradcheck():
    x, w, b = randn64(2, 3, 4), randn64(4), randn64(4)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b), (x, w, b))
    assert gradcheck(lambda x: F.layer_norm(x, (3, 4)), (x,))


def test_layer_norm_shape_error():
    with pytest.raises(RuntimeError, match=r"expected input with shape \[\*, 4\], but got input of size \[2, 3\]"):
        nn.LayerNorm(4)(gg.randn(2, 3))


# ----------------------------------------------------------------- Embedding
def test_embedding_picks_rows(device):
    emb = nn.Embedding(6, 3).to(device)
    idx = gg.tensor([[0, 5], [2, 2]], device=device)
    out = emb(idx)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(host(out), host(emb.weight)[host(idx)])
    assert repr(emb) == "Embedding(6, 3)"


def test_embedding_gradient_scatter_adds_repeated_indices():
    emb = nn.Embedding(5, 2)
    idx = gg.tensor([1, 3, 1, 1, 4])
    upstream = np.arange(10.0).reshape(5, 2).astype(np.float32)
    (emb(idx) * gg.tensor(upstream)).sum().backward()
    expected = np.zeros((5, 2), dtype=np.float32)
    np.add.at(expected, host(idx), upstream)
    np.testing.assert_allclose(host(emb.weight.grad), expected)


def test_embedding_gradcheck_wrt_weight():
    weight = randn64(4, 3)
    idx = gg.tensor([[0, 3], [3, 1]])
    assert gradcheck(lambda w: F.embedding(idx, w), (weight,))


def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    emb = nn.Embedding(5, 3, padding_idx=-1)
    assert emb.padding_idx == 4 and repr(emb) == "Embedding(5, 3, padding_idx=4)"
    np.testing.assert_array_equal(host(emb.weight)[4], np.zeros(3))
    idx = gg.tensor([4, 0, 4, 2])
    (emb(idx) ** 2 + emb(idx)).sum().backward()
    grad = host(emb.weight.grad)
    np.testing.assert_array_equal(grad[4], np.zeros(3))
    assert grad[0].any() and grad[2].any()


def test_embedding_init_is_standard_normal():
    w = host(nn.Embedding(1000, 50).weight)
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02


def test_embedding_errors_and_from_pretrained():
    emb = nn.Embedding(3, 2)
    with pytest.raises(IndexError, match=r"index 3 is out of range for a weight of 3 rows"):
        emb(gg.tensor([0, 3]))
    with pytest.raises(TypeError, match="integer Tensor"):
        emb(gg.tensor([0.0, 1.0]))
    pretrained = gg.randn(4, 2)
    frozen = nn.Embedding.from_pretrained(pretrained)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(host(frozen(gg.tensor([2]))), host(pretrained)[[2]])
    assert nn.Embedding.from_pretrained(pretrained, freeze=False).weight.requires_grad


# ----------------------------------------------------------------- one_hot
def test_one_hot():
    out = F.one_hot(gg.tensor([[0, 2], [1, 0]]))
    assert out.dtype == gg.int64 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(host(out), np.eye(3, dtype=np.int64)[[[0, 2], [1, 0]]])
    assert F.one_hot(gg.tensor([1]), num_classes=4).shape == (1, 4)
    with pytest.raises(RuntimeError, match=r"class values must be in \[0, 2\)"):
        F.one_hot(gg.tensor([0, 2]), num_classes=2)
    with pytest.raises(RuntimeError, match="index tensor"):
        F.one_hot(gg.tensor([0.0]))
