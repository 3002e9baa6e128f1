import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu

from mmlearn import captioning as C
from mmlearn.core import grid_to_cells
from mmlearn import exercises as check
from mmlearn.metrics import corpus_bleu
from mmlearn.train import fit
from mmlearn.text import encode_captions, pad, tokenize, world_vocab
from mmlearn.world import World


def test_attention_weights_sum_to_one_with_the_right_shapes():
    attention = C.SoftAttention(feature_dim=8, hidden_dim=6, attention_dim=5)
    features, hidden = torch.randn(3, 64, 8), torch.randn(3, 6)
    context, alpha = attention(features, hidden)
    assert context.shape == (3, 8) and alpha.shape == (3, 64)
    assert torch.allclose(alpha.sum(1), torch.ones(3)) and (alpha >= 0).all()
    assert torch.allclose(context, torch.einsum("bl,blc->bc", alpha, features), atol=1e-6)
    grid = torch.randn(2, 8, 4, 4)
    assert grid_to_cells(grid).shape == (2, 16, 8)
    assert torch.equal(grid_to_cells(grid)[:, 1 * 4 + 2], grid[:, :, 1, 2])  # row-major: cell (row 1, column 2)


def small_caption_set(n=4):
    world = World()
    split = world.split("val", n)
    vocab = world_vocab()
    ids, lengths = pad([vocab.encode(split.captions[i][0], bos_eos=True) for i in range(n)])
    features = torch.randn(n, 16, 8, generator=torch.Generator().manual_seed(0))
    return vocab, split, features, ids, lengths


@pytest.mark.parametrize("model_class", [C.ShowAttendTell, C.ShowAndTell])
def test_captioners_overfit_a_handful_of_captions(model_class):
    vocab, split, features, ids, lengths = small_caption_set()
    model = model_class(len(vocab), feature_dim=8, dropout=0.0)
    history = fit(model, lambda m, b: C.caption_loss(m, features, ids, lengths, alpha_c=0.0), [None],
                  steps=150, lr=1e-2, seed=0, progress=False)
    assert history.loss[-1] < 0.05
    model.eval()
    tokens, _ = C.greedy_decode(model, features)
    for i in range(4):
        assert vocab.decode(tokens[i]) == " ".join(tokenize(split.captions[i][0]))


def test_show_and_tell_teacher_forcing_in_one_call_equals_its_steps():
    vocab, _, features, ids, lengths = small_caption_set()
    torch.manual_seed(0)
    model = C.ShowAndTell(len(vocab), feature_dim=8).eval()
    state, steps = model.start(features), []
    for t in range(ids.shape[1] - 1):
        logits, state, _ = model.step(features, ids[:, t], state)
        steps.append(logits)
    assert torch.allclose(model.sequence_logits(features, ids), torch.stack(steps, 1), atol=1e-5)
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(64, 256)        # nn.LSTM draws the same initial weights as the LSTMCell it replaced
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(64, 256, batch_first=True)
    assert torch.equal(cell.weight_ih, lstm.weight_ih_l0) and torch.equal(cell.bias_hh, lstm.bias_hh_l0)


def test_soft_attention_is_bahdanaus_formula():
    torch.manual_seed(0)
    attention = C.SoftAttention(8, 6, 5)
    features, hidden = torch.randn(3, 7, 8), torch.randn(3, 6)
    context, alpha = attention(features, hidden)
    energy = attention.full_att(torch.tanh(attention.encoder_att(features) + attention.decoder_att(hidden)[:, None]))[..., 0]
    want = energy.softmax(dim=1)
    assert torch.allclose(alpha, want, atol=1e-6) and torch.allclose(context, (want[..., None] * features).sum(1), atol=1e-6)


def test_padding_does_not_change_the_loss():
    vocab, _, features, ids, lengths = small_caption_set()
    model = C.ShowAttendTell(len(vocab), feature_dim=8, dropout=0.0)
    longer = torch.cat([ids, torch.zeros(len(ids), 5, dtype=torch.long)], dim=1)
    assert torch.allclose(C.caption_loss(model, features, ids, lengths), C.caption_loss(model, features, longer, lengths))


def test_beam_of_one_equals_greedy():
    vocab, _, features, ids, lengths = small_caption_set()
    torch.manual_seed(3)
    model = C.ShowAttendTell(len(vocab), feature_dim=8).eval()
    greedy, _ = C.greedy_decode(model, features, max_len=12)
    for i in range(4):
        tokens, _, _ = C.beam_search(model, features[i : i + 1], beam=1, max_len=12)[0]
        expected = [t for t in greedy[i].tolist() if t != C.PAD]
        assert tokens == expected


class ToyModel(nn.Module):
    """A 'captioner' whose next-word distribution depends only on the previous word (a known Markov chain).

    From <bos>: word 3 has p=0.5, word 4 p=0.4, <eos> p=0.1. After 3: <eos> p=0.3 (the rest spread).
    After 4: <eos> p=0.9. So greedy picks 3 then a spread continuation, while the best finished
    sentence is [4, <eos>] with p = 0.36, beating [3, <eos>] at 0.15.
    """

    def __init__(self):
        super().__init__()
        table = torch.full((6, 6), 1e-9)
        table[C.BOS, [3, 4, C.EOS]] = torch.tensor([0.5, 0.4, 0.1])
        table[3, [C.EOS, 3, 5]] = torch.tensor([0.3, 0.35, 0.35])
        table[4, [C.EOS, 5]] = torch.tensor([0.9, 0.1])
        table[5, C.EOS] = 1.0
        self.register_buffer("logits", table.log())

    def start(self, features):
        return (features.new_zeros(len(features), 1), features.new_zeros(len(features), 1))

    def step(self, features, words, state):
        return self.logits[words], state, None


def test_beam_search_returns_the_most_probable_sentence():
    model = ToyModel()
    features = torch.zeros(1, 1, 1)
    tokens, score, _ = C.beam_search(model, features, beam=3, max_len=5)[0]
    assert tokens == [4, C.EOS] and score == pytest.approx(math.log(0.36), abs=1e-6)
    greedy, _ = C.greedy_decode(model, features, max_len=5)
    assert greedy[0, 0].item() == 3  # greedy commits to the locally best first word


def test_beam_search_returns_live_beams_when_none_finishes():
    class Babbler(ToyModel):
        def __init__(self):
            super().__init__()
            self.logits[:, C.EOS] = -1e9  # never ends

    results = C.beam_search(Babbler(), torch.zeros(1, 1, 1), beam=2, max_len=4)
    assert results and all(len(tokens) == 4 for tokens, _, _ in results)


def test_beam_step_uses_integer_beam_indices():
    scores, origin, word = C.beam_step(torch.log(torch.tensor([[0.1, 0.9], [0.6, 0.4]])), torch.log(torch.tensor([0.5, 0.5])), 2)
    assert origin.dtype == torch.long and origin.tolist() == [0, 1] and word.tolist() == [1, 0]


def test_bleu_equals_nltk():
    world = World()
    split = world.split("test", 60)
    references = [[tokenize(c) for c in caps] for caps in split.captions]
    hypotheses = [tokenize(split.captions[(i * 7) % 60][i % 5]) for i in range(60)]
    hypotheses[0] = hypotheses[0][:2]  # a short one, for the brevity penalty
    for n in range(1, 5):
        ours = corpus_bleu(references, hypotheses, max_n=n)
        theirs = nltk_corpus_bleu(references, hypotheses, weights=tuple([1 / n] * n))
        assert ours == pytest.approx(theirs, abs=1e-12)
    assert corpus_bleu(references, [r[0] for r in references]) == pytest.approx(1.0)


def test_captioning_checkers_pass_the_references(capsys):
    check.beam_step(C.beam_step)
    check.soft_attention(lambda f, h, e, d, a: C.SoftAttention.forward(
        type("Layers", (), {"encoder_att": e, "decoder_att": d, "full_att": a})(), f, h))
    assert capsys.readouterr().out.count("passed") == 2


def float_division(log_probs, scores, beam):
    top, flat = (scores.unsqueeze(1) + log_probs).view(-1).topk(beam)
    return top, flat / log_probs.shape[1], flat % log_probs.shape[1]


def no_cumulative(log_probs, scores, beam):
    top, flat = log_probs.reshape(-1).topk(beam)
    return top, flat // log_probs.shape[1], flat % log_probs.shape[1]


@pytest.mark.parametrize("wrong, hint", [(float_division, "integer"), (no_cumulative, "cumulative")])
def test_beam_step_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.beam_step(wrong)


def softmax_over_batch(f, h, e, d, a):
    alpha = a(torch.tanh(e(f) + d(h).unsqueeze(1))).squeeze(2).softmax(0)
    return (alpha.unsqueeze(2) * f).sum(1), alpha


def no_tanh(f, h, e, d, a):
    alpha = a(e(f) + d(h).unsqueeze(1)).squeeze(2).softmax(1)
    return (alpha.unsqueeze(2) * f).sum(1), alpha


@pytest.mark.parametrize("wrong, hint", [(softmax_over_batch, "sum to 1"), (no_tanh, "tanh")])
def test_soft_attention_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.soft_attention(wrong)


def test_upsampled_attention_keeps_each_cells_mass():
    alpha = torch.softmax(torch.randn(2, 64), dim=1)
    pixels = C.upsample_attention(alpha, 32)
    assert pixels.shape == (2, 32, 32)
    assert torch.allclose(pixels.sum((1, 2)), torch.ones(2))
    assert torch.isclose(pixels[0, 4:8, 8:12].sum(), alpha[0, 1 * 8 + 2])       # cell (row 1, col 2)


def scene_with_objects(n_objects):
    split = World().split("val", 200, language=False)
    i = next(i for i in range(len(split)) if split.scenes.present[i].sum() == n_objects)
    return split.scenes[i], split.scenes, i


def test_referenced_objects_follow_the_words_before_the_noun():
    scene, _, _ = scene_with_objects(2)
    a, b = scene.objects
    assert C.referenced_objects(["a", a.color, a.shape], 2, scene) == [o for o in scene.objects
                                                                       if (o.color, o.shape) == (a.color, a.shape)]
    assert C.referenced_objects(["a", a.size, a.color, a.shape, "at", "night"], 3, scene)[0] is a
    wrong = next(c for c in ("red", "green", "blue", "yellow", "purple", "white")
                 if all((o.color, o.shape) != (c, a.shape) for o in scene.objects))
    assert C.referenced_objects(["a", wrong, a.shape], 2, scene) == []         # names nothing in the scene
    assert C.referenced_objects(["a", a.color, a.shape], 1, scene) == []       # not a shape noun
    plural = a.shape + ("es" if a.shape.endswith("s") else "s")
    assert a in C.referenced_objects(["two", plural], 1, scene)


def test_grounding_of_uniform_attention_is_chance_and_of_focused_attention_is_high():
    scene, scenes, i = scene_with_objects(1)
    obj = scene.objects[0]
    words = [["a", obj.color, obj.shape, "in", "the", "woods"]]
    sub = type(scenes)(*(getattr(scenes, f)[i : i + 1] for f in scenes.__dataclass_fields__))
    uniform = torch.full((7, 64), 1 / 64)
    result = C.attention_grounding(words, [uniform], sub)
    assert result["nouns"] == 1 and len(result["mass"]) == 1
    x0, y0, x1, y1 = obj.box
    assert result["chance"][0] == pytest.approx((x1 - x0) * (y1 - y0) / 32**2)
    assert result["mass"][0] == pytest.approx(result["chance"][0], rel=1e-5)   # uniform attention = chance
    focused = torch.zeros(7, 64)
    focused[2, int(obj.y) // 4 * 8 + int(obj.x) // 4] = 1.0                   # the cell at the object's centre
    assert C.attention_grounding(words, [focused], sub)["mass"][0] > 0.5
    hallucinated = C.attention_grounding([["a", "zebra", "circles" if obj.shape != "circle" else "squares"]],
                                         [uniform], sub)
    assert hallucinated["nouns"] == 1 and len(hallucinated["mass"]) == 0


def test_grounding_tells_the_named_object_from_the_other_objects():
    scene, scenes, i = scene_with_objects(2)
    named, other = scene.objects
    words = [["a", named.color, named.shape, "and", "a", other.color, other.shape]]
    sub = type(scenes)(*(getattr(scenes, f)[i : i + 1] for f in scenes.__dataclass_fields__))
    wrong = torch.zeros(8, 64)
    wrong[2, int(other.y) // 4 * 8 + int(other.x) // 4] = 1.0        # "named.shape" emitted looking at the other one
    result = C.attention_grounding(words, [wrong], sub)
    assert result["other_mass"][0] > 0.5 > result["mass"][0]          # an object, but not the named one
    assert 0 < result["other_chance"][0] < 1
    lone, lone_scenes, j = scene_with_objects(1)
    one = type(lone_scenes)(*(getattr(lone_scenes, f)[j : j + 1] for f in lone_scenes.__dataclass_fields__))
    single = C.attention_grounding([["a", lone.objects[0].color, lone.objects[0].shape]], [torch.full((3, 64), 1 / 64)], one)
    assert np.isnan(single["other_mass"][0]) and np.isnan(single["other_chance"][0])   # no other object to look at


def test_show_and_tell_pooling():
    features = torch.randn(3, 16, 8)
    for pool in ("max", "mean"):
        model = C.ShowAndTell(20, feature_dim=8, pool=pool)
        h, c = model.start(features)
        assert h.shape == (3, 256)
    with pytest.raises(ValueError, match="pool"):
        C.ShowAndTell(20, feature_dim=8, pool="sum")


def test_show_and_tell_gives_its_image_a_words_scale_whatever_the_features_scale():
    """A unit-norm embedding through a fresh linear layer is tiny next to a word embedding (std 1), so the
    decoder hears little of it: the layer norm puts every image vector at a word's scale."""
    torch.manual_seed(0)
    model = C.ShowAndTell(20, feature_dim=256)
    vectors = torch.nn.functional.normalize(torch.randn(64, 1, 256), dim=-1)       # (B, 1, C): one vector each
    for scale in (1.0, 1e-3, 1e3):
        image_input = model.image((vectors * scale).amax(dim=1))                   # what start() feeds the LSTM
        assert image_input.std().item() == pytest.approx(1.0, abs=0.05)
    assert model.image[0](vectors[:, 0]).std().item() < 0.1                         # what it would be without


def test_caption_ids_for_a_decoder_carry_bos_and_eos():
    world = World()
    split = world.split("val", 3)
    ids, lengths = encode_captions(world_vocab(), split.captions, bos_eos=True)
    assert ids.shape[:2] == (3, 5) and (ids[:, :, 0] == C.BOS).all()
    assert (ids.gather(2, (lengths - 1).unsqueeze(2)) == C.EOS).all()


def test_attention_pictures_and_scrubber():
    import matplotlib

    matplotlib.use("agg")
    from mmlearn.viz import attention_rgb, plot_caption_attention
    from mmlearn.players import attention_scrubber_html

    image = World().split("val", 1, language=False).scenes.image[0]
    alphas = torch.softmax(torch.randn(3, 64), dim=1)
    rgb = attention_rgb(image, alphas[0])
    assert rgb.shape == (256, 256, 3) and rgb.dtype == "uint8"
    assert len(plot_caption_attention(image, ["a", "red", "circle"], alphas)) == 4
    html = attention_scrubber_html(image, ["a", "red", "circle"], alphas)
    # the first picture, then one frame for the image alone and one per word
    assert html.count("data:image/png;base64") == 1 + 4 and 'max="3"' in html and ">circle</span>" in html


def test_the_word_by_word_strip_shows_every_word_of_a_long_caption():
    import matplotlib

    matplotlib.use("agg")
    from mmlearn.viz import plot_caption_attention

    image = World().split("val", 1, language=False).scenes.image[0]
    words = "a small red circle and a large blue square and a green cross on a beach".split()   # 15 words
    axes = plot_caption_attention(image, words, torch.softmax(torch.randn(len(words), 64), dim=1))
    assert len(axes) == 1 + len(words) and axes[-1].get_title().endswith("beach")
