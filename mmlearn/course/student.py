"""Students' copies of the notebooks: every solution block becomes `raise NotImplementedError(...)`.

`python -m mmlearn.course student OUT/` (mmlearn/course/__main__.py) calls `write_student_copies`.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..core import atomic_write
from .run import list_notebooks

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


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
