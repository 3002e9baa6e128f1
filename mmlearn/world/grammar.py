"""The world's words and its caption grammar: tags, and captions computed from a scene's ground truth.

Every caption is one of `CAPTION_TEMPLATES` with its slots filled from the scene, so it is true by
construction. The words the grammar can use are listed by `grammar_texts()` from the same constants the
templates are filled from, so a new template or word cannot be missed by the vocabulary.
Randomness comes from the numpy Generator passed in.
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from .scenes import COLORS, PLACES, SHAPES, SIZES, Object, Scene

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five")
PLACE_PHRASES = {
    "beach": ("on a beach", "at the beach", "by the sea"),
    "forest": ("in a forest", "in the woods", "among the trees"),
    "city": ("in a city", "in the city", "in front of buildings"),
    "night": ("at night", "in the dark", "under the night sky"),
}
RELATIONS = ("left of", "right of", "above", "below")
POSITIONS = ("on the left", "in the middle", "on the right")  # thirds of the image, for one-object scenes
AND = " and "

# One caption per template (COCO has five per image); slots: {objects} "a small red circle and a large
# blue square", {groups} "two red circles and a blue square", {place}, {where} (a place phrase),
# {spatial} (one of SPATIAL_TEMPLATES), {be} "is"/"are", {total} "two objects".
CAPTION_TEMPLATES = (
    "{objects} {where}",
    "{groups} {where}",
    "a {place} scene with {objects}",
    "{spatial}",
    "there {be} {total} {where}: {objects}",
    "a picture of {groups} {where}",
)
SPATIAL_TEMPLATES = {
    "relation": "a {a} {relation} a {b} {where}",   # two objects: colour + shape of each, and where a is
    "position": "a {a} {position} {where}",         # one object: its full description and its third
}
FILLERS = ("is", "are", "object", "objects", "a")   # the words slots add besides attribute values


def plural(shape: str) -> str:
    return shape + ("es" if shape.endswith("s") else "s")


def describe(obj: Object, size=True, color=True, shape=True) -> str:
    """'small red circle' (or a part of it; 'object' when the shape is left out)."""
    words = ([obj.size] if size else []) + ([obj.color] if color else []) + [obj.shape if shape else "object"]
    return " ".join(words)


def with_article(phrase: str) -> str:
    return "a " + phrase


def join(items: list[str]) -> str:
    """['a', 'b', 'c'] -> 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + AND + items[-1]


def relation(a: Object, b: Object) -> str:
    """Where a is relative to b, along the axis where they differ most: 'left of', 'right of', 'above', 'below'."""
    dx, dy = a.x - b.x, a.y - b.y
    if abs(dx) >= abs(dy):
        return "left of" if dx < 0 else "right of"
    return "above" if dy < 0 else "below"


def holds(rel: str, a: Object, b: Object) -> bool:
    """Whether `a rel b` is true: comparison of centres (y grows downwards)."""
    return {"left of": a.x < b.x, "right of": a.x > b.x, "above": a.y < b.y, "below": a.y > b.y}[rel]


def separation(rel: str, a: Object, b: Object) -> float:
    return abs(a.x - b.x) if rel in ("left of", "right of") else abs(a.y - b.y)


def position(obj: Object, width: int) -> str:
    """The horizontal third of the image the object's centre lies in: one of POSITIONS."""
    return POSITIONS[0] if obj.x < width / 3 else POSITIONS[2] if obj.x > 2 * width / 3 else POSITIONS[1]


# ----------------------------------------------------------------------------------------- tags, captions
def tags(scene: Scene) -> list[str]:
    """The attribute words present in the scene: place, sizes, colours and shapes, sorted."""
    words = {scene.place}
    for o in scene.objects:
        words |= {o.size, o.color, o.shape}
    return sorted(words)


def left_to_right(scene: Scene) -> list[Object]:
    return sorted(scene.objects, key=lambda o: o.x)


def counted_groups(scene: Scene) -> str:
    """'two red circles and a blue square': objects grouped by colour and shape, in left-to-right order."""
    groups = Counter((o.color, o.shape) for o in left_to_right(scene))
    parts = [f"a {c} {s}" if k == 1 else f"{NUMBER_WORDS[k]} {c} {plural(s)}" for (c, s), k in groups.items()]
    return join(parts)


def captions(scene: Scene, rng: np.random.Generator, n: int = 5) -> list[str]:
    """n different reference captions, each from another of CAPTION_TEMPLATES, in template order."""
    where = PLACE_PHRASES[scene.place][rng.integers(3)]
    objs = left_to_right(scene)
    k = len(objs)
    if k >= 2:
        i, j = rng.choice(k, 2, replace=False)
        a, b = objs[i], objs[j]
        spatial = SPATIAL_TEMPLATES["relation"].format(a=describe(a, size=False), relation=relation(a, b),
                                                       b=describe(b, size=False), where=where)
    else:
        spatial = SPATIAL_TEMPLATES["position"].format(a=describe(objs[0]), where=where,
                                                       position=position(objs[0], objs[0].mask.shape[1]))
    slots = dict(objects=join([with_article(describe(o)) for o in objs]), groups=counted_groups(scene),
                 place=scene.place, where=where, spatial=spatial, be="are" if k > 1 else "is",
                 total=f"{NUMBER_WORDS[k]} object{'s' if k > 1 else ''}")
    order = rng.permutation(len(CAPTION_TEMPLATES))[:n]
    return [CAPTION_TEMPLATES[t].format(**slots) for t in sorted(order)]


def caption_texts() -> list[str]:
    """Every word the caption grammar can produce, as short texts: the templates without their slots and
    every value a slot can take."""
    templates = list(CAPTION_TEMPLATES) + list(SPATIAL_TEMPLATES.values())
    texts = [re.sub(r"\{\w+\}", " ", t) for t in templates]
    texts += list(PLACES) + list(SHAPES) + [plural(s) for s in SHAPES] + list(COLORS) + list(SIZES)
    texts += list(NUMBER_WORDS) + list(RELATIONS) + list(POSITIONS) + list(FILLERS) + [AND]
    return texts + [p for ps in PLACE_PHRASES.values() for p in ps]
