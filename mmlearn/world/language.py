"""Language about scenes: tags, captions from a small grammar, CLEVR-style questions, and a vocabulary.

Every sentence is computed from a scene's ground truth, so it is true by construction; questions
carry a type and a program-computed answer. Randomness comes from the numpy Generator passed in.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from .scenes import COLORS, SHAPES, Object, Scene

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five")
PLACE_PHRASES = {
    "beach": ("on a beach", "at the beach", "by the sea"),
    "forest": ("in a forest", "in the woods", "among the trees"),
    "city": ("in a city", "in the city", "in front of buildings"),
    "night": ("at night", "in the dark", "under the night sky"),
}
RELATIONS = ("left of", "right of", "above", "below")
QUESTION_TYPES = ("query_color", "query_shape", "count", "exists", "relation")
ANSWERS = {
    "query_color": COLORS,
    "query_shape": SHAPES,
    "count": ("0", "1", "2", "3"),
    "exists": ("yes", "no"),
    "relation": ("yes", "no"),
}
MIN_SEPARATION = 3.0  # pixels: closer than this along an axis, "left of" / "above" is not asked about


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
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


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
    """n different reference captions (COCO has 5), each from another template of the grammar."""
    where = PLACE_PHRASES[scene.place][rng.integers(3)]
    objs = left_to_right(scene)
    full = [with_article(describe(o)) for o in objs]
    k = len(objs)
    if k >= 2:
        i, j = rng.choice(k, 2, replace=False)
        a, b = objs[i], objs[j]
        spatial = f"a {describe(a, size=False)} {relation(a, b)} a {describe(b, size=False)} {where}"
    else:
        o, width = objs[0], objs[0].mask.shape[1]
        horizontal = "on the left" if o.x < width / 3 else "on the right" if o.x > 2 * width / 3 else "in the middle"
        spatial = f"a {describe(o)} {horizontal} {where}"
    total = f"{NUMBER_WORDS[k]} object{'s' if k > 1 else ''}"
    templates = [
        f"{join(full)} {where}",
        f"{counted_groups(scene)} {where}",
        f"a {scene.place} scene with {join(full)}",
        spatial,
        f"there {'are' if k > 1 else 'is'} {total} {where}: {join(full)}",
        f"a picture of {counted_groups(scene)} {where}",
    ]
    order = rng.permutation(len(templates))[:n]
    return [templates[t] for t in sorted(order)]


# ----------------------------------------------------------------------------------------- questions
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


def candidate_questions(scene: Scene, qtype: str) -> list[Question]:
    """Every question of one type that can be asked about this scene, with its computed answer."""
    objs = scene.objects
    out = []
    if qtype in ("query_color", "query_shape"):
        asked = qtype.split("_")[1]  # the attribute the answer names; the reference must not use it
        options = [("shape",), ("size", "shape")] if asked == "color" else [("color",), ("size", "color")]
        for o in objs:
            ref = _unique_refs(scene, o, options)
            if ref:
                values = ", ".join(getattr(o, a) for a in ref)
                out.append(Question(f"what {asked} is the {_phrase(o, ref)}", qtype, getattr(o, asked),
                                    f"{qtype}(unique(filter({values})))", f"{qtype}({', '.join(ref)})"))
    elif qtype in ("count", "exists"):
        filters = [()] if qtype == "count" else []
        filters += [(c,) for c in COLORS] + [(s,) for s in SHAPES] + [(c, s) for c in COLORS for s in SHAPES]
        filters += [(z, s) for z in ("small", "large") for s in SHAPES] if qtype == "exists" else []
        for f in filters:
            k = sum(all(w in (o.size, o.color, o.shape) for w in f) for o in objs)
            shape = f[-1] if f and f[-1] in SHAPES else None
            adjectives = " ".join(w for w in f if w != shape)
            family = f"{qtype}({', '.join('shape' if w in SHAPES else 'color' if w in COLORS else 'size' for w in f)})"
            if qtype == "count":
                noun = plural(shape) if shape else "objects"
                text = f"how many {adjectives + ' ' if adjectives else ''}{noun} are there"
                out.append(Question(text, qtype, str(k), f"count(filter({', '.join(f)}))", family))
            else:
                noun = shape or "object"
                out.append(Question(f"is there a {adjectives + ' ' if adjectives else ''}{noun}", qtype,
                                    "yes" if k else "no", f"exists(filter({', '.join(f)}))", family))
    elif qtype == "relation":
        options = [("shape",), ("color", "shape"), ("size", "color", "shape")]
        for a in objs:
            for b in objs:
                ra, rb = _unique_refs(scene, a, options), _unique_refs(scene, b, options)
                if a is b or not ra or not rb:
                    continue
                for rel in RELATIONS:
                    if separation(rel, a, b) >= MIN_SEPARATION:
                        out.append(Question(f"is the {_phrase(a, ra)} {rel} the {_phrase(b, rb)}", qtype,
                                            "yes" if holds(rel, a, b) else "no",
                                            f"relate({rel}, {_phrase(a, ra)}, {_phrase(b, rb)})", f"relation({rel})"))
    else:
        raise ValueError(f"unknown question type {qtype!r}; the types are {QUESTION_TYPES}")
    return out


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


# ----------------------------------------------------------------------------------------- vocabulary
TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-case words and numbers; punctuation dropped."""
    return TOKEN.findall(text.lower())


class Vocab:
    """Word <-> id. Ids 0..3 are <pad> <bos> <eos> <unk>; unknown words map to <unk>."""

    SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
    PAD, BOS, EOS, UNK = 0, 1, 2, 3

    def __init__(self, words):
        self.itos = list(self.SPECIALS) + sorted(set(words) - set(self.SPECIALS))
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    @classmethod
    def build(cls, texts, min_count: int = 1) -> "Vocab":
        counts = Counter(w for t in texts for w in tokenize(t))
        return cls(w for w, c in counts.items() if c >= min_count)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def encode(self, text: str, bos_eos: bool = False) -> list[int]:
        ids = [self.stoi.get(w, self.UNK) for w in tokenize(text)]
        return [self.BOS] + ids + [self.EOS] if bos_eos else ids

    def unknown_words(self, text: str) -> list[str]:
        """The words of `text` this vocabulary does not know (shown to learners typing free text)."""
        return [w for w in tokenize(text) if w not in self.stoi]

    def decode(self, ids) -> str:
        """Ids -> text; stops at <eos>, skips <pad>/<bos>."""
        words = []
        for i in (ids.tolist() if torch.is_tensor(ids) else ids):
            if i == self.EOS:
                break
            if i not in (self.PAD, self.BOS):
                words.append(self.itos[i])
        return " ".join(words)

    def to_json(self) -> str:
        return json.dumps(self.itos)

    @classmethod
    def from_json(cls, text: str) -> "Vocab":
        itos = json.loads(text)
        if itos[: len(cls.SPECIALS)] != list(cls.SPECIALS):
            raise ValueError(f"a Vocab's JSON must start with {cls.SPECIALS}")
        vocab = cls(itos[len(cls.SPECIALS):])
        vocab.itos, vocab.stoi = itos, {w: i for i, w in enumerate(itos)}
        return vocab


def pad(sequences, pad_id: int = Vocab.PAD) -> tuple[torch.Tensor, torch.Tensor]:
    """List of id lists -> (B, T) LongTensor padded with pad_id, and (B,) lengths."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    out = torch.full((len(sequences), int(lengths.max()) if len(sequences) else 0), pad_id, dtype=torch.long)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return out, lengths


# ----------------------------------------------------------------------------------------- caption semantics
def encode_captions(vocab: Vocab, captions: list[list[str]], bos_eos: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """N images x C captions each -> ids (N, C, T) padded with <pad> = 0, and lengths (N, C).
    bos_eos: wrap every caption in <bos> ... <eos> (lengths count them), as a decoder is trained on."""
    flat = [vocab.encode(c, bos_eos=bos_eos) for caps in captions for c in caps]
    ids, lengths = pad(flat)
    n, c = len(captions), len(captions[0])
    return ids.view(n, c, -1), lengths.view(n, c)


PLACE_WORDS = {"beach": "beach", "sea": "beach", "forest": "forest", "woods": "forest", "trees": "forest",
               "city": "city", "buildings": "city", "night": "night", "dark": "night"}
COUNT_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3}
SHAPE_NOUNS = {s: s for s in SHAPES} | {plural(s): s for s in SHAPES}   # "circles" -> "circle"


def noun_phrase(words: list[str], i: int) -> tuple[int, str | None, str | None, str] | None:
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
    objects: list[tuple[int, str | None, str | None, str]]
    relation: str | None = None
    position: str | None = None
    total: int | None = None

    @property
    def exhaustive(self) -> bool:
        return self.relation is None and self.position is None


def parse_caption(caption: str) -> CaptionMeaning:
    """Read a caption of the world's grammar back into its meaning (see `caption_fits`)."""
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


def caption_fits(caption: str, scene: Scene) -> bool:
    """Whether a caption is true of a scene: its place, and its objects — all of them (a list), or the
    two it relates, or the one it places left / right / in the middle. (One cell of `fits_matrix`.)"""
    from .scenes import Scenes

    return bool(fits_matrix([caption], Scenes.from_scene(scene))[0, 0])


def fits_matrix(captions: list[str], scenes) -> np.ndarray:
    """(Q, N) bool: whether caption q is true of scene n, for every pair, vectorised over the scenes.

    A caption fits when its place matches and: for a relation ("a red circle left of a blue cross"),
    some two different objects fit the two descriptions and the relation holds between their centres;
    for a position ("... on the left"), some object fits and lies in that third of the image; otherwise
    the caption lists *all* objects, so their number and a one-to-one match must agree.
    """
    from itertools import permutations

    from .scenes import PLACES, SIZES

    n, k = scenes.shape.shape
    width = scenes.image.shape[2]
    x, y = scenes.center[..., 0], scenes.center[..., 1]
    count = scenes.present.sum(1)
    out = np.zeros((len(captions), n), bool)
    cache = {}
    for q, caption in enumerate(captions):
        meaning = parse_caption(caption)
        key = (meaning.place, tuple(meaning.objects), meaning.relation, meaning.position, meaning.total)
        if key in cache:
            out[q] = cache[key]
            continue
        ok = np.ones(n, bool)
        if meaning.place is not None:
            ok &= scenes.place == PLACES.index(meaning.place)
        if meaning.total is not None:
            ok &= count == meaning.total

        def match(desc):  # (N, K) objects fitting one description
            _, size, color, shape = desc
            m = scenes.present & (scenes.shape == SHAPES.index(shape))
            if color is not None:
                m &= scenes.color == COLORS.index(color)
            if size is not None:
                m &= scenes.size == SIZES.index(size)
            return m

        if meaning.relation is not None and len(meaning.objects) >= 2:
            a, b = match(meaning.objects[0]), match(meaning.objects[1])
            rel = {"left of": x[:, :, None] < x[:, None, :], "right of": x[:, :, None] > x[:, None, :],
                   "above": y[:, :, None] < y[:, None, :], "below": y[:, :, None] > y[:, None, :]}[meaning.relation]
            ok &= (a[:, :, None] & b[:, None, :] & rel & ~np.eye(k, dtype=bool)).any((1, 2))
        elif meaning.relation is not None:
            ok[:] = False
        elif meaning.position is not None:
            where = {"left": x < width / 3, "right": x > 2 * width / 3,
                     "middle": (x >= width / 3) & (x <= 2 * width / 3)}[meaning.position]
            ok &= np.logical_or.reduce([match(d) & where for d in meaning.objects]).any(1)
        else:
            slots = [d for d in meaning.objects for _ in range(d[0])]
            if len(slots) > k:
                ok[:] = False
            else:
                masks = [match(d) for d in slots]
                assigned = np.zeros(n, bool)
                for order in permutations(range(k), len(slots)):
                    fit = np.ones(n, bool)
                    for m, slot in zip(masks, order):
                        fit &= m[:, slot]
                    assigned |= fit
                ok &= assigned & (count == len(slots))
        cache[key] = ok
        out[q] = ok
    return out
