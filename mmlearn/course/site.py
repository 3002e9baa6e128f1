"""The course as a static site that opens from disk, with no network: `make site` -> site/index.html.

    python -m mmlearn.course.site [--executed results/executed] [--out site]

Each executed notebook (`make course` writes them) becomes one page, in course order, with links to the
previous and next; the README is the front page, under a table of contents. Figures and sounds are
embedded in the pages; the HTML players (talking face, attention scrubber, mixtures, ...) are plain
HTML + JavaScript and run as they do in a trusted notebook.

Why nbconvert: it is the Jupyter project's own exporter, the one behind JupyterLab's "Save and Export
Notebook As → HTML", and it is installed with JupyterLab already: pages look like the notebooks, and
outputs are rendered by the same code. Its template fetches three things from CDNs; the 40-line template
in `site_template/` replaces them: MathJax is copied from the `jupyter-server-mathjax` wheel (the MathJax
2.7 the Jupyter server ships, with its STIX web fonts), require.js is not needed, and ipywidgets (progress bars, the live explorers) are shown in their text form — a bar's last
state, an explorer's "needs a running kernel" — so no widget script is fetched. jupyter-book or mkdocs
with mkdocs-jupyter would render the same notebooks through a documentation framework (Sphinx or MkDocs,
their themes and plugins): more to install and configure for nine pages and a README.

The site is written beside `out` and swapped in whole: an interrupted build leaves the previous site.
"""
from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
import time
from pathlib import Path

from ..core import ROOT
from .run import list_notebooks

TEMPLATE = Path(__file__).resolve().parent / "site_template"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def mathjax_source() -> Path:
    """MathJax 2.7 as the jupyter-server-mathjax package ships it (its static/ folder)."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        raise SystemExit("the site's formulas need MathJax from the jupyter-server-mathjax package, a dev "
                         "dependency: pip install -e '.[dev]' (make setup does)") from None
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def copy_mathjax(target: Path) -> None:
    """MathJax's combined TeX configuration, its HTML-CSS output and the STIX web fonts it uses (not its SVG output)."""
    shutil.copytree(mathjax_source(), target, ignore=shutil.ignore_patterns("SVG", "mathmaps", "*.md", "*.py"))


def title_of(nb) -> str:
    """A notebook's title: the first heading of its first cell, without the '#'."""
    for line in "".join(nb.cells[0].source).splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return "untitled"


def without_widgets(nb):
    """The notebook with ipywidgets views replaced by their text form (no widget script is needed)."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "markdown":  # links between notebooks point to their pages
            cell.source = re.sub(r"\]\(([^)#\s]+)\.ipynb", r"](\1.html", cell.source)
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if o.get("data", True)]
    return nb


def prose_as_text(nb):
    """Cells that speak the run's numbers (`mmlearn.prose.say`) become the markdown they printed: the page reads
    as prose, the way the notebook's own markdown does, without the f-string that built it."""
    import nbformat

    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "say(" not in cell.source or not cell.get("outputs"):
            continue
        said = [o.get("data", {}).get("text/markdown") for o in cell.outputs]
        if all(said):
            nb.cells[i] = nbformat.v4.new_markdown_cell("\n\n".join(said))
    return nb


def render(nb, nav: dict) -> str:
    """One page: nbconvert's HTML exporter with the site template (nav = title, previous and next links)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name=TEMPLATE.name, extra_template_basedirs=[str(TEMPLATE.parent)])
    body, _ = exporter.from_notebook_node(nb, resources={"mmlearn_nav": nav})
    return body


def markdown_page(text: str):
    import nbformat

    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])


def front_page(pages: list[tuple[str, str]]) -> str:
    """The README with a table of contents under its title; its notebook names and CONTRIBUTING.md link to pages."""
    title, _, readme = (ROOT / "README.md").read_text(encoding="utf-8").partition("\n")
    readme = readme.replace("](CONTRIBUTING.md)", "](contributing.html)")
    for href, _ in pages:
        readme = readme.replace(f"`{Path(href).stem}`", f"[`{Path(href).stem}`]({href})")
    items = "\n".join(f'<li><a href="{href}">{html.escape(name)}</a></li>' for href, name in pages)
    return f'{title}\n\n## Contents\n\n<ul class="mmlearn-toc">\n{items}\n</ul>\n{readme}'


def build(executed: Path, out: Path) -> Path:
    """Write the site to out/ from the executed notebooks in executed/; return out/index.html."""
    import nbformat

    sources = [executed / path.name for path in list_notebooks(None)]
    missing = [p.name for p in sources if not p.exists()]
    if missing:
        raise SystemExit(f"{executed}: no executed copy of {', '.join(missing)}. Run `make course` first "
                         "(it executes every notebook and saves the copies there), then `make site`.")
    start = time.perf_counter()
    staging = out.with_name(f".{out.name}.building")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        copy_mathjax(staging / "_static" / "mathjax")
        notebooks = [prose_as_text(without_widgets(nbformat.read(p, as_version=4))) for p in sources]
        pages = [(f"{p.stem}.html", title_of(nb).split(":")[0]) for p, nb in zip(sources, notebooks)]
        for i, nb in enumerate(notebooks):
            nav = {"title": pages[i][1],
                   "previous": i > 0 and {"href": pages[i - 1][0], "title": pages[i - 1][1]},
                   "next": i + 1 < len(pages) and {"href": pages[i + 1][0], "title": pages[i + 1][1]}}
            (staging / pages[i][0]).write_text(render(nb, nav), encoding="utf-8")
        first = {"href": pages[0][0], "title": pages[0][1]}
        (staging / "index.html").write_text(render(markdown_page(front_page(pages)),
                                                   {"title": "", "previous": False, "next": first}))
        contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
        (staging / "contributing.html").write_text(render(markdown_page(contributing),
                                                          {"title": "how the course is built", "previous": False,
                                                           "next": first}))
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if out.exists():
            out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"{out / 'index.html'}: {len(pages)} notebooks + contents, {size / 2**20:.1f} MiB, "
          f"built in {time.perf_counter() - start:.1f} s")
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmlearn.course.site", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executed", type=Path, default=ROOT / "results" / "executed",
                        help="the executed notebooks (default: results/executed, written by make course)")
    parser.add_argument("--out", type=Path, default=ROOT / "site", help="where the site goes (default: site/)")
    args = parser.parse_args(argv)
    build(args.executed.resolve(), args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
