"""Checkers of notebook 07: the references pass, typical wrong answers fail with a specific hint."""
import pytest
import torch
import torch.nn.functional as F

from mmlearn import exercises as check
from mmlearn.localization import attention_map, ezvsl_loss
from mmlearn.metrics import ciou


def unit(x):
    return F.normalize(x, dim=-1)


def cosine(cells, audio):
    return torch.einsum("bld,bd->bl", unit(cells), unit(audio))


def av_map(cells, audio):
    return attention_map(unit(cells), unit(audio))


def test_audio_visual_map_checker_passes_the_reference(capsys):
    check.audio_visual_map(av_map)
    check.audio_visual_map(lambda c, a: torch.softmax(torch.relu(cosine(c.float(), a.float())), 1))  # float32 is fine
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda c, a: unit(c) * unit(a)[:, None], "sum the product over the feature axis"),
    (lambda c, a: cosine(c, a)[:, :-1], "expected shape"),
    (cosine, "the cosine itself"),
    (lambda c, a: F.relu(cosine(c, a)), "not yet a map"),
    (lambda c, a: torch.softmax(F.relu(torch.einsum("bld,bd->bl", c, a)), 1), "L2-normalise"),
    (lambda c, a: torch.softmax(torch.einsum("bld,bd->bl", c, a), 1), "L2-normalise"),
    (lambda c, a: torch.softmax(cosine(c, a), 1), "ReLU before the softmax"),
    (lambda c, a: torch.softmax(F.relu(cosine(c, a)), 0), "not over the batch"),
    (lambda c, a: torch.sigmoid(cosine(c, a)), "sigmoid"),
    (lambda c, a: torch.softmax(F.relu(torch.einsum("bld,bd->bl", F.normalize(c, dim=1), unit(a))), 1), "wrong values"),
    (lambda c, a: c.nope, "raised AttributeError"),
])
def test_audio_visual_map_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.audio_visual_map(wrong)


def test_ciou_checker_passes_the_reference(capsys):
    check.ciou(ciou)
    check.ciou(lambda p, g: (p * g).flatten(1).sum(1) / (g.flatten(1).sum(1) + (p & (g == 0)).flatten(1).sum(1)))
    assert "passed" in capsys.readouterr().out


def inter(p, g):
    return (p.double() * g).flatten(1).sum(1)


@pytest.mark.parametrize("wrong, hint", [
    (lambda p, g: inter(p, g).sum() / g.sum(), "one cIoU per image"),
    (lambda p, g: (p & (g > 0)).flatten(1).sum(1) / (p | (g > 0)).flatten(1).sum(1), "IoU of the box union"),
    (lambda p, g: inter(p, g) / g.flatten(1).sum(1), "recall"),
    (lambda p, g: inter(p, g) / p.double().flatten(1).sum(1), "precision"),
    (lambda p, g: inter(p, g) / (g + p.double()).flatten(1).sum(1), "counts the overlap twice"),
    (lambda p, g: inter(p, g) / (g.flatten(1).sum(1) + (p.double() * (1 - g)).flatten(1).sum(1)), r"pred \* \(1 - gt\)"),
    (lambda p, g: 2 * ciou(p, g), "wrong values"),
    (lambda p, g: (inter(p, g) + 1) / (g.flatten(1).sum(1) + (p.double() * (g == 0)).flatten(1).sum(1) + 1), "wrong values|empty prediction"),
])
def test_ciou_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.ciou(wrong)


def test_ezvsl_loss_checker_passes_the_reference(capsys):
    check.ezvsl_loss(ezvsl_loss)
    def by_hand(cells, audio, tau):        # the same loss written with loops over the two directions
        scores = torch.stack([torch.stack([(cells[i] @ audio[j]).max() for j in range(len(audio))])
                              for i in range(len(cells))]) / tau
        labels = torch.arange(len(scores))
        return 0.5 * F.cross_entropy(scores, labels) + 0.5 * F.cross_entropy(scores.t(), labels)
    check.ezvsl_loss(by_hand)
    check.ezvsl_loss(lambda c, a, t: 2 * ezvsl_loss(c, a, t))     # EZ-VSL's model.py sums the two directions
    assert "passed" in capsys.readouterr().out


def scores(cells, audio):
    return torch.einsum("ild,jd->ijl", cells, audio)


def symmetric(s):
    labels = torch.arange(len(s))
    return (F.cross_entropy(s, labels) + F.cross_entropy(s.T, labels)) / 2


@pytest.mark.parametrize("wrong, hint", [
    (lambda c, a, t: symmetric(scores(c, a).mean(2) / t), "mean"),
    (lambda c, a, t: symmetric(torch.logsumexp(scores(c, a) / t, 2)), "soft maximum"),
    (lambda c, a, t: F.cross_entropy(scores(c, a).amax(1) / t, torch.arange(len(c))), "not over the batch"),
    (lambda c, a, t: F.cross_entropy(scores(c, a).amax(2) / t, torch.arange(len(c))), "one direction only"),
    (lambda c, a, t: F.cross_entropy(scores(c, a).amax(2).T / t, torch.arange(len(c))), "one direction only"),
    (lambda c, a, t: symmetric(scores(c, a).amax(2)), "divide the scores by the temperature"),
    (lambda c, a, t: symmetric(scores(c, a).amax(2) / t / t), "applied twice"),
    (lambda c, a, t: symmetric(scores(c, a).amax(2) * t), "do not multiply"),
    (lambda c, a, t: -scores(c, a).amax(2).diagonal().mean() / t, "not contrastive"),
    (lambda c, a, t: symmetric(scores(c, a).amax(2) / 0.07), "wrong value"),        # tau ignored: right at one tau only
    (lambda c, a, t: symmetric(scores(c, a).amax(2) / t)[None].expand(3), "one number"),
    (lambda c, a, t: c.nope, "raised AttributeError"),
])
def test_ezvsl_loss_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.ezvsl_loss(wrong)
