"""Post-accumulate-grad hooks and end-of-backward callbacks (what DistributedDataParallel builds on)."""

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.autograd.engine import queue_callback


def test_post_accumulate_hook_sees_the_updated_grad(device):
    w = gg.tensor([1.0, 2.0], device=device, requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(gg.backends.to_host(p.grad.array).copy()))
    (w * w).sum().backward()
    (3 * w).sum().backward()
    np.testing.assert_allclose(seen[0], [2.0, 4.0])
    np.testing.assert_allclose(seen[1], [5.0, 7.0])  # accumulated, then the hook ran


def test_post_accumulate_hook_runs_once_for_a_leaf_used_twice():
    w = gg.tensor([1.0], requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(calls.append)
    (w * 2 + w * 3).sum().backward()
    assert calls == [w]
    assert w.grad.item() == 5.0


def test_post_accumulate_hook_is_removable_and_skipped_by_autograd_grad():
    w = gg.tensor([1.0], requires_grad=True)
    calls = []
    handle = w.register_post_accumulate_grad_hook(calls.append)
    gg.autograd.grad((w * 2).sum(), w)
    assert calls == []  # grad() accumulates nothing
    handle.remove()
    (w * 2).sum().backward()
    assert calls == []


def test_post_accumulate_hook_refuses_non_leaves_and_no_grad_tensors():
    w = gg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        gg.tensor([1.0]).register_post_accumulate_grad_hook(print)


def test_callback_runs_after_every_gradient_is_accumulated():
    a = gg.tensor([1.0], requires_grad=True)
    b = gg.tensor([2.0], requires_grad=True)
    order = []

    def hook(p):
        order.append("hook")
        if len(order) == 1:
            queue_callback(lambda: order.append(("callback", a.grad.item(), b.grad.item())))
            queue_callback(lambda: queue_callback(lambda: order.append("queued by a callback")))

    a.register_post_accumulate_grad_hook(hook)
    b.register_post_accumulate_grad_hook(hook)
    (a * b).sum().backward()
    assert order == ["hook", "hook", ("callback", 2.0, 1.0), "queued by a callback"]


def test_callbacks_of_a_failed_backward_do_not_run_and_do_not_leak():
    w = gg.tensor([1.0], requires_grad=True)
    ran = []

    def hook(p):
        queue_callback(lambda: ran.append(1))
        raise ValueError("boom")

    w.register_post_accumulate_grad_hook(hook)
    with pytest.raises(ValueError, match="boom"):
        (w * 2).sum().backward()
    assert ran == []
    with pytest.raises(RuntimeError, match="no backward pass is running"):
        queue_callback(lambda: None)


def test_post_accumulate_hook_matches_pytorch():
    torch = pytest.importorskip("torch")
    grads = {}
    for lib, name in ((torch, "torch"), (gg, "gg")):
        w = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
        seen = []
        w.register_post_accumulate_grad_hook(lambda p, seen=seen: seen.append(p.grad.tolist()))
        (w.exp() * w).sum().backward()
        (w * w).sum().backward()
        grads[name] = seen
    np.testing.assert_allclose(grads["gg"], grads["torch"])
