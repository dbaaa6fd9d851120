"""The tape engine: walk the graph backward without recursion.

Nodes are taken from a heap, highest rank first (a node's rank is one more
than that of any node feeding it), so every node runs once, after all the
nodes that send it gradient, and the gradients reaching it are summed first.
Deep graphs (a 100 000-op chain) use no Python stack.

What a gradient is depends on ``create_graph``. Off (nearly every training
step) nothing is recorded, so gradients are raw NumPy/CuPy arrays from the
roots to the leaves: each op's one ``backward(gy, F)`` formula runs on arrays
with ``F`` the array module's math, and summing, un-broadcasting and
accumulating cost no tensors. On, gradients are tensors and ``F`` is
gpugrad's differentiable ops, so the backward pass itself is recorded.
Tensor hooks and ``retain_grad`` always see tensors; nodes whose backward
takes tensors only (custom Functions) get their arrays wrapped.
"""

from __future__ import annotations

import heapq
import itertools
import threading

import numpy as _numpy
from numpy import asarray as _asarray, generic as _numpy_scalar

from .. import backends
from .function import _Slots
from .node import ANY, BOTH, AccumulateGrad, accumulator_of
from ..backends import cupy_import
from .grad_mode import _state

# Bound on first use: the engine is imported by gpugrad.autograd, before the
# tensor and op modules it needs exist.
Tensor = sum_to = sum_array_to = TENSOR_MATH = _ARRAY_MATH = array_math = cpu = cuda_device = None

# Backward passes in several threads may reach the same leaf: its read-add-write of .grad must not interleave
# (NumPy drops the GIL inside `+=`), or gradients are lost.
_grad_lock = threading.Lock()


class _Callbacks(threading.local):
    # one list per backward pass running on this thread, innermost last (a hook may start another backward)
    stack = ()


_callbacks = _Callbacks()


def _bind() -> None:
    global Tensor, sum_to, sum_array_to, TENSOR_MATH, _ARRAY_MATH, array_math, cpu, cuda_device
    if Tensor is None:
        from ..device import cpu, device as cuda_device
        from ..ops.formulas import _ARRAY_MATH, TENSOR_MATH, array_math
        from ..ops.shape import sum_array_to, sum_to
        from ..tensor import Tensor


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves (or of ``inputs`` only).

    Args:
        tensors: a tensor or sequence of tensors to differentiate.
        grad_tensors: the vector(s) of the vector-Jacobian product; may be None for scalars.
        retain_graph: keep saved values for another backward; defaults to ``create_graph``.
        create_graph: record the backward pass, so the gradients can be differentiated again.
        inputs: accumulate only into these tensors.

    Example:
        >>> y = (x ** 2).sum(); gg.autograd.backward(y); x.grad   # == 2 * x
    """
    _bind()
    roots = _roots(tensors, grad_tensors, create_graph)
    targets = None
    if inputs is not None:
        inputs = [inputs] if _is_tensor(inputs) else list(inputs)
        if not inputs:
            raise RuntimeError("backward(): 'inputs' argument to backward() cannot be empty")
        targets = {_capture_node(t): t for t in inputs}
    _run(roots, retain_graph if retain_graph is not None else create_graph, create_graph, accumulate_into=targets)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned instead of accumulated.

    Example:
        >>> (dx,) = gg.autograd.grad((x ** 3).sum(), x, create_graph=True)   # 3x^2, differentiable
    """
    _bind()
    inputs = [inputs] if _is_tensor(inputs) else list(inputs)
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("grad(): one of the differentiated Tensors does not require grad")
    roots = _roots(outputs, grad_outputs, create_graph)
    capture = {}
    for t in inputs:
        capture.setdefault(_capture_node(t), None)
    captured = _run(roots, retain_graph if retain_graph is not None else create_graph, create_graph, capture=capture)
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(_capture_node(t))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad(): input {i} (shape {tuple(t.shape)}) was not used in the graph of the outputs; "
                "pass allow_unused=True to get None for it"
            )
        if g is not None and not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)


def queue_callback(callback) -> None:
    """Run ``callback()`` once the backward pass now running on this thread has finished.

    PyTorch's ``Variable._execution_engine.queue_callback``: a hook that sees one
    gradient at a time (``register_post_accumulate_grad_hook``) queues the work
    that needs all of them, e.g. DistributedDataParallel waiting for its last
    gradient buckets. Callbacks run in the order queued, after every gradient has
    been accumulated, and may queue more; none run if the backward pass raises.

    Raises:
        RuntimeError: when no backward pass is running on this thread.

    Example:
        >>> w.register_post_accumulate_grad_hook(lambda p: queue_callback(lambda: print("done")))
    """
    if not _callbacks.stack:
        raise RuntimeError("queue_callback(): no backward pass is running on this thread; call it from a hook")
    _callbacks.stack[-1].append(callback)


# ------------------------------------------------------------------ internals
def _is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def _capture_node(t):
    """Where ``t``'s total gradient can be read: its grad_fn, or its accumulator for a leaf."""
    return t.grad_fn if t.grad_fn is not None else accumulator_of(t)


def _roots(tensors, grads, create_graph):
    """(node, seed gradient, device) per output, checking shapes and the scalar rule.

    The seed is a tensor with ``create_graph``, else a raw array (or, for the implicit seed on the CPU,
    a NumPy scalar: NumPy's own 0-d results, and ten times cheaper per op than a 0-d array).
    """
    if grads is None and isinstance(tensors, Tensor) and tensors.grad_fn is not None and tensors.array.size == 1:
        return [(tensors.grad_fn, _implicit_seed(tensors, create_graph), tensors.device)]  # loss.backward()
    tensors = [tensors] if _is_tensor(tensors) else list(tensors)
    if grads is None or _is_tensor(grads):
        grads = [grads] * len(tensors) if grads is None else [grads]
    grads = list(grads) if isinstance(grads, (list, tuple)) else [grads]
    for g in grads:
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(
                f"gradients can be either Tensors or None, but got {type(g).__name__}; wrap values with "
                "gg.tensor(value, dtype=out.dtype, device=out.device)"
            )
    if len(grads) != len(tensors):
        raise RuntimeError(f"backward(): got {len(tensors)} tensors but {len(grads)} gradients")
    roots = []
    for i, (out, g) in enumerate(zip(tensors, grads)):
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if out.array.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            roots.append((_capture_node(out), _implicit_seed(out, create_graph), out.device))
            continue
        if g.array.shape != out.array.shape:
            raise RuntimeError(
                f"backward(): mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)} "
                f"and output[{i}] has a shape of {tuple(out.shape)}"
            )
        if g.device is not out.device:
            raise RuntimeError(f"backward(): gradient is on {g.device} but the output is on {out.device}; move it with .to()")
        roots.append((_capture_node(out), g if create_graph else g.array, out.device))
    return roots


def _implicit_seed(out, create_graph):
    """The seed of a one-element output's backward: a one of its dtype and shape, on its device."""
    array, xp = out.array, out.device.xp
    if xp is _numpy and not create_graph and not array.shape:  # the loss of nearly every step
        return array.dtype.type(1)
    with out.device.activate():  # a tracer's xp records the seed; CuPy allocates on its current device
        seed = xp.ones(array.shape, dtype=array.dtype)
    return Tensor._make(seed, out.device) if create_graph else seed


def _run(roots, retain_graph, create_graph, accumulate_into=None, capture=None):
    """Process the graph from ``roots``; return the gradients seen at the ``capture`` nodes."""
    previous = _state.enabled
    _state.enabled = bool(create_graph)  # also how the nodes below tell arrays from tensors
    queued = []  # end-of-backward callbacks (queue_callback)
    _callbacks.stack = _callbacks.stack + (queued,)
    try:
        try:
            captured = _walk(roots, retain_graph, create_graph, accumulate_into, capture)
        finally:
            _state.enabled = previous
        while queued:  # in order; a callback may queue another
            queued.pop(0)()
        return captured
    finally:
        _callbacks.stack = _callbacks.stack[:-1]


def _walk(roots, retain_graph, create_graph, accumulate_into, capture):
    pending = {}  # node -> summed gradient not yet delivered
    heap = []
    order = itertools.count()  # ties broken by first arrival, so runs are deterministic
    sum_down_to = sum_to if create_graph else sum_array_to
    for node, g, _ in roots:
        if node in pending:
            pending[node] = pending[node] + g
        else:
            pending[node] = g
            heapq.heappush(heap, (-node.rank, next(order), node))
    captured = {}
    # backward formulas and accumulation call the array module directly: on CUDA they run with the gradients'
    # device current (CuPy allocates on, and refuses arrays of, any other), the roots' first, then each node's,
    # as a graph may cross devices (x.to("cuda:1"))
    on_device = _DeviceSwitch()
    if roots:
        on_device.switch(roots[0][2])
    try:
        _walk_nodes(heap, pending, order, captured, on_device, retain_graph, create_graph, accumulate_into,
                    capture, sum_down_to)
    finally:
        on_device.restore()
    return captured


def _walk_nodes(heap, pending, order, captured, on_device, retain_graph, create_graph, accumulate_into, capture,
                sum_down_to):
    """Process nodes in reverse topological order (rank), each once its gradients are all summed."""
    push, pop = heapq.heappush, heapq.heappop
    # a formula on arrays is called right here (no _call_backward frame) unless a layer (profiler, anomaly
    # mode) wraps _call_backward: this loop is the engine's hot path
    inline = not create_graph and _call_backward is _unwrapped_call_backward
    while heap:
        node = pop(heap)[2]
        where = node.device
        if where is not on_device.current and where is not None:
            on_device.switch(where)
        g = pending.pop(node)
        if node._pre_hooks or node._retained:
            g = _apply_prehooks(node, g)
        if capture is not None and node in capture:
            captured[node] = _as_tensor(g)
        if node.__class__ is AccumulateGrad:
            leaf = node.variable  # None once the leaf was dropped: nothing could read its .grad
            if leaf is not None and capture is None and (accumulate_into is None or node in accumulate_into):
                _accumulate(leaf, g, create_graph)
                if node._post_hooks:
                    _run_post_hooks(node)
            continue
        if accumulate_into is not None and node in accumulate_into:
            _accumulate_nonleaf(accumulate_into[node], _as_tensor(g))
        if inline and node.formula is BOTH:
            xp = node.xp
            grads = node.backward(g, _ARRAY_MATH[xp] if xp in _ARRAY_MATH else array_math(xp))
            if grads.__class__ is not tuple:
                grads = (grads,)
            if len(grads) != len(node._next_nodes):
                _raise_gradient_count(node, grads)
            if not retain_graph:
                node.release()
        else:
            grads = _call_backward(node, g, retain_graph)
        for next_node, gi in zip(node._next_nodes, grads):
            if next_node is None or gi is None:
                continue
            shape = next_node.shape
            if shape is not None and gi.shape != shape:
                gi = sum_down_to(gi, shape)  # un-broadcast to the input's shape
            if next_node in pending:  # deliver (inline: this loop is the engine's hot path)
                pending[next_node] = pending[next_node] + gi
            else:
                pending[next_node] = gi
                push(heap, (-next_node.rank, next(order), next_node))


class _DeviceSwitch:
    """Makes a node's CUDA device current when the walk reaches it (CuPy works on its current device)."""

    def __init__(self):
        self.current = None
        self.before = None  # CuPy's current device before the first switch, put back by restore()

    def switch(self, device) -> None:
        self.current = device
        if device.type != "cuda":
            return
        cuda = cupy_import.cupy.cuda  # the module itself: device.xp is a recording stand-in while tracing
        if self.before is None:
            self.before = cuda.Device()
        cuda.Device(device.index).use()

    def restore(self) -> None:
        if self.before is not None:
            self.before.use()


# ------------------------------------------------------------- arrays and tensors
def _as_tensor(g):
    """A gradient as a tensor (hooks, custom Functions and callers see tensors); tensors pass as they are."""
    if g is None or isinstance(g, Tensor):
        return g
    if g.__class__ is _Slots:
        return _Slots([_as_tensor(s) for s in g.grads])
    g = _as_array(g)
    return Tensor._make(g, cuda_device("cuda", g.device.id) if backends.is_cupy_array(g) else cpu())


def _as_array(g):
    """NumPy hands back scalars for 0-d results; a tensor must hold an array."""
    return _asarray(g) if isinstance(g, _numpy_scalar) else g


def _like(g, t):
    """``t`` (a tensor from a hook or a tensors-only backward) in the kind ``g`` has: its array unless g is a tensor."""
    if t is None or isinstance(g, Tensor) or not isinstance(t, Tensor):
        return t
    return t.array


def _apply_prehooks(node, g):
    """Tensor hooks registered on a non-leaf, then ``retain_grad`` (always last, as in PyTorch)."""
    t = _as_tensor(g)
    if node._pre_hooks:
        t = _run_hooks(node._pre_hooks, t)
    if node._retained:
        for ref in node._retained:
            retained = ref()
            if retained is not None:
                with _grad_lock:
                    retained.grad = t.detach() if retained.grad is None else retained.grad + t.detach()
    return _like(g, t)


def _run_hooks(hooks, g):
    """Call each tensor hook in turn; a returned tensor replaces the gradient if it has its shape and dtype."""
    for hook in list(hooks):
        result = hook(g)
        if result is None:
            continue
        name = getattr(hook, "__name__", type(hook).__name__)
        if not isinstance(result, Tensor):
            raise TypeError(f"expected Tensor or None, but hook '{name}' returned '{type(result).__name__}'")
        if result.shape != g.shape:
            raise RuntimeError(
                f"hook '{name}' has changed the size of value: it got a gradient of shape {tuple(g.shape)} "
                f"and returned one of shape {tuple(result.shape)}"
            )
        if result.array.dtype != g.array.dtype or result.device is not g.device:
            raise RuntimeError(
                f"hook '{name}' has changed the type of value (was {g.dtype} on {g.device}, "
                f"got {result.dtype} on {result.device})"
            )
        g = result
    return g


def _run_post_hooks(node) -> None:
    """``register_post_accumulate_grad_hook`` hooks: each gets the leaf, after its ``.grad`` is updated."""
    leaf = node.variable
    for hook in list(node._post_hooks):
        hook(leaf)


def _call_backward(node, g, retain_graph):
    """Run one node's backward: one gradient per input (None where none), as the formula gave them."""
    if node.formula is BOTH and not _state.enabled:  # the common case first: a formula on raw arrays
        xp = node.xp  # the walk made the node's device current
        grads = node.backward(g, _ARRAY_MATH[xp] if xp in _ARRAY_MATH else array_math(xp))
    else:
        grads = _formula(node, g)
    if grads.__class__ is not tuple:
        grads = (grads,)
    if len(grads) != len(node._next_nodes):
        _raise_gradient_count(node, grads)
    if not retain_graph:
        node.release()
    return grads


_unwrapped_call_backward = _call_backward


def _raise_gradient_count(node, grads) -> None:
    raise RuntimeError(f"{node.name()}: backward returned {len(grads)} gradients for {len(node._next_nodes)} inputs")


def _formula(node, g):
    """``node.backward`` on ``g``: with tensors when recording (create_graph), else on raw arrays."""
    kind = node.formula
    if _state.enabled:
        return node.backward(g, TENSOR_MATH) if kind is BOTH else node.backward(g)
    if kind is BOTH:
        return node.backward(g, _ARRAY_MATH.get(node.xp) or array_math(node.xp))
    if kind is ANY:
        return node.backward(g)
    # written on tensors only (custom Functions): wrap for it, and take the arrays back
    grads = node.backward(_as_tensor(g))
    if isinstance(grads, tuple):
        return tuple(_like(g, gi) for gi in grads)
    return _like(g, grads)


def _accumulate(leaf, g, create_graph) -> None:
    """Add ``g`` into ``leaf.grad`` after the leaf's hooks; cast to the leaf's dtype if an op promoted it."""
    if create_graph:
        if g.array.dtype != leaf.array.dtype:
            g = g.to(leaf.dtype)
    elif g.dtype != leaf.array.dtype:
        g = g.astype(leaf.array.dtype)
    if leaf._hooks:
        g = _like(g, _run_hooks(leaf._hooks, _as_tensor(g)))
    with _grad_lock:
        _add_to_grad(leaf, g, create_graph)


def _add_to_grad(leaf, g, create_graph) -> None:
    grad = leaf.grad  # read once (a property; gg.compile watches it to guard on "was .grad None")
    if create_graph:
        leaf.grad = g if grad is None else grad + g
    elif grad is None:
        # copy: g may alias another leaf's gradient (a + b hands both the same one) or a user tensor
        leaf.grad = Tensor._make(_as_array(g).copy(), leaf.device)
    elif grad._requires_grad:
        leaf.grad = grad.detach() + _as_tensor(g)
    else:
        grad.array += g
        grad._version[0] += 1


def _accumulate_nonleaf(t, g) -> None:
    g = g.detach()
    with _grad_lock:
        t.grad = Tensor._make(g.array.copy(), g.device) if t.grad is None else t.grad + g
