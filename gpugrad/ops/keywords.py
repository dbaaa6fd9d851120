"""PyTorch's keyword arguments for every public op, added in one place.

``gpugrad.ops`` passes each function it exports as ``gg.<name>`` through
:func:`torch_function`, and each Tensor method through :func:`torch_method`,
so an op written with plain parameter names (``x``, ``a``, ``b``) also takes
the names PyTorch users write:

* ``input=`` (functions) and ``other=`` for the tensor operands;
* ``axis=`` and ``keepdims=``, PyTorch's NumPy-style aliases of ``dim=``/``keepdim=``;
* a ``*shape``/``*dims`` parameter given by keyword (``x.reshape(shape=(2, 3))``, ``size=``);
* ``out=`` (functions only, as in PyTorch): the result is written into ``out`` and ``out``
  is returned; a wrong shape resizes ``out`` (with PyTorch's warning when it was not
  empty), a dtype of a lower category (float result, int ``out``) raises, and so does
  a call that autograd would have to record.

The names are read from each op's signature once, when it is wrapped; a call
without keywords costs one extra Python call.

Example:
    >>> gg.add(input=a, other=b, alpha=2, out=c)    # c is a, plus 2 * b; returns c
    >>> x.sum(axis=0, keepdims=True)
"""

from __future__ import annotations

import functools
import inspect
import warnings

from ..autograd.grad_mode import _state
from ..device import _CPU, call_on_tensor_device, on_own_device, on_tensor_device
from ..tensor import Tensor

# which of an op's own parameter names stands for PyTorch's ``input`` / ``other``
_INPUT_NAMES = ("x", "a", "t", "tensor")
_OTHER_NAMES = ("b", "y")
# PyTorch's keyword names for a variadic shape or dims parameter
_VARARG_ALIASES = {"shape": ("shape", "size"), "dims": ("dims",), "sizes": ("sizes", "size")}
# other parameters PyTorch spells differently in places (Tensor.split's is split_size)
_PARAMETER_ALIASES = {"split_size_or_sections": "split_size"}


def torch_function(fn, on_device: bool = False):
    """``fn`` taking PyTorch's keywords, ``out=`` included (see the module docstring).

    With ``on_device``, the call (and the write into ``out``) also runs with the CUDA device of its
    first tensor argument current, in the same wrapper (see ``device.on_tensor_device``).
    """
    return _wrap(fn, with_out=True, on_device=on_device)


def torch_method(fn, on_device: bool = False):
    """``fn`` as a Tensor method taking PyTorch's keywords (no ``input=`` or ``out=``, as in PyTorch)."""
    return _wrap(fn, with_out=False, on_device=on_device)


def _wrap(fn, with_out: bool, on_device: bool = False):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature: left as it is
        return on_tensor_device(fn) if on_device else fn
    aliases, vararg, leading = _keyword_plan(params, method=not with_out)
    takes_out = with_out and "out" not in params
    if not aliases and vararg is None and not takes_out:
        if not on_device:
            return fn
        return on_tensor_device(fn) if with_out else on_own_device(fn)

    def with_keywords(*args, **kwargs):
        out = kwargs.pop("out", None) if takes_out else None
        args, kwargs = _translate(args, kwargs, aliases, vararg, leading)
        if out is None:
            return fn(*args, **kwargs)
        _refuse_autograd(fn.__name__, args, kwargs, out)
        return _write_out(fn.__name__, fn(*args, **kwargs), out)

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if on_device and not (args and getattr(args[0], "device", None) is _CPU):
            return call_on_tensor_device(with_keywords, args, kwargs)
        if not kwargs:
            return fn(*args)
        return with_keywords(*args, **kwargs)

    @functools.wraps(fn)
    def method(self, *args, **kwargs):  # the same for a Tensor method: its tensor is self, no lookup needed
        if on_device and self.device is not _CPU:
            return call_on_tensor_device(with_keywords, (self, *args), kwargs)
        if not kwargs:
            return fn(self, *args)
        return with_keywords(self, *args, **kwargs)

    return op if with_out else method


def _keyword_plan(params, method: bool):
    """(keyword aliases -> parameter name, (vararg name, its keyword names) or None, parameters before it)."""
    names = [n for n, p in params.items() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    aliases = {}
    if "input" not in params and not method:  # where(condition, a, b): input is the second parameter
        target = next((n for n in names[:2] if n in _INPUT_NAMES), None)
        if target is not None:
            aliases["input"] = target
    if "other" not in params:
        target = next((n for n in names[1:] if n in _OTHER_NAMES), None)
        if target is not None:
            aliases["other"] = target
    if "dim" in params and "axis" not in params:
        aliases["axis"] = "dim"
    if "keepdim" in params and "keepdims" not in params:
        aliases["keepdims"] = "keepdim"
    aliases.update((alias, name) for name, alias in _PARAMETER_ALIASES.items() if name in params)
    vararg = next((n for n, p in params.items() if p.kind == p.VAR_POSITIONAL), None)
    if vararg is None:
        return aliases, None, ()
    leading = tuple(names[: list(params).index(vararg)])
    return aliases, (vararg, _VARARG_ALIASES.get(vararg, (vararg,))), leading


def _translate(args: tuple, kwargs: dict, aliases: dict, vararg, leading: tuple):
    """PyTorch's keywords renamed to the op's own; a variadic parameter given by keyword made positional."""
    for alias, name in aliases.items():
        if alias in kwargs:
            if name in kwargs:
                raise TypeError(f"got both {alias}= and {name}= (the same argument)")
            kwargs[name] = kwargs.pop(alias)
    if vararg is None:
        return args, kwargs
    name, keywords = vararg
    given = [k for k in keywords if k in kwargs]
    if not given:
        return args, kwargs
    values = kwargs.pop(given[0])
    values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
    head = list(args)
    for param in leading[len(args):]:
        if param not in kwargs:
            raise TypeError(f"missing argument {param!r}")
        head.append(kwargs.pop(param))
    return tuple(head) + values, kwargs


def _tensors_in(values):
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, (tuple, list)):
            yield from (t for t in v if isinstance(t, Tensor))


def _refuse_autograd(name: str, args: tuple, kwargs: dict, out) -> None:
    """PyTorch's rule: an op with ``out=`` is not recorded, so it refuses inputs that would need it."""
    if not _state.enabled:
        return
    outs = out if isinstance(out, (tuple, list)) else (out,)
    if any(t.requires_grad for t in _tensors_in(list(args) + list(kwargs.values()) + list(outs))):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic differentiation, but one of "
            "the arguments requires grad. Call it under gg.no_grad(), or drop out= and assign the result."
        )


def _write_out(name: str, result, out):
    """Copy ``result`` (a tensor or a tuple of them) into ``out`` (the same structure); return ``out``."""
    if isinstance(out, (tuple, list)):
        results = result if isinstance(result, tuple) else (result,)
        if len(out) != len(results):
            raise TypeError(f"{name}(): out= must hold {len(results)} tensors, got {len(out)}")
        for r, o in zip(results, out):
            _write_one(name, r, o)
        return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
    if not isinstance(result, Tensor):
        raise TypeError(f"{name}(): out= takes a tuple of {len(result)} tensors here, got one Tensor")
    _write_one(name, result, out)
    return out


def _write_one(name: str, result: Tensor, out) -> None:
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if out.device is not result.device:
        raise RuntimeError(
            f"{name}(): Expected out tensor to be on {result.device} (where the result is), but got {out.device}; "
            "gpugrad never moves data between devices implicitly: allocate out on the result's device"
        )
    if result.dtype.category > out.dtype.category:
        raise RuntimeError(
            f"{name}(): result type {result.dtype} can't be cast to the desired output type {out.dtype}; "
            "pass an out tensor of the result's dtype"
        )
    if out.array.shape != result.array.shape:
        if out.array.size:
            warnings.warn(
                f"{name}(): An output with one or more elements was resized since it had shape "
                f"{list(out.array.shape)}, which does not match the required output shape "
                f"{list(result.array.shape)}. This behavior is deprecated (as in PyTorch); pass an out tensor "
                "of the right shape or an empty one (gg.empty(0)).",
                UserWarning,
                stacklevel=4,
            )
        out.array = out.device.xp.empty(result.array.shape, dtype=out.array.dtype)
    out.array[...] = result.array
    out._version[0] += 1
