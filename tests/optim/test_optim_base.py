"""The Optimizer base: param groups, state keyed by parameter, zero_grad, step, state dicts, fused dispatch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import gpugrad as gg
from gpugrad.optim import functional
from gpugrad.optim.optimizer import Optimizer, required

OPTIMIZERS = {
    "SGD": dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "Adam": dict(lr=0.05, amsgrad=True, weight_decay=0.01),
    "AdamW": dict(lr=0.05),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
    "Adagrad": dict(lr=0.1, lr_decay=0.01),
    "Adadelta": dict(lr=0.5, weight_decay=0.01),
    "Adamax": dict(lr=0.05, weight_decay=0.01),
}


def leaf(values, **kwargs):
    return gg.tensor(values, dtype=gg.float64, requires_grad=True, **kwargs)


def quadratic_step(opt, params, target=3.0):
    opt.zero_grad()
    loss = sum(((p - target) ** 2).sum() for p in params)
    loss.backward()
    opt.step()
    return loss


# ------------------------------------------------------------------ construction and groups
def test_param_groups_take_defaults_and_their_own_options():
    w, b = leaf([1.0, 2.0]), leaf([3.0])
    opt = gg.optim.SGD([{"params": [w]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["momentum"] == 0.9
    w.grad, b.grad = gg.ones(2, dtype=gg.float64), gg.ones(1, dtype=gg.float64)
    opt.step()
    assert_array_equal(w.detach().numpy(), [0.9, 1.9])
    assert_array_equal(b.detach().numpy(), [2.5])


def test_group_dict_given_by_the_caller_is_not_modified():
    group = {"params": [leaf([1.0])]}
    gg.optim.Adam([group])
    assert set(group) == {"params"}


@pytest.mark.parametrize("params, error, message", [
    (lambda: leaf([1.0]), TypeError, "iterable of Tensors or dicts"),
    (lambda: [], ValueError, "empty parameter list"),
    (lambda: [np.zeros(2)], TypeError, "can only optimize Tensors, but one of the params is ndarray"),
    (lambda: [leaf([1.0]) * 2], ValueError, "can't optimize a non-leaf Tensor"),
    (lambda: [{"params": {leaf([1.0])}}], TypeError, "ordered collections"),
    (lambda: ["not a tensor"], TypeError, "is str"),
])
def test_bad_parameters_raise_pytorchs_errors(params, error, message):
    with pytest.raises(error, match=message):
        gg.optim.SGD(params(), lr=0.1)


def test_a_parameter_in_two_groups_raises():
    w = leaf([1.0])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        gg.optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    opt = gg.optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [leaf([2.0]), w]})
    assert len(opt.param_groups) == 1


def test_a_duplicate_within_a_group_warns():
    w = leaf([1.0])
    with pytest.warns(UserWarning, match="duplicate parameters"):
        gg.optim.SGD([w, w], lr=0.1)


def test_missing_required_option_raises():
    class NeedsLr(Optimizer):
        def __init__(self, params, lr=required):
            super().__init__(params, dict(lr=lr))

    with pytest.raises(ValueError, match="didn't specify a value of required optimization parameter lr"):
        NeedsLr([leaf([1.0])])
    assert NeedsLr([{"params": [leaf([1.0])], "lr": 0.1}]).param_groups[0]["lr"] == 0.1
    assert repr(required) == "<required parameter>"


def test_frozen_parameter_is_accepted_and_skipped():
    # PyTorch (since 0.4) accepts tensors that do not require grad; they never get a gradient
    frozen = gg.tensor([1.0, 2.0], dtype=gg.float64)
    w = leaf([1.0])
    opt = gg.optim.Adam([w, frozen], lr=0.1)
    quadratic_step(opt, [w])
    assert_array_equal(frozen.numpy(), [1.0, 2.0])
    assert frozen not in opt.state and w in opt.state


def test_add_param_group_later_and_step_it():
    w, b = leaf([0.0]), leaf([0.0])
    opt = gg.optim.Adagrad([w], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 1.0})
    quadratic_step(opt, [w, b])
    assert opt.state[b]["step"] == 1 and opt.param_groups[1]["lr"] == 1.0
    assert abs(b.item()) > abs(w.item()) > 0


def test_invalid_hyperparameters_raise():
    w = [leaf([1.0])]
    for make, message in [
        (lambda: gg.optim.SGD(w, lr=-1), "Invalid learning rate: -1"),
        (lambda: gg.optim.SGD(w, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
        (lambda: gg.optim.Adam(w, betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
        (lambda: gg.optim.Adam(w, eps=-1e-8), "Invalid epsilon value"),
        (lambda: gg.optim.RMSprop(w, alpha=-0.1), "Invalid alpha value"),
        (lambda: gg.optim.Adagrad(w, lr_decay=-1), "Invalid lr_decay value"),
    ]:
        with pytest.raises(ValueError, match=message):
            make()


def test_repr_lists_each_group_options():
    opt = gg.optim.SGD([{"params": [leaf([1.0])]}, {"params": [leaf([1.0])], "lr": 0.5}], lr=0.1, momentum=0.9)
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n") and text.endswith("\n)")
    assert "    lr: 0.1\n" in text and "Parameter Group 1\n" in text and "    lr: 0.5\n" in text
    assert "    momentum: 0.9\n" in text and "params" not in text


def test_named_parameters_are_accepted():
    w, b = leaf([1.0]), leaf([2.0])
    opt = gg.optim.SGD([("w", w), ("b", b)], lr=0.1)
    assert opt.param_groups[0]["params"] == [w, b] and opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]
    with pytest.raises(ValueError, match="with/without names"):
        opt.add_param_group({"params": [leaf([3.0])]})


# ------------------------------------------------------------------ state, zero_grad, step
def test_state_is_keyed_by_the_parameter_objects():
    w, b = leaf([1.0, 2.0]), leaf([3.0])
    opt = gg.optim.Adam([w, b], lr=0.1)
    quadratic_step(opt, [w, b])
    keys = list(opt.state)
    assert len(keys) == 2 and keys[0] is w and keys[1] is b
    assert opt.state[w]["step"] == 1 and opt.state[w]["exp_avg"].shape == (2,)
    assert not any(isinstance(k, int) for k in opt.state)


def test_parameters_are_updated_in_place_and_their_version_bumped():
    w = leaf([1.0, 2.0])
    opt = gg.optim.SGD([w], lr=0.1, momentum=0.9)
    array, version = w.array, w._version[0]
    held_elsewhere = w
    quadratic_step(opt, [w])
    assert w.array is array and held_elsewhere is w
    assert_array_equal(array, [1.0 + 0.1 * 4.0, 2.0 + 0.1 * 2.0])
    assert w._version[0] == version + 1
    assert w.requires_grad and w.is_leaf


def test_a_graph_that_saved_a_parameter_fails_backward_after_the_step():
    w = leaf([1.0, 2.0])
    opt = gg.optim.SGD([w], lr=0.1)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError):
        loss.backward()


def test_zero_grad_sets_to_none_by_default():
    w = leaf([1.0])
    opt = gg.optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    opt.zero_grad()
    assert w.grad is None


def test_zero_grad_set_to_none_false_zeroes_in_place():
    w = leaf([1.0, 2.0])
    opt = gg.optim.SGD([w], lr=0.1)
    (w * 3).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad
    assert_array_equal(grad.numpy(), [0.0, 0.0])
    (w * 3).sum().backward()  # accumulates into the zeroed tensor
    assert_array_equal(w.grad.numpy(), [3.0, 3.0])


def test_zero_grad_detaches_a_gradient_with_a_graph():
    w = leaf([1.0, 2.0])
    opt = gg.optim.SGD([w], lr=0.1)
    (w ** 3).sum().backward(create_graph=True)
    assert w.grad.requires_grad
    opt.zero_grad(set_to_none=False)
    assert w.grad.grad_fn is None and not w.grad.requires_grad
    assert_array_equal(w.grad.numpy(), [0.0, 0.0])


def test_parameters_without_gradient_are_skipped():
    w, unused = leaf([1.0]), leaf([5.0])
    opt = gg.optim.RMSprop([w, unused], lr=0.1, momentum=0.9)
    for _ in range(3):
        quadratic_step(opt, [w])
    assert unused.item() == 5.0 and unused not in opt.state and unused._version[0] == 0


def test_step_with_closure_returns_its_loss_and_runs_with_grad():
    w = leaf([1.0, -1.0])
    opt = gg.optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with gg.no_grad():  # the closure re-enables grad for itself
        loss = opt.step(closure)
    assert loss.item() == 2.0
    assert_array_equal(w.detach().numpy(), [0.8, -0.8])
    assert opt.step() is None


def test_mixed_float_dtypes_in_one_group():
    w32 = gg.tensor([1.0, 2.0], dtype=gg.float32, requires_grad=True)
    w64 = leaf([1.0, 2.0])
    opt = gg.optim.Adam([w32, w64], lr=0.1)
    quadratic_step(opt, [w32, w64])
    assert w32.dtype == gg.float32 and opt.state[w32]["exp_avg"].dtype == gg.float32
    np.testing.assert_allclose(w32.detach().numpy(), w64.detach().numpy(), rtol=1e-6)


# ------------------------------------------------------------------ state dicts
def test_state_dict_layout_is_pytorchs():
    w, b, c = leaf([1.0, 2.0]), leaf([3.0]), leaf([4.0])
    opt = gg.optim.SGD([{"params": [w, b]}, {"params": [c], "lr": 0.5}], lr=0.1, momentum=0.9)
    quadratic_step(opt, [w, c])  # b gets no gradient, so no state
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["momentum"] == 0.9
    assert sorted(sd["state"]) == [0, 2]
    assert set(sd["state"][0]) == {"momentum_buffer"}


def test_state_dict_holds_copies():
    w = leaf([1.0, 2.0])
    opt = gg.optim.Adam([w], lr=0.1)
    quadratic_step(opt, [w])
    sd = opt.state_dict()
    saved = sd["state"][0]["exp_avg"].numpy().copy()
    assert sd["state"][0]["exp_avg"] is not opt.state[w]["exp_avg"]
    quadratic_step(opt, [w])
    assert_array_equal(sd["state"][0]["exp_avg"].numpy(), saved)
    assert sd["state"][0]["step"] == 1
    sd["param_groups"][0]["lr"] = 123.0
    assert opt.param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_through_a_checkpoint_continues_identically(name, tmp_path):
    def make(params, **overrides):
        return getattr(gg.optim, name)([{"params": params[:1]}, {"params": params[1:], "lr": 0.02}],
                                       **{**OPTIMIZERS[name], **overrides})

    params = [leaf([1.0, -2.0, 0.5]), leaf([[0.3, 0.1], [-0.7, 2.0]])]
    opt = make(params)
    for _ in range(20):
        quadratic_step(opt, params)
    gg.save({"optimizer": opt.state_dict(), "params": params}, tmp_path / "mid.ckpt")

    checkpoint = gg.load(tmp_path / "mid.ckpt")
    resumed_params = [p.detach().clone().requires_grad_() for p in checkpoint["params"]]
    resumed = make(resumed_params, lr=999.0)  # the loaded groups' options replace these
    resumed.load_state_dict(checkpoint["optimizer"])
    assert resumed.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    for _ in range(20):
        quadratic_step(opt, params)
        quadratic_step(resumed, resumed_params)
    for p, q in zip(params, resumed_params):
        assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert resumed.state[resumed_params[0]].keys() == opt.state[params[0]].keys()


def test_load_state_dict_casts_floating_state_to_the_parameter_dtype():
    w64 = leaf([1.0, 2.0])
    opt = gg.optim.Adam([w64], lr=0.1)
    quadratic_step(opt, [w64])
    w32 = gg.tensor([1.0, 2.0], dtype=gg.float32, requires_grad=True)
    opt32 = gg.optim.Adam([w32], lr=0.1)
    opt32.load_state_dict(opt.state_dict())
    state = opt32.state[w32]
    assert state["exp_avg"].dtype == gg.float32 and state["exp_avg_sq"].dtype == gg.float32
    assert state["step"] == 1


def test_load_state_dict_accepts_a_tensor_step():
    w = leaf([1.0])
    opt = gg.optim.Adam([w], lr=0.1)
    quadratic_step(opt, [w])
    sd = opt.state_dict()
    sd["state"][0]["step"] = gg.tensor(1.0)  # as PyTorch stores it
    opt.load_state_dict(sd)
    assert opt.state[w]["step"] == 1 and isinstance(opt.state[w]["step"], int)


def test_load_state_dict_rejects_a_different_layout():
    opt = gg.optim.SGD([leaf([1.0]), leaf([2.0])], lr=0.1)
    two_groups = gg.optim.SGD([{"params": [leaf([1.0])]}, {"params": [leaf([1.0])]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(two_groups.state_dict())
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(gg.optim.SGD([leaf([1.0])], lr=0.1).state_dict())


# ------------------------------------------------------------------ fused kernel dispatch
class FakeFused:
    """Stands in for gpugrad.backends.fused: records the calls and answers ``supports`` as told."""

    def __init__(self, supported):
        self.supported = supported
        self.calls = []

    def supports(self, name, params):
        return name in self.supported

    def __getattr__(self, attr):
        if not attr.endswith("_update"):
            raise AttributeError(attr)
        return lambda *args, **kwargs: self.calls.append((attr, args, kwargs))


@pytest.mark.parametrize("name, make", [
    ("sgd", lambda ps: gg.optim.SGD(ps, lr=0.1, momentum=0.9)),
    ("adam", lambda ps: gg.optim.AdamW(ps, lr=0.1)),
    ("rmsprop", lambda ps: gg.optim.RMSprop(ps, lr=0.1)),
    ("adagrad", lambda ps: gg.optim.Adagrad(ps, lr=0.1)),
    ("adadelta", lambda ps: gg.optim.Adadelta(ps, lr=0.1)),
    ("adamax", lambda ps: gg.optim.Adamax(ps, lr=0.1)),
])
def test_a_fused_kernel_that_supports_the_params_replaces_the_numpy_update(name, make, monkeypatch):
    fake = FakeFused({name})
    monkeypatch.setattr(functional, "fused_backend", lambda: fake)
    w = leaf([1.0, 2.0])
    opt = make([w])
    quadratic_step(opt, [w])
    assert_array_equal(w.detach().numpy(), [1.0, 2.0])  # the fake did nothing, and NumPy did not run
    (called, args, kwargs), = fake.calls
    assert called == f"{name}_update" and args[0][0] is w.array and args[1][0] is w.grad.array
    assert kwargs["xp"] is np and kwargs["lr"] == 0.1


def test_an_unsupported_fused_kernel_falls_back_to_numpy(monkeypatch):
    fake = FakeFused(set())
    monkeypatch.setattr(functional, "fused_backend", lambda: fake)
    w = leaf([1.0])
    quadratic_step(gg.optim.SGD([w], lr=0.1), [w])
    assert fake.calls == [] and w.item() == pytest.approx(1.4)


def test_fused_backend_is_optional():
    backend = functional.fused_backend()
    try:
        from gpugrad.backends import fused  # noqa: F401
    except ImportError:
        assert backend is None
    else:
        assert backend is fused


def test_scheduler_warns_when_stepped_before_the_optimizer():
    opt = gg.optim.SGD([leaf([1.0])], lr=0.1)
    sched = gg.optim.lr_scheduler.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2 = gg.optim.SGD([leaf([1.0])], lr=0.1)
    sched2 = gg.optim.lr_scheduler.StepLR(opt2, step_size=1)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()
