"""An emulated CuPy for machines without a GPU: CuPy 14's API and rules, computed on the CPU.

``GPUGRAD_EMULATE_CUDA=1 python -m pytest -m gpu`` runs every gpu-marked test against it
(tests/conftest.py installs it before gpugrad is imported). Its job is to make a test fail
wherever real CuPy would: it exposes only the names in ``cupy_api_snapshot.json`` (taken from
the real package by ``make_snapshot.py``), checks calls against their signatures, refuses
implicit host/device conversions and mixed devices, and runs user kernels for real
(RawModule through the CUDA emulator in tests/kernels/cuda_emu, ElementwiseKernel through
g++). It is not a GPU: no timing, precision or concurrency result from it means anything
about one. See docs/gpu.md.
"""

EMULATION_LABEL = "emulated CuPy (not a GPU)"
