"""Every kernel against a NumPy reference: awkward sizes, float32 and float64, every backend.

The ``backend`` fixture runs each case in the CPU emulator under two thread schedules and, where a
GPU is usable, on it through CuPy; the launchers under test are the ones gpugrad uses.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from kernel_test_utils import DTYPES, SIZES, assert_close, sum_tolerance, to_host

from gpugrad.backends import kernels

ROW_SHAPES = [(3, n) for n in SIZES] + [(n, 5) for n in SIZES if n not in (0, 1)] + [(2, 3, 33)]
# Absolute tolerances where values are compared element by element (sums get their own bound).
TOL_BACKWARD = {np.float32: 4e-6, np.float64: 1e-14}
TOL_LOSS = {np.float32: 1e-5, np.float64: 1e-13}
OPTIMIZER_TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


def random(shape, dtype, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


# ---------------------------------------------------------------------------------------------
# Reductions


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("mean", [False, True])
def test_sum_all(backend, dtype, n, mean):
    x = random(n, dtype)
    got = kernels.sum_all(backend, backend.upload(x, 0), mean=mean)
    total = x.astype(np.float64).sum()
    expected = (total / n if n else np.nan) if mean else total
    assert to_host(got).shape == ()
    assert_close(got, expected, dtype, atol=sum_tolerance(x) / (n if mean and n else 1))


def test_sum_all_of_a_few_million(backend):
    x = random(3_000_001, np.float32, seed=1)
    got = kernels.sum_all(backend, backend.upload(x, 0))
    assert_close(got, x.astype(np.float64).sum(), np.float32, rtol=0, atol=sum_tolerance(x))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROW_SHAPES, ids=str)
@pytest.mark.parametrize("mean", [False, True])
def test_sum_last_axis(backend, dtype, shape, mean):
    x = random(shape, dtype)
    got = kernels.sum_last_axis(backend, backend.upload(x, 0), mean=mean)
    total = x.astype(np.float64).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = total / shape[-1] if mean else total
    atol = sum_tolerance(x, axis=-1) / (shape[-1] if mean and shape[-1] else 1)
    assert_close(got, expected, dtype, atol=atol)


# ---------------------------------------------------------------------------------------------
# Softmax


def softmax_reference(x, log):
    x = x.astype(np.float64)
    shifted = x - x.max(axis=-1, keepdims=True, initial=-np.inf)
    with np.errstate(divide="ignore"):  # log(0) for empty rows, which have no elements to use it
        log_y = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return log_y if log else np.exp(log_y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROW_SHAPES, ids=str)
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_forward(backend, dtype, shape, log):
    x = random(shape, dtype, scale=5.0)
    if x.size:
        x.reshape(-1, shape[-1])[0, 0] = 1000.0  # would overflow exp() without the max shift
    got = kernels.softmax_forward(backend, backend.upload(x, 0), log=log)
    assert_close(got, softmax_reference(x, log), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROW_SHAPES, ids=str)
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_backward(backend, dtype, shape, log):
    y = softmax_reference(random(shape, dtype, scale=3.0), log).astype(dtype)
    grad_y = random(shape, dtype, seed=1)
    got = kernels.softmax_backward(backend, backend.upload(y, 0), backend.upload(grad_y, 0), log=log)
    y64, g64 = y.astype(np.float64), grad_y.astype(np.float64)
    if log:
        expected = g64 - np.exp(y64) * g64.sum(axis=-1, keepdims=True)
    else:
        expected = y64 * (g64 - (g64 * y64).sum(axis=-1, keepdims=True))
    assert_close(got, expected, dtype, atol=TOL_BACKWARD[dtype] * (1 + np.abs(g64).sum(axis=-1, keepdims=True)))



@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_backward_matches_finite_differences(emu, log):
    """The backward formula itself, independently of the reference formula above (float64)."""
    x = random((2, 7), np.float64, seed=3)
    grad_y = random((2, 7), np.float64, seed=4)
    y = kernels.softmax_forward(emu, emu.upload(x), log=log)
    got = to_host(kernels.softmax_backward(emu, y, emu.upload(grad_y), log=log))
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = 1e-6
        plus = to_host(kernels.softmax_forward(emu, emu.upload(x + step), log=log))
        minus = to_host(kernels.softmax_forward(emu, emu.upload(x - step), log=log))
        numeric[index] = ((plus - minus) / 2e-6 * grad_y).sum()
    np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------------------------
# Losses

LOSS_SHAPES = [(n,) for n in SIZES] + [(4, 33)]


def bce_reference(x, y, weight, pos_weight, reduction):
    x, y = x.astype(np.float64), y.astype(np.float64)
    weight = 1.0 if weight is None else weight.astype(np.float64)
    log_weight = 1.0 if pos_weight is None else 1 + (pos_weight.astype(np.float64) - 1) * y
    loss = weight * ((1 - y) * x + log_weight * np.logaddexp(0.0, -x))
    grad = weight * ((1 - y) - log_weight * np.exp(-np.logaddexp(0.0, x)))  # sigmoid(-x), stably
    return reduce_reference(loss, grad, reduction)


def reduce_reference(loss, grad, reduction):
    if reduction == "none":
        return loss, grad
    if reduction == "sum":
        return loss.sum(), grad
    n = loss.size
    return (loss.mean() if n else np.nan), grad / max(n, 1)


def loss_inputs(shape, dtype):
    x = random(shape, dtype, scale=4.0)
    if x.size > 2:
        x.flat[:2] = [60.0, -60.0]  # exp(-x) overflows float32 in a naive formula
    y = np.random.default_rng(5).uniform(0, 1, shape).astype(dtype)
    return x, y


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", LOSS_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
def test_bce_with_logits(backend, dtype, shape, reduction, weighted):
    x, y = loss_inputs(shape, dtype)
    weight = pos_weight = None
    if weighted:  # weight over the last axis, pos_weight per class: both repeat over the rows
        weight = np.random.default_rng(6).uniform(0.5, 2, shape[-1:]).astype(dtype)
        pos_weight = np.random.default_rng(7).uniform(0.5, 3, shape[-1:]).astype(dtype)
    upload = (lambda a: None if a is None else backend.upload(a, 0))
    loss, grad = kernels.bce_with_logits(backend, upload(x), upload(y), weight=upload(weight),
                                         pos_weight=upload(pos_weight), reduction=reduction)
    expected_loss, expected_grad = bce_reference(x, y, weight, pos_weight, reduction)
    atol = sum_tolerance(np.abs(expected_loss) + 1) if reduction != "none" else TOL_LOSS[dtype]
    assert_close(loss, expected_loss, dtype, atol=atol / (max(x.size, 1) if reduction == "mean" else 1))
    assert_close(grad, expected_grad, dtype, atol=TOL_LOSS[dtype] / (max(x.size, 1) if reduction == "mean" else 1))



def test_bce_with_logits_without_grad(backend):
    x, y = loss_inputs((33,), np.float64)
    loss, grad = kernels.bce_with_logits(backend, backend.upload(x, 0), backend.upload(y, 0), reduction="sum",
                                         compute_grad=False)
    assert grad is None
    assert_close(loss, bce_reference(x, y, None, None, "sum")[0], np.float64, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", LOSS_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_mse_loss(backend, dtype, shape, reduction):
    x, y = loss_inputs(shape, dtype)
    loss, grad = kernels.mse_loss(backend, backend.upload(x, 0), backend.upload(y, 0), reduction=reduction)
    diff = x.astype(np.float64) - y.astype(np.float64)
    expected_loss, expected_grad = reduce_reference(diff**2, 2 * diff, reduction)
    scale = max(x.size, 1) if reduction == "mean" else 1
    atol = sum_tolerance(diff**2 + 1) / scale if reduction != "none" else TOL_LOSS[dtype] * 100
    assert_close(loss, expected_loss, dtype, atol=atol)
    assert_close(grad, expected_grad, dtype, atol=TOL_LOSS[dtype] * 10 / scale)


# ---------------------------------------------------------------------------------------------
# Optimizers, against gpugrad.optim.functional (PyTorch's update rules on NumPy)

OPTIMIZER_SIZES = SIZES + [2 * kernels.MULTI_TENSOR_CHUNK + 3]  # the last spans three chunks


def optimizer_state(dtype, count, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(dtype) for n in OPTIMIZER_SIZES[:count]] + [
        rng.standard_normal((3, 11)).astype(dtype)  # a 2-D parameter
    ]


def functional():
    return pytest.importorskip("gpugrad.optim.functional", reason="the NumPy reference gpugrad.optim.functional")


SGD_CASES = [
    dict(momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False),
    dict(momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False),
    dict(momentum=0.9, dampening=0.0, nesterov=True, weight_decay=0.01, maximize=False),
    dict(momentum=0.5, dampening=0.3, nesterov=False, weight_decay=0.1, maximize=True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", SGD_CASES, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items() if v))
def test_sgd_multi_tensor(backend, dtype, options):
    reference = functional()
    params = optimizer_state(dtype, len(OPTIMIZER_SIZES))
    expected_params = [p.copy() for p in params]
    buffers = [np.zeros_like(p) for p in params]
    expected_buffers = [b.copy() for b in buffers]
    device_params = [backend.upload(p, 0) for p in params]
    device_buffers = [backend.upload(b, 0) for b in buffers]
    for step in range(3):
        grads = optimizer_state(dtype, len(OPTIMIZER_SIZES), seed=10 + step)
        launches_before = len(getattr(backend, "launches", []))
        kernels.sgd_multi_tensor(backend, device_params, [backend.upload(g, 0) for g in grads], device_buffers,
                                 lr=0.1, first_step=step == 0, **options)
        if hasattr(backend, "launches"):
            assert len(backend.launches) == launches_before + 1, "one launch for all tensors"
        reference.sgd_update(expected_params, grads, expected_buffers, lr=0.1, first_step=step == 0, xp=np,
                             **options)
    for got, expected in zip(device_params, expected_params):
        assert_close(got, expected, dtype, **OPTIMIZER_TOLERANCE[dtype])
    if options["momentum"]:
        for got, expected in zip(device_buffers, expected_buffers):
            assert_close(got, expected, dtype, **OPTIMIZER_TOLERANCE[dtype])


ADAM_CASES = [
    dict(weight_decay=0.0, decoupled=False, amsgrad=False, maximize=False),
    dict(weight_decay=0.1, decoupled=False, amsgrad=False, maximize=False),
    dict(weight_decay=0.1, decoupled=True, amsgrad=False, maximize=False),
    dict(weight_decay=0.0, decoupled=True, amsgrad=True, maximize=True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", ADAM_CASES, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items() if v))
def test_adam_multi_tensor(backend, dtype, options):
    reference = functional()
    params = optimizer_state(dtype, len(OPTIMIZER_SIZES))
    states = {name: [np.zeros_like(p) for p in params] for name in ("exp_avgs", "exp_avg_sqs", "max_exp_avg_sqs")}
    expected_params = [p.copy() for p in params]
    expected_states = {name: [a.copy() for a in arrays] for name, arrays in states.items()}
    device_params = [backend.upload(p, 0) for p in params]
    device_states = {name: [backend.upload(a, 0) for a in arrays] for name, arrays in states.items()}
    hyper = dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, **options)
    for step in range(1, 4):
        grads = optimizer_state(dtype, len(OPTIMIZER_SIZES), seed=20 + step)
        kernels.adam_multi_tensor(backend, device_params, [backend.upload(g, 0) for g in grads],
                                  device_states["exp_avgs"], device_states["exp_avg_sqs"],
                                  device_states["max_exp_avg_sqs"], step=step, **hyper)
        reference.adam_update(expected_params, grads, expected_states["exp_avgs"], expected_states["exp_avg_sqs"],
                              expected_states["max_exp_avg_sqs"], step=step, xp=np, **hyper)
    for got, expected in zip(device_params, expected_params):
        assert_close(got, expected, dtype, **OPTIMIZER_TOLERANCE[dtype])
    for name in ("exp_avgs", "exp_avg_sqs") + (("max_exp_avg_sqs",) if options["amsgrad"] else ()):
        for got, expected in zip(device_states[name], expected_states[name]):
            assert_close(got, expected, dtype, **OPTIMIZER_TOLERANCE[dtype])


# ---------------------------------------------------------------------------------------------
# Grid-stride loops with several elements per thread
#
# The element-wise kernels sweep the whole grid, MAX_ELEMENTWISE_BLOCKS * ELEMENTWISE_THREADS = 262144
# elements, per pass of their loop: the sizes above stay within one pass, so a loop body that kept only
# its last element (`partial = element_loss` for `partial += element_loss`) or skipped a pass would pass
# them. Here every grid-stride loop runs several passes per thread: with the caps lowered (as in
# test_kernels_launchers.py; the emulator then runs the whole matrix of options in well under a
# second) and, for the losses, at the real cap with a size a little over three passes.

FEW_BLOCKS = 3  # the lowered cap: blocks per element-wise launch, or per row launch
FEW_BLOCKS_SHAPE = (7, 331)  # 2317 elements: 3 passes of 3 x 256 threads, then 13 threads take a 4th
FULL_GRID_SHAPE = (2311, 347)  # 801917 elements: 3 passes of 1024 x 256 threads, then 15485 threads take a 4th
LONG_ROWS_SHAPE = (7, 3001)  # 1024 threads per row take 2 or 3 columns; 3 blocks take 2 or 3 rows
LOSSES = ["bce", "bce-weighted", "mse"]


def loss_case(backend, loss, dtype, shape, reduction):
    """Run a fused loss on the inputs of ``loss_inputs`` and check loss and grad against the NumPy reference.

    "bce-weighted" takes a weight of shape ``shape[-1:]`` and a pos_weight of shape ``(1, shape[-1])``:
    with periods that do not divide the grid's stride, each pass of a thread reads other weights.
    """
    x, y = loss_inputs(shape, dtype)
    scale = max(x.size, 1) if reduction == "mean" else 1
    if loss == "mse":
        loss_value, grad = kernels.mse_loss(backend, backend.upload(x, 0), backend.upload(y, 0), reduction=reduction)
        diff = x.astype(np.float64) - y.astype(np.float64)
        expected_loss, expected_grad = reduce_reference(diff**2, 2 * diff, reduction)
        loss_atol = sum_tolerance(diff**2 + 1) / scale if reduction != "none" else TOL_LOSS[dtype] * 100
        grad_atol = TOL_LOSS[dtype] * 10 / scale
    else:
        weight = pos_weight = None
        if loss == "bce-weighted":
            weight = np.random.default_rng(6).uniform(0.5, 2, shape[-1:]).astype(dtype)
            pos_weight = np.random.default_rng(7).uniform(0.5, 3, (1, shape[-1])).astype(dtype)
        upload = (lambda a: None if a is None else backend.upload(a, 0))
        loss_value, grad = kernels.bce_with_logits(backend, upload(x), upload(y), weight=upload(weight),
                                                   pos_weight=upload(pos_weight), reduction=reduction)
        expected_loss, expected_grad = bce_reference(x, y, weight, pos_weight, reduction)
        loss_atol = sum_tolerance(np.abs(expected_loss) + 1) / scale if reduction != "none" else TOL_LOSS[dtype]
        grad_atol = TOL_LOSS[dtype] / scale
    assert_close(loss_value, expected_loss, dtype, atol=loss_atol)
    assert_close(grad, expected_grad, dtype, atol=grad_atol)


def assert_several_passes_per_thread(backend, kernel, work):
    """Where the backend records launches (the emulator), check that ``kernel``'s loop made 2+ passes per thread."""
    for expression, grid, block, _ in getattr(backend, "launches", []):
        if expression.startswith(kernel + "<"):
            assert work >= 2 * grid[0] * block[0], f"{kernel}: {work} items for {grid[0]} x {block[0]} threads"
            return
    assert not hasattr(backend, "launches"), f"no launch of {kernel}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("loss", LOSSES)
def test_losses_with_several_elements_per_thread(backend, monkeypatch, loss, dtype, reduction):
    monkeypatch.setattr(kernels, "MAX_ELEMENTWISE_BLOCKS", FEW_BLOCKS)
    loss_case(backend, loss, dtype, FEW_BLOCKS_SHAPE, reduction)
    kernel = "mse_loss_forward_backward" if loss == "mse" else "bce_with_logits_forward_backward"
    assert_several_passes_per_thread(backend, kernel, math.prod(FEW_BLOCKS_SHAPE))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", ["bce-weighted", "mse"])
def test_losses_loop_over_the_full_grid(backend, loss, dtype):
    """The launch configuration gpugrad really uses: 1024 blocks of 256 threads, each thread 3 or 4 elements.

    One reduction ("mean": partial sums and a scaled gradient); the test above covers the others.
    """
    loss_case(backend, loss, dtype, FULL_GRID_SHAPE, "mean")
    kernel = "mse_loss_forward_backward" if loss == "mse" else "bce_with_logits_forward_backward"
    assert_several_passes_per_thread(backend, kernel, math.prod(FULL_GRID_SHAPE))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mean", [False, True])
def test_sum_all_with_several_elements_per_thread(backend, monkeypatch, dtype, mean):
    monkeypatch.setattr(kernels, "MAX_ELEMENTWISE_BLOCKS", FEW_BLOCKS)
    x = random(FEW_BLOCKS_SHAPE, dtype, seed=8)
    got = kernels.sum_all(backend, backend.upload(x, 0), mean=mean)
    expected = x.astype(np.float64).sum() / (x.size if mean else 1)
    assert_close(got, expected, dtype, atol=sum_tolerance(x) / (x.size if mean else 1))
    assert_several_passes_per_thread(backend, "sum_all_partial", x.size)


@pytest.mark.parametrize("dtype", DTYPES)
def test_row_kernels_with_several_rows_per_block_and_columns_per_thread(backend, monkeypatch, dtype):
    monkeypatch.setattr(kernels, "MAX_ROW_BLOCKS", FEW_BLOCKS)
    rows, cols = LONG_ROWS_SHAPE
    x = random(LONG_ROWS_SHAPE, dtype, scale=5.0, seed=9)
    x[:, 0] = 1000.0  # the row max, in thread 0's first column: a max over its last column only overflows exp()
    grad_y = random(LONG_ROWS_SHAPE, dtype, seed=10)
    x64, g64 = x.astype(np.float64), grad_y.astype(np.float64)
    dx, dgrad_y = backend.upload(x, 0), backend.upload(grad_y, 0)
    for mean in (False, True):
        expected = x64.sum(axis=-1) / (cols if mean else 1)
        assert_close(kernels.sum_last_axis(backend, dx, mean=mean), expected, dtype,
                     atol=sum_tolerance(x, axis=-1) / (cols if mean else 1))
    for log in (False, True):
        assert_close(kernels.softmax_forward(backend, dx, log=log), softmax_reference(x, log), dtype)
        y = softmax_reference(random(LONG_ROWS_SHAPE, dtype, scale=3.0, seed=11), log).astype(dtype)
        y64 = y.astype(np.float64)
        got = kernels.softmax_backward(backend, backend.upload(y, 0), dgrad_y, log=log)
        if log:
            expected = g64 - np.exp(y64) * g64.sum(axis=-1, keepdims=True)
        else:
            expected = y64 * (g64 - (g64 * y64).sum(axis=-1, keepdims=True))
        assert_close(got, expected, dtype, atol=TOL_BACKWARD[dtype] * (1 + np.abs(g64).sum(axis=-1, keepdims=True)))
    for expression, grid, block, _ in getattr(backend, "launches", []):
        assert grid[0] == FEW_BLOCKS and rows >= 2 * grid[0] and cols >= 2 * block[0], expression
