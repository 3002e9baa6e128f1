"""What a caption means, and whether it is true of a scene: the judge behind every "semantic" metric.

A caption in the world's grammar — written by the world or by a model — is read back into its meaning
(`parse_caption`) and checked against scenes' ground truth (`fits_matrix`, vectorised over scenes). Notebook
01 uses it for semantic recall and the ambiguity ceiling, 03 for semantic accuracy and attention grounding.

    fits = fits_matrix(["a red circle left of a blue square on a beach"], split.scenes)   # (1, N) bool
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import numpy as np

from .text import tokenize
from .world.grammar import PLACE_PHRASES, plural
from .world.scenes import COLORS, PLACES, SHAPES, SIZES, Scene, Scenes

PLACE_WORDS = {"beach": "beach", "sea": "beach", "forest": "forest", "woods": "forest", "trees": "forest",
               "city": "city", "buildings": "city", "night": "night", "dark": "night"}
COUNT_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3}
SHAPE_NOUNS = {s: s for s in SHAPES} | {plural(s): s for s in SHAPES}   # "circles" -> "circle"
assert set(PLACE_WORDS.values()) == set(PLACE_PHRASES), "every place needs a word that names it"

Description = tuple[int, "str | None", "str | None", str]   # (count, size, colour, shape)


def describe_object(scenes, i: int, k: int) -> str:
    """Object k of scene i in words, size colour shape: 'large red circle'."""
    return f"{SIZES[scenes.size[i, k]]} {COLORS[scenes.color[i, k]]} {SHAPES[scenes.shape[i, k]]}"


def noun_phrase(words: list[str], i: int) -> Description | None:
    """The object that the shape noun words[i] names, read from the words before it:
    (count, size, colour, shape), e.g. "two small red circles" -> (2, "small", "red", "circle").
    None if words[i] is not a shape noun."""
    if words[i] not in SHAPE_NOUNS:
        return None
    j, size, color = i - 1, None, None
    if j >= 0 and words[j] in COLORS:
        color, j = words[j], j - 1
    if j >= 0 and words[j] in ("small", "large"):
        size, j = words[j], j - 1
    count = COUNT_WORDS.get(words[j], 1) if j >= 0 else 1
    return count, size, color, SHAPE_NOUNS[words[i]]


@dataclass
class CaptionMeaning:
    """What a caption asserts: the place, the objects it mentions (count, size, colour, shape), and
    either a relation between its first two objects, a horizontal position, or that the list is complete."""

    place: str | None
    objects: list[Description]
    relation: str | None = None
    position: str | None = None
    total: int | None = None

    @property
    def exhaustive(self) -> bool:
        return self.relation is None and self.position is None

    def key(self) -> tuple:
        return self.place, tuple(self.objects), self.relation, self.position, self.total


def parse_caption(caption: str) -> CaptionMeaning:
    """Read a caption of the world's grammar back into its meaning (see `fits_matrix`)."""
    words = tokenize(caption)
    place = next((PLACE_WORDS[w] for w in words if w in PLACE_WORDS), None)
    objects, relation, position, total = [], None, None, None
    for i, w in enumerate(words):
        if w in SHAPE_NOUNS:
            objects.append(noun_phrase(words, i))
        elif w in ("objects", "object") and i > 0 and words[i - 1] in COUNT_WORDS:
            total = COUNT_WORDS[words[i - 1]]
        elif w in ("left", "right") and i + 1 < len(words) and words[i + 1] == "of":
            relation = f"{w} of"
        elif w in ("above", "below"):
            relation = w
        elif w in ("left", "right") or (w == "middle" and i > 0 and words[i - 1] == "the"):
            position = w
    return CaptionMeaning(place, objects, relation, position, total)


# ------------------------------------------------------------------------- the cases, over N scenes at once
def objects_fitting(scenes: Scenes, description: Description) -> np.ndarray:
    """(N, K) bool: which objects of each scene fit a description (its shape, and colour / size if named)."""
    _, size, color, shape = description
    fit = scenes.present & (scenes.shape == SHAPES.index(shape))
    if color is not None:
        fit &= scenes.color == COLORS.index(color)
    if size is not None:
        fit &= scenes.size == SIZES.index(size)
    return fit


def relation_holds(scenes: Scenes, a: Description, b: Description, relation: str) -> np.ndarray:
    """(N,) bool: some object fitting `a` and a *different* one fitting `b` stand in `relation` (centres)."""
    x, y = scenes.center[..., 0], scenes.center[..., 1]
    between = {"left of": x[:, :, None] < x[:, None, :], "right of": x[:, :, None] > x[:, None, :],
               "above": y[:, :, None] < y[:, None, :], "below": y[:, :, None] > y[:, None, :]}[relation]
    k = scenes.shape.shape[1]
    pairs = objects_fitting(scenes, a)[:, :, None] & objects_fitting(scenes, b)[:, None, :]
    return (pairs & between & ~np.eye(k, dtype=bool)).any((1, 2))


def position_holds(scenes: Scenes, descriptions: list[Description], position: str) -> np.ndarray:
    """(N,) bool: some object fitting one of the descriptions lies in the named third of the image."""
    x, width = scenes.center[..., 0], scenes.image.shape[2]
    third = {"left": x < width / 3, "right": x > 2 * width / 3,
             "middle": (x >= width / 3) & (x <= 2 * width / 3)}[position]
    return np.logical_or.reduce([objects_fitting(scenes, d) & third for d in descriptions]).any(1)


def list_is_complete(scenes: Scenes, descriptions: list[Description]) -> np.ndarray:
    """(N,) bool: the scene holds exactly the listed objects — as many as listed (counts included),
    matched one to one with the descriptions."""
    slots = [d for d in descriptions for _ in range(d[0])]      # "two red circles" is two slots
    k = scenes.shape.shape[1]
    if len(slots) > k:
        return np.zeros(len(scenes.shape), bool)
    fits = [objects_fitting(scenes, d) for d in slots]
    assigned = np.zeros(len(scenes.shape), bool)
    for objects in permutations(range(k), len(slots)):         # every injective slot -> object assignment
        assigned |= np.logical_and.reduce([fit[:, o] for fit, o in zip(fits, objects)], initial=True)
    return assigned & (scenes.present.sum(1) == len(slots))


def meaning_fits(meaning: CaptionMeaning, scenes: Scenes) -> np.ndarray:
    """(N,) bool: the caption's meaning is true of each scene."""
    ok = np.ones(len(scenes.shape), bool)
    if meaning.place is not None:
        ok &= scenes.place == PLACES.index(meaning.place)
    if meaning.total is not None:
        ok &= scenes.present.sum(1) == meaning.total
    if meaning.relation is not None:
        if len(meaning.objects) < 2:
            return np.zeros_like(ok)
        return ok & relation_holds(scenes, meaning.objects[0], meaning.objects[1], meaning.relation)
    if meaning.position is not None:
        return ok & position_holds(scenes, meaning.objects, meaning.position)
    return ok & list_is_complete(scenes, meaning.objects)


def fits_matrix(captions: list[str], scenes: Scenes) -> np.ndarray:
    """(Q, N) bool: whether caption q is true of scene n, for every pair, vectorised over the scenes.

    A caption fits when its place matches and: for a relation ("a red circle left of a blue cross"),
    some two different objects fit the two descriptions and the relation holds between their centres;
    for a position ("... on the left"), some object fits and lies in that third of the image; otherwise
    the caption lists *all* objects, so their number and a one-to-one match must agree.
    """
    out = np.zeros((len(captions), len(scenes.shape)), bool)
    seen = {}                                   # captions that mean the same are judged once
    for q, caption in enumerate(captions):
        meaning = parse_caption(caption)
        if meaning.key() not in seen:
            seen[meaning.key()] = meaning_fits(meaning, scenes)
        out[q] = seen[meaning.key()]
    return out


def caption_fits(caption: str, scene: Scene) -> bool:
    """Whether a caption is true of one scene (one cell of `fits_matrix`)."""
    return bool(fits_matrix([caption], Scenes.from_scene(scene))[0, 0])
