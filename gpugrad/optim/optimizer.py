"""Optimizer: param groups, per-parameter state, ``zero_grad``/``step`` and state dicts, as in PyTorch.

    >>> w = gg.randn(3, requires_grad=True)
    >>> opt = gg.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(10):
    ...     opt.zero_grad()
    ...     loss = (w * w).sum()
    ...     loss.backward()
    ...     opt.step()

A subclass gives its defaults and writes ``_update_group(group, params)``,
which receives the parameters of one group that have a gradient; the base
class runs it under ``no_grad`` and bumps each updated parameter's version
counter, so graphs that saved a parameter before the step refuse to reuse it.

Under ``gg.compile`` a traced step bakes the Python values it reads (the
group's options, which state buffers exist, step counters the update reads)
into the graph. While tracing, the base class reads them through
``guard_value`` so that a replay re-traces when one has changed; eager steps
skip the guards (one check per ``step()``). A subclass whose update reads
``state["step"]`` as a Python number says so in ``_update_reads_step``. Python
step counters the traced call advanced are advanced by every replay too
(``on_replay``), so checkpoints count the steps taken, and are put back if the
trace is aborted (``on_abort``), so an eager rerun does not count the call twice.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict

import numpy as np

from .. import dtypes
from ..autograd.grad_mode import enable_grad, no_grad
from ..graph.tracer import current as active_tracer
from ..graph.tracer import guard_value, on_abort, on_replay
from ..tensor import Tensor
from ..device import on_tensor_device


class _RequiredParameter:
    """Marks a default that every param group must give (PyTorch's ``optim.optimizer.required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of the optimizers.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts
            (param groups) each with a ``"params"`` entry and any per-group options.
        defaults: the options (``lr``, ...) a group takes when it does not set them.

    Attributes:
        param_groups: a list of dicts, each with ``"params"`` (a list of Tensors) and the options.
        state: a dict from parameter *object* to that parameter's state dict (momentum
            buffers, step counts, ...). Keys are the Tensors themselves (they hash by
            identity), never ``id()``s, which Python reuses after garbage collection.
        defaults: the options given at construction.

    Example:
        >>> opt = gg.optim.Adam([{"params": [w]}, {"params": [b], "lr": 1e-2}], lr=1e-3)
        >>> opt.param_groups[1]["lr"]
        0.01
    """

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                "but got a Tensor; wrap it in a list: optimizer([tensor])"
            )
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # ----------------------------------------------------------------- groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (e.g. unfreezing layers while fine-tuning).

        Raises:
            TypeError: for a group that is not a dict, parameters in a set, or a non-Tensor parameter.
            ValueError: for a non-leaf tensor, a missing required option, or a parameter
                already in another group.

        As in PyTorch (since 0.4), a tensor that does not require grad is accepted: it
        never gets a gradient, so ``step`` skips it (frozen layers can stay in the list).
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        param_group = dict(param_group)  # the caller's dict stays as it was
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of "
                "tensors in sets will change between runs. Please use a list instead."
            )
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        param_group["params"] = params

        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(param).__name__}")
            if not (param.is_leaf or param._retains_grad):
                raise ValueError(
                    "can't optimize a non-leaf Tensor; optimize the leaf it was computed from, "
                    "or make a new leaf with t.detach().requires_grad_()"
                )
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)

        if len(params) != len(set(params)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; the duplicate is updated "
                "twice per step. Pass each parameter once.",
                stacklevel=3,
            )
        for group in self.param_groups:
            if ("param_names" in group) != ("param_names" in param_group):
                with_names = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {with_names} to the optimizer"
                )
            if not set(group["params"]).isdisjoint(params):
                raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------- training
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters.

        Args:
            set_to_none: drop the gradient tensors (the default, cheaper, and lets
                ``step`` skip parameters that got no gradient); with False, zero them in place.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if p.grad.grad_fn is not None:
                    p.grad.detach_()
                else:
                    p.grad.requires_grad = False
                with no_grad():
                    p.grad.zero_()

    def step(self, closure=None):
        """Update every parameter that has a gradient, in place.

        Args:
            closure: an optional function that zeroes the gradients, recomputes the
                loss, calls ``backward`` and returns the loss; it runs with grad enabled.

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        tracing = active_tracer() is not None
        with no_grad():
            if tracing:
                self._guard_containers()
                self._restore_state_on_abort()
            for index, group in enumerate(self.param_groups):
                params = [p for p in group["params"] if p.grad is not None]
                if params:
                    if tracing:
                        self._guard_group(index, group, params)
                        steps_before = [self.state.get(p, _NO_STATE).get("step", 0) for p in params]
                    with params[0].device.activate():  # updates call the array module directly
                        self._update_group(group, params)
                    for p in params:
                        p._version[0] += 1
                    if tracing:
                        self._count_steps_on_replay(params, steps_before)
        self._opt_called = True  # read by the lr schedulers' "scheduler stepped first" warning
        return loss

    def _update_group(self, group: dict, params: list) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _update_group(group, params)")

    def _update_reads_step(self, group: dict) -> bool:
        """Whether ``_update_group`` reads ``state["step"]`` as a Python number (then a trace guards it)."""
        return False

    # ------------------------------------------------------ gg.compile guards
    # Called only while gg.compile traces a step, *before* the update mutates anything: a guard
    # compares what its read returns at the start of a later call with what it returned here.
    def _guard_containers(self) -> None:
        """Guard that ``state`` and ``param_groups`` stay the objects the trace captured.

        ``load_state_dict`` replaces them, and a replay would go on updating the old buffers.
        """
        state, groups = self.state, list(self.param_groups)

        def same_objects():
            return self.state is state and len(self.param_groups) == len(groups) and all(
                a is b for a, b in zip(self.param_groups, groups))

        guard_value(same_objects, f"whether {type(self).__name__}.state and .param_groups are the objects seen when "
                                  "tracing (load_state_dict replaces them, add_param_group adds a group)")

    def _guard_group(self, index: int, group: dict, params: list) -> None:
        """Guard every Python value the update of ``group`` bakes into a traced graph."""
        name = type(self).__name__
        where = f"{name} param_groups[{index}]"
        keys = [key for key, value in group.items()
                if key not in ("params", "param_names") and not isinstance(value, Tensor)]
        guard_value(lambda: {key: group.get(key) for key in keys}, where)  # one read per replay for all options
        # which buffers exist decides the code path (SGD's first step, lazily created Adam moments)
        guard_value(lambda: [[key for key, value in self.state.get(p, _NO_STATE).items() if value is not None]
                             for p in params],
                    f"which {name} state buffers the parameters of param_groups[{index}] have "
                    "(created on their first step)")
        if self._update_reads_step(group):
            for p in params:
                guard_value(lambda p=p: self.state.get(p, _NO_STATE).get("step"),
                            f"{name} state['step'] of a parameter of shape {tuple(p.shape)}")

    def _restore_state_on_abort(self) -> None:
        """Put each parameter's state dict (step counters, which buffers exist) back if the trace is aborted.

        The tracer restores the buffers' values; without this, Python counters the traced call advanced
        would count the call twice when it is rerun eagerly (``fallback="eager"``).
        """
        saved = [(p, state, dict(state)) for p, state in self.state.items()]
        had_state = {p for p, _, _ in saved}
        opt_called = getattr(self, "_opt_called", False)

        def restore():
            for p in [p for p in self.state if p not in had_state]:
                del self.state[p]
            for p, state, contents in saved:
                state.clear()
                state.update(contents)
                self.state[p] = state
            self._opt_called = opt_called

        on_abort(restore)

    def _count_steps_on_replay(self, params, steps_before) -> None:
        """Make a replay of a traced step advance the Python step counters the traced call advanced.

        A replay runs only array operations; without this, ``state["step"]`` (a Python int,
        saved in checkpoints) would stop at its value from the traced call.
        """
        counted = [p for p, before in zip(params, steps_before)
                   if type(before) is int and type(self.state[p].get("step")) is int
                   and self.state[p]["step"] == before + 1]
        if counted:
            states = [self.state[p] for p in counted]

            def advance():
                for state in states:
                    state["step"] += 1

            on_replay(advance)

    # ------------------------------------------------------------ state dict
    def state_dict(self) -> dict:
        """The optimizer's state in PyTorch's layout, with copies of the state tensors.

        Returns:
            ``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``
            where parameters are numbered in order across the groups. Step counts are
            Python ints (PyTorch keeps them in 0-d tensors), or copies of the 0-d step
            tensors of a ``capturable`` Adam.

        Example:
            >>> gg.save(opt.state_dict(), "opt.ckpt")
            >>> opt.load_state_dict(gg.load("opt.ckpt"))
        """
        index_of: dict = {}  # parameter object -> index
        packed_groups = []
        start = 0
        for group in self.param_groups:
            for i, p in enumerate(group["params"], start):
                index_of.setdefault(p, i)
            packed = {key: copy.deepcopy(value) for key, value in group.items() if key != "params"}
            packed["params"] = [index_of[p] for p in group["params"]]
            packed_groups.append(packed)
            start += len(group["params"])
        packed_state = {
            (index_of[key] if isinstance(key, Tensor) else key): _clone_state(value)
            for key, value in self.state.items()
        }
        return {"state": packed_state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state from :meth:`state_dict`; the parameters are matched by their order.

        State tensors are copied onto each parameter's device, floating ones cast to
        its dtype (as PyTorch does), so a checkpoint written on a GPU loads on the CPU.
        A step count becomes what the loaded group's ``capturable`` option asks for:
        a 0-d tensor on the parameter's device (see :func:`step_tensor`), else a Python
        int. Options a saved group lacks (a checkpoint older than the option) keep
        this optimizer's values.

        Raises:
            ValueError: when the number of groups, or of parameters in a group, differs.
        """
        groups = self.param_groups
        saved_groups = state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups ({len(saved_groups)}) "
                f"than this optimizer ({len(groups)})"
            )
        for i, (group, saved) in enumerate(zip(groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size of optimizer's "
                    f"group: group {i} has {len(saved['params'])} parameters in the state dict, "
                    f"{len(group['params'])} here"
                )
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            new_group = {key: copy.deepcopy(value) for key, value in saved.items() if key != "params"}
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                new_group["param_names"] = group["param_names"]
            for key in self.defaults:
                new_group.setdefault(key, copy.deepcopy(group[key]))
            new_groups.append(new_group)
        param_of = {
            index: (p, new_group)
            for saved, group, new_group in zip(saved_groups, groups, new_groups)
            for index, p in zip(saved["params"], group["params"])
        }
        state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in param_of:
                param, group = param_of[key]
                capturable = group.get("capturable", False)
                state[param] = {name: _cast_state(param, name, v, capturable) for name, v in value.items()}
            else:
                state[key] = _clone_state(value)
        self.state = state
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key not in ("params", "param_names"))
        return "\n".join(lines) + "\n)"


# ---------------------------------------------------------------- helpers
@on_tensor_device
def zeros_state(param: Tensor, fill=0) -> Tensor:
    """A new state buffer shaped, typed and placed like ``param`` (no graph)."""
    xp = param.device.xp
    return Tensor._make(xp.full(param.array.shape, fill, dtype=param.array.dtype), param.device)


@on_tensor_device
def step_tensor(param: Tensor, value=0) -> Tensor:
    """A step counter as ``capturable`` keeps it: a 0-d tensor on ``param``'s device.

    Its dtype is PyTorch's choice: float64 when the default dtype is float64, else float32
    (a float32 counter counts exactly up to 2**24 steps).
    """
    dtype = np.float64 if dtypes.get_default_dtype() == dtypes.float64 else np.float32
    return Tensor._make(param.device.xp.full((), value, dtype=dtype), param.device)


_NO_STATE: dict = {}  # read-only stand-in for a parameter without state


def by_device(params: list, key=lambda p: None) -> list[list]:
    """Split ``params`` into runs that share a device (and ``key(p)``), keeping their order.

    The update functions take lists computed with one array module, so a group
    mixing CPU and GPU parameters (or parameters at different step counts) is
    updated in several calls.
    """
    batches: dict = {}
    for p in params:
        batches.setdefault((p.device, key(p)), []).append(p)
    return list(batches.values())


def _clone_state(value):
    """A copy of a state value in which every Tensor is a fresh detached copy."""
    if isinstance(value, Tensor):
        return Tensor._make(value.array.copy(), value.device)
    if isinstance(value, dict):
        return type(value)((k, _clone_state(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_clone_state(v) for v in value)
    return copy.deepcopy(value)


def _cast_state(param: Tensor, name, value, capturable: bool = False):
    """A loaded state value made ready for ``param``: on its device, floating tensors in its dtype."""
    if name == "step":
        if capturable:
            return step_tensor(param, value.item() if isinstance(value, Tensor) else value)
        return int(value.item()) if isinstance(value, Tensor) else value  # a PyTorch-style 0-d step tensor
    if isinstance(value, Tensor):
        array = param.device.put(value.array)
        if array.dtype.kind == "f" and array.dtype != param.array.dtype:
            array = array.astype(param.array.dtype)
        elif array is value.array:
            array = array.copy()
        return Tensor._make(array, param.device)
    if isinstance(value, dict):
        return type(value)((k, _cast_state(param, k, v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, None, v) for v in value)
    return copy.deepcopy(value)
