"""Explorers for the notebooks: ipywidgets that compute each answer live, so they need a running kernel.

Without one, their text form says so (`KERNEL_NEEDED`) and points to the static figure the notebook shows above
them; once their kernel is gone (restarted, or the notebook reopened), a red line says so (`KERNEL_GONE`).
`retrieval_explorer`, `vqa_explorer`, `caption_sampler`, `word_explorer`. Kernel-free players are in `players.py`.
"""
from __future__ import annotations

import html

import numpy as np

from .players import png_bytes


def retrieval_explorer(search, describe, images: np.ndarray, query: str = "", k: int = 5):
    """Type a sentence -> the top-k images; press an image's button -> its ranked tags.

    search(text) -> (indices of the top-k images, words not in the vocabulary); describe(i) -> [(tag, score), ...].
    Unknown words are shown in red and left out of the query. Needs a live kernel. Returns the widget
    (displayed); where no widget front end runs, its text form says that a kernel is needed.
    """
    import ipywidgets as W

    box = W.Text(value=query, description="query:", continuous_update=False, layout=W.Layout(width="70%"))
    status, results, tags = W.HTML(), W.HBox(), W.HTML()

    def show_tags(i):
        tags.value = f"<b>scene {i}</b>: " + ", ".join(f"{html.escape(str(t))} <small>({s:.2f})</small>" for t, s in describe(i))

    def run(_=None):
        indices, unknown = search(box.value)
        status.value = (f"<span style='color:#b00'>not in the vocabulary, left out: {html.escape(', '.join(unknown))}</span>"
                        if unknown else "")
        if len(indices) == 0:
            status.value += " — no known words to search with."
        cells = []
        for rank, i in enumerate(indices[:k]):
            button = W.Button(description=f"#{rank + 1}: tags", layout=W.Layout(width="130px"))
            button.on_click(lambda _, i=int(i): show_tags(i))
            cells.append(W.VBox([W.Image(value=png_bytes(images[i]), format="png", width=128), button]))
        results.children = cells
        tags.value = "<i>press a button under an image to see its tags</i>"

    box.observe(run, names="value")
    run()
    return _kernel_bound([box, status, results, tags])


KERNEL_NEEDED = ("This explorer needs a running Python kernel: it answers each question live. In a saved or "
                 "exported copy it cannot run; run the notebook's cells, or read the static answers the notebook "
                 "shows beside it.")

KERNEL_GONE = ("No kernel answers this explorer any more (the kernel was restarted, or the notebook reopened): "
               "typing changes nothing until you run this cell again.")

# JupyterLab's widget manager marks a widget whose kernel side is gone with the class `jupyter-widgets-disconnected`;
# this line is hidden until then.
_KERNEL_GONE_HTML = ("<style>.mmlearn-kernel-gone{display:none;color:#b00;font-size:12px}"
                     ".jupyter-widgets-disconnected .mmlearn-kernel-gone{display:block}</style>"
                     f'<div class="mmlearn-kernel-gone">{html.escape(KERNEL_GONE)}</div>')


def _kernel_bound(children):
    """Display and return a VBox of these widgets plus a last line that shows only once its kernel is gone
    (KERNEL_GONE). Its text form — what a viewer without a widget front end shows, or JupyterLab in an
    untrusted notebook — says that a kernel is needed (KERNEL_NEEDED). It is shown once per cell: a call as
    the cell's last line does not show it a second time."""
    import ipywidgets as W
    from IPython import get_ipython
    from IPython.display import display

    class Explorer(W.VBox):
        shown_in_cell = None

        def __repr__(self):
            return KERNEL_NEEDED

        def _ipython_display_(self):
            cell = getattr(get_ipython(), "execution_count", None)
            if cell is not None and cell == self.shown_in_cell:
                return                                   # the displayhook, after the call already showed it
            self.shown_in_cell = cell
            # ipywidgets cuts a widget's text form at 110 characters; the reader without a kernel needs all of it
            display(self._repr_mimebundle_() | {"text/plain": KERNEL_NEEDED}, raw=True)

    ui = Explorer([*children, W.HTML(_KERNEL_GONE_HTML)])
    display(ui)
    return ui


def vqa_explorer(ask, images: np.ndarray, scene: int = 0, question: str = "what color is the circle", scale: int = 6):
    """Choose a scene, type a question -> the model's top answers and where it looked. Needs a live kernel.

    ask(i, text) -> ([(answer, probability), ...], attention over the cells (L,) or None, unknown words).
    Unknown words are shown in red (the model reads them as <unk>). Returns the widget (displayed); where no
    widget front end runs, its text form says that a kernel is needed.
    """
    import ipywidgets as W

    from .viz import attention_rgb


    pick = W.BoundedIntText(value=scene, min=0, max=len(images) - 1, description="scene:", layout=W.Layout(width="160px"))
    box = W.Text(value=question, description="question:", continuous_update=False, layout=W.Layout(width="60%"))
    picture, answers = W.Image(format="png", width=images.shape[1] * scale), W.HTML()

    def run(_=None):
        top, where, unknown = ask(pick.value, box.value)
        image = images[pick.value]
        picture.value = png_bytes(attention_rgb(image, where, scale) if where is not None else image,
                                  1 if where is not None else scale)
        rows = "".join(f"<tr><td>{html.escape(str(a))}</td><td><div style='background:#4c72b0;height:12px;width:{int(160 * p)}px'>"
                       f"</div></td><td>{p:.2f}</td></tr>" for a, p in top)
        warning = (f"<div style='color:#b00'>not in the vocabulary (read as &lt;unk&gt;): {html.escape(', '.join(unknown))}</div>"
                   if unknown else "")
        looked = "bright cells = where the model looked" if where is not None else "this model has no attention map"
        answers.value = f"{warning}<table>{rows}</table><small>{looked}</small>"

    pick.observe(run, names="value")
    box.observe(run, names="value")
    run()
    return _kernel_bound([W.HBox([pick, box]), W.HBox([picture, answers])])


def caption_sampler(sample, caption: str = "a red circle left of a blue square on a beach", seed: int = 0,
                    scale: int = 3):
    """Type a caption, move the seed -> the generator's samples for it. Needs a live kernel.

    sample(text, seed) -> (images (n, H, W, 3) uint8, words not in the vocabulary). Unknown words are shown in
    red (the text encoder reads them as <unk>). Returns the widget (displayed); where no widget front end runs,
    its text form says that a kernel is needed."""
    import ipywidgets as W


    box = W.Text(value=caption, description="caption:", continuous_update=False, layout=W.Layout(width="70%"))
    slider = W.IntSlider(value=seed, min=0, max=99, description="seed (z):", continuous_update=False)
    status, pictures = W.HTML(), W.HBox()

    def run(_=None):
        images, unknown = sample(box.value, slider.value)
        status.value = (f"<span style='color:#b00'>not in the vocabulary (read as &lt;unk&gt;): "
                        f"{html.escape(', '.join(unknown))}</span>" if unknown else
                        "<small>each picture is one draw of the noise z; the seed picks the draws</small>")
        pictures.children = [W.Image(value=png_bytes(im, scale), format="png", width=im.shape[1] * scale)
                             for im in images]

    box.observe(run, names="value")
    slider.observe(run, names="value")
    run()
    return _kernel_bound([W.HBox([box, slider]), status, pictures])


def word_explorer(vectors, query: str = "king - man + woman", k: int = 8):
    """Type a word -> its nearest neighbours; type `a - b + c` -> the analogy's answers. Needs a live kernel.

    vectors: a `word2vec.WordVectors` (its `query` answers). Words not in the vocabulary are shown in red and
    left out. Returns the widget (displayed); where no widget front end runs, its text form says that a kernel
    is needed."""
    import ipywidgets as W


    box = W.Text(value=query, description="words:", continuous_update=False, layout=W.Layout(width="60%"))
    answers = W.HTML()

    def run(_=None):
        top, unknown = vectors.query(box.value, k)
        warning = (f"<div style='color:#b00'>not in the vocabulary (left out): {html.escape(', '.join(unknown))}</div>"
                   if unknown else "")
        rows = "".join(f"<tr><td>{html.escape(w)}</td><td><div style='background:#4c72b0;height:12px;"
                       f"width:{int(160 * max(c, 0))}px'></div></td><td>{c:.2f}</td></tr>" for w, c in top)
        answers.value = (warning + (f"<table>{rows}</table><small>cosine similarity</small>" if top else
                                    "<small>type a word, or a - b + c</small>"))

    box.observe(run, names="value")
    run()
    return _kernel_bound([box, answers])
