"""Visual question answering (notebook 05): image + question -> answer, and the baselines it must beat.

    qs = QuestionSet.from_world(train.questions, vocab, ANSWER_LIST)       # questions as tensors
    model = VQAModel(QuestionEncoder(len(vocab)), QuestionAttention(64, 256), fusion.Product(64, 256, 256),
                     256, len(ANSWER_LIST))
    logits, where = model(grid[qs.image], qs.ids, qs.lengths)               # where: attention over cells
    fit(model, lambda m, b: vqa_loss(m, grid, b), batches_of(qs.image, qs.ids, qs.lengths, qs.answer, ...), ...)

Blind baselines: `QuestionPrior` (the most frequent answer per question type, or per exact question)
and `QuestionOnly` (the same question encoder, no image); `ImageOnly` sees the image but not the question.
A model that never sees the image can still be right: "is there a ..." is "no" more often than not in
real data, "what colour is the banana" is "yellow". Goyal et al. (VQA v2, 2017) balanced the answers for
that reason; the world balances them per question family, and these baselines measure what is left.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from .core import grid_to_cells, in_batches, inference
from .metrics import normalize_answer
from .text import Vocab, pad
from .world import QUESTION_TYPES


def _type_order(qtype: str):
    return (QUESTION_TYPES.index(qtype) if qtype in QUESTION_TYPES else len(QUESTION_TYPES), qtype)


@dataclass
class QuestionPrior:
    """Answer counts per question type and per exact question text, fitted on training questions."""

    by_type: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    by_text: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    @classmethod
    def fit(cls, questions: list[list]) -> "QuestionPrior":
        """questions: per scene, a list of objects with .text, .type and .answer (world Questions)."""
        prior = cls()
        for qs in questions:
            for q in qs:
                prior.by_type[q.type][q.answer] += 1
                prior.by_text[q.text][q.answer] += 1
        return prior

    def predict(self, question, by: str = "type") -> str:
        """The most frequent training answer of the question's type (by="type") or of its exact text,
        falling back to its type for a question never seen in training (by="text")."""
        if by not in ("type", "text"):
            raise ValueError(f"by is 'type' or 'text', not {by!r}")
        if by == "text" and question.text in self.by_text:
            return self.by_text[question.text].most_common(1)[0][0]
        if question.type not in self.by_type:
            raise KeyError(f"no training question of type {question.type!r}")
        return self.by_type[question.type].most_common(1)[0][0]

    def accuracy(self, questions: list[list], by: str = "type") -> dict[str, float]:
        """Exact-match accuracy per question type, and over all questions ("all")."""
        flat = [q for qs in questions for q in qs]
        return accuracy_by_type([self.predict(q, by) for q in flat], [q.answer for q in flat], [q.type for q in flat])


# ----------------------------------------------------------------------------------------- data
@dataclass
class QuestionSet:
    """Questions as tensors, one row per question: which image it asks about, its words, its answer.

    image (Q,) index into the split's features; ids (Q, T) padded with <pad>; lengths (Q,);
    answer (Q,) index into `answers` (-1 for an answer outside the list); types and texts (Q,) lists.
    """

    image: torch.Tensor
    ids: torch.Tensor
    lengths: torch.Tensor
    answer: torch.Tensor
    types: list[str]
    texts: list[str]

    def __len__(self) -> int:
        return len(self.image)

    @classmethod
    def build(cls, image: list[int], texts: list[str], answers: list[str], types: list[str], vocab: Vocab,
              answer_list: list[str]) -> "QuestionSet":
        """From aligned lists (e.g. read back from VQA v2 files); unknown words become <unk>."""
        if not (len(image) == len(texts) == len(answers) == len(types)):
            raise ValueError(f"misaligned lists: {len(image)} images, {len(texts)} texts, {len(answers)} answers, "
                             f"{len(types)} types")
        index = {a: k for k, a in enumerate(answer_list)}
        ids, lengths = pad([vocab.encode(t) for t in texts])
        return cls(torch.as_tensor(image, dtype=torch.long), ids, lengths,
                   torch.tensor([index.get(a, -1) for a in answers], dtype=torch.long), list(types), list(texts))

    @classmethod
    def from_world(cls, questions: list[list], vocab: Vocab, answer_list: list[str]) -> "QuestionSet":
        """From a world split's questions (per scene, a list of `Question`)."""
        rows = [(i, q) for i, qs in enumerate(questions) for q in qs]
        return cls.build([i for i, _ in rows], [q.text for _, q in rows], [q.answer for _, q in rows],
                         [q.type for _, q in rows], vocab, answer_list)


# ----------------------------------------------------------------------------------------- encoders
class QuestionEncoder(nn.Module):
    """Antol et al.'s "deeper LSTM Q": word embeddings -> tanh -> a `layers`-deep LSTM; the question
    vector is the final hidden *and* cell state of every layer, concatenated.

    ids (B, T) padded, lengths (B,) -> (B, out_dim), out_dim = 2 * layers * hidden.
    """

    def __init__(self, vocab_size: int, embed: int = 64, hidden: int = 64, layers: int = 2, dropout: float = 0.1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=0)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.out_dim = 2 * layers * hidden

    def forward(self, ids, lengths):
        words = torch.tanh(self.drop(self.embed(ids)))
        packed = pack_padded_sequence(words, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        _, (h, c) = self.lstm(packed)                       # each (layers, B, hidden)
        return torch.cat([h, c], dim=0).transpose(0, 1).flatten(1)


def cells(grid: torch.Tensor) -> torch.Tensor:
    """Backbone grid (B, C, h, w) -> L2-normalised cell vectors (B, h*w, C) (Antol normalises the image)."""
    return F.normalize(grid_to_cells(grid), dim=-1)


class MeanPool(nn.Module):
    """The question-blind look: every cell weighs the same. cells (B, L, C), q (B, Dq) -> (B, C), weights (B, L)."""

    def forward(self, cells, q):
        weights = cells.new_full(cells.shape[:2], 1.0 / cells.shape[1])
        return F.normalize(cells.mean(dim=1), dim=-1), weights


class QuestionAttention(nn.Module):
    """One hop of stacked attention (Yang et al. 2016): the question chooses where to look.

        h_i = tanh(W_v v_i + W_q q),   p = softmax_i(w · h_i),   ṽ = Σ_i p_i v_i

    cells (B, L, C), q (B, Dq) -> attended vector ṽ (B, C), attention p (B, L).
    """

    def __init__(self, dim_cell: int, dim_q: int, hidden: int = 64):
        super().__init__()
        self.cell_proj, self.q_proj = nn.Linear(dim_cell, hidden), nn.Linear(dim_q, hidden)
        self.score = nn.Linear(hidden, 1)

    def forward(self, cells, q):
        p = self.score(torch.tanh(self.cell_proj(cells) + self.q_proj(q).unsqueeze(1))).squeeze(2).softmax(dim=1)
        return (p.unsqueeze(2) * cells).sum(dim=1), p


# ----------------------------------------------------------------------------------------- models
class VQAModel(nn.Module):
    """Image + question -> answer logits: look at the image (`look`, which may use the question), fuse the
    image vector with the question vector (`fuse`, any operator of `mmlearn.fusion`), classify.

    grid (B, C, h, w) backbone features, ids (B, T), lengths (B,) -> logits (B, n_answers), where it
    looked (B, h*w).
    """

    def __init__(self, question: QuestionEncoder, look: nn.Module, fuse: nn.Module, fused_dim: int,
                 n_answers: int, dropout: float = 0.2):
        super().__init__()
        self.question, self.look, self.fuse = question, look, fuse
        self.classify = nn.Sequential(nn.Dropout(dropout), nn.Linear(fused_dim, n_answers))

    def forward(self, grid, ids, lengths):
        q = self.question(ids, lengths)
        v, where = self.look(cells(grid), q)
        return self.classify(self.fuse(v, q)), where


class QuestionOnly(nn.Module):
    """The blind baseline: the same question encoder, no image. (grid ignored) -> logits (B, A), None."""

    def __init__(self, question: QuestionEncoder, n_answers: int, hidden: int = 256, dropout: float = 0.2):
        super().__init__()
        self.question = question
        self.classify = nn.Sequential(nn.Linear(question.out_dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                                      nn.Linear(hidden, n_answers))

    def forward(self, grid, ids, lengths):
        return self.classify(self.question(ids, lengths)), None


class ImageOnly(nn.Module):
    """The deaf baseline: the pooled image, no question. grid (B, C, h, w) -> logits (B, A), None."""

    def __init__(self, channels: int, n_answers: int, hidden: int = 256, dropout: float = 0.2):
        super().__init__()
        self.classify = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Dropout(dropout),
                                      nn.Linear(hidden, n_answers))

    def forward(self, grid, ids, lengths):
        return self.classify(F.normalize(grid.mean(dim=(2, 3)), dim=-1)), None


def coordinates(h: int, w: int) -> torch.Tensor:
    """(2, h, w): x and y of every cell centre, in [-1, 1] (FiLM and relation networks append them)."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    return torch.stack([xs, ys])


class FiLMBlock(nn.Module):
    """A residual block whose normalised features the question scales and shifts (Perez et al. 2018):

        x -> conv1x1 -> ReLU -> conv3x3 -> BatchNorm (no affine) -> γ ⊙ · + β -> ReLU -> + x

    x (B, D, h, w), gamma and beta (B, D) -> (B, D, h, w).
    """

    def __init__(self, dim: int):
        super().__init__()
        self.conv1 = nn.Conv2d(dim + 2, dim, 1)
        self.conv2 = nn.Conv2d(dim, dim, 3, padding=1)
        self.norm = nn.BatchNorm2d(dim, affine=False)

    def forward(self, x, gamma, beta):
        coords = coordinates(*x.shape[2:]).to(x).expand(len(x), -1, -1, -1)
        h = F.relu(self.conv1(torch.cat([x, coords], dim=1)))
        h = self.norm(self.conv2(h)) * gamma[:, :, None, None] + beta[:, :, None, None]
        return x + F.relu(h)


class FiLMNet(nn.Module):
    """A relational model that fits a CPU budget: FiLM (Perez et al. 2018). The question modulates every
    block of a small CNN over the grid (with cell coordinates as extra channels), so "left of the
    *square*" can switch on the square's cells, and later convolutions compare positions.

    grid (B, C, h, w), ids (B, T), lengths (B,) -> logits (B, n_answers), None.
    """

    def __init__(self, question: QuestionEncoder, channels: int, n_answers: int, dim: int = 64, blocks: int = 2,
                 hidden: int = 256, dropout: float = 0.2):
        super().__init__()
        self.question = question
        self.stem = nn.Sequential(nn.Conv2d(channels + 2, dim, 3, padding=1), nn.BatchNorm2d(dim), nn.ReLU())
        self.film = nn.Linear(question.out_dim, 2 * dim * blocks)   # a (γ, β) pair per block
        self.blocks = nn.ModuleList(FiLMBlock(dim) for _ in range(blocks))
        self.head = nn.Sequential(nn.Conv2d(dim + 2, 128, 1), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                                  nn.Linear(128, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_answers))

    def forward(self, grid, ids, lengths):
        coords = coordinates(*grid.shape[2:]).to(grid).expand(len(grid), -1, -1, -1)
        x = self.stem(torch.cat([grid, coords], dim=1))
        params = self.film(self.question(ids, lengths)).chunk(2 * len(self.blocks), dim=1)
        for k, block in enumerate(self.blocks):
            x = block(x, 1 + params[2 * k], params[2 * k + 1])     # γ around 1 at the start
        return self.head(torch.cat([x, coords], dim=1)), None


# ----------------------------------------------------------------------------------------- training
def vqa_loss(model: nn.Module, grid: torch.Tensor, batch) -> torch.Tensor:
    """Cross-entropy of the true answer. batch = (image index (B,), ids (B, T), lengths (B,), answer (B,))
    as `batches_of(qs.image, qs.ids, qs.lengths, qs.answer)` yields; grid (N, C, h, w) is the split's."""
    image, ids, lengths, answer = batch
    logits, _ = model(grid[image.to(grid.device)], ids, lengths)
    return F.cross_entropy(logits, answer)


@torch.no_grad()
def predict(model: nn.Module, grid: torch.Tensor, qs: QuestionSet, batch_size: int = 1024, device=None):
    """Answer probabilities (Q, A) and where the model looked (Q, L) or None, for every question of `qs`."""
    device = device or next(model.parameters()).device

    def answer(image: torch.Tensor, ids: torch.Tensor, lengths: torch.Tensor):
        logits, where = model(grid[image].to(device), ids.to(device), lengths.to(device))
        return logits.softmax(dim=1), where

    with inference(model):
        return in_batches(answer, qs.image, qs.ids, qs.lengths, batch_size=batch_size)


def accuracy_by_type(predicted: list[str], truth: list[str], types: list[str]) -> dict[str, float]:
    """Exact-match accuracy per question type, in QUESTION_TYPES order, and over all questions ("all")."""
    hits = defaultdict(list)
    for p, t, k in zip(predicted, truth, types):
        hits[k].append(p == t)
    out = {k: float(np.mean(hits[k])) for k in sorted(hits, key=_type_order)}
    out["all"] = float(np.mean([p == t for p, t in zip(predicted, truth)])) if truth else float("nan")
    return out


@torch.no_grad()
def ask(model: nn.Module, grid: torch.Tensor, vocab: Vocab, text: str, answers: list[str], k: int = 5):
    """Ask one question about one image: grid (C, h, w) -> (top-k [(answer, probability)], where the model
    looked (h*w,) or None, the words of `text` the vocabulary does not know (read as <unk>))."""
    ids = torch.tensor([vocab.encode(text) or [Vocab.UNK]])
    device = next(model.parameters()).device
    probs, where = predict(model, grid[None], QuestionSet(torch.zeros(1, dtype=torch.long), ids,
                                                          torch.tensor([ids.shape[1]]), torch.zeros(1, dtype=torch.long),
                                                          ["?"], [text]), device=device)
    top = probs[0].topk(min(k, len(answers)))
    return ([(answers[i], float(p)) for p, i in zip(top.values, top.indices)],
            None if where is None else where[0], vocab.unknown_words(text))


# ----------------------------------------------------------------------------------------- real VQA v2
def top_answers(answers: list[str], k: int = 3_000) -> list[str]:
    """The k most frequent (normalised) answers, most frequent first: the answer list of a VQA v2 model
    (the top 3,000 `multiple_choice_answer`s of train cover about 90 % of the questions)."""
    return [a for a, _ in Counter(normalize_answer(a) for a in answers).most_common(k)]


def soft_targets(human_answers: list[list[str]], answer_list: list[str]) -> torch.Tensor:
    """(Q, A) training targets from the ten human answers of each question: answer a scores
    min(#humans who gave a / 3, 1) (normalised answers; answers outside the list are dropped), trained with
    a sigmoid binary cross-entropy, as public VQA v2 models do."""
    index = {a: k for k, a in enumerate(answer_list)}
    out = torch.zeros(len(human_answers), len(answer_list))
    for q, humans in enumerate(human_answers):
        for a, n in Counter(normalize_answer(h) for h in humans).items():
            if a in index:
                out[q, index[a]] = min(n / 3, 1.0)
    return out
