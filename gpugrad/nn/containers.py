"""Containers: Sequential and ModuleList (submodules named "0", "1", ...), ModuleDict, ParameterList, ParameterDict."""

from __future__ import annotations

from collections import OrderedDict

from .module import Module, _indent
from .parameter import Parameter


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: integer indexing, len, iteration, append/extend/insert."""

    def _index(self, idx: int) -> int:
        size = len(self._modules)
        if not -size <= idx < size:
            raise IndexError(f"index {idx} is out of range for {type(self).__name__} of length {size}")
        return idx % size

    def _renumber(self, modules) -> None:
        self._modules.clear()
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self._from_items(list(self._modules.items())[idx])
        return list(self._modules.values())[self._index(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(list(self._modules)[self._index(idx)], module)

    def __delitem__(self, idx) -> None:
        modules = list(self._modules.values())
        if isinstance(idx, slice):
            del modules[idx]
        else:
            del modules[self._index(idx)]
        self._renumber(modules)  # keep the names 0..n-1, as PyTorch does

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)

    def pop(self, index: int = -1) -> Module:
        module = self[index]
        del self[index]
        return module


class Sequential(_ModuleSequence):
    """Modules applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Also accepts an OrderedDict of name -> module, whose names are kept.

    Example:
        >>> model = gg.nn.Sequential(gg.nn.Linear(3, 8), gg.nn.ReLU(), gg.nn.Linear(8, 1))
        >>> model[0], len(model)
        (Linear(in_features=3, out_features=8, bias=True), 3)
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    @classmethod
    def _from_items(cls, items) -> "Sequential":
        return cls(OrderedDict(items))  # a slice keeps the original names, as PyTorch's does

    def forward(self, input):
        for module in self:
            input = module(input)
        return input


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (a plain Python list's would not be).

    Example:
        >>> blocks = gg.nn.ModuleList([gg.nn.Linear(4, 4) for _ in range(3)])
        >>> for block in blocks:
        ...     x = block(x).relu()
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @classmethod
    def _from_items(cls, items) -> "ModuleList":
        return cls(module for _, module in items)

    def __iadd__(self, modules):
        return self.extend(modules)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(); iterate over it and call the modules yourself")

    def __repr__(self) -> str:
        """Like PyTorch's: consecutive identical modules are shown once, as ``(0-2): 3 x Linear(...)``."""
        if not self._modules:
            return "ModuleList()"
        reprs = [repr(module) for module in self._modules.values()]
        lines, start = [], 0
        for end in range(1, len(reprs) + 1):
            if end == len(reprs) or reprs[end] != reprs[start]:
                count = end - start
                label = f"({start})" if count == 1 else f"({start}-{end - 1}): {count} x"
                separator = ": " if count == 1 else " "
                lines.append(f"{label}{separator}{_indent(reprs[start], 2)}")
                start = end
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"


class _NamedRegistry(Module):
    """What ModuleDict and ParameterDict share: a dict interface over one of the module's registries."""

    def _registry(self) -> OrderedDict:
        raise NotImplementedError

    def __delitem__(self, key: str) -> None:
        del self._registry()[key]

    def __len__(self) -> int:
        return len(self._registry())

    def __iter__(self):
        return iter(self._registry())

    def __contains__(self, key) -> bool:
        return key in self._registry()

    def keys(self):
        return self._registry().keys()

    def items(self):
        return self._registry().items()

    def values(self):
        return self._registry().values()

    def pop(self, key: str):
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        self._registry().clear()

    def update(self, values) -> None:
        """Add the ``(name, value)`` pairs of a mapping or an iterable of pairs."""
        for key, value in values.items() if hasattr(values, "items") else values:
            self[key] = value

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); use what it holds yourself")


class ModuleDict(_NamedRegistry):
    """A dict of named submodules whose parameters are registered; keys keep their insertion order.

    Example:
        >>> heads = gg.nn.ModuleDict({"class": gg.nn.Linear(8, 3), "box": gg.nn.Linear(8, 4)})
        >>> heads["box"](gg.zeros(1, 8)).shape
        (1, 4)
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _registry(self) -> OrderedDict:
        return self._modules

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)


def _as_parameter(value) -> Parameter:
    """A Parameter as it is; a plain tensor wrapped (as PyTorch's ParameterList/Dict do)."""
    return value if isinstance(value, Parameter) or value is None else Parameter(value)


class ParameterList(Module):
    """A list of parameters registered under the names "0", "1", ... (a Python list's would not be).

    Example:
        >>> weights = gg.nn.ParameterList([gg.nn.Parameter(gg.randn(3)) for _ in range(2)])
        >>> len(list(weights.parameters()))
        2
    """

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def _index(self, idx: int) -> str:
        size = len(self._parameters)
        if not -size <= idx < size:
            raise IndexError(f"index {idx} is out of range for ParameterList of length {size}")
        return str(idx % size)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList(list(self._parameters.values())[idx])
        return self._parameters[self._index(idx)]

    def __setitem__(self, idx: int, value) -> None:
        self.register_parameter(self._index(idx), _as_parameter(value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value) -> "ParameterList":
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extend(self, values) -> "ParameterList":
        for value in values:
            self.append(value)
        return self

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterList has no forward(); use the parameters it holds yourself")

    def extra_repr(self) -> str:
        """PyTorch's layout: one line per parameter, with its dtype, size and (on a GPU) device."""
        lines = []
        for i, p in enumerate(self):
            where = f" (GPU {p.device.index})" if p.device.type == "cuda" else ""
            lines.append(f"  ({i}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}{where}]")
        return "\n".join(lines)


class ParameterDict(_NamedRegistry):
    """A dict of named parameters, registered on the module; keys keep their insertion order.

    Example:
        >>> params = gg.nn.ParameterDict({"scale": gg.nn.Parameter(gg.ones(1))})
        >>> params["scale"].shape
        (1,)
    """

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def _registry(self) -> OrderedDict:
        return self._parameters

    def __getitem__(self, key: str) -> Parameter:
        return self._parameters[key]

    def __setitem__(self, key: str, value) -> None:
        self.register_parameter(key, _as_parameter(value))

    def get(self, key: str, default=None):
        return self._parameters.get(key, default)
