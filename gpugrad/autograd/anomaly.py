"""Anomaly detection: find the forward line behind a NaN or Inf gradient.

    >>> x = gg.tensor(0.0, requires_grad=True)
    >>> with gg.autograd.detect_anomaly():
    ...     y = gg.log(x) * 0          # log(0) = -inf, times 0 = nan
    ...     y.backward()
    RuntimeError: Function 'LogBackward0' returned nan values in its 0th output.
    The forward op Log that created this node ran at example.py:3 ...

While it is on, every recorded op keeps the user-code stack that created
it, and every backward node's gradients are checked for NaN and Inf. It is
a debugging mode: both cost time, so leave it off in real runs.

It is an optional layer, not a branch in the core: entering it registers a
hook on every recorded op (``node.add_record_hook``, to record the stack) and
wraps the engine's ``_call_backward`` (to check the gradients); leaving it
removes both, so the default path has no anomaly code at all. ``interpose`` (below) is the
small mechanism that does this; ``gpugrad.profiler`` uses it too, so layers
can be switched on and off in any order.
"""

from __future__ import annotations

import functools
import linecache
import os
import sys
import threading

import numpy as np

from .. import backends
from . import engine
from .function import FunctionBackward
from .node import add_record_hook

__all__ = ["AnomalyError", "detect_anomaly", "is_anomaly_check_nan_enabled", "is_anomaly_enabled",
           "set_detect_anomaly"]


# ------------------------------------------------------- optional layers (shared)
_MISSING = object()
_layer_lock = threading.RLock()
_sites: dict = {}  # (id(owner), attr) -> _Site


class _Site:
    """One patched attribute: the original and the wrapper factories stacked on it, innermost first."""

    def __init__(self, owner, attr: str):
        self.owner, self.attr = owner, attr
        self.original = vars(owner).get(attr, _MISSING)
        self.factories: list = []

    def rebuild(self) -> None:
        if not self.factories:
            if self.original is _MISSING:
                delattr(self.owner, self.attr)
            else:
                setattr(self.owner, self.attr, self.original)
            return
        fn = self.original if self.original is not _MISSING else getattr(self.owner, self.attr)
        for factory in self.factories:
            fn = factory(fn)
        setattr(self.owner, self.attr, fn)


class LayerHandle:
    """What ``interpose`` returns; ``remove()`` takes the wrapper off again (idempotent)."""

    def __init__(self, key, factory):
        self._key, self._factory = key, factory

    def remove(self) -> None:
        with _layer_lock:
            site = _sites.get(self._key)
            if site is None or self._factory not in site.factories:
                return
            site.factories.remove(self._factory)
            site.rebuild()
            if not site.factories:
                del _sites[self._key]


def interpose(owner, attr: str, factory) -> LayerHandle:
    """Replace ``owner.attr`` by ``factory(inner)`` until the returned handle is removed.

    Several layers may wrap the same attribute; each wrapper is rebuilt from
    the untouched original whenever one is added or removed, so layers can be
    removed in any order, and once the last one goes the original object is
    put back (``ArrayFunction.__call__ is`` the very same function again).

    Args:
        owner: a class or module, e.g. ``ArrayFunction`` or ``gpugrad.autograd.engine``.
        attr: the attribute to wrap, e.g. ``"__call__"``.
        factory: ``inner -> wrapper``; the wrapper must call ``inner`` with the same arguments.

    Example:
        >>> handle = interpose(ArrayFunction, "__call__", lambda inner: lambda self, *xs: inner(self, *xs))
        >>> handle.remove()
    """
    key = (id(owner), attr)
    with _layer_lock:
        site = _sites.get(key)
        if site is None:
            site = _sites[key] = _Site(owner, attr)
        site.factories.append(factory)
        site.rebuild()
    return LayerHandle(key, factory)


# ------------------------------------------------------------- user frames
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_internal_files: dict = {}  # co_filename -> bool, so each file's path is normalised once


def _is_internal(filename: str) -> bool:
    internal = _internal_files.get(filename)
    if internal is None:
        internal = _internal_files[filename] = os.path.abspath(filename).startswith(_PACKAGE_DIR)
    return internal


def user_frames(limit: int = 32, frame=None) -> tuple:
    """``(filename, lineno, function)`` of the caller's frames outside gpugrad, innermost first."""
    frame = frame if frame is not None else sys._getframe(1)
    found = []
    while frame is not None and len(found) < limit:
        code = frame.f_code
        if not _is_internal(code.co_filename):
            found.append((code.co_filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    return tuple(found)


def user_location(frame=None) -> str:
    """``"file.py:12"`` of the innermost caller outside gpugrad (``"<unknown>"`` if there is none)."""
    frame = frame if frame is not None else sys._getframe(1)
    while frame is not None:
        if not _is_internal(frame.f_code.co_filename):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def format_frames(frames) -> str:
    """A traceback-style text of ``user_frames`` output, outermost first like Python's own."""
    lines = []
    for filename, lineno, function in reversed(frames):
        lines.append(f'  File "{filename}", line {lineno}, in {function}')
        source = linecache.getline(filename, lineno).strip()
        if source:
            lines.append(f"    {source}")
    return "\n".join(lines)


# ------------------------------------------------------------ anomaly mode
class _AnomalyState(threading.local):
    enabled = False  # class attributes: every new thread starts with anomaly detection off
    check_nan = True


_state = _AnomalyState()
_threads_on = 0  # threads with anomaly detection on; the layers are installed while this is > 0
_handles: list = []


class AnomalyError(RuntimeError):
    """A backward node produced NaN or Inf; raised only in anomaly mode.

    Attributes:
        node_name: the backward node, e.g. ``"LogBackward0"``.
        forward_op: the ArrayFunction class that ran forward, e.g. ``"Log"``.
        output_index: which of the node's gradients (one per forward input) was bad.
        kind: ``"nan"`` or ``"inf"``.
        location: ``"file.py:line"`` of the user code that created the node, or None if unknown.
    """

    def __init__(self, message, node_name, forward_op, output_index, kind, location):
        super().__init__(message)
        self.node_name, self.forward_op = node_name, forward_op
        self.output_index, self.kind, self.location = output_index, kind, location


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on in this thread."""
    return _state.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return _state.enabled and _state.check_nan


def _switch(enabled: bool, check_nan: bool) -> None:
    """Set this thread's mode; install the layers for the first thread that turns it on, remove after the last."""
    global _threads_on, _handles
    enabled = bool(enabled)
    with _layer_lock:
        was = _state.enabled
        _state.enabled, _state.check_nan = enabled, bool(check_nan)
        if enabled and not was:
            _threads_on += 1
            if _threads_on == 1:
                _handles = [
                    add_record_hook(_record_creation),
                    interpose(FunctionBackward, "connect", _recording_custom_creation),
                    interpose(engine, "_call_backward", _checking_gradients),
                ]
        elif was and not enabled:
            _threads_on -= 1
            if _threads_on == 0:
                for handle in _handles:
                    handle.remove()
                _handles = []


class detect_anomaly:
    """Context manager that records where each op was created and checks backward for NaN/Inf.

    Like ``torch.autograd.detect_anomaly``; unlike it, the mode is per thread
    (as grad mode is here), and Inf is reported as well as NaN.

    Args:
        check_nan: raise when a backward node returns NaN or Inf. With False only
            the creation stacks are kept, and any error raised inside a backward
            node gets the forward traceback attached as a note.

    Example:
        >>> with gg.autograd.detect_anomaly():
        ...     loss = model(x).mean()
        ...     loss.backward()     # a NaN gradient raises, naming the op and the line that made it
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = bool(check_nan)
        self._previous = []  # a stack, so one instance can be entered again inside itself

    def __enter__(self):
        self._previous.append((_state.enabled, _state.check_nan))
        _switch(True, self.check_nan)
        return self

    def __exit__(self, *exc_info):
        _switch(*self._previous.pop())
        return False


class set_detect_anomaly:
    """Turn anomaly detection on or off at once (as a call), or for a ``with`` block.

    Example:
        >>> gg.autograd.set_detect_anomaly(True)       # on for this thread until switched off
        >>> with gg.autograd.set_detect_anomaly(False):
        ...     fast_part()
    """

    def __init__(self, mode: bool, check_nan: bool = True):
        self._previous = (_state.enabled, _state.check_nan)
        _switch(mode, check_nan)

    def __enter__(self):  # already switched in __init__, as torch's set_detect_anomaly does
        return self

    def __exit__(self, *exc_info):
        _switch(*self._previous)
        return False


# ------------------------------------------------------------------ layers
def _record_creation(node) -> None:
    if _state.enabled:
        node._anomaly_frames = user_frames()


def _recording_custom_creation(inner):
    """The same for a custom gg.autograd.Function's node, made when its ``apply`` connects the outputs."""

    @functools.wraps(inner)
    def connect(self, output):
        result = inner(self, output)
        if _state.enabled:
            self._anomaly_frames = user_frames()
        return result

    return connect


def _checking_gradients(inner):
    @functools.wraps(inner)
    def _call_backward(node, g, retain_graph):
        if not _state.enabled:
            return inner(node, g, retain_graph)
        try:
            grads = inner(node, g, retain_graph)
        except Exception as exc:
            if hasattr(exc, "add_note") and not isinstance(exc, AnomalyError):
                exc.add_note(f"Error detected in {node.name()}. " + _creation_text(node))
            raise
        if _state.check_nan:
            for index, grad in enumerate(grads):
                kind = _nonfinite(grad)
                if kind is not None:
                    raise _anomaly_error(node, index, kind)
        return grads

    return _call_backward


def _nonfinite(grad):
    """``"nan"``, ``"inf"`` or None for a gradient, a tensor or (create_graph off) a raw array.

    A device sync on GPU; this is debug mode.
    """
    data = getattr(grad, "array", grad)
    if getattr(data, "dtype", None) is None or data.dtype.kind not in "fc":  # None, or a multi-output slot
        return None
    xp = backends.cupy if backends.is_cupy_array(data) else np
    if bool(xp.isfinite(data).all()):  # one pass in the common case
        return None
    return "nan" if bool(xp.isnan(data).any()) else "inf"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _creation_text(node) -> str:
    frames = getattr(node, "_anomaly_frames", None)
    if not frames:
        return (
            f"The forward op {_forward_name(node)} was created before anomaly detection was switched on, "
            "so no traceback was recorded; enter detect_anomaly() before running forward."
        )
    filename, lineno, function = frames[0]
    return (
        f"The forward op {_forward_name(node)} that created this node ran at {filename}:{lineno}, in {function}.\n"
        "Traceback of forward call that caused the error (most recent call last):\n" + format_frames(frames)
    )


def _anomaly_error(node, index: int, kind: str) -> AnomalyError:
    frames = getattr(node, "_anomaly_frames", None)
    location = f"{frames[0][0]}:{frames[0][1]}" if frames else None
    message = (
        f"Function '{node.name()}' returned {kind} values in its {_ordinal(index)} output.\n"
        + _creation_text(node)
        + "\nCommon causes: log, sqrt, pow or division at 0, 0 * inf, exp overflow; guard the forward input "
        "(e.g. x.clamp(min=1e-12)) or use a stable form (gg.log_softmax, gg.logsumexp, gg.softplus)."
    )
    return AnomalyError(message, node.name(), _forward_name(node), index, kind, location)


def _forward_name(node) -> str:
    """The op that ran forward: the ArrayFunction class, or the custom Function class behind its node."""
    return getattr(node, "function_cls", type(node)).__name__
