"""The tutorial scripts run with ``import gpugrad as torch``, and, when PyTorch is installed, agree with it.

Each script is run as written, then with every ``gpugrad`` in its source
replaced by ``torch`` (what a PyTorch user's script is): the same code,
two libraries.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent


def load(name: str, library: str = "gpugrad") -> types.ModuleType:
    """The tutorial ``name`` as a fresh module, its source switched to ``library``."""
    source = (HERE / f"{name}.py").read_text()
    if library != "gpugrad":
        source = source.replace("gpugrad", library)
    module = types.ModuleType(f"{name}_{library}")
    exec(compile(source, str(HERE / f"{name}.py"), "exec"), module.__dict__)  # noqa: S102 - our own test scripts
    return module


def test_the_scripts_import_only_gpugrad():
    for name in ("lenet_step", "dataloader_loop"):
        source = (HERE / f"{name}.py").read_text()
        assert "\nimport gpugrad as torch\n" in source and "\nimport torch" not in source


def test_lenet_step_learns(capsys):
    result = load("lenet_step").main()
    losses = result["losses"]
    assert losses[-1] < losses[0] and all(np.isfinite(losses))
    assert "step 4: loss" in capsys.readouterr().out


def test_lenet_step_matches_pytorch():
    pytest.importorskip("torch")
    ours, theirs = load("lenet_step").main(), load("lenet_step", "torch").main()
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-4)
    np.testing.assert_allclose(ours["conv1.weight"], theirs["conv1.weight"], rtol=1e-3, atol=1e-5)
    assert repr(ours["net"]) == repr(theirs["net"])


def test_dataloader_loop_learns(capsys):
    result = load("dataloader_loop").main()
    assert result["accuracy"] > 0.85  # chance is 50 %
    assert result["sizes"] == (400, 100) and result["batches"] == (13, 2)
    assert result["seen"] == 15 * 400 and result["last_batch"] == 100 - 64  # the test loader's short batch
    assert "epoch 14: loss" in capsys.readouterr().out


def test_dataloader_loop_matches_pytorch_where_the_random_streams_do_not_matter():
    pytest.importorskip("torch")
    ours, theirs = load("dataloader_loop").main(), load("dataloader_loop", "torch").main()
    for key in ("sizes", "batches", "seen", "last_batch"):
        assert ours[key] == theirs[key], key
    assert theirs["accuracy"] > 0.85 and ours["accuracy"] > 0.85  # shuffles differ: both learn, not bit for bit
