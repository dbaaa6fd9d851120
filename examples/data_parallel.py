"""Train the spiral classifier data-parallel: each rank takes its shard of every epoch, DDP averages gradients.

    pip install 'gpugrad[distributed]'                                    # mpi4py + MPICH, no root needed
    mpiexec -n 2 python -m gpugrad.distributed examples/data_parallel.py  # 2 processes
    python examples/data_parallel.py                                      # 1 process: the same code, world size 1

Every rank builds the same model (DistributedDataParallel copies rank 0's
weights to the others), draws its own shard of each epoch from a
DistributedSampler, and steps with gradients averaged over all ranks, so the
replicas stay identical. Rank 0 logs and writes the checkpoint; every rank
loads it back onto its own device and checks it holds the trained weights.
With 2 ranks on a 2-core CPU the defaults reach about 99 % accuracy in a few seconds.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad.nn.parallel import DistributedDataParallel
from gpugrad.utils.data.distributed import DistributedSampler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlp_classifier import make_spirals  # noqa: E402 - the same data as the single-process example

log = logging.getLogger("data_parallel")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=None, help="mpi, nccl, or nothing: nccl with a GPU, else mpi")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=32, help="per rank: the global batch is this times the ranks")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out/data_parallel", help="directory for the checkpoint")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    dist.init_process_group(args.backend)
    try:
        return train(args)
    finally:
        dist.destroy_process_group()


def train(args) -> dict:
    rank, world, device = dist.get_rank(), dist.get_world_size(), dist.get_device()
    x, y = make_spirals(args.points, classes=2, seed=args.seed)
    gg.manual_seed(args.seed + rank)  # different on purpose: DDP starts every rank from rank 0's weights
    model = gg.nn.Sequential(
        gg.nn.Linear(2, args.hidden), gg.nn.ReLU(), gg.nn.Linear(args.hidden, args.hidden), gg.nn.ReLU(),
        gg.nn.Linear(args.hidden, 2),
    ).to(device)
    ddp = DistributedDataParallel(model)
    optimizer = gg.optim.Adam(ddp.parameters(), lr=args.lr)
    sampler = DistributedSampler(range(len(y)), shuffle=True, seed=args.seed)
    losses = []
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        shard = np.fromiter(sampler, dtype=np.int64)
        epoch_loss = gg.zeros(1, device=device)
        for start in range(0, len(shard), args.batch_size):  # the same number of batches on every rank
            batch = shard[start:start + args.batch_size]
            optimizer.zero_grad()
            loss = gg.nn.functional.cross_entropy(ddp(gg.tensor(x[batch], device=device)),
                                                  gg.tensor(y[batch], device=device))
            loss.backward()
            optimizer.step()
            epoch_loss += loss.detach()
        dist.all_reduce(epoch_loss, op=dist.ReduceOp.AVG)  # the mean over ranks, for the log
        losses.append(epoch_loss.item() / -(-len(shard) // args.batch_size))
        if rank == 0 and (epoch % 10 == 0 or epoch == args.epochs - 1):
            log.info("epoch %d: loss %.4f", epoch, losses[-1])
    with gg.no_grad():
        accuracy = (model(gg.tensor(x, device=device)).argmax(dim=1).cpu().numpy() == y).mean()
    checkpoint = Path(args.out) / "data_parallel.ckpt"
    if rank == 0:
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
    dist.save_on_rank0({"model": ddp.state_dict(), "optimizer": optimizer.state_dict()}, checkpoint)
    state = dist.load_on_each_rank(checkpoint)
    reloaded = all(np.array_equal(state["model"][name].cpu().numpy(), t.cpu().numpy())
                   for name, t in ddp.state_dict().items())
    log.info("accuracy %.3f on all %d points; %d ranks; checkpoint %s reloaded identically: %s",
             accuracy, len(y), world, checkpoint, reloaded)
    return {"losses": losses, "accuracy": float(accuracy), "reloaded": reloaded, "world": world}


if __name__ == "__main__":
    main()
