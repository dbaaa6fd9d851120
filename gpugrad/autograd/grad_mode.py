"""Grad mode: whether ops record themselves on the tape, per thread.

    >>> with gg.no_grad():
    ...     y = x * 2          # y.requires_grad is False, no graph is kept
    >>> @gg.no_grad()
    ... def evaluate(model, x): ...
"""

from __future__ import annotations

import functools
import threading


class _State(threading.local):
    enabled = True  # class attribute: every new thread starts with grad enabled


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


class _GradModeContext:
    """Base of no_grad/enable_grad/set_grad_enabled: a context manager and a decorator."""

    _target = True

    def __enter__(self):
        self._previous = _state.enabled
        _state.enabled = self._target

    def __exit__(self, *exc_info):
        _state.enabled = self._previous
        return False

    def __call__(self, fn):
        target = self._target

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            previous = _state.enabled
            _state.enabled = target
            try:
                return fn(*args, **kwargs)
            finally:
                _state.enabled = previous

        return wrapper


class no_grad(_GradModeContext):
    """Disable graph recording inside the block or decorated function (like ``torch.no_grad``)."""

    _target = False


class enable_grad(_GradModeContext):
    """Enable graph recording, e.g. inside a ``no_grad`` block."""

    _target = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` switches recording off; as a call, a context manager or a decorator.

    Like PyTorch, calling it (outside a ``with``) changes the mode at once.
    """

    def __init__(self, mode: bool):
        self._target = bool(mode)
        self._previous = _state.enabled
        _state.enabled = self._target

    def __enter__(self):  # the mode was already set in __init__
        pass

    def __call__(self, fn):  # as a decorator, undo the switch __init__ made at decoration time
        _state.enabled = self._previous
        return super().__call__(fn)


class inference_mode(_GradModeContext):
    """``torch.inference_mode``: no graph recording inside the block or decorated function.

    Works as ``with gg.inference_mode():``, ``@gg.inference_mode()`` and bare ``@gg.inference_mode``;
    ``inference_mode(False)`` records as usual.

    Differs from PyTorch: it is ``no_grad`` (tensors made inside are ordinary tensors, not "inference
    tensors", so later autograd use of them is allowed rather than an error).

    Example:
        >>> with gg.inference_mode():
        ...     y = model(x)
    """

    def __new__(cls, mode=True):
        if callable(mode):  # bare @inference_mode on a function
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self._target = not mode
