"""Fixtures for the kernel tests: launch backends to run every kernel on.

``backend`` runs a test three ways: in the CPU emulator with the forward and with the reverse
thread schedule, and on a real GPU through CuPy (marked ``gpu``; it skips without one). The test
bodies are the same, so the GPU checks are exactly the emulated ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The harness is a package next to this file; make it importable whatever pytest's rootdir and import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cuda_emu import build  # noqa: E402
from cuda_emu.backend import EmulatorBackend, EmulatorLibrary  # noqa: E402

BACKENDS = ["emu-forward", "emu-reverse", pytest.param("cupy", marks=pytest.mark.gpu)]


@pytest.fixture(scope="session")
def emulator_library():
    """The emulator library, built once per session (and cached on disk between sessions)."""
    if build.compiler() is None:
        pytest.skip("the CUDA emulator needs a C++20 compiler and none was found (apt-get install g++, or set $CXX)")
    return EmulatorLibrary(build.build())


@pytest.fixture(params=["forward", "reverse"])
def emu(request, emulator_library):
    """The emulator backend, once per thread schedule."""
    return EmulatorBackend(emulator_library, request.param)


@pytest.fixture(params=BACKENDS)
def backend(request):
    """A launch backend: the emulator (both schedules) or, where a GPU is usable, CuPy."""
    if request.param == "cupy":
        from gpugrad.backends import kernels

        return kernels.cupy_backend()
    return EmulatorBackend(request.getfixturevalue("emulator_library"), request.param.removeprefix("emu-"))
