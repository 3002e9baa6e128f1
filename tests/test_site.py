"""The offline site's builder (mmlearn.course.site), without a browser: browser_tests/ opens the result in Chromium."""
import re

import nbformat
import pytest

from mmlearn.course import site
from mmlearn.course.run import list_notebooks

WIDGET = "application/vnd.jupyter.widget-view+json"


def fake_executed(folder, outputs=()):
    """Every notebook of the course as a one-cell 'executed' copy with a formula and the given outputs."""
    folder.mkdir()
    for path in list_notebooks(None):
        nb = nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell(f"# {path.stem[:2]} — Title: subtitle\n\n$\\lambda$ and [next](01_metric_learning.ipynb)"),
            nbformat.v4.new_code_cell("x = 1", outputs=list(outputs))])
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
        nbformat.write(nb, folder / path.name)
    return folder


def test_widgets_give_way_to_their_text_and_links_point_to_pages():
    bar = nbformat.v4.new_output("display_data", data={WIDGET: {"model_id": "x"}, "text/plain": "training: 100%"})
    lone = nbformat.v4.new_output("display_data", data={WIDGET: {"model_id": "y"}})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("see [01](01_metric_learning.ipynb#losses)"),
                                         nbformat.v4.new_code_cell("fit()", outputs=[bar, lone])])
    nb.metadata["widgets"] = {}
    nb = site.without_widgets(nb)
    assert "widgets" not in nb.metadata
    assert nb.cells[1].outputs == [nbformat.v4.new_output("display_data", data={"text/plain": "training: 100%"})]
    assert nb.cells[0].source == "see [01](01_metric_learning.html#losses)"


def test_sentences_said_from_the_run_read_as_prose():
    said = nbformat.v4.new_output("display_data", data={"text/markdown": "accuracy **0.91**", "text/plain": "<Markdown>"})
    shown = nbformat.v4.new_output("display_data", data={"image/png": "iVBOR"})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("say(f'accuracy **{acc:.2f}**')", outputs=[said]),
                                         nbformat.v4.new_code_cell("plot(); say('x')", outputs=[shown, said]),
                                         nbformat.v4.new_code_cell("say(f'not run yet')")])
    nb = site.prose_as_text(nb)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source == "accuracy **0.91**"
    assert [c.cell_type for c in nb.cells[1:]] == ["code", "code"]  # a figure is kept with its code; unrun stays


def test_the_site_fetches_nothing_from_the_network_and_lists_every_notebook(tmp_path):
    bar = nbformat.v4.new_output("display_data", data={WIDGET: {"model_id": "x"}, "text/plain": "training: 100%"})
    index = site.build(fake_executed(tmp_path / "executed", [bar]), tmp_path / "site")
    names = [p.stem for p in list_notebooks(None)]
    assert sorted(p.stem for p in index.parent.glob("0*.html")) == names
    assert (index.parent / "_static" / "mathjax" / "MathJax.js").exists()
    front = index.read_text()
    assert [re.search(rf'href="({n}\.html)"', front) is not None for n in names] == [True] * len(names)
    for page in index.parent.glob("*.html"):
        html = page.read_text()
        sources = re.findall(r'<(?:script|link|img)[^>]*(?:src|href)="([^"]+)"', html)
        assert not [s for s in sources if re.match(r"(https?:)?//", s)], page.name  # nothing from a CDN
        assert "embed-amd" not in html and "require.min.js" not in html
    page = (index.parent / "00_multimodal_data.html").read_text()
    assert "training: 100%" in page and 'href="01_metric_learning.html"' in page and "_static/mathjax/MathJax.js" in page


def test_a_missing_executed_notebook_is_named_and_the_old_site_kept(tmp_path):
    executed = fake_executed(tmp_path / "executed")
    (executed / "03_attention_captioning.ipynb").unlink()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("the previous site")
    with pytest.raises(SystemExit, match="03_attention_captioning.ipynb.*make course"):
        site.build(executed, tmp_path / "site")
    assert (tmp_path / "site" / "index.html").read_text() == "the previous site"
