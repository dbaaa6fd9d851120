"""gg.compile over optimizer steps: the Python values an optimizer reads are guarded, so replays never go stale.

Each test runs one training loop eagerly and the same loop through ``gg.compile``
from the same start, and compares them call by call (float64, ~1e-12).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpugrad as gg

F64 = gg.float64
CALLS = 20


def _problem(make_optimizer, with_scheduler=None):
    """A small least-squares-like loss on one parameter, and its training step (not compiled)."""
    x = gg.tensor([0.5, -1.0, 2.0], dtype=F64)
    theta = gg.tensor([0.1, 0.2, -0.3], dtype=F64, requires_grad=True)
    opt = make_optimizer([theta])
    sched = with_scheduler(opt) if with_scheduler else None

    def step():
        loss = ((theta * x).sum() - 1.0) ** 2 + 0.1 * (theta ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        return loss

    return theta, opt, step


def _assert_same(loss_eager, loss_compiled, theta_eager, theta_compiled, call):
    assert loss_compiled.item() == pytest.approx(loss_eager.item(), rel=1e-12, abs=1e-15), f"call {call}"
    np.testing.assert_allclose(theta_compiled.detach().numpy(), theta_eager.detach().numpy(), rtol=1e-12,
                               atol=1e-15, err_msg=f"call {call}")


def _run_both(make_optimizer, calls=CALLS, between=None, with_scheduler=None, prime_grad=False, **compile_options):
    """Run ``calls`` eager and compiled steps side by side, checking equality after each; ``between(i, opt)``
    runs before call ``i`` on both optimizers. Returns the compiled function and both (theta, optimizer).

    ``prime_grad`` gives the parameter a (zero) gradient before the first call, so that a trace of the
    first call sees the same ``.grad`` state as later calls."""
    theta_e, opt_e, eager = _problem(make_optimizer, with_scheduler)
    theta_c, opt_c, step = _problem(make_optimizer, with_scheduler)
    if prime_grad:
        theta_e.grad, theta_c.grad = gg.zeros(3, dtype=F64), gg.zeros(3, dtype=F64)
    compiled = gg.compile(step, **compile_options)
    for i in range(calls):
        if between is not None:
            between(i, opt_e)
            between(i, opt_c)
        _assert_same(eager(), compiled(), theta_e, theta_c, i)
    assert not np.allclose(theta_c.detach().numpy(), [0.1, 0.2, -0.3]), "the parameters did not move"
    return compiled, (theta_e, opt_e), (theta_c, opt_c)


# ------------------------------------------------------------------ graphs that replay
@pytest.mark.parametrize("make", [
    lambda ps: gg.optim.SGD(ps, lr=0.05, momentum=0.9),
    lambda ps: gg.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda ps: gg.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    lambda ps: gg.optim.Adagrad(ps, lr=0.1),
    lambda ps: gg.optim.Adadelta(ps, lr=1.0, weight_decay=0.1),
], ids=["sgd_momentum", "sgd_nesterov", "rmsprop", "adagrad", "adadelta"])
def test_compiled_step_replays_and_matches_eager(make):
    compiled, (_, opt_e), (_, opt_c) = _run_both(make)
    assert compiled.traces == 1 and compiled.replays == CALLS - 2
    # Python step counters (saved in checkpoints) advance on replays too
    for state_e, state_c in zip(opt_e.state_dict()["state"].values(), opt_c.state_dict()["state"].values()):
        assert state_c.get("step") == state_e.get("step")


@pytest.mark.parametrize("make", [
    lambda ps: gg.optim.Adam(ps, lr=0.05, capturable=True),
    lambda ps: gg.optim.Adam(ps, lr=0.05, amsgrad=True, weight_decay=0.1, capturable=True),
    lambda ps: gg.optim.AdamW(ps, lr=0.05, weight_decay=0.1, capturable=True),
], ids=["adam", "adam_amsgrad_l2", "adamw"])
def test_compiled_capturable_adam_traces_once_and_follows_the_step_tensor(make):
    compiled, (theta_e, opt_e), (theta_c, opt_c) = _run_both(make)
    assert compiled.traces == 1 and compiled.replays == CALLS - 2
    step = opt_c.state[theta_c]["step"]
    assert isinstance(step, gg.Tensor) and step.item() == CALLS  # replays advanced the counter in place
    assert opt_e.state[theta_e]["step"].item() == CALLS


# ------------------------------------------------------------------ a step counter baked in
def test_compiled_default_adam_retraces_on_the_step_then_runs_eagerly_with_a_warning():
    max_traces = 4
    theta_e, opt_e, eager = _problem(lambda ps: gg.optim.Adam(ps, lr=0.05))
    theta_c, opt_c, step = _problem(lambda ps: gg.optim.Adam(ps, lr=0.05))
    compiled = gg.compile(step, max_traces=max_traces)
    give_up_call = 1 + max_traces  # call 0 is the eager warm-up, calls 1..max_traces trace
    for i in range(CALLS):
        if i == give_up_call:
            with pytest.warns(RuntimeWarning, match="capturable=True"):
                loss_c = compiled()
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)
                loss_c = compiled()
        _assert_same(eager(), loss_c, theta_e, theta_c, i)
    assert compiled.traces == max_traces and compiled.replays == 0
    retraces = [r for r in compiled.reasons if r.startswith("re-tracing")]
    assert len(retraces) == max_traces - 1
    assert all("Adam state['step'] of a parameter of shape (3,)" in r for r in retraces)
    assert "changed from 1 to 2" in retraces[0]
    assert "max_traces" in compiled.reasons[-1] and "state['step']" in compiled.reasons[-1]
    assert opt_c.state[theta_c]["step"] == CALLS


def test_compiled_adagrad_with_lr_decay_never_replays_a_stale_step():
    compiled, _, (theta_c, opt_c) = _run_both(lambda ps: gg.optim.Adagrad(ps, lr=0.1, lr_decay=0.05),
                                              calls=6)
    assert compiled.replays == 0 and compiled.traces == 5
    assert "Adagrad state['step']" in compiled.reasons[-1]
    assert opt_c.state[theta_c]["step"] == 6


def test_compiled_adamax_never_replays_a_stale_step():
    compiled, _, (theta_c, opt_c) = _run_both(lambda ps: gg.optim.Adamax(ps, lr=0.05), calls=6)
    assert compiled.replays == 0 and compiled.traces == 5
    assert "Adamax state['step']" in compiled.reasons[-1]
    assert opt_c.state[theta_c]["step"] == 6


# ------------------------------------------------------------------ options changed between calls
@pytest.mark.parametrize("make, name", [
    (lambda ps: gg.optim.SGD(ps, lr=0.05, momentum=0.9), "SGD"),
    (lambda ps: gg.optim.Adam(ps, lr=0.05, capturable=True), "Adam"),
    (lambda ps: gg.optim.RMSprop(ps, lr=0.01), "RMSprop"),
], ids=["sgd", "adam_capturable", "rmsprop"])
def test_changing_the_learning_rate_between_calls_retraces_once(make, name):
    def lower_lr(i, opt):
        if i == 10:
            opt.param_groups[0]["lr"] = 0.004

    compiled, _, _ = _run_both(make, between=lower_lr)
    assert compiled.traces == 2
    reason = compiled.reasons[-1]
    assert f"{name} param_groups[0]['lr']" in reason and "to 0.004" in reason


def test_changing_betas_between_calls_retraces():
    def new_betas(i, opt):
        if i == 7:
            opt.param_groups[0]["betas"] = (0.5, 0.9)

    compiled, _, _ = _run_both(lambda ps: gg.optim.Adam(ps, lr=0.05, capturable=True), between=new_betas)
    assert compiled.traces == 2 and "param_groups[0]['betas']" in compiled.reasons[-1]


def test_a_scheduler_stepped_between_calls_retraces_once_per_new_learning_rate():
    theta_e, opt_e, eager = _problem(lambda ps: gg.optim.SGD(ps, lr=0.05, momentum=0.9))
    theta_c, opt_c, step = _problem(lambda ps: gg.optim.SGD(ps, lr=0.05, momentum=0.9))
    sched_e = gg.optim.lr_scheduler.StepLR(opt_e, step_size=6, gamma=0.5)
    sched_c = gg.optim.lr_scheduler.StepLR(opt_c, step_size=6, gamma=0.5)
    compiled = gg.compile(step)
    for i in range(CALLS):
        _assert_same(eager(), compiled(), theta_e, theta_c, i)
        sched_e.step()
        sched_c.step()
    assert compiled.traces == 1 + (CALLS - 1) // 6  # the lr changes after calls 5, 11 and 17
    assert all("param_groups[0]['lr']" in r for r in compiled.reasons[1:])


def test_a_scheduler_stepped_inside_the_compiled_function_is_followed():
    # the lr halves every 3 calls, so replays would keep a stale lr unless the scheduler's counter is guarded
    compiled, _, _ = _run_both(
        lambda ps: gg.optim.SGD(ps, lr=0.05, momentum=0.9), calls=12,
        with_scheduler=lambda opt: gg.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5), max_traces=20,
    )
    assert compiled.replays == 0
    assert "StepLR.last_epoch" in compiled.reasons[-1]


# ------------------------------------------------------------------ state that appears or is replaced
@pytest.mark.parametrize("make", [
    lambda ps: gg.optim.SGD(ps, lr=0.05, momentum=0.9),
    lambda ps: gg.optim.Adam(ps, lr=0.05, capturable=True),
    lambda ps: gg.optim.RMSprop(ps, lr=0.01, centered=True),
], ids=["sgd_momentum", "adam_capturable", "rmsprop"])
def test_without_warmup_state_created_while_tracing_retraces(make):
    # the first call traces with no state yet: the traced graph creates the buffers (SGD's first step
    # copies the gradient), so the next call must trace again instead of replaying that
    compiled, _, _ = _run_both(make, warmup=False, prime_grad=True)
    assert compiled.traces == 2 and compiled.replays == CALLS - 2
    assert "state buffers the parameters of param_groups[0] have" in compiled.reasons[1]


def test_load_state_dict_between_calls_retraces():
    checkpoints = {}

    def rewind(i, opt):
        if i == 5:
            checkpoints[id(opt)] = opt.state_dict()
        if i == 12:  # go back to the state saved at call 5 (the parameters keep moving on)
            opt.load_state_dict(checkpoints[id(opt)])

    compiled, _, _ = _run_both(lambda ps: gg.optim.Adam(ps, lr=0.05, capturable=True), between=rewind)
    assert compiled.traces == 2
    assert ".state and .param_groups" in compiled.reasons[-1]


# ------------------------------------------------------------------ aborted traces (issue 11)
OPTIMIZERS_WITH_PYTHON_STEPS = [
    lambda ps: gg.optim.Adam(ps, lr=0.05),
    lambda ps: gg.optim.AdamW(ps, lr=0.05),
    lambda ps: gg.optim.RMSprop(ps, lr=0.01),
    lambda ps: gg.optim.Adagrad(ps, lr=0.1),
    lambda ps: gg.optim.Adam(ps, lr=0.05, capturable=True),
    lambda ps: gg.optim.Adadelta(ps),
    lambda ps: gg.optim.Adamax(ps, lr=0.05),
]
OPTIMIZER_IDS = ["adam", "adamw", "rmsprop", "adagrad", "adam-capturable", "adadelta", "adamax"]


def _step_count(opt, theta):
    step = opt.state[theta]["step"]
    return step if isinstance(step, int) else int(step.item())


@pytest.mark.parametrize("make", OPTIMIZERS_WITH_PYTHON_STEPS, ids=OPTIMIZER_IDS)
@pytest.mark.parametrize("scheduled", [False, True], ids=["", "with-scheduler"])
def test_an_aborted_trace_falling_back_to_eager_counts_each_call_once(make, scheduled):
    """loss.item() after opt.step(): the trace aborts, rolls back and reruns eagerly; nothing may count twice."""
    schedule = (lambda opt: gg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)) if scheduled else None
    theta_e, opt_e, step_e = _problem(make, schedule)
    theta_c, opt_c, step_c = _problem(make, schedule)

    def read_after(step):
        def fn():
            return step().item()
        return fn

    eager, compiled = read_after(step_e), gg.compile(read_after(step_c), fallback="eager")
    for call in range(4):
        assert compiled() == pytest.approx(eager(), rel=1e-12), f"call {call}"
        assert _step_count(opt_c, theta_c) == _step_count(opt_e, theta_e) == call + 1
        np.testing.assert_allclose(theta_c.detach().numpy(), theta_e.detach().numpy(), rtol=1e-12)
        assert opt_c.param_groups[0]["lr"] == opt_e.param_groups[0]["lr"]
        assert theta_c._version_number == theta_e._version_number


@pytest.mark.parametrize("make", OPTIMIZERS_WITH_PYTHON_STEPS, ids=OPTIMIZER_IDS)
def test_a_function_raising_on_the_traced_call_leaves_what_the_eager_call_would(make):
    theta_e, opt_e, step_e = _problem(make)
    theta_c, opt_c, step_c = _problem(make)
    calls = {"n": 0}

    def failing_on(step, call_that_fails):
        def fn():
            calls["n"] += 1
            loss = step()
            if calls["n"] == call_that_fails:
                raise ValueError("the step failed after updating")
            return loss
        return fn

    compiled = gg.compile(failing_on(step_c, 2))  # call 1 is the eager warm-up, call 2 is traced
    compiled()
    with pytest.raises(ValueError, match="failed after updating"):
        compiled()
    calls["n"] = 0
    eager = failing_on(step_e, 2)
    eager()
    with pytest.raises(ValueError):
        eager()
    assert _step_count(opt_c, theta_c) == _step_count(opt_e, theta_e) == 2
    np.testing.assert_allclose(theta_c.detach().numpy(), theta_e.detach().numpy(), rtol=1e-12)
    for _ in range(3):
        calls["n"] = 10
        assert compiled().item() == pytest.approx(eager().item(), rel=1e-12)
    assert _step_count(opt_c, theta_c) == _step_count(opt_e, theta_e) == 5
    np.testing.assert_allclose(theta_c.detach().numpy(), theta_e.detach().numpy(), rtol=1e-12)


def test_reduce_lr_on_plateau_stepped_inside_a_compiled_function_is_followed():
    metrics = [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5]
    schedule = lambda opt: gg.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)  # noqa: E731
    runs = []
    for compiled in (False, True):
        theta, opt, step = _problem(lambda ps: gg.optim.SGD(ps, lr=0.1))
        sched = schedule(opt)
        calls = iter(metrics)

        def fn():
            loss = step()
            sched.step(next(calls))  # a Python metric: a replay cannot follow it, so each call re-traces
            return loss

        run = gg.compile(fn, max_traces=20) if compiled else fn
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            losses = [run().item() for _ in metrics]
        runs.append((losses, opt.param_groups[0]["lr"], sched.last_epoch, sched.num_bad_epochs, theta.detach().numpy()))
    (le, lr_e, epoch_e, bad_e, theta_e), (lc, lr_c, epoch_c, bad_c, theta_c) = runs
    np.testing.assert_allclose(lc, le, rtol=1e-12)
    assert (lr_c, epoch_c, bad_c) == (lr_e, epoch_e, bad_e) and lr_e < 0.1
    np.testing.assert_allclose(theta_c, theta_e, rtol=1e-12)
