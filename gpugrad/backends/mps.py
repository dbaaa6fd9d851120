"""``gg.backends.mps``: Apple's Metal backend, which gpugrad does not have (scripts probe it, as in PyTorch)."""


def is_available() -> bool:
    """Always False: gpugrad runs on NumPy (cpu) and CuPy (cuda) only."""
    return False


def is_built() -> bool:
    """Always False: gpugrad is never built with MPS support."""
    return False
