#!/usr/bin/env bash
# Compile every kernels/*.cu without a GPU and fail on anything suspicious.
#
# 1. nvcc, for sm_80 and sm_90, every catalog instantiation (float and double) through a generated
#    translation unit; all warnings are errors (nvcc, the host compiler, ptxas) and any register
#    spill or local-memory use fails the build (ptxas -v output is also parsed for "bytes spill").
# 2. NVRTC (what the CuPy backend really uses), with the backend's options, when a Python with CuPy
#    is at hand ($NVRTC_PYTHON, else $PYTHON): via CuPy's raw NVRTC bindings, since CuPy's public
#    compile calls ask for the current GPU even when given an architecture.
#
# Usage: ci/compile_kernels.sh [name.cu ...]   (default: every kernels/*.cu; exits non-zero on failure)
# Environment: NVCC (default: nvcc on PATH), PYTHON (default: .venv/bin/python, else python3),
#              NVRTC_PYTHON, JOBS (parallel nvcc runs; default: number of cores),
#              KERNELS_DIR (default: the repository's kernels/), NVCC_EXTRA_FLAGS (appended to nvcc's
#              flags; the tests use -maxrregcount to prove that a spill fails the build),
#              STANDALONE=1: the sources are complete kernels with no catalog (the ones gg.compile
#              generates for fused regions): compiled as they are, and the NVRTC step is skipped.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kernels="${KERNELS_DIR:-$repo/kernels}"
export GPUGRAD_KERNEL_DIR="$kernels"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$repo/.venv/bin/python" ]]; then PYTHON="$repo/.venv/bin/python"; else PYTHON=python3; fi
fi
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
status=0

nvcc_bin="${NVCC:-$(command -v nvcc || true)}"
if [[ -z "$nvcc_bin" ]]; then
    echo "compile_kernels: nvcc step skipped: nvcc not found" \
         "(pip install nvidia-cuda-nvcc-cu12, or put CUDA's bin/ on PATH, or set NVCC)"
else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    flags=(-std=c++17 -I "$kernels"
           -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90
           -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror
           -Xptxas -v,-warn-spills,-warn-lmem-usage,-Werror)
    # shellcheck disable=SC2206  # word splitting of the extra flags is wanted
    flags+=(${NVCC_EXTRA_FLAGS:-})
    sources=()
    if (( $# )); then for name in "$@"; do sources+=("$kernels/$name"); done; else sources=("$kernels"/*.cu); fi
    pids=()
    names=()
    for path in "${sources[@]}"; do
        name="$(basename "$path" .cu)"
        generate="import sys; from gpugrad.backends.kernels import instantiation_unit as unit; print(unit(sys.argv[1]))"
        if [[ -n "${STANDALONE:-}" ]]; then
            cp "$path" "$work/$name.inst.cu"
        elif ! "$PYTHON" -c "$generate" "$name.cu" > "$work/$name.inst.cu" 2> "$work/$name.log"; then
            echo "compile_kernels: FAILED to generate the instantiations of kernels/$name.cu:"
            cat "$work/$name.log"
            status=1
            continue
        fi
        "$nvcc_bin" "${flags[@]}" -c "$work/$name.inst.cu" -o "$work/$name.o" > "$work/$name.log" 2>&1 &
        pids+=($!)
        names+=("$name")
        while (( $(jobs -rp | wc -l) >= ${JOBS:-$(nproc)} )); do wait -n || true; done
    done
    for i in "${!pids[@]}"; do
        name="${names[$i]}"
        if ! wait "${pids[$i]}"; then
            echo "compile_kernels: FAILED: kernels/$name.cu:"
            grep -v "^ptxas info" "$work/$name.log" || true
            status=1
            continue
        fi
        spills="$(grep -E "[1-9][0-9]* bytes spill (stores|loads)" "$work/$name.log" || true)"
        if [[ -n "$spills" ]]; then
            echo "compile_kernels: FAILED: register spills in kernels/$name.cu:"; echo "$spills"; status=1; continue
        fi
        registers="$(grep -oE "Used [0-9]+ registers" "$work/$name.log" | awk '{print $2}' | sort -n | tail -1)"
        echo "compile_kernels: ok: kernels/$name.cu (sm_80, sm_90; at most ${registers:-?} registers, no spills)"
    done
fi

nvrtc_python="${NVRTC_PYTHON:-$PYTHON}"
# CuPy imports without the NVRTC library (pip nvidia-cuda-nvrtc); probe that the library really loads
if [[ -n "${STANDALONE:-}" ]]; then
    echo "compile_kernels: NVRTC step skipped: STANDALONE sources have no catalog"
elif "$nvrtc_python" -c "from cupy.cuda import nvrtc; nvrtc.getVersion()" > /dev/null 2>&1; then
    if "$nvrtc_python" - "$@" <<'PY'
import sys
from gpugrad.backends.kernels import compile_with_nvrtc, source_files
logs = compile_with_nvrtc(("80", "90"), sys.argv[1:] or None)
for name, log in logs.items():
    print(f"compile_kernels: NVRTC warnings in {name}:\n{log}")
if logs:
    sys.exit(1)
count = len(sys.argv[1:] or source_files())
print(f"compile_kernels: ok: NVRTC compiled {count} sources for sm_80 and sm_90, float and double, no warnings")
PY
    then :; else echo "compile_kernels: FAILED: NVRTC"; status=1; fi
else
    echo "compile_kernels: NVRTC step skipped: no CuPy with a loadable NVRTC in $nvrtc_python" \
         "(pip install cupy-cuda13x nvidia-cuda-nvrtc, or set NVRTC_PYTHON)"
fi

exit $status
