"""inference_mode: PyTorch's three spellings (context manager, called decorator, bare decorator)."""

from __future__ import annotations

import gpugrad as gg


def test_inference_mode_as_context_and_decorators():
    x = gg.ones(1, requires_grad=True)
    with gg.inference_mode():
        assert not (x * 2).requires_grad
    with gg.inference_mode(False):
        assert (x * 2).requires_grad

    @gg.inference_mode()
    def called(t):
        return t * 2

    @gg.inference_mode
    def bare(t):
        return t * 2

    assert not called(x).requires_grad and not bare(x).requires_grad
    assert (x * 2).requires_grad and gg.is_grad_enabled()
