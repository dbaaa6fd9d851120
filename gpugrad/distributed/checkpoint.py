"""Checkpoints in data-parallel training: written once by rank 0, read by every rank onto its own device.

    >>> dist.save_on_rank0({"model": ddp.state_dict(), "optim": opt.state_dict()}, "run.ckpt")
    >>> state = dist.load_on_each_rank("run.ckpt")     # on cuda:<local rank> under nccl, the CPU under mpi
"""

from __future__ import annotations

from .. import serialization
from .process_group import barrier, get_device, get_rank


def save_on_rank0(obj, f) -> None:
    """``gg.save(obj, f)`` on rank 0 only, then a barrier, so no rank reads ``f`` before it is complete.

    Every rank holds the same parameters after a DistributedDataParallel step, so one
    copy is enough, and N ranks writing one path would race.
    """
    if get_rank() == 0:
        serialization.save(obj, f)
    barrier()


def load_on_each_rank(f, map_location=None):
    """``gg.load(f)`` on every rank, tensors placed on this rank's device (``dist.get_device()``) by default.

    Args:
        f: the checkpoint written by :func:`save_on_rank0`.
        map_location: as in ``gg.load``; None means this rank's own device, so a checkpoint
            written from ``cuda:0`` loads onto ``cuda:1`` on the second GPU, not all onto one.
    """
    return serialization.load(f, map_location=map_location if map_location is not None else get_device())
