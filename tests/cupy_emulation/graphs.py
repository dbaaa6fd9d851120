"""Stream capture into CUDA graphs, as CUDA's relaxed capture mode behaves.

While the current stream captures, no work runs, as on a GPU: calls allocate their results
(holding garbage until launch) and record themselves into the graph; ``Graph.launch()`` runs
the recorded work in order on that memory, reading inputs as they are at launch time. A
host synchronisation during capture (``get``, ``item``, ``synchronize``) fails with
``cudaErrorStreamCaptureUnsupported`` and invalidates the capture, so ``end_capture``
then fails with ``cudaErrorStreamCaptureInvalidated`` (CUDA runtime API: "Stream capture").
"""

from __future__ import annotations

import numpy as np

from . import device_state


class Capture:
    def __init__(self, stream):
        self.stream, self.work, self.invalidated = stream, [], None


def capturing():
    """The Capture of the current stream, or None."""
    from .cuda import get_current_stream

    return get_current_stream()._capture


def record(impl, np_args, np_kwargs, wrapped) -> None:
    capture = capturing()
    if capture is None:
        return
    targets = _targets(wrapped)

    def replay():
        result = impl(*np_args, **np_kwargs)
        results = result if isinstance(result, tuple) else (result,)
        for target, value in zip(targets, results):
            if target is not None and isinstance(value, (np.ndarray, np.generic)) and value is not target:
                target[...] = value

    capture.work.append(replay)


def _targets(wrapped) -> list:
    from .core import ndarray

    items = wrapped if isinstance(wrapped, tuple) else (wrapped,)
    return [w._a if isinstance(w, ndarray) else None for w in items]


def run_or_record(work) -> None:
    """Run ``work`` (a kernel launch) now, or record it into the current capture without running it."""
    capture = capturing()
    if capture is None:
        work()
    else:
        capture.work.append(work)


def refuse_during_capture(what: str) -> None:
    from .cuda import runtime

    capture = capturing()
    if capture is not None:
        capture.invalidated = what
        raise runtime.CUDARuntimeError(900, f"cudaErrorStreamCaptureUnsupported: operation not permitted when "
                                            f"stream is capturing ({what})")


class Graph:
    """A captured graph: ``launch()`` replays its work in order on the memory it captured."""

    def __init__(self, work, device):
        self._work, self._device = list(work), device

    def launch(self, stream=None):
        previous = device_state.current_device()
        device_state.set_current_device(self._device)
        try:
            for work in self._work:
                work()
        finally:
            device_state.set_current_device(previous)

    def upload(self, stream=None):
        pass

    def debug_dot_str(self, flags=0):
        return f"digraph emulated {{ // {len(self._work)} nodes }}"
