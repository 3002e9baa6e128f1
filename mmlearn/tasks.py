"""Task views of a world split as torch Datasets, one per family of task in the course.

They sit above the world (which knows no task) and below the method modules that train on them.

Each takes `inputs`: anything indexable by scene — the images as a float tensor (N, 3, H, W), or
features precomputed by the frozen backbone (N, C, h, w) / (N, D) — so the same view serves an
end-to-end model and one on cached features.

    pairs = ImageCaptionPairs(core.images_to_tensor(split.scenes.image), split.captions, vocab)
    loader = DataLoader(pairs, batch_size=128, shuffle=True, collate_fn=collate)
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from .text import Vocab, pad
from .world import ANSWERS, COLORS, PLACES, SHAPES, SIZES

ANSWER_LIST = sorted({a for answers in ANSWERS.values() for a in answers})


class ImageCaptionPairs(Dataset):
    """Every (image, caption) pair, for retrieval: item -> (input, caption ids, image index)."""

    def __init__(self, inputs, captions: list[list[str]], vocab: Vocab):
        self.inputs, self.vocab = inputs, vocab
        self.pairs = [(i, c) for i, caps in enumerate(captions) for c in caps]
        self.ids = [vocab.encode(c) for _, c in self.pairs]

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, k):
        i = self.pairs[k][0]
        return self.inputs[i], self.ids[k], i


class CaptionSequences(Dataset):
    """Image -> caption, for captioning: item -> (input, <bos> caption <eos> ids, image index).

    Each image appears once per reference caption (teacher forcing sees them all); `references(i)` gives
    all of an image's captions for BLEU.
    """

    def __init__(self, inputs, captions: list[list[str]], vocab: Vocab):
        self.inputs, self.vocab, self.captions = inputs, vocab, captions
        self.items = [(i, vocab.encode(c, bos_eos=True)) for i, caps in enumerate(captions) for c in caps]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, k):
        i, ids = self.items[k]
        return self.inputs[i], ids, i

    def references(self, i: int) -> list[list[str]]:
        return [c.split() for c in self.captions[i]]


class VQAExamples(Dataset):
    """Image + question -> answer: item -> (input, question ids, answer index into ANSWER_LIST, image index)."""

    def __init__(self, inputs, questions: list[list], vocab: Vocab, answers: list[str] = ANSWER_LIST):
        self.inputs, self.vocab, self.answers = inputs, vocab, list(answers)
        index = {a: k for k, a in enumerate(self.answers)}
        self.items = [(i, vocab.encode(q.text), index[q.answer], q.type) for i, qs in enumerate(questions) for q in qs]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, k):
        i, ids, answer, _ = self.items[k]
        return self.inputs[i], ids, answer, i

    @property
    def types(self) -> list[str]:
        return [t for *_, t in self.items]


class SceneLabels(Dataset):
    """Image -> labels: item -> (input, place index, multi-hot (len(SHAPES)+len(COLORS)+len(SIZES),) of what is present)."""

    NAMES = list(SHAPES) + list(COLORS) + list(SIZES)

    def __init__(self, inputs, scenes):
        self.inputs = inputs
        self.place = torch.as_tensor(scenes.place, dtype=torch.long)
        present = scenes.present
        hot = np.zeros((len(scenes), len(self.NAMES)), np.float32)
        rows = np.nonzero(present)[0]
        for offset, values in [(0, scenes.shape), (len(SHAPES), scenes.color), (len(SHAPES) + len(COLORS), scenes.size)]:
            hot[rows, offset + values[present]] = 1
        self.multi_hot = torch.from_numpy(hot)

    def __len__(self):
        return len(self.place)

    def __getitem__(self, i):
        return self.inputs[i], self.place[i], self.multi_hot[i]


def collate(batch):
    """Stack tensors, pad token-id lists into (B, T) with their lengths, keep ints as a LongTensor.

    (input, ids, i) items -> (inputs (B, ...), ids (B, T), lengths (B,), i (B,)).
    """
    out = []
    for field in zip(*batch):
        first = field[0]
        if torch.is_tensor(first):
            out.append(torch.stack(field))
        elif isinstance(first, list):
            out.extend(pad(field))
        else:
            out.append(torch.as_tensor(field))
    return tuple(out)


__all__ = ["ANSWER_LIST", "CaptionSequences", "ImageCaptionPairs", "PLACES", "SceneLabels", "VQAExamples",
           "collate"]
