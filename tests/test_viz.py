import html

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from mmlearn.metrics import precision_at_true_count
from mmlearn.viz import format_table, plot_joint_space, show_images


def test_show_images_draws_each_image_with_its_title_and_no_axes():
    images = np.random.default_rng(0).integers(0, 255, (5, 32, 32, 3), dtype=np.uint8)
    axes = show_images(images, [f"image {k}" for k in range(5)], title="Five", rows=2, grid=8)
    assert len(axes) == 6                                  # 2 rows x 3 columns, the last one empty
    assert [ax.get_title() for ax in axes[:5]] == [f"image {k}" for k in range(5)]
    assert all(len(ax.images) == 1 for ax in axes[:5]) and not axes[5].images
    assert not any(ax.axison for ax in axes)
    assert len(axes[0].lines) == 14                        # 7 horizontal + 7 vertical cell borders
    assert axes[0].figure._suptitle.get_text() == "Five"
    plt.close("all")


def test_plot_joint_space_puts_images_and_captions_of_a_group_together():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 5                  # three well-separated groups
    groups = np.repeat(np.arange(3), 10)
    images = centres[groups] + rng.normal(size=(30, 16)) * 0.1
    captions = centres[groups[::2]] + rng.normal(size=(15, 16)) * 0.1
    ax = plot_joint_space(images, captions, (groups, groups[::2]), ["a", "b", "c"])
    dots, crosses = ax.collections[0:6:2], ax.collections[1:6:2]
    assert [len(d.get_offsets()) for d in dots] == [10, 10, 10] and [len(c.get_offsets()) for c in crosses] == [5, 5, 5]
    for k in range(3):                                      # a group's captions land among its own images
        mean_dot, mean_cross = dots[k].get_offsets().mean(0), crosses[k].get_offsets().mean(0)
        others = [dots[j].get_offsets().mean(0) for j in range(3) if j != k]
        assert all(np.linalg.norm(mean_cross - mean_dot) < np.linalg.norm(mean_cross - o) for o in others)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c", "image", "caption"]
    plt.close("all")


def test_format_table_aligns_columns_and_marks_missing_values():
    rows = {"random": {"R@1": 0.001, "R@5": 0.0044, "seconds": float("nan")},
            "InfoNCE": {"R@1": 0.6974, "R@5": 0.9752, "seconds": 12.3, "pairs": 40_000}}
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["R@1", "R@5", "seconds", "pairs"]
    assert lines[1].split() == ["random", "0.001", "0.004", "–", "–"]
    assert lines[2].split() == ["InfoNCE", "0.697", "0.975", "12.300", "40,000"]
    assert len({len(line) for line in lines}) == 1          # every line as wide: the columns line up
    md = format_table(rows, digits=2, markdown=True).splitlines()
    assert md[1] == "|---|---|---|---|---|"
    assert [c.strip() for c in md[3].strip("|").split("|")] == ["InfoNCE", "0.70", "0.98", "12.30", "40,000"]


def test_precision_at_true_count_on_a_hand_computed_case():
    truth = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 1]], dtype=torch.bool)
    scores = torch.tensor([[0.9, 0.1, 0.8, 0.0],    # top 2: tags 0, 2 -> 1 of 2 true
                           [0.5, 0.6, 0.0, 0.0],    # top 1: tag 1 -> 0 of 1
                           [0.0, 0.3, 0.2, 0.1]])   # top 3: tags 1, 2, 3 -> 3 of 3
    assert precision_at_true_count(scores, truth) == pytest.approx((0.5 + 0 + 1) / 3)
    assert precision_at_true_count(truth.float(), truth) == 1.0
    with pytest.raises(ValueError, match="true tag"):
        precision_at_true_count(scores, torch.zeros(3, 4, dtype=torch.bool))


def test_draw_blocks_places_every_label_and_arrow():
    from mmlearn.viz import draw_blocks
    ax = draw_blocks({"a": (0.2, 0.5, "image"), "b": (0.8, 0.5, "answer")}, [("a", "b")], title="pipeline")
    assert sorted(t.get_text() for t in ax.texts) == ["", "answer", "image"]   # two labels + the arrow annotation
    assert ax.get_title() == "pipeline"
    with pytest.raises(KeyError):
        draw_blocks({"a": (0.2, 0.5, "image")}, [("a", "missing")])
    plt.close("all")


def test_grouped_bars_one_bar_per_row_and_column_with_chance_lines():
    from mmlearn.viz import plot_grouped_bars
    ax = plot_grouped_bars({"m1": {"x": 0.5, "y": 0.9}, "m2": {"x": 0.7, "y": 0.2}}, chance={"x": 0.25})
    heights = sorted(round(p.get_height(), 2) for p in ax.patches)
    assert heights == [0.2, 0.5, 0.7, 0.9] and [t.get_text() for t in ax.get_xticklabels()] == ["x", "y"]
    assert len(ax.collections) == 1                                      # one dashed chance line
    plt.close("all")


def test_vqa_explorer_answers_live_flags_unknown_words_and_says_it_needs_a_kernel():
    from mmlearn.widgets import KERNEL_NEEDED, vqa_explorer
    images = np.zeros((3, 8, 8, 3), dtype=np.uint8)
    asked = []

    def ask(i, text):
        asked.append((i, text))
        return [("red", 0.75), ("blue", 0.25)], torch.full((4,), 0.25), [w for w in text.split() if w == "colour"]

    ui = vqa_explorer(ask, images, scene=1, question="what colour is it")
    (pick, box), (picture, answers) = ui.children[0].children, ui.children[1].children
    assert asked == [(1, "what colour is it")] and "not in the vocabulary" in answers.value and "colour" in answers.value
    assert "red" in answers.value and "0.75" in answers.value and bytes(picture.value).startswith(b"\x89PNG")
    box.value = "what color is it"
    assert asked[-1] == (1, "what color is it") and "not in the vocabulary" not in answers.value
    pick.value = 2
    assert asked[-1] == (2, "what color is it")
    assert repr(ui) == KERNEL_NEEDED


def test_caption_sampler_draws_live_flags_unknown_words_and_says_it_needs_a_kernel():
    from mmlearn.widgets import KERNEL_NEEDED, caption_sampler
    asked = []

    def sample(text, seed):
        asked.append((text, seed))
        return np.full((8, 4, 4, 3), seed, dtype=np.uint8), [w for w in text.split() if w == "zebra"]

    ui = caption_sampler(sample, "a red zebra", seed=3)
    (box, slider), status, pictures = ui.children[0].children, ui.children[1], ui.children[2]
    assert asked == [("a red zebra", 3)] and "not in the vocabulary" in status.value and "zebra" in status.value
    assert len(pictures.children) == 8 and bytes(pictures.children[0].value).startswith(b"\x89PNG")
    box.value = "a red circle"
    assert asked[-1] == ("a red circle", 3) and "not in the vocabulary" not in status.value
    slider.value = 7
    assert asked[-1] == ("a red circle", 7)
    assert repr(ui) == KERNEL_NEEDED


def test_widget_html_escapes_captions_titles_and_words():
    from mmlearn.players import attention_scrubber_html, talking_face_html
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    page = attention_scrubber_html(image, ["<b>a</b>", "x&y"], torch.full((2, 4), 0.25), title='<script>alert("t")</script>')
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "&lt;b&gt;a&lt;/b&gt;" in page and "x&amp;y" in page
    face = talking_face_html(np.zeros((3, 8, 8, 3), dtype=np.uint8), np.zeros(1600, dtype=np.float32),
                             caption="<img src=x onerror=alert(1)>")
    assert "<img src=x" not in face and "&lt;img src=x" in face


def test_the_scrubber_and_the_talking_face_say_what_to_do_without_their_script():
    import html
    from mmlearn.players import TRUST_HINT, attention_scrubber_html, talking_face_html
    pages = [attention_scrubber_html(np.zeros((8, 8, 3), dtype=np.uint8), ["a"], torch.full((1, 4), 0.25)),
             talking_face_html(np.zeros((3, 8, 8, 3), dtype=np.uint8), np.zeros(1600, dtype=np.float32))]
    for page in pages:                                   # the hint is there until the player's own script removes it
        key = page.split('id="h-')[1].split('"')[0]
        assert html.escape(TRUST_HINT) in page and f'document.getElementById("h-{key}").remove();' in page


def test_sounding_objects_player_holds_every_combination_and_says_what_to_do_without_its_script():
    import html

    from mmlearn.players import TRUST_HINT, sounding_objects_html

    combos = [(False, False), (True, False), (False, True), (True, True)]
    maps = {c: np.full(4, 0.5 * sum(c)) for c in combos}
    audio = {c: np.full(800, 0.1 * (1 + sum(c)), dtype=np.float32) for c in combos}
    page = sounding_objects_html(np.zeros((4, 4, 3), np.uint8), ["<i>red</i> circle", "blue square"], maps, audio,
                                 title="scene & co")
    for c in combos:
        key = "".join("1" if t else "0" for t in c)
        assert page.count(f'"{key}":"data:image/png') == 1 and page.count(f'"{key}":"data:audio/wav') == 1
    assert "&lt;i&gt;red&lt;/i&gt; circle" in page and "scene &amp; co" in page and "<i>red" not in page
    assert html.escape(TRUST_HINT) in page and '.remove()' in page       # the hint is there until the script runs


def test_clip_gallery_holds_every_clip_shows_the_first_group_and_says_what_to_do_without_its_script():
    import html

    from mmlearn.players import TRUST_HINT, clip_gallery_html

    image, sound = np.zeros((4, 4, 3), np.uint8), np.zeros(800, np.float32)
    page = clip_gallery_html({"unit <1>": [(image, sound, "a & b")] * 2, "unit 2": [(image, sound, "c")] * 3})
    assert page.count("data:audio/wav") == 5 and page.count("data:image/png") == 5
    assert "unit &lt;1&gt;" in page and "a &amp; b" in page
    assert 'style="display:flex' in page and page.count('style="display:none') == 1     # only the first group shows
    assert html.escape(TRUST_HINT) in page and ".remove()" in page


def test_mixture_player_holds_every_track_and_frame_and_scales_one_mixture_together():
    import html

    from mmlearn.players import TRUST_HINT, mixture_player_html

    faces = np.zeros((2, 3, 4, 4, 3), np.uint8)
    loud, quiet = np.full(800, 0.5, np.float32), np.full(800, 0.05, np.float32)
    page = mixture_player_html([("mix <1>", faces, {"mixture": loud, "estimate & co": quiet}),
                                ("mix 2", faces, {"mixture": loud})])
    assert page.count("data:audio/wav") == 3 and page.count("data:image/png") == 2 * 2 + 2 * 2 * 3
    assert "mix &lt;1&gt;" in page and "estimate &amp; co" in page
    assert page.count('style="display:none') == 1 and html.escape(TRUST_HINT) in page and ".remove()" in page
    import base64
    import io

    import soundfile as sf
    wavs = [w.split('"')[0] for w in page.split("data:audio/wav;base64,")[1:]]
    levels = [np.abs(sf.read(io.BytesIO(base64.b64decode(w)))[0]).max() for w in wavs[:2]]
    assert levels[0] == pytest.approx(0.9, abs=1e-3) and levels[1] == pytest.approx(0.09, abs=1e-3)  # one scale


def test_players_display_once_and_return_nothing(capsys):
    from mmlearn.players import (attention_scrubber, clip_gallery, mixture_player, sounding_objects_player,
                                 talking_face_player)

    image, sound = np.zeros((4, 4, 3), np.uint8), np.zeros(800, np.float32)
    shown = [talking_face_player(np.zeros((2, 4, 4, 3), np.uint8), sound),
             attention_scrubber(image, ["a"], torch.full((1, 4), 0.25)),
             sounding_objects_player(image, ["x"], {(False,): np.zeros(4), (True,): np.ones(4)},
                                     {(False,): sound, (True,): sound}),
             clip_gallery({"g": [(image, sound, "c")]}),
             mixture_player([("m", np.zeros((2, 2, 4, 4, 3), np.uint8), {"mixture": sound})])]
    assert shown == [None] * 5                    # a call as a cell's last line is not shown a second time
    assert capsys.readouterr().out.count("IPython.core.display.HTML object") == 5


def test_word_explorer_answers_typed_words_flags_unknown_ones_and_says_it_needs_a_kernel():
    from mmlearn.widgets import KERNEL_GONE, KERNEL_NEEDED, word_explorer
    from mmlearn.word2vec import WordVectors
    vectors = WordVectors(torch.tensor([[1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1.]]), ["king", "queen", "man", "woman"])
    ui = word_explorer(vectors, "king - man + woman", k=2)
    box, answers, gone = ui.children
    assert "queen" in answers.value and "not in the vocabulary" not in answers.value
    box.value = "king - zebra"
    assert "not in the vocabulary" in answers.value and "zebra" in answers.value
    box.value = "zebra"
    assert "type a word" in answers.value
    assert repr(ui) == KERNEL_NEEDED
    assert html.escape(KERNEL_GONE) in gone.value and "jupyter-widgets-disconnected" in gone.value


def test_spectrograms_of_centred_and_uncentred_frames_line_up_in_time():
    import matplotlib

    matplotlib.use("agg")
    from mmlearn.viz import plot_spectrogram

    rate, hop, n_fft = 16_000, 128, 512
    centred = plot_spectrogram(np.ones((5, 126)), sample_rate=rate, hop=hop)          # frame k at k * hop
    cut = plot_spectrogram(np.ones((5, 122)), sample_rate=rate, hop=hop, n_fft=n_fft)  # frame k at k * hop + n_fft / 2
    (c0, c1), (u0, u1) = centred.images[0].get_extent()[:2], cut.images[0].get_extent()[:2]
    assert c0 == pytest.approx(-hop / 2 / rate) and c1 == pytest.approx((125 * hop + hop / 2) / rate)
    assert u0 == pytest.approx((n_fft / 2 - hop / 2) / rate)                          # first frame's centre: 16 ms
    assert u1 == pytest.approx((121 * hop + n_fft / 2 + hop / 2) / rate)              # last: 121 hops + 16 ms


def test_retrieval_explorer_searches_live_shows_tags_flags_unknown_words_and_says_it_needs_a_kernel():
    from mmlearn.widgets import KERNEL_GONE, KERNEL_NEEDED, retrieval_explorer
    images = np.zeros((6, 8, 8, 3), dtype=np.uint8)
    asked = []

    def search(text, k=5):
        asked.append(text)
        return [3, 1], [w for w in text.split() if w == "zebra"]

    ui = retrieval_explorer(search, lambda i: [(f"tag{i}", 0.5)], images, query="a red zebra")
    box, status, results, tags, gone = ui.children
    assert asked == ["a red zebra"] and "zebra" in status.value and len(results.children) == 2
    results.children[0].children[1].click()                       # the first result's button: scene 3's tags
    assert "scene 3" in tags.value and "tag3" in tags.value
    box.value = "a red circle"
    assert asked[-1] == "a red circle" and "not in the vocabulary" not in status.value
    assert repr(ui) == KERNEL_NEEDED and html.escape(KERNEL_GONE) in gone.value


def test_an_explorer_called_as_a_cells_last_line_is_shown_once(monkeypatch):
    """In a kernel, the call displays the explorer and IPython's displayhook then displays the returned
    widget: the second must show nothing in the same cell, and showing it again from a later cell works."""
    import IPython
    from IPython.core.interactiveshell import InteractiveShell
    from mmlearn.widgets import KERNEL_NEEDED, word_explorer
    from mmlearn.word2vec import WordVectors

    shell = InteractiveShell.instance()
    shown = []
    monkeypatch.setattr(shell.display_pub, "publish", lambda data, **kw: shown.append(data))
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    try:
        shell.execution_count = 7
        ui = word_explorer(WordVectors(torch.eye(2), ["king", "queen"]), "king", k=1)
        value, _ = shell.display_formatter.format(ui)  # the displayhook's view of the cell's value
        assert value == {}                             # nothing for it to show: ipykernel then sends nothing
        assert len(shown) == 1 and "application/vnd.jupyter.widget-view+json" in shown[0]
        assert shown[0]["text/plain"] == KERNEL_NEEDED                  # whole: what a reader without a kernel sees
        shell.execution_count = 8                   # `ui` typed in a later cell shows it again
        IPython.display.display(ui)
        assert len(shown) == 2
    finally:
        InteractiveShell.clear_instance()


def test_the_attention_colour_bar_spans_the_scale_it_names():
    from mmlearn.viz import attention_colorbar, attention_rgb
    axes = show_images(np.full((2, 8, 8, 3), 128, np.uint8))
    bar = attention_colorbar(axes, 0.6, label="cosine")
    assert bar.mappable.norm.vmin == 0 and bar.mappable.norm.vmax == 0.6 and bar.ax.get_ylabel() == "cosine"
    colours = bar.mappable.cmap(np.linspace(0, 1, 3))[:, :3]
    grey = np.full((1, 1, 3), 128, np.uint8)
    for value, colour in zip((0.0, 0.5, 1.0), colours):      # each end is what attention_rgb draws on mid-grey
        drawn = attention_rgb(grey, np.array([value]), scale=1, peak=1.0)[0, 0] / 255
        assert np.allclose(colour, drawn, atol=0.02)
    plt.close("all")
