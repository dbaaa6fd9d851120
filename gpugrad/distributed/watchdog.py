"""The watchdog: a thread that ends the whole job when a collective outlives the timeout.

A rank that skips or reorders a collective, or dies, leaves the others waiting
inside MPI or NCCL forever. Each collective is registered here while it runs
(or, for a queued NCCL collective, until its event completes); a daemon thread
checks a few times per timeout and calls ``on_timeout(message)``, which aborts.
"""

from __future__ import annotations

import threading
import time


class Watchdog:
    """Watch collectives in flight; call ``on_timeout(message)`` for the first one older than ``timeout`` seconds.

    Example:
        >>> dog = Watchdog(60.0, on_timeout=print)
        >>> dog.begin(1, "all_reduce #1 (4,096 bytes of float32)"); ...; dog.end(1)
    """

    def __init__(self, timeout: float, on_timeout):
        self.timeout = float(timeout)
        self._on_timeout = on_timeout
        self._inflight = {}  # sequence number -> (description, start time, is_completed or None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gpugrad-distributed-watchdog", daemon=True)
        self._thread.start()

    def begin(self, seq: int, description: str) -> None:
        """Start watching collective ``seq`` (its clock starts now)."""
        self._inflight[seq] = (description, time.monotonic(), None)

    def end(self, seq: int) -> None:
        self._inflight.pop(seq, None)

    def end_when(self, seq: int, is_completed) -> None:
        """Keep watching a queued collective until ``is_completed()`` says it is done (polled by the thread)."""
        description, start, _ = self._inflight[seq]
        self._inflight[seq] = (description, start, is_completed)

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        # checking ten times per timeout bounds the overshoot at 10% (a second at most) and costs nothing
        interval = min(max(self.timeout / 10, 0.05), 1.0)
        while not self._stop.wait(interval):
            overdue = self._overdue(time.monotonic())
            if overdue:
                self._on_timeout(overdue)
                return

    def _overdue(self, now: float) -> str | None:
        for seq, (description, start, is_completed) in list(self._inflight.items()):
            if is_completed is not None and is_completed():
                self._inflight.pop(seq, None)
            elif now - start > self.timeout:
                return f"{description} did not complete within the timeout ({self.timeout:g} s)"
        return None
