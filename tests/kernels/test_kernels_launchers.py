"""The launchers in gpugrad.backends.kernels: argument checks and launch configurations.

Run against the emulator, whose device arrays and launches the launchers cannot tell from CuPy's;
every wrong call must raise a clear error before anything reaches a kernel.
"""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.backends import kernels


def upload(emu, shape, dtype=np.float32):
    return emu.upload(np.ones(shape, dtype))


# ---------------------------------------------------------------------------------------------
# Argument checks


def test_a_host_array_is_refused_with_the_fix(emu):
    with pytest.raises(TypeError, match="softmax_forward: x must be a cuda-emu device array, got numpy.ndarray; move "
                                        "it to the device first"):
        kernels.softmax_forward(emu, np.ones((2, 3), np.float32))


@pytest.mark.parametrize("dtype", [np.float16, np.int64, np.bool_])
def test_dtypes_other_than_float32_and_float64_are_refused(emu, dtype):
    with pytest.raises(TypeError, match=f"x has dtype {np.dtype(dtype)}; the kernels take float32 or float64"):
        kernels.sum_all(emu, upload(emu, (4,), dtype))


def test_mixed_dtypes_are_refused(emu):
    with pytest.raises(TypeError, match="target has dtype float64 but input has float32; cast one of them"):
        kernels.mse_loss(emu, upload(emu, (4,)), upload(emu, (4,), np.float64))


def test_non_contiguous_arrays_are_refused(emu):
    x = upload(emu, (4, 6))
    with pytest.raises(ValueError, match=r"x \(shape \(6, 4\), strides \(4, 24\)\) is not C-contiguous"):
        kernels.softmax_forward(emu, x.T)


def test_shape_mismatches_are_refused(emu):
    with pytest.raises(ValueError, match=r"grad_y has shape \(2, 4\) but y has shape \(2, 3\)"):
        kernels.softmax_backward(emu, upload(emu, (2, 3)), upload(emu, (2, 4)))
    with pytest.raises(ValueError, match=r"target has shape \(5,\) but logits has shape \(4,\)"):
        kernels.bce_with_logits(emu, upload(emu, (4,)), upload(emu, (5,)))


def test_a_weight_that_does_not_repeat_over_the_input_is_refused(emu):
    with pytest.raises(ValueError, match=r"pos_weight of shape \(4, 1\) does not repeat evenly over the input's shape "
                                         r"\(4, 3\); broadcast it"):
        kernels.bce_with_logits(emu, upload(emu, (4, 3)), upload(emu, (4, 3)), pos_weight=upload(emu, (4, 1)))


def test_an_unknown_reduction_is_refused(emu):
    with pytest.raises(ValueError, match="reduction must be one of"):
        kernels.mse_loss(emu, upload(emu, (4,)), upload(emu, (4,)), reduction="avg")


def test_zero_dimensional_inputs_to_row_kernels_are_refused(emu):
    with pytest.raises(ValueError, match="0-d"):
        kernels.sum_last_axis(emu, upload(emu, ()))
    with pytest.raises(ValueError, match="at least one dimension"):
        kernels.softmax_forward(emu, upload(emu, ()))


def test_optimizer_lists_must_match(emu):
    params = [upload(emu, (3,)), upload(emu, (4,))]
    with pytest.raises(ValueError, match="the lists differ in length"):
        kernels.sgd_multi_tensor(emu, params, params[:1], None, lr=0.1, momentum=0.0, dampening=0.0,
                                 nesterov=False, weight_decay=0.0, maximize=False, first_step=True)
    with pytest.raises(ValueError, match=r"grads\[1\] has shape \(3,\) but params\[1\] has shape \(4,\)"):
        kernels.sgd_multi_tensor(emu, params, [params[0], params[0]], None, lr=0.1, momentum=0.0, dampening=0.0,
                                 nesterov=False, weight_decay=0.0, maximize=False, first_step=True)
    with pytest.raises(TypeError, match=r"params\[1\] is float64 on device 0 but params\[0\] is float32"):
        mixed = [params[0], upload(emu, (4,), np.float64)]
        kernels.sgd_multi_tensor(emu, mixed, mixed, None, lr=0.1, momentum=0.0, dampening=0.0, nesterov=False,
                                 weight_decay=0.0, maximize=False, first_step=True)


def test_optimizer_state_required_by_the_options(emu):
    params = [upload(emu, (3,))]
    with pytest.raises(ValueError, match="momentum=0.9 needs momentum_buffers"):
        kernels.sgd_multi_tensor(emu, params, params, None, lr=0.1, momentum=0.9, dampening=0.0, nesterov=False,
                                 weight_decay=0.0, maximize=False, first_step=True)
    with pytest.raises(ValueError, match="amsgrad=True needs max_exp_avg_sqs"):
        kernels.adam_multi_tensor(emu, params, params, params, params, None, step=1, lr=0.1, beta1=0.9, beta2=0.99,
                                  eps=1e-8, weight_decay=0.0, decoupled=False, amsgrad=True, maximize=False)
    with pytest.raises(ValueError, match="step must be >= 1"):
        kernels.adam_multi_tensor(emu, params, params, params, params, None, step=0, lr=0.1, beta1=0.9, beta2=0.99,
                                  eps=1e-8, weight_decay=0.0, decoupled=False, amsgrad=False, maximize=False)


# ---------------------------------------------------------------------------------------------
# Launch configurations


@pytest.mark.parametrize("cols, threads", [(1, 32), (31, 32), (33, 64), (1000, 1024), (5000, 1024)])
def test_row_kernels_use_one_block_per_row_and_enough_threads_for_a_row(emu, cols, threads):
    kernels.softmax_forward(emu, upload(emu, (3, cols), np.float64))
    assert emu.launches == [("softmax_forward<double>", (3, 1, 1), (threads, 1, 1), threads // 32 * 8)]


def test_row_grids_are_capped_and_the_blocks_loop_over_the_rows(emu, monkeypatch):
    monkeypatch.setattr(kernels, "MAX_ROW_BLOCKS", 4)  # the real cap (65535) would take long to emulate
    x = emu.upload(np.arange(11 * 3, dtype=np.float64).reshape(11, 3))
    sums = kernels.sum_last_axis(emu, x)
    y = kernels.softmax_forward(emu, x)
    assert [launch[1] for launch in emu.launches] == [(4, 1, 1), (4, 1, 1)]
    np.testing.assert_array_equal(sums, np.asarray(x).sum(axis=1))
    np.testing.assert_allclose(np.asarray(y).sum(axis=1), 1.0)


def test_several_warps_looping_over_rows_reuse_shared_memory_safely(emu, monkeypatch):
    """Each block reduces several rows with 4 warps: the barrier that ends each reduction matters here."""
    monkeypatch.setattr(kernels, "MAX_ROW_BLOCKS", 3)
    x = np.random.default_rng(0).standard_normal((10, 100))
    dx, dy = emu.upload(x), emu.upload(np.ones_like(x))
    np.testing.assert_allclose(kernels.sum_last_axis(emu, dx), x.sum(axis=1), rtol=1e-13)
    y = kernels.softmax_forward(emu, dx)
    np.testing.assert_allclose(y, np.exp(x) / np.exp(x).sum(axis=1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(kernels.softmax_backward(emu, y, dy), 0.0, atol=1e-15)  # softmax sums to 1
    assert {launch[1:3] for launch in emu.launches} == {((3, 1, 1), (128, 1, 1))}


def test_empty_inputs_launch_nothing(emu):
    assert kernels.softmax_forward(emu, upload(emu, (0, 5))).shape == (0, 5)
    assert kernels.softmax_forward(emu, upload(emu, (5, 0))).shape == (5, 0)
    kernels.sgd_multi_tensor(emu, [upload(emu, (0,))], [upload(emu, (0,))], None, lr=0.1, momentum=0.0,
                             dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False, first_step=True)
    assert emu.launches == []


def test_sum_all_finishes_large_inputs_in_a_second_pass(emu):
    kernels.sum_all(emu, upload(emu, (100_000,)))
    (first, second) = emu.launches
    assert first[1:] == ((391, 1, 1), (256, 1, 1), 32)  # ceil(100000 / 256) blocks of partial sums
    assert second[1:] == ((1, 1, 1), (512, 1, 1), 64)


def test_small_sums_take_one_launch(emu):
    kernels.sum_all(emu, upload(emu, (1000,)))
    assert [launch[1:] for launch in emu.launches] == [((1, 1, 1), (1024, 1, 1), 128)]


def test_the_multi_tensor_tables_map_blocks_to_chunks(emu):
    chunk = kernels.MULTI_TENSOR_CHUNK
    sizes = [1, chunk, chunk + 1, 0, 3 * chunk]
    params = [upload(emu, (n,)) for n in sizes]
    kernels.sgd_multi_tensor(emu, params, params, None, lr=0.5, momentum=0.0, dampening=0.0, nesterov=False,
                             weight_decay=0.0, maximize=False, first_step=True)
    assert emu.launches == [("sgd_multi_tensor<float>", (1 + 1 + 2 + 0 + 3, 1, 1), (256, 1, 1), 0)]
    for p in params:  # p -= 0.5 * p, each element exactly once
        np.testing.assert_array_equal(p, 0.5)


def test_multi_tensor_tables_are_uploaded_once_for_the_same_arrays(emu, monkeypatch):
    params = [upload(emu, (10,)), upload(emu, (20,))]
    uploads = []
    original = emu.upload
    monkeypatch.setattr(emu, "upload", lambda host, device=0: uploads.append(host.shape) or original(host, device))
    for _ in range(3):
        kernels.sgd_multi_tensor(emu, params, params, None, lr=0.1, momentum=0.0, dampening=0.0, nesterov=False,
                                 weight_decay=0.0, maximize=False, first_step=True)
    assert uploads == [(2, 4), (2, 2)], "the tensor table and the block table, once"


def test_scalars_reach_the_kernel_as_the_element_type(emu):
    """The launchers wrap Python numbers in NumPy scalars: the emulator refuses anything else."""
    kernels.sgd_multi_tensor(emu, [upload(emu, (3,))], [upload(emu, (3,))], None, lr=0.25, momentum=0.0,
                             dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False, first_step=True)
    kernels.adam_multi_tensor(emu, [upload(emu, (3,), np.float64)], [upload(emu, (3,), np.float64)],
                              [upload(emu, (3,), np.float64)], [upload(emu, (3,), np.float64)], None, step=2, lr=1e-3,
                              beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2, decoupled=True, amsgrad=False,
                              maximize=False)
    assert len(emu.launches) == 2
