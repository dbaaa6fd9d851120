"""PyTorch's custom autograd Function: forward and backward on tensors, with a ``ctx``.

This is ``torch.autograd.Function`` for user code; the built-in ops use the
engine's own :class:`~gpugrad.autograd.node.ArrayFunction` (forward on raw
arrays), which is a different class with a different contract.

    >>> class Exp(gg.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         y = x.exp()
    ...         ctx.save_for_backward(y)
    ...         return y
    ...
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (y,) = ctx.saved_tensors
    ...         return grad * y
    >>> x = gg.tensor([0.0, 1.0], requires_grad=True)
    >>> Exp.apply(x).sum().backward()       # x.grad == exp(x)

``forward`` runs with grad mode off; when an input requires grad (and grad
mode is on), the outputs get one backward node, named ``ExpBackward`` as in
PyTorch. ``backward`` is written with gpugrad ops, so when it uses
differentiable ops the gradient can be differentiated again
(``create_graph=True``). Tensors given to ``ctx.save_for_backward`` are
checked against in-place changes when ``backward`` reads them.
"""

from __future__ import annotations

import functools
import inspect
import weakref

from .grad_mode import _state, no_grad
from .node import _FREED_MESSAGE, _NO_EDGE, ANY, ArrayFunction, Node, _modified_message, accumulator_of

# Set by gpugrad.tensor once Tensor exists (tensor.py imports the autograd package).
Tensor = None

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` handed to a custom Function's ``forward``/``setup_context`` and ``backward``.

    Any attribute may be set on it (``ctx.dim = dim``) for ``backward`` to read.

    Attributes:
        needs_input_grad: one bool per ``forward`` argument: does it need a gradient?
    """

    def __init__(self):
        self._to_save = ()
        self._saved = None  # after apply: (kind, value, version) per saved tensor
        self._freed = False
        self._dirty = ()
        self._non_differentiable = ()
        self.materialize_grads = True
        self.needs_input_grad = ()

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` (inputs, outputs or None) for ``backward``; call once, in forward or setup_context."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save variables, but argument {i} is of type {type(t).__name__}; "
                    "store other values as attributes (ctx.name = value)"
                )
        self._to_save = tensors

    def mark_dirty(self, *tensors) -> None:
        """Declare inputs that forward changed in place (and returns): they take this node as their grad_fn."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Declare outputs that get no gradient (indices, masks); backward receives zeros for them."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With False, ``backward`` gets None (not zeros) for outputs whose gradient was not computed."""
        self.materialize_grads = bool(value)

    @property
    def saved_tensors(self) -> tuple:
        """What ``save_for_backward`` kept; raises if freed by backward, or if one was changed in place since."""
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        if self._saved is None:
            return tuple(self._to_save)  # read inside forward, or while not recording
        return tuple(self._unpack(entry) for entry in self._saved)

    def _unpack(self, entry):
        kind, value, version = entry
        if kind == "none":
            return None
        if kind == "tensor":
            if value._version[0] != version:
                raise RuntimeError(_modified_message(self._node(), value._version[0], version))
            return value
        # an output: kept as its array and version box (holding the Tensor would make a reference cycle
        # output -> node -> ctx -> output), re-wrapped with grad_fn so double backward runs through the node
        array, device, box, grad_fn = value
        if box[0] != version:
            raise RuntimeError(_modified_message(self._node(), box[0], version))
        out = Tensor._make(array, device, True)
        out._version, out.grad_fn = box, grad_fn()
        return out


class _FunctionMeta(type):
    """Give each Function subclass a clear error when written in the old (non-static) style."""

    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        forward = namespace.get("forward")
        if forward is not None and not isinstance(forward, (staticmethod, classmethod)):
            raise TypeError(
                f"{name}.forward must be a @staticmethod taking ctx first, as in torch.autograd.Function "
                "(the non-static style is deprecated in PyTorch too). Built-in gpugrad ops, whose forward runs "
                "on raw arrays, subclass gpugrad.autograd.node.ArrayFunction instead."
            )


class Function(metaclass=_FunctionMeta):
    """Base class of custom differentiable operations, as ``torch.autograd.Function``.

    Subclass it with ``@staticmethod`` ``forward(ctx, *args)`` (or ``forward(*args)``
    plus ``setup_context(ctx, inputs, output)``) and ``backward(ctx, *grad_outputs)``
    returning one gradient per ``forward`` argument (None for non-tensors and inputs
    that need none); call it with ``MyFunction.apply(*args)``.

    Example:
        >>> class MulConstant(gg.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x, c):
        ...         ctx.c = c
        ...         return x * c
        ...
        ...     @staticmethod
        ...     def backward(ctx, grad):
        ...         return grad * ctx.c, None
        >>> MulConstant.apply(gg.ones(2, requires_grad=True), 3.0)
        tensor([3., 3.], grad_fn=<MulConstantBackward>)
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs: tuple, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use new-style "
            f"autograd function with static forward method: call {type(self).__name__}.apply(...)"
        )

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` on ``args`` and, if an input requires grad, record one node for ``backward``."""
        separate_setup = cls.setup_context is not Function.setup_context
        if kwargs:  # bound to positions, so needs_input_grad and backward's results line up with them
            forward = cls.forward if separate_setup else functools.partial(cls.forward, None)
            bound = inspect.signature(forward).bind(*args, **kwargs)
            bound.apply_defaults()
            args = bound.args
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            if separate_setup:
                output = cls.forward(*args)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args)
        if not (_state.enabled and True in ctx.needs_input_grad):
            return output
        return FunctionBackward(cls, ctx, args).connect(output)


class FunctionBackward(Node):
    """The backward node of one custom Function call (``y.grad_fn``); it runs ``backward(ctx, ...)``.

    Public attributes of ``ctx`` read through it, as PyTorch's grad_fn is the ctx
    (``y.grad_fn.saved_tensors``). Every output's ``grad_fn`` is this node when
    there is one output; with several, each output gets an ``_OutputSlot`` that
    forwards its gradient here, so hooks and ``retain_grad`` stay per output.
    """

    def __init__(self, function_cls, ctx: FunctionCtx, args: tuple):
        self.function_cls, self.ctx = function_cls, ctx
        ctx._node = weakref.ref(self)  # weak, as below: node -> ctx -> node would keep the graph alive
        self.tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        edges, rank = [], 0
        for i in self.tensor_positions:
            x = args[i]
            if x.requires_grad:
                node = x.grad_fn or accumulator_of(x)
                rank = max(rank, node.rank)
                edges.append((node, 0))
            else:
                edges.append(_NO_EDGE)
        self.next_functions, self.rank, self.num_args = tuple(edges), rank + 1, len(args)
        self.inputs = args

    def name(self) -> str:
        return self.function_cls.__name__ + "Backward"

    def __getattr__(self, attr):
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self.__dict__["ctx"], attr)

    # -------------------------------------------------------------- forward side
    def connect(self, output):
        """Make this node the grad_fn of ``output`` (a tensor or a tuple); returns what apply returns."""
        single = not isinstance(output, tuple)
        outputs = (output,) if single else output
        ctx, inputs = self.ctx, self.inputs
        del self.inputs  # only needed here: the node keeps inputs only through saved tensors and edges
        wrapped = [self._wrap(k, out, inputs) for k, out in enumerate(outputs)]
        differentiable = [isinstance(t, Tensor) and t.grad_fn is not None for t in wrapped]
        self.outputs_meta = [(t.array.shape, t.array.dtype, t.device) if isinstance(t, Tensor) else None
                             for t in wrapped]
        if differentiable.count(True) == 1 and len(wrapped) == 1:
            self.shape = wrapped[0].array.shape
        else:
            for k, t in enumerate(wrapped):
                if differentiable[k]:
                    t.grad_fn = _OutputSlot(self, k, len(wrapped), t.array.shape)
        ctx._saved = tuple(self._saved_entry(t, wrapped) for t in ctx._to_save)
        ctx._to_save = ()
        return wrapped[0] if single else tuple(wrapped)

    def _wrap(self, k: int, out, inputs):
        """Output ``k`` as the tensor the caller gets: recorded, non-differentiable, or a view of an input."""
        if not isinstance(out, Tensor):
            return out
        ctx = self.ctx
        dirty = any(out is t for t in ctx._dirty)
        if dirty and out.requires_grad and out.grad_fn is None:
            raise RuntimeError(
                f"{self.name()}: a leaf Variable that requires grad has been used in an in-place operation "
                "(marked dirty); clone it before passing it in"
            )
        if not dirty and any(out is a for a in inputs):  # returned unchanged: a view sharing the version counter
            alias = Tensor._make(out.array, out.device)
            alias._version, alias._base = out._version, out
            out = alias
        if any(out is t for t in ctx._non_differentiable) or out.array.dtype.kind != "f":
            out.requires_grad, out.grad_fn = False, None
            return out
        out.requires_grad, out.grad_fn = True, self
        return out

    @staticmethod
    def _saved_entry(t, wrapped):
        """How one saved tensor is kept: an output (not an input returned as it was) by its array."""
        if t is None:
            return ("none", None, None)
        for w in wrapped:
            if t is w and w.grad_fn is not None:
                return ("output", (w.array, w.device, w._version, weakref.ref(w.grad_fn)), w._version[0])
        return ("tensor", t, t._version[0])

    # ------------------------------------------------------------- backward side
    def backward(self, grad):
        grads = grad.grads if isinstance(grad, _Slots) else [grad]
        grads = [self._materialize(k, g) for k, g in enumerate(grads)]
        results = self.function_cls.backward(self.ctx, *grads)
        return self._per_input(results if isinstance(results, tuple) else (results,))

    def _materialize(self, k: int, g):
        """Zeros for an output whose gradient was not computed (unless set_materialize_grads(False))."""
        if g is not None or not self.ctx.materialize_grads or self.outputs_meta[k] is None:
            return g
        shape, dtype, device = self.outputs_meta[k]
        return Tensor._make(device.xp.zeros(shape, dtype=dtype), device)

    def _per_input(self, results: tuple) -> tuple:
        """backward's results (one per forward argument) checked and narrowed to the tensor inputs."""
        if len(results) < self.num_args or any(g is not None for g in results[self.num_args:]):
            raise RuntimeError(
                f"function {self.name()} returned an incorrect number of gradients (expected {self.num_args}, "
                f"got {len(results)}): backward returns one gradient per forward argument (None where none)"
            )
        for i, g in enumerate(results[: self.num_args]):
            if g is None:
                continue
            if i not in self.tensor_positions:
                raise RuntimeError(
                    f"function {self.name()} returned a gradient different than None at position {i + 1}, "
                    "but the corresponding forward input was not a Variable"
                )
            if not isinstance(g, Tensor):
                raise TypeError(f"function {self.name()} returned a {type(g).__name__} as gradient {i}; "
                                "expected a Tensor or None")
        return tuple(results[i] for i in self.tensor_positions)

    def release(self) -> None:
        """Free the saved tensors; called by the engine unless ``retain_graph``."""
        self.ctx._saved, self.ctx._freed = None, True


class _Slots:
    """The gradients of a multi-output node's outputs, one slot each; ``+`` sums slot by slot."""

    __slots__ = ("grads",)

    def __init__(self, grads: list):
        self.grads = grads

    def __add__(self, other: "_Slots") -> "_Slots":
        return _Slots([a if b is None else b if a is None else a + b for a, b in zip(self.grads, other.grads)])


class _OutputSlot(Node):
    """The grad_fn of output ``k`` of a multi-output custom Function: hands its gradient to slot ``k``."""

    formula = ANY  # routes the gradient to its slot, whatever kind it is

    def __init__(self, node: FunctionBackward, k: int, count: int, shape: tuple):
        self.node, self.k, self.count, self.shape = node, k, count, shape
        self.next_functions = ((node, 0),)
        self.rank = node.rank + 1

    def name(self) -> str:
        return self.node.name()

    def __getattr__(self, attr):  # y.grad_fn.saved_tensors, as for a single output
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self.__dict__["node"], attr)

    def backward(self, grad):
        grads = [None] * self.count
        grads[self.k] = grad
        return _Slots(grads)

    def release(self) -> None:
        pass


class _DelayedError(ArrayFunction):
    """Stands for a gradient computed by a once_differentiable backward: differentiating it raises."""

    backward_name = "Error"  # PyTorch's name

    def forward(self, x):
        return x

    def backward(self, grad):
        raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")


def once_differentiable(backward):
    """Decorate a custom Function's ``backward`` that is not itself differentiable (e.g. raw array code).

    It runs under no_grad; with ``create_graph=True`` its gradients are marked so that
    differentiating them again raises a clear error instead of giving a silent zero.
    """

    @functools.wraps(backward)
    def wrapper(ctx, *grad_outputs):
        with no_grad():
            results = backward(ctx, *grad_outputs)
        if not _state.enabled or not any(isinstance(g, Tensor) and g.requires_grad for g in grad_outputs):
            return results
        single = not isinstance(results, tuple)
        marked = [g if not isinstance(g, Tensor) else _DelayedError()(_requiring_grad(g))
                  for g in ((results,) if single else results)]
        return marked[0] if single else tuple(marked)

    return wrapper


def _requiring_grad(g):
    """``g`` as a tensor that requires grad, so _DelayedError records a node on it."""
    if g.requires_grad:
        return g
    return Tensor._make(g.array, g.device, True)
