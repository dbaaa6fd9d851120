"""gg.cuda and the CuPy backend: clean absence on CPU machines, real checks where a GPU exists.

The gpu-marked tests need a usable CUDA device and skip with gg.cuda's reason
otherwise; nothing here fakes a GPU.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backends import transfers
from gpugrad.backends.memory import OutOfMemoryError

needs_no_gpu = pytest.mark.skipif(gg.cuda.is_available(), reason="a GPU is present")


@needs_no_gpu
def test_without_a_gpu_everything_says_why_and_nothing_crashes():
    assert gg.cuda.is_available() is False and gg.cuda.device_count() == 0
    reason = gg.cuda.unavailable_reason()
    assert reason and ("pip install" in reason or "driver" in reason or "GPUGRAD_DISABLE_CUDA" in reason)
    assert gg.device("auto") is gg.device("cpu")
    for call in (gg.cuda.current_device, gg.cuda.memory_allocated, gg.cuda.synchronize, gg.cuda.empty_cache):
        with pytest.raises(RuntimeError, match="no usable CUDA device"):
            call()
    with pytest.raises(RuntimeError, match=r"cannot use device 'cuda:0'"):
        gg.zeros(2, device="cuda")
    assert gg.cuda.nvml_info() is None or isinstance(gg.cuda.nvml_info(), dict)


@pytest.mark.gpu
def test_round_trips_keep_values_and_gradients_flow_back_across_the_move():
    host = gg.randn(4, 3, dtype=gg.float64, requires_grad=True)
    before = dict(transfers.counts)
    on_gpu = host.to("cuda")
    assert on_gpu.device == gg.device("cuda") and on_gpu.grad_fn.name() == "ToCopyBackward0"
    back = (on_gpu * on_gpu).sum().cpu()
    back.backward()
    np.testing.assert_allclose(host.grad.numpy(), 2 * host.detach().numpy(), rtol=1e-12)
    assert transfers.counts["h2d"] > before["h2d"] and transfers.counts["d2h"] > before["d2h"]
    assert on_gpu.to("cuda") is on_gpu and host.to("cpu") is host


@pytest.mark.gpu
def test_mixing_devices_is_an_error_naming_both_and_the_fix():
    with pytest.raises(RuntimeError, match=rf"cpu and {gg.device('cuda')}.*\.to\("):
        gg.ones(2) + gg.ones(2, device="cuda")


@pytest.mark.gpu
def test_memory_stats_follow_allocations():
    gg.cuda.empty_cache()
    gg.cuda.reset_peak_memory_stats()
    start = gg.cuda.memory_allocated()
    big = gg.zeros(1 << 20, dtype=gg.float32, device="cuda")  # 4 MiB
    assert gg.cuda.memory_allocated() >= start + 4 * 2**20
    assert gg.cuda.max_memory_allocated() >= gg.cuda.memory_allocated()
    assert gg.cuda.memory_reserved() >= gg.cuda.memory_allocated()
    free, total = gg.cuda.mem_get_info()
    assert 0 < free <= total
    del big
    gg.cuda.empty_cache()
    assert gg.cuda.memory_allocated() <= start
    props = gg.cuda.get_device_properties()
    assert props["total_memory"] == total and gg.cuda.get_device_name() == props["name"]


@pytest.mark.gpu
def test_out_of_memory_is_retried_then_reported_with_numbers_and_advice():
    _, total = gg.cuda.mem_get_info()
    x = gg.ones(1, device="cuda")
    too_big = int(total // 4 * 8)  # elements of float32: twice the device's memory
    with pytest.raises(OutOfMemoryError, match=r"CUDA out of memory in .*In use by tensors: .*Try a smaller batch"):
        gg.expand(x, too_big).contiguous()
    assert (x + 1).item() == 2.0  # the device still works afterwards


@needs_no_gpu
def test_a_cuda_device_can_be_built_and_inspected_without_a_gpu():
    d = gg.device("cuda")
    assert (d.type, d.index, str(d)) == ("cuda", 0, "cuda:0") and repr(d) == "device(type='cuda', index=0)"
    assert d == "cuda:0" and d == gg.device("cuda:0") and gg.device("cuda", 1).index == 1 and d != "cpu"
    assert gg.device(gg.device("cuda:2")).index == 2 and hash(d) == hash(gg.device("cuda:0"))
    for allocate in (lambda: gg.zeros(2, device=d), lambda: gg.ones(2).to(d), lambda: gg.ones(2).cuda(),
                     lambda: gg.tensor([1.0], device=d), lambda: gg.set_default_device(d)):
        with pytest.raises(RuntimeError, match=r"cannot use device 'cuda:0': .*"):
            allocate()
    assert gg.get_default_device() is gg.device("cpu")
