"""The tape's semantics: PyTorch's backward/grad contract, graph lifetime, hooks, versions, grad mode."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.autograd.node import ArrayFunction


def leaf(values, dtype=gg.float64):
    return gg.tensor(values, dtype=dtype, requires_grad=True)


def test_grad_accumulates_until_zeroed():
    x = leaf([1.0, 2.0])
    for _ in range(3):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_leaf_gradients_do_not_alias_each_other():
    a, b = leaf([1.0]), leaf([2.0])
    (a + b).sum().backward()
    a.grad.zero_()
    assert b.grad.item() == 1.0


def test_second_backward_needs_retain_graph():
    x = leaf(2.0)
    y = x.exp() * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * 3 * np.exp(2.0))
    z = x.exp() * x
    z.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        z.backward()


def test_create_graph_gives_higher_derivatives():
    x = leaf(3.0)
    y = x**3
    (dx,) = gg.autograd.grad(y, x, create_graph=True)
    assert dx.item() == pytest.approx(27.0)
    (ddx,) = gg.autograd.grad(dx, x, create_graph=True)
    assert ddx.item() == pytest.approx(18.0)
    (dddx,) = gg.autograd.grad(ddx, x)
    assert dddx.item() == pytest.approx(6.0)


def test_backward_create_graph_makes_grad_differentiable():
    x = leaf([1.0, 2.0])
    (x.sin() * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    g = x.grad
    x.grad = None
    g.sum().backward()
    xs = np.array([1.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(xs) - xs * np.sin(xs))


def test_grad_does_not_touch_dot_grad_and_checks_unused():
    x, y = leaf(1.0), leaf(2.0)
    out = x * 5
    (gx,) = gg.autograd.grad(out, [x], retain_graph=True)
    assert gx.item() == 5 and x.grad is None
    with pytest.raises(RuntimeError, match="allow_unused"):
        gg.autograd.grad(out, [x, y], retain_graph=True)
    gx, gy = gg.autograd.grad(out, [x, y], allow_unused=True)
    assert gy is None


def test_grad_of_non_leaf_input():
    x = leaf(2.0)
    h = x * x
    out = h * 3
    (gh,) = gg.autograd.grad(out, h)
    assert gh.item() == 3


def test_backward_inputs_restricts_accumulation():
    x, y = leaf(1.0), leaf(2.0)
    (x * y).backward(inputs=[x])
    assert x.grad.item() == 2 and y.grad is None


def test_non_scalar_without_gradient_and_no_grad_fn_errors():
    with pytest.raises(RuntimeError, match="does not require grad"):
        gg.tensor([1.0]).sum().backward()
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="mismatch in shape"):
        (x * 2).backward(gg.ones(3, dtype=gg.float64))


def test_hooks_modify_gradients_and_can_be_removed():
    x = leaf(1.0)
    h = x * 2
    handle = h.register_hook(lambda g: g * 10)
    seen = []
    x.register_hook(lambda g: seen.append(g.item()))
    (h * 3).backward(retain_graph=True)
    assert x.grad.item() == 60 and seen == [60]
    handle.remove()
    x.grad = None
    (h * 3).backward()
    assert x.grad.item() == 6


def test_retain_grad_on_non_leaf():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [4.0, 8.0])
    y = x * 3
    (y * 1).sum().backward()
    assert y.grad is None


def test_in_place_change_of_saved_tensor_is_caught():
    x = leaf([1.0, 2.0])
    h = x * 1
    y = h * h
    h.add_(1)
    with pytest.raises(RuntimeError, match=r"MulBackward0.*version 1; expected version 0"):
        y.sum().backward()


def test_in_place_on_leaf_requiring_grad_errors_but_works_under_no_grad():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with gg.no_grad():
        x.add_(1)
    assert x.item() == 2 and x._version[0] == 1


def test_in_place_on_non_leaf_is_differentiable():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.mul_(3)
    h[1] = h[0] * 5
    h.sum().backward()
    # h0 = 6 x0, h1 = 30 x0 (x1 was overwritten)
    np.testing.assert_allclose(x.grad.numpy(), [36.0, 0.0])
    assert h.grad_fn.name() == "CopySlices"


def test_views_share_the_version_counter():
    x = leaf([1.0, 2.0])
    h = x * 2
    y = h[0] * h[0]  # saves the view h[0]
    h[0] = 7.0  # changes the view's memory through the base
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_deep_chain_runs_without_recursion():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_graph_is_freed_when_output_dropped():
    x = leaf(np.ones(10))
    y = (x.exp() * 2).sum()
    node = weakref.ref(y.grad_fn)
    del y
    gc.disable()
    try:
        assert node() is None  # freed by reference counting alone: no cycles
    finally:
        gc.enable()


def test_no_grad_enable_grad_and_decorators():
    x = leaf(1.0)
    with gg.no_grad():
        assert not (x * 2).requires_grad
        with gg.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @gg.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    gg.set_grad_enabled(False)
    assert not (x * 2).requires_grad
    gg.set_grad_enabled(True)
    with gg.set_grad_enabled(False):
        assert not gg.is_grad_enabled()
    assert gg.is_grad_enabled()


def test_grad_mode_is_per_thread():
    results = []
    with gg.no_grad():
        t = threading.Thread(target=lambda: results.append(gg.is_grad_enabled()))
        t.start()
        t.join()
    assert results == [True]


def test_detach_and_requires_grad_rules():
    x = leaf([1.0])
    d = (x * 2).detach()
    assert d.is_leaf and not d.requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        gg.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2).requires_grad_(False)


def test_to_dtype_is_differentiable_and_returns_self_when_unchanged():
    x = leaf([1.0, 2.0])
    assert x.to(gg.float64) is x and x.to("cpu") is x
    y = x.to(gg.float32)
    assert y.dtype == gg.float32 and y.grad_fn.name() == "ToCopyBackward0"
    (y * y).sum().backward()
    assert x.grad.dtype == gg.float64
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_grad_fn_graph_is_inspectable():
    x = leaf(1.0)
    y = x * 2 + 1
    add = y.grad_fn
    assert add.name() == "AddBackward0"
    mul, _ = add.next_functions[0]
    assert mul.name() == "MulBackward0"
    acc = mul.next_functions[0][0]
    assert acc.variable is x
    assert "grad_fn=<AddBackward0>" in repr(y)
    assert repr(x) == "tensor(1., dtype=gpugrad.float64, requires_grad=True)"


def test_cuda_unavailable_is_a_clear_error_not_a_crash():
    if gg.cuda.is_available():
        pytest.skip("a GPU is present")
    assert gg.device("auto") == "cpu"
    with pytest.raises(RuntimeError, match="cuda"):
        gg.tensor([1.0]).to("cuda")
    assert gg.cuda.device_count() == 0


def test_device_parsing_errors():
    with pytest.raises(ValueError, match="unknown device"):
        gg.device("tpu")
    with pytest.raises(ValueError, match="bad CUDA index"):
        gg.device("cuda:x")
    assert gg.device("cpu") is gg.device("CPU")


def test_gradcheck_reports_worst_element():
    class BadSquare(ArrayFunction):
        saves_inputs = (0,)

        def forward(self, x):
            return x * x

        def backward(self, gy):
            (x,) = self.saved_tensors
            return gy * x  # missing factor 2

    x = leaf([1.0, 3.0])
    with pytest.raises(gg.autograd.GradcheckError, match="worst element"):
        gg.autograd.gradcheck(lambda t: BadSquare()(t), (x,))
    assert gg.autograd.gradcheck(lambda t: (t * t).sum(), (x,))
    assert gg.autograd.gradgradcheck(lambda t: (t * t * t).sum(), (x,))


# ------------------------------------------------------------------ issue 11: threads, hooks, assigned grads
def test_concurrent_backward_on_a_shared_leaf_loses_no_gradient():
    w = gg.zeros(200_000, requires_grad=True)
    start = threading.Barrier(8)

    def work():
        start.wait()
        for _ in range(50):
            (w * 1).sum().backward()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(w.grad.numpy(), np.full(200_000, 400.0, dtype=np.float32))


@pytest.mark.parametrize("on_leaf", [True, False], ids=["leaf", "non-leaf"])
def test_a_hook_changing_the_gradient_shape_or_type_is_refused(on_leaf):
    def widen(g):
        return gg.ones(3)

    def to_double(g):
        return g.double()

    def number(g):
        return 5

    for hook, error, message in [(widen, RuntimeError, "hook 'widen' has changed the size of value"),
                                 (to_double, RuntimeError, "hook 'to_double' has changed the type of value"),
                                 (number, TypeError, "expected Tensor or None, but hook 'number' returned 'int'")]:
        x = gg.ones(2, requires_grad=True)
        y = x * 2
        (x if on_leaf else y).register_hook(hook)
        with pytest.raises(error, match=message):
            y.sum().backward()
        assert x.grad is None


def test_assigned_grads_must_match_the_tensor():
    x = gg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"gradient of size \[3\] to a tensor of size \[2\]"):
        x.grad = gg.ones(3)
    with pytest.raises(RuntimeError, match="gradient with dtype .*float64 to a tensor with dtype .*float32"):
        x.grad = gg.ones(2, dtype=gg.float64)
    with pytest.raises(TypeError, match="Tensor or None but got grad of type list"):
        x.grad = [1.0, 2.0]
    assert x.grad is None
    x.grad = gg.full((2,), 3.0)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])
    x.grad = None
    assert x.grad is None


def test_requires_grad_attribute_follows_pytorchs_rules():
    i = gg.arange(3)
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        i.requires_grad = True
    assert not i.requires_grad
    i.requires_grad = False  # allowed, as in PyTorch
    y = gg.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf variables"):
        y.requires_grad = False
    y.requires_grad = True  # a no-op on a non-leaf that requires grad


@pytest.mark.parametrize("gradient", [1.0, [1.0, 2.0], np.ones(2)], ids=["float", "list", "ndarray"])
def test_backward_gradients_must_be_tensors(gradient):
    x = gg.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="gradients can be either Tensors or None, but got"):
        (x * 2).backward(gradient)
    with pytest.raises(TypeError, match="gradients can be either Tensors or None"):
        gg.autograd.grad(x * 2, x, grad_outputs=[gradient])


@pytest.mark.parametrize("value", [1.0, [1.0, 2.0]], ids=["float", "list"])
def test_non_tensor_gradients_raise_type_error_as_in_pytorch(value):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        (torch.ones(2, requires_grad=True) * 2).backward(value)
    with pytest.raises(TypeError):
        (gg.ones(2, requires_grad=True) * 2).backward(value)
