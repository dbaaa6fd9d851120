"""gg.distributed: data-parallel training over MPI (CPU processes) and NCCL (GPUs), with PyTorch's names.

Start N processes with MPI's launcher and gpugrad's guard around the script::

    mpiexec -n 2 python -m gpugrad.distributed train.py --epochs 3

then, in ``train.py``::

    import gpugrad as gg
    import gpugrad.distributed as dist

    dist.init_process_group()                    # nccl with a GPU, mpi otherwise
    model = gg.nn.parallel.DistributedDataParallel(build_model().to(dist.get_device()))
    sampler = gg.utils.data.distributed.DistributedSampler(dataset)   # each rank its own shard

Ranks come from the MPI communicator (``get_rank``, ``get_world_size``,
``get_local_rank``), never from environment variables. Run without a
launcher, the world is one process and everything still works. Install with
``pip install 'gpugrad[distributed]'`` (mpi4py and MPICH).
"""

from .checkpoint import load_on_each_rank, save_on_rank0
from .process_group import (
    ReduceOp, all_gather, all_gather_object, all_reduce, all_reduce_coalesced, barrier, broadcast,
    broadcast_object_list, destroy_process_group, get_backend, get_device, get_local_rank, get_rank, get_world_size,
    init_process_group, is_available, is_initialized,
)

__all__ = [
    "ReduceOp", "all_gather", "all_gather_object", "all_reduce", "all_reduce_coalesced", "barrier", "broadcast",
    "broadcast_object_list", "destroy_process_group", "get_backend", "get_device", "get_local_rank", "get_rank",
    "get_world_size", "init_process_group", "is_available", "is_initialized", "load_on_each_rank", "save_on_rank0",
]
