"""One way for a job to go wrong, chosen by argv[1]; rank 1 misbehaves.

    ok       every rank finishes; logs a line (the rank must show in it)
    raise    rank 1 raises ValueError after the first collective
    exit     rank 1 leaves with os._exit(0) (MPICH would report success)
    skip     rank 1 skips an all_reduce that rank 0 waits in (1 s timeout)
    exitcode rank 1 calls sys.exit(3)
"""

import logging
import os
import sys
import time

import gpugrad as gg
import gpugrad.distributed as dist

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=1.0)
t = gg.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(t)
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
logging.getLogger("job").info("sum is %s", t.item())
if dist.get_rank() == 1:
    if mode == "raise":
        raise ValueError("rank 1 cannot go on")
    if mode == "exit":
        os._exit(0)
    if mode == "exitcode":
        sys.exit(3)
if mode == "skip" and dist.get_rank() == 1:
    time.sleep(5)  # rank 0 waits in all_reduce #2 meanwhile; its 1 s timeout must end the job first
else:
    dist.all_reduce(t)
dist.barrier()
print(f"rank {dist.get_rank()} finished", flush=True)
