"""Run the whole course headless, or write the students' copies of the notebooks.

    python -m mmlearn.course run [NOTEBOOK ...] [--profile ci|default|full] [--lecture]
        Execute every notebook (or the ones named) with nbclient, measure its wall time and the peak
        memory of its kernel process tree, gather the metrics it recorded (mmlearn.report.record)
        and print one table; also written to results/course_report.md and .json. Every run trains
        (a private, empty lecture cache); --lecture uses and fills the lecture cache as `make lab` does
        (mmlearn.lecture), e.g. to time a lecture's second run.
    python -m mmlearn.course student OUT/ [NOTEBOOK ...]
        Write student copies: every block between `### BEGIN SOLUTION` and `### END SOLUTION` becomes
        `raise NotImplementedError("Exercise NN.k: ...")`, and all outputs are cleared.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import report
from .core import PROFILES, ROOT, atomic_write, profile, write_json

NOTEBOOKS = ROOT / "notebooks"
MEMORY_CEILING_MIB = 2048  # COURSE.md §7: every notebook fits in 2 GiB
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


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


def run_notebook(path: Path, out_dir: Path, cell_timeout: int = 1800) -> Run:
    """Execute one notebook in a fresh kernel (cwd = its folder); save the executed copy under out_dir/executed."""
    import nbformat
    from nbclient import NotebookClient
    from traitlets.config import Config
    from nbformat.sign import NotebookNotary
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    budget = nb.metadata.get("mmlearn", {}).get("budget_s")
    os.environ["MMLEARN_NOTEBOOK"] = path.stem
    os.environ["MMLEARN_RESULTS"] = str(out_dir)
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
            client.execute()
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
    run = Run(path.stem, seconds, memory.peak_bytes / 2**20, budget, error, record)
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
                ("pass" if run.ok else "FAIL: " + "; ".join(run.problems)) if first else "",
            ])
    return rows


HEADER = ["notebook", "seconds", "budget s", "peak MiB", "metric", "value", "bar", "result"]


def format_text(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER] + rows) for i in range(len(HEADER))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(HEADER), line(["-" * w for w in widths])] + [line(r) for r in rows])


def format_markdown(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] * len(HEADER)) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


def run_course(names: list[str] | None, out_dir: Path) -> list[Run]:
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    paths = list_notebooks(names)
    for i, path in enumerate(paths, start=1):
        print(f"[{i}/{len(paths)}] {path.name} ...", flush=True)
        run = run_notebook(path, out_dir)
        print(f"      {run.seconds:.1f} s, {run.peak_mib:.0f} MiB, {'pass' if run.ok else 'FAIL: ' + '; '.join(run.problems)}",
              flush=True)
        runs.append(run)
    rows = table_rows(runs)
    heading = f"Course report — profile `{profile()}`, {os.cpu_count()} CPU cores, {time.strftime('%Y-%m-%d %H:%M')}"
    (out_dir / "course_report.md").write_text(f"{heading}\n\n{format_markdown(rows)}\n")
    write_json(out_dir / "course_report.json", [asdict(r) | {"ok": r.ok} for r in runs], indent=2)
    print(f"\n{heading}\n\n{format_text(rows)}\n\n(Markdown: {out_dir / 'course_report.md'})")
    return runs


# ----------------------------------------------------------------------------------------- student copies
def exercise_title(block: list[str]) -> str:
    """The first line of the solution's docstring or comment, to name the exercise."""
    for line in block:
        text = line.strip()
        if text.startswith("#"):
            text = text.lstrip("#").strip()
        elif text[:3] in ('"""', "'''"):
            text = text[3:].split(text[:3])[0].strip()
        else:
            continue
        if text:
            return text
    return "write your solution here"


EXERCISE_HEADING = re.compile(r"^#+\s*Exercise\s+(\d+\.\d+)", re.MULTILINE)  # "### Exercise 02.2 — ..."


def strip_solutions(source: str, exercise_prefix: str, first_number: int, where: str = "",
                    labels: list[str] | None = None) -> tuple[str, int]:
    """Replace each solution block of one cell; return the new source and how many blocks were replaced.
    Block k is labelled labels[k] (the numbers of the exercise headings above it) when given, else
    exercise_prefix.(first_number + k)."""
    labels = list(labels or [])
    out, block, indent, count = [], None, "", 0
    for line in source.splitlines():
        text = line.strip()
        if text == BEGIN:
            if block is not None:
                raise ValueError(f"{where}: '{BEGIN}' inside another solution block")
            block, indent = [], line[: len(line) - len(line.lstrip())]
        elif text == END:
            if block is None:
                raise ValueError(f"{where}: '{END}' without a '{BEGIN}'")
            title = exercise_title(block)
            label = labels[count] if count < len(labels) else f"{exercise_prefix}.{first_number + count}"
            message = json.dumps(f"Exercise {label}: {title}", ensure_ascii=False)
            out.append(f"{indent}raise NotImplementedError({message})")
            block, count = None, count + 1
        elif block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:
        raise ValueError(f"{where}: '{BEGIN}' is never closed by '{END}'")
    return "\n".join(out), count


def student_copy(nb, prefix: str, name: str = "notebook"):
    """A copy of the notebook with solutions replaced and outputs cleared; returns (copy, number of exercises)."""
    import copy

    nb = copy.deepcopy(nb)
    count, headings = 0, []   # headings: numbers of "Exercise NN.k" headings not yet matched to a solution
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            headings += EXERCISE_HEADING.findall(cell.source)
            continue
        cell.source, n = strip_solutions(cell.source, prefix, count + 1, where=f"{name}, cell {index}",
                                         labels=headings)
        headings = headings[n:]
        count += n
        cell.outputs, cell.execution_count = [], None
    return nb, count


def write_student_copies(out_dir: Path, names: list[str] | None = None) -> list[Path]:
    import nbformat

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in list_notebooks(names):
        nb = nbformat.read(path, as_version=4)
        prefix = re.match(r"\d+", path.stem).group(0)
        copy, count = student_copy(nb, prefix, path.name)
        target = out_dir / path.name
        with atomic_write(target) as tmp:
            nbformat.write(copy, tmp)
        print(f"{target}: {count} exercise(s)")
        written.append(target)
    return written


# ----------------------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmlearn.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute the notebooks and print the course report")
    run.add_argument("notebooks", nargs="*", help="which notebooks (default: all), e.g. 00 or 01_retrieval")
    run.add_argument("--profile", choices=PROFILES, help="budget profile (default: $MMLEARN_PROFILE or 'default')")
    run.add_argument("--out", type=Path, default=None, help="results folder (default: results/)")
    run.add_argument("--lecture", action="store_true",
                     help="load what an earlier run trained (lecture mode) instead of always training")
    student = sub.add_parser("student", help="write student copies of the notebooks")
    student.add_argument("out", type=Path, help="folder for the student notebooks")
    student.add_argument("notebooks", nargs="*", help="which notebooks (default: all)")
    args = parser.parse_args(argv)

    if args.command == "student":
        write_student_copies(args.out, args.notebooks)
        return 0
    if args.profile:
        os.environ["MMLEARN_PROFILE"] = args.profile
    saved = {name: os.environ.get(name) for name in ("MMLEARN_LECTURE_CACHE", "MMLEARN_RETRAIN")}
    private = None if args.lecture else tempfile.mkdtemp(prefix="mmlearn-lecture-")
    if private:  # the kernels inherit this: train every time, into a private folder removed afterwards
        os.environ["MMLEARN_LECTURE_CACHE"], os.environ["MMLEARN_RETRAIN"] = private, "1"
    try:
        runs = run_course(args.notebooks, (args.out or report.results_dir()).resolve())
    finally:
        if private:
            shutil.rmtree(private, ignore_errors=True)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
