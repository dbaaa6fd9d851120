"""Anomaly detection: NaN/Inf in backward names the node, the op and the user line; off means untouched."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.autograd.anomaly as anomaly
from gpugrad.autograd import engine, node
from gpugrad.autograd.node import ArrayFunction

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy warns on log(0), 0/0


def _line_below() -> int:
    """The line number just below the caller's line."""
    return sys._getframe(1).f_lineno + 1


def _pristine() -> tuple:
    return tuple(node.record_hooks), ArrayFunction.__dict__["__call__"], engine._call_backward


ORIGINALS = _pristine()


@pytest.fixture(autouse=True)
def _no_layer_left_behind():
    yield
    assert not anomaly.is_anomaly_enabled()
    assert _pristine() == ORIGINALS


def test_nan_in_backward_names_node_op_and_line(device):
    x = gg.tensor([0.0, 1.0], device=device, requires_grad=True)
    with anomaly.detect_anomaly():
        line = _line_below()
        y = (gg.log(x) * 0).sum()  # log(0) = -inf; its gradient 0 / 0 is nan
        with pytest.raises(RuntimeError) as info:
            y.backward()
    error = info.value
    message = str(error)
    assert message.startswith("Function 'LogBackward0' returned nan values in its 0th output.")
    assert isinstance(error, anomaly.AnomalyError)
    assert (error.node_name, error.forward_op, error.output_index, error.kind) == ("LogBackward0", "Log", 0, "nan")
    assert error.location == f"{__file__}:{line}"
    assert f"{__file__}:{line}" in message
    assert "y = (gg.log(x) * 0).sum()" in message  # the source line, as in a traceback
    assert "MulBackward0" not in message  # the node before it produced a finite gradient


def test_inf_in_backward_is_reported_too():
    x = gg.tensor([0.0, 4.0], dtype=gg.float64, requires_grad=True)
    with anomaly.detect_anomaly():
        line = _line_below()
        y = gg.sqrt(x).sum()  # d sqrt(x)/dx = 1 / (2 sqrt(x)) is inf at 0
        with pytest.raises(anomaly.AnomalyError, match=r"Function 'SqrtBackward0' returned inf values") as info:
            y.backward()
    assert info.value.kind == "inf" and info.value.location.endswith(f":{line}")


def _make_nan_in_a_helper(x):
    return gg.log(x) * 0  # the innermost user frame: anomaly points here, not at the caller


def test_line_is_the_innermost_user_frame_and_stack_is_kept():
    x = gg.tensor(0.0, requires_grad=True)
    with anomaly.detect_anomaly():
        call_line = _line_below()
        y = _make_nan_in_a_helper(x)
        with pytest.raises(anomaly.AnomalyError) as info:
            y.backward()
    helper_line = _make_nan_in_a_helper.__code__.co_firstlineno + 1
    assert info.value.location == f"{__file__}:{helper_line}"
    trace = str(info.value).split("Traceback of forward call")[1]
    assert f'line {call_line}, in test_line_is_the_innermost_user_frame' in trace  # the caller too
    assert trace.index(f"line {call_line}") < trace.index(f"line {helper_line}")  # outermost first


def test_off_changes_nothing():
    x = gg.tensor(0.0, requires_grad=True)
    y = gg.log(x) * 0
    assert not hasattr(y.grad_fn, "_anomaly_frames")
    y.backward()  # no error: a nan gradient is a value like any other
    assert np.isnan(x.grad.item())
    assert _pristine() == ORIGINALS


def test_leaving_restores_the_exact_originals_even_after_an_error():
    with pytest.raises(ValueError):
        with anomaly.detect_anomaly():
            assert tuple(node.record_hooks) != ORIGINALS[0]
            assert engine._call_backward is not ORIGINALS[2]
            raise ValueError("boom")
    assert _pristine() == ORIGINALS


def test_finite_gradients_pass_and_match_the_plain_run():
    def run():
        x = gg.tensor([0.5, 2.0], dtype=gg.float64, requires_grad=True)
        (gg.log(x) * gg.sin(x)).sum().backward()
        return x.grad.numpy()

    plain = run()
    with anomaly.detect_anomaly():
        checked = run()
    np.testing.assert_array_equal(checked, plain)


def test_node_made_before_switching_on_says_so():
    x = gg.tensor(0.0, requires_grad=True)
    y = gg.log(x) * 0
    with anomaly.detect_anomaly(), pytest.raises(anomaly.AnomalyError, match="before anomaly detection") as info:
        y.backward()
    assert info.value.location is None


def test_check_nan_false_records_stacks_and_notes_backward_errors():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    with anomaly.detect_anomaly(check_nan=False):
        assert anomaly.is_anomaly_enabled() and not anomaly.is_anomaly_check_nan_enabled()
        (gg.log(x * 0) * 0).sum().backward()  # nan, but not checked
        h = x * 1
        line = _line_below()
        y = (h * h).sum()
        h.mul_(2)  # modifies a tensor MulBackward0 saved: backward must fail
        with pytest.raises(RuntimeError, match="modified by an inplace operation") as info:
            y.backward()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    if sys.version_info >= (3, 11):
        assert "Error detected in MulBackward0" in notes and f"{__file__}:{line}" in notes


def test_set_detect_anomaly_as_call_and_as_context():
    anomaly.set_detect_anomaly(True)
    try:
        assert anomaly.is_anomaly_enabled()
        with anomaly.set_detect_anomaly(False):
            assert not anomaly.is_anomaly_enabled()
            assert _pristine() == ORIGINALS  # off everywhere: the layers are gone
        assert anomaly.is_anomaly_enabled()
    finally:
        anomaly.set_detect_anomaly(False)
    assert _pristine() == ORIGINALS


def test_nested_blocks_restore_the_outer_mode():
    with anomaly.detect_anomaly():
        with anomaly.detect_anomaly(check_nan=False):
            assert not anomaly.is_anomaly_check_nan_enabled()
        assert anomaly.is_anomaly_check_nan_enabled()
    assert not anomaly.is_anomaly_enabled()


def test_mode_is_per_thread():
    seen = {}

    def other_thread():
        x = gg.tensor(0.0, requires_grad=True)
        y = gg.log(x) * 0
        seen["enabled"] = anomaly.is_anomaly_enabled()
        y.backward()  # must not raise: anomaly mode is on in the main thread only
        seen["grad"] = x.grad.item()

    with anomaly.detect_anomaly():
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    assert seen["enabled"] is False and np.isnan(seen["grad"])


def test_double_backward_points_at_the_first_backward_call():
    x = gg.tensor(0.0, dtype=gg.float64, requires_grad=True)
    with anomaly.detect_anomaly():
        line = _line_below()
        (dx,) = gg.autograd.grad(x**1.5, x, create_graph=True)  # 1.5 x^0.5 = 0: finite
        assert dx.item() == 0
        with pytest.raises(anomaly.AnomalyError) as info:
            gg.autograd.grad(dx, x)  # 0.75 x^-0.5 is infinite at 0
    # the failing node was recorded while the first backward ran: the user line is that call
    assert info.value.location == f"{__file__}:{line}"


def test_interpose_layers_come_off_in_any_order():
    calls = []

    def tagging(tag):
        def factory(inner):
            def wrapper(self, *inputs):
                calls.append(tag)
                return inner(self, *inputs)

            return wrapper

        return factory

    first = anomaly.interpose(ArrayFunction, "__call__", tagging("first"))
    second = anomaly.interpose(ArrayFunction, "__call__", tagging("second"))
    try:
        gg.tensor(1.0) + 1
        assert calls == ["second", "first"]  # later layers wrap earlier ones
        first.remove()  # not the outermost: the chain is rebuilt without it
        calls.clear()
        gg.tensor(1.0) + 1
        assert calls == ["second"]
    finally:
        first.remove()
        second.remove()
        second.remove()  # idempotent
    assert ArrayFunction.__dict__["__call__"] is ORIGINALS[1]
