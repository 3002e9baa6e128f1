"""Run the notebooks headless: each in a fresh kernel, timed, its memory measured, its record gathered.

`python -m mmlearn.course run` (mmlearn/course/__main__.py) calls `run_course`; `run_notebook` is one notebook.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..core import ROOT, profile, write_json
from . import report

NOTEBOOKS = ROOT / "notebooks"
MEMORY_CEILING_MIB = 2048  # COURSE.md §7: every notebook fits in 2 GiB


# ----------------------------------------------------------------------------------------- running
@dataclass
class Run:
    """One notebook's execution: what the course report shows for it."""

    notebook: str
    seconds: float
    peak_mib: float
    budget_s: float | None
    error: str | None = None
    record: dict | None = None
    problems: list[str] = field(default_factory=list)
    cells: list[dict] = field(default_factory=list)   # {"cell", "seconds", "source"}: where the time went

    @property
    def share(self) -> float | None:
        """The share of its time budget the notebook used (None without a budget)."""
        return self.seconds / self.budget_s if self.budget_s else None

    @property
    def ok(self) -> bool:
        return not self.problems


class PeakMemory:
    """Polls the summed RSS of this process's children (the kernel and anything it starts); keeps the peak."""

    def __init__(self, interval: float = 0.05):
        import psutil

        self._me, self._interval = psutil.Process(), interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for child in self._me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:  # the process ended between listing and reading it
                    pass
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self._interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


WARN_SHARE = 0.8   # a notebook over 80 % of its budget is flagged: a slower laptop would miss it


def cell_seconds(nb) -> list[dict]:
    """Each executed code cell's wall time, from the timestamps nbclient records in its metadata
    (iopub.execute_input -> shell.execute_reply): [{"cell": index, "seconds": s, "source": first line}]."""
    from datetime import datetime

    out = []
    for index, cell in enumerate(nb.cells):
        stamps = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type != "code" or not {"iopub.execute_input", "shell.execute_reply"} <= set(stamps):
            continue
        start, end = (datetime.fromisoformat(stamps[k].replace("Z", "+00:00"))
                      for k in ("iopub.execute_input", "shell.execute_reply"))
        first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
        out.append({"cell": index, "seconds": (end - start).total_seconds(), "source": first[:70]})
    return out


def list_notebooks(names: list[str] | None = None) -> list[Path]:
    """The course's notebooks in order, or those named (by path, file name or stem, e.g. '00')."""
    every = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return every
    chosen = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb" and path.exists():
            chosen.append(path.resolve())
            continue
        matches = [p for p in every if p.stem == name or p.name == name or p.stem.startswith(name)]
        if not matches:
            raise SystemExit(f"no notebook matches {name!r}; there are: {', '.join(p.stem for p in every)}")
        chosen.extend(matches)
    return chosen


def run_notebook(path: Path, out_dir: Path, env: dict[str, str] | None = None, cell_timeout: int = 1800) -> Run:
    """Execute one notebook in a fresh kernel (cwd = its folder); save the executed copy under out_dir/executed.
    The kernel's environment is this process's, plus `env`, plus where its record() writes (this process's
    own environment is left as it was)."""
    import nbformat
    from nbclient import NotebookClient
    from traitlets.config import Config
    from nbformat.sign import NotebookNotary
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    budget = nb.metadata.get("mmlearn", {}).get("budget_s")
    kernel_env = {**os.environ, **(env or {}), "MMLEARN_NOTEBOOK": path.stem, "MMLEARN_RESULTS": str(out_dir)}
    stale = out_dir / f"{path.stem}.json"
    stale.unlink(missing_ok=True)

    # "python3" is the kernel of this very Python (the project's venv), whatever the notebook names.
    # Where there are Unix sockets, the kernel talks to us over ZeroMQ's IPC transport in a private folder: no TCP
    # port is opened, so ipykernel has no reason to warn that it is "running over TCP without encryption".
    config, sockets = Config(), None
    if os.name != "nt":
        sockets = Path(tempfile.mkdtemp(prefix="mmlearn-kernel-"))
        config.KernelManager.transport, config.KernelManager.ip = "ipc", str(sockets / "kernel")
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", config=config,
                            resources={"metadata": {"path": str(path.parent)}})
    error = None
    start = time.perf_counter()
    with PeakMemory() as memory:
        try:
            client.execute(env=kernel_env)
        except CellExecutionError as exc:
            error = f"{exc.ename}: {exc.evalue}".strip()
        except (CellTimeoutError, DeadKernelError, RuntimeError) as exc:  # RuntimeError: kernel did not start
            error = f"{type(exc).__name__}: {exc}"
        finally:
            if sockets is not None:
                shutil.rmtree(sockets, ignore_errors=True)
    seconds = time.perf_counter() - start
    (out_dir / "executed").mkdir(parents=True, exist_ok=True)
    NotebookNotary().sign(nb)  # we ran it ourselves: Jupyter may run its players' scripts when it is opened
    nbformat.write(nb, out_dir / "executed" / path.name)

    try:
        record = report.load(path.stem, out_dir)
    except ValueError as exc:  # a corrupt results file: name it in the report, do not crash the course run
        record, error = None, error or str(exc)
    run = Run(path.stem, seconds, memory.peak_bytes / 2**20, budget, error, record, cells=cell_seconds(nb))
    if run.record is not None and not run.record["ok"]:
        run.problems.append("missed bar(s)")  # record() then raised: that AssertionError is the error
    elif error:
        run.problems.append(f"error: {error.splitlines()[0][:200]}")
    elif run.record is None:
        run.problems.append("no report.record() call")
    if budget and profile() != "full" and seconds > budget:
        run.problems.append(f"over time budget ({seconds:.0f} s > {budget} s)")
    if run.peak_mib > MEMORY_CEILING_MIB:
        run.problems.append(f"over memory ceiling ({run.peak_mib:.0f} MiB > {MEMORY_CEILING_MIB} MiB)")
    return run


# ----------------------------------------------------------------------------------------- the table
def table_rows(runs: list[Run]) -> list[list[str]]:
    """One row per metric (a notebook with no metrics still gets a row); notebook columns only on its first row."""
    rows = []
    for run in runs:
        record = run.record or {"metrics": {}, "bars": {}, "passed": {}}
        metrics = list(record["metrics"].items()) or [("", None)]
        for i, (name, value) in enumerate(metrics):
            bar = record["bars"].get(name)
            shown = f"{value:.4g}" if isinstance(value, (int, float)) else ("NaN" if value is None and name else str(value or ""))
            mark = "" if bar is None else (" ✓" if record["passed"].get(name) else " ✗")
            first = i == 0
            rows.append([
                run.notebook if first else "",
                f"{run.seconds:.1f}" if first else "",
                f"{run.budget_s:g}" if first and run.budget_s else "",
                f"{run.peak_mib:.0f}" if first else "",
                name,
                shown,
                (f"{bar[0]} {bar[1]:g}" if bar else "") + mark,
                (verdict(run)) if first else "",
            ])
    return rows


def verdict(run: Run) -> str:
    text = "pass" if run.ok else "FAIL: " + "; ".join(run.problems)
    if run.share is not None and run.share > WARN_SHARE and not any("time budget" in p for p in run.problems):
        text += f" ({run.share:.0%} of its budget: little headroom)"
    return text


def slowest_cells(runs: list[Run], top: int = 5) -> list[list[str]]:
    """Per notebook, its slowest cells first: [notebook, cell, seconds, share of the notebook's time, first line]."""
    rows = []
    for run in runs:
        total = sum(c["seconds"] for c in run.cells) or 1.0
        for c in sorted(run.cells, key=lambda c: -c["seconds"])[:top]:
            rows.append([run.notebook, str(c["cell"]), f"{c['seconds']:.1f}", f"{c['seconds'] / total:.0%}", c["source"]])
    return rows


CELL_HEADER = ["notebook", "cell", "seconds", "share", "first line"]
HEADER = ["notebook", "seconds", "budget s", "peak MiB", "metric", "value", "bar", "result"]


def format_text(rows: list[list[str]], header: list[str] = HEADER) -> str:
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def format_markdown(rows: list[list[str]], header: list[str] = HEADER) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


def run_course(names: list[str] | None, out_dir: Path, env: dict[str, str] | None = None) -> list[Run]:
    """Run the notebooks named (default: all) in order, print the course report and write it to out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    paths = list_notebooks(names)
    for i, path in enumerate(paths, start=1):
        print(f"[{i}/{len(paths)}] {path.name} ...", flush=True)
        run = run_notebook(path, out_dir, env)
        print(f"      {run.seconds:.1f} s, {run.peak_mib:.0f} MiB, {'pass' if run.ok else 'FAIL: ' + '; '.join(run.problems)}",
              flush=True)
        runs.append(run)
    rows = table_rows(runs)
    heading = f"Course report — profile `{profile()}`, {os.cpu_count()} CPU cores, {time.strftime('%Y-%m-%d %H:%M')}"
    cells = slowest_cells(runs)
    (out_dir / "course_report.md").write_text(f"{heading}\n\n{format_markdown(rows)}\n\n## Where the time went: the "
                                              f"slowest cells\n\n{format_markdown(cells, CELL_HEADER)}\n")
    write_json(out_dir / "course_report.json", [asdict(r) | {"ok": r.ok} for r in runs], indent=2)
    print(f"\n{heading}\n\n{format_text(rows)}\n\nThe slowest cells:\n{format_text(cells, CELL_HEADER)}\n\n"
          f"(Markdown: {out_dir / 'course_report.md'})")
    return runs
