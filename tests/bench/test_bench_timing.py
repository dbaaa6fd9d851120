"""The timing machinery and the arithmetic on its results, checked with steps whose timings are known.

A self-timed step returns its own duration, so these tests know every sample
exactly and never depend on how fast the machine is.
"""

from __future__ import annotations

import pytest

from gpugrad.bench.output import Progress, format_seconds, format_table
from gpugrad.bench.results import add_ratios
from gpugrad.bench.timing import Case, Impl, ImplSpec, Measurement, calibrate, run_case, summarize


def fixed(seconds: float, calls: list | None = None) -> Impl:
    """An implementation whose every call reports ``seconds``."""

    def step():
        if calls is not None:
            calls.append(1)
        return seconds

    return Impl(step=step, self_timed=True)


def spec(name: str, impl_or_error, device: str = "cpu") -> ImplSpec:
    def build():
        if isinstance(impl_or_error, Exception):
            raise impl_or_error
        return impl_or_error

    return ImplSpec(name, device, build)


def test_summarize_matches_numpy_percentiles():
    stats = summarize([4.0, 1.0, 3.0, 2.0, 5.0])
    assert stats == {"median": 3.0, "q1": 2.0, "q3": 4.0, "iqr": 2.0, "min": 1.0, "max": 5.0, "mean": 3.0, "n": 5}
    assert summarize([]) == {}


def test_run_case_takes_repeat_samples_per_implementation_and_counts_progress():
    ticks = []
    case = Case("s", "c", None, [spec("gpugrad", fixed(2e-3)), spec("numpy", fixed(1e-3))], number=3)
    rows = run_case(case, repeat=4, min_time=0.0, on_sample=lambda: ticks.append(1))
    assert [r.impl for r in rows] == ["gpugrad", "numpy"]
    assert rows[0].samples == [2e-3] * 4 and rows[1].samples == [1e-3] * 4
    assert rows[0].number == 3
    assert len(ticks) == 8


def test_blocks_and_settling_call_the_step_more_but_time_the_same():
    calls = []
    case = Case("s", "c", None, [spec("numpy", fixed(1e-3, calls))], number=2, interleave=False, settle=1e-9)
    (row,) = run_case(case, repeat=3, min_time=0.0)
    assert row.samples == [1e-3] * 3
    assert len(calls) == 1 + 3 * 2 + 1  # warm-up, 3 samples of 2 calls, one settling call before the block


def test_a_failing_implementation_is_recorded_and_the_others_go_on():
    ticks = []
    case = Case("s", "c", None, [spec("gpugrad", RuntimeError("boom")), spec("numpy", fixed(1e-3))], number=1)
    broken, fine = run_case(case, repeat=2, min_time=0.0, on_sample=lambda: ticks.append(1))
    assert broken.error.startswith("RuntimeError: boom") and not broken.ok
    assert fine.ok and fine.samples == [1e-3, 1e-3]
    assert len(ticks) == 4


def test_a_step_failing_mid_run_keeps_the_samples_so_far():
    state = {"calls": 0}

    def step():
        state["calls"] += 1
        if state["calls"] > 2:
            raise ValueError("third call fails")
        return 1.0

    (row,) = run_case(Case("s", "c", None, [spec("gpugrad", Impl(step=step, self_timed=True))], number=1), 3, 0.0)
    assert row.samples == [1.0] and "third call fails" in row.error


def test_calibrate_loops_until_a_sample_lasts_min_time():
    assert calibrate(fixed(1e-3), min_time=0.02) == 20  # 1e-3 s per call: 20 calls reach 0.02 s
    assert calibrate(fixed(1.0), min_time=0.02) == 1


def test_result_is_collected_after_timing():
    impl = fixed(1.0)
    impl.result = lambda: {"loss": 0.5}
    (row,) = run_case(Case("s", "c", None, [spec("numpy", impl)], number=1), 1, 0.0)
    assert row.result == {"loss": 0.5}


def test_ratios_same_device_plain_other_device_tagged():
    rows = [
        Measurement("s", "c", 1, "cpu", "gpugrad", samples=[4.0]),
        Measurement("s", "c", 1, "cpu", "numpy", samples=[2.0]),
        Measurement("s", "c", 1, "cpu", "torch", samples=[8.0]),
        Measurement("s", "c", 1, "cuda:0", "gpugrad", samples=[1.0]),
        Measurement("s", "c", 1, "cuda:0", "cupy", samples=[0.5]),
        Measurement("s", "c", 2, "cpu", "numpy", samples=[100.0]),  # another size: not compared
        Measurement("s", "c", 1, "cpu", "broken", error="x"),
    ]
    add_ratios(rows)
    assert rows[0].ratios == {"numpy": 2.0, "torch": 0.5, "gpugrad@cuda:0": 4.0, "cupy@cuda:0": 8.0}
    assert rows[3].ratios == {"gpugrad@cpu": 0.25, "numpy@cpu": 0.5, "torch@cpu": 0.125, "cupy": 2.0}
    assert rows[1].ratios == {} and rows[2].ratios == {}


def test_ratios_of_min_use_the_fastest_samples():
    rows = [
        Measurement("s", "c", None, "cpu", "gpugrad", samples=[1.0, 5.0, 6.0]),
        Measurement("s", "c", None, "cpu", "numpy", samples=[4.0, 2.0, 3.0]),
    ]
    add_ratios(rows)
    assert rows[0].ratios == {"numpy": 5.0 / 3.0}
    assert rows[0].ratios_of_min == {"numpy": 0.5}


def test_throughput_uses_the_median():
    m = Measurement("s", "c", 1, "cpu", "numpy", samples=[1e-3, 2e-3, 9e-3], work=4e6)
    assert m.throughput() == pytest.approx(4e6 / 2e-3 / 1e9)


def test_formatting():
    assert format_seconds(1.5e-6) == "1.5 us"
    assert format_seconds(0.25) == "250 ms"
    assert format_seconds(3.0) == "3 s"
    assert format_seconds(2e-9) == "2 ns"
    table = format_table(["a", "bb"], [["x", "1"], ["yyy", "22"]], right={1})
    assert table.splitlines() == ["a    bb", "---  --", "x     1", "yyy  22"]


def test_progress_fallback_writes_a_bar(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name == "tqdm":
            raise ImportError("no tqdm here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    bar = Progress(total=2, desc="demo")
    bar.update()
    bar.update()
    bar.close()
    err = capsys.readouterr().err
    assert "demo" in err and "2/2" in err
