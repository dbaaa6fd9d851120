"""One rank of the ``distributed`` suite: times MLP training steps and writes them to OUT/rank<r>.json.

Started by the suite as ``mpiexec -n 2 python -m gpugrad.distributed distributed_worker.py --impl IMPL ...``:

* ``gpugrad``: gg.nn.parallel.DistributedDataParallel over MPI; also times the all-reduces
  (MPI's are blocking, so the time inside them is the communication, waiting for the other rank included).
* ``gpugrad-alone``: the same model without DDP: two independent processes running at the same time,
  the control that scaling efficiency is measured against (same cores, same memory bandwidth).
* ``numpy``: the hand-written NumPy step (``mlp.raw_loss_and_grads``, ``RawAdam``) with one mpi4py
  ``Allreduce`` of all gradients, flattened: the floor for data-parallel training of this MLP.
* ``torch`` / ``torch-alone``: the same with PyTorch, DDP over gloo (rendezvous on 127.0.0.1).

Every rank uses one thread (2 ranks on 2 cores) and its own batch; samples start together after a barrier.
"""

from __future__ import annotations

import argparse
import json
import socket
import time
from pathlib import Path

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad.bench.mlp import LR, RawAdam, _nn_layers, batch, init_params, raw_loss_and_grads, torch_model


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", required=True, choices=list(STEPS))
    parser.add_argument("--sizes", required=True, help="layer sizes, e.g. 784,256,256,10")
    parser.add_argument("--batch", type=int, required=True, help="batch per rank")
    parser.add_argument("--samples", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True, help="steps per sample")
    parser.add_argument("--out", required=True)
    return parser.parse_args()


class CommTimer:
    """Wraps ``gg.distributed.all_reduce_coalesced`` (what DDP calls) and sums the seconds spent in it."""

    def __init__(self):
        self.seconds = 0.0
        self._inner = dist.all_reduce_coalesced
        dist.all_reduce_coalesced = self

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self._inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def gpugrad_step(ddp: bool, sizes, batch_size: int, rank: int):
    layers = _nn_layers("cpu", sizes)
    parts = [m for layer in layers[:-1] for m in (layer, gg.nn.ReLU())] + [layers[-1]]
    model = gg.nn.Sequential(*parts)
    if ddp:
        model = gg.nn.parallel.DistributedDataParallel(model)
    optimizer = gg.optim.Adam(model.parameters(), lr=LR)
    x_np, targets_np, _ = batch(sizes, batch_size, seed=1 + rank)
    step = training_step(model, optimizer, gg.nn.functional.cross_entropy, gg.tensor(x_np), gg.tensor(targets_np))
    step.gradient_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    return step


def training_step(model, optimizer, cross_entropy, x, targets):
    """One step in PyTorch's idiom, for either library; returns the loss."""

    def step():
        optimizer.zero_grad()
        loss = cross_entropy(model(x), targets)
        loss.backward()
        optimizer.step()
        return loss

    return step


def aligned_all_reduce_ms(nbytes: int, repeat: int = 30) -> float:
    """Median ms of one float32 all-reduce of ``nbytes`` with the ranks aligned by a barrier first.

    The in-step communication time also holds the wait for the slower rank; this is the transfer alone.
    """
    buffer = gg.zeros(nbytes // 4)
    times = []
    for _ in range(repeat):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(buffer)
        times.append(time.perf_counter() - start)
    return 1e3 * sorted(times)[repeat // 2]


def torch_step(ddp: bool, sizes, batch_size: int, rank: int):
    import torch

    torch.set_num_threads(1)
    model = torch_model(torch, "cpu", sizes)
    if ddp:
        port = [_free_port() if rank == 0 else None]
        dist.broadcast_object_list(port)
        torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port[0]}", rank=rank,
                                             world_size=dist.get_world_size())
        model = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    x_np, targets_np, _ = batch(sizes, batch_size, seed=1 + rank)
    return training_step(model, optimizer, torch.nn.functional.cross_entropy, torch.from_numpy(x_np),
                         torch.from_numpy(targets_np))


def numpy_step(ddp: bool, sizes, batch_size: int, rank: int):
    """Hand-written forward, backward and Adam; the gradients averaged by one in-place MPI Allreduce."""
    import numpy as np
    from mpi4py import MPI  # already started by init_process_group

    params = init_params(sizes)
    adam = RawAdam(np, params)
    x, _, one_hot = batch(sizes, batch_size, seed=1 + rank)
    flat = np.empty(sum(p.size for p in params), dtype=np.float32)
    offsets = np.cumsum([0] + [p.size for p in params])
    world = MPI.COMM_WORLD

    def step():
        loss, grads = raw_loss_and_grads(np, params, x, one_hot)
        for g, start, end in zip(grads, offsets[:-1], offsets[1:]):
            flat[start:end] = g.reshape(-1)
        world.Allreduce(MPI.IN_PLACE, flat)
        np.multiply(flat, 1.0 / world.Get_size(), out=flat)
        adam.step([flat[start:end].reshape(p.shape) for p, start, end in zip(params, offsets[:-1], offsets[1:])])
        return loss

    return step


STEPS = {  # implementation -> (build(ddp, sizes, batch, rank) -> step, data-parallel?)
    "gpugrad": (gpugrad_step, True), "gpugrad-alone": (gpugrad_step, False), "numpy": (numpy_step, True),
    "torch": (torch_step, True), "torch-alone": (torch_step, False),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    args = parse_args()
    dist.init_process_group("mpi", timeout=300)
    rank = dist.get_rank()
    sizes = tuple(int(s) for s in args.sizes.split(","))
    timer = CommTimer() if args.impl == "gpugrad" else None
    build, data_parallel = STEPS[args.impl]
    step = build(data_parallel, sizes, args.batch, rank)
    for _ in range(max(2, args.steps // 5)):  # warm-up: allocations, caches, first-step work
        step()
    samples, comm = [], []
    for _ in range(args.samples):
        dist.barrier()  # both ranks start each sample together (the control too: they must share the cores)
        spent = timer.seconds if timer else 0.0
        start = time.perf_counter()
        for _ in range(args.steps):
            loss = step()
        samples.append((time.perf_counter() - start) / args.steps)
        comm.append((timer.seconds - spent) / args.steps if timer else None)
    result = {"samples": samples, "comm": comm, "final_loss": float(loss)}
    if timer:
        result["gradient_bytes"] = step.gradient_bytes
        result["aligned_all_reduce_ms"] = aligned_all_reduce_ms(step.gradient_bytes)
    (Path(args.out) / f"rank{rank}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
