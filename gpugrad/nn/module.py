"""Module: the base class of layers and models, holding parameters, buffers and submodules.

Assigning a :class:`Parameter`, a Module or a registered buffer to an
attribute registers it, so ``parameters()``, ``state_dict()``, ``to()`` and
``train()``/``eval()`` reach everything inside a model::

    class TwoLayer(gg.nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = gg.nn.Linear(3, 8)
            self.out = gg.nn.Linear(8, 1)

        def forward(self, x):
            return self.out(self.hidden(x).relu())

    model = TwoLayer()
    [name for name, _ in model.named_parameters()]
    # ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Mapping

from .. import dtypes
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor, _parse_to_args
from .parameter import Parameter

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of every layer and model; subclasses call ``super().__init__()`` and define ``forward``.

    Attributes:
        training: True in training mode (the default), False after ``eval()``;
            layers such as Dropout read it.
    """

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------- registration
    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, a declared but absent one such as ``bias=False``) under ``name``."""
        self._check_can_register("parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(gg.nn.Parameter or None required); wrap it: gg.nn.Parameter(tensor)"
            )
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not trained (running statistics, masks, constant weights).

        Buffers move with ``to()``; persistent ones are part of ``state_dict()``.

        Example:
            >>> self.register_buffer("running_mean", gg.zeros(8))
        """
        self._check_can_register("buffer", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or None required)"
            )
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a submodule under ``name`` (what ``self.name = module`` does)."""
        self._check_can_register("module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module(): {type(module).__name__} is not a Module subclass")
        self._forget(name, keep=self._modules)
        self._modules[name] = module

    register_module = add_module

    def _check_can_register(self, kind: str, name: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call (call super().__init__() first)")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f"{kind} name can't be empty or contain '.', got {name!r}")
        if name in self.__dict__ or (hasattr(type(self), name) and not self._is_registered(name)):
            raise KeyError(f"attribute '{name}' already exists on {type(self).__name__}; pick another {kind} name")

    def _is_registered(self, name: str) -> bool:
        return name in self._parameters or name in self._buffers or name in self._modules

    def _forget(self, name: str, keep: OrderedDict | None = None) -> None:
        """Drop ``name`` from every registry but ``keep`` (where re-assigning keeps its place in the order)."""
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)
        if keep is not self._buffers:
            self._non_persistent_buffers.discard(name)

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, Parameter):
            self.__dict__.pop(name, None)
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            self.add_module(name, value)
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' (gg.nn.Parameter or None "
                    f"expected); wrap it with gg.nn.Parameter(...) or update in place under gg.no_grad()"
                )
            self._parameters[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            self._buffers[name] = value
        elif "_modules" in self.__dict__ and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' (Module or None expected)"
                )
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # only called when normal lookup fails, i.e. for registered names
        registries = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if key in registries and name in registries[key]:
                return registries[key][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if self._is_registered(name):
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    # ------------------------------------------------------------- traversal
    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True):
        """Yield ``(qualified_name, module)`` for this module and every module inside it, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """Yield ``(name, module)`` for the direct submodules (each once)."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool = True):
        """Yield ``(qualified_name, tensor)`` from one registry of this module (and its submodules)."""
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and value in seen):
                    continue
                seen.add(value)
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield ``(qualified_name, parameter)``; a parameter shared by two layers is yielded once.

        Example:
            >>> dict(gg.nn.Linear(3, 2).named_parameters()).keys()
            dict_keys(['weight', 'bias'])
        """
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        """Yield every parameter once (what optimizers take)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target: str) -> Module:
        """The submodule at a dotted path such as ``"encoder.layers.0"`` ("" is self)."""
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule `{part}` (looking up '{target}')")
            module = child
        return module

    # ------------------------------------------------------------- modes and gradients
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and all submodules; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(): training mode is expected to be boolean, got {mode!r}")
        object.__setattr__(self, "training", mode)
        for module in self.children():
            module.train(mode)  # through each child's train(), so overrides of it are honoured
        return self

    def eval(self) -> Module:
        """Evaluation mode (Dropout becomes the identity); same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter; returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad``: drop it (default) or fill it with zeros."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                grad = param.grad
                if grad.grad_fn is not None:
                    grad.detach_()
                else:
                    grad.requires_grad_(False)
                with no_grad():
                    grad.zero_()

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on every submodule (children first) and then on self; returns self.

        Example:
            >>> def init_weights(m):
            ...     if isinstance(m, gg.nn.Linear):
            ...         gg.nn.init.zeros_(m.bias)
            >>> model.apply(init_weights)
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------- devices and dtypes
    def to(self, *args, **kwargs) -> Module:
        """Move and/or cast every parameter and buffer: ``model.to("cuda")``, ``model.to(gg.float64)``.

        Integer and bool buffers keep their dtype. The Parameter objects stay
        the same objects (their data, device and ``.grad`` are replaced in
        place), so an optimizer built before the move keeps working; this is
        what ``torch.nn.Module.to`` does too. Returns self.
        """
        device, dtype = _parse_to_args(args, kwargs)
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")

        def convert(t: Tensor) -> Tensor:
            changes = {}
            if device is not None:
                changes["device"] = device
            if dtype is not None and t.is_floating_point():
                changes["dtype"] = dtype
            return t.to(**changes) if changes else t

        return self._apply(convert)

    def _apply(self, fn) -> Module:
        """Replace each parameter's, gradient's and buffer's array with ``fn(tensor)``'s, keeping the objects."""
        with no_grad():
            for module in self.modules():
                for tensor in list(module._parameters.values()) + list(module._buffers.values()):
                    if tensor is None:
                        continue
                    _become(tensor, fn(tensor))
                    if tensor.grad is not None:
                        _become(tensor.grad, fn(tensor.grad))
        return self

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self, device=None) -> Module:
        return self.to("cuda" if device is None else device)

    def double(self) -> Module:
        return self.to(dtypes.float64)

    def float(self) -> Module:  # noqa: A003 - PyTorch's name
        return self.to(dtypes.float32)

    def half(self) -> Module:
        return self.to(dtypes.float16)

    # ------------------------------------------------------------- state dict
    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """An OrderedDict of qualified name -> tensor: every parameter and persistent buffer.

        The tensors are detached but share memory with the module (copy them
        to snapshot); ``keep_vars=True`` gives the Parameter objects themselves.

        Example:
            >>> sd = gg.nn.Linear(3, 2).state_dict()
            >>> list(sd)
            ['weight', 'bias']
        """
        if destination is None:
            destination = OrderedDict()
        for name, tensor in self._own_state(prefix):
            destination[name] = tensor if keep_vars else tensor.detach()
        return destination

    def _own_state(self, prefix: str = ""):
        """Yield ``(qualified_name, tensor)`` for the state_dict, shared tensors under every name they have."""
        for name, param in self._parameters.items():
            if param is not None:
                yield prefix + name, param
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                yield prefix + name, buffer
        for name, module in self._modules.items():
            if module is not None:
                yield from module._own_state(prefix + name + ".")

    def load_state_dict(self, state_dict: Mapping, strict: bool = True):
        """Copy values from ``state_dict`` into this module's parameters and buffers, in place.

        Values are cast to each parameter's dtype and copied to its device.
        With ``strict`` (default), missing or unexpected keys raise; a shape
        mismatch always raises. The error lists every problem found.

        Returns:
            A named tuple ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        own = OrderedDict(self._own_state())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        errors = []
        if strict:
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
        to_copy = []
        for name, target in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            if not isinstance(value, Tensor):
                errors.append(
                    f'While copying the parameter named "{name}", expected Tensor-like object from checkpoint '
                    f"but received {type(value).__name__}"
                )
            elif tuple(value.shape) != tuple(target.shape):
                errors.append(
                    f"size mismatch for {name}: copying a param with shape {tuple(value.shape)} from checkpoint, "
                    f"the shape in current model is {tuple(target.shape)}."
                )
            else:
                to_copy.append((target, value))
        if errors:
            details = "\n\t".join(errors)
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t{details}")
        with no_grad():
            for target, value in to_copy:
                target.copy_(value)
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in its repr (subclasses override it)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_indent(repr(module), 2)}" for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"


def _indent(text: str, spaces: int) -> str:
    """Indent every line but the first (the first follows a ``(name): `` prefix)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])


def _become(tensor: Tensor, new: Tensor) -> None:
    """Make ``tensor`` hold ``new``'s array and device, keeping the object (and its identity) itself.

    The version bump makes backward through a graph recorded before the move
    fail with the usual "modified by an inplace operation" message instead of
    mixing old and new data.
    """
    if new is tensor:
        return
    tensor.array = new.array
    tensor.device = new.device
    tensor._version[0] += 1
