"""The profiler: per-op counts and times, a Chrome trace, and the transfer ledger.

    >>> with gg.profiler.profile() as prof:
    ...     loss = model(x).mean()
    ...     loss.backward()
    ...     print(loss.item())
    >>> print(prof.table(sort_by="total", row_limit=10))
    >>> prof.export_chrome_trace("trace.json")      # open in ui.perfetto.dev or chrome://tracing
    >>> print(prof.transfers())                      # every host<->device copy and implicit sync, by line

What is counted:
    * every ``ArrayFunction`` call (the built-in differentiable ops), by class name (``Mul``), with
      the bytes its output newly allocated (0 for a view of an input). Ops that run
      while backward runs are listed with kind "backward";
    * every backward node the engine runs, by its ``grad_fn`` name (``MulBackward0``),
      every gradient accumulated into a leaf (``AccumulateGrad``), and each whole
      backward pass (``backward pass``);
    * the transfer ledger: every host<->device copy gpugrad makes (h2d, d2h, d2d), and
      every read of values into Python (``.item()``, ``.tolist()``, ``.numpy()``,
      ``np.asarray(t)``, ``float(t)``, ``int(t)``, ``bool(t)``, ``repr``/printing), each
      with its bytes and the file:line of the user code that caused it. On a GPU a read
      is a device synchronisation plus a copy; on the CPU it costs nothing, but it is
      still listed, because the same line will stall the loop once it runs on a GPU.

Times are wall-clock; an op on a CUDA device is bracketed by ``gg.cuda.synchronize()``
so its time is the GPU's (this serialises the GPU with Python while profiling, as
any per-op timing must). Self time is the total minus the time of ops nested inside
(the ops a backward node runs).

Differences from ``torch.profiler``: op names are gpugrad's ArrayFunction classes, not
``aten::`` kernels; only the thread that entered ``profile()`` is recorded; and the
transfer ledger is gpugrad's own.

The profiler is an optional layer: entering ``profile()`` wraps ``ArrayFunction.__call__``,
a few engine functions and the Tensor read methods, and leaving it puts the
originals back, so code outside a profile runs exactly as if this module did not exist.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
import time

from .autograd import engine
from .autograd.anomaly import _is_internal, interpose
from .autograd.node import ArrayFunction
from .backends import transfers as _transfer_counter
from .tensor import Tensor

__all__ = ["OpStats", "TransferEvent", "TransferLog", "profile", "record_function"]

_SORT_KEYS = {
    "total": lambda s: -s.total_ns,
    "self": lambda s: -s.self_ns,
    "calls": lambda s: -s.calls,
    "mean": lambda s: -s.mean_ns,
    "bytes": lambda s: -(s.out_bytes or 0),
    "name": lambda s: s.name,
}

# Tensor methods that read values into Python, and the name the ledger gives each read
_READS = {
    "item": "item", "tolist": "tolist", "numpy": "numpy", "__array__": "np.asarray", "__float__": "float",
    "__int__": "int", "__index__": "index", "__bool__": "bool", "__repr__": "repr",
}


# --------------------------------------------------------------------- records
class _Event:
    """One timed span: an op, a backward node, a backward pass or a ``record_function`` block."""

    __slots__ = ("name", "kind", "start_ns", "duration_ns", "self_ns", "out_bytes", "thread", "args")

    def __init__(self, name, kind, start_ns, thread, args=None):
        self.name, self.kind, self.start_ns, self.thread, self.args = name, kind, start_ns, thread, args
        self.duration_ns = self.self_ns = 0
        self.out_bytes = None  # set for ops only: nodes and passes allocate through the ops they run


class TransferEvent:
    """One entry of the transfer ledger.

    Attributes:
        kind: "h2d", "d2h" or "d2d" when bytes were copied, "sync" for a read that
            copied nothing (a CPU tensor: free here, a synchronisation on a GPU).
        op: what caused it: the read ("item", "numpy", "float", "repr", ...) or, for a
            copy, the gpugrad function the user called ("to", "cuda", "tensor", ...).
        nbytes: bytes copied (0 when nothing was copied).
        tensor_bytes: for a read, the size of the tensor read (what a GPU copies to the host).
        location: "file.py:line" of the user code responsible.
        via: for a read made inside gpugrad, the gpugrad function the user called; else None.
        device: the device of the tensor read ("cpu", "cuda:0"), None for a plain copy.
    """

    __slots__ = ("kind", "op", "nbytes", "tensor_bytes", "location", "via", "device", "start_ns",
                 "duration_ns", "thread")

    def __init__(self, kind, op, nbytes, location, via=None, device=None, tensor_bytes=0, start_ns=0, thread=0):
        self.kind, self.op, self.nbytes, self.location, self.via = kind, op, int(nbytes), location, via
        self.device, self.tensor_bytes, self.start_ns, self.thread = device, int(tensor_bytes), start_ns, thread
        self.duration_ns = 0

    @property
    def is_read(self) -> bool:
        """True for a read of values into Python (an implicit synchronisation on a GPU)."""
        return self.op in _READS.values()

    def __repr__(self) -> str:
        via = f" via {self.via}" if self.via else ""
        return f"TransferEvent({self.kind} {self.op}{via}, {self.nbytes} B, {self.location})"


class OpStats:
    """Totals for one (kind, name) row of the profile table; times in nanoseconds."""

    __slots__ = ("name", "kind", "calls", "total_ns", "self_ns", "out_bytes")

    def __init__(self, name, kind):
        self.name, self.kind = name, kind
        self.calls = self.total_ns = self.self_ns = 0
        self.out_bytes = None  # None for rows that are not ops (backward nodes, passes, user blocks)

    @property
    def mean_ns(self) -> float:
        return self.total_ns / self.calls if self.calls else 0.0

    def __repr__(self) -> str:
        return f"OpStats({self.kind} {self.name}: {self.calls} calls, {self.total_ns / 1e6:.3f} ms)"


class TransferLog(list):
    """The ledger: a list of :class:`TransferEvent` with a summary; ``print(log)`` shows a table."""

    def summary(self) -> dict:
        """Counts and bytes per kind, the number of reads, and the lines responsible, busiest first.

        Returns:
            ``{"events": n, "reads": n, "bytes": n, "by_kind": {kind: {"count", "bytes"}},
            "by_location": [{"location", "op", "kind", "count", "bytes"}, ...]}``
        """
        by_kind, by_place = {}, {}
        for event in self:
            row = by_kind.setdefault(event.kind, {"count": 0, "bytes": 0})
            row["count"] += 1
            row["bytes"] += event.nbytes
            op = event.op if not event.via else f"{event.op} (via {event.via})"
            place = by_place.setdefault((event.location, op, event.kind),
                                        {"location": event.location, "op": op, "kind": event.kind,
                                         "count": 0, "bytes": 0})
            place["count"] += 1
            place["bytes"] += event.nbytes
        return {
            "events": len(self),
            "reads": sum(event.is_read for event in self),
            "bytes": sum(event.nbytes for event in self),
            "by_kind": by_kind,
            "by_location": sorted(by_place.values(), key=lambda r: (-r["count"], -r["bytes"], r["location"])),
        }

    def table(self, row_limit: int | None = None) -> str:
        """The ledger grouped by line, busiest first, with a one-line total."""
        summary = self.summary()
        rows = [(r["location"], r["op"], r["kind"], str(r["count"]), _format_bytes(r["bytes"]))
                for r in summary["by_location"][:row_limit]]
        kinds = ", ".join(
            f"{kind}: {row['count']} ({_format_bytes(row['bytes'])})" for kind, row in sorted(summary["by_kind"].items())
        )
        footer = (f"{summary['events']} transfer events, {summary['reads']} reads into Python "
                  f"(each one a GPU synchronisation), {_format_bytes(summary['bytes'])} copied"
                  + (f"; {kinds}" if kinds else ""))
        return _format_table(("Location", "Op", "Kind", "Count", "Copied"), rows, "LLLRR") + "\n" + footer

    def __str__(self) -> str:
        return self.table()


# ------------------------------------------------------------------- profile
class _ThreadState(threading.local):
    active = ()  # the profiles recording this thread (nested profiles all record)
    synchronize = record_shapes = with_stack = False  # any active profile asks for it
    backward_depth = 0  # > 0 while the engine runs a backward pass on this thread
    open_read = None  # the read in progress, so copies it makes join its ledger entry

    def __init__(self):
        self.stack = []  # [event, nested ns] of the spans open on this thread


_state = _ThreadState()
_install_lock = threading.Lock()
_profiles_open = 0
_handles: list = []


class profile:
    """Context manager that records ops, backward nodes and transfers of this thread.

    Args:
        synchronize: bracket ops on CUDA devices with ``gg.cuda.synchronize()`` so times are
            the GPU's (default True); False measures launch overhead only.
        record_shapes: keep input shapes with each op (shown in the Chrome trace).
        with_stack: keep the user file:line of each op (shown in the Chrome trace).

    Example:
        >>> with gg.profiler.profile() as prof:
        ...     y = (x * w).sum(); y.backward()
        >>> prof.counts("forward")
        {'Mul': 1, 'Sum': 1}
        >>> print(prof.table(sort_by="calls"))
    """

    def __init__(self, synchronize: bool = True, record_shapes: bool = False, with_stack: bool = False):
        self.synchronize = synchronize
        self.record_shapes, self.with_stack = record_shapes, with_stack
        self._events: list = []
        self._transfers = TransferLog()
        self.start_ns = self.end_ns = None

    # ----------------------------------------------------------- on and off
    def __enter__(self):
        if self.start_ns is not None:
            raise RuntimeError("profile(): this profile was already used; make a new one for each block")
        _open(self)
        self.start_ns = time.perf_counter_ns()
        return self

    def __exit__(self, *exc_info):
        self.end_ns = time.perf_counter_ns()
        _close(self)
        return False

    # ------------------------------------------------------------- results
    def events(self) -> list:
        """The recorded spans, in the order they ended (each has name, kind, start_ns, duration_ns, ...)."""
        return list(self._events)

    def key_averages(self) -> list:
        """One :class:`OpStats` per (kind, name), largest total time first (like ``torch.profiler``)."""
        rows = {}
        for event in self._events:
            stats = rows.get((event.kind, event.name))
            if stats is None:
                stats = rows[(event.kind, event.name)] = OpStats(event.name, event.kind)
            stats.calls += 1
            stats.total_ns += event.duration_ns
            stats.self_ns += event.self_ns
            if event.out_bytes is not None:
                stats.out_bytes = (stats.out_bytes or 0) + event.out_bytes
        return sorted(rows.values(), key=_SORT_KEYS["total"])

    def counts(self, kind: str | None = None) -> dict:
        """``{name: calls}`` for one kind ("forward", "backward", "user") or all kinds together.

        Example:
            >>> prof.counts("backward")["MulBackward0"]
            3
        """
        _check_kind("counts", kind)
        result = {}
        for stats in self.key_averages():
            if kind is None or stats.kind == kind:
                result[stats.name] = result.get(stats.name, 0) + stats.calls
        return dict(sorted(result.items()))

    def table(self, sort_by: str = "total", row_limit: int | None = None, kind: str | None = None) -> str:
        """A text table of the per-op totals, plus a line on time and transfers; ``print`` it.

        Args:
            sort_by: "total", "self", "calls", "mean", "bytes" or "name".
            row_limit: show at most this many rows.
            kind: only "forward", "backward" or "user" rows.
        """
        if sort_by not in _SORT_KEYS:
            raise ValueError(f"table(): sort_by must be one of {sorted(_SORT_KEYS)}, got {sort_by!r}")
        _check_kind("table", kind)
        stats = [s for s in self.key_averages() if kind is None or s.kind == kind]
        stats.sort(key=_SORT_KEYS[sort_by])
        rows = [
            (s.name, s.kind, str(s.calls), f"{s.total_ns / 1e6:.3f}", f"{s.self_ns / 1e6:.3f}",
             f"{s.mean_ns / 1e3:.1f}", "-" if s.out_bytes is None else _format_bytes(s.out_bytes))
            for s in stats[:row_limit]
        ]
        header = ("Name", "Kind", "Calls", "Total ms", "Self ms", "Mean us", "Out bytes")
        ledger = self._transfers.summary()
        footer = (
            f"Profiled {self.wall_ns / 1e6:.3f} ms, {sum(s.self_ns for s in stats) / 1e6:.3f} ms of it in the "
            f"{len(stats)} rows' self times. Transfers: {ledger['events']} ({ledger['reads']} reads into Python, "
            f"{_format_bytes(ledger['bytes'])} copied); see prof.transfers()."
        )
        return _format_table(header, rows, "LLRRRRR") + "\n" + footer

    def transfers(self) -> TransferLog:
        """The transfer ledger (a list of :class:`TransferEvent`); ``print`` it for a table by line."""
        return TransferLog(self._transfers)

    @property
    def wall_ns(self) -> int:
        end = self.end_ns if self.end_ns is not None else time.perf_counter_ns()
        return end - self.start_ns if self.start_ns is not None else 0

    def export_chrome_trace(self, path) -> str:
        """Write a Chrome trace-event JSON file (open it in ui.perfetto.dev or chrome://tracing).

        Ops and backward nodes are complete events ("X") nested by time, transfers are
        events of category "transfer" carrying bytes and the user line. Returns the path.
        """
        if self.start_ns is None:
            raise RuntimeError("export_chrome_trace(): nothing recorded; use it after a `with profile()` block")
        pid, origin = os.getpid(), self.start_ns
        trace = [{"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": "gpugrad"}}]
        for thread in sorted({e.thread for e in self._events} | {t.thread for t in self._transfers}):
            trace.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": thread,
                          "args": {"name": _thread_name(thread)}})
        for event in self._events:
            args = {"self_us": event.self_ns / 1e3, **(event.args or {})}
            if event.out_bytes is not None:
                args["out_bytes"] = event.out_bytes
            trace.append({"name": event.name, "cat": event.kind, "ph": "X", "pid": pid, "tid": event.thread,
                          "ts": (event.start_ns - origin) / 1e3, "dur": event.duration_ns / 1e3, "args": args})
        for transfer in self._transfers:
            name = f"{transfer.op} ({transfer.kind})"
            args = {"bytes": transfer.nbytes, "location": transfer.location, "kind": transfer.kind}
            if transfer.via:
                args["via"] = transfer.via
            if transfer.device:
                args["device"] = transfer.device
            entry = {"name": name, "cat": "transfer", "pid": pid, "tid": transfer.thread,
                     "ts": (transfer.start_ns - origin) / 1e3, "args": args}
            if transfer.duration_ns:
                entry.update(ph="X", dur=transfer.duration_ns / 1e3)
            else:
                entry.update(ph="i", s="t")
            trace.append(entry)
        path = os.fspath(path)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(path, "w", encoding="utf-8") as file:
            json.dump({"traceEvents": trace, "displayTimeUnit": "ms"}, file)
        return path


class record_function:
    """Label a block of user code; it shows as a row of kind "user" and a span in the trace.

    Example:
        >>> with gg.profiler.profile() as prof:
        ...     with gg.profiler.record_function("data loading"):
        ...         batch = next(loader)
    """

    def __init__(self, name: str):
        self.name = str(name)

    def __enter__(self):
        self._span = _begin(self.name, "user") if _state.active else None
        return self

    def __exit__(self, *exc_info):
        if self._span is not None:
            _end(self._span)
        return False


def _check_kind(method: str, kind) -> None:
    if kind not in (None, "forward", "backward", "user"):
        raise ValueError(f"{method}(): kind must be 'forward', 'backward', 'user' or None, got {kind!r}")


# --------------------------------------------------------------- install/remove
def _open(prof: profile) -> None:
    global _profiles_open, _handles
    with _install_lock:
        _profiles_open += 1
        if _profiles_open == 1:
            _handles = [
                interpose(ArrayFunction, "__call__", _timing_op),
                interpose(engine, "_call_backward", _timing_node),
                interpose(engine, "_accumulate", _timing_accumulate),
                interpose(engine, "_run", _timing_backward_pass),
            ] + [interpose(Tensor, method, _ledger_read(method, op)) for method, op in _READS.items()
                 if method in vars(Tensor)]
            _transfer_counter.listeners.append(_on_copy)
    _set_active(_state.active + (prof,))


def _set_active(profiles: tuple) -> None:
    _state.active = profiles
    _state.synchronize = any(p.synchronize for p in profiles)
    _state.record_shapes = any(p.record_shapes for p in profiles)
    _state.with_stack = any(p.with_stack for p in profiles)


def _close(prof: profile) -> None:
    global _profiles_open, _handles
    _set_active(tuple(p for p in _state.active if p is not prof))
    with _install_lock:
        _profiles_open -= 1
        if _profiles_open == 0:
            for handle in _handles:
                handle.remove()
            _handles = []
            if _on_copy in _transfer_counter.listeners:
                _transfer_counter.listeners.remove(_on_copy)


# --------------------------------------------------------------------- spans
def _begin(name: str, kind: str, args=None) -> list:
    span = [_Event(name, kind, time.perf_counter_ns(), threading.get_ident(), args), 0]
    _state.stack.append(span)
    return span


def _end(span: list, out_bytes: int | None = None) -> None:
    event, nested = span
    event.duration_ns = time.perf_counter_ns() - event.start_ns
    event.self_ns = event.duration_ns - nested
    event.out_bytes = out_bytes
    stack = _state.stack
    if stack and stack[-1] is span:
        stack.pop()
    elif span in stack:  # an exception skipped inner ends; drop them too
        del stack[stack.index(span):]
    if stack:
        stack[-1][1] += event.duration_ns
    for prof in _state.active:
        prof._events.append(event)


def _sync_if_cuda(device) -> None:
    if device is not None and device.type == "cuda" and _state.synchronize:
        from . import cuda

        cuda.synchronize(device.index)


def _first_device(values):
    for value in values:
        if isinstance(value, Tensor):
            return value.device
    return None


def _new_bytes(out, inputs) -> int:
    """Bytes of ``out`` not shared with any input array (0 for a view such as reshape or slicing)."""
    data = getattr(out, "array", None)
    if data is None:
        return 0
    if getattr(data, "base", None) is None:  # owns its memory: a fresh result (the common case, and cheap)
        return int(data.nbytes)
    xp = out.device.xp
    for x in inputs:
        if isinstance(x, Tensor) and type(x.array) is type(data) and xp.may_share_memory(x.array, data):
            return 0
    return int(data.nbytes)


# -------------------------------------------------------------------- layers
def _timing_op(inner):
    @functools.wraps(inner)
    def __call__(self, *inputs):
        if not _state.active:
            return inner(self, *inputs)
        device = _first_device(inputs)
        _sync_if_cuda(device)
        span = _begin(type(self).__name__, "backward" if _state.backward_depth else "forward",
                      _op_args(inputs))
        out = None
        try:
            out = inner(self, *inputs)
            _sync_if_cuda(device)
        finally:
            _end(span, _new_bytes(out, inputs) if out is not None else 0)
        return out

    return __call__


def _op_args(inputs):
    if not (_state.record_shapes or _state.with_stack):
        return None
    args = {}
    if _state.record_shapes:
        args["input_shapes"] = [list(x.shape) if isinstance(x, Tensor) else repr(x) for x in inputs]
    if _state.with_stack:
        args["location"] = _origin(sys._getframe(2))[0]
    return args


def _timing_node(inner):
    @functools.wraps(inner)
    def _call_backward(node, g, retain_graph):
        if not _state.active:
            return inner(node, g, retain_graph)
        device = getattr(node, "device", None)
        _sync_if_cuda(device)
        span = _begin(node.name(), "backward")
        try:
            grads = inner(node, g, retain_graph)
            _sync_if_cuda(device)
        finally:
            _end(span)
        return grads

    return _call_backward


def _timing_accumulate(inner):
    @functools.wraps(inner)
    def _accumulate(leaf, g, *args, **kwargs):
        if not _state.active:
            return inner(leaf, g, *args, **kwargs)
        span = _begin("AccumulateGrad", "backward")
        try:
            return inner(leaf, g, *args, **kwargs)
        finally:
            _end(span)

    return _accumulate


def _timing_backward_pass(inner):
    @functools.wraps(inner)
    def _run(roots, *args, **kwargs):
        if not _state.active:
            return inner(roots, *args, **kwargs)
        span = _begin("backward pass", "backward")
        _state.backward_depth += 1
        try:
            result = inner(roots, *args, **kwargs)
            _sync_if_cuda(roots[0][2] if roots else None)  # (node, seed, device) per root
            return result
        finally:
            _state.backward_depth -= 1
            _end(span)

    return _run


def _ledger_read(method: str, op: str):
    """The wrapper of one Tensor read method: one ledger entry per outermost read."""

    def factory(inner):
        @functools.wraps(inner)
        def read(self, *args, **kwargs):
            if not _state.active or _state.open_read is not None:
                return inner(self, *args, **kwargs)
            location, via = _origin(sys._getframe(1))
            event = TransferEvent("sync", op, 0, location, via, str(self.device),
                                  getattr(self.array, "nbytes", 0), time.perf_counter_ns(), threading.get_ident())
            _state.open_read = event
            try:
                result = inner(self, *args, **kwargs)
            finally:
                _state.open_read = None
            event.duration_ns = time.perf_counter_ns() - event.start_ns
            for prof in _state.active:  # only reads that happened: a read that raised copied nothing
                prof._transfers.append(event)
            return result

        return read

    return factory


def _on_copy(kind: str, nbytes: int) -> None:
    """The listener on ``gpugrad.backends.transfers``: called for every real copy."""
    if not _state.active:
        return
    read = _state.open_read
    if read is not None:  # the copy a read makes (a GPU .item()) joins the read's entry
        read.kind = kind
        read.nbytes += int(nbytes)
        return
    location, via = _origin(sys._getframe(1))
    event = TransferEvent(kind, via or "copy", nbytes, location, None, None, nbytes,
                          time.perf_counter_ns(), threading.get_ident())
    for prof in _state.active:
        prof._transfers.append(event)


def _origin(frame) -> tuple:
    """``(user "file:line", outermost gpugrad function called from there or None)`` for a frame."""
    via = None
    while frame is not None and _is_internal(frame.f_code.co_filename):
        via = frame.f_code.co_name
        frame = frame.f_back
    if frame is None:
        return "<unknown>", via
    return f"{frame.f_code.co_filename}:{frame.f_lineno}", via


# ------------------------------------------------------------------ formatting
def _format_bytes(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _format_table(header, rows, align: str) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]

    def line(cells):
        return "  ".join(c.ljust(w) if a == "L" else c.rjust(w) for c, w, a in zip(cells, widths, align)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _thread_name(ident: int) -> str:
    for thread in threading.enumerate():
        if thread.ident == ident:
            return thread.name
    return f"thread {ident}"
