"""Commentary built from the run's own numbers, and the check that keeps markdown free of stale ones.

Notebooks are stored without outputs, so a number typed into a markdown cell is another run's number on
every other machine. A sentence that quotes a result is written in a code cell instead, from the values:

    say(f"The question-only LSTM ends at {acc['all']:.3f} overall, against {prior:.3f} for the prior.")
    say(f"Bilinear {compare(bilinear, product, noise=0.02)} Antol's product.")   # "is ahead of" / "ties with"

`say` shows the text as Markdown (formulas included) in the notebook and in the exported site, and refuses
a text with an unfilled `{placeholder}` (a forgotten `f`). `stale_numbers` reads a notebook's markdown
cells and lists each decimal number or percentage that is neither a constant the notebook's code or the
package declares, nor a paper's number given with its table or figure; `tests/test_prose.py` runs it on
every notebook.
"""
from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import numpy as np

PACKAGE = Path(__file__).resolve().parent

# {name}, {name:.3f}, {table["x"]} ... left in a text: a format string that was never formatted. LaTeX's
# braces ({x}^{2}, \frac{a}{b}, \mathbb{R}) follow a backslash command, ^, _ or another brace.
PLACEHOLDER = re.compile(r"(?<![\\\w^_}{])\{[A-Za-z_][\w.]*(\[[^\]]*\])*(![rsa])?(:[^{}]*)?\}")


def unfilled(text: str) -> list[str]:
    """The `{placeholder}`s left in a text, in order."""
    return [m.group(0) for m in PLACEHOLDER.finditer(text)]


def say(text: str) -> None:
    """Show `text` (Markdown, usually an f-string of this run's values) as the cell's output.

    Raises ValueError if a `{placeholder}` is left unfilled, so a sentence can never show a hole."""
    text = textwrap.dedent(text).strip()
    holes = unfilled(text)
    if holes:
        raise ValueError(f"say(): unfilled placeholder(s) {', '.join(holes)} (is the f before the string missing?)")
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython comes with the course's dependencies
        print(text)
        return
    if get_ipython() is None:
        print(text)
    else:
        display(Markdown(text))


def compare(a: float, b: float, *, noise: float, higher: str = "is ahead of", lower: str = "is behind",
            tie: str = "ties with") -> str:
    """A comparison that holds in this run: `higher` if a - b > noise, `lower` if b - a > noise, else `tie`.

    `noise` is the margin that a rerun or another seed can move (measure it; say where it comes from)."""
    if noise < 0:
        raise ValueError(f"noise is a margin, >= 0; got {noise}")
    if a - b > noise:
        return higher
    if b - a > noise:
        return lower
    return tie


# ----------------------------------------------------------------------------------------- the check
NUMBER = re.compile(r"(?<![\w.,])(\d+\.\d+|\d+(?:\.\d+)?(?=\s?%))(?![\w.]?\d)")
CITATION = re.compile(r"\b(Table|Tab\.|Tables|Fig\.|Figure|Figs\.|Eq\.|issue #)\s*~?\(?[A-Z]?\d", re.IGNORECASE)
EXERCISES = "## Further exercises"   # settings to try, never results: not read
ABBREVIATIONS = ("et al.", "e.g.", "i.e.", "cf.", "vs.", "Fig.", "Tab.", "Eq.", "approx.", "resp.", "No.")


def sentences(text: str) -> list[str]:
    """A markdown text cut into sentences (list items and paragraphs end one; 'et al.' and 'e.g.' do not)."""
    protected = text
    for k, abbreviation in enumerate(ABBREVIATIONS):
        protected = protected.replace(abbreviation, f"\0{k}\0")
    pieces = re.split(r"(?<=[.!?:;])\s+(?=[\W_]*[A-Z0-9(*$])|\n\s*\n|\n\s*(?=[-*|]\s|\d+\.\s)", protected)
    out = []
    for piece in pieces:
        for k, abbreviation in enumerate(ABBREVIATIONS):
            piece = piece.replace(f"\0{k}\0", abbreviation)
        out.append(piece)
    return out


def _numbers(tree: ast.AST, upper_only: bool) -> set[float]:
    """Numeric literals in a parsed source (with upper_only, only those assigned to UPPER_CASE names)."""
    found = set()
    for node in ast.walk(tree):
        if upper_only:
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id.isupper() for t in targets) and node.value is not None:
                    found |= _numbers(node.value, upper_only=False)
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            found.add(float(node.value))
    return found


def package_constants() -> set[float]:
    """Every number assigned to an UPPER_CASE name in the package (the world's design, the course's settings)."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        found |= _numbers(ast.parse(path.read_text(encoding="utf-8")), upper_only=True)
    return found


def notebook_constants(nb: dict) -> set[float]:
    """Every numeric literal in the notebook's code cells: what the notebook itself declares."""
    found = set()
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        try:
            found |= _numbers(ast.parse(source), upper_only=False)
        except SyntaxError:  # a cell with IPython magics: take its literals by pattern
            found |= {float(x) for x in re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", source)}
    return found


def _declared(value: float, constants: set[float]) -> bool:
    return any(abs(value - c) <= 1e-9 * max(1.0, abs(c)) for c in constants)


def stale_numbers(nb: dict, constants: set[float] | None = None) -> list[tuple[int, str, str]]:
    """(cell index, number, sentence) for each number in a markdown cell that may be another run's.

    A decimal number or percentage in markdown must be a declared constant (a literal in the notebook's code
    or an UPPER_CASE constant of the package; a percentage counts if its fraction is one) or stand in a
    sentence that cites its source's table or figure ("Table 2", "Fig. 3"). Numbers inside `code`, exercise labels
    ("Exercise 03.1"), arXiv ids and the "Further exercises" cell (settings to try) are not read."""
    constants = (package_constants() | notebook_constants(nb)) if constants is None else constants
    found = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown" or "".join(cell["source"]).startswith(EXERCISES):
            continue
        text = re.sub(r"`[^`]*`|\b[Ee]xercises? \d+\.\d+|arXiv:\S+", "", "".join(cell["source"]))
        for sentence in sentences(text):
            if CITATION.search(sentence):
                continue
            for match in NUMBER.finditer(sentence):
                value = float(match.group(1))
                percent = sentence[match.end():match.end() + 2].lstrip().startswith("%")
                if _declared(value, constants) or (percent and _declared(value / 100, constants)):
                    continue
                found.append((index, match.group(1) + (" %" if percent else ""), " ".join(sentence.split())))
    return found


def sampling_margin(p: float, n: int) -> float:
    """Two standard errors of a proportion p measured on n test items: how far another test set of the same size
    could move it (the test set's noise only, not the seed's)."""
    if n <= 0:
        raise ValueError(f"n is a number of test items, > 0; got {n}")
    return 2.0 * (max(p * (1.0 - p), 0.0) / n) ** 0.5


def paired_difference(a, b) -> tuple[float, float]:
    """The mean of a - b over paired items (the same test items scored two ways), and the half-width of its
    95 % interval (1.96 standard errors): a difference the test set's noise alone could not have made
    exceeds it. Counts items only, not training seeds."""
    d = (np.asarray(a, dtype=float) - np.asarray(b, dtype=float)).ravel()
    if d.size < 2:
        raise ValueError(f"a paired difference needs two or more items; got {d.size}")
    return float(d.mean()), float(1.96 * d.std(ddof=1) / d.size ** 0.5)
