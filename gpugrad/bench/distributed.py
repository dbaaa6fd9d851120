"""Suite ``distributed``: the 784-256-256-10 MLP (Adam, float32) trained data-parallel on 2 MPI ranks.

Rows, each from one ``mpiexec -n 2`` job (every rank one thread, batch 256 per rank):

* ``gpugrad``: gg.nn.parallel.DistributedDataParallel over MPI.
* ``gpugrad-alone``: the control: the same model in two independent processes started together,
  no communication. ``gpugrad-alone / gpugrad`` is the scaling efficiency (1.0: communication is free).
* ``numpy``: hand-written NumPy forward, backward and Adam with one mpi4py Allreduce: the floor.
* ``torch``, ``torch-alone``: the same with PyTorch's DDP over gloo, and its control.

A sample is the mean step time over a run of steps, the slower rank's; the
samples are taken inside the job (``distributed_worker.py``) and the table
reports their median. The ``comm ms`` column is the time gpugrad's ranks spent
in all-reduce per step (blocking MPI calls, so waiting for the other rank counts).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ..distributed import launch
from .common import Config, Suite
from .mlp import BATCH, SIZES, TEST_BATCH, TEST_SIZES
from .timing import Case, Impl, ImplSpec

IMPLS = ("gpugrad", "gpugrad-alone", "numpy", "torch", "torch-alone")
RANKS = 2
WORKER = Path(__file__).with_name("distributed_worker.py")
GOALS = {"comm_ms": 0.5, "efficiency": 0.8}


def run_job(impl: str, sizes, batch_size: int, samples: int, steps: int, timeout: float = 600) -> list:
    """Run the worker for ``impl`` on RANKS ranks; returns each rank's JSON, or raises with the job's stderr."""
    with tempfile.TemporaryDirectory() as out:
        args = ["--impl", impl, "--sizes", ",".join(map(str, sizes)), "--batch", batch_size, "--samples", samples,
                "--steps", steps, "--out", out]
        # one thread per rank: 2 ranks on a 2-core machine; more would make them fight over cores
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
        done = launch.run_job(WORKER, args, ranks=RANKS, timeout=timeout, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"{impl} job failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        return [json.loads((Path(out) / f"rank{r}.json").read_text()) for r in range(RANKS)]


def build(impl: str, sizes, batch_size: int, samples: int, steps: int) -> Impl:
    """Run the job now; the Impl hands its samples to the timing loop one by one (``self_timed``)."""
    ranks = run_job(impl, sizes, batch_size, samples + 1, steps)  # +1: the runner's warm-up call takes one
    slowest = [max(per_rank) for per_rank in zip(*(r["samples"] for r in ranks))]
    queue = iter(slowest)

    def step():
        return next(queue)

    def result():
        found = {"final_loss": [r["final_loss"] for r in ranks]}
        if ranks[0]["comm"][0] is not None:
            comm = sorted(sum(per_rank) / RANKS for per_rank in zip(*(r["comm"] for r in ranks)))
            found["comm_ms"] = 1e3 * comm[len(comm) // 2]
            found["aligned_all_reduce_ms"] = max(r["aligned_all_reduce_ms"] for r in ranks)
            found["gradient_bytes"] = ranks[0]["gradient_bytes"]
        return found

    return Impl(step=step, self_timed=True, result=result, note=f"{RANKS} ranks, {steps} steps per sample")


def cases(config: Config, devices, libs) -> list:
    if "cpu" not in devices:
        return []
    sizes, size = config.pick((SIZES, BATCH), (SIZES, BATCH), (TEST_SIZES, TEST_BATCH))
    steps = config.pick(50, 20, 2)
    samples = config.repeats(9, 5)
    name = "-".join(map(str, sizes)) + f", batch {size}/rank, {RANKS} ranks, Adam step"
    impls = [i for i in IMPLS if libs.torch is not None or not i.startswith("torch")]
    specs = [ImplSpec(impl, "cpu", lambda impl=impl: build(impl, sizes, size, samples, steps)) for impl in impls]
    return [Case("distributed", name, size, specs, number=1, interleave=False)]


def comm_ms(m):
    return (m.result or {}).get("comm_ms")


def summarize(measurements, config) -> list:
    """Issue 14's goals: communication <= 0.5 ms/step, efficiency >= 0.8, step time no worse than PyTorch DDP."""
    rows = {m.impl: m for m in measurements if m.ok}
    lines = []
    for library in ("gpugrad", "torch"):
        ddp, alone = rows.get(library), rows.get(f"{library}-alone")
        if ddp and alone:
            efficiency = alone.median / ddp.median
            line = f"scaling efficiency {library} (alone / DDP): {efficiency:.2f}"
            if library == "gpugrad":
                line += f" (goal >= {GOALS['efficiency']}: {_verdict(efficiency >= GOALS['efficiency'])})"
            lines.append(line)
    if "gpugrad" in rows and comm_ms(rows["gpugrad"]) is not None:
        found = rows["gpugrad"].result
        value, aligned = found["comm_ms"], found["aligned_all_reduce_ms"]
        lines.append(f"gpugrad communication per step: {value:.3f} ms in the step (waiting for the slower rank too); "
                     f"{aligned:.3f} ms for one all-reduce of {found['gradient_bytes'] / 1e6:.2f} MB with the ranks "
                     f"aligned (goal <= {GOALS['comm_ms']} ms: {_verdict(value <= GOALS['comm_ms'])} in the step, "
                     f"{_verdict(aligned <= GOALS['comm_ms'])} aligned)")
    if "gpugrad" in rows and "torch" in rows:
        ratio = rows["gpugrad"].median / rows["torch"].median
        lines.append(f"gpugrad DDP step / PyTorch DDP (gloo) step: {ratio:.2f}x (goal <= 1: {_verdict(ratio <= 1)})")
    return lines


def _verdict(ok: bool) -> str:
    return "met" if ok else "not met"


SUITE = Suite(
    name="distributed",
    title="data-parallel MLP training step on 2 MPI ranks (DDP vs two independent processes), float32",
    cases=cases,
    repeat=lambda config: config.repeats(9, 5),
    unit="per step",
    metric=("comm ms", comm_ms),
    summarize=summarize,
)
