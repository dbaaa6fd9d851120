"""Build the CUDA-on-CPU emulator library with g++: cuda_emu.h + runtime.cpp + the kernel sources.

The kernels come from the very files CuPy compiles (gpugrad.backends.kernels finds them), and the
instantiations registered are the catalog's name expressions, so the emulator runs exactly what a
GPU would. Deliberately broken kernels in ``fixtures/`` go into the same library, registered by the
fixture files themselves. The library is cached by a hash of every input, so a test session
builds it once (about 10 s on 2 cores) and later sessions not at all.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from gpugrad.backends import kernels

HARNESS_DIR = Path(__file__).resolve().parent
FIXTURES_DIR = HARNESS_DIR / "fixtures"
# -ffp-contract=off: no fused multiply-adds, so float results round like NumPy's
CXXFLAGS = ("-std=c++20", "-O2", "-fPIC", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off")
SHARED_NAME = "gg_dynamic_shared"


class BuildError(RuntimeError):
    """The emulator library did not compile; the message holds the compiler's output."""


def cxxflags() -> tuple[str, ...]:
    """The flags, plus $GPUGRAD_EMU_CXXFLAGS (e.g. -DGG_EMU_UCONTEXT for the portable context switch)."""
    return CXXFLAGS + tuple(os.environ.get("GPUGRAD_EMU_CXXFLAGS", "").split())


def compiler() -> str | None:
    """The C++ compiler to use ($CXX or g++), or None when there is none."""
    return shutil.which(os.environ.get("CXX", "g++"))


def check_shared_declarations(name: str, text: str) -> None:
    """Reject shared memory the emulator cannot model.

    A static ``__shared__`` array would become one copy per fiber (the macro is empty), silently
    unshared; and dynamic shared memory must be named ``gg_dynamic_shared``, the one window the
    runtime poisons and guards.
    """
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("//", 1)[0]
        if "__shared__" not in code:
            continue
        if not re.search(r"\bextern\s+__shared__\b", code) or SHARED_NAME not in code:
            raise BuildError(
                f"{name}:{number}: `{line.strip()}`: the CUDA emulator supports only dynamic shared memory declared "
                f"as `extern __shared__ ... {SHARED_NAME}[]` (see kernels/common.cuh: gg::dynamic_shared<T>())"
            )


def kernel_translation_unit() -> str:
    """Every kernel source, then one registration per catalog name expression."""
    lines = ['#include "cuda_emu.h"']
    lines += [f'#include "{name}"' for name in kernels.source_files()]
    lines += [f"GG_EMU_REGISTER_KERNEL({expression})" for expression in kernels.all_name_expressions()]
    return "\n".join(lines) + "\n"


def fixture_translation_unit() -> str:
    lines = ['#include "cuda_emu.h"']
    lines += [f'#include "{path.name}"' for path in sorted(FIXTURES_DIR.glob("*.cu"))]
    return "\n".join(lines) + "\n"


def _inputs() -> dict[str, str]:
    """Every file the library depends on, by a display name."""
    source_dir = kernels.kernel_source_dir()
    files = {f"kernels/{p.name}": p for p in sorted(source_dir.iterdir()) if p.suffix in (".cu", ".cuh")}
    files.update({f"fixtures/{p.name}": p for p in sorted(FIXTURES_DIR.glob("*.cu"))})
    files.update({name: HARNESS_DIR / name for name in ("cuda_emu.h", "runtime.cpp")})
    return {name: path.read_text() for name, path in files.items()}


def cache_root() -> Path:
    root = os.environ.get("GPUGRAD_EMU_CACHE")
    return Path(root) if root else Path(tempfile.gettempdir()) / f"gpugrad-cuda-emu-{os.getuid()}"


def build(cache_dir: Path | None = None) -> Path:
    """Compile (or find in the cache) the emulator library and return its path.

    Raises:
        BuildError: no compiler, a shared-memory declaration the emulator cannot model, or a
            compile error (with the compiler's output).
    """
    cxx = compiler()
    if cxx is None:
        raise BuildError("no C++ compiler: install g++ (apt-get install g++) or set $CXX")
    inputs = _inputs()
    for name, text in inputs.items():
        if name.endswith((".cu", ".cuh")):
            check_shared_declarations(name, text)
    units = {"kernels_tu.cpp": kernel_translation_unit(), "fixtures_tu.cpp": fixture_translation_unit()}
    digest = hashlib.sha256()
    for name, text in sorted({**inputs, **units}.items()):
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    digest.update(" ".join((cxx, *cxxflags())).encode())
    out_dir = (cache_dir or cache_root()) / digest.hexdigest()[:20]
    library = out_dir / "libcuda_emu.so"
    if library.exists():
        return library
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=out_dir))
    try:
        _compile_and_link(cxx, units, work, library)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _prune(out_dir.parent, keep=8)
    return library


def _prune(root: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest builds: every kernel edit makes a new one."""
    builds = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in builds[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def _compile_and_link(cxx: str, units: dict[str, str], work: Path, library: Path) -> None:
    for name, text in units.items():
        (work / name).write_text(text)
    includes = ("-I", str(HARNESS_DIR), "-I", str(kernels.kernel_source_dir()), "-I", str(FIXTURES_DIR))
    sources = [HARNESS_DIR / "runtime.cpp", work / "kernels_tu.cpp", work / "fixtures_tu.cpp"]
    jobs = [
        subprocess.Popen([cxx, *cxxflags(), *includes, "-c", str(src), "-o", str(work / (src.stem + ".o"))],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for src in sources
    ]
    outputs = [job.communicate()[0] for job in jobs]  # wait for all before judging any
    failures = [output for job, output in zip(jobs, outputs) if job.returncode != 0]
    if failures:
        raise BuildError("building the CUDA emulator failed:\n" + "\n".join(failures))
    objects = [str(work / (src.stem + ".o")) for src in sources]
    link = subprocess.run([cxx, "-shared", "-o", str(work / library.name), *objects], capture_output=True, text=True)
    if link.returncode != 0:
        raise BuildError("linking the CUDA emulator failed:\n" + link.stdout + link.stderr)
    os.replace(work / library.name, library)  # atomic: a concurrent session sees all or nothing
