"""new_* factories, reshape_as, type(), nelement, ndimension, is_contiguous, get_device, data_ptr,
gg.is_tensor / numel / is_floating_point / clip."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backends import to_host


def _host(t):
    return np.asarray(to_host(t.array))


def test_new_factories_keep_dtype_and_device(device):
    x = gg.ones(2, dtype=gg.float64, device=device)
    for made in (x.new_zeros(2, 3), x.new_ones((2, 3)), x.new_empty(2, 3), x.new_full((2, 3), 7)):
        assert made.shape == (2, 3) and made.dtype == gg.float64 and made.device == x.device
    assert _host(x.new_full((2,), 7)).tolist() == [7.0, 7.0] and _host(x.new_zeros(1)).tolist() == [0.0]
    assert x.new_zeros(2, dtype=gg.int64).dtype == gg.int64
    assert x.new_ones(1, requires_grad=True).requires_grad
    copy = x.new_tensor([1, 2])
    assert copy.dtype == gg.float64 and copy.device == x.device and _host(copy).tolist() == [1.0, 2.0]
    source = gg.ones(2, device=device, requires_grad=True)
    assert not x.new_tensor(source).requires_grad


def test_shape_and_storage_queries(device):
    x = gg.zeros(2, 3, device=device)
    assert x.reshape_as(gg.zeros(3, 2)).shape == (3, 2)
    assert x.nelement() == 6 and x.ndimension() == 2 and gg.numel(x) == 6
    assert x.is_contiguous() and not x.t().is_contiguous() and x.t().contiguous().is_contiguous()
    assert x.get_device() == (-1 if device.type == "cpu" else device.index)
    assert isinstance(x.data_ptr(), int) and x.data_ptr() != 0
    assert x[1].data_ptr() == x.data_ptr() + 3 * 4  # a view starts inside its base


def test_type_names_and_casts(device):
    x = gg.ones(2, device=device)
    prefix = "torch." if device.type == "cpu" else "torch.cuda."
    assert x.type() == prefix + "FloatTensor" and x.long().type() == prefix + "LongTensor"
    assert x.type(gg.int64).dtype == gg.int64 and x.type("torch.DoubleTensor").dtype == gg.float64
    assert x.type("torch.DoubleTensor").device.type == "cpu"
    with pytest.raises(ValueError, match="invalid type"):
        x.type("torch.NoSuchTensor")


def test_module_level_helpers():
    assert gg.is_tensor(gg.ones(1)) and not gg.is_tensor([1.0]) and gg.is_tensor(gg.nn.Parameter(gg.ones(1)))
    assert gg.is_floating_point(gg.ones(1)) and not gg.is_floating_point(gg.ones(1, dtype=gg.int64))
    assert gg.clip(gg.tensor([-2.0, 2.0]), -1, 1).tolist() == [-1.0, 1.0]


def test_where_method(device):
    x = gg.tensor([1.0, -2.0], device=device)
    assert _host(x.where(x > 0, 0.0)).tolist() == [1.0, 0.0]
    assert _host(x.where(x > 0, gg.tensor([5.0, 6.0], device=device))).tolist() == [1.0, 6.0]


def test_torch_parity():
    torch = pytest.importorskip("torch")
    for dtype, torch_dtype in [(gg.float32, torch.float32), (gg.int64, torch.int64), (gg.bool, torch.bool),
                               (gg.uint8, torch.uint8), (gg.float64, torch.float64)]:
        assert gg.zeros(1, dtype=dtype).type() == torch.zeros(1, dtype=torch_dtype).type()
    t, g = torch.zeros(2, 3), gg.zeros(2, 3)
    assert (g.nelement(), g.ndimension(), g.t().is_contiguous()) == (t.nelement(), t.ndimension(),
                                                                      t.t().is_contiguous())
    assert g.get_device() == t.get_device()


def test_nbytes_and_itemsize(device):
    x = gg.zeros(2, 3, dtype=gg.float64, device=device)
    assert (x.nbytes, x.itemsize) == (48, 8) and gg.zeros(4, dtype=gg.int8, device=device).nbytes == 4
