"""CLEVR-style questions about a scene: templates, the programs that answer them, and answer balancing.

Every question is one of `QUESTION_TEMPLATES` (one per type) with its slots filled from the scene, and
carries its type, the program that computed its answer and its family (the template plus which
attributes it names). Randomness comes from the numpy Generator passed in.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .grammar import RELATIONS, describe, holds, plural, separation
from .scenes import COLORS, SHAPES, Object, Scene

QUESTION_TYPES = ("query_color", "query_shape", "count", "exists", "relation")
ANSWERS = {
    "query_color": COLORS,
    "query_shape": SHAPES,
    "count": ("0", "1", "2", "3"),
    "exists": ("yes", "no"),
    "relation": ("yes", "no"),
}
QUESTION_TEMPLATES = {
    "query_color": "what {asked} is the {ref}",       # asked: "color"; ref names the object without its colour
    "query_shape": "what {asked} is the {ref}",       # asked: "shape"; ref names it without its shape
    "count": "how many {noun} are there",             # noun: "[size] [colour] circles" or "objects"
    "exists": "is there a {noun}",                    # noun: "[size] [colour] circle" or "object"
    "relation": "is the {a} {relation} the {b}",
}
FILLERS = ("color", "shape", "object", "objects")
MIN_SEPARATION = 3.0  # pixels: closer than this along an axis, "left of" / "above" is not asked about


@dataclass
class Question:
    """A question about one scene, its type, its answer, and the program that computed it."""

    text: str
    type: str
    answer: str
    program: str
    family: str = ""  # the template: type + which attributes it names, e.g. "count(color, shape)"


def _unique_refs(scene: Scene, o: Object, options):
    """The shortest description among `options` (tuples of attribute names) that picks out only `o`."""
    for attrs in options:
        if sum(all(getattr(p, a) == getattr(o, a) for a in attrs) for p in scene.objects) == 1:
            return attrs
    return None


def _phrase(o: Object, attrs) -> str:
    return describe(o, size="size" in attrs, color="color" in attrs, shape="shape" in attrs)


def _attribute(word: str) -> str:
    return "shape" if word in SHAPES else "color" if word in COLORS else "size"


def query_questions(scene: Scene, qtype: str) -> list[Question]:
    """'what color is the square': one per object that a description without the asked attribute picks out."""
    asked = qtype.split("_")[1]  # the attribute the answer names; the reference must not use it
    options = [("shape",), ("size", "shape")] if asked == "color" else [("color",), ("size", "color")]
    out = []
    for o in scene.objects:
        ref = _unique_refs(scene, o, options)
        if ref:
            values = ", ".join(getattr(o, a) for a in ref)
            out.append(Question(QUESTION_TEMPLATES[qtype].format(asked=asked, ref=_phrase(o, ref)), qtype,
                                getattr(o, asked), f"{qtype}(unique(filter({values})))", f"{qtype}({', '.join(ref)})"))
    return out


def filter_questions(scene: Scene, qtype: str) -> list[Question]:
    """'how many red circles are there' / 'is there a small square': one per attribute filter."""
    filters = [()] if qtype == "count" else []
    filters += [(c,) for c in COLORS] + [(s,) for s in SHAPES] + [(c, s) for c in COLORS for s in SHAPES]
    filters += [(z, s) for z in ("small", "large") for s in SHAPES] if qtype == "exists" else []
    out = []
    for f in filters:
        k = sum(all(w in (o.size, o.color, o.shape) for w in f) for o in scene.objects)
        shape = f[-1] if f and f[-1] in SHAPES else None
        adjectives = [w for w in f if w != shape]
        family = f"{qtype}({', '.join(map(_attribute, f))})"
        if qtype == "count":
            noun = " ".join(adjectives + [plural(shape) if shape else "objects"])
            out.append(Question(QUESTION_TEMPLATES[qtype].format(noun=noun), qtype, str(k),
                                f"count(filter({', '.join(f)}))", family))
        else:
            noun = " ".join(adjectives + [shape or "object"])
            out.append(Question(QUESTION_TEMPLATES[qtype].format(noun=noun), qtype, "yes" if k else "no",
                                f"exists(filter({', '.join(f)}))", family))
    return out


def relation_questions(scene: Scene) -> list[Question]:
    """'is the red circle left of the square': every ordered pair of uniquely described objects, every
    relation along which their centres are at least MIN_SEPARATION apart."""
    options = [("shape",), ("color", "shape"), ("size", "color", "shape")]
    out = []
    for a in scene.objects:
        for b in scene.objects:
            ra, rb = _unique_refs(scene, a, options), _unique_refs(scene, b, options)
            if a is b or not ra or not rb:
                continue
            for rel in RELATIONS:
                if separation(rel, a, b) >= MIN_SEPARATION:
                    pa, pb = _phrase(a, ra), _phrase(b, rb)
                    out.append(Question(QUESTION_TEMPLATES["relation"].format(a=pa, relation=rel, b=pb), "relation",
                                        "yes" if holds(rel, a, b) else "no", f"relate({rel}, {pa}, {pb})",
                                        f"relation({rel})"))
    return out


def candidate_questions(scene: Scene, qtype: str) -> list[Question]:
    """Every question of one type that can be asked about this scene, with its computed answer."""
    if qtype in ("query_color", "query_shape"):
        return query_questions(scene, qtype)
    if qtype in ("count", "exists"):
        return filter_questions(scene, qtype)
    if qtype == "relation":
        return relation_questions(scene)
    raise ValueError(f"unknown question type {qtype!r}; the types are {QUESTION_TYPES}")


def questions(scene: Scene, rng: np.random.Generator, n: int = 5, counts: Counter | None = None) -> list[Question]:
    """n questions of different types, with answers balanced within each question family across scenes.

    `counts` tallies the answers given so far per (family, answer), where a family is a template such
    as "count(color, shape)"; pass the same Counter for every scene of a dataset. Each question is the
    scene's candidate whose answer has been used least so far in its family (ties broken at random) —
    CLEVR's way of balancing — so that the answer can be guessed neither from the question type nor
    from the template. (Balancing per type alone leaves the template informative: "how many objects"
    is then mostly answered 3. Counting is the one type that stays uneven: with at most three objects,
    "3" is rarely possible outside "how many objects".)
    """
    counts = Counter() if counts is None else counts
    out, seen = [], set()
    types = [QUESTION_TYPES[t] for t in rng.permutation(len(QUESTION_TYPES))]
    for qtype in (types * (n // len(types) + 1))[:n]:
        pool = [q for q in candidate_questions(scene, qtype) if q.text not in seen]
        if not pool:
            continue
        fewest = min(counts[q.family, q.answer] for q in pool)
        rarest = [q for q in pool if counts[q.family, q.answer] == fewest]
        q = rarest[rng.integers(len(rarest))]
        counts[q.family, q.answer] += 1
        seen.add(q.text)
        out.append(q)
    return out


def question_texts() -> list[str]:
    """Every word the question grammar can produce besides attribute values, relations and plurals
    (`grammar.caption_texts` lists those): the templates without their slots, fillers and answers."""
    texts = [re.sub(r"\{\w+\}", " ", t) for t in QUESTION_TEMPLATES.values()] + list(FILLERS)
    return texts + [a for answers in ANSWERS.values() for a in answers]
