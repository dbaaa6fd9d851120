"""gg.utils: helpers around training (``gg.utils.data``)."""

from . import data

__all__ = ["data"]
