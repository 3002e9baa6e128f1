"""word2vec: skip-gram with negative sampling (Mikolov et al. 2013), from scratch, vectorised for a CPU.

    sentences = read_corpus()                                  # the shipped English corpus, tokenised
    vocab = corpus_vocab(sentences, min_count=5)
    model = train_skipgram(sentences, vocab, dim=100, window=5, negatives=5, epochs=3)
    model.most_similar("king")

As in word2vec.c (and gensim): two matrices, input vectors W_in (V, d) for centre words and output
vectors W_out (V, d) for context words; a *dynamic window* (each centre word draws its window size b
uniformly from 1..window); frequent words are *subsampled* before the windows are cut; k noise words
per pair are drawn from the unigram distribution raised to 0.75; the learning rate decays linearly
to lr * 1e-4. The SGD update is the closed-form gradient of the negative-sampling loss, applied to the
touched rows only (index_add_) for a batch of pairs at a time: what word2vec.c does one pair at a time.
"""
from __future__ import annotations

import lzma
import math
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import lecture
from .core import DATA, DatasetFormatError, progress_bar
from .datasets import evaluation_file, read_analogies, read_word_pairs  # noqa: F401  (the test sets' readers)
from .metrics import spearman
from .text import Vocab, tokenize
from .train import History

CORPUS = DATA / "text" / "corpus.txt.xz"


# ------------------------------------------------------------------------------------------ data
def read_corpus(path: str | Path = CORPUS) -> list[list[str]]:
    """One sentence (a list of words) per non-empty line of a text file, plain or .xz-compressed."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: corpus file not found (the course ships data/text/corpus.txt.xz; "
                                "rebuild it with scripts/make_corpus.py)")
    try:
        raw = lzma.decompress(path.read_bytes()) if path.suffix == ".xz" else path.read_bytes()
        text = raw.decode("utf-8")
    except (lzma.LZMAError, UnicodeDecodeError) as error:
        raise DatasetFormatError(f"{path}: not a readable UTF-8 text corpus ({error})") from error
    sentences = [words for words in (tokenize(line, letters_only=True) for line in text.splitlines()) if words]
    if not sentences:
        raise DatasetFormatError(f"{path}: the corpus holds no words")
    return sentences


def corpus_vocab(sentences: list[list[str]], min_count: int = 5) -> Vocab:
    """The words seen at least min_count times, most frequent first, with their counts (`vocab.counts`,
    int64) and no special tokens: word2vec.c's vocabulary, as the course's one `Vocab`."""
    return Vocab.from_counts(Counter(w for s in sentences for w in s), min_count)


def encode_corpus(vocab: Vocab, sentences: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """The corpus as one array of word ids (N,) and the sentence each token belongs to (N,).
    Words below min_count are dropped first, as word2vec.c does (so windows reach across them)."""
    ids, sentence = [], []
    for k, s in enumerate(sentences):
        kept = [vocab.stoi[w] for w in s if w in vocab.stoi]
        ids.extend(kept)
        sentence.extend([k] * len(kept))
    return np.array(ids, dtype=np.int64), np.array(sentence, dtype=np.int64)


def keep_probability(counts: np.ndarray, sample: float = 1e-3) -> np.ndarray:
    """Probability of keeping each occurrence of a word, as word2vec.c and gensim compute it:
    (sqrt(f / (s N)) + 1) * (s N) / f, capped at 1 (f: the word's count, N: all counts, s: sample).
    (The paper's 1 - sqrt(t / f) is a *discard* probability of a different shape.) sample <= 0: keep all."""
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    threshold = sample * counts.sum()
    return np.minimum((np.sqrt(counts / threshold) + 1) * threshold / counts, 1.0)


def noise_distribution(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """P_n(w) proportional to count(w) ** power (0.75: rarer words are drawn more often than by frequency)."""
    weights = np.asarray(counts, dtype=np.float64) ** power
    return weights / weights.sum()


class NoiseSampler:
    """Draws noise words from P_n(w) ~ count(w) ** power (0.75 by default), exactly and in O(1) per draw, with
    Walker's alias method: pick a word i uniformly, keep it with probability accept[i], else take its alias[i].
    (word2vec.c looks draws up in a table of 1e8 slots; the alias tables are two arrays of V entries.)"""

    def __init__(self, counts: np.ndarray, power: float = 0.75):
        scaled = noise_distribution(counts, power) * len(counts)       # mean 1: below 1 "small", above "large"
        accept, alias = np.ones(len(counts)), np.arange(len(counts))
        small, large = [i for i, p in enumerate(scaled) if p < 1], [i for i, p in enumerate(scaled) if p >= 1]
        while small and large:                                         # fill each small slot from a large one
            s, l = small.pop(), large.pop()
            accept[s], alias[s] = scaled[s], l
            scaled[l] -= 1 - scaled[s]
            (small if scaled[l] < 1 else large).append(l)
        self.accept = torch.from_numpy(accept).float()
        self.alias = torch.from_numpy(alias)

    def sample(self, shape, generator: torch.Generator | None = None) -> torch.Tensor:
        i = torch.randint(len(self.alias), shape, generator=generator)
        keep = torch.rand(shape, generator=generator) < self.accept[i]
        return torch.where(keep, i, self.alias[i])


def subsample(ids: np.ndarray, sentence: np.ndarray, keep: np.ndarray, rng: np.random.Generator):
    """Keep each token with its word's keep-probability; returns the kept ids and their sentence numbers."""
    kept = rng.random(len(ids)) < keep[ids]
    return ids[kept], sentence[kept]


def skipgram_pairs(ids: np.ndarray, sentence: np.ndarray, window: int, keep: np.ndarray | None,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """All (centre, context) pairs of one pass, vectorised over the corpus.

    ids, sentence (N,): word ids and sentence numbers; keep (V,): keep-probability per word (None: all).
    Tokens are first subsampled; then every kept centre draws its window b ~ U{1..window} and pairs
    with the kept words at most b positions away in the same sentence. Returns centres (P,),
    contexts (P,) in random order. A loop over the 2 * window offsets, vectorised over the corpus.
    """
    if keep is not None:
        ids, sentence = subsample(ids, sentence, keep, rng)
    reach = rng.integers(1, window + 1, size=len(ids))             # the dynamic window of each centre
    centres, contexts = [], []
    for d in range(1, window + 1):
        same = sentence[d:] == sentence[:-d]
        right = same & (reach[:-d] >= d)                           # centre at i, context at i + d
        left = same & (reach[d:] >= d)                             # centre at i + d, context at i
        centres += [ids[:-d][right], ids[d:][left]]
        contexts += [ids[d:][right], ids[:-d][left]]
    centres, contexts = np.concatenate(centres), np.concatenate(contexts)
    order = rng.permutation(len(centres))
    return centres[order], contexts[order]


# ---------------------------------------------------------------------------------------- model
def sgns_loss(center: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """Negative-sampling loss, mean over the batch: -log s(v_c . u_o) - sum_k log s(-v_c . u_k).
    center (B, d) input vectors; context (B, d) output vectors; negatives (B, K, d) output vectors."""
    positive = F.logsigmoid((center * context).sum(-1))
    negative = F.logsigmoid(-torch.einsum("bd,bkd->bk", center, negatives)).sum(-1)
    return -(positive + negative).mean()


def sgns_update(w_in: torch.Tensor, w_out: torch.Tensor, centres: torch.Tensor, contexts: torch.Tensor,
                noise: torch.Tensor, lr: float) -> torch.Tensor:
    """One SGD step on a batch of pairs, in place: the closed-form gradient of `sgns_loss` (summed over
    the batch) applied to the touched rows. centres, contexts (B,), noise (B, K) word ids.

    With scores x_j = v_c . u_j and labels y (1 for the true context, 0 for noise), the loss's gradient
    is -(y_j - s(x_j)) u_j for v_c and -(y_j - s(x_j)) v_c for u_j. A noise word equal to the true
    context is ignored, as in word2vec.c. Returns the scores (B, 1 + K), from which the loss follows."""
    targets = torch.cat([contexts.unsqueeze(1), noise], dim=1)                 # (B, 1 + K)
    v = w_in[centres]                                                           # (B, d)
    u = w_out[targets]                                                          # (B, 1 + K, d)
    scores = (u * v.unsqueeze(1)).sum(2)                                        # (B, 1 + K)
    g = torch.sigmoid(scores).neg_()                                            # y - s(x), y = 0 ...
    g[:, 0] += 1                                                                # ... and y = 1 for the context
    g[:, 1:].masked_fill_(noise == contexts.unsqueeze(1), 0)
    g.mul_(lr)
    w_in.index_add_(0, centres, (g.unsqueeze(2) * u).sum(1))                   # v_c += lr * sum_j g_j u_j
    w_out.index_add_(0, targets.reshape(-1), (g.unsqueeze(2) * v.unsqueeze(1)).reshape(-1, v.shape[1]))
    return scores


def scores_loss(scores: torch.Tensor) -> float:
    """Mean negative-sampling loss of a batch from its scores (B, 1 + K): column 0 the true context."""
    return float(-(F.logsigmoid(scores[:, 0]) + F.logsigmoid(-scores[:, 1:]).sum(1)).mean())


class WordVectors:
    """Trained word vectors (one row per vocabulary word) with similarity queries."""

    def __init__(self, vectors: torch.Tensor, words: list[str], context: torch.Tensor | None = None):
        self.vectors = vectors                     # (V, d): the centre-word table W_in, the usual word vectors
        self.context = context                     # (V, d) or None: the context table W_out, where one was trained
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.unit = F.normalize(vectors, dim=1)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> torch.Tensor:
        return self.vectors[self.index[word]]

    def similarity(self, a: str, b: str) -> float:
        return float(self.unit[self.index[a]] @ self.unit[self.index[b]])

    def most_similar(self, word: str | torch.Tensor, k: int = 8, exclude=()) -> list[tuple[str, float]]:
        """The k nearest words by cosine to a word (itself excluded) or to a vector."""
        if isinstance(word, str):
            if word not in self.index:
                raise KeyError(f"{word!r} is not in the vocabulary ({len(self.words):,} words)")
            exclude = set(exclude) | {word}
            word = self.unit[self.index[word]]
        scores = self.unit @ F.normalize(word, dim=0)
        for w in exclude:
            if w in self.index:
                scores[self.index[w]] = -2
        top = scores.topk(k)
        return [(self.words[i], float(s)) for s, i in zip(top.values, top.indices)]

    def query(self, text: str, k: int = 8) -> tuple[list[tuple[str, float]], list[str]]:
        """Answer a typed query: "king" (its neighbours) or "king - man + woman" (3CosAdd: the words nearest
        the signed sum of the unit vectors, the query's words excluded). Returns (neighbours, unknown words);
        unknown words are left out of the sum, and with no known word the neighbours are empty."""
        tokens = text.lower().replace("+", " + ").replace("-", " - ").split()
        total, sign, used, unknown = torch.zeros(self.unit.shape[1]), 1.0, [], []
        for token in tokens:
            if token in "+-":
                sign = 1.0 if token == "+" else -1.0
                continue
            if token in self.index:
                total += sign * self.unit[self.index[token]]
                used.append(token)
            else:
                unknown.append(token)
            sign = 1.0
        if not used:
            return [], unknown
        return self.most_similar(total, k, exclude=used), unknown


@dataclass
class CorpusHistory(History):
    """`train.History` for a pass over a corpus: `loss` is the mean loss per chunk of the corpus (`steps` count
    the chunks) and `progress` the fraction of training done after each; plus what was trained on."""

    words: int = 0                 # in-vocabulary corpus words processed (before subsampling), all epochs
    pairs: int = 0                 # (centre, context) pairs trained on (0 when unknown)
    progress: list[float] = field(default_factory=list)

    @property
    def words_per_second(self) -> float:
        return self.words / self.seconds if self.seconds > 0 else 0.0


def train_skipgram(sentences: list[list[str]] | tuple[np.ndarray, np.ndarray], vocab: Vocab, dim: int = 100,
                   window: int = 5, negatives: int = 5, sample: float = 1e-3, epochs: int = 3, lr: float = 0.025,
                   batch_size: int = 1024, chunk_words: int = 100_000, seed: int = 0, noise_power: float = 0.75,
                   progress: bool = True) -> tuple[WordVectors, CorpusHistory]:
    """Train skip-gram with negative sampling; returns the word vectors (W_in, with W_out as `.context`) and
    its CorpusHistory. Noise words are drawn from count ** noise_power (word2vec's 0.75; 1: unigram; 0: uniform).

    The corpus is processed in chunks of about chunk_words tokens: pairs are generated for a chunk
    (vectorised), shuffled, and fed in batches; the learning rate falls linearly with the number of
    corpus words processed, from lr to lr * 1e-4 (word2vec.c's schedule).

    A batch's updates are summed, as if its pairs were applied one by one from the same starting point
    (word2vec.c's threads do much the same, "Hogwild"). Keep batch_size well below the vocabulary size:
    a word appearing hundreds of times in one batch takes hundreds of steps at once.

    Lecture mode (mmlearn.lecture): the same corpus and settings load what they trained before."""
    ids, sentence = encode_corpus(vocab, sentences) if isinstance(sentences, list) else sentences
    settings = dict(dim=dim, window=window, negatives=negatives, sample=sample, epochs=epochs, lr=lr,
                    batch_size=batch_size, chunk_words=chunk_words, seed=seed, noise_power=noise_power)
    return _remembered("skip-gram", (ids, sentence, vocab.counts, vocab.words, settings),
                       lambda: _skipgram(ids, sentence, vocab, progress=progress, **settings))


def _remembered(what: str, inputs, train) -> tuple[WordVectors, CorpusHistory]:
    """train() -> (vectors, log), or the vectors and log that the same inputs gave before (mmlearn.lecture)."""
    def compute():
        vectors, log = train()
        return {"vectors": vectors.vectors, "context": vectors.context, "words": vectors.words, "log": asdict(log)}
    run = lecture.remembered(what, inputs, compute, lambda r: f"{r['log']['seconds']:.1f} s")
    return WordVectors(run["vectors"], run["words"], context=run["context"]), CorpusHistory(**run["log"])


def _skipgram(ids: np.ndarray, sentence: np.ndarray, vocab: Vocab, dim: int, window: int, negatives: int,
              sample: float, epochs: int, lr: float, batch_size: int, chunk_words: int, seed: int,
              noise_power: float, progress: bool) -> tuple[WordVectors, CorpusHistory]:
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    keep = keep_probability(vocab.counts, sample)
    sampler = NoiseSampler(vocab.counts, noise_power)
    w_in = (torch.rand(len(vocab), dim, generator=gen) - 0.5) / dim                 # word2vec.c's init
    w_out = torch.zeros(len(vocab), dim)
    # chunk boundaries at sentence starts, so no window is cut in two
    starts = np.flatnonzero(np.r_[True, sentence[1:] != sentence[:-1]])
    bounds = list(starts[np.searchsorted(starts, np.arange(0, len(ids), chunk_words))]) + [len(ids)]
    bounds = sorted(set(bounds))
    total = epochs * len(ids)
    done, pairs, losses, marks = 0, 0, [], []
    bar = progress_bar(total, "skip-gram", disable=not progress, unit="word", unit_scale=True)
    start = time.perf_counter()
    for _ in range(epochs):
        for a, b in zip(bounds[:-1], bounds[1:]):
            centres, contexts = skipgram_pairs(ids[a:b], sentence[a:b], window, keep, rng)
            centres, contexts = torch.from_numpy(centres), torch.from_numpy(contexts)
            n_batches = max(1, -(-len(centres) // batch_size))
            noise = sampler.sample((len(centres), negatives), gen)
            chunk_loss = []
            for k in range(n_batches):
                batch = slice(k * batch_size, (k + 1) * batch_size)
                fraction = (done + (b - a) * k / n_batches) / total
                scores = sgns_update(w_in, w_out, centres[batch], contexts[batch], noise[batch], lr * max(1 - fraction, 1e-4))
                if k % 16 == 0:                                         # the loss of every 16th batch
                    chunk_loss.append(scores_loss(scores))
            done += b - a
            pairs += len(centres)
            losses.append(float(np.mean(chunk_loss)))
            if not math.isfinite(losses[-1]):
                raise FloatingPointError(f"skip-gram diverged (loss {losses[-1]}) at {done / total:.0%} of training: "
                                         f"with {len(vocab)} words, a batch of {batch_size} pairs updates a frequent "
                                         "word many times at once; use a smaller batch_size or lr")
            marks.append(done / total)
            bar.update(b - a)
            bar.set_postfix(loss=f"{losses[-1]:.3f}", lr=f"{lr * max(1 - done / total, 1e-4):.4f}")
    bar.close()
    seconds = time.perf_counter() - start
    return WordVectors(w_in, vocab.words, context=w_out), CorpusHistory(steps=list(range(1, len(losses) + 1)), loss=losses, seconds=seconds, words=total,
                                                                        pairs=pairs, progress=marks)


# ------------------------------------------------------------------- the count-based baseline
def cooccurrence(ids: np.ndarray, sentence: np.ndarray, n_words: int, window: int = 5) -> torch.Tensor:
    """Sparse symmetric (V, V) co-occurrence counts of a corpus (ids, sentence as from `encode_corpus`): a pair
    of words d <= window apart in the same sentence adds (window + 1 - d) / window, the chance that
    word2vec's dynamic window reaches d (Levy, Goldberg & Dagan's "dynamic context window"). Counted one
    offset at a time, so memory follows the distinct pairs, not the corpus times the window."""
    keys, values = [], []
    for d in range(1, window + 1):
        same = sentence[d:] == sentence[:-d]
        pair = ids[:-d][same] * n_words + ids[d:][same]
        pair = np.concatenate([pair, ids[d:][same] * n_words + ids[:-d][same]])   # both directions
        unique, counts = np.unique(pair, return_counts=True)
        keys.append(unique)
        values.append(counts * (window + 1 - d) / window)
    unique, where = np.unique(np.concatenate(keys), return_inverse=True)
    summed = np.bincount(where, weights=np.concatenate(values))
    index = torch.from_numpy(np.stack([unique // n_words, unique % n_words]))
    return torch.sparse_coo_tensor(index, torch.from_numpy(summed).float(), (n_words, n_words),  # keys sorted: row-major
                                   check_invariants=False, is_coalesced=True)


def ppmi(counts: torch.Tensor, cds: float = 0.75) -> torch.Tensor:
    """Positive PMI of sparse co-occurrence counts (V, V): max(0, log P(w, c) / (P(w) P_cds(c))), where the
    context distribution is smoothed like word2vec's noise, P_cds(c) ~ count(c) ** cds (Levy et al. 2015)."""
    index, n = counts.indices(), counts.values().double()
    row = torch.zeros(counts.shape[0], dtype=torch.float64).index_add_(0, index[0], n)
    col = torch.zeros(counts.shape[1], dtype=torch.float64).index_add_(0, index[1], n) ** cds
    pmi = torch.log(n * col.sum()) - torch.log(row[index[0]] * col[index[1]])         # log n S / (n_w n_c^cds)
    keep = pmi > 0
    return torch.sparse_coo_tensor(index[:, keep], pmi[keep].float(), counts.shape, check_invariants=False,
                                   is_coalesced=True)


def ppmi_svd(ids: np.ndarray, sentence: np.ndarray, vocab: Vocab, dim: int = 100, window: int = 5,
             cds: float = 0.75, eig: float = 0.5, seed: int = 0) -> WordVectors:
    """The count-based baseline of Levy, Goldberg & Dagan (2015): PPMI of windowed co-occurrence counts, factored
    by a truncated SVD, M ~ U S V^T; the word vectors are U S ** eig (their eigenvalue weighting: 0.5 is the
    symmetric choice they recommend over the textbook 1). A randomized SVD (torch.svd_lowrank) on the sparse matrix."""
    matrix = ppmi(cooccurrence(ids, sentence, len(vocab), window), cds)
    torch.manual_seed(seed)                                          # the randomized SVD's probe vectors
    u, s, _ = torch.svd_lowrank(matrix, q=dim + 10, niter=4)
    return WordVectors(u[:, :dim] * s[:dim] ** eig, vocab.words)


# ----------------------------------------------------------------------------------- evaluation
def evaluate_word_pairs(vectors: WordVectors, pairs) -> dict:
    """Spearman correlation of cosine similarities with human scores, on the pairs whose two words are
    in the vocabulary (as gensim's evaluate_word_pairs); coverage = share of pairs used."""
    used = [(a, b, s) for a, b, s in pairs if a in vectors and b in vectors]
    if len(used) < 2:
        return {"spearman": float("nan"), "coverage": len(used) / max(len(pairs), 1), "pairs": len(used)}
    model = [vectors.similarity(a, b) for a, b, _ in used]
    return {"spearman": spearman(model, [s for *_, s in used]), "coverage": len(used) / len(pairs), "pairs": len(used)}


def evaluate_analogies(vectors: WordVectors, sections: dict, restrict: int = 300_000, batch: int = 1024) -> dict:
    """Accuracy of 3CosAdd, d* = argmax cos(d, b - a + c) over the `restrict` most frequent words, the three
    question words excluded (as gensim's evaluate_word_analogies). Questions with a word outside that
    vocabulary are skipped; coverage = share of questions answered. Also, per section, the accuracy and the
    questions answered, and every answered question with the model's answer ((a, b, c, d), answer)."""
    n = min(restrict, len(vectors.words))
    unit, index = vectors.unit[:n], {w: i for i, w in enumerate(vectors.words[:n])}
    correct, per_section, asked, answers = 0, {}, {}, []
    for name, questions in sections.items():
        covered = [q for q in questions if all(w in index for w in q)]
        ids = torch.tensor([[index[w] for w in q] for q in covered], dtype=torch.long).reshape(-1, 4)
        guesses = []
        for k in range(0, len(ids), batch):
            q = ids[k:k + batch]
            scores = F.normalize(unit[q[:, 1]] - unit[q[:, 0]] + unit[q[:, 2]], dim=1) @ unit.t()
            scores.scatter_(1, q[:, :3], -2.0)                        # never answer with a question word
            guesses += scores.argmax(1).tolist()
        hits = sum(g == int(d) for g, d in zip(guesses, ids[:, 3]))
        answers += [(q, vectors.words[g]) for q, g in zip(covered, guesses)]
        asked[name] = (len(covered), len(questions))
        if covered:
            per_section[name] = hits / len(covered)
        correct += hits
    answered, total = sum(a for a, _ in asked.values()), sum(t for _, t in asked.values())
    return {"accuracy": correct / max(answered, 1), "coverage": answered / max(total, 1), "questions": answered,
            "sections": per_section, "asked": asked, "answers": answers}


def evaluate(vectors: WordVectors) -> dict:
    """WordSim-353 and SimLex-999 Spearman, Google-analogy accuracy, and their coverage (gensim's files)."""
    ws = evaluate_word_pairs(vectors, read_word_pairs(evaluation_file("wordsim353.tsv")))
    sl = evaluate_word_pairs(vectors, read_word_pairs(evaluation_file("simlex999.txt")))
    an = evaluate_analogies(vectors, read_analogies(evaluation_file("questions-words.txt")))
    return {"WordSim-353": ws["spearman"], "SimLex-999": sl["spearman"], "analogy": an["accuracy"],
            "WordSim coverage": ws["coverage"], "SimLex coverage": sl["coverage"], "analogy coverage": an["coverage"]}


def train_gensim(sentences: list[list[str]], dim: int = 100, window: int = 5, negatives: int = 5,
                 sample: float = 1e-3, epochs: int = 3, min_count: int = 5, lr: float = 0.025, seed: int = 0,
                 workers: int = 2) -> tuple[WordVectors, CorpusHistory]:
    """The peer: gensim's Word2Vec(sg=1) with the same settings. Returns its vectors (most frequent word
    first, like ours) and a CorpusHistory whose throughput counts the same words as ours: the corpus words in
    the vocabulary, before subsampling, every epoch. Lecture mode as in train_skipgram."""
    settings = dict(dim=dim, window=window, negatives=negatives, sample=sample, epochs=epochs, min_count=min_count,
                    lr=lr, seed=seed, workers=workers)
    corpus = "\n".join(map(" ".join, sentences))  # one string: quick to digest
    return _remembered("gensim", (corpus, settings), lambda: _gensim(sentences, **settings))


def _gensim(sentences, dim, window, negatives, sample, epochs, min_count, lr, seed, workers):
    from gensim.models import Word2Vec

    model = Word2Vec(vector_size=dim, window=window, negative=negatives, sample=sample, min_count=min_count,
                     alpha=lr, min_alpha=lr * 1e-4, sg=1, hs=0, seed=seed, workers=workers)
    model.build_vocab(sentences)
    start = time.perf_counter()
    model.train(sentences, total_examples=len(sentences), epochs=epochs)
    seconds = time.perf_counter() - start
    words = epochs * sum(model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key)
    vectors = WordVectors(torch.from_numpy(model.wv.vectors.copy()), list(model.wv.index_to_key))
    return vectors, CorpusHistory(seconds=seconds, words=words)
