import json

import pytest

from mmlearn import core, report


def test_record_writes_json_and_passes(tmp_path):
    entry = report.record({"acc": 0.93, "seconds": 40}, {"acc": 0.9, "seconds": ("<=", 60)},
                          notebook="99_demo", out_dir=tmp_path)
    saved = json.loads((tmp_path / "99_demo.json").read_text())
    assert saved == entry
    assert saved["ok"] and saved["passed"] == {"acc": True, "seconds": True}
    assert saved["bars"]["seconds"] == ["<=", 60.0]


def test_record_names_every_missed_bar_and_still_writes_the_file(tmp_path):
    with pytest.raises(AssertionError) as failure:
        report.record({"acc": 0.5, "loss": 2.0, "bleu": 0.7}, {"acc": 0.9, "loss": ("<", 1.0), "bleu": 0.6, "r5": 0.8},
                      notebook="99_demo", out_dir=tmp_path)
    message = str(failure.value)
    for missed in ["acc: 0.5 >= 0.9", "loss: 2 < 1", "r5: missing >= 0.8"]:
        assert missed in message
    assert "bleu" not in message
    assert json.loads((tmp_path / "99_demo.json").read_text())["ok"] is False


def test_nan_never_meets_a_bar():
    assert report.check_bars({"x": float("nan")}, {"x": ("<=", 1.0)}) == {"x": False}


def test_record_accepts_tensors_and_takes_the_name_from_the_environment(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("MMLEARN_NOTEBOOK", "98_env")
    report.record({"acc": torch.tensor(0.95)}, {"acc": 0.9}, out_dir=tmp_path)
    assert report.load("98_env", tmp_path)["metrics"]["acc"] == pytest.approx(0.95)


def test_bad_bars_and_missing_names_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="op"):
        report.parse_bar(("==", 1))
    monkeypatch.delenv("MMLEARN_NOTEBOOK", raising=False)
    with pytest.raises(ValueError, match="notebook="):
        report.record({"acc": 1.0}, out_dir=tmp_path)


def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "r.json"
    core.write_json(path, {"old": 1})
    with pytest.raises(TypeError):
        core.write_json(path, {"new": object()})  # not serialisable: fails mid-way
    assert json.loads(path.read_text()) == {"old": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_nan_is_written_as_null_in_strict_json(tmp_path):
    import json
    with pytest.raises(AssertionError):
        report.record({"acc": float("nan"), "loss": float("inf"), "ok": 1.0}, bars={"acc": 0.5}, notebook="96_nan",
                      out_dir=tmp_path)
    text = (tmp_path / "96_nan.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    entry = json.loads(text)
    assert entry["metrics"] == {"acc": None, "loss": None, "ok": 1.0} and entry["passed"] == {"acc": False}


@pytest.mark.parametrize("content, problem", [("{not json", "not a results file"), ("[1, 2]", "no \"metrics\""),
                                              ('{"notebook": "x"}', "no \"metrics\""), (b"\xff\xfe", "not a results file")])
def test_load_names_a_corrupt_results_file(tmp_path, content, problem):
    path = tmp_path / "95_bad.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError, match=problem) as error:
        report.load("95_bad", tmp_path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("name", ["../escaped", "/tmp/x", "a/b", "", ".hidden", "a..b"])
def test_a_notebook_name_cannot_write_outside_the_results_folder(tmp_path, name):
    with pytest.raises(ValueError, match="record\\(notebook=|needs notebook="):
        report.record({"acc": 1.0}, notebook=name, out_dir=tmp_path / "results")
    assert not (tmp_path / "escaped.json").exists() and not any(tmp_path.rglob("*.json"))

