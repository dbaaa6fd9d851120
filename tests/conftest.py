"""Shared fixtures: the devices to test on, and the ``gpu`` marker's skip rule.

A test parametrised with the ``device`` fixture runs once per device; the cuda
case is marked ``gpu`` automatically and skips with gg.cuda's reason when no
GPU is usable, so CPU CI reports exactly how many GPU cases it did not run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

EMULATED = os.environ.get("GPUGRAD_EMULATE_CUDA") == "1"
if EMULATED:  # before gpugrad imports CuPy: the emulated one takes its place (see tests/cupy_emulation)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from cupy_emulation import EMULATION_LABEL, install

    install.install()

import gpugrad as gg  # noqa: E402

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


def pytest_configure(config):
    # GPUGRAD_TEST_CUDA_INDEX=1 runs the cuda cases on cuda:1 while CuPy's current device stays 0, so
    # any array made without entering its tensor's device lands on the wrong one and fails the test
    index = os.environ.get("GPUGRAD_TEST_CUDA_INDEX")
    if index and gg.cuda.is_available():
        gg.cuda.set_device(int(index))


def pytest_report_header(config):
    if EMULATED:
        return [f"CUDA: {EMULATION_LABEL}, 2 emulated devices; GPU results here are emulated, not measured on a GPU"]
    return None


def pytest_collection_modifyitems(config, items):
    if gg.cuda.is_available():
        return
    skip = pytest.mark.skip(reason=f"no usable CUDA device: {gg.cuda.unavailable_reason()}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=DEVICES)
def device(request):
    """Each test using this fixture runs on the CPU and (when present) the GPU."""
    return gg.device(request.param)


@pytest.fixture(autouse=True)
def _seed():
    gg.manual_seed(0)
    yield
