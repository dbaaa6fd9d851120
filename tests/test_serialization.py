"""gg.save / gg.load: round trips, the pickle-free format, atomic writes, bad files, map_location."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import gpugrad as gg
from gpugrad import serialization
from gpugrad.serialization import INDEX_NAME, CheckpointError


def roundtrip(obj, path, **load_kwargs):
    gg.save(obj, path)
    return gg.load(path, **load_kwargs)


def rewrite_index(path, edit):
    """Rewrite a checkpoint with ``edit(index)`` applied to its JSON index (to fake other writers)."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    index = json.loads(members[INDEX_NAME])
    edit(index)
    members[INDEX_NAME] = json.dumps(index).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("dtype", [gg.float16, gg.float32, gg.float64, gg.int8, gg.uint8, gg.int32, gg.int64, gg.bool])
def test_tensors_of_every_dtype_round_trip(dtype, tmp_path):
    values = np.arange(-3, 9).reshape(3, 4) % 5
    t = gg.tensor(values, dtype=dtype)
    loaded = roundtrip(t, tmp_path / "t.ckpt")
    assert loaded.dtype == dtype and loaded.shape == (3, 4) and loaded.device == "cpu"
    assert_array_equal(loaded.numpy(), t.numpy())
    assert loaded is not t and not np.shares_memory(loaded.numpy(), t.numpy())


@pytest.mark.parametrize("t", [
    gg.tensor(2.5, dtype=gg.float64),
    gg.zeros(0, 3),
    gg.arange(12, dtype=gg.float32).reshape(3, 4).t(),  # not contiguous
    gg.tensor([float("nan"), float("inf"), -0.0]),
], ids=["0-d", "empty", "transposed", "non-finite"])
def test_unusual_tensors_round_trip(t, tmp_path):
    loaded = roundtrip(t, tmp_path / "t.ckpt")
    assert loaded.shape == t.shape and loaded.dtype == t.dtype
    assert_array_equal(loaded.numpy(), t.numpy())


def test_requires_grad_is_kept_and_loaded_tensors_are_leaves(tmp_path):
    w = gg.randn(3, requires_grad=True)
    y = w * 2  # a non-leaf: saved as its values
    loaded = roundtrip({"w": w, "y": y, "c": gg.ones(2)}, tmp_path / "g.ckpt")
    assert loaded["w"].requires_grad and loaded["w"].is_leaf and loaded["w"].grad is None
    assert loaded["y"].requires_grad and loaded["y"].is_leaf
    assert not loaded["c"].requires_grad
    (loaded["w"] * loaded["w"]).sum().backward()
    assert_array_equal(loaded["w"].grad.numpy(), 2 * w.detach().numpy())


def test_nested_containers_and_scalars_round_trip(tmp_path):
    obj = {
        "ordered": OrderedDict([("z", 1), ("a", 2), ("m", 3)]),
        "list": [1, -2, 2**70, 1.5, float("inf"), float("-inf"), True, False, None, "text é ✓"],
        "tuple": (1, (2, 3), []),
        7: "int key",
        (1, "a"): "tuple key",
        None: "none key",
        "empty": {},
        "numpy scalars": [np.float32(0.25), np.int64(5), np.bool_(True)],
        "dtype": gg.float16,
        "device": gg.device("cpu"),
        "array": np.arange(6).reshape(2, 3),
    }
    loaded = roundtrip(obj, tmp_path / "nested.ckpt")
    assert isinstance(loaded["ordered"], OrderedDict) and list(loaded["ordered"]) == ["z", "a", "m"]
    assert type(loaded) is dict and list(loaded) == list(obj)
    assert loaded["list"][:4] == [1, -2, 2**70, 1.5] and loaded["list"][4:] == obj["list"][4:]
    assert loaded["tuple"] == (1, (2, 3), []) and isinstance(loaded["tuple"][1], tuple)
    assert loaded[7] == "int key" and loaded[(1, "a")] == "tuple key" and loaded[None] == "none key"
    assert loaded["numpy scalars"] == [0.25, 5, True]
    assert type(loaded["numpy scalars"][1]) is int and type(loaded["numpy scalars"][2]) is bool
    assert loaded["dtype"] is gg.float16 and loaded["device"] is gg.device("cpu")
    assert_array_equal(loaded["array"], obj["array"])
    nan = roundtrip([float("nan")], tmp_path / "nan.ckpt")[0]
    assert nan != nan


def test_the_same_tensor_object_is_written_once_and_loads_as_one_object(tmp_path):
    shared = gg.randn(4)
    view = shared[1:3]  # another object sharing memory: written separately
    loaded = roundtrip({"a": shared, "b": [shared], "view": view}, tmp_path / "s.ckpt")
    assert loaded["a"] is loaded["b"][0]
    assert loaded["view"] is not loaded["a"]
    with zipfile.ZipFile(tmp_path / "s.ckpt") as archive:
        assert sorted(n for n in archive.namelist() if n.endswith(".npy")) == ["tensors/0.npy", "tensors/1.npy"]


def test_parameters_load_as_parameters(tmp_path):
    parameter = pytest.importorskip("gpugrad.nn.parameter")
    p = parameter.Parameter(gg.ones(3))
    loaded = roundtrip({"p": p}, tmp_path / "p.ckpt")["p"]
    assert isinstance(loaded, parameter.Parameter) and loaded.requires_grad
    assert_array_equal(loaded.detach().numpy(), [1.0, 1.0, 1.0])


def test_file_objects_and_path_likes(tmp_path):
    buffer = io.BytesIO()
    gg.save({"x": gg.arange(3)}, buffer)
    buffer.seek(0)
    assert_array_equal(gg.load(buffer)["x"].numpy(), [0, 1, 2])
    assert roundtrip([1, 2], tmp_path / "p.ckpt") == [1, 2]  # a pathlib.Path
    assert roundtrip([3], str(tmp_path / "s.ckpt")) == [3]


# ------------------------------------------------------------------ the format
def test_the_file_is_a_zip_of_a_json_index_and_npy_files_without_pickle(tmp_path):
    path = tmp_path / "f.ckpt"
    gg.save({"w": gg.ones(2, 3, dtype=gg.float64, requires_grad=True), "step": 4}, path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == [INDEX_NAME, "tensors/0.npy"]
        index = json.loads(archive.read(INDEX_NAME))
        with archive.open("tensors/0.npy") as member:
            array = np.load(io.BytesIO(member.read()), allow_pickle=False)
    assert index["magic"] == "gpugrad-checkpoint" and index["format_version"] == 1
    (_, w_node), (_, step_node) = index["root"]["items"]
    assert w_node == {"type": "tensor", "device": "cpu", "requires_grad": True, "parameter": False,
                      "file": "tensors/0.npy", "dtype": "float64", "shape": [2, 3]}
    assert step_node == {"type": "int", "value": 4}
    assert_array_equal(array, np.ones((2, 3)))


def test_unsupported_objects_raise_before_anything_is_written(tmp_path):
    path = tmp_path / "bad.ckpt"
    gg.save({"ok": 1}, path)
    with pytest.raises(TypeError, match=r"cannot save an object of type builtins.set \(at obj\['model'\]\[1\]\)"):
        gg.save({"model": [1, {2, 3}]}, path)
    with pytest.raises(TypeError, match="cannot save an object of type builtins.complex"):
        gg.save(1j, path)
    assert gg.load(path) == {"ok": 1} and os.listdir(tmp_path) == ["bad.ckpt"]


def test_a_container_holding_itself_raises(tmp_path):
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        gg.save(loop, tmp_path / "loop.ckpt")


def test_new_files_get_the_usual_permissions(tmp_path):
    gg.save([1], tmp_path / "new.ckpt")
    with open(tmp_path / "plain", "wb"):
        pass
    assert os.stat(tmp_path / "new.ckpt").st_mode == os.stat(tmp_path / "plain").st_mode
    os.chmod(tmp_path / "new.ckpt", 0o600)
    gg.save([2], tmp_path / "new.ckpt")
    assert os.stat(tmp_path / "new.ckpt").st_mode & 0o777 == 0o600


def test_saving_into_a_missing_directory_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gg.save([1], tmp_path / "nowhere" / "x.ckpt")


# ------------------------------------------------------------------ atomic writes
@pytest.mark.parametrize("crash", [OSError("disk full"), KeyboardInterrupt()], ids=["error", "interrupt"])
def test_a_crash_mid_save_keeps_the_old_checkpoint_and_leaves_no_temp_file(crash, tmp_path, monkeypatch):
    path = tmp_path / "model.ckpt"
    gg.save({"w": gg.zeros(3), "b": gg.zeros(2)}, path)
    real_write, written = serialization._write_tensor, []

    def write_then_crash(archive, name, array):
        if written:  # the first tensor is written, then the "crash"
            raise crash
        written.append(name)
        real_write(archive, name, array)

    monkeypatch.setattr(serialization, "_write_tensor", write_then_crash)
    with pytest.raises(type(crash)):
        gg.save({"w": gg.ones(3), "b": gg.ones(2)}, path)
    assert written == ["tensors/0.npy"]
    assert os.listdir(tmp_path) == ["model.ckpt"]
    old = gg.load(path)
    assert_array_equal(old["w"].numpy(), np.zeros(3))


def test_a_crash_before_the_rename_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "model.ckpt"
    gg.save([1], path)

    def failing_fsync(fd):
        raise OSError("fsync failed")

    monkeypatch.setattr(serialization.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="fsync failed"):
        gg.save([2], path)
    monkeypatch.undo()
    assert gg.load(path) == [1] and os.listdir(tmp_path) == ["model.ckpt"]


# ------------------------------------------------------------------ bad files
def _checkpoint_bytes(tmp_path) -> bytes:
    gg.save({"w": gg.arange(1000, dtype=gg.float64), "name": "ok"}, tmp_path / "good.ckpt")
    return (tmp_path / "good.ckpt").read_bytes()


@pytest.mark.parametrize("make, message", [
    (lambda good: b"", "is empty"),
    (lambda good: np.random.default_rng(0).bytes(500), "not a gpugrad checkpoint \\(it is not a zip archive"),
    (lambda good: pickle.dumps({"w": [1.0, 2.0]}), "is a pickle file.*never unpickles"),
    (lambda good: good[: len(good) // 2], "truncated or corrupt zip archive"),
    (lambda good: good[:-10], "truncated or corrupt zip archive"),
])
def test_foreign_truncated_and_empty_files_raise_clear_errors(make, message, tmp_path):
    path = tmp_path / "bad.ckpt"
    path.write_bytes(make(_checkpoint_bytes(tmp_path)))
    with pytest.raises(CheckpointError, match=message):
        gg.load(path)


def test_a_zip_without_our_index_raises(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match="not a gpugrad checkpoint: it has no gpugrad_checkpoint.json"):
        gg.load(path)
    np.savez(tmp_path / "arrays.npz", a=np.ones(2))
    with pytest.raises(CheckpointError, match="NumPy .npz archive"):
        gg.load(tmp_path / "arrays.npz")


def test_a_torch_checkpoint_is_recognised(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(2)}, tmp_path / "torch.pt")
    with pytest.raises(CheckpointError, match="a PyTorch checkpoint"):
        gg.load(tmp_path / "torch.pt")


def test_corrupt_tensor_bytes_are_detected(tmp_path):
    good = _checkpoint_bytes(tmp_path)
    start = good.index(np.arange(1000, dtype=np.float64)[500:502].tobytes())
    bad = bytearray(good)
    bad[start] ^= 0xFF
    (tmp_path / "bad.ckpt").write_bytes(bytes(bad))
    with pytest.raises(CheckpointError, match="corrupt: unreadable tensor data in 'tensors/0.npy'.*CRC"):
        gg.load(tmp_path / "bad.ckpt")


@pytest.mark.parametrize("edit, message", [
    (lambda index: index.update(magic="something-else"), "lacks the magic marker"),
    (lambda index: index.update(format_version=99), "newer gpugrad \\(checkpoint format 99"),
    (lambda index: index.pop("root"), "no format version or no root"),
    (lambda index: index["root"]["items"][0][1].update(type="mystery"), "unknown node type 'mystery'"),
    (lambda index: index["root"]["items"][0][1].update(file="tensors/7.npy"), "no member 'tensors/7.npy'"),
    (lambda index: index["root"]["items"][0][1].update(shape=[10, 100]), "the index says float64 of shape"),
    (lambda index: index["root"]["items"][1][1].pop("value"), "malformed node"),
])
def test_inconsistent_indexes_raise(edit, message, tmp_path):
    _checkpoint_bytes(tmp_path)
    rewrite_index(tmp_path / "good.ckpt", edit)
    with pytest.raises(CheckpointError, match=message):
        gg.load(tmp_path / "good.ckpt")


def test_a_corrupt_index_raises(tmp_path):
    path = tmp_path / "bad.ckpt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(INDEX_NAME, "{not json")
    with pytest.raises(CheckpointError, match="its index cannot be read"):
        gg.load(path)


# ------------------------------------------------------------------ map_location
def _cuda_checkpoint(tmp_path):
    """A checkpoint whose tensor says it was saved on cuda:0 (written here, where there may be no GPU)."""
    path = tmp_path / "gpu.ckpt"
    gg.save({"w": gg.tensor([1.0, 2.0], requires_grad=True)}, path)
    rewrite_index(path, lambda index: index["root"]["items"][0][1].update(device="cuda:0"))
    return path


def test_a_gpu_checkpoint_without_a_gpu_suggests_map_location(tmp_path):
    if gg.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(CheckpointError, match="saved on cuda:0.*map_location='cpu'"):
        gg.load(_cuda_checkpoint(tmp_path))


@pytest.mark.parametrize("map_location", ["cpu", gg.device("cpu"), {"cuda:0": "cpu"}, {gg.device("cpu"): "cpu"}],
                         ids=["str", "device", "dict", "dict_device_key"])
def test_map_location_moves_tensors(map_location, tmp_path):
    if isinstance(map_location, dict) and "cuda:0" not in map_location:
        path = tmp_path / "cpu.ckpt"
        gg.save({"w": gg.tensor([1.0, 2.0], requires_grad=True)}, path)
    else:
        path = _cuda_checkpoint(tmp_path)
    w = gg.load(path, map_location=map_location)["w"]
    assert w.device == "cpu" and w.requires_grad
    assert_array_equal(w.detach().numpy(), [1.0, 2.0])


def test_map_location_callable_gets_the_cpu_tensor_and_the_saved_device(tmp_path):
    seen = []

    def place(t, saved_device):
        seen.append((t.device, saved_device, t.requires_grad))
        return t * 10 if saved_device == "cuda:0" else None

    w = gg.load(_cuda_checkpoint(tmp_path), map_location=place)["w"]
    assert seen == [(gg.device("cpu"), "cuda:0", False)]
    assert_array_equal(w.detach().numpy(), [10.0, 20.0]) and w.requires_grad
    gg.save(gg.ones(2), tmp_path / "cpu.ckpt")
    assert_array_equal(gg.load(tmp_path / "cpu.ckpt", map_location=place).numpy(), [1.0, 1.0])  # None: default


def test_tensors_return_to_the_device_they_were_saved_from(device, tmp_path):
    t = gg.randn(3, 2, device=device, requires_grad=True)
    loaded = roundtrip({"t": t}, tmp_path / "d.ckpt")["t"]
    assert loaded.device is t.device and loaded.requires_grad
    on_cpu = gg.load(tmp_path / "d.ckpt", map_location="cpu")["t"]
    assert on_cpu.device == "cpu"
    assert_array_equal(on_cpu.detach().numpy(), t.detach().cpu().numpy())


def test_a_gpu_optimizer_state_loads_on_the_cpu(device, tmp_path):
    w = gg.randn(3, device=device, requires_grad=True)
    opt = gg.optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    gg.save(opt.state_dict(), tmp_path / "opt.ckpt")
    w_cpu = w.detach().cpu().requires_grad_()
    opt_cpu = gg.optim.Adam([w_cpu], lr=0.1)
    opt_cpu.load_state_dict(gg.load(tmp_path / "opt.ckpt"))  # state follows each parameter's device
    assert opt_cpu.state[w_cpu]["exp_avg"].device == "cpu"
    assert_array_equal(opt_cpu.state[w_cpu]["exp_avg"].numpy(), opt.state[w]["exp_avg"].cpu().numpy())


def test_a_training_checkpoint_of_a_module_and_its_optimizer(tmp_path):
    nn = pytest.importorskip("gpugrad.nn")
    if not all(hasattr(nn, name) for name in ("Linear", "Sequential", "ReLU")):
        pytest.skip("gg.nn has no Linear/Sequential/ReLU yet")

    def make():
        model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
        return model, gg.optim.Adam(model.parameters(), lr=0.01)

    def train_step(model, opt, x):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()

    x = gg.randn(8, 3)
    model, opt = make()
    train_step(model, opt, x)
    gg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 1}, tmp_path / "run.ckpt")
    checkpoint = gg.load(tmp_path / "run.ckpt")
    assert isinstance(checkpoint["model"], OrderedDict) and checkpoint["epoch"] == 1
    resumed_model, resumed_opt = make()
    resumed_model.load_state_dict(checkpoint["model"])
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    train_step(model, opt, x)
    train_step(resumed_model, resumed_opt, x)
    for p, q in zip(model.parameters(), resumed_model.parameters()):
        assert_array_equal(p.detach().numpy(), q.detach().numpy())


# ------------------------------------------------------------------ hostile files (issue 11)
def _write_members(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _index_text(root) -> str:
    return json.dumps({"magic": serialization.MAGIC, "format_version": 1, "root": root})


def _npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _saved_and_patched(path, patch):
    """A checkpoint of ``[1]`` whose bytes ``patch(bytearray)`` edited in place (to fake other writers)."""
    gg.save([1], path)
    data = bytearray(path.read_bytes())
    patch(data)
    path.write_bytes(bytes(data))
    return path


def _tensor_node(dtype, shape):
    return {"type": "tensor", "file": "tensors/0.npy", "dtype": dtype, "shape": shape, "device": "cpu",
            "requires_grad": False, "parameter": False}


def test_a_deflated_tensor_bomb_is_refused_before_it_is_inflated(tmp_path):
    zeros = np.zeros(2**22)  # 32 MB that deflate to ~32 kB
    path = tmp_path / "bomb.ckpt"
    _write_members(path, {INDEX_NAME: _index_text(_tensor_node("float64", [2**22])),
                          "tensors/0.npy": _npy_bytes(zeros)}, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2**20
    with pytest.raises(CheckpointError, match="member 'gpugrad_checkpoint.json' is compressed.*inflate"):
        gg.load(path)


def test_a_deflated_whitespace_index_is_refused(tmp_path):
    path = tmp_path / "bomb.ckpt"
    _write_members(path, {INDEX_NAME: " " * 2**24 + _index_text({"type": "none"})}, compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(CheckpointError, match="compressed"):
        gg.load(path)


def test_an_oversized_index_is_refused_unread(tmp_path, monkeypatch):
    path = tmp_path / "big.ckpt"
    _write_members(path, {INDEX_NAME: " " * 4096 + _index_text({"type": "none"})})
    monkeypatch.setattr(serialization, "MAX_INDEX_BYTES", 4096)
    monkeypatch.setattr(serialization.json, "loads", lambda text: pytest.fail("the index was parsed"))
    with pytest.raises(CheckpointError, match="'gpugrad_checkpoint.json' is .* bytes, over the 4096-byte limit"):
        gg.load(path)


def test_an_encrypted_member_is_refused(tmp_path):
    def set_encrypted_flag(data):
        for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local and central headers
            data[data.index(signature) + flag_offset] |= 0x1

    path = _saved_and_patched(tmp_path / "enc.ckpt", set_encrypted_flag)
    with pytest.raises(CheckpointError, match="member .gpugrad_checkpoint.json. is encrypted or patched"):
        gg.load(path)


def test_a_member_declaring_more_bytes_than_the_file_holds_is_refused(tmp_path):
    def claim_two_gigabytes(data):
        central = data.index(b"PK\x01\x02")
        for offset in (20, 24):  # compressed and uncompressed sizes in the central directory
            data[central + offset:central + offset + 4] = (2**31).to_bytes(4, "little")

    path = _saved_and_patched(tmp_path / "lie.ckpt", claim_two_gigabytes)
    with pytest.raises(CheckpointError, match="declares 2147483648 bytes.*more than the .*-byte file can hold"):
        gg.load(path)


@pytest.mark.parametrize("shape", [[2**40], [2**20, 2**20]], ids=["1TiB", "2d"])
def test_a_huge_declared_shape_is_refused_without_allocating(shape, tmp_path):
    path = tmp_path / "huge.ckpt"
    buffer = io.BytesIO()  # a .npy header declaring the shape, followed by 8 bytes of data
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": tuple(shape)})
    _write_members(path, {INDEX_NAME: _index_text(_tensor_node("float64", shape)),
                          "tensors/0.npy": buffer.getvalue() + bytes(8)})
    with pytest.raises(CheckpointError, match=r"'tensors/0.npy' declares a float64 array of shape .* but holds 8 bytes"):
        gg.load(path)


@pytest.mark.parametrize("array", [
    np.array(["abc", "de"]), np.array([1 + 2j]), np.array([1.0, 2.0], dtype=">f8"),
    np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]), np.array([1], dtype=np.uint64),
], ids=["unicode", "complex", "big-endian", "structured", "uint64"])
def test_unsupported_dtypes_raise_checkpoint_error_naming_the_member(array, tmp_path):
    path = tmp_path / "dtype.ckpt"
    for index_dtype in (array.dtype.str, "float64"):  # the index telling the truth, or lying about the dtype
        node = _tensor_node(index_dtype if array.dtype.names is None else "float64", list(array.shape))
        _write_members(path, {INDEX_NAME: _index_text(node), "tensors/0.npy": _npy_bytes(array)})
        with pytest.raises(CheckpointError, match="unsupported dtype|tensors/0.npy"):
            gg.load(path)


def test_deep_nesting_raises_checkpoint_error(tmp_path):
    node = {"type": "none"}
    for _ in range(3000):
        node = {"type": "list", "items": [node]}
    path = tmp_path / "deep.ckpt"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)  # let json.dumps write it; loading must still not recurse into a crash
    try:
        text = _index_text(node)
    finally:
        sys.setrecursionlimit(limit)
    _write_members(path, {INDEX_NAME: text})
    with pytest.raises(CheckpointError, match="nested too deeply"):
        gg.load(path)


@pytest.mark.parametrize("edit, message", [
    (lambda node: node.update(shape=[-1]), "bad shape"),
    (lambda node: node.update(shape="3"), "bad shape"),
    (lambda node: node.update(dtype=7), "bad dtype"),
    (lambda node: node.update(device="tpu"), "malformed"),
], ids=["negative", "string-shape", "int-dtype", "device"])
def test_malformed_tensor_nodes_raise_checkpoint_error(edit, message, tmp_path):
    gg.save(gg.zeros(3), tmp_path / "t.ckpt")
    rewrite_index(tmp_path / "t.ckpt", lambda index: edit(index["root"]))
    with pytest.raises(CheckpointError, match=message):
        gg.load(tmp_path / "t.ckpt")


def test_an_integer_tensor_saved_as_requiring_grad_is_corrupt(tmp_path):
    gg.save(gg.arange(3), tmp_path / "t.ckpt")
    rewrite_index(tmp_path / "t.ckpt", lambda index: index["root"].update(requires_grad=True))
    with pytest.raises(CheckpointError, match="int64 tensor cannot require grad"):
        gg.load(tmp_path / "t.ckpt")


def test_a_saved_cuda_device_object_loads_with_map_location(tmp_path):
    if gg.cuda.is_available():
        pytest.skip("this machine has a GPU")
    path = tmp_path / "dev.ckpt"
    gg.save({"device": gg.device("cpu"), "w": gg.ones(2)}, path)
    rewrite_index(path, lambda index: index["root"]["items"][0][1].update(name="cuda:0"))
    loaded = gg.load(path, map_location="cpu")
    assert loaded["device"] is gg.device("cpu") and loaded["w"].device == "cpu"
    assert gg.load(path, map_location={"cuda:0": "cpu"})["device"] == "cpu"
    assert gg.load(path, map_location=lambda t, saved: None)["device"] == "cpu"
    with pytest.raises(CheckpointError, match="holds the device cuda:0.*map_location='cpu'"):
        gg.load(path)


def test_saving_to_a_symlink_writes_through_it(tmp_path):
    target = tmp_path / "real.ckpt"
    gg.save([0], target)
    link = tmp_path / "latest.ckpt"
    link.symlink_to(target)
    gg.save([1], link)
    assert link.is_symlink() and gg.load(target) == [1] and gg.load(link) == [1]


def test_the_next_save_removes_the_temp_file_a_killed_save_left(tmp_path):
    path = tmp_path / "model.ckpt"
    gg.save([0], path)
    killed = subprocess.run([sys.executable, "-c", (
        "import os, gpugrad as gg, gpugrad.serialization as s\n"
        "s._write_tensor = lambda *a: os._exit(9)\n"
        f"gg.save(gg.ones(2), {str(path)!r})\n")], cwd=os.getcwd())
    assert killed.returncode == 9
    assert len(os.listdir(tmp_path)) == 2  # the checkpoint and the killed save's temporary file
    (tmp_path / ".model.ckpt.abc123.tmp").write_bytes(b"PK")  # one an older gpugrad left, without a pid
    (tmp_path / ".other.ckpt.1.tmp").write_bytes(b"PK")  # another checkpoint's: not ours to remove
    gg.save([2], path)
    os.unlink(tmp_path / ".other.ckpt.1.tmp")
    assert os.listdir(tmp_path) == ["model.ckpt"] and gg.load(path) == [2]
