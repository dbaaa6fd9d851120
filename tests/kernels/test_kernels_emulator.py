"""The CUDA emulator itself: it must run correct kernels faithfully and catch broken ones.

The broken kernels live in cuda_emu/fixtures/broken_kernels.cu; each test here shows that one
class of bug (a race from a missing barrier, a wrong index, an out-of-bounds read, a barrier or
shuffle some threads never reach, a write to a const input, a read of shared memory nobody wrote,
a wrong argument type, a bad launch configuration) ends in an error or a wrong result a test sees,
instead of passing silently.
"""

from __future__ import annotations

import numpy as np
import pytest
from cuda_emu import build
from cuda_emu.backend import (
    BarrierError,
    EmulatorBackend,
    KernelArgumentError,
    LaunchConfigError,
    MemoryFault,
    WarpCollectiveError,
)

from gpugrad.backends import kernels


def test_every_catalog_instantiation_is_registered(emulator_library):
    signatures = emulator_library.kernel_signatures()
    missing = [e for e in kernels.all_name_expressions() if e not in signatures]
    assert not missing
    assert signatures["sum_all_partial<double>"] == (
        "sum_all_partial<double>(const float64*, float64*, int64, float64)"
    )


def test_new_device_memory_is_poisoned_with_nan(emu):
    assert np.isnan(emu.empty((5,), np.float32)).all()
    assert np.isnan(emu.empty((2, 2), np.float64)).all()


# ---------------------------------------------------------------------------------------------
# Correct kernels run correctly


def test_shuffle_and_ballot_semantics(emu):
    x = np.arange(32, dtype=np.float32) - 3
    out = emu.empty((32 * 6,), np.float32)
    emu.launch_expression("probe_shuffles<float>", (1,), (32,), (emu.upload(x), out))
    got = out.reshape(32, 6)
    lanes = np.arange(32)
    np.testing.assert_array_equal(got[:, 0], np.full(32, x[3]))  # __shfl_sync from lane 3
    np.testing.assert_array_equal(got[:, 1], np.where(lanes >= 2, x[lanes - 2], x))  # up 2: low lanes keep theirs
    np.testing.assert_array_equal(got[:, 2], np.where(lanes + 5 < 32, x[np.minimum(lanes + 5, 31)], x))  # down 5
    np.testing.assert_array_equal(got[:, 3], x[lanes ^ 1])  # xor 1
    in_segment = lanes % 8 + 1 < 8  # down 1 within segments of width 8
    np.testing.assert_array_equal(got[:, 4], np.where(in_segment, x[np.minimum(lanes + 1, 31)], x))
    np.testing.assert_array_equal(got[:, 5], np.full(32, 0b11110000))  # ballot(x > 0), low byte: lanes 4..7


def test_thread_and_block_indices_in_three_dimensions(emu):
    grid, block = (3, 2, 2), (4, 2, 2)
    threads = 16
    out = emu.empty((12 * threads * 6,), np.int32)
    emu.launch_expression("probe_indices", grid, block, (out,))
    records = out.reshape(12, threads, 6)
    expected_threads = np.array([(x, y, z) for z in range(2) for y in range(2) for x in range(4)])
    expected_blocks = np.array([(x, y, z) for z in range(2) for y in range(2) for x in range(3)])
    np.testing.assert_array_equal(records[:, :, :3], np.broadcast_to(expected_threads, (12, threads, 3)))
    np.testing.assert_array_equal(records[:, :, 3:], np.repeat(expected_blocks[:, None, :], threads, axis=1))


def test_atomics_accumulate_across_threads_and_blocks(emu):
    counter = emu.upload(np.zeros(1, np.uint64))
    total = emu.upload(np.zeros(1, np.float32))
    emu.launch_expression("probe_atomic_count", (5,), (64,), (counter, total))
    assert counter[0] == 320 and total[0] == 160.0


# ---------------------------------------------------------------------------------------------
# Broken kernels are caught


def test_a_missing_barrier_is_caught_by_one_of_the_schedules(emulator_library):
    """The race reads shared-memory slots before other warps wrote them: poison (NaN) in one schedule."""
    results = {}
    for schedule in ("forward", "reverse"):
        backend = EmulatorBackend(emulator_library, schedule)
        x = backend.upload(np.ones(256, np.float32))
        out = backend.empty((1,), np.float32)
        backend.launch_expression("broken_sum_missing_barrier<float>", (1,), (256,), (x, out, np.int64(256)),
                                  shared_mem=256 // 32 * 4)
        results[schedule] = float(out[0])
    assert any(value != 256.0 for value in results.values()), results


def test_the_correct_reduction_gives_the_same_answer_in_both_schedules(emulator_library):
    for schedule in ("forward", "reverse"):
        backend = EmulatorBackend(emulator_library, schedule)
        assert float(kernels.sum_all(backend, backend.upload(np.ones(256, np.float32)))) == 256.0


def test_a_wrong_index_shows_in_the_results(emu):
    x = np.arange(100, dtype=np.float32)
    y = emu.empty((100,), np.float32)
    emu.launch_expression("broken_copy_wrong_index<float>", (4,), (32,), (emu.upload(x), y, np.int64(100)))
    assert not np.array_equal(y, x)
    assert np.isnan(y[32:]).all(), "never-written outputs keep the NaN poison"


def test_an_out_of_bounds_read_faults_with_the_thread_and_the_array(emu):
    x = emu.upload(np.arange(300, dtype=np.float32))
    y = emu.empty((300,), np.float32)
    with pytest.raises(MemoryFault, match=r"out-of-bounds read at byte 1200 of a 1200-byte device array .* "
                                          r"thread \(43,0,0\) of block \(1,0,0\)"):
        emu.launch_expression("broken_neighbour_sum_out_of_bounds<float>", (2,), (256,), (x, y, np.int64(300)))


def test_the_emulator_keeps_working_after_a_fault(emu):
    x = emu.upload(np.arange(64, dtype=np.float32))
    with pytest.raises(MemoryFault):
        emu.launch_expression("broken_neighbour_sum_out_of_bounds<float>", (1,), (64,),
                              (x, emu.empty((64,), np.float32), np.int64(64)))
    assert float(kernels.sum_all(emu, x)) == 2016.0


def test_a_barrier_some_threads_skip_is_an_error_not_a_hang(emu):
    x = emu.upload(np.arange(64, dtype=np.float32))
    with pytest.raises(BarrierError, match=r"not reached by every thread.*threads 40-63 exited; threads 0-39 waiting "
                                           r"at __syncthreads\(\)"):
        emu.launch_expression("broken_barrier_after_early_exit<float>", (1,), (64,),
                              (x, emu.empty((64,), np.float32), np.int64(40)), shared_mem=256)


def test_threads_at_different_barriers_are_an_error(emu):
    with pytest.raises(BarrierError, match=r"different __syncthreads\(\) calls"):
        emu.launch_expression("broken_barriers_in_both_branches<float>", (1,), (64,), (emu.empty((64,), np.float32),))


def test_a_deadlock_is_reported_with_what_every_thread_waits_for(emu):
    with pytest.raises(BarrierError, match=r"deadlock .*threads 0 waiting at __syncthreads\(\).*threads 1-31 waiting "
                                           r"at __syncwarp"):
        emu.launch_expression("broken_warp_sync_against_barrier<float>", (1,), (32,), (emu.empty((32,), np.float32),))


def test_a_shuffle_some_lanes_skip_is_an_error(emu):
    x = emu.upload(np.arange(32, dtype=np.float32))
    with pytest.raises(WarpCollectiveError, match=r"__shfl_down_sync .* names lane \d+ .* already exited"):
        emu.launch_expression("broken_divergent_shuffle<float>", (1,), (32,), (x, emu.empty((32,), np.float32)))


def test_a_write_to_a_const_input_faults(emu):
    x = emu.upload(np.arange(32, dtype=np.float32))
    with pytest.raises(MemoryFault, match="read-only device array"):
        emu.launch_expression("broken_writes_const_input<float>", (1,), (32,),
                              (x, emu.empty((32,), np.float32), np.int64(32)))
    np.testing.assert_array_equal(x, np.arange(32, dtype=np.float32))


def test_reading_shared_memory_nobody_wrote_gives_nan(emu):
    y = emu.empty((32,), np.float32)
    emu.launch_expression("broken_reads_unwritten_shared<float>", (1,), (32,),
                          (emu.upload(np.ones(32, np.float32)), y), shared_mem=33 * 4)
    assert np.isnan(y[31]) and (y[:31] == 2).all()


def test_shared_memory_smaller_than_the_kernel_uses_is_caught(emu):
    x = emu.upload(np.ones(1024, np.float32))
    with pytest.raises(MemoryFault, match="dynamic shared memory"):  # writes past the end: canary check
        emu.launch_expression("broken_reads_unwritten_shared<float>", (1,), (32,), (x, emu.empty((32,), np.float32)),
                              shared_mem=120)
    with pytest.raises(MemoryFault, match="out-of-bounds .* dynamic shared memory"):  # past the guard page
        emu.launch_expression("broken_reads_unwritten_shared<float>", (1,), (1024,),
                              (x, emu.empty((1024,), np.float32)), shared_mem=0)


def test_a_python_float_where_the_kernel_takes_an_int64_is_refused(emu):
    x = emu.upload(np.ones(4, np.float32))
    with pytest.raises(KernelArgumentError, match="argument 2 has type float64 but the kernel expects int64"):
        emu.launch_expression("broken_copy_wrong_index<float>", (1,), (32,), (x, emu.empty((4,), np.float32), 4.0))


def test_a_float64_array_where_the_kernel_takes_float32_is_refused(emu):
    x = emu.upload(np.ones(4, np.float64))
    with pytest.raises(KernelArgumentError, match="argument 0 has type float64\\* but the kernel expects float32\\*"):
        emu.launch_expression("broken_copy_wrong_index<float>", (1,), (32,), (x, emu.empty((4,), np.float32), 4))


def test_a_python_float_for_a_float_parameter_is_refused(emu):
    """CuPy would pass 8 bytes of double where the kernel reads a 4-byte float: garbage on a GPU."""
    x = emu.upload(np.ones(40, np.float32))
    with pytest.raises(KernelArgumentError, match="argument 3 has type float64 but the kernel expects float32"):
        emu.launch_expression("sum_all_partial<float>", (1,), (32,), (x, emu.empty((1,), np.float32), 40, 1.0),
                              shared_mem=4)


def test_host_arrays_and_wrong_argument_counts_are_refused(emu):
    with pytest.raises(KernelArgumentError, match="host NumPy array"):
        emu.launch_expression("broken_copy_wrong_index<float>", (1,), (32,),
                              (np.ones(4, np.float32), emu.empty((4,), np.float32), 4))
    with pytest.raises(KernelArgumentError, match="2 arguments given, the kernel takes 3"):
        emu.launch_expression("broken_copy_wrong_index<float>", (1,), (32,),
                              (emu.empty((4,), np.float32), emu.empty((4,), np.float32)))


@pytest.mark.parametrize("grid, block, shared_mem, message", [
    ((0,), (32,), 0, "no dimension may be 0"),
    ((1,), (2048,), 0, "at most 1024"),
    ((1, 70000), (32,), 0, "exceeds"),
    ((1,), (32,), 64 * 1024, "dynamic shared memory"),
])
def test_invalid_launch_configurations_are_refused(emu, grid, block, shared_mem, message):
    x = emu.upload(np.ones(4, np.float32))
    with pytest.raises(LaunchConfigError, match=message):
        emu.launch_expression("broken_copy_wrong_index<float>", grid, block, (x, emu.empty((4,), np.float32), 4),
                              shared_mem=shared_mem)


def test_static_shared_arrays_are_rejected_at_build_time():
    with pytest.raises(build.BuildError, match="only dynamic shared memory"):
        build.check_shared_declarations("bad.cu", "__global__ void k() {\n    __shared__ float tile[32];\n}\n")
    build.check_shared_declarations("ok.cu", "extern __shared__ __align__(16) unsigned char gg_dynamic_shared[];")
