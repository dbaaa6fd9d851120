"""Define-then-run graphs: ``gg.Graph``, ``gg.placeholder``, ``gg.gradients``, ``graph.run`` and ``gg.cond``.

    >>> with gg.Graph() as g:
    ...     a, b = gg.placeholder((), name="a"), gg.placeholder((), name="b")
    ...     z = a * b + a
    ...     da, db = gg.gradients(z, [a, b])
    >>> g.run([z, da, db], feed={a: 3.0, b: 4.0})
    [tensor(15.), tensor(5.), tensor(3.)]

Inside the ``with`` block the normal op set builds the graph instead of
computing (tensors hold symbolic values); ``g.run`` executes only what the
fetched tensors need, as often as you like, with new feeds each time.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .. import dtypes
from ..autograd.node import AccumulateGrad, ArrayFunction, add_record_hook
from ..device import cpu, get_default_device
from ..device import resolve as device_of
from .executor import Executor
from .ir import Node, format_nodes, free_nodes, remap, to_dot
from .passes import Program, optimize
from .tracer import TraceError, TracedArray, Tracer, _slots, current, raw_data, recording_into


class Executable:
    """An optimized program plus what running it needs: live externals, folding guards, write-backs."""

    def __init__(self, prog: Program, device=None, cuda_graph: bool = True):
        self.prog = prog
        self.device = device or cpu()
        if self.device.type == "cuda":
            from .cuda import cuda_executor

            self.executor = cuda_executor(prog, self.device, capture=cuda_graph)
        else:
            self.executor = Executor(prog)
        self.fold_guard = [(n.tensor, id(raw_data(n.tensor)), n.tensor._version[0]) for n in prog.fold_sources]
        self.used_inputs = {n for node in prog.all_nodes() for n in node.inputs() if n.kind == "input"}
        self.used_inputs |= {n for n in prog.outputs if n.kind == "input"}
        self.refolds = 0
        self._captured = [n.tensor for n in self.executor.externals]
        self._read = _slots()[0].__get__  # the raw .array slot: this runs on every replay

    def externals(self) -> list:
        read = self._read
        return [read(t) for t in self._captured]

    def check_folding(self) -> None:
        """Fold again if a captured tensor behind a folded value got a new array or was changed in place."""
        for t, array_id, version in self.fold_guard:
            if id(raw_data(t)) != array_id or t._version[0] != version:
                self.executor.refold()
                self.fold_guard = [(n.tensor, id(raw_data(n.tensor)), n.tensor._version[0])
                                   for n in self.prog.fold_sources]
                self.refolds += 1
                return

    def __call__(self, input_arrays):
        if self.fold_guard:
            self.check_folding()
        return self.executor(input_arrays, self.externals())

    def kernel_sources(self) -> dict:
        from .cuda import region_sources

        return region_sources(self.prog)


def one_device(devices, error):
    """The one device among ``devices`` (the CPU for none); ``error(names)`` is raised for several."""
    found = set(devices)
    if len(found) > 1:
        raise error(", ".join(sorted(str(d) for d in found)))
    return found.pop() if found else cpu()


class Graph:
    """A static graph: build it inside ``with Graph() as g:``, run it with ``g.run(fetches, feed)``.

    Tensors made inside the block are symbolic (reading their values raises);
    tensors captured from outside (weights, data) are read live at each run,
    and in-place updates of them recorded in the graph run at each run too.

    Differs from TensorFlow 1: ``run`` returns gpugrad Tensors, and feeds must already
    be on the graph's device (no implicit host-to-device copies). A graph runs on the
    device of its placeholders (``placeholder(..., device="cuda")``) and captured
    tensors: the NumPy executor on the CPU, the GPU executor (see ``gpugrad.graph.cuda``)
    on CUDA.
    """

    def __init__(self, name: str = "graph"):
        self.name = name
        self._tracer = Tracer("graph")
        self._tracer.graph = self
        self._cache = {}

    def __enter__(self) -> "Graph":
        if self._tracer.active:
            raise RuntimeError(f"graph {self.name!r} is already open")
        self._tracer.__enter__()
        self._cache.clear()
        return self

    def __exit__(self, *exc) -> bool:
        self._tracer.finish()
        return self._tracer.__exit__(*exc)

    @property
    def placeholders(self) -> list:
        return list(self._tracer.placeholders)

    def _node_of(self, t, what: str) -> Node:
        from ..tensor import Tensor

        if not isinstance(t, Tensor):
            raise TypeError(f"Graph.run(): {what} must be a Tensor of this graph, got {type(t).__name__}")
        data = raw_data(t)
        if not isinstance(data, TracedArray):
            raise ValueError(
                f"Graph.run(): {what} (shape {tuple(data.shape)}) is an ordinary tensor, not a value of graph "
                f"{self.name!r}; fetch tensors computed inside `with graph:`"
            )
        if data.node.tracer is not self._tracer:
            other = getattr(data.node.tracer, "graph", None)
            raise ValueError(
                f"Graph.run(): {what} belongs to another graph ({getattr(other, 'name', 'a compiled function')!r}), "
                f"not to {self.name!r}; run it with its own graph"
            )
        return data.node

    def executable(self, fetches) -> Executable:
        """The optimized executable for a list of fetched tensors (cached per fetch set)."""
        self._tracer.finish()
        nodes = [self._node_of(t, f"fetch {i}") for i, t in enumerate(fetches)]
        key = tuple(n.id for n in nodes)
        exe = self._cache.get(key)
        if exe is None:
            prog = Program(self._tracer.leaves, self._tracer.nodes, nodes)
            exe = self._cache[key] = Executable(optimize(prog), self._device_of(prog))
        return exe

    def _device_of(self, prog):
        """The one device the fetched part of the graph computes on: its placeholders' and captured tensors'."""
        devices = [self._tracer.placeholder_devices[n.index] for n in prog.leaves if n.kind == "input"]
        devices += [n.tensor.device for n in prog.leaves if n.kind == "external"]
        return one_device(devices, lambda names: ValueError(
            f"Graph.run(): graph {self.name!r} mixes devices ({names}); a graph runs on one device: create "
            "its placeholders with device=... and move captured tensors there with .to(device)"))

    def run(self, fetches, feed=None):
        """Compute ``fetches`` (a tensor, or a list/tuple/dict of them) from the ``feed`` values.

        Args:
            fetches: graph tensors to compute.
            feed: ``{placeholder: value}``; values may be NumPy arrays, numbers or Tensors, of the
                placeholder's shape and dtype (Python numbers are converted).

        Returns:
            Tensors in the structure of ``fetches``.

        Raises:
            ValueError: for a feed of the wrong shape or dtype, an unfed placeholder the fetches
                need, or a fetch from another graph.
        """
        if self._tracer.active:
            raise RuntimeError("Graph.run(): leave the `with graph:` block before running the graph")
        flat, rebuild = _flatten(fetches)
        exe = self.executable(flat)
        inputs = [None] * len(self._tracer.placeholders)
        for key, value in (feed or {}).items():
            node = self._node_of(key, "a feed key")
            if node.kind != "input":
                raise ValueError(f"Graph.run(): feed key {node.name or node.op!r} is not a placeholder")
            inputs[node.index] = _feed_array(node, value, exe.device)
        for n in exe.used_inputs:
            if inputs[n.index] is None:
                raise ValueError(
                    f"Graph.run(): placeholder {n.name or n.index!r} (shape {n.value.shape}, {n.value.dtype}) "
                    "is needed by the fetches but was not fed; add it to feed={...}"
                )
        arrays = exe(inputs)
        return rebuild([_wrap(a, exe.device) for a in arrays])

    def __str__(self) -> str:
        t = self._tracer
        return f"Graph {self.name!r} ({len(t.nodes)} ops)\n" + "\n".join(format_nodes(t.leaves + t.nodes))

    def to_dot(self, fetches=None) -> str:
        """Graphviz DOT of the recorded graph, or of the optimized graph for ``fetches``."""
        if fetches is None:
            return to_dot(self._tracer.leaves + self._tracer.nodes, name=self.name)
        flat, _ = _flatten(fetches)
        prog = self.executable(flat).prog
        return to_dot(prog.leaves + prog.nodes, prog.outputs, self.name, prog.regions)

    def kernel_sources(self, fetches) -> dict:
        """The generated CUDA C source of each fused region of the optimized graph for ``fetches``."""
        flat, _ = _flatten(fetches)
        return self.executable(flat).kernel_sources()


def _wrap(array, device):
    from ..tensor import Tensor

    return Tensor._make(array, device)


def _feed_array(node, value, device):
    """The array fed for placeholder ``node`` of a graph running on ``device``, checked."""
    from ..backends import is_cupy_array
    from ..tensor import Tensor

    name = node.name or f"placeholder {node.index}"
    expected_shape, expected_dtype = node.value.shape, node.value.dtype
    if isinstance(value, Tensor):
        if value.device != device:
            raise ValueError(f"Graph.run(): feed for {name!r} is on {value.device}; the graph runs on {device}: "
                             f"feed value.to({str(device)!r})")
        value = raw_data(value)
    if isinstance(value, (bool, int, float)) and not isinstance(value, np.ndarray):
        kind = np.asarray(value).dtype.kind
        if kind == "f" and expected_dtype.kind != "f" or kind == "b" and expected_dtype.kind != "b":
            raise ValueError(f"Graph.run(): feed for {name!r} is a {type(value).__name__}, "
                             f"the placeholder is {expected_dtype}")
        value = device.put(np.asarray(value, dtype=expected_dtype))  # a number belongs to no device
    value = np.asarray(value) if isinstance(value, np.generic) else value
    on_device = isinstance(value, np.ndarray) if device.type == "cpu" else is_cupy_array(value)
    if not on_device:
        where = "a NumPy array" if device.type == "cpu" else f"a CuPy array on {device}"
        if isinstance(value, np.ndarray) or is_cupy_array(value):
            raise ValueError(f"Graph.run(): feed for {name!r} is not on {device}, where the graph runs; "
                             f"feed {where} or a Tensor on {device} (gg.tensor(value, device={str(device)!r}))")
        raise TypeError(f"Graph.run(): feed for {name!r} must be an array, a number or a Tensor, "
                        f"got {type(value).__name__}")
    if value.shape != expected_shape:
        raise ValueError(f"Graph.run(): feed for {name!r} has shape {value.shape}, "
                         f"the placeholder has shape {expected_shape}")
    if value.dtype != expected_dtype:
        raise ValueError(
            f"Graph.run(): feed for {name!r} has dtype {value.dtype}, the placeholder has dtype {expected_dtype}; "
            f"convert it first (value.astype(np.{expected_dtype}))"
        )
    return value


def _flatten(obj):
    """A flat list of leaves and a function rebuilding ``obj``'s structure from new leaves."""
    if isinstance(obj, (list, tuple)):
        parts = [_flatten(o) for o in obj]
        sizes = [len(p[0]) for p in parts]
        flat = [x for p in parts for x in p[0]]

        def rebuild(values):
            out, start = [], 0
            for (_, sub), size in zip(parts, sizes):
                out.append(sub(values[start:start + size]))
                start += size
            return type(obj)(out) if not hasattr(obj, "_fields") else type(obj)(*out)

        return flat, rebuild
    if isinstance(obj, dict):
        keys = list(obj)
        flat, rebuild_list = _flatten([obj[k] for k in keys])
        return flat, lambda values: dict(zip(keys, rebuild_list(values)))
    return [obj], lambda values: values[0]


def placeholder(shape, dtype=None, name: str | None = None, requires_grad: bool | None = None, device=None):
    """A graph input fed at run time: ``g.run(fetches, feed={p: value})``.

    Args:
        shape: the fixed shape of the values fed (a tuple; ``()`` for a scalar).
        dtype: a gpugrad dtype (default: the default float dtype).
        name: shown by ``print(graph)`` and in error messages.
        requires_grad: default True for floating dtypes, so ``gg.gradients`` can differentiate by it.
        device: where the values fed live (default: the default device); a graph runs on
            the device of its placeholders and captured tensors, the GPU executor on CUDA.

    Example:
        >>> with gg.Graph() as g:
        ...     x = gg.placeholder((3,), gg.float64, name="x")
    """
    from ..tensor import Tensor

    tracer = current()
    if tracer is None or tracer.mode != "graph":
        raise RuntimeError("placeholder(): call it inside `with gg.Graph() as g:`")
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    node = Node("input", "placeholder", value=np.zeros(shape, dt.np))
    node.index, node.name = len(tracer.placeholders), name
    proxy = tracer._add(node, top=True)
    tracer.placeholders.append(node)
    where = device_of(device) if device is not None else get_default_device()
    tracer.placeholder_devices.append(where)
    grad = dt.is_floating_point if requires_grad is None else requires_grad
    t = Tensor._make(proxy, where, grad)
    t.name = name
    return t


def gradients(ys, xs, grad_ys=None):
    """Symbolic gradients of ``sum(ys)`` with respect to each of ``xs``, added to the graph being built.

    Like TensorFlow's ``tf.gradients``: non-scalar ``ys`` are summed (their seed
    defaults to ones), and an ``x`` the ``ys`` do not depend on gets None.

    Example:
        >>> da, db = gg.gradients(a * b, [a, b])   # b and a
    """
    from ..autograd.engine import grad
    from ..creation import ones_like
    from ..tensor import Tensor

    single = isinstance(xs, Tensor)
    xs = [xs] if single else list(xs)
    ys = [ys] if isinstance(ys, Tensor) else list(ys)
    owners = [raw_data(y).node.tracer for y in ys if isinstance(raw_data(y), TracedArray)]
    with recording_into(owners[0]) if owners and owners[0].active else contextlib.nullcontext():  # ys' graph
        if grad_ys is None:
            grad_ys = [ones_like(y) for y in ys]
        elif isinstance(grad_ys, Tensor):
            grad_ys = [grad_ys]
        result = grad(ys, xs, grad_outputs=list(grad_ys), retain_graph=True, allow_unused=True)
    return result[0] if single else list(result)


# ------------------------------------------------------------------- cond
def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` else ``false_fn()``, also inside graphs and compiled functions.

    Eagerly it just runs one branch. While building a graph (or tracing for
    ``gg.compile``) both branches are recorded as sub-graphs and, at run time,
    only the branch ``pred`` selects executes; gradients flow through that
    branch. Branches return a tensor or a tuple of tensors of the same shapes
    and dtypes, and must not modify outer tensors in place.

    Example:
        >>> out = gg.cond(a > 0, lambda: a + b, lambda: a - b)
    """
    from ..tensor import Tensor

    if not isinstance(pred, Tensor) or not isinstance(raw_data(pred), TracedArray):
        return true_fn() if bool(pred) else false_fn()
    tracer = raw_data(pred).node.tracer
    if pred.array.size != 1:
        raise ValueError(f"cond(): pred must have exactly one element, got shape {tuple(pred.shape)}")
    branches, outputs, scopes = [], [], []
    for fn in (true_fn, false_fn):
        nodes, result, scope = _trace_branch(tracer, fn)
        branches.append(nodes)
        outputs.append(result)
        scopes.append(scope)
    single = isinstance(outputs[0], Tensor)
    flat = [[o] if isinstance(o, Tensor) else list(o) for o in outputs]
    _check_branches(flat)
    pred_proxy = pred.array
    take = bool(np.asarray(pred_proxy.node.value))
    out_nodes = [[t.array.node for t in ts] for ts in flat]  # .array lifts outer concrete tensors
    node = Node("cond", "cond", args=(pred_proxy.node,), value=tuple(n.value for n in out_nodes[0 if take else 1]))
    node.branches = ((branches[0], out_nodes[0]), (branches[1], out_nodes[1]))
    _export_inner_reads(tracer, node)
    tracer._add(node)
    for k, (body, _) in enumerate(node.branches):
        for n in body:
            tracer.branch_owner[n] = (node, k)
    results = []
    for k in range(len(flat[0])):
        item = tracer.call(_item, "item", (TracedArray(node), k), {})
        requires = any(ts[k].requires_grad for ts in flat)
        t = Tensor._make(item, flat[0][k].device)
        if requires and _grad_enabled():
            _attach_cond_grad(t, pred, [flat[0][k], flat[1][k]], scopes)
        results.append(t)
    return results[0] if single else tuple(results)


def _item(values, k):
    return values[k]


# A cond's branches may read values computed inside another, finished cond's branch: the backward of a
# cond reads what its forward branch saved (exp(p) for p.exp()). Generated code only defines such a value
# when that branch runs, and dead-code elimination may drop the forward cond altogether, so each such read
# is turned into an explicit output of the cond that made it (the other branch yields zeros), read through
# an ``item`` node in the enclosing scope; nested conds export it level by level.
def _export_inner_reads(tracer, cond_node) -> None:
    """Rewrite ``cond_node``'s reads of values made inside finished conds into reads of exported outputs."""
    reads = [cond_node.args[0], *free_nodes(cond_node)]  # the predicate too (a nested cond's backward reads it)
    replace = {m: _export(tracer, m) for m in reads if m in tracer.branch_owner}
    if not replace:
        return
    get = lambda m: replace.get(m, m)  # noqa: E731
    stack = [cond_node]
    while stack:  # the cond, then every node of its branches, nested conds included (no recursion)
        n = stack.pop()
        n.args, n.kwargs = remap(n.args, get), remap(n.kwargs, get)
        if n.target is not None:
            n.target = get(n.target)
        if n.branches:
            n.branches = tuple((body, [get(o) for o in outs]) for body, outs in n.branches)
            stack.extend(m for body, _ in n.branches for m in body)


def _export(tracer, m):
    """A node of the scope being recorded holding ``m``'s value, exporting it from each cond around it."""
    while m in tracer.branch_owner:
        if m in tracer.exported:
            m = tracer.exported[m]
            continue
        owner, k = tracer.branch_owner[m]
        taken = 0 if bool(np.asarray(owner.args[0].value)) else 1
        filler = tracer._const(np.zeros(m.value.shape, m.value.dtype)).node  # never read: see above
        for j, (_, outs) in enumerate(owner.branches):
            outs.append(m if j == k else filler)
        owner.value = owner.value + ((m.value if taken == k else filler.value),)
        item = Node("call", "item", _item, (owner, len(owner.value) - 1), {}, owner.value[-1])
        item.tracer, item.root = tracer, None
        tracer.all_nodes.append(item)
        scope = _scope_of(tracer, owner)
        scope.insert(_index_of(scope, owner) + 1, item)
        if owner in tracer.branch_owner:
            tracer.branch_owner[item] = tracer.branch_owner[owner]
        tracer.exported[m] = item
        m = item
    return m


def _scope_of(tracer, n) -> list:
    """The node list ``n`` was recorded into: a finished cond's branch, or a scope still being recorded."""
    if n in tracer.branch_owner:
        owner, k = tracer.branch_owner[n]
        return owner.branches[k][0]
    for scope in [tracer.nodes, *tracer.enclosing_scopes]:
        if any(x is n for x in scope):
            return scope
    raise TraceError("cond(): internal error: a value read by a branch belongs to no scope")


def _index_of(nodes, n) -> int:
    return next(i for i, x in enumerate(nodes) if x is n)


def _grad_enabled() -> bool:
    from ..autograd.grad_mode import _state

    return _state.enabled


def _check_branches(flat) -> None:
    if len(flat[0]) != len(flat[1]):
        raise TraceError(f"cond(): the branches return {len(flat[0])} and {len(flat[1])} tensors; they must match")
    for k, (a, b) in enumerate(zip(*flat)):
        if tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype:
            raise TraceError(
                f"cond(): output {k} has shape {tuple(a.shape)} {a.dtype} in the true branch but "
                f"{tuple(b.shape)} {b.dtype} in the false branch; both branches must agree"
            )


def _trace_branch(tracer, fn):
    """Record ``fn()`` into a fresh node list; also collect the autograd nodes it creates."""
    from ..tensor import Tensor

    made = set()
    saved_nodes, saved_scope = tracer.nodes, tracer.branch_scope
    tracer.enclosing_scopes.append(saved_nodes)
    tracer.branch_made.append(made)  # nested conds add their CondBackward nodes (not recorded ops)
    tracer.nodes, tracer.branch_scope = [], set()
    collecting = add_record_hook(made.add)
    try:
        with recording_into(tracer):  # creation calls and captured tensors go to this cond's graph
            result = fn()
            flat = [result] if isinstance(result, Tensor) else list(result) if isinstance(result, (tuple, list)) else None
            if not flat or not all(isinstance(t, Tensor) for t in flat):
                raise TraceError(
                    f"cond(): a branch must return a Tensor or a tuple of Tensors, got {type(result).__name__}")
            for t in flat:
                if not isinstance(t.array, TracedArray):  # lifts captured tensors into the graph
                    raise TraceError("cond(): internal error lifting a branch output")
        nodes = tracer.nodes
    finally:
        collecting.remove()
        tracer.nodes, tracer.branch_scope = saved_nodes, saved_scope
        tracer.enclosing_scopes.pop()
        tracer.branch_made.pop()
    return nodes, result, made


class CondBackward(ArrayFunction):
    """The gradient of one cond output: a cond over the two branches' gradients."""

    def __init__(self, pred, outs, boundary):
        self.pred, self.outs, self.boundary = pred, outs, boundary

    def backward(self, gy):
        from ..autograd.engine import _run
        from ..autograd.node import accumulator_of

        def branch(out):
            def run():
                start = out.grad_fn if out.grad_fn is not None else (
                    accumulator_of(out) if out.requires_grad else None)
                captured = {}
                if start is not None:
                    captured = _run([(start, gy.array, gy.device)], True, False, capture={b: None for b in self.boundary})
                return tuple(captured.get(b) if captured.get(b) is not None else _zeros(b, gy)
                             for b in self.boundary)

            return run

        grads = cond(self.pred, branch(self.outs[0]), branch(self.outs[1]))
        return grads if isinstance(grads, tuple) else (grads,)

    def release(self) -> None:
        pass


def _zeros(node, like):
    from ..tensor import Tensor

    xp = like.device.xp
    return Tensor._make(xp.zeros(node.shape, dtype=like.array.dtype), like.device)


def _attach_cond_grad(t, pred, outs, scopes) -> None:
    """Give ``t`` a grad_fn whose edges lead to the outer nodes the branch outputs depend on."""
    from ..autograd.node import accumulator_of

    boundary = []

    def add(node):
        if node is not None and node not in boundary:
            boundary.append(node)

    for out, made in zip(outs, scopes):
        if not out.requires_grad:
            continue
        start = out.grad_fn if out.grad_fn is not None else accumulator_of(out)
        if start not in made:
            add(start)
            continue
        stack, seen = [start], set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            for nxt, _ in node.next_functions:
                if nxt is None:
                    continue
                if nxt in made:
                    stack.append(nxt)
                else:
                    add(nxt)
    fn = CondBackward(pred, outs, boundary)
    for enclosing in raw_data(pred).node.tracer.branch_made:  # part of the branches being traced around it
        enclosing.add(fn)
    fn.next_functions = tuple((b, 0) for b in boundary)
    fn.rank = 1 + max((b.rank for b in boundary), default=0)
    fn.shape = raw_data(t).shape
    fn.device = t.device
    t.requires_grad, t.grad_fn = True, fn


_ = AccumulateGrad
