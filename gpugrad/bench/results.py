"""Ratios between implementations, and the machine-readable results (``--json``).

A ratio is ``median(gpugrad) / median(baseline)`` for the same case and size:
0.5 means gpugrad takes half the baseline's time. Baselines on the same device
are named plainly ("numpy", "torch"); on another device they carry it
("numpy@cpu" for a CUDA row), so a GPU row also says how it compares with the CPU.

    >>> rows = [Measurement("s", "c", None, "cpu", "gpugrad", samples=[2.0]),
    ...         Measurement("s", "c", None, "cpu", "numpy", samples=[1.0])]
    >>> add_ratios(rows); rows[0].ratios
    {'numpy': 2.0}
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass, field

from .timing import Measurement

SCHEMA = "gpugrad.bench/1"


@dataclass
class SuiteRun:
    """A suite's outcome: its measurements (ratios filled in), summary notes, and the other load seen."""

    suite: object
    measurements: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    other_load: float | None = None  # cores kept busy by other processes meanwhile (report.OtherLoad)


def add_ratios(measurements: list) -> None:
    """Fill ``ratios`` of every successful gpugrad row (``impl`` starting with "gpugrad")."""
    groups = {}
    for m in measurements:
        groups.setdefault((m.suite, m.case, m.size), []).append(m)
    for rows in groups.values():
        for subject in rows:
            if not (subject.ok and subject.impl.startswith("gpugrad")):
                continue
            subject.ratios, subject.ratios_of_min = {}, {}
            for other in rows:
                if other is subject or not other.ok or min(other.samples) <= 0:
                    continue
                key = other.impl if other.device == subject.device else f"{other.impl}@{other.device}"
                subject.ratios[key] = subject.median / other.median
                subject.ratios_of_min[key] = min(subject.samples) / min(other.samples)


def measurement_dict(m: Measurement, suite) -> dict:
    """One measurement for the JSON: identity, raw samples, statistics, metric, ratios, notes."""
    metric = None
    if suite.metric is not None:
        label, value = suite.metric
        metric = {"name": label, "value": _finite(value(m))}
    return {
        "suite": m.suite, "case": m.case, "size": m.size, "device": m.device, "impl": m.impl,
        "unit": f"seconds {suite.unit}", "number": m.number, "samples": m.samples, "stats": m.stats,
        "median": m.median if m.ok else None, "metric": metric, "ratios": m.ratios, "ratios_of_min": m.ratios_of_min,
        "error": m.error, "note": m.note, "result": m.result,
    }


def results_dict(report: dict, config, devices: list, runs: list, command: list) -> dict:
    """The whole run as JSON-ready data; ``runs`` holds one SuiteRun per suite run."""
    return {
        "schema": SCHEMA,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "config": {"mode": config.mode, "repeat": config.repeat, "devices": devices},
        "device_report": report,
        "suites": {
            run.suite.name: {
                "title": run.suite.title,
                "unit": f"seconds {run.suite.unit}",
                "metric": run.suite.metric[0] if run.suite.metric else None,
                "repeat": run.suite.repeat(config),
                "other_load_cores": run.other_load,
                "notes": run.notes,
                "measurements": [measurement_dict(m, run.suite) for m in run.measurements],
            }
            for run in runs
        },
    }


def write_json(path, data: dict) -> None:
    with open(path, "w") as f:
        json.dump(data, f, indent=1, default=_jsonable)
        f.write("\n")


def _finite(value):
    return None if value is None or not math.isfinite(value) else float(value)


def _jsonable(value):
    """NumPy scalars and anything else json does not know, as numbers or text."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)
