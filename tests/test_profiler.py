"""The profiler: exact per-op counts on a known program, table and trace formats, the transfer ledger."""

from __future__ import annotations

import json
import re
import sys
import threading

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.autograd.anomaly as anomaly
import gpugrad.profiler as profiler
from gpugrad.autograd import engine
from gpugrad.autograd.node import ArrayFunction
from gpugrad.backends import transfers
from gpugrad.tensor import Tensor

READ_METHODS = ("item", "tolist", "numpy", "__array__", "__float__", "__int__", "__index__", "__bool__", "__repr__")


def _here() -> int:
    """The caller's line number."""
    return sys._getframe(1).f_lineno


def _pristine() -> tuple:
    return (
        ArrayFunction.__dict__["__call__"], engine._call_backward, engine._accumulate, engine._run,
        *(Tensor.__dict__[m] for m in READ_METHODS), tuple(transfers.listeners),
    )


ORIGINALS = _pristine()


@pytest.fixture(autouse=True)
def _no_layer_left_behind():
    yield
    assert _pristine() == ORIGINALS


def _train_steps(device, steps: int):
    """A known program: per step 4 forward ops, 4 backward nodes, 2 leaves accumulating."""
    x = gg.tensor([1.0, 2.0, 3.0], device=device)
    w = gg.tensor([0.5, -1.0, 2.0], device=device, requires_grad=True)
    b = gg.tensor(0.25, device=device, requires_grad=True)
    for _ in range(steps):
        loss = (x * w + b).relu().sum()
        loss.backward()
    return w, b


def test_exact_counts_on_a_known_program(device):
    with profiler.profile() as prof:
        _train_steps(device, 3)
    assert prof.counts("forward") == {"Add": 3, "Mul": 3, "Relu": 3, "Sum": 3}
    backward = prof.counts("backward")
    nodes = {name: n for name, n in backward.items() if name.endswith("Backward0")}
    assert nodes == {"AddBackward0": 3, "MulBackward0": 3, "ReluBackward0": 3, "SumBackward0": 3}
    assert backward["AccumulateGrad"] == 6  # w and b, three times
    assert backward["backward pass"] == 3
    # without create_graph the formulas run on raw arrays: no gpugrad op runs inside backward
    assert set(backward) - set(nodes) - {"AccumulateGrad", "backward pass"} == set()


def test_ops_run_by_formulas_under_create_graph_are_listed_as_backward(device):
    x = gg.tensor([1.0, 2.0], device=device, requires_grad=True)
    with profiler.profile() as prof:
        (x * x).tanh().sum().backward(create_graph=True)
    backward, forward = prof.counts("backward"), prof.counts("forward")
    other = set(backward) - {"AccumulateGrad", "backward pass"} - {n for n in backward if n.endswith("Backward0")}
    assert other and all(name[0].isupper() and not name.endswith("Backward0") for name in other)
    assert forward == {"Mul": 1, "Tanh": 1, "Sum": 1}


def test_times_nest_and_self_time_excludes_children():
    with profiler.profile() as prof:
        _train_steps("cpu", 2)
    for stats in prof.key_averages():
        assert stats.calls > 0 and 0 <= stats.self_ns <= stats.total_ns
        assert stats.mean_ns == pytest.approx(stats.total_ns / stats.calls)
    events = prof.events()  # in the order they ended, so a parent comes after its children
    children = {id(e): 0 for e in events}
    parent_names = {}
    for i, event in enumerate(events):
        end = event.start_ns + event.duration_ns
        parent = next((p for p in events[i + 1:] if p.start_ns <= event.start_ns and end <= p.start_ns + p.duration_ns),
                      None)
        if parent is not None:
            children[id(parent)] += event.duration_ns
            parent_names[event.name, event.kind] = parent.name
    for event in events:
        assert event.self_ns == event.duration_ns - children[id(event)]
    assert parent_names["MulBackward0", "backward"] == "backward pass"
    assert parent_names["AccumulateGrad", "backward"] == "backward pass"
    assert ("Mul", "forward") not in parent_names  # forward ops ran at the top level


def test_output_bytes_count_new_memory_only():
    x = gg.ones(4, 8, dtype=gg.float64)
    with profiler.profile() as prof:
        y = x * 2  # 4 * 8 * 8 bytes allocated
        y.reshape(32)  # views: nothing allocated
        y[1:3]
        y.T
        y.sum()
    out_bytes = {s.name: s.out_bytes for s in prof.key_averages()}
    assert out_bytes == {"Mul": 256, "Reshape": 0, "GetItem": 0, "Permute": 0, "Sum": 8}


def _cells(line: str) -> list:
    return re.split(r"\s{2,}", line.strip())


def test_table_is_readable_sortable_and_limited():
    with profiler.profile() as prof:
        _train_steps("cpu", 2)
    table = prof.table(sort_by="calls", row_limit=5)
    lines = table.splitlines()
    assert _cells(lines[0]) == ["Name", "Kind", "Calls", "Total ms", "Self ms", "Mean us", "Out bytes"]
    assert set(lines[1]) <= {"-", " "}
    rows = [_cells(line) for line in lines[2:-1]]
    assert len(rows) == 5 and all(len(row) == 7 for row in rows)
    calls = [int(row[2]) for row in rows]
    assert calls == sorted(calls, reverse=True)
    assert lines[-1].startswith("Profiled ") and "prof.transfers()" in lines[-1]
    forward_only = [_cells(line) for line in prof.table(kind="forward").splitlines()[2:-1]]
    assert {row[0] for row in forward_only} == {"Add", "Mul", "Relu", "Sum"}
    assert {row[1] for row in forward_only} == {"forward"}
    assert {row[6] for row in forward_only if row[0] == "Mul"} == {"24 B"}  # 2 calls x 3 float32
    for key in ("total", "self", "mean", "bytes", "name"):
        assert len(prof.table(sort_by=key).splitlines()) == len(prof.key_averages()) + 3
    with pytest.raises(ValueError, match="sort_by must be one of"):
        prof.table(sort_by="fastest")
    with pytest.raises(ValueError, match="kind must be"):
        prof.counts("forwards")


def test_chrome_trace_is_well_formed(tmp_path):
    with profiler.profile(record_shapes=True, with_stack=True) as prof:
        line = _here() + 1
        w, _ = _train_steps("cpu", 2)
        w.sum().item()
    path = prof.export_chrome_trace(tmp_path / "trace" / "run.json")
    trace = json.load(open(path, encoding="utf-8"))
    events = trace["traceEvents"]
    spans = [e for e in events if e["ph"] == "X"]
    for event in spans:
        assert {"name", "cat", "ph", "ts", "dur", "pid", "tid"} <= set(event)
        assert event["ts"] >= 0 and event["dur"] >= 0
    forward = [e for e in spans if e["cat"] == "forward"]
    assert len(forward) == 2 * 4 + 1  # two steps of four ops, then w.sum()
    mul = next(e for e in forward if e["name"] == "Mul")
    assert mul["args"]["input_shapes"] == [[3], [3]] and mul["args"]["out_bytes"] == 12
    assert mul["args"]["location"].endswith(f"test_profiler.py:{_train_steps.__code__.co_firstlineno + 6}")
    reads = [e for e in events if e.get("cat") == "transfer"]
    assert len(reads) == 1 and reads[0]["name"] == "item (sync)"
    assert reads[0]["args"]["location"].endswith(f":{line + 1}")
    names = {e["name"] for e in events if e["ph"] == "M"}
    assert names == {"process_name", "thread_name"}


def test_ledger_counts_reads_with_their_lines():
    x = gg.tensor([1.0, 2.0, 3.0])
    expected = []
    with profiler.profile() as prof:
        for _ in range(3):
            loss = (x * 2).sum()
            expected.append(("item", _here() + 1))
            loss.item()
        expected.append(("numpy", _here() + 1))
        x.numpy()
        expected.append(("float", _here() + 1))
        float(loss)  # float() reads through item(): one entry, not two
        expected.append(("int", _here() + 1))
        int(loss)
        expected.append(("bool", _here() + 1))
        if loss > 0:
            pass
        expected.append(("tolist", _here() + 1))
        x.tolist()
        expected.append(("np.asarray", _here() + 1))
        np.asarray(x)
        expected.append(("repr", _here() + 1))
        repr(x)
    log = prof.transfers()
    assert [(e.op, int(e.location.rsplit(":", 1)[1])) for e in log] == expected
    assert all(e.location.startswith(__file__) for e in log)
    assert all(e.kind == "sync" and e.nbytes == 0 and e.device == "cpu" and e.via is None for e in log)
    assert [e.tensor_bytes for e in log][:5] == [4, 4, 4, 12, 4]
    summary = log.summary()
    assert summary["events"] == summary["reads"] == 10 and summary["bytes"] == 0
    assert summary["by_kind"] == {"sync": {"count": 10, "bytes": 0}}
    top = summary["by_location"][0]
    assert (top["op"], top["count"], top["location"]) == ("item", 3, f"{__file__}:{expected[0][1]}")
    table = str(log)
    assert "Location" in table and "10 transfer events, 10 reads into Python" in table


def test_reads_made_inside_gpugrad_name_the_entry_point():
    parts = [gg.tensor(1.0), gg.tensor(2.0)]
    with profiler.profile() as prof:
        line = _here() + 1
        gg.tensor(parts)  # reads each part's value to build the new tensor
    log = prof.transfers()
    assert log and all(e.via == "tensor" and e.location == f"{__file__}:{line}" for e in log)


def test_a_read_that_raises_is_not_counted():
    w = gg.tensor([1.0], requires_grad=True)
    with profiler.profile() as prof:
        with pytest.raises(RuntimeError, match="detach"):
            w.numpy()
    assert list(prof.transfers()) == []


def test_nothing_recorded_outside_and_originals_restored_after_errors():
    with pytest.raises(KeyError):
        with profiler.profile() as prof:
            gg.tensor(1.0) + 1
            raise KeyError("boom")
    assert prof.counts() == {"Add": 1}
    (gg.tensor(1.0) + 1).item()
    assert prof.counts() == {"Add": 1} and list(prof.transfers()) == []
    with pytest.raises(RuntimeError, match="already used"):
        with prof:
            pass


def test_nested_profiles_both_record():
    with profiler.profile() as outer:
        gg.tensor(1.0) * 2
        with profiler.profile() as inner:
            gg.tensor(1.0) + 2
            gg.tensor(1.0).item()
        gg.tensor(1.0) - 2
    assert outer.counts() == {"Add": 1, "Mul": 1, "Sub": 1} and len(outer.transfers()) == 1
    assert inner.counts() == {"Add": 1} and len(inner.transfers()) == 1


def test_only_the_profiling_thread_is_recorded():
    def elsewhere():
        (gg.tensor(1.0) * 3).item()

    with profiler.profile() as prof:
        worker = threading.Thread(target=elsewhere)
        worker.start()
        worker.join()
        gg.tensor(1.0) + 1
    assert prof.counts() == {"Add": 1} and list(prof.transfers()) == []


def test_record_function_labels_user_blocks():
    with profiler.profile() as prof:
        with profiler.record_function("data"):
            gg.ones(3) * 2
    assert prof.counts("user") == {"data": 1}
    (data,) = [s for s in prof.key_averages() if s.kind == "user"]
    (mul,) = [s for s in prof.key_averages() if s.name == "Mul"]
    assert data.total_ns >= mul.total_ns and data.self_ns == data.total_ns - mul.total_ns
    with profiler.record_function("outside"):  # no profile open: a no-op
        pass


def test_profiler_and_anomaly_layers_come_off_in_any_order():
    x = gg.tensor(0.0, requires_grad=True)
    prof = profiler.profile()
    prof.__enter__()
    anomaly.set_detect_anomaly(True)
    try:
        prof.__exit__(None, None, None)  # leave the profiler first, the anomaly layer stays
        with pytest.raises(anomaly.AnomalyError, match="LogBackward0"), np.errstate(all="ignore"):
            (gg.log(x) * 0).backward()
    finally:
        anomaly.set_detect_anomaly(False)
    assert prof.counts("forward") == {}


@pytest.mark.gpu
def test_ledger_records_real_copies_on_gpu():
    host = np.ones(1000, dtype=np.float32)
    with profiler.profile() as prof:
        line = _here() + 1
        t = gg.tensor(host, device="cuda")  # h2d, 4000 bytes
        t.cpu()  # d2h, 4000 bytes
        t.sum().item()  # a sync and a 4-byte d2h
        repr(t)  # printing copies the values to the host
    by_line = {}
    for event in prof.transfers():
        by_line.setdefault(int(event.location.rsplit(":", 1)[1]) - line, []).append(event)
    assert [(e.kind, e.op, e.nbytes) for e in by_line[0]] == [("h2d", "tensor", 4000)]
    assert [(e.kind, e.op, e.nbytes) for e in by_line[1]] == [("d2h", "cpu", 4000)]
    assert [(e.kind, e.op, e.nbytes) for e in by_line[2]] == [("d2h", "item", 4)]
    assert by_line[2][0].device.startswith("cuda")
    assert [(e.kind, e.op) for e in by_line[3]] == [("d2h", "repr")] and by_line[3][0].nbytes == 4000
    assert prof.counts("forward") == {"Sum": 1, "ToCopy": 1}  # t.cpu() is a differentiable copy
