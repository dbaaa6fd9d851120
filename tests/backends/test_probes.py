"""The backend probes PyTorch scripts make: gg.backends.mps and gg.backends.cudnn exist and say no."""

from __future__ import annotations

import pytest

import gpugrad as gg


def test_mps_is_never_available():
    assert gg.backends.mps.is_available() is False and gg.backends.mps.is_built() is False


def test_cudnn_flags_can_be_set():
    old = gg.backends.cudnn.benchmark
    gg.backends.cudnn.benchmark = True  # what many training scripts do first
    gg.backends.cudnn.benchmark = old
    assert gg.backends.cudnn.is_available() is False and gg.backends.cudnn.deterministic is False


def test_same_answers_as_torch_on_this_machine():
    torch = pytest.importorskip("torch")
    if torch.backends.mps.is_available():
        pytest.skip("an Apple GPU: PyTorch has MPS here, gpugrad never does")
    assert gg.backends.mps.is_available() == torch.backends.mps.is_available()
