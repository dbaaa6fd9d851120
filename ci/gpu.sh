#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: run what CPU-only CI cannot.
#
#   1. the gpu-marked tests (every kernel and fused op on CuPy against NumPy, every op on cuda vs cpu,
#      .to() round trips, memory stats, OOM handling): pytest -m gpu
#   2. ci/compile_kernels.sh (nvcc and NVRTC compile checks), when nvcc is installed
#   3. the benchmarks, as JSON: python -m gpugrad.bench --json > $OUT_DIR/bench.json (when gpugrad.bench exists),
#      and the static-graph table: python -m gpugrad.graph.bench > $OUT_DIR/graph-bench.txt
#   4. the data-parallel example over NCCL, one rank per GPU (at most 2), when mpi4py is installed
#
# Usage: ci/gpu.sh            Environment: PYTHON (default .venv/bin/python, else python3),
#                             OUT_DIR (default: ./gpu-results)
# Exits 3 when no GPU is usable (with the reason), else with the first failing step's status.
set -euo pipefail
if [[ -n "${GPUGRAD_EMULATE_CUDA:-}" ]]; then
    echo "gpu.sh: refusing to run with GPUGRAD_EMULATE_CUDA set: the emulated CuPy is not a GPU" >&2
    exit 3
fi

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$repo/.venv/bin/python" ]]; then PYTHON="$repo/.venv/bin/python"; else PYTHON=python3; fi
fi
out_dir="${OUT_DIR:-$repo/gpu-results}"
mkdir -p "$out_dir"

if ! "$PYTHON" - <<'PY'
import sys

import gpugrad as gg

if not gg.cuda.is_available():
    print("gpu.sh: no usable GPU:", gg.cuda.unavailable_reason())
    sys.exit(3)
import cupy

if getattr(cupy, "__gpugrad_emulated__", False):  # the test suite's stand-in: its results are not GPU results
    print("gpu.sh: refusing to run on the emulated CuPy (not a GPU); unset GPUGRAD_EMULATE_CUDA")
    sys.exit(3)

print("gpu.sh:", gg.cuda.get_device_name(), "| CuPy", cupy.__version__, "| CUDA runtime",
      cupy.cuda.runtime.runtimeGetVersion())
PY
then
    exit 3
fi

echo "gpu.sh: pytest -m gpu"
"$PYTHON" -m pytest -m gpu -q -rs tests --junitxml="$out_dir/gpu-tests.xml"

if command -v nvcc > /dev/null || [[ -n "${NVCC:-}" ]]; then
    echo "gpu.sh: ci/compile_kernels.sh"
    PYTHON="$PYTHON" bash ci/compile_kernels.sh
fi

has_bench="import importlib.util as u, sys; sys.exit(0 if u.find_spec('gpugrad.bench.__main__') else 1)"
if "$PYTHON" -c "$has_bench" 2> /dev/null; then
    echo "gpu.sh: python -m gpugrad.bench --json > $out_dir/bench.json"
    "$PYTHON" -m gpugrad.bench --json "$out_dir/bench.json"
else
    echo "gpu.sh: benchmarks skipped: gpugrad.bench has no __main__"
fi
echo "gpu.sh: python -m gpugrad.graph.bench > $out_dir/graph-bench.txt (compiled vs eager vs hand-written, CPU and GPU)"
"$PYTHON" -m gpugrad.graph.bench | tee "$out_dir/graph-bench.txt"
has_mpi="import importlib.util as u, sys; sys.exit(0 if u.find_spec('mpi4py') else 1)"
if "$PYTHON" -c "$has_mpi" 2> /dev/null; then
    ranks="$("$PYTHON" -c "import gpugrad as gg; print(min(2, gg.cuda.device_count()))")"
    mpiexec="$(dirname "$PYTHON")/mpiexec"
    [[ -x "$mpiexec" ]] || mpiexec=mpiexec
    echo "gpu.sh: NCCL data-parallel example on $ranks rank(s)"
    "$mpiexec" -n "$ranks" "$PYTHON" -m gpugrad.distributed examples/data_parallel.py --backend nccl --epochs 10 \
        --out "$out_dir/data_parallel"
else
    echo "gpu.sh: NCCL example skipped: mpi4py is not installed (pip install -e '.[distributed]')"
fi
echo "gpu.sh: done; results in $out_dir"
