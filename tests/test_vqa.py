from collections import namedtuple

import pytest

from mmlearn.vqa import QuestionPrior
from mmlearn.world import World

Q = namedtuple("Q", "text type answer")


def test_question_prior_by_type_and_by_text_on_a_hand_made_set():
    train = [[Q("is there a red circle", "exists", "yes"), Q("is there a cube", "exists", "no")],
             [Q("is there a cube", "exists", "no"), Q("how many objects are there", "count", "2")]]
    prior = QuestionPrior.fit(train)
    assert prior.predict(Q("is there a red circle", "exists", "?"), by="type") == "no"     # 2 no vs 1 yes
    assert prior.predict(Q("is there a red circle", "exists", "?"), by="text") == "yes"    # its own text
    assert prior.predict(Q("is there a blue square", "exists", "?"), by="text") == "no"    # unseen: its type's
    test = [[Q("is there a red circle", "exists", "yes"), Q("how many objects are there", "count", "3")]]
    assert prior.accuracy(test, by="type") == {"exists": 0.0, "count": 0.0, "all": 0.0}
    assert prior.accuracy(test, by="text") == {"exists": 1.0, "count": 0.0, "all": 0.5}
    with pytest.raises(KeyError, match="relation"):
        prior.predict(Q("is the circle left of the square", "relation", "?"))
    with pytest.raises(ValueError, match="by"):
        prior.predict(train[0][0], by="image")


def test_balanced_world_questions_keep_blind_priors_near_chance():
    world = World()
    prior = QuestionPrior.fit(world.split("train", 2_000).questions)
    acc = prior.accuracy(world.split("test", 500).questions, by="type")
    assert acc["exists"] < 0.6 and acc["relation"] < 0.6 and acc["query_color"] < 0.3


# ----------------------------------------------------------------------------------------- models
import json  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from mmlearn import fusion  # noqa: E402
from mmlearn.datasets import read_vqa  # noqa: E402
from mmlearn.text import Vocab  # noqa: E402
from mmlearn.train import fit  # noqa: E402
from mmlearn.vqa import (FiLMNet, ImageOnly, MeanPool, QuestionAttention, QuestionEncoder, QuestionOnly,  # noqa: E402
                         QuestionSet, VQAModel, accuracy_by_type, ask, cells, predict, soft_targets, top_answers,
                         vqa_loss)

VOCAB = Vocab(["what", "color", "is", "the", "circle", "square", "how", "many"])


def test_question_encoder_is_h_and_c_of_every_layer_and_ignores_padding():
    torch.manual_seed(0)
    enc = QuestionEncoder(len(VOCAB), embed=8, hidden=5, layers=2).eval()
    assert enc.out_dim == 2 * 2 * 5
    short, long = VOCAB.encode("what color is the circle"), VOCAB.encode("how many")
    ids = torch.tensor([short, long + [0, 0, 0]])
    q = enc(ids, torch.tensor([5, 2]))
    assert torch.allclose(q[1], enc(torch.tensor([long]), torch.tensor([2]))[0], atol=1e-6)   # padding is not read
    out, (h, c) = enc.lstm(torch.tanh(enc.embed(torch.tensor([short]))))
    assert torch.allclose(q[0], torch.cat([h[0, 0], h[1, 0], c[0, 0], c[1, 0]]), atol=1e-6)
    assert torch.allclose(h[1, 0], out[0, -1], atol=1e-6)                                  # top layer's h = last output


def test_looks_mean_pool_and_attention_weights():
    torch.manual_seed(0)
    grid = torch.randn(2, 6, 3, 3)
    v = cells(grid)
    assert v.shape == (2, 9, 6) and torch.allclose(v.norm(dim=-1), torch.ones(2, 9))
    pooled, w = MeanPool()(v, torch.randn(2, 4))
    assert torch.allclose(w, torch.full((2, 9), 1 / 9)) and torch.allclose(pooled, F.normalize(v.mean(1), dim=-1))
    att = QuestionAttention(6, 4, hidden=7)
    attended, p = att(v, torch.randn(2, 4))
    assert torch.allclose(p.sum(1), torch.ones(2)) and (p > 0).all()
    assert torch.allclose(attended, torch.einsum("bl,blc->bc", p, v), atol=1e-6)


def tiny_task(n=24, seed=0):
    """Which of two marked cells is asked about: 'what color is the circle / square' -> that cell's colour."""
    g = torch.Generator().manual_seed(seed)
    grid = torch.zeros(n, 4, 3, 3)
    colour_of = torch.randint(0, 2, (n, 2), generator=g)       # colour (channel 2 or 3) of circle and square
    for i in range(n):
        grid[i, 0, 0, 0] = 1
        grid[i, 2 + colour_of[i, 0], 0, 0] = 1                   # the circle lives in cell (0, 0)
        grid[i, 1, 2, 2] = 1
        grid[i, 2 + colour_of[i, 1], 2, 2] = 1                   # the square in cell (2, 2)
    asked = torch.randint(0, 2, (n,), generator=g)
    texts = ["what color is the " + ("circle" if a == 0 else "square") for a in asked]
    ids, lengths = torch.tensor([VOCAB.encode(t) for t in texts]), torch.full((n,), 5)
    return grid, ids, lengths, colour_of[torch.arange(n), asked]


@pytest.mark.parametrize("make", [
    lambda q: VQAModel(q, QuestionAttention(4, q.out_dim), fusion.Product(4, q.out_dim, 16), 16, 2, dropout=0),
    lambda q: FiLMNet(q, 4, 2, dim=8, hidden=16, dropout=0),
], ids=["attention+product", "FiLM"])
def test_models_that_look_overfit_a_tiny_binding_task(make):
    grid, ids, lengths, answer = tiny_task()
    torch.manual_seed(0)
    model = make(QuestionEncoder(len(VOCAB), embed=8, hidden=8, dropout=0))
    batch = (torch.arange(len(grid)), ids, lengths, answer)
    history = fit(model, lambda m, b: vqa_loss(m, grid, b), [batch], steps=300, lr=1e-2, seed=0, progress=False)
    logits, _ = model.eval()(grid, ids, lengths)
    assert (logits.argmax(1) == answer).all() and history.loss[-1] < 0.1 * history.loss[0]


def test_a_mean_pool_cannot_bind_colour_to_shape_by_construction():
    grid, ids, lengths, answer = tiny_task()
    swapped = grid.clone()
    swapped[:, 2:, 0, 0], swapped[:, 2:, 2, 2] = grid[:, 2:, 2, 2], grid[:, 2:, 0, 0]   # circle and square swap colours
    q = torch.randn(len(grid), 3)
    assert torch.allclose(MeanPool()(cells(grid), q)[0], MeanPool()(cells(swapped), q)[0])   # same input, any fusion
    assert not torch.allclose(QuestionAttention(4, 3)(cells(grid), q)[0], QuestionAttention(4, 3)(cells(swapped), q)[0])


def test_blind_models_cannot_solve_it():
    grid, ids, lengths, answer = tiny_task(n=200)
    for model in (QuestionOnly(QuestionEncoder(len(VOCAB), embed=8, hidden=8), 2, hidden=16), ImageOnly(4, 2, hidden=16)):
        fit(model, lambda m, b: vqa_loss(m, grid, b), [(torch.arange(200), ids, lengths, answer)], steps=200,
            lr=1e-2, seed=0, progress=False)
        logits, where = model.eval()(grid, ids, lengths)
        assert where is None and (logits.argmax(1) == answer).float().mean() < 0.8


def test_predict_and_ask_report_answers_attention_and_unknown_words():
    grid, ids, lengths, answer = tiny_task(n=10)
    torch.manual_seed(0)
    q = QuestionEncoder(len(VOCAB), embed=8, hidden=8)
    model = VQAModel(q, QuestionAttention(4, q.out_dim), fusion.Product(4, q.out_dim, 16), 16, 2).train()
    qs = QuestionSet(torch.arange(10), ids, lengths, answer, ["query_color"] * 10, [""] * 10)
    probs, where = predict(model, grid, qs, batch_size=3)
    assert model.training                                       # mode restored
    assert probs.shape == (10, 2) and torch.allclose(probs.sum(1), torch.ones(10)) and where.shape == (10, 9)
    top, looked, unknown = ask(model, grid[0], VOCAB, "what colour is the hexagon", ["red", "blue"], k=2)
    assert unknown == ["colour", "hexagon"] and looked.shape == (9,)
    assert [a for a, _ in top] in (["red", "blue"], ["blue", "red"]) and top[0][1] >= top[1][1]


def test_accuracy_by_type_on_a_hand_computed_case():
    acc = accuracy_by_type(["red", "2", "yes", "no"], ["red", "3", "yes", "yes"], ["query_color", "count", "exists", "exists"])
    assert list(acc) == ["query_color", "count", "exists", "all"]              # QUESTION_TYPES order
    assert acc == {"query_color": 1.0, "count": 0.0, "exists": 0.5, "all": 0.5}


def test_question_set_from_aligned_lists():
    qs = QuestionSet.build([0, 1], ["what color is the circle?", "what is this thing"], ["red", "kite"],
                           ["query_color", "other"], VOCAB, ["red", "blue"])
    assert qs.answer.tolist() == [0, -1]                                         # outside the list: -1
    assert qs.ids[1].tolist() == [VOCAB.stoi["what"], VOCAB.stoi["is"], VOCAB.UNK, VOCAB.UNK, VOCAB.PAD]
    assert qs.lengths.tolist() == [5, 4]
    with pytest.raises(ValueError, match="misaligned"):
        QuestionSet.build([0], ["a", "b"], ["red"], ["x"], VOCAB, ["red"])


# ----------------------------------------------------------------------------------------- real VQA v2
from test_readers import REAL_ANNOTATIONS, REAL_QUESTIONS  # noqa: E402 - the hand-written VQA v2 sample


def test_answer_list_and_soft_targets_from_hand_written_vqa_v2_files(tmp_path):
    (tmp_path / "q.json").write_text(json.dumps(REAL_QUESTIONS))
    (tmp_path / "a.json").write_text(json.dumps(REAL_ANNOTATIONS))
    data = read_vqa(tmp_path / "q.json", tmp_path / "a.json")
    answers = top_answers([a for h in data.answers for a in h], k=3)
    assert answers == ["2", "down", "at table"]          # 8 (2, two, Two.), 7, then the first of the 1s
    targets = soft_targets(data.answers, ["down", "2", "table", "3", "at table"])
    # "down" 7 of 10, "table" 1, "at table" 1 -> 1, 1/3, 1/3; "2"/"two"/"Two." are one answer after normalisation: 8
    assert torch.allclose(targets, torch.tensor([[1, 0, 1 / 3, 0, 1 / 3], [0, 1, 0, 1 / 3, 0]]))
    qs = QuestionSet.build([0, 0], data.questions, data.multiple_choice_answers, data.question_types, VOCAB, answers)
    assert qs.answer.tolist() == [answers.index("down"), answers.index("2")] and qs.types == ["where is he", "how many"]
