"""Learning-rate schedulers: the lr sequences of torch.optim.lr_scheduler, hand-computed values, state dicts."""

from __future__ import annotations

import math

import pytest
from numpy.testing import assert_allclose

import gpugrad as gg
from gpugrad.optim import lr_scheduler

STEPS = 30
METRICS = [1.0, 0.9, 0.9, 0.9, 0.95, 0.85, 0.85, 0.86, 0.87, 0.9, 0.84, 0.8399, 0.8398, 0.84, 0.84, 0.84, 0.84,
           0.7, 0.7, 0.7, 0.71, 0.72, 0.69, 0.69, 0.69, 0.69, 0.69, 0.5, 0.5, 0.5]


def make_optimizer(lib, kind="SGD"):
    """Two param groups with different learning rates, in gpugrad or torch."""
    groups = [{"params": [lib.zeros(2, requires_grad=True)]},
              {"params": [lib.zeros(1, requires_grad=True)], "lr": 0.05}]
    if kind == "SGD":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    return lib.optim.Adam(groups, lr=0.1, betas=(0.9, 0.99))


SCHEDULERS = {
    "StepLR": ("SGD", lambda m, opt: m.StepLR(opt, step_size=4, gamma=0.5)),
    "MultiStepLR": ("SGD", lambda m, opt: m.MultiStepLR(opt, milestones=[3, 7, 7, 20], gamma=0.3)),
    "ExponentialLR": ("SGD", lambda m, opt: m.ExponentialLR(opt, gamma=0.9)),
    "CosineAnnealingLR": ("SGD", lambda m, opt: m.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)),
    "LambdaLR": ("SGD", lambda m, opt: m.LambdaLR(opt, lr_lambda=[lambda e: 1 / (e + 1), lambda e: 0.95 ** e])),
    "ReduceLROnPlateau": ("SGD", lambda m, opt: m.ReduceLROnPlateau(opt, patience=2, factor=0.5, min_lr=[0.02, 0.0])),
    "ReduceLROnPlateau_max_abs": ("SGD", lambda m, opt: m.ReduceLROnPlateau(
        opt, mode="max", threshold_mode="abs", threshold=0.01, patience=1, cooldown=2, factor=0.3)),
    "ReduceLROnPlateau_min_abs_cooldown": ("SGD", lambda m, opt: m.ReduceLROnPlateau(
        opt, threshold_mode="abs", threshold=0.001, patience=0, cooldown=3, factor=0.7, eps=1e-3)),
    "OneCycleLR": ("SGD", lambda m, opt: m.OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=STEPS)),
    "OneCycleLR_linear_three_phase": ("SGD", lambda m, opt: m.OneCycleLR(
        opt, max_lr=0.8, epochs=5, steps_per_epoch=6, anneal_strategy="linear", three_phase=True, pct_start=0.25)),
    "OneCycleLR_adam_betas": ("Adam", lambda m, opt: m.OneCycleLR(
        opt, max_lr=0.3, total_steps=STEPS, div_factor=10.0, final_div_factor=100.0, base_momentum=0.8)),
    "OneCycleLR_no_momentum": ("Adam", lambda m, opt: m.OneCycleLR(opt, max_lr=0.3, total_steps=STEPS,
                                                                   cycle_momentum=False)),
}


def lr_history(lib, name, steps=STEPS):
    """The lrs (and momenta) of both groups after construction and after each of ``steps`` steps."""
    kind, make = SCHEDULERS[name]
    opt = make_optimizer(lib, kind)
    sched = make(lib.optim.lr_scheduler, opt)
    history = []

    def record():
        momentum_key = "momentum" if kind == "SGD" else "betas"
        momenta = [g[momentum_key] if kind == "SGD" else g["betas"][0] for g in opt.param_groups]
        history.append(list(sched.get_last_lr()) + [g["lr"] for g in opt.param_groups] + momenta)

    record()
    for epoch in range(steps):
        opt.step()
        if name.startswith("ReduceLROnPlateau"):
            sched.step(METRICS[epoch])
        else:
            sched.step()
        record()
    return history


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    torch = pytest.importorskip("torch")
    ours, theirs = lr_history(gg, name), lr_history(torch, name)
    assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    assert len({tuple(row[:2]) for row in ours}) > 2, "the learning rate never changed"


def test_step_lr_by_hand():
    history = [row[0] for row in lr_history(gg, "StepLR", steps=12)]
    assert_allclose(history, [0.1] * 4 + [0.05] * 4 + [0.025] * 4 + [0.0125], rtol=1e-15)


def test_multistep_lr_counts_repeated_milestones_by_hand():
    history = [row[0] for row in lr_history(gg, "MultiStepLR", steps=21)]
    expected = [0.1 * 0.3 ** sum(epoch >= m for m in (3, 7, 7, 20)) for epoch in range(22)]
    assert_allclose(history, expected, rtol=1e-14)


def test_cosine_annealing_matches_the_closed_form_by_hand():
    history = [row[0] for row in lr_history(gg, "CosineAnnealingLR", steps=STEPS)]
    eta_min, base, t_max = 0.001, 0.1, 10
    closed_form = [eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2 for t in range(STEPS + 1)]
    assert_allclose(history, closed_form, rtol=1e-12)
    assert history[10] == pytest.approx(eta_min) and history[20] == pytest.approx(base)


def test_reduce_on_plateau_by_hand():
    opt = make_optimizer(gg)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    lrs = []
    for metric in [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]:
        sched.step(gg.tensor(metric))  # a one-element tensor works as the metric
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025]


def test_one_cycle_rejects_stepping_past_the_end():
    opt = make_optimizer(gg)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
        sched.step()


@pytest.mark.parametrize("make, message", [
    (lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=1.0), "total_steps OR \\(epochs AND steps_per_epoch\\)"),
    (lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=[1.0], total_steps=5), "max_lr must have the same length"),
    (lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5, anneal_strategy="exp"), "anneal_strategy"),
    (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=1.5), "Factor should be < 1.0"),
    (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, mode="up"), "mode up is unknown"),
    (lambda opt: lr_scheduler.LambdaLR(opt, [lambda e: 1.0]), "Expected 2 lr_lambdas, but got 1"),
    (lambda opt: lr_scheduler.StepLR(opt, step_size=2, last_epoch=5), "initial_lr"),
])
def test_bad_scheduler_arguments_raise(make, message):
    with pytest.raises((ValueError, KeyError), match=message):
        make(make_optimizer(gg))


def test_one_cycle_needs_momentum_to_cycle_it():
    opt = gg.optim.Adagrad([gg.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5)


def test_not_an_optimizer_raises():
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([], step_size=1)


class Warmup:
    """A callable object: LambdaLR keeps its attributes in the state dict (plain functions are left out)."""

    def __init__(self, length):
        self.length = length

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.length)


@pytest.mark.parametrize("name", sorted(SCHEDULERS) + ["LambdaLR_object"])
def test_state_dict_through_a_checkpoint_resumes_the_schedule(name, tmp_path):
    def build():
        opt = make_optimizer(gg, SCHEDULERS.get(name, ("SGD",))[0])
        if name == "LambdaLR_object":
            return opt, lr_scheduler.LambdaLR(opt, Warmup(8))
        return opt, SCHEDULERS[name][1](lr_scheduler, opt)

    def advance(opt, sched, epochs):
        for epoch in epochs:
            opt.step()
            sched.step(METRICS[epoch]) if isinstance(sched, lr_scheduler.ReduceLROnPlateau) else sched.step()

    opt, sched = build()
    advance(opt, sched, range(12))
    gg.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "sched.ckpt")
    advance(opt, sched, range(12, 25))

    checkpoint = gg.load(tmp_path / "sched.ckpt")
    resumed_opt, resumed = build()
    if name == "LambdaLR_object":
        resumed.lr_lambdas[0].length = 999  # restored from the state dict below
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    resumed.load_state_dict(checkpoint["scheduler"])
    advance(resumed_opt, resumed, range(12, 25))
    assert resumed.get_last_lr() == sched.get_last_lr()
    assert [g["lr"] for g in resumed_opt.param_groups] == [g["lr"] for g in opt.param_groups]
    assert resumed.last_epoch == sched.last_epoch
