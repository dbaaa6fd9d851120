"""Snapshot of the real CuPy public API, for the emulated-CuPy test stand-in.

Run it with an interpreter where the *real* CuPy is installed (no GPU needed)::

    python tests/cupy_emulation/make_snapshot.py            # writes cupy_api_snapshot.json
    python tests/cupy_emulation/make_snapshot.py --stdout   # prints it instead

It records, for a fixed list of modules, every public name (``dir()`` minus
underscore names) with its kind and, for callables, its signature; and for a
fixed list of classes their public attributes (plus the dunders they define
beyond ``object``'s) with method signatures.  Signatures come from
``inspect.signature`` when that works, else from the first docstring line that
Cython embeds (``clip(a, a_min, a_max, out=None)``), else ``null``.

The output depends only on the CuPy/NumPy versions, not on the machine: names
that module-level ``__getattr__`` resolves lazily by loading CUDA libraries
(``cupy.cuda.cublas``, ``cupyx.lapack``, ...) are recorded as lazy modules
without loading them, and no values that depend on the driver are recorded.
Run it in a fresh interpreter (``snapshot_in_subprocess``): which submodules
appear in ``dir()`` of a package depends on what was imported before.

This module imports nothing from CuPy at import time, so the tests can import
it whether or not CuPy (real or emulated) is present.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

SNAPSHOT_PATH = Path(__file__).with_name("cupy_api_snapshot.json")
FORMAT_VERSION = 1

# (module, required, names_only).  Optional modules are recorded as absent when their import fails.
MODULES = [
    ("cupy", True, False),
    ("cupy.cuda", True, False),
    ("cupy.cuda.runtime", True, False),
    ("cupy.cuda.memory", True, False),
    ("cupy.cuda.stream", True, False),
    ("cupy.cuda.graph", False, False),
    ("cupy.cuda.nccl", False, False),
    ("cupy.random", True, False),
    ("cupy.linalg", True, False),
    ("cupy.fft", True, False),
    ("cupy.testing", True, True),
    ("cupyx", True, False),
    ("cupyx.scipy.special", False, False),
]

# Dotted paths of classes whose attributes are recorded; optional ones may be absent.
CLASSES = [
    ("cupy.ndarray", True),
    ("cupy.random.Generator", True),
    ("cupy.random.RandomState", True),
    ("cupy.cuda.Device", True),
    ("cupy.cuda.Stream", True),
    ("cupy.cuda.Event", True),
    ("cupy.cuda.MemoryPool", True),
    ("cupy.cuda.PinnedMemoryPool", True),
    ("cupy.cuda.Graph", False),
    ("cupy.cuda.graph.Graph", False),
    ("cupy.ElementwiseKernel", True),
    ("cupy.ReductionKernel", True),
    ("cupy.RawKernel", True),
    ("cupy.RawModule", True),
    ("cupy.ufunc", True),
]

# Names resolved by a module-level __getattr__ (absent from dir() until first touched).
# Those mapped to True are resolved (they need no CUDA library); the others would load a
# CUDA library (and fail without it), so they are recorded as lazy modules, unresolved.
LAZY = {
    "cupy.random": {"Generator": True},
    "cupy.cuda": {"cublas": False, "cufft": False, "curand": False, "cusolver": False,
                  "cusparse": False, "jitify": False},
    "cupyx": {"lapack": False, "cusparse": False},
}

_SIG_LINE = re.compile(r"^([A-Za-z_][\w.]*)\s*(\(.*\))\s*(?:->\s*(.+?))?\s*$")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_SCALARS = (bool, int, float, complex, str, bytes, type(None))


EXIT_EMULATED = 3  # exit status of the script when ``import cupy`` gives the stand-in


class EmulatedCupyError(RuntimeError):
    """``import cupy`` gave gpugrad's emulated stand-in, which cannot be snapshotted."""


def _clean(text: str) -> str:
    return _ADDRESS.sub("", text)


def _doc_signature(obj) -> str | None:
    """The signature Cython embeds as the docstring's first line, e.g. ``f(a, b=None) -> int``."""
    try:
        doc = obj.__doc__
    except Exception:
        return None
    if not isinstance(doc, str):
        return None
    lines = doc.strip().splitlines()
    if not lines:
        return None
    # A long embedded signature may wrap: join lines until the parentheses balance.
    text = lines[0].strip()
    i = 1
    while text.count("(") > text.count(")") and i < len(lines) and i < 8:
        text += " " + lines[i].strip()
        i += 1
    m = _SIG_LINE.match(text)
    if not m:
        return None
    params, ret = m.group(2), m.group(3)
    if params.count("(") != params.count(")"):
        return None
    params = params.replace("\\*", "*")
    return _clean(params + (f" -> {ret}" if ret else ""))


def _signature(obj) -> tuple[str | None, str | None]:
    """(signature, source) with source "inspect", "docstring" or None."""
    try:
        return _clean(str(inspect.signature(obj))), "inspect"
    except Exception:
        pass
    sig = _doc_signature(obj)
    if sig is not None:
        return sig, "docstring"
    return None, None


def _ufunc_signature(nin, nout) -> str | None:
    """The call signature in the style of CuPy's core ufunc docstrings (``add(x1, x2, /, out=None, ...)``)."""
    if not isinstance(nin, int) or not isinstance(nout, int):
        return None
    xs = ["x"] if nin == 1 else [f"x{i + 1}" for i in range(nin)]
    tail = "*, casting='same_kind', dtype=None)"
    if nout == 1:
        return "(" + ", ".join(xs) + ", /, out=None, " + tail
    outs = ", ".join(f"out{i + 1}" for i in range(nout))
    nones = ", ".join(["None"] * nout)
    return "(" + ", ".join(xs) + f"[, {outs}], / [, out=({nones})], " + tail


def _qualname(obj) -> str | None:
    mod = getattr(obj, "__module__", None)
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(qual, str):
        return None
    return f"{mod}.{qual}" if isinstance(mod, str) else qual


def _is_module(obj) -> bool:
    import types

    return isinstance(obj, types.ModuleType) or type(obj).__name__ in ("_UnavailableModule", "_LazyModule")


def _kind(obj, ufunc_type) -> str:
    if _is_module(obj):
        return "module"
    if isinstance(obj, type):
        return "class"
    if ufunc_type is not None and isinstance(obj, ufunc_type):
        return "ufunc"
    if isinstance(obj, _SCALARS):
        return "constant"
    if inspect.isroutine(obj) or type(obj).__name__ == "cython_function_or_method":
        return "function"
    return "other"


def _describe(obj, ufunc_type, with_signature=True) -> dict:
    kind = _kind(obj, ufunc_type)
    entry: dict = {"kind": kind}
    if kind == "module":
        name = getattr(obj, "__name__", None)
        entry["module"] = name if isinstance(name, str) else None
        return entry
    if kind == "constant":
        entry["type"] = type(obj).__name__
        if isinstance(obj, (bool, int, float, str, type(None))) and not (isinstance(obj, str) and len(obj) > 200):
            entry["value"] = repr(obj)
        return entry
    if kind == "ufunc":
        entry["nin"] = getattr(obj, "nin", None)
        entry["nout"] = getattr(obj, "nout", None)
        if with_signature and _doc_signature(obj) is None:
            # ufuncs made outside CuPy's core (cupyx, cupyx.scipy.special) carry no signature line:
            # write the one CuPy's own ufunc docstrings use, from nin/nout.
            entry["signature"] = _ufunc_signature(entry["nin"], entry["nout"])
            entry["signature_source"] = "nin_nout"
            return entry
    if kind in ("class", "function"):
        entry["qualname"] = _qualname(obj)
    if kind == "other":
        entry["type"] = _qualname(type(obj))
    if with_signature and (kind != "other" or callable(obj)):
        entry["signature"], entry["signature_source"] = _signature(obj)
        if kind == "class":
            entry["doc_signature"] = _doc_signature(obj)
    return entry


def _public_names(obj) -> list[str]:
    return sorted(n for n in dir(obj) if not n.startswith("_"))


def _module_snapshot(modname: str, names_only: bool, ufunc_type) -> dict:
    mod = importlib.import_module(modname)
    lazy = LAZY.get(modname, {})
    members: dict = {}
    for name in sorted(set(_public_names(mod)) | set(lazy)):
        if name in lazy and not lazy[name]:
            members[name] = {"kind": "module", "module": f"{modname}.{name}", "lazy": True}
            continue
        try:
            obj = getattr(mod, name)
        except Exception as exc:  # pragma: no cover - depends on the installed CuPy
            members[name] = {"kind": "error", "error": type(exc).__name__}
            continue
        entry = _describe(obj, ufunc_type, with_signature=not names_only)
        if names_only:
            entry = {"kind": entry["kind"]}
        if name in lazy:
            entry["lazy"] = True
        members[name] = entry
    return {"file_type": _file_type(mod), "members": members}


def _file_type(mod) -> str | None:
    f = getattr(mod, "__file__", None)
    if not isinstance(f, str):
        return None
    return "python" if f.endswith(".py") else "compiled"


_OBJECT_DUNDERS = set(dir(object)) | {"__dict__", "__weakref__", "__module__"}


def _attr_kind(static) -> str:
    tname = type(static).__name__
    if isinstance(static, classmethod) or tname == "classmethod_descriptor":
        return "classmethod"
    if isinstance(static, staticmethod):
        return "staticmethod"
    if isinstance(static, property) or tname in ("getset_descriptor", "member_descriptor", "cached_property"):
        return "property"
    if inspect.isroutine(static) or tname in ("cython_function_or_method", "wrapper_descriptor"):
        return "method"
    if isinstance(static, _SCALARS):
        return "constant"
    return "other"


def _class_snapshot(cls) -> dict:
    attrs: dict = {}
    dunders: dict = {}
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            if not (name.startswith("__") and name.endswith("__")) or name in _OBJECT_DUNDERS:
                continue
            if "pyx" in name or "cython" in name:
                continue
            target = dunders
        else:
            target = attrs
        try:
            static = inspect.getattr_static(cls, name)
        except AttributeError:
            static = getattr(cls, name, None)
        kind = _attr_kind(static)
        entry: dict = {"kind": kind}
        if kind in ("method", "classmethod", "staticmethod"):
            entry["signature"], entry["signature_source"] = _signature(getattr(cls, name))
        elif kind == "constant":
            entry["type"] = type(static).__name__
            entry["value"] = repr(static)
        elif kind == "other":
            entry["type"] = _qualname(type(static))
        target[name] = entry
    sig, src = _signature(cls)
    return {
        "qualname": _qualname(cls),
        "bases": [_qualname(b) for b in cls.__mro__[1:] if b is not object],
        "signature": sig,
        "signature_source": src,
        "doc_signature": _doc_signature(cls),
        "attributes": attrs,
        "dunders": dunders,
    }


def _resolve(path: str):
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p)
        return obj
    raise ImportError(path)


def build_snapshot() -> dict:
    """Import the real CuPy in this interpreter and return the snapshot as a dict."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import numpy
        import cupy

        if getattr(cupy, "__gpugrad_emulated__", False):
            raise EmulatedCupyError("cupy in sys.modules is gpugrad's emulated stand-in, not the real package")
        ufunc_type = cupy.ufunc
        # Import every module first, in a fixed order, so that dir() of each package
        # sees the same set of loaded submodules whichever is described first.
        present = {}
        for modname, required, _ in MODULES:
            try:
                importlib.import_module(modname)
                present[modname] = True
            except Exception:
                if required:
                    raise
                present[modname] = False
        for modname, lazy in LAZY.items():
            for name, resolve in lazy.items():
                if resolve:
                    getattr(importlib.import_module(modname), name)

        modules = {}
        for modname, _, names_only in MODULES:
            if not present[modname]:
                modules[modname] = None
                continue
            modules[modname] = _module_snapshot(modname, names_only, ufunc_type)
            modules[modname]["names_only"] = names_only

        classes = {}
        for path, required in CLASSES:
            try:
                cls = _resolve(path)
            except (ImportError, AttributeError):
                if required:
                    raise
                classes[path] = None
                continue
            classes[path] = _class_snapshot(cls)

    return {
        "format_version": FORMAT_VERSION,
        "cupy_version": cupy.__version__,
        "numpy_version": numpy.__version__,
        "python_version": "%d.%d" % sys.version_info[:2],
        "generator": "tests/cupy_emulation/make_snapshot.py",
        "modules": modules,
        "classes": classes,
    }


def dumps(snapshot: dict) -> str:
    return json.dumps(snapshot, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


def load_snapshot(path: Path = SNAPSHOT_PATH) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def snapshot_in_subprocess(python: str = sys.executable, timeout: float = 300) -> dict:
    """build_snapshot() run in a fresh interpreter (deterministic dir() contents)."""
    proc = subprocess.run(
        [python, "-W", "ignore", str(Path(__file__).resolve()), "--stdout"],
        capture_output=True, text=True, timeout=timeout,
    )
    if proc.returncode == EXIT_EMULATED:
        raise EmulatedCupyError(proc.stderr.strip()[-1000:])
    if proc.returncode != 0:
        raise RuntimeError(f"snapshot subprocess failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout)


def diff_snapshots(old: dict, new: dict, limit: int = 200) -> list[str]:
    """Human-readable differences: names added/removed, kinds and signatures changed."""
    out: list[str] = []
    for key in ("cupy_version", "numpy_version"):
        if old.get(key) != new.get(key):
            out.append(f"{key}: {old.get(key)} -> {new.get(key)}")

    def cmp_members(where, a, b, fields):
        a, b = a or {}, b or {}
        for n in sorted(set(a) - set(b)):
            out.append(f"{where}: removed {n}")
        for n in sorted(set(b) - set(a)):
            out.append(f"{where}: added {n}")
        for n in sorted(set(a) & set(b)):
            for f in fields:
                if a[n].get(f) != b[n].get(f):
                    out.append(f"{where}.{n}: {f} {a[n].get(f)!r} -> {b[n].get(f)!r}")

    fields = ("kind", "signature", "nin", "nout", "value", "module", "lazy")
    for group in ("modules", "classes"):
        oa, ob = old.get(group, {}), new.get(group, {})
        for name in sorted(set(oa) | set(ob)):
            a, b = oa.get(name), ob.get(name)
            if (a is None) != (b is None):
                out.append(f"{group} {name}: {'present' if a else 'absent'} -> {'present' if b else 'absent'}")
                continue
            if a is None:
                continue
            if group == "modules":
                cmp_members(name, a["members"], b["members"], fields)
            else:
                for f in ("signature", "doc_signature", "bases"):
                    if a.get(f) != b.get(f):
                        out.append(f"{name}: {f} {a.get(f)!r} -> {b.get(f)!r}")
                cmp_members(name, a["attributes"], b["attributes"], fields)
                cmp_members(name, a["dunders"], b["dunders"], fields)
    if len(out) > limit:
        out = out[:limit] + [f"... and {len(out) - limit} more"]
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        text = dumps(build_snapshot())
    except EmulatedCupyError as exc:
        print(exc, file=sys.stderr)
        return EXIT_EMULATED
    if "--stdout" in argv:
        sys.stdout.write(text)
    else:
        SNAPSHOT_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {SNAPSHOT_PATH} ({len(text.encode())} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    # Never let a stand-in package next to this file (tests/cupy_emulation/...) shadow the real CuPy.
    _here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p and str(Path(p).resolve()) != _here]
    sys.exit(main())
