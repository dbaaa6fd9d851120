"""Device benchmarks: ``python -m gpugrad.bench [SUITES...] [--device cpu|cuda|all] [--quick] [--json PATH]``.

Prints what the machine is (CPU, BLAS, PyTorch, CuPy, CUDA, each GPU, or
"no GPU" and why), then times gpugrad side by side with hand-written NumPy
(CuPy on a GPU) and PyTorch when installed, on every available device, and
reports medians, spreads and ratios (gpugrad time / baseline time).

Suites:
    tiny         per-op cost on tiny tensors with autograd on
    curvefit     the curve-fit training loop (500 epochs, manual SGD)
    chain        a long scalar chain forward + backward (does backward scale linearly?)
    elementwise  add/mul/exp throughput over sizes (GB/s)
    matmul       square float32 matmul over sizes (GFLOP/s)
    mlp          a 784-256-256-10 MLP training step with Adam
    distributed  that MLP data-parallel on 2 MPI ranks, against 2 independent processes and PyTorch DDP (gloo)
    lenet        a LeNet-5 training step (conv, pool, SGD) on a 64 x 1 x 28 x 28 batch
    eager        issue 13's rows: a 10-op chain, a+b, the curve fit and the MLP step (eager tape cost)

Example:
    >>> from gpugrad.bench import main
    >>> main(["tiny", "--quick", "--json", "tiny.json"])   # doctest: +SKIP
    0
"""

from .cli import SUITES, main, run_suite
from .common import Config
from .report import device_report, format_device_report

__all__ = ["SUITES", "Config", "device_report", "format_device_report", "main", "run_suite"]
