"""Tensors land on the CUDA device they name, and running out of device memory is retried then explained.

CuPy allocates on its *current* device, whatever tensor is being made: these tests make
``cuda:1`` tensors while device 0 is current and check where the memory really is
(``t.array.device.id``). They need two devices: a machine with two GPUs, or the emulated
CuPy (which has two, without peer access).
"""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backends.memory import OutOfMemoryError

pytestmark = pytest.mark.gpu

FACTORIES = {  # name -> (make on device d, the dtype PyTorch gives)
    "zeros": lambda d: gg.zeros(2, 3, device=d),
    "ones": lambda d: gg.ones(3, device=d),
    "empty": lambda d: gg.empty(3, device=d),
    "full": lambda d: gg.full((2,), 1.5, device=d),
    "eye": lambda d: gg.eye(3, device=d),
    "arange": lambda d: gg.arange(5, device=d),
    "linspace": lambda d: gg.linspace(0, 1, 5, device=d),
    "rand": lambda d: gg.rand(4, device=d),
    "randn": lambda d: gg.randn(4, device=d),
    "randint": lambda d: gg.randint(0, 5, (4,), device=d),
    "randperm": lambda d: gg.randperm(6, device=d),
    "tensor(list)": lambda d: gg.tensor([1.0, 2.0], device=d),
    "tensor(list, dtype)": lambda d: gg.tensor([1, 2], dtype=gg.float64, device=d),
    "tensor(numpy)": lambda d: gg.tensor(np.arange(3.0), device=d),
    "tensor(numpy, dtype)": lambda d: gg.tensor(np.arange(3), dtype=gg.float32, device=d),
    "to": lambda d: gg.arange(3.0).to(d),
    "to(dtype)": lambda d: gg.arange(3.0).to(d, gg.float64),
    "to from cuda:0": lambda d: gg.arange(3.0, device="cuda:0").to(d),
}


def _second_device():
    if gg.cuda.device_count() < 2:
        pytest.skip("needs two CUDA devices (a two-GPU machine, or the emulated CuPy)")
    return "cuda:1"


@pytest.mark.parametrize("make", FACTORIES.values(), ids=FACTORIES.keys())
def test_factories_and_moves_put_the_memory_on_the_named_device(make):
    device = _second_device()
    t = make(device)
    assert t.device == device
    assert t.array.device.id == 1, "the tensor says cuda:1 but its memory is on another device"


@pytest.mark.parametrize("make", FACTORIES.values(), ids=FACTORIES.keys())
def test_factories_and_moves_give_the_same_values_and_dtype_as_on_the_cpu(make):
    gg.manual_seed(0)
    on_cpu = make("cpu")
    on_gpu = make("cuda")
    assert on_gpu.dtype == on_cpu.dtype and on_gpu.array.dtype == on_cpu.array.dtype
    if not any(word in make.__code__.co_names for word in ("rand", "randn", "randint", "randperm", "empty")):
        np.testing.assert_array_equal(on_gpu.cpu().numpy(), on_cpu.numpy())


def test_ops_and_backward_on_the_second_device_stay_there():
    device = _second_device()
    x = gg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    loss = ((x * 2).sin() + x.exp()).sum()
    loss.backward()
    assert x.grad.array.device.id == 1 and loss.array.device.id == 1
    expected = 2 * np.cos(2 * np.arange(1.0, 4.0)) + np.exp(np.arange(1.0, 4.0))
    np.testing.assert_allclose(x.grad.cpu().numpy(), expected, rtol=1e-6)


def test_randperm_on_the_gpu_is_a_permutation():
    p = gg.randperm(50, device="cuda").cpu().numpy()
    assert sorted(p.tolist()) == list(range(50))


def test_out_of_memory_under_a_pool_limit_frees_the_cache_retries_and_explains():
    device = gg.device("cuda")
    pool = device.xp.get_default_memory_pool()
    x = gg.ones(1, device="cuda")
    with device.activate():  # the pool's numbers and limit are those of CuPy's current device
        _fill_past_a_limit(pool, x, device)
    assert (x + 1).item() == 2.0


def _fill_past_a_limit(pool, x, device):
    pool.free_all_blocks()
    try:
        pool.set_limit(size=pool.total_bytes() + 2**20)  # 1 MiB more than what is held now
        held = gg.ones(2**17, device="cuda")  # 512 KiB of float32
        del held  # cached by the pool: freed again when a new allocation needs the room
        gg.ones(2**17, device="cuda")
        with pytest.raises(OutOfMemoryError, match=rf"CUDA out of memory in .* on {device} .*Try a smaller batch"):
            gg.expand(x, 2**20).contiguous()  # 4 MiB
    finally:
        pool.set_limit(size=0)


def test_backward_from_a_cpu_loss_runs_each_node_on_its_own_device():
    device = _second_device()
    x = gg.tensor([1.0, 2.0], device=device, requires_grad=True)
    loss = ((x * 3).exp() * 2).cpu().sum()  # the root is on the CPU, the graph below it on cuda:1
    loss.backward()
    assert x.grad.array.device.id == 1
    np.testing.assert_allclose(x.grad.cpu().numpy(), 6 * np.exp(3 * np.array([1.0, 2.0])), rtol=1e-6)
