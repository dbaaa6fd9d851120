"""What a person sees: the progress bar while a suite runs, its table after, and the ``--plot`` PNG."""

from __future__ import annotations

import sys
import time

# ------------------------------------------------------------------ progress


class Progress:
    """A progress bar on stderr: tqdm when importable, else a plain one; silent when disabled.

    Example:
        >>> bar = Progress(total=10, desc="tiny", enabled=False)
        >>> bar.update(); bar.close()
    """

    def __init__(self, total: int, desc: str, enabled: bool = True, stream=None):
        self.total, self.desc, self.done, self.enabled = total, desc, 0, enabled
        self.stream = stream or sys.stderr
        self._bar, self._last_draw = None, 0.0
        if enabled:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, desc=desc, file=self.stream, leave=False, unit="sample")
            except ImportError:
                self._draw()

    def describe(self, text: str) -> None:
        self.desc = text
        if self._bar is not None:
            self._bar.set_description(text, refresh=False)

    def update(self, count: int = 1) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        elif self.enabled and (time.monotonic() - self._last_draw > 0.1 or self.done >= self.total):
            self._draw()

    def _draw(self) -> None:
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        self.stream.write(f"\r{self.desc[:40]:40s} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
        self.stream.flush()
        self._last_draw = time.monotonic()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            self.stream.write("\r" + " " * 90 + "\r")
            self.stream.flush()


# ------------------------------------------------------------------ tables


def format_seconds(seconds: float) -> str:
    """Three significant digits in s, ms, us or ns."""
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")):
        if seconds >= scale or unit == "ns":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:.0f} {unit}"
    return f"{seconds} s"


def format_number(value) -> str:
    """Three significant digits, but whole numbers from 100 up (no exponents in the table)."""
    if value is None:
        return ""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def format_ratio(ratio) -> str:
    return "" if ratio is None else f"{ratio:.2f}x"


def format_table(headers: list, rows: list, right: set) -> str:
    """Plain aligned columns; the columns whose index is in ``right`` are right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells):
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def suite_table(suite, measurements: list, notes: list, repeat: int) -> str:
    """The suite's block: title, legend, one row per implementation per case, errors, notes."""
    baselines = _baseline_columns(measurements)
    show_size = any(m.size is not None for m in measurements) and suite.sweep
    headers = ["case"] + (["size"] if show_size else []) + ["device", "impl", "median", "+/-"]
    if suite.metric is not None:
        headers.append(suite.metric[0])
    headers += [f"vs {b}" for b in baselines]
    right = set(range(len(headers))) - {0, 2 if show_size else 1, 3 if show_size else 2}
    rows, previous = [], None
    for m in measurements:
        key = (m.case, m.size, m.device)
        first = key != previous
        if first and previous is not None and (m.case, m.size) != previous[:2]:
            rows.append([""] * len(headers))
        previous = key
        row = [m.case if first else ""] + ([_size(m.size) if first else ""] if show_size else [])
        row += [m.device if first else "", m.impl]
        if m.ok:
            stats = m.stats
            spread = 100 * stats["iqr"] / 2 / stats["median"] if stats["median"] > 0 else 0.0
            row += [format_seconds(stats["median"]), f"{spread:.1f}%"]
        else:
            row += ["failed" if m.error else "-", ""]
        if suite.metric is not None:
            value = suite.metric[1](m)
            row.append(format_number(value))
        row += [format_ratio(m.ratios.get(b)) for b in baselines]
        rows.append(row)
    legend = (
        f"time {suite.unit}: median of {repeat} samples; +/- = half the interquartile range as % of the median; "
        "vs X = gpugrad time / X time (below 1: gpugrad is faster)"
    )
    parts = [f"== {suite.name}: {suite.title} ==", legend, format_table(headers, rows, right)]
    extra = _row_notes(measurements) + list(notes)
    if extra:
        parts.append("\n".join("  " + line for line in extra))
    return "\n".join(parts)


def _baseline_columns(measurements: list) -> list:
    """Same-device ratio keys in first-seen order (cross-device ratios stay in the JSON)."""
    seen = []
    for m in measurements:
        for key in m.ratios:
            if "@" not in key and key not in seen:
                seen.append(key)
    return seen


def _row_notes(measurements: list) -> list:
    lines, seen = [], set()
    for m in measurements:
        if m.error:
            lines.append(f"FAILED {m.impl} on {m.device} ({m.case}{_at(m.size)}): {m.error}")
        elif m.note and (m.impl, m.device, m.note) not in seen:
            seen.add((m.impl, m.device, m.note))
            lines.append(f"{m.impl} on {m.device}: {m.note}")
    return lines


def _at(size) -> str:
    return "" if size is None else f", size {size}"


def _size(size) -> str:
    if size is None:
        return ""
    if size >= 1000 and size % 1000 == 0:
        exponent = len(str(size)) - 1
        if size == 10**exponent:
            return f"1e{exponent}"
    return str(size)


# ------------------------------------------------------------------ plot


def plot(path, runs: list) -> int:
    """Save a PNG of median time vs size (log-log) for the sweep suites; returns the number of panels.

    One panel per (suite, case); one line per implementation and device, with
    the interquartile range as error bars.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels, suites = {}, {run.suite.name: run.suite for run in runs}
    for run in runs:
        suite = run.suite
        if suite.sweep:
            for m in run.measurements:
                if m.ok and m.size is not None:
                    panels.setdefault((suite.name, m.case), {}).setdefault(f"{m.impl} ({m.device})", []).append(m)
    if not panels:
        return 0
    columns = min(3, len(panels))
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.8 * rows), squeeze=False)
    for axis, ((suite_name, case), lines) in zip(axes.flat, panels.items()):
        suite = suites[suite_name]
        for label, points in lines.items():
            points.sort(key=lambda m: m.size)
            sizes = [m.size for m in points]
            medians = [m.stats["median"] for m in points]
            low = [m.stats["median"] - m.stats["q1"] for m in points]
            high = [m.stats["q3"] - m.stats["median"] for m in points]
            axis.errorbar(sizes, medians, yerr=[low, high], marker="o", capsize=3, label=label)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_title(f"{suite.name}: {case}")
        axis.set_xlabel("size")
        axis.set_ylabel(f"seconds {suite.unit}")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    for axis in list(axes.flat)[len(panels):]:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return len(panels)
