"""The tape's nodes: ArrayFunction (one built-in op, forward and backward side by side) and AccumulateGrad.

``ArrayFunction`` is the engine's own base class for built-in ops; it is not
PyTorch's ``torch.autograd.Function`` (that one, with ``ctx`` and
``@staticmethod`` forward/backward on tensors, is ``gpugrad.autograd.Function``
in ``autograd/function.py``, built on the ``Node`` here). An ArrayFunction
subclass writes ``forward`` on raw arrays (NumPy or CuPy, through the array
module of the inputs) and one ``backward(gy, F)`` formula for both kinds of
number: ``F`` is a namespace of math functions (``gpugrad/ops/formulas.py``).
When nothing is recorded (``create_graph=False``, nearly every training step)
the engine hands the formula raw arrays and ``F`` works on arrays; with
``create_graph=True`` it hands tensors and ``F`` is gpugrad's differentiable
ops, so gradients can be differentiated again. Operators (``gy * x``) mean the
same on both; ``saved_values(F)`` and ``saved_result(F)`` give the saved
inputs and output in the matching kind::

    class Sin(ArrayFunction):
        saves_inputs = (0,)

        def forward(self, x):
            return self.xp.sin(x)

        def backward(self, gy, F):
            (x,) = self.saved_values(F)
            return gy * F.cos(x)

A ``backward(gy)`` without ``F`` is written on tensors only: the engine then
wraps the arrays into tensors for it (slower; kept for ops not yet rewritten).

Calling an instance (``Sin()(t)``) runs forward and, when grad mode is on
and an input requires grad, makes the instance the output's ``grad_fn``: a
node of the tape holding only what backward needs.
"""

from __future__ import annotations

import weakref

from numpy import asarray as _asarray, generic as _numpy_scalar, ndarray as _ndarray

from ..backends.memory import run_with_oom_retry
from .grad_mode import _state

# Set by gpugrad.tensor once Tensor exists (tensor.py imports this module, so
# importing it back here would be a cycle; a late import per call costs time).
Tensor = None
check_same_device = None

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


TENSORS, BOTH, ANY = "tensors", "both", "any"  # the kinds of backward formula, see Node.formula


class Node:
    """A vertex of the backward graph; ``ArrayFunction``, ``AccumulateGrad`` and custom-Function nodes are nodes.

    ``next_functions`` holds, per input, ``(node, 0)`` for the node that
    produced it (or accumulates into it), or ``(None, 0)`` (kept as the bare
    nodes, ``_next_nodes``: fewer tuples per recorded op). ``rank`` is one
    more than the highest rank among them, so processing nodes from the
    highest rank down visits every node after all its consumers.
    """

    _next_nodes: tuple = ()  # per input, the node its gradient goes to (None where none): what the engine reads
    rank = 0
    # what backward() takes: "tensors" only (custom Functions), "both" (a formula backward(gy, F) on raw arrays
    # or tensors) or "any" (it only routes the gradient); the engine gives arrays to all but "tensors"
    formula = TENSORS
    shape = None  # the shape of the tensor this node produces (or accumulates into)
    device = None  # where its backward runs: the engine makes it current (None: wherever the pass is)
    _pre_hooks = None  # set per node only when a hook is registered
    _retained = None  # weak references to tensors that called retain_grad()

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple:
        """PyTorch's edges ``((node, 0), ...)``: per input, the node its gradient goes to, or ``(None, 0)``."""
        return tuple((node, 0) for node in self._next_nodes)

    @next_functions.setter
    def next_functions(self, edges) -> None:
        self._next_nodes = tuple(node for node, _ in edges)

    def register_prehook(self, hook):
        """Run ``hook(grad)`` on the gradient reaching this node; a returned value replaces it."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        self._pre_hooks.append(hook)
        return _RemovableHandle(self._pre_hooks, hook)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"


class _RemovableHandle:
    """What ``register_hook`` returns; ``handle.remove()`` unregisters the hook."""

    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class AccumulateGrad(Node):
    """The node that adds a gradient into a leaf tensor's ``.grad``.

    The leaf holds its node strongly and the node holds the leaf weakly, so the
    node is made once per leaf, and a graph keeps no dropped leaf alive (no one
    could read that leaf's ``.grad`` anyway).
    """

    _post_hooks = None  # hooks run after the leaf's .grad is updated (set only when one is registered)

    def __init__(self, variable):
        self._variable = weakref.ref(variable)

    def register_post_hook(self, hook):
        """Run ``hook(leaf)`` after each accumulation into ``leaf.grad`` (see ``Tensor``'s method of that name)."""
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(hook)
        return _RemovableHandle(self._post_hooks, hook)

    @property
    def variable(self):
        return self._variable()

    @property
    def shape(self):
        leaf = self._variable()
        return leaf.array.shape if leaf is not None else None

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"


def accumulator_of(leaf) -> AccumulateGrad:
    """The one AccumulateGrad node of a leaf, made on first use."""
    node = leaf._accumulator
    if node is None:
        node = leaf._accumulator = AccumulateGrad(leaf)
    return node


# Called with each node as it is recorded, by layers above that must know of new nodes (anomaly mode keeps the
# stack that made it, gg.cond's tracing collects a branch's nodes); they register here, as this layer imports neither.
record_hooks: list = []


def add_record_hook(hook) -> _RemovableHandle:
    """Call ``hook(node)`` for every op recorded from now on (in any thread), until ``handle.remove()``."""
    record_hooks.append(hook)
    return _RemovableHandle(record_hooks, hook)


_NO_EDGE = (None, 0)
_NOT_SAVED = (None, None)


class ArrayFunction(Node):
    """Base class of the built-in differentiable ops, forward on raw arrays; see the module docstring.

    Class attributes a subclass may set:
        saves_inputs: indices of inputs that ``backward`` reads as ``saved_tensors``.
        saves_output: whether ``backward`` reads the output as ``saved_output``.
        view_of_input: the output may share memory with input 0 (reshape, slicing):
            it then shares input 0's version counter.
        backward_name: the ``grad_fn`` name; default ``<ClassName>Backward0``.

    Instance attributes while forward runs: ``device``, ``xp`` (its array
    module) and, when the op is recorded, ``needs_input_grad`` (a tuple of bools, so forward can skip work).
    """

    saves_inputs: tuple = ()
    saves_output = False
    view_of_input = False
    backward_name = None
    _saved = None
    _output_data = None
    _freed = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        code = getattr(cls.backward, "__code__", None)
        cls.formula = BOTH if code is not None and code.co_argcount == 3 else TENSORS  # backward(self, gy, F)

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad_output, F):
        raise NotImplementedError

    def name(self) -> str:
        return self.backward_name or type(self).__name__ + "Backward0"

    def __call__(self, *inputs):
        # one tensor, or a tensor and a tensor or number of one device, is nearly every call: unpacked and
        # passed to forward inline (no helper call, no *arrays), as this is every op's hot path
        count = len(inputs)
        x = inputs[0] if count else None
        if count == 2 and isinstance(x, Tensor):
            y = inputs[1]
            if isinstance(y, Tensor):
                if y.device is not x.device:
                    check_same_device(self, inputs)  # raises the mixed-device error
                arrays, needs = (x.array, y.array), (x._requires_grad, y._requires_grad)
            else:  # a Python number (x * 0.5)
                arrays, needs = (x.array, y), (x._requires_grad, False)
            device = x.device
        elif count == 1 and isinstance(x, Tensor):
            device, arrays, needs = x.device, (x.array,), (x._requires_grad,)
        else:
            device, arrays, needs = _unpack(self, inputs)
        self.device = device
        self.xp = device.xp
        record = True in needs and _state.enabled  # the thread-local read last: it costs more than the rest
        if record:
            self.needs_input_grad = needs  # forward may read it, to skip work backward will not need
        if device.type == "cpu":
            forward = self.forward
            data = forward(arrays[0], arrays[1]) if count == 2 else forward(arrays[0]) if count == 1 else forward(*arrays)
            if data.__class__ is not _ndarray and isinstance(data, _numpy_scalar):
                data = _asarray(data)  # NumPy hands back scalars for 0-d results; tensors hold arrays
        else:
            data = run_with_oom_retry(self, device, arrays)  # under the right device, one OOM retry
        out = Tensor._make(data, device, record)
        if self.view_of_input:  # an in-place change through either must invalidate both
            out._version = x._version
            out._base = x
        if record:  # make this node out.grad_fn: edges to the inputs' nodes and the rank, then saved values
            # one and two inputs unrolled and inline (_input_node too): nearly every op, and each call costs
            if count == 1:
                node = x.grad_fn or x._accumulator or accumulator_of(x)
                self._next_nodes = (node,)
                self.rank = node.rank + 1
            elif count == 2:
                a, b = inputs
                node_a = (a.grad_fn or a._accumulator or accumulator_of(a)) if needs[0] else None
                node_b = (b.grad_fn or b._accumulator or accumulator_of(b)) if needs[1] else None
                rank_a = node_a.rank if node_a is not None else 0
                rank_b = node_b.rank if node_b is not None else 0
                self._next_nodes = (node_a, node_b)
                self.rank = (rank_a if rank_a > rank_b else rank_b) + 1
            else:
                self._connect(inputs, needs)
            self.shape = data.shape  # consumers' gradients are summed back to this shape
            if self.saves_inputs or self.saves_output:
                self._save(inputs, out)
            out.grad_fn = self
            if record_hooks:
                for hook in record_hooks:
                    hook(self)
        return out

    def _connect(self, inputs, needs) -> None:
        """The edges to the nodes of the inputs that need grad, and this node's rank (``__call__`` does one or two)."""
        nodes = tuple(_input_node(x) if needed else None for x, needed in zip(inputs, needs))
        self._next_nodes = nodes
        self.rank = max(node.rank for node in nodes if node is not None) + 1

    def _save(self, inputs, out) -> None:
        """Keep what backward reads (``saves_inputs``, ``saves_output``) with the versions to check it by."""
        if self.saves_inputs:
            keep, saved = self.inputs_to_save(), []
            for i in self.saves_inputs:
                x = inputs[i]
                if i not in keep:
                    saved.append(_NOT_SAVED)
                elif isinstance(x, Tensor):
                    saved.append((x, x._version[0]))
                else:
                    saved.append((x, None))  # a Python number: nothing can change it
            self._saved = tuple(saved)
        if self.saves_output:
            self._output_data = out.array
            self._output_version = out._version
            self._output_version_at_save = out._version[0]

    def input_shape(self, i: int) -> tuple:
        """The shape of input ``i`` (that of the node its gradient goes to), for a recorded op whose input needs grad."""
        return self._next_nodes[i].shape

    def inputs_to_save(self) -> tuple:
        """Which of ``saves_inputs`` backward will read, given ``needs_input_grad``.

        Override to save less: ``a * b`` needs ``a`` only for ``b``'s gradient, so
        ``h.mul_(3)`` must not pin (and then trip over) the old ``h``.
        Unsaved entries read as None in ``saved_tensors``.
        """
        return self.saves_inputs

    @property
    def saved_tensors(self) -> tuple:
        """The inputs named in ``saves_inputs``; raises if freed or modified in place since."""
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        for tensor, version in self._saved:
            if version is not None and tensor._version[0] != version:
                raise RuntimeError(_modified_message(self, tensor._version[0], version))
        return tuple(tensor for tensor, _ in self._saved)

    def saved_values(self, F) -> tuple:
        """``saved_tensors`` for a ``backward(gy, F)`` formula: their raw arrays when ``F`` works on arrays."""
        if not F.on_arrays:
            return self.saved_tensors
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        values = []
        for value, version in self._saved:
            if version is None:  # a Python number, or not saved (None)
                values.append(value)
            elif value._version[0] != version:
                raise RuntimeError(_modified_message(self, value._version[0], version))
            else:
                values.append(value.array)
        return values

    def saved_result(self, F):
        """``saved_output`` for a ``backward(gy, F)`` formula: the raw array when ``F`` works on arrays."""
        if not F.on_arrays:
            return self.saved_output
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        if self._output_version[0] != self._output_version_at_save:
            raise RuntimeError(_modified_message(self, self._output_version[0], self._output_version_at_save))
        return self._output_data

    @property
    def saved_output(self):
        """The output as a tensor whose ``grad_fn`` is this node (so double backward sees it)."""
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        if self._output_version[0] != self._output_version_at_save:
            raise RuntimeError(_modified_message(self, self._output_version[0], self._output_version_at_save))
        out = Tensor._make(self._output_data, self.device, True)
        out._version = self._output_version
        out.grad_fn = self
        return out

    def release(self) -> None:
        """Free what backward needed; called by the engine unless ``retain_graph``."""
        if self._saved is not None or self._output_data is not None:
            self._saved = None
            self._output_data = None
            self._freed = True


def _input_node(x) -> Node:
    """The node an input's gradient goes to: the op that made it, or its accumulator if it is a leaf."""
    return x.grad_fn or x._accumulator or accumulator_of(x)


def _unpack(function, inputs) -> tuple:
    """(device, raw arrays, requires_grad flags) of an op's inputs, checking they share a device.

    ``__call__`` unpacks the common one- and two-input calls itself; this is the general case.
    """
    device, arrays, needs = None, [], []
    for x in inputs:
        if isinstance(x, Tensor):
            if x.device is not device:
                if device is not None:
                    check_same_device(function, inputs)  # raises the mixed-device error
                device = x.device
            arrays.append(x.array)
            needs.append(x._requires_grad)
        else:
            arrays.append(x)
            needs.append(False)
    if device is None:
        check_same_device(function, inputs)  # raises: no tensor among the inputs
    return device, arrays, tuple(needs)


def _modified_message(node, now: int, expected: int) -> str:
    return (
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: a tensor saved by {node.name()} is at version {now}; expected version "
        f"{expected} instead. Hint: the tensor was changed in place (add_, mul_, x[i] = v, ...) "
        "after it was used; use an out-of-place op (x = x + y) or .clone() it before the change."
    )
