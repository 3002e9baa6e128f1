"""Every number a learner reads is the number their own run printed (mmlearn.prose).

The notebooks are stored without outputs: a result typed into markdown is another run's. The scan below
reads every markdown cell of every notebook; a planted stale number must fail it, a declared constant or a
paper's number with its table must not, and `say` must refuse a sentence with a hole in it.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from mmlearn import prose
from mmlearn.course.run import list_notebooks

NOTEBOOKS = list_notebooks()


def markdown_nb(*cells: str, code: str = "") -> dict:
    out = [{"cell_type": "code", "source": code, "metadata": {}, "outputs": []}] if code else []
    return {"cells": out + [{"cell_type": "markdown", "source": c, "metadata": {}} for c in cells]}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_markdown_quotes_no_run_dependent_number(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    stale = prose.stale_numbers(nb)
    assert not stale, (f"{path.name}: numbers in markdown that another run would print differently (render them "
                       f"with mmlearn.prose.say, or cite their table):\n"
                       + "\n".join(f"  cell {c}: {n}  in  “{s[:140]}”" for c, n, s in stale))


def test_a_planted_stale_number_fails_and_names_its_cell():
    nb = markdown_nb("# Title", "The model reaches 0.873 on the test set, well above chance.")
    assert [(c, n) for c, n, _ in prose.stale_numbers(nb, constants=set())] == [(1, "0.873")]
    percent = markdown_nb("Attention explains 44 % of the gap.")
    assert [n for _, n, _ in prose.stale_numbers(percent, constants=set())] == ["44 %"]


@pytest.mark.parametrize("text", [
    "Reed et al. report an Inception score of 2.88 (Table 1).",
    "Owens et al. reach 0.62 on the benchmark (their Fig. 4), and 0.71 with labels (Table 3).",
    "The learning rate is `3e-3` and the margin `0.2` (in code spans, not read).",
    "Dropout of 0.5 between layers.",  # declared in the code cell below
    "We use 25 % of the scenes.",      # 0.25 is declared
])
def test_constants_citations_and_code_are_allowed(text):
    nb = markdown_nb(text, code="DROPOUT = 0.5\nshare = 0.25\n")
    assert prose.stale_numbers(nb, constants=prose.notebook_constants(nb)) == []


def test_a_citation_covers_its_own_sentence_only():
    nb = markdown_nb("Yang et al. report 0.58 (Table 2). Ours reaches 0.61 here.")
    assert [n for _, n, _ in prose.stale_numbers(nb, constants=set())] == ["0.61"]


def test_sentences_do_not_end_at_et_al_or_decimals():
    parts = prose.sentences("Zadeh et al. reach 0.87 on it (Table 3). We get 0.5 here.\n\n- a list item 0.3")
    assert parts == ["Zadeh et al. reach 0.87 on it (Table 3).", "We get 0.5 here.", "- a list item 0.3"]


def test_package_constants_include_the_worlds_design():
    constants = prose.package_constants()
    from mmlearn.world import sounds
    assert float(sounds.AMBIENCE_RMS) in constants


def test_say_refuses_an_unfilled_placeholder(capsys):
    acc = 0.912
    prose.say(f"accuracy {acc:.3f}, and a formula $x^{{2}}$, $\\mathbb{{R}}^{{D}}$, $\\frac{{a}}{{b}}$")
    assert "accuracy 0.912" in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"\{acc:\.3f\}"):
        prose.say("accuracy {acc:.3f}")          # the f was forgotten
    with pytest.raises(ValueError, match=r"\{table\['x'\]\}"):
        prose.say("the best row {table['x']}")
    assert prose.unfilled("$\\mathbb{R}^{D}$ and \\text{vec}") == []


@pytest.mark.parametrize("a, b, expected", [(0.70, 0.60, "is ahead of"), (0.60, 0.70, "is behind"),
                                            (0.70, 0.69, "ties with"), (0.69, 0.70, "ties with")])
def test_compare_says_a_tie_within_the_noise(a, b, expected):
    assert prose.compare(a, b, noise=0.02) == expected
    with pytest.raises(ValueError):
        prose.compare(a, b, noise=-1)


def test_exercise_labels_and_arxiv_ids_are_not_results():
    nb = markdown_nb("### Exercise 03.1 — soft attention. See arXiv:1505.04467 and exercise 05.2.")
    assert prose.stale_numbers(nb, constants=set()) == []


def test_sampling_margin_is_two_standard_errors():
    assert prose.sampling_margin(0.5, 100) == pytest.approx(0.1)
    assert prose.sampling_margin(1.0, 50) == 0.0
    with pytest.raises(ValueError):
        prose.sampling_margin(0.5, 0)


def test_paired_difference_is_the_mean_with_its_95_percent_interval():
    a, b = np.array([3.0, 5.0, 4.0, 6.0]), np.array([1.0, 2.0, 2.0, 3.0])
    d = a - b                                   # 2, 3, 2, 3: mean 2.5, sample std 0.577
    mean, margin = prose.paired_difference(a, b)
    assert mean == pytest.approx(2.5)
    assert margin == pytest.approx(1.96 * d.std(ddof=1) / 2)
    assert prose.paired_difference([1.0, 2.0], [1.0, 2.0]) == (0.0, 0.0)   # identical: no difference, no noise
    with pytest.raises(ValueError, match="two or more"):
        prose.paired_difference([1.0], [0.0])
