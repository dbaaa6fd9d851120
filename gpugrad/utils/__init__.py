"""gg.utils: helpers around training (``gg.utils.data``)."""

from . import data  # noqa: F401
