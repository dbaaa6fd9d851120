"""gpugrad: a small, readable tensor engine with PyTorch's autograd semantics, on NumPy or CuPy.

    >>> import gpugrad as gg
    >>> x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> loss = (x * x).sum()
    >>> loss.backward()
    >>> x.grad
    tensor([2., 4., 6.])
"""

from . import autograd, cuda, dtypes
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    Generator, arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, manual_seed, ones,
    normal, ones_like, rand, rand_like, randint, randn, randn_like, randperm, zeros, zeros_like,
)
from .device import Device, device, get_default_device, set_default_device
from .dtypes import (
    bool_ as bool, dtype, float16, float32, float64, get_default_dtype, int8, int16, int32, int64,
    set_default_dtype, uint8,
)
from .ops import *  # noqa: F401,F403 - the functional op set under gg.
from .ops import _METHODS  # noqa: F401 - installs the Tensor methods
from .tensor import Tensor, tensor
from .tensor_types import BoolTensor, DoubleTensor, FloatTensor, IntTensor, LongTensor

from . import linalg, nn, optim, utils  # noqa: E402 - they build on the op set above
from . import profiler, viz  # noqa: E402 - optional layers over the tensor and the tape
from . import graph  # noqa: E402
from .graph import Graph, compile, cond, gradients, placeholder  # noqa: E402,A004 - gg.compile as in torch
from .serialization import load, save  # noqa: E402
from . import distributed, utils  # noqa: E402 - imports no MPI until init_process_group

double, half, long = float64, float16, int64
float = float32  # noqa: A001 - PyTorch's alias

__version__ = "0.1.0"
