"""Collectives, objects, the sampler and the tracing guard on every rank; findings to OUT_DIR/rank<r>.json."""

import json
import sys
from pathlib import Path

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad.utils.data.distributed import DistributedSampler

dist.init_process_group(timeout=30)  # backend None: mpi without a GPU
rank, world = dist.get_rank(), dist.get_world_size()
found = {"backend": dist.get_backend(), "local_rank": dist.get_local_rank(), "world": world}


def reduced(op, values):
    t = gg.tensor(values)
    dist.all_reduce(t, op=op)
    return t.tolist()


mine = [float(rank + 1), -float(rank)]
for op in dist.ReduceOp:
    found[op.name] = reduced(op, mine)
strided = gg.arange(6.0).reshape(2, 3)[:, ::2] * (rank + 1)   # not contiguous: reduced through a copy
dist.all_reduce(strided)
found["strided"] = strided.tolist()
b = gg.tensor([float(rank)] * 3)
dist.broadcast(b, src=1)
found["broadcast"] = b.tolist()
parts = [gg.zeros(2, dtype=gg.int64) for _ in range(world)]
dist.all_gather(parts, gg.tensor([rank, 10 * rank]))
found["all_gather"] = [p.tolist() for p in parts]
objects = [{"config": "rank0"}, 7] if rank == 0 else [None, None]
dist.broadcast_object_list(objects)
found["broadcast_object_list"] = objects
gathered = [None] * world
dist.all_gather_object(gathered, ("hello", rank))
found["all_gather_object"] = gathered

for drop_last in (False, True):
    sampler = DistributedSampler(range(11), shuffle=True, seed=3, drop_last=drop_last)
    sampler.set_epoch(2)
    found[f"shard_drop_last_{drop_last}"] = list(sampler)
    found[f"len_drop_last_{drop_last}"] = len(sampler)
sampler.set_epoch(3)
found["shard_epoch_3"] = list(sampler)

try:
    step = gg.compile(lambda x: dist.all_reduce(x) or x * 2)
    for _ in range(3):  # the first call may run eagerly (warm-up); a later one traces
        step(gg.ones(2))
    found["trace_error"] = None
except gg.graph.TraceError as exc:
    found["trace_error"] = str(exc)

(Path(sys.argv[1]) / f"rank{rank}.json").write_text(json.dumps(found))
