"""Plots that every notebook needs. Each returns its matplotlib Axes so a cell can add to it."""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np

from .train import History


def smooth(values, weight: float = 0.9) -> np.ndarray:
    """Exponential moving average (TensorBoard-style, bias-corrected) of a 1-D sequence."""
    values = np.asarray(values, dtype=float)
    out = np.empty_like(values)
    avg = 0.0
    for i, v in enumerate(values):
        avg = weight * avg + (1 - weight) * v
        out[i] = avg / (1 - weight ** (i + 1))
    return out


def plot_history(history: History, *, title: str = "Training loss", ax=None, log_y: bool = False,
                 metrics: list[str] | None = None):
    """Loss per step (raw, faint; smoothed, bold) and, on a right-hand axis, the evaluation metrics (on [0, 1]
    when they are all accuracies, recalls or precisions)."""
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    ax.plot(history.steps, history.loss, color="C0", alpha=0.25, lw=0.8)
    ax.plot(history.steps, smooth(history.loss), color="C0", lw=2, label="loss (smoothed)")
    ax.set(title=title, xlabel="optimiser step", ylabel="loss")
    if log_y:
        ax.set_yscale("log")
    handles, labels = ax.get_legend_handles_labels()
    names = metrics if metrics is not None else sorted({k for e in history.evals for k in e})
    if history.evals and names:
        right = ax.twinx()
        for i, name in enumerate(names, start=1):
            right.plot(history.eval_steps, history.metric(name), "o-", color=f"C{i}", label=name)
        right.set_ylabel("evaluation")
        if all(any(w in n for w in ("accuracy", "recall", "precision")) for n in names):
            right.set_ylim(0, 1.02)                    # shares: a fixed scale, not one zoomed on the noise
        h2, l2 = right.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
        # "best" would weigh only the loss axis's lines and could cover the metrics' markers: go under the plot
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(labels),
                  fontsize="small", frameon=False)
    else:
        ax.legend(handles, labels, loc="best", fontsize="small")
    return ax


def plot_histories(histories: dict[str, History], *, title: str = "Training loss", ax=None,
                   log_y: bool = False):
    """Smoothed loss curves of several runs on one axis, to compare them."""
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    for i, (name, h) in enumerate(histories.items()):
        ax.plot(h.steps, smooth(h.loss), color=f"C{i}", lw=2, label=name)
    ax.set(title=title, xlabel="optimiser step", ylabel="loss (smoothed)")
    if log_y:
        ax.set_yscale("log")
    ax.legend(fontsize="small")
    return ax


def plot_spectrogram(spec, *, sample_rate: int | None = None, hop: int | None = None, title: str = "Spectrogram",
                     ax=None, db: bool = True, ylabel: str = "frequency bin", n_fft: int | None = None):
    """Show a (freq, time) magnitude spectrogram, in decibels by default, low frequencies at the bottom.

    With sample_rate and hop the x axis is in seconds, each frame drawn at its centre: frame k is centred at
    k * hop (torch.stft / torchaudio, center=True), or at k * hop + n_fft / 2 when n_fft is given (frames cut
    without padding, as exercise 00.1's STFT does) — so spectrograms of both kinds line up in time."""
    spec = np.asarray(spec, dtype=float)
    if db:
        spec = 20 * np.log10(np.maximum(spec, 1e-5 * max(spec.max(), 1e-12)))
    ax = ax or plt.subplots(figsize=(6, 3))[1]
    extent = None
    xlabel = "frame"
    if sample_rate and hop:
        first = (n_fft / 2 if n_fft else 0) - hop / 2                  # the left edge of frame 0's pixel
        extent = (first / sample_rate, (first + spec.shape[1] * hop) / sample_rate, 0, spec.shape[0])
        xlabel = "time (s)"
    im = ax.imshow(spec, origin="lower", aspect="auto", cmap="magma", extent=extent)
    ax.figure.colorbar(im, ax=ax, label="dB" if db else "magnitude")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return ax


def show_scene(split, i: int, *, ax=None, questions: int = 2, fontsize: float = 7.5):
    """One world scene with its objects' boxes, and below it a caption, the tags and a few Q&A."""
    ax = ax or plt.subplots(figsize=(3.5, 4.5))[1]
    scene = split.scenes[i]
    h, w = scene.image.shape[:2]
    ax.imshow(scene.image, extent=(0, w, h, 0), interpolation="nearest")
    for o in scene.objects:
        x0, y0, x1, y1 = o.box
        ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="lime", lw=1))
        ax.text(x0, y0 - 0.3, f"{o.color} {o.shape}", color="lime", fontsize=fontsize - 1, va="bottom",
                bbox=dict(fc="black", alpha=0.5, pad=0.5, lw=0))
    ax.set_title(f"scene {i}: {scene.place}", fontsize=fontsize + 2)
    ax.set_xticks([])
    ax.set_yticks([])
    lines = [f"caption: {split.captions[i][0]}", f"tags: {', '.join(split.tags[i])}"]
    lines += [f"Q: {q.text}?  A: {q.answer}  [{q.type}]" for q in split.questions[i][:questions]]
    text = "\n".join(textwrap.fill(line, width=int(8 * 55 / fontsize), subsequent_indent="    ") for line in lines)
    ax.set_xlabel(text, fontsize=fontsize, loc="left", linespacing=1.3)   # a label: layout engines make room for it
    return ax


def show_images(images, titles=None, *, title: str | None = None, rows: int = 1, size: float = 2.8,
                fontsize: float = 8, grid: int | None = None, wrap: int | None = None, axes=None):
    """A row (or `rows` rows) of images, each with its title, axes off; returns the axes (flat array)
    so a cell can draw on top. images: (N, H, W, 3) uint8 or float in [0, 1]; titles: N strings or None.
    grid: draw the g x g cells of a feature grid over each image (e.g. 8 for the backbone's 8x8 cells).
    wrap: wrap each title line at this many characters (default: what fits the panel's width)."""
    n = len(images)
    cols = -(-n // rows)
    wrap = wrap or max(12, int(size * 72 / (0.6 * fontsize)))          # characters that fit `size` inches
    titles = None if titles is None else ["\n".join(textwrap.fill(line, wrap) for line in t.split("\n"))
                                          for t in titles]
    if axes is None:
        lines = max((t.count("\n") + 1 for t in titles), default=0) if titles else 0
        height = size + lines * fontsize * 1.4 / 72 + (0.4 if title else 0)   # room for the titles
        _, axes = plt.subplots(rows, cols, figsize=(size * cols, height * rows), squeeze=False)
    axes = np.asarray(axes).ravel()
    for k, ax in enumerate(axes):
        ax.axis("off")
        if k >= n:
            continue
        h, w = images[k].shape[:2]
        ax.imshow(images[k], extent=(0, w, h, 0), interpolation="nearest")
        for line in range(1, grid or 0):
            ax.axhline(line * h / grid, color="white", lw=0.4, alpha=0.6)
            ax.axvline(line * w / grid, color="white", lw=0.4, alpha=0.6)
        if titles is not None:
            ax.set_title(titles[k], fontsize=fontsize)
    fig = axes[0].figure
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / fig.get_figheight()) if title else None)   # the title's own row
    return axes


def format_table(rows: dict[str, dict], *, digits: int = 3, markdown: bool = False) -> str:
    """Rows {name: {column: value}} as an aligned text table (or a Markdown table): the row name first,
    then the union of the rows' columns in order of appearance; numbers with `digits` decimals, ints
    with thousands separators, missing or NaN values as "–"."""
    columns = list(dict.fromkeys(c for values in rows.values() for c in values))

    def cell(v) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "–"
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)):
            return str(v)
        return f"{v:,}" if isinstance(v, (int, np.integer)) else f"{v:.{digits}f}"

    table = [[""] + columns] + [[name] + [cell(values.get(c)) for c in columns] for name, values in rows.items()]
    if markdown:
        lines = ["| " + " | ".join(r) + " |" for r in table]
        return "\n".join(lines[:1] + ["|" + "---|" * len(table[0])] + lines[1:])
    widths = [max(len(r[k]) for r in table) for k in range(len(table[0]))]
    return "\n".join("  ".join(c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths)))
                     for r in table)


def print_table(rows: dict[str, dict], *, digits: int = 3) -> None:
    """Print `format_table(rows)`: the results tables of the notebooks."""
    print(format_table(rows, digits=digits))


def filmstrip(frames, *, fps: int = 25, every: int = 4, title: str = "Video frames", axes=None):
    """Every `every`-th frame in a row, each labelled with its time — a static view of a clip."""
    picked = list(range(0, len(frames), every))
    if axes is None:
        _, axes = plt.subplots(1, len(picked), figsize=(1.1 * len(picked), 1.5))
    axes = np.atleast_1d(axes)
    for ax, k in zip(axes, picked):
        ax.imshow(frames[k], interpolation="nearest")
        ax.set_title(f"{k / fps:.2f} s", fontsize=7)
        ax.axis("off")
    axes[0].figure.suptitle(title, fontsize=10)
    return axes


def attention_colorbar(axes, peak: float, label: str = "map value"):
    """A colour bar for `attention_rgb` overlays drawn with one `peak`: how a mid-grey pixel looks from a map value
    of 0 (darkened) to `peak` (bright and warm). axes: the panels it belongs to (one row, say)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, Normalize

    heat = np.linspace(0, 1, 64)
    grey = np.full((1, 1, 3), 128, np.uint8)
    colours = [attention_rgb(grey, np.array([h]), scale=1, peak=1.0)[0, 0] / 255 for h in heat]
    mappable = ScalarMappable(Normalize(0, peak), ListedColormap(colours))
    axes = np.atleast_1d(axes)
    return axes[0].figure.colorbar(mappable, ax=list(axes), fraction=0.02, pad=0.01, label=label)


def attention_rgb(image: np.ndarray, alpha, scale: int = 8, peak: float | None = None) -> np.ndarray:
    """An image (S, S, 3) uint8 with an attention map over g x g cells (L = g*g weights) laid over it:
    the image is darkened where attention is low and tinted warm where it is high, relative to `peak`
    (default: the map's own peak; give one value to compare maps). Returns (S*scale, S*scale, 3) uint8,
    each cell a crisp block."""
    alpha = np.asarray(alpha.detach().cpu() if hasattr(alpha, "detach") else alpha, dtype=np.float32)
    grid = int(round(np.sqrt(alpha.size)))
    heat = np.clip(alpha.reshape(grid, grid) / max(float(alpha.max() if peak is None else peak), 1e-12), 0, 1)
    side = image.shape[0] * scale
    heat = np.kron(heat, np.ones((side // grid, side // grid), dtype=np.float32))[..., None]
    big = np.kron(image.astype(np.float32) / 255, np.ones((scale, scale, 1), dtype=np.float32))
    warm = np.array([1.0, 0.85, 0.2], dtype=np.float32)
    out = big * (0.25 + 0.75 * heat) + 0.35 * heat * warm
    return (np.clip(out, 0, 1) * 255).astype(np.uint8)


def plot_caption_attention(image: np.ndarray, words: list[str], alphas, *, max_words: int | None = None,
                           columns: int = 6, title: str = "Where the model looks for each word", axes=None):
    """The image once per generated word, with that word's attention map (alphas (T, L), row t = words[t]), in
    rows of `columns` panels large enough to read on a projector; every word unless max_words cuts them."""
    n = len(words) if max_words is None else min(len(words), max_words)
    if axes is None:
        rows = -(-(n + 1) // columns)
        fig, axes = plt.subplots(rows, columns, figsize=(2.1 * columns, 2.35 * rows + 0.4), layout="constrained",
                                 squeeze=False)
    axes = np.atleast_1d(axes).ravel()
    axes[0].imshow(image, interpolation="nearest")
    axes[0].set_title("image", fontsize=11)
    for t, ax in enumerate(axes[1 : n + 1]):
        ax.imshow(attention_rgb(image, alphas[t]), interpolation="nearest")
        ax.set_title(f"{t + 1}. {words[t]}", fontsize=13, fontweight="bold")
    for ax in axes:
        ax.axis("off")
    axes[0].figure.suptitle(title, fontsize=12)
    return axes[: n + 1]                       # the image and one panel per word (spare grid panels stay blank)


def pca_2d(x) -> np.ndarray:
    """Rows of x (n, d) projected on their two principal directions (after centring): (n, 2)."""
    import torch

    x = x - x.mean(0)
    _, _, v = torch.pca_lowrank(x, q=2, center=False)
    return (x @ v).numpy()


def plot_word_map(vectors, groups: dict[str, list[str]], *, title: str = "Word vectors (PCA)", ax=None):
    """A 2-D PCA of some word vectors, one colour per group. vectors: mmlearn.word2vec.WordVectors;
    groups: name -> words (words missing from the vocabulary are left out)."""
    import torch

    words = [w for members in groups.values() for w in members if w in vectors]
    x = torch.stack([vectors.unit[vectors.index[w]] for w in words])
    xy = pca_2d(x)
    ax = ax or plt.subplots(figsize=(7, 5), layout="constrained")[1]
    for name, members in groups.items():
        k = [words.index(w) for w in members if w in words]
        ax.scatter(xy[k, 0], xy[k, 1], label=name)
    ax.set(title=title, xlabel="PC 1", ylabel="PC 2")
    ax.legend(fontsize="small")
    place_labels(ax, xy, words)
    return ax


def plot_joint_space(image_emb, text_emb, groups, names: list[str], *, colors: list[str] | None = None,
                     title: str = "The joint space (PCA of both modalities)", ax=None):
    """A 2-D PCA of image and caption embeddings together: images as dots, captions as crosses, coloured by a
    group (e.g. the object's colour). image_emb (N, d), text_emb (M, d); groups: ((N,), (M,)) integer groups
    indexing `names` (and `colors`, matplotlib colours, default the tab10 cycle). Returns the axes."""
    import torch

    xy = pca_2d(torch.cat([torch.as_tensor(image_emb), torch.as_tensor(text_emb)]).float())
    n = len(image_emb)
    colors = colors or [f"C{k}" for k in range(len(names))]
    ax = ax or plt.subplots(figsize=(7, 5), layout="constrained")[1]
    for k, name in enumerate(names):
        img, txt = np.flatnonzero(np.asarray(groups[0]) == k), n + np.flatnonzero(np.asarray(groups[1]) == k)
        ax.scatter(xy[img, 0], xy[img, 1], s=18, color=colors[k], edgecolors="k", linewidths=0.4, label=name)
        ax.scatter(xy[txt, 0], xy[txt, 1], s=40, color=colors[k], marker="x", linewidths=1.5)
    ax.scatter([], [], s=18, color="w", edgecolors="k", label="image")
    ax.scatter([], [], s=40, color="k", marker="x", label="caption")
    ax.set(title=title, xlabel="PC 1", ylabel="PC 2")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


def place_labels(ax, xy, labels: list[str], fontsize: int = 8) -> None:
    """Write each label beside its point (xy (n, 2) in data coordinates), trying sixteen offsets in turn and
    keeping the first whose box overlaps no label placed before it (greedy; the last try when all overlap)."""
    ax.figure.canvas.draw()                          # fixes the limits, so boxes are measured where they end up
    renderer, placed = ax.figure.canvas.get_renderer(), []
    offsets = [(4, 3), (4, -9), (-4, 3), (-4, -9), (0, 8), (0, -14), (10, -3), (-10, -3),
               (6, 12), (6, -18), (-6, 12), (-6, -18), (16, 4), (-16, 4), (16, -12), (-16, -12)]
    for (x, y), label in zip(xy, labels):
        for dx, dy in offsets:
            text = ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                               ha="left" if dx >= 0 else "right")
            box = text.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in placed):
                break
            if (dx, dy) != offsets[-1]:
                text.remove()
        placed.append(box)


def draw_blocks(blocks: dict[str, tuple[float, float, str]], arrows: list[tuple[str, str]], *, title: str = "",
                size: tuple[float, float] = (10, 3.2), fontsize: float = 9, ax=None):
    """A block diagram: blocks {name: (x, y, label)} in [0, 1] x [0, 1] axes coordinates (box centres),
    arrows [(from, to), ...] between block names; labels in `fontsize` points. Returns the axes."""
    ax = ax or plt.subplots(figsize=size)[1]
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    texts = {name: ax.text(x, y, label, ha="center", va="center", fontsize=fontsize, zorder=2,
                           bbox=dict(boxstyle="round,pad=0.4", fc="#eef3fb", ec="#4c72b0"))
             for name, (x, y, label) in blocks.items()}
    for a, b in arrows:
        (xa, ya, _), (xb, yb, _) = blocks[a], blocks[b]
        ax.annotate("", xy=(xb, yb), xytext=(xa, ya), zorder=3,     # clipped at the two boxes' edges
                    arrowprops=dict(arrowstyle="-|>", color="#555", lw=1.2, shrinkA=2, shrinkB=2, mutation_scale=14,
                                    patchA=texts[a].get_bbox_patch(), patchB=texts[b].get_bbox_patch()))
    if title:
        ax.set_title(title, fontsize=fontsize + 3)
    return ax


def plot_grouped_bars(table: dict[str, dict[str, float]], *, title: str = "", ylabel: str = "accuracy",
                      chance: dict[str, float] | None = None, legend_columns: int = 4, ax=None):
    """Grouped bars: one group per column, one bar per row of {row: {column: value}}; `chance` draws a
    short dashed line per column (a per-group baseline). Values in [0, 1]; the legend sits above the
    bars in `legend_columns` columns. Returns the axes."""
    ax = ax or plt.subplots(figsize=(10, 3.6))[1]
    columns = list(dict.fromkeys(c for values in table.values() for c in values))
    width = 0.8 / len(table)
    for k, (name, values) in enumerate(table.items()):
        xs = np.arange(len(columns)) + (k - (len(table) - 1) / 2) * width
        ax.bar(xs, [values.get(c, np.nan) for c in columns], width, label=name)
    for j, c in enumerate(columns):
        if chance and c in chance:
            ax.hlines(chance[c], j - 0.45, j + 0.45, colors="k", linestyles="--", lw=1)
    ax.set_xticks(np.arange(len(columns)), columns)
    ax.set_ylabel(ylabel)
    columns_ = min(legend_columns, len(table))
    ax.set_ylim(0, 1.1 + 0.1 * -(-len(table) // columns_))               # room for the legend above the bars
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.legend(fontsize=8, ncol=columns_, loc="upper center", frameon=False)
    if title:
        ax.set_title(title)
    return ax
