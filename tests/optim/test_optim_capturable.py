"""Adam/AdamW with ``capturable=True``: the step count in a 0-d tensor, bias corrections from array ops."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import gpugrad as gg
from gpugrad.optim import functional

_rng = np.random.default_rng(7)
X = _rng.standard_normal((20, 4))
Y = _rng.standard_normal((20, 3))
INITIAL = [_rng.standard_normal((3, 4)), _rng.standard_normal(3), np.array([-1.2, 1.0])]
STEPS = 100


@pytest.fixture
def default_float64():
    """gg's (and torch's, when installed) default dtype is float64 for the test: capturable steps are float64."""
    try:
        import torch
    except ImportError:
        torch = None
    before = gg.get_default_dtype(), torch.get_default_dtype() if torch is not None else None
    gg.set_default_dtype(gg.float64)
    if torch is not None:
        torch.set_default_dtype(torch.float64)
    yield
    gg.set_default_dtype(before[0])
    if torch is not None:
        torch.set_default_dtype(before[1])


def train(lib, make_optimizer, *, intermittent=False, steps=STEPS, device=None):
    """``steps`` steps on a least-squares fit plus a Rosenbrock valley; in gg or torch; returns the final params.

    With ``intermittent`` the Rosenbrock parameter gets no gradient every third step, so its
    step count falls behind the others'.
    """
    extra = {} if device is None else {"device": device}
    params = [lib.tensor(a.copy(), dtype=lib.float64, requires_grad=True, **extra) for a in INITIAL]
    x, y = lib.tensor(X, dtype=lib.float64, **extra), lib.tensor(Y, dtype=lib.float64, **extra)
    opt = make_optimizer(lib.optim, params)
    for step in range(steps):
        w, b, r = params
        opt.zero_grad()
        loss = ((x @ w.T + b - y) ** 2).mean()
        if not (intermittent and step % 3 == 2):
            loss = loss + 0.01 * ((1 - r[0]) ** 2 + 100 * (r[1] - r[0] ** 2) ** 2)
        loss.backward()
        opt.step()
    return [p.detach().cpu().numpy().copy() if lib is gg else p.detach().numpy().copy() for p in params], opt


def _torch_capturable_on_cpu(monkeypatch):
    """torch.optim refuses capturable=True on the CPU (a CUDA-graph rule, not a maths one): lift that check."""
    torch = pytest.importorskip("torch")
    adam_module = importlib.import_module("torch.optim.adam")  # AdamW runs this module's code too
    monkeypatch.setattr(adam_module, "_get_capturable_supported_devices", lambda *args, **kwargs: ["cpu"])
    return torch


CASES = {
    "adam": (lambda optim, ps: optim.Adam(ps, lr=0.05, capturable=True), {}),
    "adam_amsgrad_l2": (lambda optim, ps: optim.Adam(ps, lr=0.05, betas=(0.8, 0.99), weight_decay=0.1,
                                                     amsgrad=True, capturable=True), {}),
    "adam_maximize": (lambda optim, ps: optim.Adam(ps, lr=0.05, eps=1e-6, maximize=True, capturable=True), {}),
    "adamw_amsgrad": (lambda optim, ps: optim.AdamW(ps, lr=0.05, weight_decay=0.3, amsgrad=True, capturable=True), {}),
    "adam_groups_intermittent": (lambda optim, ps: optim.Adam([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.02}],
                                                              lr=0.05, capturable=True), {"intermittent": True}),
}


# ------------------------------------------------------------------ against PyTorch
@pytest.mark.parametrize("case", sorted(CASES))
def test_capturable_matches_torch_capturable_in_float64(case, monkeypatch, default_float64):
    torch = _torch_capturable_on_cpu(monkeypatch)
    make, options = CASES[case]
    ours, opt = train(gg, make, **options)
    theirs, torch_opt = train(torch, make, **options)
    assert not np.allclose(ours[0], INITIAL[0]), "the parameters did not move"
    for got, want in zip(ours, theirs):
        assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    for p, q in zip(opt.state, torch_opt.state):
        assert opt.state[p]["step"].item() == torch_opt.state[q]["step"].item()


def test_capturable_step_is_float32_by_default_as_in_torch(monkeypatch):
    # PyTorch keeps a capturable step in float32 unless the default dtype is float64, and computes the
    # bias corrections in that precision: ~1e-5 away, after 100 steps, from the float64 corrections
    torch = _torch_capturable_on_cpu(monkeypatch)
    make, _ = CASES["adam_amsgrad_l2"]
    ours, opt = train(gg, make)
    theirs, torch_opt = train(torch, make)
    assert next(iter(opt.state.values()))["step"].dtype == gg.float32
    assert next(iter(torch_opt.state.values()))["step"].dtype == torch.float32
    for got, want in zip(ours, theirs):
        assert_allclose(got, want, rtol=1e-6)


# ------------------------------------------------------------------ the step tensor
def test_capturable_keeps_a_0d_step_tensor_on_the_parameters_device(device):
    w = gg.tensor([1.0, -2.0], dtype=gg.float64, device=device, requires_grad=True)
    frozen = gg.tensor([3.0], dtype=gg.float64, device=device, requires_grad=True)
    opt = gg.optim.Adam([w, frozen], lr=0.1, capturable=True)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    step = opt.state[w]["step"]
    assert isinstance(step, gg.Tensor) and step.shape == () and step.device == w.device
    assert step.dtype == gg.float32 and step.item() == 3.0 and not step.requires_grad
    assert frozen not in opt.state  # no gradient, no state, no step


def test_capturable_step_is_float64_when_the_default_dtype_is(default_float64):
    w = gg.tensor([1.0], requires_grad=True)
    opt = gg.optim.AdamW([w], capturable=True)
    w.grad = gg.ones(1)
    opt.step()
    assert opt.state[w]["step"].dtype == gg.float64


def test_default_adam_keeps_a_python_int_step():
    w = gg.tensor([1.0], dtype=gg.float64, requires_grad=True)
    opt = gg.optim.Adam([w])
    w.grad = gg.ones(1, dtype=gg.float64)
    opt.step()
    assert opt.state[w]["step"] == 1 and type(opt.state[w]["step"]) is int
    assert opt.param_groups[0]["capturable"] is False


@pytest.mark.parametrize("case", sorted(CASES))
def test_capturable_follows_the_same_trajectory_as_the_default(case, default_float64):
    make, options = CASES[case]

    def make_default(optim, params):
        opt = make(optim, params)
        for group in opt.param_groups:
            group["capturable"] = False
        return opt

    capturable, _ = train(gg, make, **options)
    default, _ = train(gg, make_default, **options)
    for got, want in zip(capturable, default):
        assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_switching_capturable_mid_training_converts_the_step():
    make, _ = CASES["adam_amsgrad_l2"]

    def make_switching(optim, params):
        opt = make(optim, params)
        original = opt.step

        def step():  # toggles the option after steps 30 and 60
            original()
            count = opt.state[params[0]]["step"]
            count = int(count.item()) if isinstance(count, gg.Tensor) else count
            if count in (30, 60):
                opt.param_groups[0]["capturable"] = not opt.param_groups[0]["capturable"]

        opt.step = step
        return opt

    switched, opt = train(gg, make_switching)
    steady, _ = train(gg, make)
    assert isinstance(opt.state[opt.param_groups[0]["params"][0]]["step"], gg.Tensor)
    assert opt.state[opt.param_groups[0]["params"][0]]["step"].item() == STEPS
    for got, want in zip(switched, steady):
        assert_allclose(got, want, rtol=1e-6)


# ------------------------------------------------------------------ the functional layer and fused kernels
def test_adam_update_with_step_arrays_equals_a_shared_step():
    rng = np.random.default_rng(3)
    params = [rng.standard_normal(4), rng.standard_normal((2, 3))]
    grads = [rng.standard_normal(p.shape) for p in params]
    state = lambda: [np.full(p.shape, 0.1) for p in params]  # noqa: E731
    options = dict(lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1, decoupled=True, amsgrad=True,
                   maximize=False, xp=np)
    shared = [p.copy() for p in params]
    functional.adam_update(shared, grads, state(), state(), state(), step=3, **options)
    steps = [np.array(3.0), np.array(3.0)]
    per_param = [p.copy() for p in params]
    functional.adam_update(per_param, grads, state(), state(), state(), step=steps, **options)
    for got, want in zip(per_param, shared):
        assert_allclose(got, want, rtol=1e-15)
    assert all(s == 3.0 for s in steps)  # the update reads the counters, the optimizer increments them


class FusedAdam:
    """Stands in for gpugrad.backends.fused: says it supports Adam and records calls."""

    def __init__(self):
        self.calls = []

    def supports(self, name, params):
        return name == "adam"

    def adam_update(self, *args, **kwargs):
        self.calls.append(kwargs)


def test_capturable_never_hands_the_step_to_a_fused_kernel(monkeypatch):
    fake = FusedAdam()
    monkeypatch.setattr(functional, "fused_backend", lambda: fake)
    w = gg.tensor([1.0, 2.0], dtype=gg.float64, requires_grad=True)
    w.grad = gg.ones(2, dtype=gg.float64)
    gg.optim.Adam([w], lr=0.1, capturable=True).step()
    assert fake.calls == [] and not np.allclose(w.detach().numpy(), [1.0, 2.0])  # the array code ran
    gg.optim.Adam([w], lr=0.1).step()
    assert len(fake.calls) == 1 and fake.calls[0]["step"] == 1  # the default still uses the kernel


# ------------------------------------------------------------------ state dicts
def _leaf(values):
    return gg.tensor(values, dtype=gg.float64, requires_grad=True)


def _quadratic_step(opt, params):
    opt.zero_grad()
    sum(((p - 3.0) ** 2).sum() for p in params).backward()
    opt.step()


def test_capturable_state_dict_round_trips_through_a_checkpoint(tmp_path):
    def make(params, **overrides):
        return gg.optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.02}],
                             **{**dict(lr=0.05, amsgrad=True, capturable=True), **overrides})

    params = [_leaf([1.0, -2.0, 0.5]), _leaf([[0.3, 0.1], [-0.7, 2.0]])]
    opt = make(params)
    for _ in range(7):
        _quadratic_step(opt, params)
    saved = opt.state_dict()
    assert saved["state"][0]["step"] is not opt.state[params[0]]["step"]  # a copy
    assert saved["param_groups"][0]["capturable"] is True
    gg.save({"optimizer": saved, "params": params}, tmp_path / "mid.ckpt")
    _quadratic_step(opt, params)
    assert saved["state"][0]["step"].item() == 7  # the copy did not move with the optimizer

    checkpoint = gg.load(tmp_path / "mid.ckpt")
    resumed_params = [p.detach().clone().requires_grad_() for p in checkpoint["params"]]
    resumed = make(resumed_params, lr=999.0)
    resumed.load_state_dict(checkpoint["optimizer"])
    step = resumed.state[resumed_params[0]]["step"]
    assert isinstance(step, gg.Tensor) and step.shape == () and step.dtype == gg.float32 and step.item() == 7
    _quadratic_step(resumed, resumed_params)
    for _ in range(10):
        _quadratic_step(opt, params)
        _quadratic_step(resumed, resumed_params)
    for p, q in zip(params, resumed_params):
        assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert resumed.state[resumed_params[1]]["step"].item() == 18


def test_loading_follows_the_loaded_groups_capturable_option():
    w = _leaf([1.0, 2.0])
    default = gg.optim.Adam([w], lr=0.1)
    _quadratic_step(default, [w])
    capturable = gg.optim.Adam([w], lr=0.1, capturable=True)
    _quadratic_step(capturable, [w])

    into_capturable = gg.optim.Adam([_leaf([1.0, 2.0])], capturable=True)
    into_capturable.load_state_dict(default.state_dict())  # the loaded options replace the optimizer's, as in torch
    (state,) = into_capturable.state.values()
    assert into_capturable.param_groups[0]["capturable"] is False and state["step"] == 1
    assert type(state["step"]) is int

    into_default = gg.optim.Adam([_leaf([1.0, 2.0])])
    into_default.load_state_dict(capturable.state_dict())
    (state,) = into_default.state.values()
    assert into_default.param_groups[0]["capturable"] is True
    assert isinstance(state["step"], gg.Tensor) and state["step"].item() == 1


def test_a_checkpoint_without_the_capturable_option_keeps_the_optimizers():
    w = _leaf([1.0, 2.0])
    old = gg.optim.Adam([w], lr=0.1)
    _quadratic_step(old, [w])
    saved = old.state_dict()
    del saved["param_groups"][0]["capturable"]  # written before the option existed
    opt = gg.optim.Adam([_leaf([1.0, 2.0])], lr=0.1, capturable=True)
    opt.load_state_dict(saved)
    (state,) = opt.state.values()
    assert opt.param_groups[0]["capturable"] is True
    assert isinstance(state["step"], gg.Tensor) and state["step"].item() == 1
