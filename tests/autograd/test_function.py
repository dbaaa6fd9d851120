"""PyTorch-style custom Functions: gg.autograd.Function with ctx, apply, saved tensors and their checks."""

from __future__ import annotations

import gc
import inspect
import weakref

import numpy as np
import pytest

import gpugrad as gg


def leaf(values, device="cpu"):
    return gg.tensor(values, dtype=gg.float64, device=device, requires_grad=True)


def make_functions(lib):
    """The same custom Functions written against ``lib`` (gpugrad or torch), for parity tests."""

    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x * x  # differentiable ops: double backward works

    class ScaleShift(lib.autograd.Function):
        """Non-tensor arguments (a number, a flag) get None as their gradient."""

        @staticmethod
        def forward(ctx, x, scale, y, flip):
            ctx.scale, ctx.flip = scale, flip
            out = x * scale + y
            return -out if flip else out

        @staticmethod
        def backward(ctx, grad):
            sign = -1.0 if ctx.flip else 1.0
            gx = grad * (ctx.scale * sign) if ctx.needs_input_grad[0] else None
            gy = grad * sign if ctx.needs_input_grad[2] else None
            return gx, None, gy, None

    class SplitSigns(lib.autograd.Function):
        """Two outputs: the positive and the negative part."""

        @staticmethod
        def forward(ctx, x):
            mask = x > 0
            ctx.save_for_backward(mask)
            return x * mask, x * ~mask

        @staticmethod
        def backward(ctx, g_pos, g_neg):
            (mask,) = ctx.saved_tensors
            return g_pos * mask + g_neg * ~mask

    return Cube, ScaleShift, SplitSigns


Cube, ScaleShift, SplitSigns = make_functions(gg)


def test_apply_forward_backward_and_grad_fn_name(device):
    x = leaf([1.0, -2.0, 3.0], device)
    y = Cube.apply(x)
    assert y.grad_fn.name() == "CubeBackward" and "grad_fn=<CubeBackward>" in repr(y)
    y.sum().backward()
    np.testing.assert_allclose(gg.backends.to_host(x.grad.array), [3.0, 12.0, 27.0])


def test_gradcheck_and_gradgradcheck(device):
    x = leaf([0.5, -1.5, 2.0], device)
    assert gg.autograd.gradcheck(Cube.apply, (x,))
    assert gg.autograd.gradgradcheck(Cube.apply, (x,))


def test_non_tensor_arguments_and_needs_input_grad(device):
    x, y = leaf([1.0, 2.0], device), gg.tensor([3.0, 4.0], dtype=gg.float64, device=device)
    out = ScaleShift.apply(x, 2.5, y, True)
    assert out.grad_fn.needs_input_grad == (True, False, False, False)
    assert gg.autograd.gradcheck(lambda a, b: ScaleShift.apply(a, 2.5, b, True), (x, leaf([3.0, 4.0], device)))


def test_multiple_outputs_gradients_and_hooks(device):
    x = leaf([1.0, -2.0, 3.0], device)
    pos, neg = SplitSigns.apply(x)
    assert pos.grad_fn.name() == neg.grad_fn.name() == "SplitSignsBackward"
    seen = []
    neg.register_hook(lambda g: seen.append(g.tolist()))
    (pos * 2 + neg * 5).sum().backward()
    np.testing.assert_allclose(gg.backends.to_host(x.grad.array), [2.0, 5.0, 2.0])
    assert seen == [[5.0, 5.0, 5.0]]
    assert gg.autograd.gradcheck(lambda t: SplitSigns.apply(t), (leaf([0.5, -1.5], device),))


def test_unused_output_gets_zeros_or_none_with_materialize_off():
    class Two(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x, materialize):
            ctx.set_materialize_grads(materialize)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            ctx.seen = (g1, g2)
            return (g1 * 2 if g1 is not None else 0) + (g2 * 3 if g2 is not None else 0), None

    x = leaf([1.0, 2.0])
    a, _ = Two.apply(x, True)
    a.sum().backward()
    assert a.grad_fn.ctx.seen[1].tolist() == [0.0, 0.0]
    a, _ = Two.apply(x, False)
    a.sum().backward()
    assert a.grad_fn.ctx.seen[1] is None


def test_mark_non_differentiable_output():
    class SortValues(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            order = gg.tensor(np.argsort(x.detach().numpy()))
            ctx.mark_non_differentiable(order)
            ctx.order = order
            return x[order], order

        @staticmethod
        def backward(ctx, g, g_order):
            assert g_order.tolist() == [0, 0, 0]  # zeros, as PyTorch materializes them
            grad = gg.zeros_like(g)
            grad[ctx.order] = g
            return grad

    x = leaf([3.0, 1.0, 2.0])
    values, order = SortValues.apply(x)
    assert not order.requires_grad and order.grad_fn is None
    (values * gg.tensor([1.0, 10.0, 100.0], dtype=gg.float64)).sum().backward()
    assert x.grad.tolist() == [100.0, 1.0, 10.0]


def test_mark_dirty_takes_over_the_input():
    class AddOneInPlace(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad

    a = leaf([1.0, 2.0])
    h = a * 2
    out = AddOneInPlace.apply(h)
    assert out is h and h.grad_fn.name() == "AddOneInPlaceBackward" and h.tolist() == [3.0, 5.0]
    h.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        AddOneInPlace.apply(leaf([1.0]))


def test_input_returned_unchanged_is_a_new_tensor_that_carries_the_gradient():
    class Identity(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    x = leaf([1.0, 2.0])
    y = Identity.apply(x)
    assert y is not x and x.grad_fn is None and y.grad_fn.name() == "IdentityBackward"
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_saved_input_changed_in_place_fails_but_not_through_data():
    x = leaf([1.0, 2.0])
    h = x * 1.0
    y = Cube.apply(h)
    h.data.mul_(2)  # hidden from autograd, as PyTorch's .data is
    y.sum().backward(retain_graph=True)
    assert x.grad.tolist() == [12.0, 48.0]  # 3 * h^2 with the changed h
    with gg.no_grad():
        h.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*CubeBackward"):
        y.sum().backward()


def test_saved_output_is_checked_and_differentiable():
    class Exp(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y

    x = leaf([0.0, 1.0])
    assert gg.autograd.gradgradcheck(Exp.apply, (x,))
    y = Exp.apply(x)
    with gg.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_saved_tensors_are_freed_after_backward():
    x = leaf([1.0])
    y = Cube.apply(x)
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_backward_result_errors():
    class Returns(gg.autograd.Function):
        """backward returns what the non-tensor argument ``make(grad)`` builds."""

        @staticmethod
        def forward(ctx, x, make):
            ctx.make = make
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return ctx.make(grad)

    with pytest.raises(RuntimeError, match=r"incorrect number of gradients \(expected 2, got 1\)"):
        Returns.apply(leaf([1.0]), lambda g: g).backward()
    with pytest.raises(RuntimeError, match="different than None at position 2"):
        Returns.apply(leaf([1.0]), lambda g: (g, g)).backward()
    with pytest.raises(TypeError, match="returned a float as gradient 0"):
        Returns.apply(leaf([1.0]), lambda g: (1.0, None)).backward()


def test_once_differentiable_raises_only_on_the_second_derivative():
    class Square(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @gg.autograd.once_differentiable
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return gg.tensor(2 * x.array * grad.array, dtype=gg.float64)

    x = leaf([3.0])
    seed = gg.ones(1, dtype=gg.float64, requires_grad=True)  # as in PyTorch, only a grad_output requiring grad marks
    (g,) = gg.autograd.grad(Square.apply(x), x, grad_outputs=seed, create_graph=True)
    assert g.tolist() == [6.0] and g.grad_fn.name() == "Error"
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.backward()


def test_setup_context_style():
    class Mul(gg.autograd.Function):
        @staticmethod
        def forward(a, b):
            return a * b

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            return grad * b, grad * a

    a, b = leaf([2.0]), leaf([5.0])
    Mul.apply(a, b=b).backward()
    assert (a.grad.item(), b.grad.item()) == (5.0, 2.0)
    assert gg.autograd.gradgradcheck(Mul.apply, (a, b))


def test_old_style_is_refused_with_a_pointer_to_the_right_class():
    with pytest.raises(TypeError, match=r"@staticmethod.*ArrayFunction"):
        class Old(gg.autograd.Function):
            def forward(self, x):
                return x

    with pytest.raises(RuntimeError, match="Legacy autograd function"):
        Cube()(leaf([1.0]))


def test_no_graph_without_grad():
    x = leaf([1.0])
    with gg.no_grad():
        assert Cube.apply(x).grad_fn is None
    assert Cube.apply(gg.tensor([1.0])).grad_fn is None


def test_graph_is_freed_by_reference_counting():
    gc.disable()
    try:
        x = leaf([1.0, 2.0])
        y = Cube.apply(x)
        pos, _ = SplitSigns.apply(y)
        node = weakref.ref(y.grad_fn)
        del y, pos, _
        assert node() is None
    finally:
        gc.enable()


def combine(pair):
    first, second = pair
    return first * 3 + second


PARITY_CALLS = {
    "Cube": lambda fns, lib, x: fns[0].apply(x),
    "ScaleShift": lambda fns, lib, x: fns[1].apply(x, 2.5, lib.ones(3, dtype=lib.float64), True),
    "SplitSigns": lambda fns, lib, x: combine(fns[2].apply(x)),
}


@pytest.mark.parametrize("name", sorted(PARITY_CALLS))
def test_parity_with_torch(name):
    """Same grad_fn name, gradient and second derivative as the same Function written for torch."""
    torch = pytest.importorskip("torch")
    results = []
    for lib in (gg, torch):
        x = lib.tensor([0.5, -1.5, 2.0], dtype=lib.float64, requires_grad=True)
        y = PARITY_CALLS[name](make_functions(lib), lib, x)
        (g,) = lib.autograd.grad(y.pow(2).sum(), x, create_graph=True)
        g.sum().backward()
        results.append((y.grad_fn.name(), g.tolist(), x.grad.tolist()))
    assert results[0][0] == results[1][0]
    np.testing.assert_allclose(results[0][1:], results[1][1:], rtol=1e-12)


def test_custom_functions_inside_compile_match_eager():
    w = leaf([0.5, -1.0])
    opt = gg.optim.SGD([w], lr=0.01)

    def step():
        pos, neg = SplitSigns.apply(w)
        loss = Cube.apply(pos).sum() + neg.pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    compiled = gg.compile(step)
    traced = [compiled().item() for _ in range(5)]
    assert compiled.replays >= 1
    w.data = gg.tensor([0.5, -1.0], dtype=gg.float64)
    np.testing.assert_allclose(traced, [step().item() for _ in range(5)], rtol=1e-12)


def test_an_input_saved_and_returned_unchanged_is_still_the_input_for_double_backward():
    class KeepAndSquare(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x, x * x

        @staticmethod
        def backward(ctx, g_same, g_square):
            (x,) = ctx.saved_tensors
            ctx.saved_was_leaf = x.is_leaf
            return g_same + g_square * 2 * x

    x = leaf([1.5, -2.0])
    same, _ = KeepAndSquare.apply(x)
    same.sum().backward()
    assert same.grad_fn.ctx.saved_was_leaf  # x itself, not the output that aliases it
    assert gg.autograd.gradcheck(KeepAndSquare.apply, (x,))
    assert gg.autograd.gradgradcheck(KeepAndSquare.apply, (x,))


def test_anomaly_mode_names_the_custom_function_and_its_line():
    class BadLog(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.log()

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad / x

    x = leaf([0.0, 1.0])
    with gg.autograd.detect_anomaly(), np.errstate(divide="ignore"):
        y = BadLog.apply(x)  # the line the error must name
        line = inspect.currentframe().f_lineno - 1
        with pytest.raises(gg.autograd.anomaly.AnomalyError) as info:
            y.sum().backward()
    assert info.value.node_name == "BadLogBackward" and info.value.forward_op == "BadLog"
    assert info.value.location.endswith(f"test_function.py:{line}")
