"""gg.save / gg.load (being written)."""


def save(obj, path) -> None:
    raise NotImplementedError


def load(path, map_location=None):
    raise NotImplementedError
