"""The shared synthetic world: scenes with exact ground truth, and language about them.

The bottom layer of the package: it imports nothing else of mmlearn (a test checks it).
scenes.py draws scenes; grammar.py (captions) and clevr.py (questions) are the grammars that describe and question them;
sounds.py and speech.py give scenes their sounds and speakers their faces.

    from mmlearn.world import World
    world = World()                       # 32x32 scenes, up to 3 objects, seed 0
    train = world.split("train", 5_000)   # scenes + 5 captions, 5 questions and tags per scene
    train.scenes[0].objects, train.captions[0], train.questions[0]

Splits are deterministic: the same world and split give byte-identical data, and a shorter split is
the beginning of a longer one (scenes are made in full chunks of 1,000, each from its own seeded
generator, and cut to length).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .grammar import caption_texts, captions, tags
from .clevr import ANSWERS, QUESTION_TYPES, Question, question_texts, questions
from .scenes import COLORS, PLACES, SHAPES, SIZES, Object, Scene, Scenes, render_scenes

SPLITS = ("train", "val", "test", "compositional")
# (shape, colour) pairs never seen in train/val/test; every "compositional" scene has one (as object 0).
HELD_OUT_PAIRS = (("circle", "green"), ("square", "purple"), ("triangle", "white"),
                  ("diamond", "yellow"), ("cross", "blue"))
CHUNK = 1000
VERSION = 2  # bump when the same seed starts giving different data (caches of derived data key on it)


@dataclass
class WorldSplit:
    """N scenes and their language: captions (N lists of 5), questions (N lists), tags (N lists)."""

    name: str
    scenes: Scenes
    captions: list[list[str]]
    questions: list[list[Question]]
    tags: list[list[str]]

    def __len__(self) -> int:
        return len(self.scenes)


class World:
    """A seeded generator of aligned scenes and language. See the module docstring."""

    def __init__(self, size: int = 32, max_objects: int = 3, seed: int = 0, held_out=HELD_OUT_PAIRS,
                 captions_per_scene: int = 5, questions_per_scene: int = 5):
        if size < 16:
            raise ValueError(f"size {size} is too small to draw {max_objects} objects; use 32, 48 or 64")
        self.size, self.max_objects, self.seed = size, max_objects, seed
        self.held_out = tuple(held_out)
        self.captions_per_scene, self.questions_per_scene = captions_per_scene, questions_per_scene

    def __repr__(self) -> str:
        return f"World(size={self.size}, max_objects={self.max_objects}, seed={self.seed})"

    def _chunk(self, split: str, index: int, n: int, language: bool = True) -> WorldSplit:
        """Scenes index*CHUNK ... index*CHUNK + n - 1 of a split: a full chunk is drawn, then cut to n."""
        rng = np.random.default_rng([self.seed, SPLITS.index(split), index])
        forced = self.held_out if split == "compositional" else ()
        full = render_scenes(rng, CHUNK, self.size, self.max_objects, banned_pairs=self.held_out if not forced else (),
                             forced_pairs=forced)
        scenes = Scenes(*(getattr(full, f)[:n] for f in Scenes.__dataclass_fields__))
        if not language:
            return WorldSplit(split, scenes, [], [], [])
        caps, qs = [], []
        answer_counts = Counter()  # balances answers across the chunk's scenes
        for s in scenes:  # scene by scene, so that scene i's language depends on scenes <= i only
            caps.append(captions(s, rng, self.captions_per_scene))
            qs.append(questions(s, rng, self.questions_per_scene, answer_counts))
        return WorldSplit(split, scenes, caps, qs, [tags(s) for s in scenes])

    def split(self, name: str, n: int, language: bool = True) -> WorldSplit:
        """The first n scenes of split `name` ('train', 'val', 'test' or 'compositional') with their language.

        language=False skips captions, questions and tags (faster; the scenes are the same).
        """
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; choose one of {SPLITS}")
        if n < 1:
            raise ValueError(f"a split needs at least one scene, got n={n}")
        chunks = [self._chunk(name, i, min(CHUNK, n - i * CHUNK), language) for i in range(-(-n // CHUNK))]
        return WorldSplit(name, Scenes.concat([c.scenes for c in chunks]),
                          [c for ch in chunks for c in ch.captions], [q for ch in chunks for q in ch.questions],
                          [t for ch in chunks for t in ch.tags])


def grammar_texts() -> list[str]:
    """Every word the world can say (captions, questions, answers), as short texts, derived from its
    grammars; `mmlearn.text.world_vocab()` tokenizes them into the course's vocabulary."""
    return caption_texts() + question_texts()


__all__ = ["ANSWERS", "COLORS", "HELD_OUT_PAIRS", "PLACES", "QUESTION_TYPES", "SHAPES", "SIZES", "SPLITS",
           "Object", "Question", "Scene", "Scenes", "World", "WorldSplit", "captions", "grammar_texts",
           "questions", "render_scenes", "tags"]
