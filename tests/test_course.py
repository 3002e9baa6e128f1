import json
import os
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from mmlearn.course import run as runner
from mmlearn.course import student as students

CELL = '''\
def softmax(x):
    """Softmax over the last axis."""
    ### BEGIN SOLUTION
    # Subtract the max for numerical stability.
    e = (x - x.max(-1, keepdims=True)).exp()
    return e / e.sum(-1, keepdims=True)
    ### END SOLUTION

### BEGIN SOLUTION
"""Pick the best answer."""
best = 1
### END SOLUTION
print("after")'''


def test_strip_solutions_keeps_indentation_and_names_each_exercise():
    source, count = students.strip_solutions(CELL, "05", 3)
    assert count == 2
    assert source.splitlines() == [
        "def softmax(x):",
        '    """Softmax over the last axis."""',
        '    raise NotImplementedError("Exercise 05.3: Subtract the max for numerical stability.")',
        "",
        'raise NotImplementedError("Exercise 05.4: Pick the best answer.")',
        'print("after")',
    ]
    compile(source, "cell", "exec")


@pytest.mark.parametrize("broken, problem", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
])
def test_strip_solutions_rejects_broken_markers_naming_the_place(broken, problem):
    with pytest.raises(ValueError, match=f"nb.ipynb, cell 4: .*{problem}"):
        students.strip_solutions(broken, "00", 1, where="nb.ipynb, cell 4")


def test_exercise_title_falls_back_when_the_block_has_no_comment():
    assert students.exercise_title(["x = 1"]) == "write your solution here"
    assert students.exercise_title(["    '''Docstring.'''"]) == "Docstring."


def solution_lines(nb):
    lines = []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if line.strip() == students.BEGIN:
                inside = True
            elif line.strip() == students.END:
                inside = False
            elif inside and line.strip() and not line.strip().startswith("#"):
                lines.append(line.strip())
    return lines


def test_student_copies_hold_no_solutions_and_no_outputs(tmp_path):
    written = students.write_student_copies(tmp_path)
    assert {p.name for p in written} == {p.name for p in runner.list_notebooks()}
    for path in written:
        student = nbformat.read(path, as_version=4)
        original = nbformat.read(runner.NOTEBOOKS / path.name, as_version=4)
        text = "\n".join(c.source for c in student.cells)
        assert students.BEGIN not in text and students.END not in text
        for line in solution_lines(original):
            assert line not in text, f"{path.name} leaks solution line {line!r}"
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in student.cells if c.cell_type == "code")
        n_exercises = len(re.findall(r"raise NotImplementedError\(\"Exercise \d+\.\d+: ", text))
        assert n_exercises == sum(c.source.count(students.BEGIN) for c in original.cells)


def test_a_student_copy_runs_up_to_and_fails_at_its_first_exercise(tmp_path, monkeypatch):
    monkeypatch.setenv("MMLEARN_PROFILE", "ci")
    monkeypatch.setenv("MMLEARN_RESULTS", str(tmp_path / "results"))
    [path] = students.write_student_copies(tmp_path, ["00"])
    nb = nbformat.read(path, as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if "raise NotImplementedError" in c.source)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(runner.NOTEBOOKS)}})
    with pytest.raises(CellExecutionError, match="Exercise 00.1"):
        client.execute()
    executed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.execution_count]
    assert executed[-1] == first
    for cell in nb.cells[:first]:
        assert not any(o.get("output_type") == "error" for o in cell.get("outputs", []))


def test_run_notebook_measures_time_memory_and_collects_the_record(tmp_path, monkeypatch):
    from nbformat.sign import NotebookNotary

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))   # the trust database, private to the test
    nb = nbformat.v4.new_notebook()
    nb.metadata["mmlearn"] = {"budget_s": 120}
    nb.cells = [nbformat.v4.new_code_cell(
        "import numpy as np\nblock = np.ones(50_000_000)  # 400 MB that the memory probe must see\n"
        "import time; time.sleep(0.5)\n"
        "import os\nfrom mmlearn import report\n"
        "report.record({'acc': 0.8, 'probe': float(os.environ['MMLEARN_PROBE'])}, {'acc': 0.9})")]
    path = tmp_path / "97_probe.ipynb"
    nbformat.write(nb, path)
    before = dict(os.environ)
    run = runner.run_notebook(path, tmp_path / "results", env={"MMLEARN_PROBE": "7"})
    assert dict(os.environ) == before                                     # the kernel's environment, not ours
    assert run.seconds > 0.5 and run.peak_mib > 400
    assert run.record["metrics"] == {"acc": 0.8, "probe": 7.0}
    [cell] = run.cells                                                    # where the time went, cell by cell
    assert cell["cell"] == 0 and 0.5 < cell["seconds"] <= run.seconds and cell["source"].startswith("import numpy")
    assert run.problems == ["missed bar(s)"]
    executed = nbformat.read(tmp_path / "results" / "executed" / "97_probe.ipynb", as_version=4)
    assert NotebookNotary().check_signature(executed)                     # signed: opened trusted


def test_the_report_table_shows_every_metric_against_its_bar():
    ok = runner.Run("00_a", 12.34, 500, 90, record={
        "metrics": {"acc": 0.95, "chance": 0.33}, "bars": {"acc": [">=", 0.9]}, "passed": {"acc": True}})
    broken = runner.Run("01_b", 200, 3000, 120, error="ValueError: boom", problems=["error: ValueError: boom"])
    rows = runner.table_rows([ok, broken])
    assert rows[0] == ["00_a", "12.3", "90", "500", "acc", "0.95", ">= 0.9 ✓", "pass"]
    assert rows[1][4:7] == ["chance", "0.33", ""]
    assert rows[2][0] == "01_b" and rows[2][-1].startswith("FAIL: error: ValueError")
    markdown = runner.format_markdown(rows).splitlines()
    assert markdown[0].startswith("| notebook | seconds") and len(markdown) == 5
    assert "12.3" in runner.format_text(rows)
    json.dumps([r.__dict__ for r in [ok, broken]])


def test_student_placeholders_take_their_number_from_the_exercise_heading(tmp_path):
    import inspect
    import re

    from mmlearn import exercises as check
    for path in runner.list_notebooks():
        nb = nbformat.read(path, as_version=4)
        headings = [n for c in nb.cells if c.cell_type == "markdown" for n in students.EXERCISE_HEADING.findall(c.source)]
        student, count = students.student_copy(nb, re.match(r"\d+", path.stem).group(0), path.name)
        placeholders = re.findall(r"NotImplementedError\(\"Exercise (\d+\.\d+)", "\n".join(c.source for c in student.cells))
        assert placeholders == headings, (path.name, placeholders, headings)
        # and the checker called after each exercise reports the same number
        heading = None
        for cell in nb.cells:
            if cell.cell_type == "markdown" and students.EXERCISE_HEADING.findall(cell.source):
                heading = students.EXERCISE_HEADING.findall(cell.source)[-1]
            for name in re.findall(r"check\.([a-z_]+)\(", cell.source) if cell.cell_type == "code" else []:
                default = inspect.signature(getattr(check, name)).parameters["exercise"].default
                assert default == heading, (path.name, name, default, heading)


def test_placeholders_fall_back_to_counting_without_a_heading():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
                                         nbformat.v4.new_markdown_cell("### Exercise 07.5 — the fifth"),
                                         nbformat.v4.new_code_cell("### BEGIN SOLUTION\ny = 2\n### END SOLUTION")])
    student, count = students.student_copy(nb, "07")
    assert count == 2 and "Exercise 07.1" in student.cells[0].source and "Exercise 07.5" in student.cells[2].source


@pytest.mark.parametrize("path", runner.list_notebooks(), ids=lambda p: p.stem)
def test_every_cell_of_a_notebook_has_its_own_id(path):
    # a duplicated id (a cell copied by hand) makes nbformat rename it on every read: outputs lose their cell
    ids = [cell.get("id") for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicated, f"{path.name}: cell ids used more than once: {duplicated}"


def test_a_notebook_near_its_budget_is_flagged_and_its_slowest_cells_listed():
    cells = [{"cell": 3, "seconds": 20.0, "source": "train()"}, {"cell": 1, "seconds": 60.0, "source": "fit()"},
             {"cell": 2, "seconds": 1.0, "source": "plot()"}]
    near = runner.Run("05_x", 85.0, 100, 100, record={"metrics": {}, "bars": {}, "passed": {}}, cells=cells)
    easy = runner.Run("06_y", 50.0, 100, 100, record={"metrics": {}, "bars": {}, "passed": {}})
    assert runner.table_rows([near])[0][-1] == "pass (85% of its budget: little headroom)"
    assert runner.table_rows([easy])[0][-1] == "pass"
    rows = runner.slowest_cells([near, easy], top=2)
    assert rows == [["05_x", "1", "60.0", "74%", "fit()"], ["05_x", "3", "20.0", "25%", "train()"]]
    assert "first line" in runner.format_markdown(rows, runner.CELL_HEADER).splitlines()[0]
