"""Tracing at the array level: record every NumPy call gpugrad makes while a function runs.

While a :class:`Tracer` is active, tensors hold :class:`TracedArray` proxies
instead of arrays. A proxy carries a real example value and the node that
produced it; NumPy's dispatch protocols (``__array_ufunc__``,
``__array_function__``) and the proxy's own methods record each operation
and compute its example value at once. gpugrad's op code, its autograd engine
and the optimizers run unchanged, so forward ops, backward passes and
in-place updates all land in one program.

Switched from the outside while any thread traces (installed by the first
tracer to start, restored when the last one ends, even if the traced code
raises); each hook acts for the calling thread's own tracer, and in a thread
that is not tracing behaves exactly like what it replaces:

* ``Tensor.array`` and ``Tensor.grad`` become properties: reading the data of a
  tensor that holds a real array lifts it into the program (an input, a
  captured external read live at run time, or a constant), writes are logged
  so tensors left holding proxies can be bound to results, and reads of
  ``.grad`` become guards;
* the CPU device's ``xp`` becomes a recording module, so ``xp.zeros(...)`` and
  friends return proxies.

Reading a value (``.item()``, ``bool()``, ``float()``) raises
:class:`TraceValueError`; Python numbers computed from mutable state are baked
into the program as constants, and code that reads them through
:func:`guard_value` makes a replay re-check them.
"""

from __future__ import annotations

import contextlib
import operator
import threading
import weakref

import numpy as np

from .ir import Node, remap, walk


class _ThreadTracers(threading.local):
    # this thread's active tracers, innermost last (a cond branch does not push one); a class-level
    # default rather than one set in __init__, as it reads faster (every .array read checks it while tracing)
    stack = ()


_current = _ThreadTracers()


def current():
    """The calling thread's active tracer, or None (tracers in other threads do not count)."""
    stack = _current.stack
    return stack[-1] if stack else None


@contextlib.contextmanager
def recording_into(tracer):
    """Make ``tracer`` the calling thread's innermost one for a while.

    Code building an outer graph from inside a nested one (a ``gg.cond`` or ``gg.gradients`` of the
    outer graph's values) must have its creation calls and captured tensors recorded there.

    Example:
        >>> with recording_into(outer_tracer):
        ...     seed = gg.ones_like(y)   # recorded into the outer graph, not the innermost one
    """
    saved = _current.stack
    _current.stack = saved + (tracer,)
    try:
        yield tracer
    finally:
        _current.stack = saved


def guard_value(read, description: str):
    """Return ``read()``; while tracing, also make a replay check that it still returns the same value.

    For Python numbers that code under ``gg.compile`` reads from mutable state
    (an optimizer's learning rate, a step counter): the graph bakes in the value
    seen while tracing, so a later change must re-trace instead of replaying a
    stale constant. Outside a trace this is just ``read()``. A dict read guards all
    its entries at once, and a change is reported with the entry's key.

    Example:
        >>> lr = guard_value(lambda: group["lr"], "param_groups[0]['lr']")
    """
    value = read()
    tracer = current()
    if tracer is not None and tracer.mode == "compile":
        tracer.value_guards.append((read, value, description))
    return value


def on_replay(action) -> None:
    """While ``gg.compile`` traces: run ``action()`` after every later replay of this trace.

    For Python-side bookkeeping the traced call did and a replay must repeat, since
    a replay runs only array operations (an optimizer's Python step counter).
    Outside a trace this does nothing.

    Example:
        >>> on_replay(lambda: state.update(step=state["step"] + 1))
    """
    tracer = current()
    if tracer is not None and tracer.mode == "compile":
        tracer.replay_actions.append(action)


def on_abort(action) -> None:
    """While ``gg.compile`` traces: run ``action()`` if the trace is abandoned and rolled back.

    An aborted trace puts back the tensors it changed; Python-side state the traced
    code changed (an optimizer's step counter, a scheduler's epoch) must be put back
    too, or the eager rerun (``fallback="eager"``) counts the call twice.
    Outside a trace this does nothing.

    Example:
        >>> on_abort(lambda: state.update(step=step_before))
    """
    tracer = current()
    if tracer is not None and tracer.mode == "compile":
        tracer.abort_actions.append(action)


class TraceError(RuntimeError):
    """Something gpugrad cannot record in a static graph."""


class TraceValueError(TraceError):
    """The traced code read a tensor's value, which a replayed graph could not follow."""


_VALUE_MESSAGE = (
    "{what} reads the value of a traced tensor while building a static graph (gg.Graph / gg.compile); the "
    "graph would bake in this one value. Use gg.cond(pred, true_fn, false_fn) for a data-dependent branch, "
    "keep the computation in tensor ops, or pass fallback='eager' to gg.compile to run this function eagerly."
)
_ARRAY_TYPES = (np.ndarray, np.generic)


# ----------------------------------------------------------------- the proxy
def _method_fn(name):
    """One function per method name, so equal calls compare equal (common-subexpression elimination)."""
    fn = _METHOD_FNS.get(name)
    if fn is None:
        def fn(x, *args, **kwargs):
            return getattr(x, name)(*args, **kwargs)

        fn.__name__ = fn.__qualname__ = name
        fn.method = name
        _METHOD_FNS[name] = fn
    return fn


_METHOD_FNS: dict = {}


def _copyto_fn(target, value):
    """``target[...] = value`` as a function (what ``fill`` and whole-array writes record)."""
    target[...] = value


def _setitem(target, index, value):
    target[index] = value


class TracedArray:
    """A stand-in for an array while tracing: an example value plus the node that made it."""

    __slots__ = ("node", "__weakref__")
    __array_priority__ = 10_000

    def __init__(self, node: Node):
        self.node = node

    # ------------------------------------------------------------ metadata
    @property
    def shape(self):
        return self.node.value.shape

    @property
    def dtype(self):
        return self.node.value.dtype

    @property
    def ndim(self):
        return self.node.value.ndim

    @property
    def size(self):
        return self.node.value.size

    @property
    def itemsize(self):
        return self.node.value.itemsize

    @property
    def nbytes(self):
        return self.node.value.nbytes

    @property
    def strides(self):
        return getattr(self.node.value, "strides", ())

    @property
    def T(self):
        return self.transpose()

    def __len__(self):
        return len(self.node.value)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        return f"TracedArray(%{self.node.id}, shape={self.shape}, dtype={self.dtype})"

    __hash__ = object.__hash__

    # ------------------------------------------------------- value reads
    def _read(self, what):
        tracer = self.node.tracer
        if tracer is not None and not tracer.active and tracer.mode == "graph":
            raise TraceError(
                f"{what}: this tensor is a symbolic value of a gg.Graph; evaluate it with "
                "g.run(tensor, feed={...}) instead of reading it directly"
            )
        raise TraceValueError(_VALUE_MESSAGE.format(what=what))

    def item(self, *args):
        self._read("item()")

    def tolist(self):
        self._read("tolist()")

    def __bool__(self):
        self._read("bool()")

    def __float__(self):
        self._read("float()")

    def __int__(self):
        self._read("int()")

    def __index__(self):
        self._read("an index")

    def __array__(self, dtype=None, copy=None):
        self._read("converting to a NumPy array")

    # ------------------------------------------------------------ dispatch
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        tracer = _tracer_of((inputs, kwargs))
        out = kwargs.pop("out", None)
        if method == "__call__":
            if out is not None:
                (target,) = out if isinstance(out, tuple) else (out,)
                return tracer.mutate(ufunc, ufunc.__name__, inputs, kwargs, target, out_kw=True)
            return tracer.call(ufunc, ufunc.__name__, inputs, kwargs, ufunc=ufunc)
        bound = getattr(ufunc, method)
        if method == "at":
            return tracer.mutate(bound, f"{ufunc.__name__}.at", inputs, kwargs, inputs[0])
        if out is not None:
            kwargs["out"] = out
        return tracer.call(bound, f"{ufunc.__name__}.{method}", inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        tracer = _tracer_of((args, kwargs))
        name = func.__name__
        if name in _NOT_DATA:
            return func(*_examples(args), **_examples(kwargs))
        if name == "copyto":
            return tracer.mutate(_copyto_fn, "copyto", (args[1],), {}, args[0], out_kw=False, target_first=True)
        out = kwargs.get("out")
        if out is not None:
            kwargs = {k: v for k, v in kwargs.items() if k != "out"}
            fn = _with_out(func)
            return tracer.mutate(fn, name, args, kwargs, out, out_kw=True)
        return tracer.call(func, name, args, kwargs, shape_only=name in _SHAPE_ONLY)

    # ------------------------------------------------------------ operators
    def __getitem__(self, index):
        return self.node.tracer.call(operator.getitem, "getitem", (self, index), {})

    def __setitem__(self, index, value):
        self.node.tracer.mutate(_setitem, "setitem", (index, value), {}, self, target_first=True)

    def fill(self, value):
        self.node.tracer.mutate(_copyto_fn, "fill", (value,), {}, self, target_first=True)

    def __neg__(self):
        return np.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return np.abs(self)

    def __invert__(self):
        return np.invert(self)


def _binary(ufunc, reflected=False, inplace=False):
    if inplace:
        def op(self, other):
            ufunc(self, other, out=(self,))
            return self
    elif reflected:
        def op(self, other):
            return ufunc(other, self)
    else:
        def op(self, other):
            return ufunc(self, other)
    return op


for _name, _ufunc in {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide, "floordiv": np.floor_divide,
    "mod": np.remainder, "pow": np.power, "matmul": np.matmul, "and": np.bitwise_and, "or": np.bitwise_or,
    "xor": np.bitwise_xor,
}.items():
    setattr(TracedArray, f"__{_name}__", _binary(_ufunc))
    setattr(TracedArray, f"__r{_name}__", _binary(_ufunc, reflected=True))
    setattr(TracedArray, f"__i{_name}__", _binary(_ufunc, inplace=True))
for _name, _ufunc in {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
                      "eq": np.equal, "ne": np.not_equal}.items():
    setattr(TracedArray, f"__{_name}__", _binary(_ufunc))

_METHODS = (
    "sum", "mean", "max", "min", "prod", "any", "all", "argmax", "argmin", "reshape", "transpose", "swapaxes",
    "squeeze", "ravel", "flatten", "copy", "astype", "clip", "cumsum", "cumprod", "dot", "repeat", "take",
    "view", "var", "std", "round", "conj", "nonzero", "diagonal", "trace",
)


def _install_method(name):
    def method(self, *args, **kwargs):
        out = kwargs.get("out")
        if out is not None:
            kwargs = {k: v for k, v in kwargs.items() if k != "out"}
            return self.node.tracer.mutate(_method_fn(name), name, (self,) + args, kwargs, out, out_kw=True)
        return self.node.tracer.call(_method_fn(name), name, (self,) + args, kwargs)

    method.__name__ = name
    setattr(TracedArray, name, method)


for _name in _METHODS:
    _install_method(_name)

# NumPy functions answering questions about shapes and types, not values
_NOT_DATA = {"shape", "ndim", "size", "result_type", "may_share_memory", "shares_memory", "iscomplexobj",
             "isrealobj", "min_scalar_type", "can_cast"}
_SHAPE_ONLY = {"zeros_like", "ones_like", "empty_like", "full_like"}
# creation functions that take no array (NumPy cannot dispatch them to the proxy)
_CREATION = {"zeros", "ones", "empty", "full", "arange", "eye", "linspace", "identity"}
_CONVERSION = {"asarray", "array", "ascontiguousarray", "asanyarray", "asfortranarray", "copy"}


def _with_out(func):
    fn = _OUT_FNS.get(func)
    if fn is None:
        def fn(*args, out, **kwargs):
            return func(*args, out=out, **kwargs)

        fn.__name__ = func.__name__
        _OUT_FNS[func] = fn
    return fn


_OUT_FNS: dict = {}


def _tracer_of(obj):
    """The tracer recording a call on proxies: theirs (with nested graphs, that of a non-constant one)."""
    tracer = None

    def visit(x):
        nonlocal tracer
        if tracer is None or (x.node.tracer is not tracer and not _constant_like(x.node)):
            tracer = x.node.tracer

    _visit_proxies(obj, visit)
    if tracer is None:
        raise TraceError("internal: a traced call without a traced argument")
    if not tracer.active:
        raise TraceError(
            "a tensor of a gg.Graph was used outside its `with graph:` block; build the whole graph "
            "inside the block and evaluate it with graph.run(...)"
        )
    return tracer


def _constant_like(node) -> bool:
    """A constant, or a creation call reading no other value (zeros, ones; not a random draw): any graph can
    hold its value."""
    if node.kind == "const":
        return True
    return (node.kind == "call" and not node.inputs() and isinstance(node.value, np.ndarray)
            and not getattr(node.fn, "draws_random", False))


def _visit_proxies(obj, visit):
    walk(obj, visit, TracedArray)


def _map_proxies(obj, fn):
    return remap(obj, fn, TracedArray)


def _examples(obj):
    return _map_proxies(obj, lambda p: p.node.value)


# ------------------------------------------------------- the recording module
class RecordingModule:
    """Stands in for a device's ``xp`` (NumPy or CuPy) while any thread traces.

    In a thread that is tracing, it is NumPy whatever the device: creation
    functions (``zeros``, ``full``, ...) and conversions (``asarray``) are
    recorded into that thread's tracer, ``ndarray`` also admits proxies, and
    everything else is NumPy itself, whose functions and ufuncs dispatch to the
    proxies on their own (a CUDA trace computes its example values on host
    copies; the GPU executor maps the recorded NumPy calls to CuPy's). In a
    thread that is not tracing every name is the device's own module's.
    """

    def __init__(self, backend=np):
        self._backend = backend

    @property
    def __name__(self):  # noqa: A003 - code tells NumPy from CuPy by xp.__name__
        return "numpy" if _current.stack else self._backend.__name__

    def __getattr__(self, name):
        stack = _current.stack
        if not stack:
            return getattr(self._backend, name)
        attr = getattr(np, name)
        if name == "ndarray":
            return (attr, TracedArray)
        if name in _CREATION or name in _CONVERSION:
            innermost = stack[-1]

            def record(*args, **kwargs):
                # zeros_like(a value of an outer graph) belongs to that graph, like any op on its values
                found = []
                _visit_proxies((args, kwargs), found.append)
                tracer = found[0].node.tracer if found and found[0].node.tracer.active else innermost
                return tracer.call(attr, name, args, kwargs)

            record.__name__ = name
            return record
        return attr


# ------------------------------------------------------------------ the hooks
# Installed while at least one tracer is active in any thread. Each looks up the calling thread's
# tracer, so a thread doing eager work beside a trace is neither recorded nor slowed more than a
# property call; with no tracer anywhere they are uninstalled and eager code pays nothing.
_hooks_lock = threading.Lock()
_hooks_users = 0  # active tracers, all threads together
_hooks_saved = []  # (owner, attribute, original) while installed


def _properties(data_slot, grad_slot) -> tuple:
    """``Tensor.array`` and ``Tensor.grad`` as properties that report to the calling thread's tracer."""
    # locals rather than globals: the getter is the cost every .array read pays while any thread traces
    read_data, write_data = data_slot.__get__, data_slot.__set__
    read_grad, write_grad = grad_slot.__get__, grad_slot.__set__
    threads, array_types = _current, _ARRAY_TYPES + _device_array_types()

    def get_data(t):
        value = read_data(t)
        stack = threads.stack
        if stack and isinstance(value, array_types):
            return stack[-1].lift(t, value)
        return value

    def set_data(t, value):
        stack = threads.stack
        if stack:
            stack[-1].on_set_data(t, value)
        write_data(t, value)

    def get_grad(t):
        value = read_grad(t)
        stack = threads.stack
        if stack:
            stack[-1].on_get_grad(t, value)
        return value

    def set_grad(t, value):
        stack = threads.stack
        if stack:
            stack[-1].on_set_grad(t)
        write_grad(t, value)

    return property(get_data, set_data), property(get_grad, set_grad)


def _acquire_hooks() -> None:
    """Count one more active tracer; the first one installs the hooks."""
    global _hooks_users
    with _hooks_lock:
        if _hooks_users == 0:
            _install_hooks()
        _hooks_users += 1


def _release_hooks() -> None:
    """Count one tracer less; the last one puts the originals back."""
    global _hooks_users
    with _hooks_lock:
        _hooks_users -= 1
        if _hooks_users == 0:
            _put_back(_hooks_saved)


def _device_array_types() -> tuple:
    """CuPy's array type when CuPy is installed: CUDA tensors are traced too."""
    from ..backends import cupy

    return (cupy.ndarray,) if cupy is not None else ()


def _install_hooks() -> None:
    from ..backends import cupy_import
    from ..device import _cuda, cpu
    from ..tensor import Tensor

    data_slot, grad_slot = _slots()
    # every CUDA device made now, so one first used inside the trace has its stand-in too
    cuda = [_cuda(i) for i in range(cupy_import.device_count())] if cupy_import.available() else []
    devices = [cpu(), *cuda]
    _hooks_saved[:] = [(Tensor, "array", data_slot), (Tensor, "grad", grad_slot)]
    _hooks_saved.extend((d, "xp", d.xp) for d in devices)
    try:
        Tensor.array, Tensor.grad = _properties(data_slot, grad_slot)
        for d in devices:
            d.xp = RecordingModule(d.xp)
    except BaseException:
        _put_back(_hooks_saved)
        raise


def _put_back(saved: list) -> None:
    for owner, name, value in reversed(saved):
        setattr(owner, name, value)
    saved.clear()


# ----------------------------------------------------------------- the tracer
_DATA_SLOT = None
_GRAD_SLOT = None
_MISSING = object()


def _slots():
    global _DATA_SLOT, _GRAD_SLOT
    if _DATA_SLOT is None:
        from ..tensor import Tensor

        _DATA_SLOT, _GRAD_SLOT = Tensor.__dict__["array"], Tensor.__dict__["grad"]
    return _DATA_SLOT, _GRAD_SLOT


def raw_data(t):
    """A tensor's ``.array`` slot, never lifted (safe inside and outside traces)."""
    return _slots()[0].__get__(t)


class Tracer:
    """Records array operations into a list of nodes; a context manager that installs the hooks.

    Args:
        mode: "graph" (define-then-run: placeholders, results stay symbolic) or
            "compile" (tracing a function on real inputs: results are made concrete at exit).
        inputs: for "compile", the tensors passed to the function, fed per call.
    """

    def __init__(self, mode: str, inputs=()):
        self.mode = mode
        self.active = False
        self.nodes = []  # the program being recorded (a cond branch swaps in its own list)
        self.all_nodes = []
        self.inputs = list(inputs)
        self._input_index = {id(t): i for i, t in enumerate(self.inputs)}
        self.input_nodes = [None] * len(self.inputs)
        self.externals = {}  # id(tensor) -> (tensor, node, proxy, version when lifted)
        self.consts = {}  # id(array) -> (array, node)
        self.local = {}  # id -> weakref of tensors created while tracing (Tensor == is elementwise: no sets)
        self.holders = {}  # id(tensor) -> weakref of tensors whose .array was set to a proxy
        self.initial = {}  # id(tensor) -> (tensor, data before, grad before) for rollback
        self.grad_reads = {}  # id(owner) -> (owner, first .grad seen)
        self.grad_writes = {}  # id(owner) -> owner
        self.snapshots = {}  # id(array) -> (array, copy): externals mutated while tracing
        self.placeholders = []
        self.placeholder_devices = []  # the device of each placeholder's tensor
        self.value_guards = []  # (read, value seen, description): see guard_value
        self.replay_actions = []  # see on_replay
        self.abort_actions = []  # see on_abort
        self.leaves = []  # input, external and const nodes
        self.branch_scope = None  # while tracing a cond branch: the set of nodes made in it
        self.enclosing_scopes = []  # while tracing a cond branch: the node lists of the scopes around it
        self.branch_made = []  # while tracing cond branches: the autograd nodes each one made (api.cond)
        self.branch_owner = {}  # node made in a finished cond's branch -> (cond node, branch index)
        self.exported = {}  # such a node -> the item node reading it as an output of its cond (see api.cond)
        self._hooked = False  # whether this tracer counts among the users of the hooks
        self._errstate = None

    # ------------------------------------------------------------ hooks
    def __enter__(self):
        try:
            _acquire_hooks()
            self._hooked = True
            if self.mode == "graph":  # a graph computes on placeholder zeros: warnings about them mean nothing
                self._errstate = np.errstate(all="ignore")
                self._errstate.__enter__()
        except BaseException:
            self._restore()
            raise
        self.active = True
        _current.stack += (self,)
        return self

    def __exit__(self, *exc):
        self.active = False
        stack = _current.stack
        if stack and stack[-1] is self:
            _current.stack = stack[:-1]
        self._restore()
        return False

    def _restore(self):
        """Leave this tracer's error state and give up its use of the hooks (a second call does nothing)."""
        if self._errstate is not None:
            self._errstate.__exit__(None, None, None)
            self._errstate = None
        if self._hooked:
            self._hooked = False
            _release_hooks()

    # --------------------------------------------------- tensor bookkeeping
    def on_set_data(self, t, value):
        data_slot = _DATA_SLOT
        try:
            before = data_slot.__get__(t)
        except AttributeError:
            before = _MISSING
        if before is _MISSING:
            self.local[id(t)] = weakref.ref(t)
        elif id(t) not in self.initial and not self.is_local(t):
            self.initial[id(t)] = (t, before, _GRAD_SLOT.__get__(t))
        if isinstance(value, TracedArray):
            self.holders[id(t)] = weakref.ref(t)
        else:
            self.holders.pop(id(t), None)

    def on_get_grad(self, t, value):
        if self.is_local(t) or id(t) in self.grad_reads or id(t) in self.grad_writes:
            return
        self.grad_reads[id(t)] = (t, value)

    def is_local(self, t) -> bool:
        ref = self.local.get(id(t))
        return ref is not None and ref() is t

    def on_set_grad(self, t):
        if self.is_local(t):
            return
        if id(t) not in self.initial:
            self.initial[id(t)] = (t, _DATA_SLOT.__get__(t), _GRAD_SLOT.__get__(t))
        self.grad_writes[id(t)] = t

    def lift(self, t, array) -> TracedArray:
        """The proxy standing for tensor ``t``'s real array: an input, a captured external, or a constant."""
        entry = self.externals.get(id(t))
        if entry is not None and entry[0] is t and _live_array(entry[1]) is array:
            return entry[2]
        if self.is_local(t):
            return self._const(array)
        example, on_device = _host_example(array)
        index = self._input_index.get(id(t))
        if index is not None:
            node = Node("input", "input", value=example)
            node.index = index
            self.input_nodes[index] = node
        else:
            node = Node("external", "captured", value=example)
        node.device_array = on_device
        node.tensor = t
        node.name = t.name
        proxy = self._add(node, top=True)
        self.externals[id(t)] = (t, node, proxy, t._version[0])
        return proxy

    def _const(self, array) -> TracedArray:
        entry = self.consts.get(id(array))
        if entry is not None and entry[0] is array:
            return entry[2]
        key = array
        array = _host_example(array)[0]
        snapshot = array.copy() if isinstance(array, np.ndarray) else array
        node = Node("const", "const", args=(), value=array)
        node.fn = snapshot  # the replayed value
        proxy = self._add(node, top=True)
        self.consts[id(key)] = (key, node, proxy)
        return proxy

    def record_draw(self, draw) -> "TracedArray":
        """Record a random draw (``creation.RandomDraw``): drawn now for the example, afresh at each replay."""
        from ..backends import to_host

        proxy = self.call(lambda: to_host(draw()), "random", (), {})
        proxy.node.fn = draw
        return proxy

    def _foreign(self, node):
        """A value another tracer recorded (nested graphs): a constant if it is one, else a clear error."""
        if _constant_like(node):
            return self._const(node.value).node
        if node.kind == "external":  # a captured tensor the other graph lifted first: this one reads it too
            return self.lift(node.tensor, _live_array(node)).node
        raise TraceError(
            "a value computed in one static graph (gg.Graph or gg.compile) is used in another one, which cannot "
            "read it at run time; compute it inside the graph that uses it (ops on an outer graph's tensors "
            "belong to the outer graph), or feed it to this graph through a placeholder"
        )

    def _add(self, node, top=False) -> TracedArray:
        node.tracer = self
        if top:
            # inputs, externals and constants exist before anything reads them: kept apart, run first
            self.leaves.append(node)
            self.all_nodes.append(node)
        else:
            self.nodes.append(node)
            self.all_nodes.append(node)
            if self.branch_scope is not None:
                self.branch_scope.add(node)
        return TracedArray(node)

    # ------------------------------------------------------------ recording
    def _to_nodes(self, obj):
        """Proxies become their nodes; raw arrays become constant nodes."""

        def convert(x):
            if isinstance(x, TracedArray):
                return x.node if x.node.tracer is self else self._foreign(x.node)
            if isinstance(x, np.ndarray):
                return self._const(x).node
            return x

        return _map_any(obj, convert)

    def call(self, fn, op, args, kwargs, ufunc=None, shape_only=False):
        args = _lift_raw(args, self)
        kwargs = _lift_raw(kwargs, self)
        value = fn(*_examples(args), **_examples(kwargs))
        if isinstance(value, _ARRAY_TYPES):
            for p in _proxies((args, kwargs)):
                if value is p.node.value:
                    return p  # an identity (asarray of an array, astype to its own dtype)
            node = Node("call", op, fn, self._to_nodes(args), self._to_nodes(kwargs), value)
            node.ufunc, node.shape_only = ufunc, shape_only
            node.root = self._root_of(value, args, kwargs) or node
            return self._add(node)
        if isinstance(value, (tuple, list)) and value and all(isinstance(v, _ARRAY_TYPES) for v in value):
            node = Node("call", op, fn, self._to_nodes(args), self._to_nodes(kwargs), tuple(value))
            self._add(node)
            return type(value)(self.call(operator.getitem, "item", (TracedArray(node), i), {})
                               for i in range(len(value)))
        if isinstance(value, (bool, int, float, complex)) and _proxies((args, kwargs)):
            raise TraceValueError(_VALUE_MESSAGE.format(what=f"np.{op}()"))
        return value

    def mutate(self, fn, op, args, kwargs, target, out_kw=False, target_first=False):
        """Record a write into ``target``'s memory; returns the target (as in-place NumPy calls do)."""
        if not isinstance(target, TracedArray):
            raise TraceError(
                f"{op}: writing a traced value into a plain array (shape {getattr(target, 'shape', '?')}) "
                "cannot be recorded; write into a tensor's .array instead"
            )
        tnode = target.node
        if self.branch_scope is not None and tnode.root not in self.branch_scope:
            raise TraceError(
                f"{op}: a gg.cond branch writes into a tensor created outside the branch; branches must "
                "not modify outer tensors in place (return new values instead)"
            )
        args = _lift_raw(args, self)
        kwargs = _lift_raw(kwargs, self)
        root = tnode.root
        if root.kind in ("external", "input", "const") and id(root.value) not in self.snapshots:
            if isinstance(root.value, np.ndarray):
                self.snapshots[id(root.value)] = (root.value, root.value.copy())
        ex_args, ex_kwargs = _examples(args), _examples(kwargs)
        if target_first:
            fn(tnode.value, *ex_args, **ex_kwargs)
        elif out_kw:
            fn(*ex_args, out=tnode.value, **ex_kwargs)
        else:
            fn(*ex_args, **ex_kwargs)
        node = Node("mutate", op, fn, self._to_nodes(args), self._to_nodes(kwargs), None)
        node.target, node.out_kw = tnode, out_kw
        node.root = root
        node.ufunc = fn if isinstance(fn, np.ufunc) else None
        if target_first:
            node.args = (tnode,) + tuple(node.args)
            node.out_kw = False
        self._add(node)
        return target

    def _root_of(self, value, args, kwargs):
        if not isinstance(value, np.ndarray):
            return None
        for p in _proxies((args, kwargs)):
            example = p.node.value
            if isinstance(example, np.ndarray) and np.may_share_memory(value, example):
                return p.node.root
        return None

    # ------------------------------------------------------------ results
    def finish(self) -> None:
        """Fix up roots (None means "itself") once recording is over."""
        for n in self.all_nodes:
            if n.root is None:
                n.root = n

    def alive_holders(self) -> list:
        """Tensors still alive whose ``.array`` is a proxy: ``(tensor, node)`` pairs."""
        found = []
        for ref in self.holders.values():
            t = ref()
            if t is not None:
                value = _DATA_SLOT.__get__(t)
                if isinstance(value, TracedArray):
                    found.append((t, value.node))
        return found

    def concretize(self, keep_writes: bool = True) -> None:
        """Give every tensor left holding a proxy its example value (the traced call's real result).

        A CUDA trace computed on host copies: tensors on a GPU get their values uploaded,
        and (``keep_writes``) captured GPU arrays written while tracing get the new contents.
        """
        if keep_writes:
            for n in self.leaves:
                if n.device_array is not None and id(n.value) in self.snapshots:
                    with n.tensor.device.activate():
                        n.device_array[...] = n.tensor.device.put(n.value)  # any strides, unlike ndarray.set
        for t, node in self.alive_holders():
            if t.device.type == "cpu":
                _DATA_SLOT.__set__(t, node.value)
            elif node.device_array is not None and keep_writes:
                _DATA_SLOT.__set__(t, node.device_array)  # its own GPU array again (views and sharing kept)
            else:
                _DATA_SLOT.__set__(t, t.device.put(node.value))

    def rollback(self) -> None:
        """Undo the trace's effects on tensors that existed before it (after an aborted trace)."""
        self.concretize(keep_writes=False)
        for array, copy in self.snapshots.values():
            array[...] = copy
        for t, data, grad in self.initial.values():
            _DATA_SLOT.__set__(t, data)
            _GRAD_SLOT.__set__(t, grad)
        for t, _, _, version in self.externals.values():  # in-place updates bumped them; the eager rerun will
            t._version[0] = version
        for action in reversed(self.abort_actions):
            action()


def _live_array(node):
    """The array a lifted tensor held: the GPU array itself, not its host copy."""
    return node.device_array if node.device_array is not None else node.value


def _host_example(array) -> tuple:
    """``(example, device array)``: a GPU array is traced through a host copy (no device work while tracing)."""
    if isinstance(array, _ARRAY_TYPES):
        return array, None
    from ..backends import to_host

    return to_host(array), array


def _proxies(obj) -> list:
    found = []
    _visit_proxies(obj, found.append)
    return found


def _map_any(obj, fn):
    if isinstance(obj, (TracedArray, np.ndarray)):
        return fn(obj)
    t = type(obj)
    if t is tuple:
        return tuple(_map_any(item, fn) for item in obj)
    if t is list:
        return [_map_any(item, fn) for item in obj]
    if t is dict:
        return {k: _map_any(v, fn) for k, v in obj.items()}
    if t is slice:
        return slice(*(_map_any(v, fn) for v in (obj.start, obj.stop, obj.step)))
    return obj


def _lift_raw(obj, tracer):
    """Raw arrays among the arguments become constant proxies (so later writes to them are seen)."""
    return _map_any(obj, lambda x: tracer._const(x) if isinstance(x, np.ndarray) else x)
