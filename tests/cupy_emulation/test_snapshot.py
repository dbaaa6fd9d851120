"""The committed snapshot of CuPy's public API (cupy_api_snapshot.json).

The first tests only read the JSON, so they run everywhere.  The last one runs
where the real CuPy is importable: it regenerates the snapshot in a fresh
interpreter and compares it with the committed file.
"""

from __future__ import annotations

import sys

import pytest

from . import make_snapshot as ms


@pytest.fixture(scope="module")
def snap():
    return ms.load_snapshot()


def _members(snap, module):
    mod = snap["modules"][module]
    assert mod is not None, f"{module} recorded as absent"
    return mod["members"]


def _attr(snap, cls, name):
    c = snap["classes"][cls]
    assert c is not None, f"{cls} recorded as absent"
    return c["attributes"][name]


def test_file_is_canonical_and_small():
    text = ms.SNAPSHOT_PATH.read_text(encoding="utf-8")
    assert len(text.encode()) < 2_000_000
    # Sorted keys, fixed indentation: regenerating gives byte-identical output.
    assert ms.dumps(ms.load_snapshot()) == text


def test_versions(snap):
    assert snap["format_version"] == ms.FORMAT_VERSION
    assert snap["cupy_version"].split(".")[0] == "14"
    assert snap["numpy_version"].split(".")[0] in ("1", "2")


def test_modules_and_classes_recorded(snap):
    for name, required, names_only in ms.MODULES:
        assert name in snap["modules"]
        if required:
            assert snap["modules"][name] is not None, name
        if snap["modules"][name] is not None:
            assert snap["modules"][name]["names_only"] is names_only
            assert all(not n.startswith("_") for n in snap["modules"][name]["members"])
    for path, required in ms.CLASSES:
        assert path in snap["classes"]
        if required:
            assert snap["classes"][path] is not None, path


def test_known_signatures(snap):
    cp = _members(snap, "cupy")
    clip = cp["clip"]
    assert clip["kind"] == "function"
    assert clip["signature"] == "(a, a_min, a_max, out=None)"
    assert "min=" not in clip["signature"] and "max=" not in clip["signature"]
    assert cp["sum"]["signature"] == "(a, axis=None, dtype=None, out=None, keepdims=False)"
    assert cp["add"]["kind"] == "ufunc" and (cp["add"]["nin"], cp["add"]["nout"]) == (2, 1)
    assert cp["ndarray"]["kind"] == "class"
    assert cp["float32"]["kind"] == "class"
    assert cp["pi"]["kind"] == "constant"
    assert cp["cuda"] == {"kind": "module", "module": "cupy.cuda"}

    assert _members(snap, "cupy.cuda.runtime")["getDeviceCount"]["signature"] == "() -> int"
    assert _attr(snap, "cupy.ndarray", "get")["signature"] == (
        "(self, stream=None, order='C', out=None, blocking=True)"
    )
    assert _attr(snap, "cupy.cuda.MemoryPool", "set_limit")["signature"] == "(self, size=None, fraction=None)"
    assert _attr(snap, "cupy.cuda.Stream", "begin_capture")["signature"] == "(self, mode=None)"
    assert _attr(snap, "cupy.cuda.Stream", "end_capture")["signature"] == "(self)"
    assert _attr(snap, "cupy.cuda.graph.Graph", "launch")["signature"] == "(self, stream=None)"
    assert "__array__" in snap["classes"]["cupy.ndarray"]["dunders"]
    assert "__cuda_array_interface__" in snap["classes"]["cupy.ndarray"]["dunders"]


def test_random_generator(snap):
    rnd = _members(snap, "cupy.random")
    assert rnd["Generator"]["kind"] == "class"
    assert rnd["default_rng"]["signature"] == "(seed=None)"
    gen = snap["classes"]["cupy.random.Generator"]["attributes"]
    # CuPy 14's Generator has no permutation (RandomState does): the stand-in must not add one.
    assert "permutation" not in gen
    assert {"random", "integers", "standard_normal", "uniform"} <= set(gen)
    assert "permutation" in snap["classes"]["cupy.random.RandomState"]["attributes"]


def test_lazy_library_modules_are_not_resolved(snap):
    for module, names in ms.LAZY.items():
        members = _members(snap, module)
        for name, resolve in names.items():
            assert members[name]["lazy"] is True
            if not resolve:
                assert members[name] == {"kind": "module", "module": f"{module}.{name}", "lazy": True}


def _real_cupy_or_skip():
    mod = sys.modules.get("cupy")
    if mod is not None and getattr(mod, "__gpugrad_emulated__", False):
        pytest.skip("sys.modules['cupy'] is gpugrad's emulated stand-in, not the real CuPy")
    cupy = pytest.importorskip("cupy")
    if getattr(cupy, "__gpugrad_emulated__", False):
        pytest.skip("import cupy gives gpugrad's emulated stand-in, not the real CuPy")
    return cupy


def test_snapshot_matches_installed_cupy(snap):
    _real_cupy_or_skip()
    try:
        # A fresh interpreter: what dir() of a package lists depends on what was imported before.
        fresh = ms.snapshot_in_subprocess(sys.executable)
    except ms.EmulatedCupyError as exc:
        pytest.skip(f"the subprocess imported the emulated stand-in: {exc}")
    diffs = ms.diff_snapshots(snap, fresh)
    same = all(snap[k] == fresh[k] for k in ("cupy_version", "numpy_version", "python_version"))
    if not same:
        head = "; ".join(diffs[:20]) or "no differences in names, kinds or signatures"
        pytest.skip(
            f"installed cupy {fresh['cupy_version']} / numpy {fresh['numpy_version']} / python "
            f"{fresh['python_version']} differ from the snapshot's {snap['cupy_version']} / "
            f"{snap['numpy_version']} / {snap['python_version']}: {len(diffs)} differences: {head}"
        )
    assert diffs == [], "\n".join(diffs)
    assert ms.dumps(fresh) == ms.dumps(snap)
