"""DistributedDataParallel: every rank trains a replica; gradients are averaged during backward.

    >>> dist.init_process_group()
    >>> ddp = gg.nn.parallel.DistributedDataParallel(model)
    >>> loss_fn(ddp(x), y).backward()     # .grad is the average over ranks when backward returns
    >>> optimizer.step()                   # the same step everywhere: replicas stay identical

How: at construction every rank checks it has the same parameter shapes as
rank 0 and takes rank 0's values. Gradients are grouped into buckets of about
``bucket_cap_mb``, filled in reverse parameter order (the order backward
produces them). A post-accumulate-grad hook per parameter marks it ready; a
full bucket is flattened and all-reduced at once, and buckets are launched
strictly in index order, so every rank issues the same collectives in the
same order whatever order its hooks fire in. An end-of-backward callback
launches what is left, waits, and writes the averages back into ``.grad``.
"""

from __future__ import annotations

import contextlib
import weakref

from ... import distributed as dist
from ...autograd.engine import queue_callback
from ...autograd.grad_mode import is_grad_enabled
from ...tensor import Tensor
from ..module import Module


class _Bucket:
    """Some parameters' gradients, flattened into one buffer for one all-reduce."""

    def __init__(self, index: int, named_params: list):
        self.index = index
        self.named_params = named_params
        first = named_params[0][1]
        sizes = [p.numel() for _, p in named_params]
        self.offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        self.sizes = sizes
        self.flat = Tensor._make(first.device.xp.empty(sum(sizes), dtype=first.array.dtype), first.device)
        self.ready = set()

    @property
    def full(self) -> bool:
        return len(self.ready) == len(self.named_params)

    def pack(self) -> None:
        """Copy the gradients into the flat buffer (zeros for a parameter without one)."""
        flat = self.flat.array
        for (_, p), start, size in zip(self.named_params, self.offsets, self.sizes):
            if p.grad is None:
                flat[start:start + size] = 0
            else:
                flat[start:start + size] = p.grad.array.reshape(-1)

    def unpack(self, scale: float, skip=()) -> None:
        """Write ``scale`` times the reduced buffer back into each ``.grad`` (except parameters in ``skip``)."""
        flat = self.flat.array
        flat *= scale
        for (_, p), start, size in zip(self.named_params, self.offsets, self.sizes):
            if p in skip:
                continue
            values = flat[start:start + size].reshape(p.shape)
            if p.grad is None:
                p.grad = Tensor._make(values.copy(), p.device)
            else:
                p.grad.array[...] = values
                p.grad._version[0] += 1


class DistributedDataParallel(Module):
    """Data-parallel training of ``module`` on every rank of the default process group (PyTorch's DDP).

    Args:
        module: the model, already on this rank's device (``gg.distributed.get_device()``).
        device_ids, output_device: accepted for PyTorch compatibility; must be None or this rank's device.
        broadcast_buffers: copy rank 0's buffers (e.g. running statistics) to every rank before each forward.
        bucket_cap_mb: gradients are reduced in buckets of about this many megabytes (MiB).
        find_unused_parameters: allow parameters that get no gradient in a backward pass: they contribute
            zeros, and one that no rank used keeps its ``.grad`` unchanged. Without it such a parameter
            raises an error naming it, at the end of backward.

    Attributes:
        module: the wrapped model; ``state_dict()`` keys carry PyTorch's ``module.`` prefix.

    Example:
        >>> ddp = DistributedDataParallel(gg.nn.Linear(4, 2), bucket_cap_mb=1)
        >>> with ddp.no_sync():                  # accumulate locally, no communication
        ...     ddp(x1).sum().backward()
        >>> ddp(x2).sum().backward()             # this backward reduces x1's and x2's gradients together
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, broadcast_buffers: bool = True,
                 bucket_cap_mb: float = 25, find_unused_parameters: bool = False):
        super().__init__()
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel: call gg.distributed.init_process_group() first")
        if bucket_cap_mb <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self._named_params = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        _check_devices(module, dist.get_device(), device_ids, output_device)
        _check_same_parameters(module)
        _broadcast_from_rank0(module)
        self._buckets = _make_buckets(self._named_params, bucket_cap_mb * 2**20)
        self._bucket_of = {p: b for b in self._buckets for _, p in b.named_params}
        self._require_sync = True
        self._armed = False
        self._reset()
        self_ref = weakref.ref(self)
        for _, p in self._named_params:  # a weak reference: the parameters must not keep this wrapper alive
            p.register_post_accumulate_grad_hook(lambda param: _call(self_ref, param))

    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers:
            for buffer in self.module.buffers():
                dist.broadcast(buffer, src=0)
        self._reset()
        self._armed = self._require_sync and is_grad_enabled()
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward accumulates gradients locally; the first backward after it reduces the sums."""
        previous, self._require_sync = self._require_sync, False
        try:
            yield
        finally:
            self._require_sync = previous

    # ------------------------------------------------------------------ the reducer
    def _reset(self) -> None:
        for bucket in self._buckets:
            bucket.ready.clear()
        self._next_bucket = 0
        self._works = []
        self._callback_queued = False

    def _on_grad_ready(self, param) -> None:
        """A parameter's gradient is final for this backward: launch every full bucket, in index order."""
        if not self._armed:
            return
        if not self._callback_queued:
            queue_callback(self._finish)
            self._callback_queued = True
        self._bucket_of[param].ready.add(param)
        self._launch(lambda bucket: bucket.full)

    def _launch(self, can_go) -> None:
        """Launch buckets from the next in order while ``can_go(bucket)``; launched together as one group."""
        group = []
        while self._next_bucket < len(self._buckets) and can_go(self._buckets[self._next_bucket]):
            group.append(self._buckets[self._next_bucket])
            self._next_bucket += 1
        if group:
            for bucket in group:
                bucket.pack()
            work = dist.all_reduce_coalesced([b.flat for b in group], async_op=True)
            self._works.append((work, group))

    def _finish(self) -> None:
        """End of backward: check for unused parameters, launch the rest, wait, write the averages back."""
        self._armed = False
        missing = [(name, p) for name, p in self._named_params if p not in self._bucket_of[p].ready]
        if missing and not self.find_unused_parameters:
            self._reset()
            names = ", ".join(name for name, _ in missing)
            raise RuntimeError(
                f"DistributedDataParallel: parameter(s) {names} received no gradient in this backward pass, so "
                "the ranks cannot agree on what to reduce. Pass find_unused_parameters=True if the forward "
                "really skips them, or set requires_grad=False on parameters that are not trained."
            )
        self._launch(lambda bucket: True)
        unused_everywhere = self._unused_everywhere(missing) if missing else set()
        scale = 1.0 / dist.get_world_size()
        for work, group in self._works:
            work.wait()
            for bucket in group:
                bucket.unpack(scale, skip=unused_everywhere)
        self._reset()

    def _unused_everywhere(self, missing: list) -> set:
        """The parameters no rank used in this backward (one small extra all-reduce of use counts)."""
        xp = self._named_params[0][1].device.xp
        device = self._named_params[0][1].device
        missing_here = {p for _, p in missing}
        used = Tensor._make(xp.asarray([0 if p in missing_here else 1 for _, p in self._named_params],
                                       dtype=xp.int32), device)
        dist.all_reduce(used)
        counts = used.array.tolist()
        return {p for (_, p), count in zip(self._named_params, counts) if count == 0}


def _call(self_ref, param) -> None:
    ddp = self_ref()
    if ddp is not None:
        ddp._on_grad_ready(param)


def _make_buckets(named_params: list, cap_bytes: float) -> list:
    """Buckets in reversed parameter order, each up to ``cap_bytes`` (a larger parameter alone), one dtype each."""
    buckets, current, size = [], [], 0
    for name, p in reversed(named_params):
        nbytes = p.numel() * p.element_size()
        if current and (size + nbytes > cap_bytes or p.array.dtype != current[0][1].array.dtype):
            buckets.append(_Bucket(len(buckets), current))
            current, size = [], 0
        current.append((name, p))
        size += nbytes
    if current:
        buckets.append(_Bucket(len(buckets), current))
    return buckets


def _check_devices(module: Module, expected, device_ids, output_device) -> None:
    for name, t in list(module.named_parameters()) + list(module.named_buffers()):
        if t.device != expected:
            raise RuntimeError(
                f"DistributedDataParallel: {name} is on {t.device}, but this rank's {dist.get_backend()} process "
                f"group communicates {expected} tensors; move the model first with model.to(dist.get_device())"
            )
    for what, ids in (("device_ids", device_ids), ("output_device", output_device)):
        chosen = ids if not isinstance(ids, (list, tuple)) else (ids[0] if len(ids) == 1 else ids)
        if chosen is not None and str(chosen) not in (str(expected), str(expected.index)):
            raise ValueError(
                f"DistributedDataParallel: {what}={ids!r}, but this rank's device is {expected}; one device per "
                "process is supported (leave it None)"
            )


def _check_same_parameters(module: Module) -> None:
    """Every rank must hold the same parameters (names, shapes, dtypes) as rank 0; the first difference raises."""
    mine = [(name, tuple(p.shape), str(p.dtype)) for name, p in module.named_parameters()]
    everyone = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, mine)
    reference = everyone[0]
    for rank, theirs in enumerate(everyone[1:], start=1):
        for ours, other in zip(reference, theirs):
            if ours != other:
                raise RuntimeError(
                    f"DistributedDataParallel: parameter {other[0]} has shape {other[1]} ({other[2]}) on rank {rank} "
                    f"but rank 0 has {ours[0]} with shape {ours[1]} ({ours[2]}); every rank must build the same model"
                )
        if len(theirs) != len(reference):
            raise RuntimeError(
                f"DistributedDataParallel: rank {rank} has {len(theirs)} parameters, rank 0 has {len(reference)}; "
                "every rank must build the same model"
            )


def _broadcast_from_rank0(module: Module) -> None:
    """Start every replica from rank 0's parameters and buffers (ranks may have drawn different initial weights)."""
    for t in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(t.data, src=0)
