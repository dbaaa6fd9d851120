"""Tutorial-style scripts written for PyTorch run unchanged with ``import gpugrad as torch``.

Each script is run as it is (gpugrad), and, when PyTorch is installed, once more with its import
line changed to ``import torch``; the numbers must agree.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCRIPTS = {"custom_function": ("losses", "result"), "sgd_through_data": ("losses", "norms")}


def run_script(name: str, library: str) -> dict:
    """Run tests/tutorials/<name>.py with its ``import gpugrad as torch`` bound to ``library``."""
    source = (HERE / f"{name}.py").read_text()
    assert "import gpugrad as torch\n" in source
    if library == "torch":
        source = source.replace("import gpugrad as torch\n", "import torch\n")
    namespace: dict = {"__name__": "__main__"}
    exec(compile(source, str(HERE / f"{name}.py"), "exec"), namespace)
    return namespace


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_runs_with_gpugrad_and_learns(name, capsys):
    ns = run_script(name, "gpugrad")
    assert ns["losses"][-1] < ns["losses"][0]
    assert all(math.isfinite(v) for v in ns["losses"])
    assert capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_same_numbers_as_torch(name):
    pytest.importorskip("torch")
    ours, theirs = run_script(name, "gpugrad"), run_script(name, "torch")
    for key in SCRIPTS[name]:
        assert ours[key] == pytest.approx(theirs[key], rel=1e-9, abs=1e-12), key
