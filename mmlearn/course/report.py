"""The course report: every notebook's last cell records its metrics and asserts its quality bars.

    report.record({"accuracy": 0.93, "seconds": 41.0},
                  bars={"accuracy": 0.9, "seconds": ("<=", 60)},
                  notebook="00_multimodal_data")

A bar is a number (the metric must be >= it) or a pair (op, value) with op one of >= > <= <.
`record` writes results/<notebook>.json (atomically) and raises AssertionError naming every missed
bar, so a notebook whose learning broke fails its test. `python -m mmlearn.course run` gathers the
JSON files into one table.
"""
from __future__ import annotations

import json
import math
import operator
import os
import re
import time
from pathlib import Path

from ..core import ROOT, profile, write_json

OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


def results_dir() -> Path:
    """Where results go: $MMLEARN_RESULTS, else <project root>/results (git-ignored), else ./results."""
    if os.environ.get("MMLEARN_RESULTS"):
        return Path(os.environ["MMLEARN_RESULTS"])
    return ROOT / "results" if (ROOT / "pyproject.toml").exists() else Path.cwd() / "results"


def parse_bar(bar) -> tuple[str, float]:
    """A bar as (op, threshold): 0.9 -> ('>=', 0.9); ('<=', 60) stays."""
    if isinstance(bar, (int, float)):
        return ">=", float(bar)
    if isinstance(bar, (tuple, list)) and len(bar) == 2 and bar[0] in OPS:
        return bar[0], float(bar[1])
    raise ValueError(f"a bar is a number or (op, value) with op in {list(OPS)}; got {bar!r}")


def check_bars(metrics: dict, bars: dict) -> dict[str, bool]:
    """For each bar, whether its metric meets it (a missing or NaN metric does not)."""
    passed = {}
    for name, bar in bars.items():
        op, threshold = parse_bar(bar)
        value = metrics.get(name)
        ok = value is not None and not (isinstance(value, float) and math.isnan(value))
        passed[name] = bool(ok and OPS[op](float(value), threshold))
    return passed


def format_bar(value, bar) -> str:
    op, threshold = parse_bar(bar)
    shown = "missing" if value is None else f"{value:.4g}"
    return f"{shown} {op} {threshold:g}"


def record(metrics: dict, bars: dict | None = None, *, notebook: str | None = None,
           out_dir: str | Path | None = None) -> dict:
    """Write this notebook's metrics and bars to <results>/<notebook>.json; assert every bar.

    notebook: the notebook's name without .ipynb; defaults to $MMLEARN_NOTEBOOK (set by the course runner).
    Returns the record. Raises AssertionError listing every missed bar (after writing the file, so
    the report shows the failure too).
    """
    bars = dict(bars or {})
    metrics = {k: (float(v) if isinstance(v, (int, float)) or hasattr(v, "item") else v) for k, v in metrics.items()}
    notebook = notebook or os.environ.get("MMLEARN_NOTEBOOK")
    if not notebook:
        raise ValueError("record() needs notebook='NN_name' (or $MMLEARN_NOTEBOOK) to name its results file.")
    if not re.fullmatch(r"[A-Za-z0-9][\w.-]*", notebook) or ".." in notebook:
        raise ValueError(f"record(notebook={notebook!r}): a notebook's name is a file name such as '05_vqa_fusion' "
                         "(letters, digits, '_', '-', '.'; no folder), so the record stays in the results folder")
    passed = check_bars(metrics, bars)
    entry = {
        "notebook": notebook,
        "profile": profile(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "metrics": {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()},
        "bars": {k: list(parse_bar(b)) for k, b in bars.items()},
        "passed": passed,
        "ok": all(passed.values()),
    }
    out = Path(out_dir) if out_dir is not None else results_dir()
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / f"{notebook}.json", entry, indent=2)   # strict JSON: NaN and infinity are written as null above

    for name in metrics:
        mark = "" if name not in bars else ("  ✓" if passed[name] else "  ✗ MISSED")
        bar = f"  (bar {format_bar(metrics[name], bars[name]).split(' ', 1)[1]})" if name in bars else ""
        value = metrics[name]
        print(f"{name:>28s}: {value:.4g}{bar}{mark}" if isinstance(value, float) else f"{name:>28s}: {value}")
    missed = [f"{k}: {format_bar(metrics.get(k), bars[k])}" for k, ok in passed.items() if not ok]
    if missed:
        raise AssertionError(f"{notebook} missed {len(missed)} bar(s): " + "; ".join(missed))
    return entry


def load(notebook: str, out_dir: str | Path | None = None) -> dict | None:
    """The record a notebook wrote, or None if it has not written one. A file that is not a record
    (not JSON, or without its "metrics") raises ValueError naming it."""
    path = (Path(out_dir) if out_dir is not None else results_dir()) / f"{notebook}.json"
    if not path.exists():
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, IsADirectoryError) as error:
        raise ValueError(f"{path}: not a results file ({error}); delete it and rerun the notebook") from None
    if not isinstance(entry, dict) or not isinstance(entry.get("metrics"), dict):
        raise ValueError(f"{path}: not a results file (no \"metrics\" object); delete it and rerun the notebook")
    return entry
