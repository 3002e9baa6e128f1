import lzma
import math

import numpy as np
import pytest
import torch

from mmlearn import exercises as check
from mmlearn import metrics
from mmlearn import word2vec as W
from mmlearn.core import DatasetFormatError


# ------------------------------------------------------------------------------------- the corpus
def test_shipped_corpus_is_real_english_of_two_million_words():
    sentences = W.read_corpus()
    words = sum(map(len, sentences))
    assert words >= 2_000_000
    assert sentences[0][:4] == ["in", "the", "beginning", "god"]
    assert W.CORPUS.stat().st_size <= 15e6


def test_corpus_reader_names_the_file_and_the_problem(tmp_path):
    bad = tmp_path / "broken.txt.xz"
    bad.write_bytes(b"this is not xz")
    with pytest.raises(DatasetFormatError, match="broken.txt.xz"):
        W.read_corpus(bad)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        W.read_corpus(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt.xz"
    empty.write_bytes(lzma.compress(b"123\n\n"))
    with pytest.raises(DatasetFormatError, match="no words"):
        W.read_corpus(empty)
    plain = tmp_path / "plain.txt"
    plain.write_text("Let there be light:\nand there was light.\n")
    assert W.read_corpus(plain) == [["let", "there", "be", "light"], ["and", "there", "was", "light"]]


def test_vocabulary_keeps_frequent_words_most_frequent_first():
    vocab = W.corpus_vocab([["a", "b", "a"], ["c", "a", "b"], ["d"]], min_count=2)
    assert vocab.words == ["a", "b"] and vocab.counts.tolist() == [3, 2]
    ids, sentence = W.encode_corpus(vocab, [["a", "x", "b"], ["b"]])
    assert ids.tolist() == [0, 1, 1] and sentence.tolist() == [0, 0, 1]   # unknown words dropped


# ------------------------------------------------------------------------------ subsampling, noise
def test_keep_probability_is_word2vec_c_formula_and_equals_gensim():
    counts = np.array([1000, 10, 1])
    threshold = 1e-3 * 1011
    keep = W.keep_probability(counts, 1e-3)
    assert keep[0] == pytest.approx((math.sqrt(1000 / threshold) + 1) * threshold / 1000)   # 0.0652
    assert keep[1] == pytest.approx((math.sqrt(10 / threshold) + 1) * threshold / 10)       # 0.419
    assert keep[2] == 1.0                                                                    # (2.01, capped)
    assert (W.keep_probability(counts, 0) == 1).all()

    gensim = pytest.importorskip("gensim")
    rng = np.random.default_rng(0)
    words = [f"w{k}" for k in range(30)]
    sentences = [list(rng.choice(words, 20, p=np.arange(30, 0, -1) / 465)) for _ in range(400)]
    model = gensim.models.Word2Vec(sentences, min_count=1, sample=1e-2, vector_size=4, epochs=1, workers=1)
    vocab = W.corpus_vocab(sentences, min_count=1)
    ours = W.keep_probability(vocab.counts, 1e-2)
    theirs = np.array([model.wv.get_vecattr(w, "sample_int") / 2**32 for w in vocab.words])
    assert np.allclose(np.minimum(ours, 1), np.minimum(theirs, 1), atol=1e-6)


def test_subsampling_keeps_each_word_at_its_rate():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 3, size=300_000)
    keep = np.array([0.2, 0.5, 1.0])
    kept, _ = W.subsample(ids, np.zeros_like(ids), keep, rng)
    rates = np.bincount(kept, minlength=3) / np.bincount(ids, minlength=3)
    assert np.allclose(rates, keep, atol=0.01)


def test_noise_words_follow_the_unigram_distribution_to_the_three_quarters():
    counts = np.array([1000, 100, 10, 1])
    want = counts**0.75 / (counts**0.75).sum()
    assert np.allclose(W.noise_distribution(counts), want)
    draws = W.NoiseSampler(counts).sample((400_000,), torch.Generator().manual_seed(0))
    observed = np.bincount(draws.numpy(), minlength=4) / len(draws)
    assert np.allclose(observed, want, atol=0.003)
    assert abs(observed[0] - counts[0] / counts.sum()) > 0.05         # not the raw unigram distribution (0.90)


# ------------------------------------------------------------------------------------------ pairs
def test_dynamic_window_gives_near_words_more_pairs():
    n, window = 200_000, 4
    ids = np.arange(n)                                # every token distinct: offset = context - centre
    centres, contexts = W.skipgram_pairs(ids, np.zeros(n, dtype=np.int64), window, None, np.random.default_rng(0))
    offsets = contexts - centres
    assert set(np.unique(np.abs(offsets))) == {1, 2, 3, 4}
    for d in range(1, window + 1):                    # P(pair at distance d) = P(b >= d) = (window - d + 1) / window
        assert (offsets == d).sum() / n == pytest.approx((window - d + 1) / window, abs=0.01)
        assert (offsets == -d).sum() / n == pytest.approx((window - d + 1) / window, abs=0.01)
    assert len(centres) / n == pytest.approx(window + 1, rel=0.01)   # 2 * E[b] pairs per centre


def test_pairs_never_cross_a_sentence():
    ids = np.arange(10)
    sentence = np.array([0, 0, 0, 1, 1, 1, 1, 2, 3, 3])
    centres, contexts = W.skipgram_pairs(ids, sentence, 5, None, np.random.default_rng(0))
    assert (sentence[centres] == sentence[contexts]).all()
    assert 7 not in centres                           # alone in its sentence


# --------------------------------------------------------------------------------- loss and update
def test_loss_on_a_hand_computed_case():
    center, context, negatives = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([[[0.0, 1.0]]])
    want = math.log(1 + math.exp(-1)) + math.log(2)   # -log s(1) - log s(-0)
    assert W.sgns_loss(center, context, negatives).item() == pytest.approx(want)


def test_closed_form_update_is_sgd_on_the_loss():
    gen = torch.Generator().manual_seed(0)
    w_in, w_out = torch.randn(6, 3, generator=gen, dtype=torch.float64), torch.randn(6, 3, generator=gen, dtype=torch.float64)
    centres, contexts, noise = torch.tensor([0, 1, 0]), torch.tensor([2, 3, 4]), torch.tensor([[5, 3], [4, 5], [1, 2]])
    a, b = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    loss = W.sgns_loss(a[centres], b[contexts], b[noise]) * len(centres)   # the update uses the summed loss
    loss.backward()
    lr = 0.1
    scores = W.sgns_update(w_in, w_out, centres, contexts, noise, lr)
    assert W.scores_loss(scores) == pytest.approx(loss.item() / 3)
    assert torch.allclose(w_in, a.detach() - lr * a.grad) and torch.allclose(w_out, b.detach() - lr * b.grad)


def test_words_sharing_contexts_end_up_closer_than_unrelated_words():
    rng = np.random.default_rng(0)
    sentences = []
    for _ in range(3000):
        animal, food = rng.choice(["cat", "dog"]), rng.choice(["fish", "meat"])
        tool, thing = rng.choice(["hammer"]), rng.choice(["nail", "wood"])
        sentences += [["the", animal, "eats", food], ["a", tool, "hits", thing]]
    vocab = W.corpus_vocab(sentences, min_count=1)
    vectors, log = W.train_skipgram(sentences, vocab, dim=16, window=2, negatives=3, sample=0, epochs=2,
                                    batch_size=16, progress=False, seed=0)   # batches << vocabulary of 10
    assert vectors.similarity("cat", "dog") > vectors.similarity("cat", "hammer") + 0.3
    assert vectors.most_similar("cat", k=1)[0][0] == "dog"
    assert log.loss[-1] < log.loss[0]


# ------------------------------------------------------------------------------------- evaluation
def test_spearman_equals_scipy_with_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, 60), rng.normal(size=60)
    assert metrics.spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert metrics.average_ranks([10, 20, 20, 30]).tolist() == [1, 2.5, 2.5, 4]


@pytest.fixture(scope="module")
def random_vectors_and_gensim_twin():
    gensim = pytest.importorskip("gensim")
    words = W.corpus_vocab(W.read_corpus(), min_count=5).words
    vectors = W.WordVectors(torch.randn(len(words), 20, generator=torch.Generator().manual_seed(0)), words)
    twin = gensim.models.KeyedVectors(20)
    twin.add_vectors(words, vectors.vectors.numpy())
    return vectors, twin


def test_word_pair_evaluation_equals_gensim(random_vectors_and_gensim_twin):
    vectors, twin = random_vectors_and_gensim_twin
    path = W.evaluation_file("wordsim353.tsv")
    ours = W.evaluate_word_pairs(vectors, W.read_word_pairs(path))
    _, (theirs, _), oov = twin.evaluate_word_pairs(str(path))
    assert ours["spearman"] == pytest.approx(theirs, abs=2e-3)        # gensim scores in float32
    assert ours["coverage"] == pytest.approx(1 - oov / 100)


def test_analogy_evaluation_equals_gensim(random_vectors_and_gensim_twin):
    vectors, twin = random_vectors_and_gensim_twin
    path = W.evaluation_file("questions-words.txt")
    sections = W.read_analogies(path)
    # plant solvable questions: d = b - a + c exactly (on unit vectors), for questions not sharing words
    planted, used = [], set()
    for q in sections["capital-common-countries"]:
        if all(w in vectors for w in q) and not used & set(q) and len(planted) < 10:
            planted.append(q)
            used |= set(q)
    unit = vectors.unit.clone()
    for a, b, c, d in planted:
        vectors.vectors[vectors.index[d]] = unit[vectors.index[b]] - unit[vectors.index[a]] + unit[vectors.index[c]]
    vectors.unit = torch.nn.functional.normalize(vectors.vectors, dim=1)
    twin.vectors[:] = vectors.vectors.numpy()
    twin.fill_norms(force=True)
    ours = W.evaluate_analogies(vectors, sections)
    score, details = twin.evaluate_word_analogies(str(path))
    asked = sum(len(s["correct"]) + len(s["incorrect"]) for s in details if s["section"] != "Total accuracy")
    assert len(planted) >= 5 and ours["accuracy"] > 0
    assert ours["accuracy"] == pytest.approx(score) and ours["questions"] == asked


def test_evaluation_readers_name_the_file_and_line(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("# header\ncat\tdog\t7.5\ncat dog seven\n")
    with pytest.raises(DatasetFormatError, match="pairs.tsv, line 3"):
        W.read_word_pairs(pairs)
    analogies = tmp_path / "questions.txt"
    analogies.write_text(": family\nboy girl brother sister\nking queen\n")
    with pytest.raises(DatasetFormatError, match="questions.txt, line 3"):
        W.read_analogies(analogies)


# -------------------------------------------------------------------------------------- exercises
def test_word2vec_checkers_pass_the_reference(capsys):
    check.sgns_loss(W.sgns_loss)
    check.keep_probability(W.keep_probability)
    assert capsys.readouterr().out.count("passed") == 2


@pytest.mark.parametrize("wrong, hint", [
    (lambda c, o, n: W.sgns_loss(c, o, n) * len(c), "summed over the batch"),
    (lambda c, o, n: -W.sgns_loss(c, o, n), "negative"),
    (lambda c, o, n: -(torch.nn.functional.logsigmoid((c * o).sum(-1))
                       + torch.nn.functional.logsigmoid(torch.einsum("bd,bkd->bk", c, n)).sum(-1)).mean(), "minus sign"),
    (lambda c, o, n: -(torch.nn.functional.logsigmoid((c * o).sum(-1))
                       + torch.nn.functional.logsigmoid(-torch.einsum("bd,bkd->bk", c, n)).mean(-1)).mean(), "do not average"),
    (lambda c, o, n: (c * o).sum(-1), "one number"),
])
def test_sgns_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.sgns_loss(wrong)


@pytest.mark.parametrize("wrong, hint", [
    (lambda counts, s: np.clip(1 - np.sqrt(s / (counts / counts.sum())), 0, 1), "discard"),
    (lambda counts, s: np.sqrt(s / (counts / counts.sum())), "alone"),
    (lambda counts, s: (np.sqrt(counts / (s * counts.sum())) + 1) * (s * counts.sum()) / counts, "exceed 1"),
    (lambda counts, s: np.ones(len(counts)), "expected"),
])
def test_keep_probability_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.keep_probability(wrong)


def test_evaluation_sets_say_where_they_come_from_when_gensim_is_missing(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install gensim"):
        W.evaluation_file("wordsim353.tsv")


def test_word_map_places_each_known_word_once():
    import matplotlib

    matplotlib.use("agg")
    from mmlearn.viz import plot_word_map

    vectors = W.WordVectors(torch.randn(4, 5, generator=torch.Generator().manual_seed(0)), ["a", "b", "c", "d"])
    ax = plot_word_map(vectors, {"first": ["a", "b"], "second": ["c", "zebra"]}, title="t")
    assert sorted(t.get_text() for t in ax.texts) == ["a", "b", "c"] and ax.get_title() == "t"


# ---------------------------------------------------------------------------- the count-based baseline
def test_cooccurrence_counts_pairs_within_the_window_weighted_by_the_dynamic_window():
    # sentence 0: words 0 1 2; sentence 1: words 1 0. Window 2: distance 1 weighs 1, distance 2 weighs 1/2.
    ids, sentence = np.array([0, 1, 2, 1, 0]), np.array([0, 0, 0, 1, 1])
    counts = W.cooccurrence(ids, sentence, n_words=3, window=2).to_dense()
    expected = torch.tensor([[0, 1 + 1, 0.5],             # (0,1) twice at distance 1; (0,2) once at distance 2
                             [2, 0, 1],
                             [0.5, 1, 0]])
    assert torch.allclose(counts, expected)               # symmetric, and no pair across the sentence break (2, 1)


def test_ppmi_matches_the_formula_on_a_dense_matrix():
    counts = torch.tensor([[0, 4, 1], [4, 0, 2], [1, 2, 6]], dtype=torch.float32)
    got = W.ppmi(counts.to_sparse(), cds=0.75).to_dense().double()
    n = counts.double()
    p_wc = n / n.sum()
    p_w = n.sum(1, keepdim=True) / n.sum()
    p_c = n.sum(0) ** 0.75 / (n.sum(0) ** 0.75).sum()
    with np.errstate(divide="ignore"):
        expected = torch.clamp(torch.log(p_wc / (p_w * p_c)), min=0).nan_to_num(0)   # log 0 = -inf -> 0
    assert torch.allclose(got, expected, atol=1e-6)
    assert got[0, 2] == 0 or got[0, 2] > 0                  # every entry non-negative
    assert (got >= 0).all()


def test_ppmi_svd_factors_the_matrix_like_a_full_svd():
    rng = np.random.default_rng(0)
    ids, sentence = rng.integers(0, 30, 4000), np.repeat(np.arange(400), 10)
    vocab = W.corpus_vocab([[str(i) for i in range(30)]], min_count=1)      # 30 words; ids index them
    vectors = W.ppmi_svd(ids, sentence, vocab, dim=5, window=2, eig=1.0)
    dense = W.ppmi(W.cooccurrence(ids, sentence, 30, window=2)).to_dense().numpy().astype(np.float64)
    s = np.linalg.svd(dense, compute_uv=False)[:5]
    assert np.allclose(np.linalg.norm(vectors.vectors.numpy(), axis=0), s, rtol=1e-3)   # U S: column norms = S


def test_typed_queries_answer_neighbours_and_analogies_and_flag_unknown_words():
    words = ["king", "queen", "man", "woman", "apple"]
    vectors = W.WordVectors(torch.tensor([[1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1], [-1, 0, 0.]]), words)
    top, unknown = vectors.query("king - man + woman", k=1)
    assert top[0][0] == "queen" and unknown == []
    top, unknown = vectors.query("King zebra", k=2)
    assert [w for w, _ in top] == ["man", "queen"] and unknown == ["zebra"]   # cos 0.71, 0.50; "king" excluded
    assert vectors.query("zebra") == ([], ["zebra"])


def test_skipgram_keeps_its_context_table_and_takes_the_noise_power():
    sentences = [["a", "b", "a", "c", "a", "d", "a", "a"]] * 200      # 'a' frequent: power 0 and 0.75 differ
    vocab = W.corpus_vocab(sentences, min_count=1)
    runs = {p: W.train_skipgram(sentences, vocab, dim=4, window=2, negatives=2, sample=0, epochs=1, batch_size=8,
                                progress=False, seed=0, noise_power=p)[0] for p in (0.75, 0.0)}
    assert runs[0.75].context is not None and runs[0.75].context.shape == runs[0.75].vectors.shape
    assert runs[0.75].context.abs().sum() > 0                # trained (word2vec starts it at zero)
    assert not torch.allclose(runs[0.75].vectors, runs[0.0].vectors)   # another noise distribution, another result
