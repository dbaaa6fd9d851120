"""DistributedDataParallel scenarios on every rank; each rank writes its findings to OUT_DIR/rank<r>.json.

Usage: mpiexec -n 2 python -m gpugrad.distributed ddp_job.py OUT_DIR
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi", timeout=30)
RANK, WORLD = dist.get_rank(), dist.get_world_size()
OUT = Path(sys.argv[1])
B = 8  # per-rank batch
found = {"world": WORLD}


def model_from_seed(seed, hidden=7):
    gg.manual_seed(seed)
    return gg.nn.Sequential(gg.nn.Linear(5, hidden), gg.nn.Tanh(), gg.nn.Linear(hidden, 3)).double()


def full_batch(step):
    """The batch of WORLD * B rows for ``step``: the same on every rank; rank r trains on its r-th slice."""
    rng = np.random.default_rng(100 + step)
    return rng.standard_normal((WORLD * B, 5)), rng.standard_normal((WORLD * B, 3))


def shard(array):
    return array[RANK * B:(RANK + 1) * B]


def loss_of(model, x, y):
    return ((model(gg.tensor(x)) - gg.tensor(y)) ** 2).mean()


def params_of(model):
    return [p.array.copy() for p in model.parameters()]


def digest(arrays):
    return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)).hexdigest()


def sgd_steps(ddp, optimizer, steps):
    for step in steps:
        x, y = full_batch(step)
        optimizer.zero_grad()
        loss_of(ddp, shard(x), shard(y)).backward()
        optimizer.step()


# 1. two ranks x batch B == one process x batch 2B, starting from different seeds
ddp = DDP(model_from_seed(seed=RANK + 10))   # rank 0's weights (seed 10) win
single = model_from_seed(seed=10)
ddp_opt = gg.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
single_opt = gg.optim.SGD(single.parameters(), lr=0.1, momentum=0.9)
for step in range(3):
    x, y = full_batch(step)
    ddp_opt.zero_grad()
    loss_of(ddp, shard(x), shard(y)).backward()
    ddp_opt.step()
    single_opt.zero_grad()
    loss_of(single, x, y).backward()
    single_opt.step()
found["max_rel_diff_vs_single"] = max(
    float(np.abs(a - b).max() / np.abs(b).max()) for a, b in zip(params_of(ddp), params_of(single)))
found["params_digest"] = digest(params_of(ddp))
found["state_dict_keys"] = list(ddp.state_dict())

# 2. no_sync accumulation over two half batches == one backward over the whole shard
x, y = full_batch(7)
accumulated, whole = DDP(model_from_seed(1)), DDP(model_from_seed(1))
with accumulated.no_sync():
    (loss_of(accumulated, shard(x)[:B // 2], shard(y)[:B // 2]) / 2).backward()
local = accumulated.module[0].weight.grad.array.copy()
(loss_of(accumulated, shard(x)[B // 2:], shard(y)[B // 2:]) / 2).backward()
loss_of(whole, shard(x), shard(y)).backward()
found["no_sync_local_digest"] = digest([local])
found["no_sync_max_diff"] = max(
    float(np.abs(a.grad.array - b.grad.array).max()) for a, b in zip(accumulated.parameters(), whole.parameters()))

# 3. a tiny bucket cap (one parameter per bucket) == one bucket, bit for bit
tiny, one = DDP(model_from_seed(2), bucket_cap_mb=1e-6), DDP(model_from_seed(2))
for m in (tiny, one):
    loss_of(m, shard(x), shard(y)).backward()
found["buckets"] = [len(tiny._buckets), len(one._buckets)]
found["bucket_cap_same_grads"] = all(
    np.array_equal(a.grad.array, b.grad.array) for a, b in zip(tiny.parameters(), one.parameters()))


# 4. unused parameters
class WithExtras(gg.nn.Module):
    def __init__(self):
        super().__init__()
        self.used = gg.nn.Linear(5, 3).double()
        self.extra = gg.nn.Linear(5, 3).double()       # used by no rank
        self.rank0_only = gg.nn.Linear(5, 3).double()  # used by rank 0 only

    def forward(self, x, strict=False):
        out = self.used(x)
        if RANK == 0 and not strict:
            out = out + self.rank0_only(x)
        return out


try:
    strict = DDP(WithExtras())
    loss_of(lambda t: strict(t, strict=True), shard(x), shard(y)).backward()
    found["unused_error"] = None
except RuntimeError as exc:
    found["unused_error"] = str(exc)
lenient = DDP(WithExtras(), find_unused_parameters=True)
loss_of(lenient, shard(x), shard(y)).backward()
found["unused_everywhere_grad_is_none"] = lenient.module.extra.weight.grad is None
found["rank0_only_grad_digest"] = digest([lenient.module.rank0_only.weight.grad.array])
found["rank0_only_grad_nonzero"] = bool(np.abs(lenient.module.rank0_only.weight.grad.array).max() > 0)
# the next iteration is clean: the reducer was reset
loss_of(lenient, shard(x), shard(y)).backward()
found["lenient_second_step_ok"] = True

# 5. checkpoint on rank 0, resume on every rank: the identical trajectory
ckpt = OUT / "run.ckpt"
run = DDP(model_from_seed(3))
opt = gg.optim.SGD(run.parameters(), lr=0.05, momentum=0.9)
sgd_steps(run, opt, range(2))
dist.save_on_rank0({"model": run.state_dict(), "optim": opt.state_dict()}, ckpt)
sgd_steps(run, opt, range(2, 4))
resumed = DDP(model_from_seed(4 + RANK))
resumed_opt = gg.optim.SGD(resumed.parameters(), lr=0.05, momentum=0.9)
state = dist.load_on_each_rank(ckpt)
resumed.load_state_dict(state["model"])
resumed_opt.load_state_dict(state["optim"])
sgd_steps(resumed, resumed_opt, range(2, 4))
found["resume_identical"] = all(np.array_equal(a, b) for a, b in zip(params_of(run), params_of(resumed)))

# 6. a rank with another model: construction fails on every rank, naming the parameter and the rank
try:
    DDP(model_from_seed(5, hidden=7 if RANK == 0 else 6))
    found["mismatch_error"] = None
except RuntimeError as exc:
    found["mismatch_error"] = str(exc)

(OUT / f"rank{RANK}.json").write_text(json.dumps(found))
