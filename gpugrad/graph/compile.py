"""``gg.compile``: trace an eager function once, replay the optimized graph on later calls.

    >>> @gg.compile
    ... def step():
    ...     loss = F.mse_loss(model(x), y)
    ...     opt.zero_grad()
    ...     loss.backward()
    ...     opt.step()
    ...     return loss

Call 1 runs eagerly (so lazily created state, such as momentum buffers and
``.grad`` tensors, exists before tracing), call 2 runs under the tracer (its
results are real: tracing computes example values as it records) and calls 3,
4, ... replay the generated NumPy schedule.

Guards: the shapes, dtypes, devices and requires_grad of tensor arguments, the
values of other arguments, the shapes and dtypes of captured tensors, and
whether each ``.grad`` read while tracing was None. A failed guard re-traces;
``explain=True`` prints why, and the ``gpugrad.graph`` logger always records it.

Python numbers read from mutable state are baked into the graph. The
optimizers guard theirs (``guard_value``: a changed learning rate re-traces,
and Adam's step counter, which changes on every call, makes the function fall
back to eager after ``max_traces`` traces unless ``capturable=True`` keeps it
in a tensor). Not followed by a replay (so do not vary them between calls):
other Python numbers read from mutable state, random numbers drawn inside the
function, and which tensor objects are reached through Python containers
(optimizer state, module attributes), except ``.grad``.

An aborted trace (the function reads a value, or uses something a graph cannot
record) puts back the tensors it changed and, through ``on_abort``, the Python
state of optimizers and schedulers, so ``fallback="eager"``'s rerun counts the
call once. A function that raises its own exception while traced keeps what it
did before raising, as the eager call would have.
"""

from __future__ import annotations

import functools
import logging
import sys
import warnings

from .api import Executable, _flatten, one_device
from .passes import Program, optimize
from .tracer import TracedArray, TraceError, TraceValueError, Tracer, _slots, raw_data

log = logging.getLogger("gpugrad.graph")


class CompiledFunction:
    """What :func:`compile` returns: call it like the original function.

    Attributes:
        traces: how many times the function was traced.
        replays: how many calls replayed a graph.
        reasons: why each trace (or eager fallback) happened, newest last.
    """

    def __init__(self, fn, explain: bool = False, fallback=None, warmup: bool = True, max_traces: int = 8,
                 cuda_graph: bool = True, cache_size_limit: int = 8):
        if fallback not in (None, "eager"):
            raise ValueError(f"compile(): fallback must be None or 'eager', got {fallback!r}")
        if type(cache_size_limit) is not int or cache_size_limit < 1:
            raise ValueError(f"compile(): cache_size_limit must be an int >= 1, got {cache_size_limit!r}")
        functools.update_wrapper(self, fn)
        self.fn, self.explain, self.fallback, self.warmup = fn, explain, fallback, warmup
        self.max_traces, self.cuda_graph, self.cache_size_limit = max_traces, cuda_graph, cache_size_limit
        self.calls = self.traces = self.replays = 0
        self.reasons = []
        self.clear_cache()

    def clear_cache(self) -> None:
        """Drop every traced graph and its buffers; the next call traces afresh (``torch._dynamo.reset()``).

        Example:
            >>> step.clear_cache()   # e.g. after the shapes of a training phase stop recurring
        """
        self._entries = {}
        self._trace_counts = {}
        self._last_key = None
        self._warned_full = False
        self.last = None  # the most recently traced entry

    @property
    def cache_size(self) -> int:
        """How many traced graphs (signatures) the cache holds."""
        return sum(1 for entry in self._entries.values() if entry != "eager")

    def _note(self, message: str) -> None:
        self.reasons.append(message)
        log.debug("gg.compile(%s): %s", getattr(self.fn, "__name__", "fn"), message)
        if self.explain:
            print(f"gg.compile({getattr(self.fn, '__name__', 'fn')}): {message}", file=sys.stderr)

    def __call__(self, *args, **kwargs):
        from ..tensor import Tensor

        self.calls += 1
        if args or kwargs:
            flat, _ = _flatten([list(args), kwargs])
            tensors = [x for x in flat if isinstance(x, Tensor)]
            key = _signature(flat)
        else:  # the common training-step closure: nothing to flatten
            tensors, key = [], ()
        entry = self._entries.get(key)
        if entry == "eager":
            return self.fn(*args, **kwargs)
        if entry is not None:
            reason = entry.failed_guard()
            if reason is None:
                self.replays += 1
                return entry.replay(tensors)
            if self._trace_counts.get(key, 0) >= self.max_traces:
                return self._give_up(key, reason, args, kwargs)
            self._note(f"re-tracing: {reason}")
        elif self.calls == 1 and self.warmup:
            self._last_key = key
            return self.fn(*args, **kwargs)  # creates lazy state (grads, optimizer buffers) before tracing
        elif self.cache_size >= self.cache_size_limit:
            return self._run_uncached(args, kwargs)
        else:
            self._note("tracing: first call with this signature" if self._last_key in (None, key)
                       else f"re-tracing: {_describe_change(self._last_key, key)}")
        self._last_key = key
        return self._trace(key, args, kwargs, tensors)

    def _run_uncached(self, args, kwargs):
        """A new signature with the cache full: run eagerly rather than keep one more graph and its buffers."""
        if self._warned_full:
            return self.fn(*args, **kwargs)
        self._warned_full = True
        return self._run_eagerly_saying(
            f"{self.cache_size_limit} signatures are traced already (cache_size_limit); new ones run eagerly. Calls "
            "with many different shapes cannot all keep a graph: pad or bucket the shapes, raise cache_size_limit, "
            "or call clear_cache()", args, kwargs)

    def _give_up(self, key, reason, args, kwargs):
        """Too many re-traces of one signature: something changes on every call, so run eagerly from now on."""
        self._entries[key] = "eager"
        return self._run_eagerly_saying(
            f"traced {self.max_traces} times (max_traces) and the graph is stale again: {reason}; running eagerly "
            "from now on. A value that changes on every call cannot be baked into a graph: keep it in a tensor "
            "(Adam and AdamW do that for their step counter with capturable=True)", args, kwargs)

    def _run_eagerly_saying(self, message, args, kwargs):
        self._note(message)
        warnings.warn(f"gg.compile({getattr(self.fn, '__name__', 'fn')}): {message}", RuntimeWarning, stacklevel=4)
        return self.fn(*args, **kwargs)

    def _trace(self, key, args, kwargs, tensors):
        tracer = Tracer("compile", inputs=tensors)
        try:
            with tracer:
                result = self.fn(*args, **kwargs)
                tracer.finish()
                spec, outputs = _output_spec(tracer, result)
        except TraceError as exc:  # the function cannot be traced: undo the call, tensors and Python state
            tracer.rollback()
            if self.fallback != "eager" or not isinstance(exc, TraceValueError):
                raise
            self._entries[key] = "eager"
            self._note(f"running eagerly from now on (fallback='eager'): {str(exc).split(';')[0]}")
            return self.fn(*args, **kwargs)
        except BaseException:
            # the function itself raised: tracing computed real values, so keep what the call did before
            # raising (tensors and Python counters alike), exactly as the eager call would have
            tracer.concretize()
            raise
        self.traces += 1
        self._trace_counts[key] = self._trace_counts.get(key, 0) + 1
        del result
        entry = _Entry(tracer, spec, outputs, self.cuda_graph)
        self._entries[key] = entry
        self.last = entry
        return entry.trace_result

    # ------------------------------------------------------------- inspection
    @property
    def graph(self):
        """The optimized program of the latest trace (``print(step.graph)``)."""
        return self.last.exe.prog if self.last is not None else None

    def kernel_sources(self) -> dict:
        """Generated CUDA C source of each fused region of the latest trace."""
        return self.last.exe.kernel_sources() if self.last is not None else {}

    def to_dot(self) -> str:
        from .ir import to_dot

        prog = self.graph
        return to_dot(prog.leaves + prog.nodes, prog.outputs, getattr(self.fn, "__name__", "fn"), prog.regions)


def compile(fn=None, *, explain: bool = False, fallback=None, warmup: bool = True,  # noqa: A001 - gg.compile
            max_traces: int = 8, cuda_graph: bool = True, cache_size_limit: int = 8):
    """Compile an eager function into a static graph replayed on later calls (also a decorator).

    Args:
        fn: the function; tensors among its arguments are fed per call, tensors it
            captures (parameters, data) are read live at each call.
        explain: print why each (re-)trace happens.
        fallback: None raises when the function reads a tensor's value while tracing
            (``.item()``, ``bool()``, ...); "eager" runs it eagerly from then on and says so.
        warmup: run the first call eagerly and trace the second (default), so state
            created lazily on the first step exists before tracing.
        max_traces: how many times one signature may be traced; past that (a guarded
            value changes on every call) the function runs eagerly, with a warning.
        cuda_graph: on a GPU, replay each call as one captured CUDA graph (see
            ``gpugrad.graph.cuda.CapturedReplay``); False launches the kernels one by one.
        cache_size_limit: how many signatures (argument shapes, dtypes, ...) keep a traced
            graph and its buffers, as ``torch._dynamo.config.cache_size_limit`` (8) bounds
            recompiles; calls with further signatures run eagerly, with one warning.
            ``clear_cache()`` empties the cache.

    Returns:
        A :class:`CompiledFunction`. Its results equal the eager ones; output tensors are
        detached (call ``backward`` inside the function), and ``.grad`` tensors and
        optimizer state hold the new values after each call.

    Example:
        >>> step = gg.compile(step_fn)
        >>> for epoch in range(500):
        ...     loss = step()
    """
    options = dict(explain=explain, fallback=fallback, warmup=warmup, max_traces=max_traces, cuda_graph=cuda_graph,
                   cache_size_limit=cache_size_limit)
    if fn is None:
        return lambda f: CompiledFunction(f, **options)
    return CompiledFunction(fn, **options)


# ---------------------------------------------------------------- internals
def _signature(flat) -> tuple:
    from ..tensor import Tensor

    key = []
    for x in flat:
        if isinstance(x, Tensor):
            key.append(("tensor", tuple(x.shape), str(x.dtype), str(x.device), x.requires_grad))
        else:
            try:
                hash(x)
                key.append(("value", type(x).__name__, x))
            except TypeError:
                key.append(("object", id(x)))
    return tuple(key)


_FIELDS = ("shape", "dtype", "device", "requires_grad")


def _describe_change(old, new) -> str:
    if len(old) != len(new):
        return f"the number of arguments changed from {len(old)} to {len(new)}"
    for i, (a, b) in enumerate(zip(old, new)):
        if a != b:
            if a[0] == "tensor" and b[0] == "tensor":
                for name, x, y in zip(_FIELDS, a[1:], b[1:]):
                    if x != y:
                        return f"argument {i} {name} changed from {x} to {y}"
            return f"argument {i} changed from {a[1:]} to {b[1:]}"
    return "guards changed"


def _output_spec(tracer, result):
    """How to rebuild the function's result after a replay, and the nodes that produce it."""
    from ..tensor import Tensor

    flat, rebuild = _flatten(result)
    spec, outputs = [], []
    for leaf in flat:
        if isinstance(leaf, Tensor):
            data = raw_data(leaf)
            if not tracer.is_local(leaf) and not isinstance(data, TracedArray):
                spec.append(("same", leaf))
            elif not tracer.is_local(leaf) and data.node.kind in ("input", "external") and data.node.tensor is leaf:
                spec.append(("same", leaf))
            else:
                spec.append(("new", len(outputs)))
                outputs.append((leaf, data.node if isinstance(data, TracedArray) else tracer._const(data).node))
        else:
            spec.append(("value", leaf))
    return (spec, rebuild), outputs


class _Entry:
    """One traced signature: the executable, its guards and what a replay writes back."""

    def __init__(self, tracer, spec, outputs, cuda_graph=True):
        data_slot, grad_slot = _slots()
        self.spec, self.rebuild = spec
        output_tensors = [t for t, _ in outputs]
        for t in output_tensors:  # outputs are detached on every call, the traced one included
            t.grad_fn, t.requires_grad = None, False
        holders = [(t, n) for t, n in tracer.alive_holders() if not any(t is o for o in output_tensors)]
        self.grad_guards = []
        for owner, seen in tracer.grad_reads.values():
            lifted = seen is not None and id(seen) in tracer.externals
            self.grad_guards.append((owner, seen, lifted))
        self.grad_bindings = [(owner, grad_slot.__get__(owner)) for owner in tracer.grad_writes.values()]
        self.value_guards = list(tracer.value_guards)
        self.replay_actions = list(tracer.replay_actions)
        self.version_deltas = []
        for t, node, _, version in tracer.externals.values():
            if not tracer.is_local(t) and t._version[0] != version:
                self.version_deltas.append((t, t._version[0] - version))
        prog = Program(tracer.leaves, tracer.nodes, [n for _, n in outputs], [n for _, n in holders])
        self.device = _device_of(tracer, output_tensors)
        self.exe = Executable(optimize(prog), self.device, cuda_graph)
        import weakref

        self.bindings = [weakref.ref(t) for t, _ in holders]
        self.external_specs = [(n.tensor, n.value.shape, n.value.dtype) for n in self.exe.executor.externals]
        tracer.concretize()
        self.trace_result = self.rebuild([_pick(s, output_tensors) for s in self.spec])
        self._data_slot, self._grad_slot = data_slot, grad_slot
        from ..tensor import Tensor

        self._make = Tensor._make

    def failed_guard(self):
        """None when the traced graph still applies, else the reason it does not."""
        for read, value, description in self.value_guards:
            now = read()
            if now != value:
                return _value_change(description, value, now)
        grad_slot = self._grad_slot
        for owner, seen, lifted in self.grad_guards:
            now = grad_slot.__get__(owner)
            if seen is None and now is not None:
                return f"the .grad of a tensor of shape {tuple(owner.shape)} was None when traced and is set now"
            if seen is not None and (now is None or (lifted and now is not seen)):
                return f"the .grad of a tensor of shape {tuple(owner.shape)} was replaced since tracing"
        for t, shape, dtype in self.external_specs:
            array = raw_data(t)
            if array.shape != shape or array.dtype != dtype:
                return (f"a captured tensor changed from {shape} {dtype} to {array.shape} {array.dtype}"
                        f"{' (' + t.name + ')' if t.name else ''}")
        return None

    def replay(self, tensors):
        data_slot = self._data_slot
        arrays = self.exe([data_slot.__get__(t) for t in tensors])
        k = len(arrays) - len(self.bindings)
        for ref, value in zip(self.bindings, arrays[k:]):
            t = ref()
            if t is not None:
                data_slot.__set__(t, value)
        for owner, grad in self.grad_bindings:
            self._grad_slot.__set__(owner, grad)
        for t, delta in self.version_deltas:
            t._version[0] += delta
        for action in self.replay_actions:
            action()
        make, device = self._make, self.device
        leaves = []
        for kind, item in self.spec:
            if kind == "new":
                leaves.append(make(arrays[item], device))
            else:
                leaves.append(item)
        return self.rebuild(leaves)


def _value_change(description, old, new) -> str:
    """Why a value guard failed; for a guarded dict, the first entry that changed (``group['lr']``)."""
    if type(old) is dict and type(new) is dict and old.keys() == new.keys():
        key = next(k for k in old if old[k] != new[k])
        description, old, new = f"{description}[{key!r}]", old[key], new[key]
    return f"{description} changed from {old!r} to {new!r} (a Python value baked into the graph)"


def _device_of(tracer, output_tensors):
    """The one device a traced function's tensors live on (the CPU when it reads none)."""
    tensors = [n.tensor for n in tracer.leaves if n.kind in ("input", "external")] + list(output_tensors)
    return one_device([t.device for t in tensors], lambda names: TraceError(
        f"gg.compile: the function uses tensors on several devices ({names}); a compiled function runs on "
        "one device: move its tensors there with .to(device) before compiling"))


def _pick(spec_item, output_tensors):
    kind, item = spec_item
    return output_tensors[item] if kind == "new" else item
