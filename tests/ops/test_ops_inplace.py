"""In-place ops: values, version counters, gradients through them, and the errors that protect autograd.

Gradients of each in-place op on non-leaf tensors are also gradchecked in
``op_db.INPLACE``; here are the semantics around them.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from opinfo import host

BASE = [1.0, -2.0, 3.0]

# (name, the in-place call on t, the expected values) for t = tensor(BASE)
IN_PLACE = [
    ("add_", lambda t: t.add_(2.0), [3.0, 0.0, 5.0]),
    ("add_alpha", lambda t: t.add_(gg.tensor([1.0, 1.0, 1.0], device=t.device), alpha=-2), [-1.0, -4.0, 1.0]),
    ("add_tensor_broadcast", lambda t: t.add_(gg.tensor(1.0, device=t.device)), [2.0, -1.0, 4.0]),
    ("sub_", lambda t: t.sub_(gg.tensor([1.0, 2.0, 3.0], device=t.device)), [0.0, -4.0, 0.0]),
    ("mul_", lambda t: t.mul_(-2), [-2.0, 4.0, -6.0]),
    ("div_", lambda t: t.div_(gg.tensor([2.0, 4.0, -1.0], device=t.device)), [0.5, -0.5, -3.0]),
    ("zero_", lambda t: t.zero_(), [0.0, 0.0, 0.0]),
    ("fill_", lambda t: t.fill_(7.5), [7.5, 7.5, 7.5]),
    ("fill_0d_tensor", lambda t: t.fill_(gg.tensor(2.0, device=t.device)), [2.0, 2.0, 2.0]),
    ("copy_", lambda t: t.copy_(gg.tensor([4.0, 5.0, 6.0], device=t.device)), [4.0, 5.0, 6.0]),
    ("copy_int_source", lambda t: t.copy_(gg.tensor([4, 5, 6], device=t.device)), [4.0, 5.0, 6.0]),
    ("setitem_int", lambda t: t.__setitem__(1, 9.0), [1.0, 9.0, 3.0]),
    ("setitem_slice", lambda t: t.__setitem__(slice(0, 2), gg.tensor([8.0, 9.0], device=t.device)), [8.0, 9.0, 3.0]),
    ("setitem_mask", lambda t: t.__setitem__(t > 0, 0.0), [0.0, -2.0, 0.0]),
    ("setitem_int_array", lambda t: t.__setitem__(gg.tensor([2, 0], device=t.device), -1.0), [-1.0, -2.0, -1.0]),
]


@pytest.mark.parametrize("call, expected", [pytest.param(c, e, id=n) for n, c, e in IN_PLACE])
def test_values_memory_and_version_bump(call, expected, device):
    t = gg.tensor(BASE, device=device)
    memory, version = t.array, t._version[0]
    result = call(t)
    assert result is None or result is t, "in-place ops return the tensor itself"
    assert t.array is memory, "in-place ops write into the existing memory"
    assert t._version[0] == version + 1
    np.testing.assert_allclose(host(t), expected)
    assert t.dtype == gg.float32


def test_operators_are_in_place():
    t = gg.tensor(BASE)
    alias = t
    t += 1
    t -= 0.5
    t *= 2
    t /= 4
    assert t is alias
    assert t._version[0] == 4
    np.testing.assert_allclose(t.numpy(), (np.array(BASE) + 0.5) / 2)


def test_detached_tensors_share_the_version_counter():
    t = gg.tensor(BASE)
    d = t.detach()
    t.add_(1)
    assert d._version[0] == 1
    np.testing.assert_allclose(d.numpy(), np.array(BASE) + 1)  # shared memory too


def test_in_place_on_a_0d_result_writes_the_value():
    # ufuncs return NumPy scalars for 0-d inputs; in place on such a result must not be a silent no-op
    s = gg.tensor(BASE).sum()
    s += 1
    s.mul_(2)
    assert s.item() == pytest.approx((sum(BASE) + 1) * 2)
    x = gg.tensor(BASE, dtype=gg.float64, requires_grad=True)
    y = x.sum()
    y.mul_(3)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0, 3.0])


# ---------------------------------------------------------------- gradients through in-place ops
def _leaf(values=BASE):
    return gg.tensor(values, dtype=gg.float64, requires_grad=True)


def test_gradient_through_in_place_ops_on_a_non_leaf():
    x, w = _leaf(), _leaf([0.5, 2.0, -1.0])
    y = x * 2          # a non-leaf
    y.mul_(x)          # 2x^2
    y.add_(w, alpha=3) # 2x^2 + 3w
    y.div_(w)          # (2x^2 + 3w) / w
    y.sum().backward()
    xv, wv = np.array(BASE), np.array([0.5, 2.0, -1.0])
    np.testing.assert_allclose(x.grad.numpy(), 4 * xv / wv)
    np.testing.assert_allclose(w.grad.numpy(), -2 * xv**2 / wv**2)


def test_in_place_op_keeps_the_old_value_for_its_own_backward():
    # mul_ needs the value before the write for the other factor's gradient
    x, z = _leaf(), _leaf([3.0, 4.0, 5.0])
    y = x + 1
    y.mul_(z)
    y.sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), np.array(BASE) + 1)
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0, 5.0])


def test_grad_fn_follows_the_last_in_place_op():
    y = _leaf() * 2
    assert y.grad_fn.name() == "MulBackward0"
    y.add_(1)
    assert y.grad_fn.name() == "AddBackward0" and y.requires_grad and not y.is_leaf


def test_in_place_with_a_grad_requiring_operand_puts_a_plain_tensor_in_the_graph():
    w = _leaf()
    t = gg.zeros(3, dtype=gg.float64)
    t.add_(w)
    assert t.requires_grad and t.grad_fn is not None
    (t * t).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.array(BASE))


def test_setitem_gradient_splits_between_the_tensor_and_the_value():
    x, v = _leaf([1.0, 2.0, 3.0, 4.0]), _leaf([10.0, 20.0])
    y = x * 1
    y[gg.tensor([3, 0])] = v
    (y * gg.tensor([1.0, 2.0, 3.0, 4.0], dtype=gg.float64)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 2.0, 3.0, 0.0])  # overwritten entries get no gradient
    np.testing.assert_allclose(v.grad.numpy(), [4.0, 1.0])


def test_zero_and_fill_cut_the_gradient_to_the_old_value():
    x = _leaf()
    y = x * 2
    y.zero_()
    y.add_(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, 1.0])


def test_copy_makes_the_gradient_flow_to_the_source():
    x, src = _leaf(), _leaf([7.0, 8.0, 9.0])
    y = x * 2
    y.copy_(src)
    (y * y).sum().backward()
    np.testing.assert_allclose(src.grad.numpy(), [14.0, 16.0, 18.0])
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 0.0])


def test_in_place_without_grad_records_nothing():
    t = gg.tensor(BASE)
    t.add_(1).mul_(2)
    assert t.grad_fn is None and not t.requires_grad


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("name, call", [
    ("add_", lambda t: t.add_(1)),
    ("sub_", lambda t: t.sub_(1)),
    ("mul_", lambda t: t.mul_(2)),
    ("div_", lambda t: t.div_(2)),
    ("fill_", lambda t: t.fill_(0)),
    ("fill_", lambda t: t.zero_()),
    ("copy_", lambda t: t.copy_(gg.ones(3, dtype=gg.float64))),
    ("__setitem__", lambda t: t.__setitem__(0, 1.0)),
    ("add_", lambda t: t.__iadd__(1)),
])
def test_in_place_on_a_leaf_that_requires_grad_raises(name, call):
    x = _leaf()
    with pytest.raises(RuntimeError, match=rf"{name}\(\): a leaf Variable that requires grad.*no_grad"):
        call(x)
    assert x._version[0] == 0
    np.testing.assert_array_equal(x.detach().numpy(), BASE)


def test_in_place_on_a_leaf_is_allowed_under_no_grad():
    x = _leaf()
    with gg.no_grad():
        x.sub_(0.5)
        x[0] = 0.0
    assert x.requires_grad and x.is_leaf and x.grad_fn is None
    assert x._version[0] == 2
    np.testing.assert_allclose(x.detach().numpy(), [0.0, -2.5, 2.5])


def test_modifying_a_saved_input_names_the_node_and_the_versions():
    x = _leaf()
    a = x * 1
    b = a.sin()  # saves a
    a.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*SinBackward0.*version 1.*version 0"):
        b.sum().backward()


def test_modifying_a_saved_output_names_the_node_and_the_versions():
    x = _leaf()
    y = x.exp()  # saves its output
    y.mul_(2)    # the next backward step reads exp's output, now changed
    with pytest.raises(RuntimeError, match=r"ExpBackward0.*version 1.*expected version 0"):
        y.sum().backward()


def test_the_error_counts_every_modification():
    x = _leaf()
    a = x * 1
    b = a * a
    a[0] = 5.0
    a.zero_()
    with pytest.raises(RuntimeError, match=r"MulBackward0 is at version 2; expected version 0"):
        b.sum().backward()


def test_multiplying_a_tensor_in_place_by_itself_raises_as_in_pytorch():
    y = _leaf() * 2
    y.mul_(y)  # the recorded mul saved y, which the write then changed
    with pytest.raises(RuntimeError, match="MulBackward0"):
        y.sum().backward()


def test_modifying_an_unsaved_input_is_fine():
    x = _leaf()
    a = x * 1
    b = a + 2  # add saves nothing
    a.mul_(10)
    b.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, 1.0])


def test_fill_over_inf_gives_the_value_not_nan():
    x = _leaf([1.0, -1.0, 2.0])
    y = x * float("inf")  # inf and -inf in a recorded tensor
    y.fill_(2.0)
    np.testing.assert_array_equal(y.detach().numpy(), [2.0, 2.0, 2.0])
    assert y.grad_fn.name() == "FillBackward0"


def test_in_place_through_a_view_refuses_instead_of_giving_a_wrong_gradient():
    # PyTorch re-bases the base's graph here (x.grad == [2, 2, 1]); gpugrad cannot, so it must refuse
    x = _leaf([1.0, 1.0, 1.0])
    a = x * 1
    with pytest.raises(RuntimeError, match=r"mul_\(\): in-place change of a view .*\(base\[index\] = new_values"):
        a[0:2].mul_(2.0)
    a[0:2] = a[0:2] * 2.0  # the supported spelling
    a.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 1.0])
    with gg.no_grad():  # nothing recorded: views may be changed in place
        a[0:2].mul_(0.5)

SCALAR_VIEWS = {
    "t[1, 0]": lambda t: t[1, 0],
    "t[1][0]": lambda t: t[1][0],
    "t[-1, -1]": lambda t: t[-1, -1],
    "t[..., 1][0]": lambda t: t[..., 1][0],
    "select twice": lambda t: t.select(0, 1).select(0, 1),
    "unbind": lambda t: t[0].unbind(0)[1],
    "view(-1)[3]": lambda t: t.view(-1)[3],
}


@pytest.mark.parametrize("name", list(SCALAR_VIEWS))
def test_indexing_down_to_one_element_is_a_view_as_in_pytorch(device, name):
    # NumPy hands one indexed element out as a copied scalar; a 0-d tensor from basic indexing must
    # still share memory with its base, both ways
    torch = pytest.importorskip("torch")
    t = gg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    expected = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    element = SCALAR_VIEWS[name](t)
    element.add_(10)
    SCALAR_VIEWS[name](expected).add_(10)
    np.testing.assert_array_equal(host(t), expected.numpy())
    t.mul_(2)  # and a change to the base shows through the element
    assert element.item() == SCALAR_VIEWS[name](expected * 2).item()
    assert element.shape == () and element._base is not None
