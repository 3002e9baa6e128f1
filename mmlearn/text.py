"""Text as ids: the course's one tokenizer, one vocabulary and one set of special ids.

    from mmlearn.text import Vocab, world_vocab, encode_captions, pad, tokenize
    vocab = world_vocab()                                  # every word the world can say, + <pad> <bos> <eos> <unk>
    vocab.encode("a red circle", bos_eos=True)             # [BOS, id("a"), id("red"), id("circle"), EOS]
    ids, lengths = pad([vocab.encode(t) for t in texts])   # (B, T) padded with Vocab.PAD, (B,)

Word2vec (notebook 02) uses the same two pieces with other settings: `tokenize(line, letters_only=True)`
for its English corpus, and `Vocab.from_counts(...)` — most frequent first, with counts, no specials.
"""
from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
import torch

from . import world

WORDS_AND_NUMBERS = re.compile(r"[a-z0-9]+")
LETTERS = re.compile(r"[a-z]+")


def tokenize(text: str, letters_only: bool = False) -> list[str]:
    """Lower-case words and numbers, punctuation dropped: "Is there a 2nd cube?" -> [is, there, a, 2nd, cube].

    letters_only: keep alphabetic runs only ("Let there be light: 1:3" -> [let, there, be, light]), as
    word2vec's corpus is read."""
    return (LETTERS if letters_only else WORDS_AND_NUMBERS).findall(text.lower())


class Vocab:
    """Word <-> id, with optional corpus counts.

    With the default specials, ids 0..3 are <pad> <bos> <eos> <unk> (the class constants PAD, BOS, EOS,
    UNK) and unknown words map to <unk>. With specials=() (word2vec), ids are plain word ranks and
    unknown words are dropped when encoding, as word2vec.c drops them.
    """

    SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
    PAD, BOS, EOS, UNK = 0, 1, 2, 3

    def __init__(self, words, specials=SPECIALS, counts=None):
        """words: in id order after the specials (duplicates and specials among them are dropped);
        counts: one count per word (kept as `self.counts`, an int64 array), or None."""
        if tuple(specials) not in (self.SPECIALS, ()):
            raise ValueError(f"specials are {self.SPECIALS} or none, not {tuple(specials)}")
        self.specials = tuple(specials)
        words = list(dict.fromkeys(w for w in words if w not in self.specials))
        self.itos = list(self.specials) + words
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        if self.counts is not None and len(self.counts) != len(words):
            raise ValueError(f"{len(self.counts)} counts for {len(words)} words")

    @classmethod
    def build(cls, texts, min_count: int = 1) -> "Vocab":
        """The words of some texts seen at least min_count times, in alphabetical order, after the specials."""
        counts = Counter(w for t in texts for w in tokenize(t))
        return cls(sorted(w for w, c in counts.items() if c >= min_count))

    @classmethod
    def from_counts(cls, counts: Counter, min_count: int = 1) -> "Vocab":
        """Words counted at least min_count times, most frequent first (ties alphabetical), with their
        counts and no specials: word2vec's vocabulary."""
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(kept, specials=(), counts=[counts[w] for w in kept])

    @property
    def words(self) -> list[str]:
        """The words, without the specials, in id order."""
        return self.itos[len(self.specials):]

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def __repr__(self) -> str:
        return f"Vocab({len(self.words)} words{' + ' + str(len(self.specials)) + ' specials' if self.specials else ''})"

    def encode(self, text: str, bos_eos: bool = False) -> list[int]:
        """Text -> ids; unknown words become <unk> (or are dropped when there are no specials)."""
        if not self.specials:
            return [self.stoi[w] for w in tokenize(text) if w in self.stoi]
        ids = [self.stoi.get(w, self.UNK) for w in tokenize(text)]
        return [self.BOS] + ids + [self.EOS] if bos_eos else ids

    def unknown_words(self, text: str) -> list[str]:
        """The words of `text` this vocabulary does not know (shown to learners typing free text)."""
        return [w for w in tokenize(text) if w not in self.stoi]

    def decode(self, ids) -> str:
        """Ids -> text; stops at <eos>, skips <pad>/<bos>."""
        words = []
        for i in (ids.tolist() if torch.is_tensor(ids) else ids):
            if self.specials and i == self.EOS:
                break
            if not self.specials or i not in (self.PAD, self.BOS):
                words.append(self.itos[i])
        return " ".join(words)

    def to_json(self) -> str:
        return json.dumps(self.itos)

    @classmethod
    def from_json(cls, text: str) -> "Vocab":
        itos = json.loads(text)
        if itos[: len(cls.SPECIALS)] != list(cls.SPECIALS):
            raise ValueError(f"a Vocab's JSON must start with {cls.SPECIALS}")
        return cls(itos[len(cls.SPECIALS):])


def world_vocab() -> Vocab:
    """The vocabulary of everything the world can say (captions, questions, answers), independent of any
    split: the words of the world's grammar (`world.grammar_texts()`)."""
    return Vocab(sorted({w for text in world.grammar_texts() for w in tokenize(text)}))


def pad(sequences, pad_id: int = Vocab.PAD) -> tuple[torch.Tensor, torch.Tensor]:
    """List of id lists -> (B, T) LongTensor padded with pad_id, and (B,) lengths."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    out = torch.full((len(sequences), int(lengths.max()) if len(sequences) else 0), pad_id, dtype=torch.long)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return out, lengths


def encode_captions(vocab: Vocab, captions: list[list[str]], bos_eos: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """N images x C captions each -> ids (N, C, T) padded with <pad> = 0, and lengths (N, C).
    bos_eos: wrap every caption in <bos> ... <eos> (lengths count them), as a decoder is trained on."""
    flat = [vocab.encode(c, bos_eos=bos_eos) for caps in captions for c in caps]
    ids, lengths = pad(flat)
    n, c = len(captions), len(captions[0])
    return ids.view(n, c, -1), lengths.view(n, c)
