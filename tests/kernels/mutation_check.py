"""Mutation check: plant one bug at a time in a copy of kernels/ and confirm the kernel tests fail.

Not collected by pytest (it takes a few minutes: one emulator build and test run per mutation);
run it by hand after changing the kernels or the emulator:

    .venv/bin/python tests/kernels/mutation_check.py

Each mutation is a plausible mistake, from a missing barrier to an off-by-one; the script prints
CAUGHT or MISSED for each and exits non-zero if any was missed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTS = ["tests/kernels/test_kernels_numerics.py", "tests/kernels/test_kernels_launchers.py",
         "tests/kernels/test_kernels_fused.py"]

MUTATIONS = [  # (file, what it breaks, original text, mutated text)
    ("common.cuh", "block_allreduce: no barrier between writing and reading the warp partials",
     "    if (lane == 0) scratch[warp] = v;\n    __syncthreads();\n    // Every warp",
     "    if (lane == 0) scratch[warp] = v;\n    // Every warp"),
    ("common.cuh", "block_allreduce: no barrier before scratch is reused",
     "    v = warp_allreduce(lane < warps ? scratch[lane] : identity, op);\n    __syncthreads();",
     "    v = warp_allreduce(lane < warps ? scratch[lane] : identity, op);"),
    ("common.cuh", "block_reduce_sum: no barrier between writing and reading the warp partials",
     "    if (lane == 0) scratch[warp] = v;\n    __syncthreads();\n    if (warp == 0)",
     "    if (lane == 0) scratch[warp] = v;\n    if (warp == 0)"),
    ("common.cuh", "block_reduce_sum: no barrier before scratch is reused",
     "    if (warp == 0) v = warp_reduce_sum(lane < warps ? scratch[lane] : T(0));\n    __syncthreads();",
     "    if (warp == 0) v = warp_reduce_sum(lane < warps ? scratch[lane] : T(0));"),
    ("optim_adam.cu", "Adam: second moment uses g instead of g * g",
     "(T(1) - beta2) * g * g", "(T(1) - beta2) * g"),
    ("optim_sgd.cu", "SGD: first-step buffer initialisation inverted",
     "const T buf = first_step ? g : momentum", "const T buf = !first_step ? g : momentum"),
    ("multi_tensor.cuh", "multi-tensor: chunk end one past the tensor",
     "result.end = min_of(numel, result.begin + chunk_size);",
     "result.end = min_of(numel + 1, result.begin + chunk_size);"),
    ("softmax.cu", "softmax backward: the two dot products swapped",
     "dot += kLog ? dy_row[col] : dy_row[col] * y_row[col];", "dot += kLog ? dy_row[col] * y_row[col] : dy_row[col];"),
    ("softmax.cu", "log_softmax: row max not subtracted",
     "y_row[col] = x_row[col] - row_max - log_sum;", "y_row[col] = x_row[col] - log_sum;"),
    ("reduce.cu", "sum_all_partial: grid-stride loop starts one late",
     "static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride",
     "static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x + 1; i < n; i += stride"),
    ("reduce.cu", "sum_last_axis: the result written by a thread that does not hold it",
     "if (threadIdx.x == 0) out[row] = total * scale;", "if (threadIdx.x == 1) out[row] = total * scale;"),
    ("loss_bce.cu", "BCE: the two branches of the stable sigmoid swapped",
     "x >= T(0) ? exp_neg_abs / (T(1) + exp_neg_abs) : T(1) / (T(1) + exp_neg_abs)",
     "x >= T(0) ? T(1) / (T(1) + exp_neg_abs) : exp_neg_abs / (T(1) + exp_neg_abs)"),
    ("loss_mse.cu", "MSE: gradient missing its factor 2",
     "grad[i] = grad_scale * T(2) * diff;", "grad[i] = grad_scale * diff;"),
    # The grid-stride loops of the losses, which only tests with several elements per thread reach
    ("loss_bce.cu", "BCE: the partial sum keeps only a thread's last element",
     "partial += element_loss;", "partial = element_loss;"),
    ("loss_mse.cu", "MSE: the partial sum keeps only a thread's last element",
     "partial += element_loss;", "partial = element_loss;"),
    ("loss_bce.cu", "BCE: the grid-stride loop skips every other pass",
     "i < n; i += stride)", "i < n; i += 2 * stride)"),
    ("loss_mse.cu", "MSE: the grid-stride loop skips every other pass",
     "i < n; i += stride)", "i < n; i += 2 * stride)"),
]


def main() -> int:
    missed = 0
    for source, description, original, mutated in MUTATIONS:
        with tempfile.TemporaryDirectory() as scratch:
            kernels = Path(scratch) / "kernels"
            shutil.copytree(REPO / "kernels", kernels)
            text = (kernels / source).read_text()
            if original not in text:
                print(f"STALE   {source}: {description} (the original text is gone; update the mutation)")
                missed += 1
                continue
            (kernels / source).write_text(text.replace(original, mutated, 1))
            env = {**os.environ, "GPUGRAD_KERNEL_DIR": str(kernels), "GPUGRAD_EMU_CACHE": str(Path(scratch) / "emu")}
            result = subprocess.run([sys.executable, "-m", "pytest", *TESTS, "-q", "-x", "-p", "no:cacheprovider"],
                                    cwd=REPO, env=env, capture_output=True, text=True)
            caught = result.returncode != 0
            missed += not caught
            print(f"{'CAUGHT' if caught else 'MISSED'}  {source}: {description}", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
