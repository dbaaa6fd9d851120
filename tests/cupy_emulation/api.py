"""CuPy's real public API, from the committed snapshot: which names exist and how they may be called.

The emulated CuPy exposes a name only when the snapshot (taken from the real package by
``make_snapshot.py``) has it, and checks every call against the snapshot's signature, so
NumPy-only spellings such as ``clip(x, min=0)`` fail here as they fail on a GPU.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from pathlib import Path

SNAPSHOT_PATH = Path(__file__).with_name("cupy_api_snapshot.json")


@functools.lru_cache(maxsize=None)
def snapshot() -> dict:
    return json.loads(SNAPSHOT_PATH.read_text())


def module_members(module: str) -> dict:
    """``{name: entry}`` of one snapshotted module (``"cupy"``, ``"cupy.cuda"``, ...)."""
    return snapshot()["modules"][module]["members"]


def class_members(qualname: str) -> dict:
    """Attributes and dunders of a snapshotted class (``"cupy.ndarray"``)."""
    entry = snapshot()["classes"][qualname]
    return {**entry.get("attributes", {}), **entry.get("dunders", {})}


def has(module: str, name: str) -> bool:
    return name in module_members(module)


_ANNOTATION = re.compile(r"\s*->.*$")
_QUOTED_ANNOTATION = re.compile(r":\s*'[^']*'")
_CLASS_REPR = re.compile(r"<class '(?:[\w.]*\.)?(\w+)'>")
_C_TYPED = re.compile(r"(^\(|,)(\s*)[A-Za-z_]\w*\s+(?=[A-Za-z_]\w*\s*(?:=|,|\)))")  # Cython: "int x"


@functools.lru_cache(maxsize=None)
def parse_signature(text: str | None) -> inspect.Signature | None:
    """An ``inspect.Signature`` from a snapshot signature string, or None when it is not Python syntax."""
    if not text:
        return None
    text = _ANNOTATION.sub("", text.strip())
    text = _QUOTED_ANNOTATION.sub("", text)
    text = _CLASS_REPR.sub(r"\1", text)
    text = _C_TYPED.sub(r"\1\2", text)
    namespace = {"float": float, "int": int, "bool": bool, "complex": complex, "float64": float, "numpy": __import__("numpy"), "True": True,
                 "False": False, "None": None}
    try:
        exec(f"def _f{text}: pass", namespace)  # noqa: S102 - the snapshot is our own committed file
    except SyntaxError:
        return None
    except NameError:
        return None
    signature = inspect.signature(namespace["_f"])
    parameters = list(signature.parameters.values())
    if parameters and parameters[0].name == "self":
        signature = signature.replace(parameters=parameters[1:])
    return signature


def check_call(qualname: str, signature_text: str | None, args: tuple, kwargs: dict) -> None:
    """Raise TypeError, as the real function would, when ``args``/``kwargs`` do not fit its signature."""
    signature = parse_signature(signature_text)
    if signature is None:
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{qualname}(): {exc} (signature in CuPy 14: {qualname}{signature_text})") from None


def function_signature(module: str, name: str) -> str | None:
    entry = module_members(module).get(name)
    return None if entry is None else entry.get("signature")


def method_signature(qualname: str, name: str) -> str | None:
    entry = class_members(qualname).get(name)
    return None if entry is None else entry.get("signature")
