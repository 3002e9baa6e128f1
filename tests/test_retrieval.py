import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmlearn import exercises as check
from mmlearn import retrieval as R
from mmlearn.metrics import ambiguity_ceiling, median_rank, recall_at_k
from mmlearn.train import fit
from mmlearn.text import encode_captions, world_vocab
from mmlearn.world import World
from mmlearn.semantics import caption_fits, fits_matrix, parse_caption


def unit(*shape, seed=0):
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64), dim=-1)


def identical_pairs():
    img = unit(5, 4)
    return img, img.clone()


# ----------------------------------------------------------------------------------------- losses
def test_vse_loss_on_a_hand_computed_case():
    img = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    txt = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    # scores [[1, .6], [0, .8]]; positives 1 and .8; margin .2
    # image 0: caption 1 costs .2 + .6 - 1 = -.2 -> 0; image 1: caption 0 costs .2 + 0 - .8 -> 0
    # caption 0: image 1 costs .2 + 0 - 1 -> 0; caption 1: image 0 costs .2 + .6 - .8 = 0 -> 0
    assert R.vse_loss(img, txt, 0.2).item() == pytest.approx(0.0)
    # margin .5: image 0 / caption 1: .1; caption 1 / image 0: .5 + .6 - .8 = .3 -> mean over 2 pairs = .2
    assert R.vse_loss(img, txt, 0.5).item() == pytest.approx(0.2)
    assert R.vse_loss(img, txt, 0.5, max_violation=True).item() == pytest.approx(0.2)


def test_infonce_on_a_hand_computed_case():
    img = torch.eye(2)
    txt = torch.eye(2)
    scale = torch.tensor(math.log(2.0))
    expected = -math.log(math.exp(2) / (math.exp(2) + 1))  # logits [[2, 0], [0, 2]], both directions alike
    assert R.infonce_loss(img, txt, scale).item() == pytest.approx(expected)
    huge = R.infonce_loss(img, txt, torch.tensor(math.log(1e6)))
    assert huge.item() == pytest.approx(-math.log(math.exp(100) / (math.exp(100) + 1)), abs=1e-6)  # clamped at 100


@pytest.mark.parametrize("loss", [
    lambda i, t: R.contrastive_loss(i, t),
    lambda i, t: R.vse_loss(i, t),
    lambda i, t: R.vse_loss(i, t, max_violation=True),
    lambda i, t: R.infonce_loss(i, t, torch.tensor(R.INIT_LOGIT_SCALE)),
    lambda i, t: R.semantic_cosine_loss(i, t, torch.nn.Linear(4, 3).double(), torch.ones(len(i), 3, dtype=torch.float64)),
])
def test_losses_let_gradients_flow_and_ignore_batch_order(loss):
    img, txt = unit(6, 4, seed=1).requires_grad_(), unit(6, 4, seed=2).requires_grad_()
    value = loss(img, txt)
    value.backward()
    assert img.grad.abs().sum() > 0 and txt.grad.abs().sum() > 0
    torch.manual_seed(0)
    order = torch.randperm(6)
    with torch.no_grad():
        assert loss(img[order], txt[order]).item() == pytest.approx(value.item(), rel=1e-9)


def test_semantic_cosine_loss_by_hand():
    img = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    txt = torch.tensor([[1.0, 0.0], [0.6, 0.8]])           # cosines [[1, 0.6], [0, 0.8]]
    zero = torch.nn.Linear(2, 1)
    # pull: ((1 - 1) + (1 - 0.8)) / 2 = 0.1; push: only 0.6 - 0.1 = 0.5 violates, averaged over the one violator
    loss = R.semantic_cosine_loss(img, txt, zero, torch.zeros(2, 1), margin=0.1, weight=0.0)
    assert loss.item() == pytest.approx(0.6)
    with torch.no_grad():
        zero.weight.zero_(), zero.bias.zero_()               # logits 0: each BCE term is log 2
    loss = R.semantic_cosine_loss(img, txt, zero, torch.zeros(2, 1), margin=0.1, weight=0.5)
    assert loss.item() == pytest.approx(0.6 + 0.5 * 2 * math.log(2))
    far = torch.tensor([[0.0, 1.0], [1.0, 0.0]])             # no negative violates: the push term is 0, not 0/0
    assert R.semantic_cosine_loss(img, img, zero, torch.zeros(2, 1), weight=0.0).item() == pytest.approx(0.0)
    assert torch.isfinite(R.semantic_cosine_loss(img, far, zero, torch.zeros(2, 1), weight=0.0))


def test_ranking_losses_are_lower_for_matching_pairs():
    img, txt = identical_pairs()
    shuffled = txt.roll(1, 0)
    assert R.vse_loss(img, txt) < R.vse_loss(img, shuffled)
    assert R.infonce_loss(img, txt, torch.tensor(2.0)) < R.infonce_loss(img, shuffled, torch.tensor(2.0))
    assert R.contrastive_loss(img, txt) < R.contrastive_loss(img, shuffled)


def test_encoders_overfit_a_handful_of_pairs():
    world = World()
    split = world.split("val", 16)
    vocab = world_vocab()
    grid = torch.randn(16, 64, 8, 8, generator=torch.Generator().manual_seed(0))
    ids, lengths = encode_captions(vocab, split.captions)
    model = torch.nn.ModuleDict({"image": R.ImageProjection(channels=grid.shape[1], grid=grid.shape[-1]), "text": R.GRUTextEncoder(len(vocab))})
    model.scale = torch.nn.Parameter(torch.tensor(R.INIT_LOGIT_SCALE))

    def loss_fn(m, b):
        g, i, n, _ = b
        return R.infonce_loss(m["image"](g), m["text"](i, n), m.scale)

    history = fit(model, loss_fn, R.pair_batches(grid, ids, lengths, batch_size=16), steps=150, lr=3e-3, seed=0,
                  progress=False)
    assert history.loss[-1] < 0.2 * history.loss[0]
    img = R.embed_images(model["image"], grid)
    txt = R.embed_texts(model["text"], vocab, [c[0] for c in split.captions])
    assert (txt @ img.t()).argmax(1).eq(torch.arange(16)).float().mean() > 0.9


def test_gru_encoder_ignores_padding():
    enc = R.GRUTextEncoder(20)
    ids = torch.tensor([[5, 6, 7, 0, 0], [5, 6, 7, 8, 9]])
    lengths = torch.tensor([3, 5])
    alone = enc(torch.tensor([[5, 6, 7]]), torch.tensor([3]))
    assert torch.allclose(enc(ids, lengths)[0], alone[0], atol=1e-6)
    bag = R.BagOfEmbeddings(20)
    assert torch.allclose(bag(ids, lengths)[0], bag(torch.tensor([[5, 6, 7]]), torch.tensor([3]))[0], atol=1e-6)


def test_pair_batches_hold_distinct_images():
    ids = torch.arange(10 * 5 * 3).view(10, 5, 3)
    lengths = torch.full((10, 5), 3)
    grid, tokens, n, images = next(R.pair_batches(torch.arange(10), ids, lengths, batch_size=10))
    assert sorted(images.tolist()) == list(range(10)) and torch.equal(grid, images)
    assert all(tokens[k].tolist() in ids[images[k]].tolist() for k in range(10))


# ----------------------------------------------------------------------------------------- metrics
def brute_force_recall(scores, relevant, k):
    hits = 0
    for q in range(len(scores)):
        ranked = sorted(range(scores.shape[1]), key=lambda j: -scores[q, j].item())
        hits += any(relevant[q, j] for j in ranked[:k])
    return hits / len(scores)


def test_recall_at_k_equals_brute_force():
    g = torch.Generator().manual_seed(0)
    scores = torch.rand(40, 30, generator=g)
    relevant = torch.rand(40, 30, generator=g) < 0.08
    relevant[0] = False  # a query with nothing relevant never hits
    got = recall_at_k(scores, relevant, ks=(1, 3, 10))
    for k in (1, 3, 10):
        assert got[k] == pytest.approx(brute_force_recall(scores, relevant, k))


def test_median_rank_and_ceiling():
    scores = torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.3, 0.9]])
    relevant = torch.tensor([[False, False, True], [False, True, False]])
    assert median_rank(scores, relevant) == 2.0
    fits = torch.tensor([[True, True, False, False], [True, True, True, True]])
    assert ambiguity_ceiling(fits, ks=(1, 2)) == {1: pytest.approx(0.375), 2: pytest.approx(0.75)}


# ----------------------------------------------------------------------------------------- caption semantics
def test_every_caption_fits_its_own_scene_and_the_matrix_agrees_with_the_parser():
    split = World().split("test", 150)
    captions = [c for caps in split.captions for c in caps]
    matrix = fits_matrix(captions, split.scenes)
    assert matrix[np.arange(len(captions)), np.arange(len(captions)) // 5].all()
    rng = np.random.default_rng(0)
    for q, n in zip(rng.integers(0, len(captions), 400), rng.integers(0, 150, 400)):
        assert matrix[q, n] == caption_fits(captions[q], split.scenes[n]), (captions[q], split.scenes[n].objects)


def test_caption_meaning():
    m = parse_caption("two red circles and a small blue square at the beach")
    assert m.place == "beach" and m.objects == [(2, None, "red", "circle"), (1, "small", "blue", "square")]
    assert m.exhaustive
    m = parse_caption("a red circle left of a blue cross in the woods")
    assert m.relation == "left of" and m.place == "forest" and not m.exhaustive
    assert parse_caption("a large white diamond on the left at night").position == "left"
    assert parse_caption("there are three objects in the city: a, b").total == 3


# ----------------------------------------------------------------------------------------- checkers
def test_checkers_pass_the_references(capsys):
    check.vse_loss(R.vse_loss)
    check.infonce_loss(R.infonce_loss)
    assert capsys.readouterr().out.count("passed") == 2


def unmasked(img, txt, margin, max_violation):
    s = img @ txt.t()
    d = s.diag().view(-1, 1)
    a, b = (margin + s - d).clamp(min=0), (margin + s - d.t()).clamp(min=0)
    return (a.max(1).values + b.max(0).values).mean() if max_violation else (a.sum(1) + b.sum(0)).mean()


def one_direction(img, txt, margin, max_violation):
    s = img @ txt.t()
    c = (margin + s - s.diag().view(-1, 1)).clamp(min=0).masked_fill(torch.eye(len(s), dtype=torch.bool), 0)
    return c.max(1).values.mean() if max_violation else c.sum(1).mean()


def always_sum(img, txt, margin, max_violation):
    return R.vse_loss(img, txt, margin, False)


@pytest.mark.parametrize("wrong, hint", [(unmasked, "diagonal"), (one_direction, "only one direction"),
                                         (always_sum, "hardest negative")])
def test_vse_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.vse_loss(wrong)


def infonce_one_way(img, txt, s):
    return F.cross_entropy(s.clamp(max=math.log(100)).exp() * img @ txt.t(), torch.arange(len(img)))


def infonce_no_exp(img, txt, s):
    logits = s.clamp(max=math.log(100)) * img @ txt.t()
    t = torch.arange(len(img))
    return (F.cross_entropy(logits, t) + F.cross_entropy(logits.t(), t)) / 2


def infonce_no_clamp(img, txt, s):
    logits = s.exp() * img @ txt.t()
    t = torch.arange(len(img))
    return (F.cross_entropy(logits, t) + F.cross_entropy(logits.t(), t)) / 2


@pytest.mark.parametrize("wrong, hint", [(infonce_one_way, "only one direction"), (infonce_no_exp, "LOG"),
                                         (infonce_no_clamp, "clamp")])
def test_infonce_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.infonce_loss(wrong)
