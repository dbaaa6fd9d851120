"""Module and Parameter mechanics: registration, traversal, modes, to(), state_dict, repr."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn


class Block(nn.Module):
    """A Linear, a free parameter, a persistent and a non-persistent buffer, and an unregistered tensor."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.scale = nn.Parameter(gg.ones(2))
        self.register_buffer("steps", gg.zeros(1, dtype=gg.int64))
        self.register_buffer("running", gg.zeros(2))
        self.register_buffer("cache", gg.zeros(2), persistent=False)
        self.plain = gg.zeros(2)  # an ordinary attribute: not a buffer

    def forward(self, x):
        return self.linear(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(2, 1, bias=False)

    def forward(self, x):
        return self.head(self.block(x))


# ----------------------------------------------------------------- Parameter
def test_parameter_is_a_leaf_tensor_that_requires_grad_and_shares_memory():
    source = gg.zeros(3)
    p = nn.Parameter(source)
    assert isinstance(p, gg.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf
    source.array[0] = 5.0
    assert p.array[0] == 5.0  # shares memory, as torch.nn.Parameter does
    assert not nn.Parameter(gg.zeros(2), requires_grad=False).requires_grad


def test_parameter_of_a_computed_tensor_is_a_leaf():
    x = gg.ones(2, requires_grad=True)
    p = nn.Parameter(x * 2)
    assert p.is_leaf and p.grad_fn is None
    (p * 3).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(p.grad.numpy(), [3.0, 3.0])


def test_parameter_repr_and_op_results_are_plain_tensors():
    p = nn.Parameter(gg.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert type(p * 2) is gg.Tensor


def test_parameter_rejects_non_tensors():
    with pytest.raises(TypeError, match="expected a Tensor"):
        nn.Parameter([1.0, 2.0])


# ----------------------------------------------------------------- registration and traversal
def test_named_parameters_buffers_and_children():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["block.scale", "block.linear.weight", "block.linear.bias",
                                                      "head.weight"]
    assert len(list(net.parameters())) == 4
    assert [n for n, _ in net.named_buffers()] == ["block.steps", "block.running", "block.cache"]
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.linear", "head"]
    assert list(net.children()) == [net.block, net.head]
    assert [n for n, _ in net.block.named_parameters(recurse=False)] == ["scale"]
    assert "plain" not in dict(net.block.named_buffers())


def test_shared_parameter_is_listed_once():
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    net[1].weight = net[0].weight
    assert len(list(net.parameters())) == 3
    assert list(net.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]  # every name, like PyTorch


def test_attribute_assignment_rules():
    block = Block()
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        block.scale = gg.ones(2)
    block.scale = None
    assert block.scale is None and "scale" not in dict(block.named_parameters())
    with pytest.raises(TypeError, match="buffer 'running'"):
        block.running = 3
    block.running = gg.ones(2)
    assert dict(block.named_buffers())["running"] is block.running
    del block.linear
    assert not hasattr(block, "linear") and list(block.children()) == []
    block.linear = nn.Linear(1, 1)  # re-registering after deletion works
    assert list(block.children()) == [block.linear]


def test_missing_attribute_and_registration_before_init():
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'nope'"):
        Block().nope

    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(gg.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Forgot()


def test_register_rejects_bad_names_and_values():
    m = nn.Module()
    with pytest.raises(KeyError, match="contain '.'"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="Parameter or None"):
        m.register_parameter("w", gg.zeros(1))
    with pytest.raises(TypeError, match="Tensor or None"):
        m.register_buffer("b", np.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("training", gg.zeros(1))


def test_get_submodule():
    net = Net()
    assert net.get_submodule("block.linear") is net.block.linear
    assert net.get_submodule("") is net
    with pytest.raises(AttributeError, match="no submodule `missing`"):
        net.get_submodule("block.missing")


# ----------------------------------------------------------------- modes, grads, apply, call
def test_train_eval_reach_every_submodule():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("no")


def test_train_goes_through_each_childs_own_train():
    class Frozen(nn.Module):
        def train(self, mode=True):  # a layer that always stays in eval mode
            return super().train(False)

    net = nn.Sequential(nn.Linear(1, 1), Frozen())
    net.train()
    assert net.training and net[0].training and not net[1].training


def test_zero_grad_to_none_or_zeros():
    net = Net()
    net(gg.randn(4, 3)).sum().backward()
    grads = {n: p.grad for n, p in net.named_parameters()}
    assert all(g is not None for g in grads.values())
    net.zero_grad(set_to_none=False)
    for name, p in net.named_parameters():
        assert p.grad is grads[name] and not p.grad.array.any()
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_requires_grad_freezes_parameters():
    net = Net()
    net.block.requires_grad_(False)
    net(gg.randn(2, 3)).sum().backward()
    assert net.block.linear.weight.grad is None and net.head.weight.grad is not None


def test_apply_visits_children_before_parent():
    visited = []
    net = Net()
    assert net.apply(lambda m: visited.append(type(m).__name__)) is net
    assert visited == ["Linear", "Block", "Linear", "Net"]


def test_call_runs_forward_with_args_and_kwargs():
    class AddScaled(nn.Module):
        def forward(self, x, y, scale=1.0):
            return x + y * scale

    out = AddScaled()(gg.ones(2), gg.ones(2), scale=3.0)
    np.testing.assert_allclose(out.numpy(), [4.0, 4.0])
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(gg.ones(1))


# ----------------------------------------------------------------- to(), dtype and device
def test_to_dtype_keeps_parameter_objects_and_moves_grads():
    net = Net()
    net(gg.randn(2, 3)).sum().backward()
    params = list(net.parameters())
    grads = [p.grad for p in params]
    assert net.to(gg.float64) is net
    assert all(a is b for a, b in zip(net.parameters(), params))
    for p, g in zip(params, grads):
        assert p.dtype == gg.float64 and p.grad is g and g.dtype == gg.float64 and p.requires_grad
    assert net.block.running.dtype == gg.float64 and net.block.cache.dtype == gg.float64
    assert net.block.steps.dtype == gg.int64  # integer buffers are never cast
    out = net(gg.randn(2, 3, dtype=gg.float64))
    out.sum().backward()  # gradients still reach the same Parameter objects
    assert params[0].grad.dtype == gg.float64
    net.float()
    assert all(p.dtype == gg.float32 for p in params)
    net.double()
    assert all(p.dtype == gg.float64 for p in params)


def test_to_rejects_integer_dtypes_and_cpu_is_a_no_op():
    net = Net()
    with pytest.raises(TypeError, match="floating point"):
        net.to(gg.int64)
    weight_data = net.head.weight.array
    assert net.to("cpu") is net and net.cpu() is net
    assert net.head.weight.array is weight_data


def test_backward_through_graph_recorded_before_a_cast_fails_clearly():
    layer = nn.Linear(2, 2)
    out = (layer.weight * layer.weight).sum()  # Mul saves the weight for backward
    layer.double()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_to_device_moves_parameters(device):
    net = Net()
    params = list(net.parameters())
    net.to(device)
    assert all(p.device == device for p in net.parameters())
    assert all(a is b for a, b in zip(net.parameters(), params))
    assert all(b.device == device for b in net.buffers())
    out = net(gg.randn(4, 3, device=device))
    out.sum().backward()
    assert all(p.grad.device == device for p in params)
    net.cpu()
    assert all(p.device == "cpu" and p.grad.device == "cpu" for p in params)


# ----------------------------------------------------------------- state_dict
def test_state_dict_keys_values_and_sharing():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["block.scale", "block.steps", "block.running", "block.linear.weight", "block.linear.bias",
                        "head.weight"]
    weight = sd["block.linear.weight"]
    assert type(weight) is gg.Tensor and not weight.requires_grad and weight.grad_fn is None
    assert weight.array is net.block.linear.weight.array  # detached, not copied (as PyTorch)
    assert net.state_dict(keep_vars=True)["head.weight"] is net.head.weight


def test_state_dict_round_trip_reproduces_outputs():
    source, target = Net(), Net()
    x = gg.randn(5, 3)
    assert not np.allclose(source(x).detach().numpy(), target(x).detach().numpy())
    weight_before = target.block.linear.weight
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert target.block.linear.weight is weight_before  # copied in place
    np.testing.assert_allclose(target(x).detach().numpy(), source(x).detach().numpy())


def test_load_state_dict_strict_errors_list_every_problem():
    net = Net()
    sd = net.state_dict()
    del sd["head.weight"]
    sd["extra.bias"] = gg.zeros(1)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    message = str(info.value)
    assert "Error(s) in loading state_dict for Net" in message
    assert 'Missing key(s) in state_dict: "head.weight"' in message
    assert 'Unexpected key(s) in state_dict: "extra.bias"' in message
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["head.weight"] and result.unexpected_keys == ["extra.bias"]


def test_load_state_dict_shape_mismatch_raises_even_when_not_strict():
    net = Net()
    sd = net.state_dict()
    sd["head.weight"] = gg.zeros(3, 3)
    with pytest.raises(RuntimeError, match=r"size mismatch for head.weight: copying a param with shape \(3, 3\) from "
                                           r"checkpoint, the shape in current model is \(1, 2\)"):
        net.load_state_dict(sd, strict=False)
    with pytest.raises(TypeError, match="dict-like"):
        net.load_state_dict([1, 2])


def test_load_state_dict_casts_to_the_parameter_dtype():
    layer = nn.Linear(2, 2)
    sd = {"weight": gg.ones(2, 2, dtype=gg.float64), "bias": gg.zeros(2, dtype=gg.float64)}
    layer.load_state_dict(sd)
    assert layer.weight.dtype == gg.float32
    np.testing.assert_allclose(layer.weight.detach().numpy(), np.ones((2, 2)))


# ----------------------------------------------------------------- repr
def test_repr_nests_like_pytorch():
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Sequential(nn.LayerNorm(2), nn.Dropout(0.1)))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=2, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): LayerNorm((2,), eps=1e-05, elementwise_affine=True, bias=True)\n"
        "    (1): Dropout(p=0.1, inplace=False)\n"
        "  )\n"
        ")"
    )
    assert repr(Net()) == (
        "Net(\n"
        "  (block): Block(\n"
        "    (linear): Linear(in_features=3, out_features=2, bias=True)\n"
        "  )\n"
        "  (head): Linear(in_features=2, out_features=1, bias=False)\n"
        ")"
    )


# ----------------------------------------------------------------- copying and pickling
def test_deepcopy_and_pickle_give_independent_modules_with_the_same_values():
    import copy
    import pickle

    net = Net()
    net(gg.randn(2, 3)).sum().backward()  # leaves graph bookkeeping on the parameters
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        for (name, p), (_, q) in zip(net.named_parameters(), clone.named_parameters()):
            assert type(q) is nn.Parameter and q is not p and q.array is not p.array and q.requires_grad
            np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())
        clone(gg.randn(2, 3)).sum().backward()
        assert clone.head.weight.grad is not None
    shared = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    shared[1].weight = shared[0].weight
    copied = copy.deepcopy(shared)
    assert copied[1].weight is copied[0].weight  # sharing survives the copy
