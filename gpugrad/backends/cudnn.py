"""``gg.backends.cudnn``: the switches PyTorch scripts set (``benchmark``, ``deterministic``), accepted and unused.

gpugrad calls no cuDNN routines, so the flags change nothing; ``is_available()`` says so.
"""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """Always False: gpugrad does not use cuDNN."""
    return False


def version():
    """None: no cuDNN is loaded."""
    return None
