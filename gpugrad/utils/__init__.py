"""gg.utils: helpers around the op set; ``gg.utils.data`` feeds datasets to a model in batches."""

from . import data

__all__ = ["data"]
