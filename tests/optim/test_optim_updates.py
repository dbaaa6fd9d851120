"""The optimizers' update rules: 100 steps against torch.optim and against hand-written NumPy references."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import gpugrad as gg
from gpugrad.optim import functional

STEPS = 100
RTOL, ATOL = 1e-6, 1e-12

_rng = np.random.default_rng(1234)
X = _rng.standard_normal((20, 4))
Y = _rng.standard_normal((20, 3))
INITIAL = [_rng.standard_normal((3, 4)), _rng.standard_normal(3), np.array([-1.2, 1.0])]


def objective(w, b, r, x, y, with_rosenbrock=True):
    """A least-squares fit plus a (scaled) Rosenbrock valley; written so gg and torch tensors both run it."""
    residual = x @ w.T + b - y
    loss = (residual ** 2).mean()
    if with_rosenbrock:
        loss = loss + 0.01 * ((1 - r[0]) ** 2 + 100 * (r[1] - r[0] ** 2) ** 2)
    return loss


def train(lib, make_optimizer, *, maximize=False, intermittent=False, steps=STEPS):
    """Run ``steps`` steps of ``make_optimizer(lib.optim, params)`` in gpugrad or torch; return the final params.

    With ``intermittent`` the Rosenbrock term (the only one reaching ``r``) is left out of
    every third step, so ``r`` gets no gradient then and its step count falls behind.
    """
    params = [lib.tensor(a.copy(), dtype=lib.float64, requires_grad=True) for a in INITIAL]
    x, y = lib.tensor(X, dtype=lib.float64), lib.tensor(Y, dtype=lib.float64)
    opt = make_optimizer(lib.optim, params)
    for step in range(steps):
        opt.zero_grad()
        loss = objective(*params, x, y, with_rosenbrock=not (intermittent and step % 3 == 2))
        (-loss if maximize else loss).backward()
        opt.step()
    return [p.detach().numpy().copy() for p in params]


def _groups(optim_cls, **shared):
    """A factory giving (W, b) the shared options and r its own smaller lr: exercises param groups."""
    def make(optim, params):
        return getattr(optim, optim_cls)([{"params": params[:2]}, {"params": params[2:], "lr": shared["lr"] / 2}],
                                         **shared)
    return make


def _plain(optim_cls, **options):
    return lambda optim, params: getattr(optim, optim_cls)(params, **options)


CASES = {
    "sgd": (_plain("SGD", lr=0.05), {}),
    "sgd_momentum": (_plain("SGD", lr=0.02, momentum=0.9), {}),
    "sgd_dampening": (_plain("SGD", lr=0.02, momentum=0.9, dampening=0.3), {}),
    "sgd_nesterov": (_plain("SGD", lr=0.02, momentum=0.9, nesterov=True), {}),
    "sgd_weight_decay": (_plain("SGD", lr=0.02, momentum=0.5, weight_decay=0.1), {}),
    "sgd_maximize": (_plain("SGD", lr=0.02, momentum=0.9, maximize=True), {"maximize": True}),
    "sgd_groups_intermittent": (_groups("SGD", lr=0.02, momentum=0.9), {"intermittent": True}),
    "adam": (_plain("Adam", lr=0.05), {}),
    "adam_amsgrad": (_plain("Adam", lr=0.05, amsgrad=True), {}),
    "adam_weight_decay": (_plain("Adam", lr=0.05, weight_decay=0.1, betas=(0.8, 0.99)), {}),
    "adam_maximize": (_plain("Adam", lr=0.05, maximize=True, eps=1e-6), {"maximize": True}),
    "adam_groups_intermittent": (_groups("Adam", lr=0.05, amsgrad=True), {"intermittent": True}),
    "adamw": (_plain("AdamW", lr=0.05), {}),
    "adamw_amsgrad": (_plain("AdamW", lr=0.05, weight_decay=0.3, amsgrad=True), {}),
    "rmsprop": (_plain("RMSprop", lr=0.01), {}),
    "rmsprop_centered": (_plain("RMSprop", lr=0.01, centered=True), {}),
    "rmsprop_momentum": (_plain("RMSprop", lr=0.005, momentum=0.9, alpha=0.9), {}),
    "rmsprop_all": (_plain("RMSprop", lr=0.005, momentum=0.5, centered=True, weight_decay=0.1), {}),
    "rmsprop_maximize": (_plain("RMSprop", lr=0.01, maximize=True), {"maximize": True}),
    "adagrad": (_plain("Adagrad", lr=0.1), {}),
    "adagrad_lr_decay": (_plain("Adagrad", lr=0.1, lr_decay=0.01), {}),
    "adagrad_init_wd": (_plain("Adagrad", lr=0.1, initial_accumulator_value=0.5, weight_decay=0.1, eps=1e-6), {}),
    "adagrad_maximize_intermittent": (_plain("Adagrad", lr=0.1, maximize=True),
                                      {"maximize": True, "intermittent": True}),
    "adadelta": (_plain("Adadelta"), {}),
    "adadelta_all": (_plain("Adadelta", lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1), {}),
    "adadelta_maximize_groups_intermittent": (_groups("Adadelta", lr=1.0, maximize=True),
                                              {"maximize": True, "intermittent": True}),
    "adamax": (_plain("Adamax", lr=0.05), {}),
    "adamax_all": (_plain("Adamax", lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1), {}),
    "adamax_maximize_groups_intermittent": (_groups("Adamax", lr=0.05, maximize=True),
                                            {"maximize": True, "intermittent": True}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_torch_for_100_steps(case):
    torch = pytest.importorskip("torch")
    make_optimizer, run_options = CASES[case]
    ours = train(gg, make_optimizer, **run_options)
    theirs = train(torch, make_optimizer, **run_options)
    start = INITIAL
    assert any(not np.allclose(a, b) for a, b in zip(ours, start)), "the parameters did not move"
    for got, want in zip(ours, theirs):
        assert_allclose(got, want, rtol=RTOL, atol=ATOL)


# ------------------------------------------------------------------ NumPy references (no torch needed)
def _lstsq_grads(w, b):
    """Analytic gradients of mean((X w^T + b - Y)^2)."""
    residual = X @ w.T + b - Y
    scale = 2.0 / residual.size
    return [scale * residual.T @ X, scale * residual.sum(axis=0)]


def _train_lstsq(make_optimizer, device, steps=STEPS):
    params = [gg.tensor(a.copy(), dtype=gg.float64, device=device, requires_grad=True) for a in INITIAL[:2]]
    x, y = gg.tensor(X, device=device), gg.tensor(Y, device=device)
    opt = make_optimizer(params)
    for _ in range(steps):
        opt.zero_grad()
        objective(params[0], params[1], None, x, y, with_rosenbrock=False).backward()
        opt.step()
    return [p.detach().cpu().numpy() for p in params]


def _reference_sgd(lr, momentum, dampening=0.0, nesterov=False, weight_decay=0.0, steps=STEPS):
    params = [a.copy() for a in INITIAL[:2]]
    buffers = [None, None]
    for _ in range(steps):
        grads = _lstsq_grads(*params)
        for i, (p, g) in enumerate(zip(params, grads)):
            g = g + weight_decay * p
            buffers[i] = g.copy() if buffers[i] is None else momentum * buffers[i] + (1 - dampening) * g
            direction = g + momentum * buffers[i] if nesterov else buffers[i]
            params[i] = p - lr * direction
    return params


def _reference_adam(lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False,
                    steps=STEPS):
    """The textbook form: bias-corrected moments m_hat / (sqrt(v_hat) + eps)."""
    params = [a.copy() for a in INITIAL[:2]]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    v_max = [np.zeros_like(p) for p in params]
    for t in range(1, steps + 1):
        grads = _lstsq_grads(*params)
        for i, g in enumerate(grads):
            if decoupled:
                params[i] = params[i] * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * params[i]
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            v_max[i] = np.maximum(v_max[i], v[i])
            m_hat = m[i] / (1 - beta1 ** t)
            v_hat = (v_max[i] if amsgrad else v[i]) / (1 - beta2 ** t)
            params[i] = params[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return params


@pytest.mark.parametrize("options", [
    dict(lr=0.02, momentum=0.9),
    dict(lr=0.02, momentum=0.9, dampening=0.5),
    dict(lr=0.02, momentum=0.9, nesterov=True),
    dict(lr=0.02, momentum=0.8, weight_decay=0.2),
], ids=["momentum", "dampening", "nesterov", "weight_decay"])
def test_sgd_momentum_matches_numpy_reference(options, device):
    ours = _train_lstsq(lambda params: gg.optim.SGD(params, **options), device)
    for got, want in zip(ours, _reference_sgd(**options)):
        assert_allclose(got, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("options, reference", [
    (dict(lr=0.05), dict(lr=0.05)),
    (dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6), dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6)),
    (dict(lr=0.05, amsgrad=True), dict(lr=0.05, amsgrad=True)),
    (dict(lr=0.05, weight_decay=0.1), dict(lr=0.05, weight_decay=0.1)),
], ids=["default", "betas_eps", "amsgrad", "l2"])
def test_adam_matches_numpy_reference(options, reference, device):
    ours = _train_lstsq(lambda params: gg.optim.Adam(params, **options), device)
    for got, want in zip(ours, _reference_adam(**reference)):
        assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_adamw_matches_numpy_reference(device):
    ours = _train_lstsq(lambda params: gg.optim.AdamW(params, lr=0.05, weight_decay=0.3), device)
    for got, want in zip(ours, _reference_adam(lr=0.05, weight_decay=0.3, decoupled=True)):
        assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_adamw_default_weight_decay_is_decoupled():
    w = gg.tensor([1.0, -2.0], dtype=gg.float64, requires_grad=True)
    opt = gg.optim.AdamW([w], lr=0.1)
    assert opt.defaults["weight_decay"] == 1e-2
    w.grad = gg.zeros(2, dtype=gg.float64)  # a zero gradient leaves only the decay
    opt.step()
    assert_allclose(w.detach().numpy(), [1.0 * (1 - 0.1 * 1e-2), -2.0 * (1 - 0.1 * 1e-2)], rtol=1e-15)


def test_training_in_float32_keeps_float32(device):
    w = gg.randn(5, device=device, requires_grad=True)
    for opt in (gg.optim.SGD([w], lr=0.1, momentum=0.9), gg.optim.Adam([w]), gg.optim.RMSprop([w], centered=True),
                gg.optim.Adagrad([w]), gg.optim.Adadelta([w]), gg.optim.Adamax([w])):
        for _ in range(2):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
        assert w.dtype == gg.float32
        assert all(v.dtype == gg.float32 for s in opt.state.values() for v in s.values() if isinstance(v, gg.Tensor))


# ------------------------------------------------------------------ the functional layer
@pytest.mark.parametrize("name", sorted(functional.UPDATES))
def test_update_functions_only_read_the_gradients(name):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(4), rng.standard_normal((2, 3))]
    grads = [rng.standard_normal(p.shape) for p in params]
    for g in grads:
        g.setflags(write=False)  # any in-place write to a gradient would raise
    state = lambda: [np.zeros_like(p) for p in params]  # noqa: E731
    options = {
        "sgd": lambda: ((state(),), dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=False, weight_decay=0.1,
                                         maximize=True, first_step=False)),
        "adam": lambda: ((state(), state(), state()), dict(step=3, lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8,
                                                           weight_decay=0.1, decoupled=False, amsgrad=True,
                                                           maximize=True)),
        "rmsprop": lambda: ((state(), state(), state()), dict(lr=0.1, alpha=0.9, eps=1e-8, weight_decay=0.1,
                                                              momentum=0.9, centered=True, maximize=True)),
        "adagrad": lambda: ((state(),), dict(step=2, lr=0.1, lr_decay=0.1, weight_decay=0.1, eps=1e-10,
                                             maximize=True)),
        "adadelta": lambda: ((state(), state()), dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.1, maximize=True)),
        "adamax": lambda: ((state(), state()), dict(step=2, lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8,
                                                    weight_decay=0.1, maximize=True)),
    }
    buffers, kwargs = options[name]()
    before = [p.copy() for p in params]
    functional.UPDATES[name](params, grads, *buffers, xp=np, **kwargs)
    assert all(not np.array_equal(p, b) for p, b in zip(params, before))


def test_sgd_first_step_sets_the_buffer_to_the_gradient_without_dampening():
    p, g, buf = np.array([1.0]), np.array([2.0]), np.array([123.0])
    functional.sgd_update([p], [g], [buf], lr=0.1, momentum=0.9, dampening=0.5, nesterov=False, weight_decay=0.0,
                          maximize=False, first_step=True, xp=np)
    assert buf[0] == 2.0 and p[0] == pytest.approx(1.0 - 0.1 * 2.0)
    functional.sgd_update([p], [g], [buf], lr=0.1, momentum=0.9, dampening=0.5, nesterov=False, weight_decay=0.0,
                          maximize=False, first_step=False, xp=np)
    assert buf[0] == pytest.approx(0.9 * 2.0 + 0.5 * 2.0)
