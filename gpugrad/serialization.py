"""gg.save / gg.load: checkpoints of tensors and state dicts, without pickle.

    >>> gg.save({"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3}, "run.ckpt")
    >>> checkpoint = gg.load("run.ckpt", map_location="cpu")

A checkpoint is a zip archive (uncompressed, like NumPy's ``.npz``) holding

- ``gpugrad_checkpoint.json``: a magic marker, the format version and the
  saved object as a tree of typed JSON nodes (``{"type": "dict", "items": ...}``,
  ``{"type": "tensor", "file": "tensors/0.npy", "dtype": ..., "device": ...}``);
- ``tensors/<n>.npy``: one ``.npy`` file per tensor, written and read with
  ``allow_pickle=False``.

Nothing is ever unpickled, so loading a file cannot run code, and any zip
tool can look inside. What can be saved: Tensors (and ``nn.Parameter``),
NumPy arrays, None, bools, ints, floats (nan and inf included), strings, gg
dtypes and devices, nested in dicts (any of those as keys; OrderedDict stays
ordered), lists and tuples. Other dict/list/tuple subclasses come back as the
plain type.

Shared tensors: as in PyTorch, the same Tensor *object* reached twice is
written once and loads as one object. Differs from PyTorch: two *different*
tensors that share memory (a tensor and a view of it) are written twice and
load as independent copies (PyTorch keeps their storage shared). As in
PyTorch, a tensor's ``grad`` is not saved.

Writes are atomic: the archive goes to a temporary file in the target's
directory, is flushed and fsynced, then renamed over the target, so a crash
mid-save leaves the previous checkpoint intact and no partial file. A target
that is a symlink is written through (the link stays, its target is replaced),
and the next successful save removes the temporary file a killed save left.

Loading reads only what saving writes: uncompressed, unencrypted members whose
sizes fit the file, ``.npy`` headers that agree with the index and with their
member's size, and gpugrad's dtypes; anything else raises ``CheckpointError``
naming the member, before memory is spent on it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

from . import dtypes
from .backends import to_host
from .device import Device, resolve as to_device
from .tensor import Tensor

MAGIC = "gpugrad-checkpoint"
FORMAT_VERSION = 1
INDEX_NAME = "gpugrad_checkpoint.json"
_ENCRYPTED_OR_PATCHED = 0x1 | 0x20 | 0x40  # zip flag bits: encrypted, compressed patched data, strong encryption
MAX_INDEX_BYTES = 64 * 2**20  # ~400k tensors' worth of index; bounds what json.loads is asked to build


class CheckpointError(RuntimeError):
    """A file that is not a gpugrad checkpoint, or one that is corrupt or truncated."""


# ==================================================================== save
def save(obj, f) -> None:
    """Write ``obj`` (tensors, state dicts, numbers, strings, ... nested) to a checkpoint file.

    Args:
        obj: what to save; see the module docstring for the types a checkpoint can hold.
        f: a path (str or ``os.PathLike``), written atomically; or a writable binary file object.

    Raises:
        TypeError: for an object of a type a checkpoint cannot hold (before anything is written).

    Example:
        >>> gg.save({"w": gg.randn(3, 4), "step": 10}, "w.ckpt")
        >>> gg.load("w.ckpt")["step"]
        10
    """
    encoder = _Encoder()
    index = {"magic": MAGIC, "format_version": FORMAT_VERSION, "root": encoder.encode(obj, "obj")}
    index_text = json.dumps(index, allow_nan=False, indent=1)

    def write(fileobj):
        _write_archive(fileobj, index_text, encoder.tensors)

    if hasattr(f, "write"):
        write(f)
    else:
        _atomic_write(os.fspath(f), write)


class _Encoder:
    """Turns an object into JSON nodes, collecting the arrays to write as ``.npy`` members."""

    def __init__(self):
        self.tensors: list[tuple[str, object]] = []  # (member name, NumPy or CuPy array)
        self._member_of: dict = {}  # id(object) -> (member name, object): one object is written once
        self._open_containers: set = set()  # ids of the containers being encoded, to catch cycles

    def encode(self, obj, where: str) -> dict:
        if obj is None:
            return {"type": "none"}
        if isinstance(obj, (bool, np.bool_)):
            return {"type": "bool", "value": bool(obj)}
        if isinstance(obj, (int, np.integer)):
            return {"type": "int", "value": int(obj)}
        if isinstance(obj, (float, np.floating)):
            value = float(obj)
            return {"type": "float", "value": value if math.isfinite(value) else repr(value)}
        if isinstance(obj, str):
            return {"type": "str", "value": obj}
        if isinstance(obj, Tensor):
            return self._tensor(obj)
        if isinstance(obj, np.ndarray):
            return {"type": "ndarray", **self._array(obj, obj)}
        if isinstance(obj, dtypes.dtype):
            return {"type": "dtype", "name": obj.name}
        if isinstance(obj, Device):
            return {"type": "device", "name": str(obj)}
        if isinstance(obj, (dict, list, tuple)):
            return self._container(obj, where)
        raise TypeError(
            f"gg.save(): cannot save an object of type {type(obj).__module__}.{type(obj).__qualname__} "
            f"(at {where}); a checkpoint holds Tensors, NumPy arrays, None, bools, ints, floats, strings, "
            "gg dtypes and devices, nested in dicts, lists and tuples. It never pickles, so convert other "
            "objects to these first (e.g. a state_dict())."
        )

    def _container(self, obj, where: str) -> dict:
        if id(obj) in self._open_containers:
            raise ValueError(f"gg.save(): {where} contains itself; a checkpoint cannot hold a cycle")
        self._open_containers.add(id(obj))
        try:
            if isinstance(obj, dict):
                items = [[self.encode(key, f"{where} key {key!r}"), self.encode(value, f"{where}[{key!r}]")]
                         for key, value in obj.items()]
                return {"type": "dict", "ordered": isinstance(obj, OrderedDict), "items": items}
            kind = "list" if isinstance(obj, list) else "tuple"
            return {"type": kind, "items": [self.encode(x, f"{where}[{i}]") for i, x in enumerate(obj)]}
        finally:
            self._open_containers.discard(id(obj))

    def _tensor(self, t: Tensor) -> dict:
        node = {
            "type": "tensor",
            "device": str(t.device),
            "requires_grad": bool(t.requires_grad),
            "parameter": type(t).__name__ == "Parameter",
        }
        return {**node, **self._array(t, t.array)}

    def _array(self, key, array) -> dict:
        dtypes.from_numpy_dtype(array.dtype)  # a TypeError naming the supported dtypes
        # id() is safe here: the entry keeps ``key`` alive until the save ends (NumPy arrays are unhashable)
        if id(key) not in self._member_of:
            self._member_of[id(key)] = (f"tensors/{len(self.tensors)}.npy", key)
            self.tensors.append((self._member_of[id(key)][0], array))
        return {"file": self._member_of[id(key)][0], "dtype": str(array.dtype), "shape": list(array.shape)}


def _write_archive(fileobj, index_text: str, tensors) -> None:
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(INDEX_NAME, index_text)
        for name, array in tensors:
            _write_tensor(archive, name, array)


def _write_tensor(archive: zipfile.ZipFile, name: str, array) -> None:
    """One ``.npy`` member; a GPU array is copied to the host first."""
    host = to_host(array)
    with archive.open(name, "w", force_zip64=host.nbytes > 2**30) as member:
        np.save(member, host, allow_pickle=False)


def _atomic_write(path: str, write) -> None:
    """Run ``write(fileobj)`` on a temporary file next to ``path``, fsync it and rename it onto ``path``."""
    path = os.path.realpath(path)  # through symlinks, as open(path, "wb") writes: the link stays a link
    directory, name = os.path.split(path)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"gg.save(): cannot write {path}: the directory {directory} does not exist")
    mode = _new_file_mode(path)
    fd, tmp_path = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as tmp:
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_path)
        raise
    _fsync_directory(directory)
    _remove_stale_temp_files(directory, name)


def _remove_stale_temp_files(directory: str, name: str) -> None:
    """Delete the temporary files of earlier saves to ``name`` whose process died mid-save (killed, power cut).

    A temporary file's name holds the pid of the process writing it; one whose process is alive (this
    one included: another thread) may be a save in progress and is left alone. A name without a pid
    is from a gpugrad that did not write one, and goes.
    """
    prefix = f".{name}."
    for entry in os.listdir(directory):
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        pid = entry[len(prefix):].split(".")[0]
        if pid.isdigit() and (int(pid) == os.getpid() or _process_alive(int(pid))):
            continue
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(directory, entry))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (another user's), or we cannot tell: keep its file
    return True


def _new_file_mode(path: str) -> int:
    """The permissions the checkpoint should get: the old file's, else what ``open()`` would give."""
    with contextlib.suppress(FileNotFoundError):
        return os.stat(path).st_mode & 0o777
    return 0o666 & ~_umask()


def _umask() -> int:
    with contextlib.suppress(OSError, ValueError, StopIteration):  # Linux: read it without changing it
        with open("/proc/self/status") as status:
            return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it and put it back
    os.umask(mask)
    return mask


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); not possible, and not needed, on every platform."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ==================================================================== load
def load(f, map_location=None):
    """Read a checkpoint written by :func:`save`.

    Args:
        f: a path or a readable, seekable binary file object.
        map_location: where tensors go. None: back to the device each was saved
            from. A device (``"cpu"``, ``"cuda:0"``, a Device): all tensors there. A dict
            ``{"cuda:1": "cuda:0"}``: saved devices renamed, others kept. A callable
            ``fn(tensor, saved_device)``: gets each tensor loaded on the CPU and the name of
            the device it was saved from, and returns the tensor to use (or None for the default).

    Returns:
        The saved object, with Tensors as new leaves (``requires_grad`` as saved).

    Raises:
        CheckpointError (a RuntimeError): for a file that is not a gpugrad checkpoint (a pickle,
            a PyTorch or other zip file, random bytes), or one that is truncated or corrupt; and
            for a tensor saved on a GPU that is not usable here (pass ``map_location="cpu"``).

    Example:
        >>> state = gg.load("run.ckpt", map_location="cpu")
    """
    source = f if hasattr(f, "read") else os.fspath(f)
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise CheckpointError(f"gg.load(): {_name(f)} {_describe_non_zip(source)}") from None
    except NotImplementedError as exc:  # zipfile's word for zip features it lacks (a corrupt version field)
        raise CheckpointError(f"gg.load(): {_name(f)} is a zip archive gg.save did not write ({exc})") from None
    with archive:
        _check_members(archive, f, _archive_size(source))
        index = _read_index(archive, f)
        try:
            return _Decoder(archive, f, map_location).decode(index["root"])
        except RecursionError:
            raise CheckpointError(
                f"gg.load(): {_name(f)} is corrupt: the objects in its index ({INDEX_NAME}) are nested too deeply"
            ) from None


def _archive_size(source) -> int:
    """The bytes a path or file object holds (zipfile seeks to each member itself, so the position is free)."""
    return source.seek(0, os.SEEK_END) if hasattr(source, "read") else os.path.getsize(source)


def _check_members(archive: zipfile.ZipFile, f, archive_size: int) -> None:
    """Refuse what gg.save never writes before reading a byte of it.

    gg.save stores members uncompressed and unencrypted, so every member's data lies in the file
    as it is: a member claiming more bytes than the file holds, or compressed (a small file that
    inflates to gigabytes), is refused here rather than discovered while filling memory.
    """
    for info in archive.infolist():
        where = f"gg.load(): {_name(f)}: member {info.filename!r}"
        if info.flag_bits & _ENCRYPTED_OR_PATCHED:
            raise CheckpointError(
                f"{where} is encrypted or patched (zip flags {info.flag_bits:#x}); gg.save never writes those, so "
                "this is not its checkpoint")
        if info.compress_type != zipfile.ZIP_STORED:
            raise CheckpointError(
                f"{where} is compressed (zip method {info.compress_type}); gg.save stores members uncompressed "
                "and gg.load refuses compressed ones (a small compressed file can inflate to gigabytes). "
                "Re-save it with gg.save, or unzip and re-zip it without compression"
            )
        if info.compress_size != info.file_size or info.header_offset + info.file_size > archive_size:
            raise CheckpointError(
                f"{where} declares {info.file_size} bytes ({info.compress_size} stored at offset "
                f"{info.header_offset}), more than the {archive_size}-byte file can hold: corrupt or truncated"
            )
        if info.filename == INDEX_NAME and info.file_size > MAX_INDEX_BYTES:
            raise CheckpointError(
                f"{where} is {info.file_size} bytes, over the {MAX_INDEX_BYTES}-byte limit for a checkpoint index"
            )


def _name(f) -> str:
    return repr(os.fspath(f)) if not hasattr(f, "read") else "the file object"


def _describe_non_zip(source) -> str:
    """Why a file that is not a zip archive cannot be loaded, from its first bytes."""
    if hasattr(source, "read"):
        source.seek(0)
        head = source.read(8)
    else:
        with open(source, "rb") as file:
            head = file.read(8)
    if not head:
        return "is empty, not a gpugrad checkpoint (was the save interrupted before gg.save's atomic write?)"
    if head[:1] == b"\x80" and head[1:2] in {bytes([n]) for n in range(2, 6)}:
        return (
            "is a pickle file (e.g. from pickle.dump or an old torch.save). gg.load never unpickles, because "
            "unpickling can run arbitrary code; load it with the program that wrote it and re-save the "
            "tensors with gg.save"
        )
    if head[:2] == b"PK":
        return "is a truncated or corrupt zip archive, not a readable gpugrad checkpoint"
    return f"is not a gpugrad checkpoint (it is not a zip archive; it starts with {head!r})"


def _read_index(archive: zipfile.ZipFile, f) -> dict:
    names = archive.namelist()
    if INDEX_NAME not in names:
        if any(name.endswith("data.pkl") for name in names):
            what = "a PyTorch checkpoint (torch.save's zip format, which needs pickle)"
        elif names and all(name.endswith(".npy") for name in names):
            what = "a NumPy .npz archive (read it with np.load)"
        else:
            what = "a zip archive that is not a gpugrad checkpoint"
        raise CheckpointError(f"gg.load(): {_name(f)} is {what}: it has no {INDEX_NAME}")
    try:
        index = json.loads(archive.read(INDEX_NAME).decode("utf-8"))
    except (ValueError, zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise CheckpointError(f"gg.load(): {_name(f)} is corrupt: its index cannot be read ({exc})") from None
    except RecursionError:
        raise CheckpointError(
            f"gg.load(): {_name(f)} is corrupt: its index ({INDEX_NAME}) is nested too deeply"
        ) from None
    if not isinstance(index, dict) or index.get("magic") != MAGIC:
        raise CheckpointError(f"gg.load(): {_name(f)} is not a gpugrad checkpoint (its index lacks the magic marker)")
    version = index.get("format_version")
    if not isinstance(version, int) or "root" not in index:
        raise CheckpointError(f"gg.load(): {_name(f)} is corrupt: its index has no format version or no root")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"gg.load(): {_name(f)} was written by a newer gpugrad (checkpoint format {version}; this version "
            f"reads up to {FORMAT_VERSION}); upgrade gpugrad to load it"
        )
    return index


class _Decoder:
    """Rebuilds the saved object from the JSON nodes, reading each ``.npy`` member once."""

    def __init__(self, archive: zipfile.ZipFile, f, map_location):
        self.archive = archive
        self.f = f
        self.map_location = map_location
        self._loaded: dict = {}  # member name -> Tensor or array, so a shared object stays shared

    def decode(self, node):
        try:
            kind = node["type"]
            if kind in _SCALAR_DECODERS:
                return _SCALAR_DECODERS[kind](node)
            if kind == "list":
                return [self.decode(x) for x in node["items"]]
            if kind == "tuple":
                return tuple(self.decode(x) for x in node["items"])
            if kind == "dict":
                pairs = ((self.decode(k), self.decode(v)) for k, v in node["items"])
                return OrderedDict(pairs) if node.get("ordered") else dict(pairs)
            if kind == "device":
                return self._device(node["name"])
            if kind == "tensor":
                return self._cached(node, self._tensor)
            if kind == "ndarray":
                return self._cached(node, self._array)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._corrupt(f"a malformed node {_short(node)} ({type(exc).__name__}: {exc})") from None
        raise self._corrupt(f"an unknown node type {kind!r}")

    def _cached(self, node, build):
        if node["file"] not in self._loaded:
            self._loaded[node["file"]] = build(node)
        return self._loaded[node["file"]]

    def _array(self, node) -> np.ndarray:
        name, dtype, shape = node["file"], _index_dtype(node["dtype"]), _index_shape(node["shape"])
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise self._corrupt(f"no member {name!r} for a tensor its index lists (truncated?)") from None
        try:
            with self.archive.open(info) as member:
                fortran_order = self._check_npy_header(member, info, dtype, shape)
                data = bytearray(info.file_size - member.tell())
                if member.readinto(data) != len(data) or member.read(1):
                    raise EOFError("the member ended early")
        except (ValueError, EOFError, OSError, zipfile.BadZipFile, NotImplementedError) as exc:
            raise self._corrupt(f"unreadable tensor data in {name!r} ({exc})") from None
        return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")

    def _check_npy_header(self, member, info, dtype, shape) -> bool:
        """Read a ``.npy`` header and check it against the index and the member's size; return fortran_order."""
        version = np.lib.format.read_magic(member)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ValueError(f"unknown .npy format version {version}")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        header_shape, fortran_order, header_dtype = read_header(member)
        if header_dtype != dtype or list(header_shape) != list(shape):
            raise self._corrupt(
                f"{info.filename!r} holds a {header_dtype} array of shape {header_shape}, but the index says "
                f"{dtype} of shape {tuple(shape)}"
            )
        declared = math.prod(shape) * dtype.itemsize
        if declared != info.file_size - member.tell():
            raise self._corrupt(
                f"{info.filename!r} declares a {dtype} array of shape {tuple(shape)} ({declared} bytes) but holds "
                f"{info.file_size - member.tell()} bytes of data"
            )
        return fortran_order

    def _tensor(self, node) -> Tensor:
        saved_device = node["device"]
        array = self._array(node)
        cpu = to_device("cpu")
        if callable(self.map_location):
            moved = self.map_location(Tensor._make(array, cpu), saved_device)
            t = moved if moved is not None else self._place(array, saved_device, saved_device)
        else:
            t = self._place(array, saved_device, self._destination(saved_device))
        if node["requires_grad"]:
            if not t.dtype.is_floating_point:
                raise ValueError(f"a {t.dtype} tensor cannot require grad")
            t.requires_grad_(True)
        if node.get("parameter"):
            t = _as_parameter(t)
        return t

    def _device(self, saved: str) -> Device:
        """A saved ``gg.device`` object: itself when usable here, else where ``map_location`` sends its tensors.

        Differs from PyTorch, whose device objects exist without the hardware: ``gg.device("cuda:0")``
        needs a usable GPU, so a saved CUDA device that is not usable here loads as the device
        ``map_location`` sends it to (the CPU for a callable; an error naming the fix for None).
        """
        if not isinstance(saved, str):
            raise TypeError(f"bad device name {saved!r}")
        try:
            return to_device(saved)  # usable here: kept, as PyTorch keeps device objects whatever map_location says
        except RuntimeError:
            destination = "cpu" if callable(self.map_location) else self._destination(saved)
        try:
            return to_device(destination)
        except RuntimeError as exc:
            raise CheckpointError(
                f"gg.load(): {_name(self.f)} holds the device {saved}, which cannot be used here ({exc}). "
                "Pass map_location='cpu' (or another device) to load it elsewhere."
            ) from None

    def _destination(self, saved_device: str):
        location = self.map_location
        if location is None:
            return saved_device
        if isinstance(location, dict):
            renames = {str(k): v for k, v in location.items()}
            return renames.get(saved_device, saved_device)
        return location

    def _place(self, array, saved_device: str, destination) -> Tensor:
        try:
            dev = to_device(destination)
        except RuntimeError as exc:
            raise CheckpointError(
                f"gg.load(): {_name(self.f)} holds a tensor saved on {saved_device}, which cannot be used here "
                f"({exc}). Pass map_location='cpu' (or another device) to load it elsewhere."
            ) from None
        return Tensor._make(dev.put(array), dev)

    def _corrupt(self, what: str) -> CheckpointError:
        return CheckpointError(f"gg.load(): {_name(self.f)} is corrupt: {what}")


def _index_dtype(name) -> np.dtype:
    """A NumPy dtype named in the index, if gpugrad has it (native byte order, no strings/complex/records)."""
    if not isinstance(name, str):
        raise ValueError(f"bad dtype {name!r}")
    try:
        np_dtype = np.dtype(name)
        dtypes.from_numpy_dtype(np_dtype)
    except TypeError:
        raise ValueError(
            f"unsupported dtype {name!r} (gpugrad saves only " + ", ".join(d.name for d in dtypes.ALL) + ")"
        ) from None
    return np_dtype


def _index_shape(shape) -> list:
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"bad shape {shape!r}")
    return shape


def _decode_float(node) -> float:
    value = node["value"]
    if isinstance(value, str):
        if value not in ("nan", "inf", "-inf"):
            raise ValueError(f"bad float {value!r}")
        return float(value)
    return float(value)


def _decode_int(node) -> int:
    if not isinstance(node["value"], int):
        raise ValueError(f"bad int {node['value']!r}")
    return node["value"]


_SCALAR_DECODERS = {
    "none": lambda node: None,
    "bool": lambda node: bool(node["value"]),
    "int": _decode_int,
    "float": _decode_float,
    "str": lambda node: str(node["value"]),
    "dtype": lambda node: dtypes.to_dtype(node["name"]),
}


def _as_parameter(t: Tensor) -> Tensor:
    """Wrap a loaded tensor back into ``nn.Parameter`` (a plain Tensor if gg.nn has none)."""
    try:
        from .nn.parameter import Parameter
    except ImportError:
        return t
    return Parameter(t, requires_grad=t.requires_grad)


def _short(node) -> str:
    text = json.dumps(node) if isinstance(node, (dict, list)) else repr(node)
    return text if len(text) <= 80 else text[:77] + "..."
