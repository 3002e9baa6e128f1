import hashlib
import re

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from mmlearn.text import Vocab, pad, tokenize, world_vocab
from mmlearn.world import COLORS, HELD_OUT_PAIRS, PLACES, QUESTION_TYPES, SHAPES, World
from mmlearn.world.grammar import PLACE_PHRASES, plural
from mmlearn.core import images_to_tensor
from mmlearn.tasks import ANSWER_LIST, CaptionSequences, ImageCaptionPairs, SceneLabels, VQAExamples, collate


@pytest.fixture(scope="module")
def world():
    return World()


@pytest.fixture(scope="module")
def train(world):
    return world.split("train", 400)


def fingerprint(split):
    h = hashlib.sha256()
    for name in ("image", "place", "shape", "color", "size", "center", "box", "mask"):
        h.update(np.ascontiguousarray(getattr(split.scenes, name)).tobytes())
    h.update(repr((split.captions, [[(q.text, q.answer) for q in qs] for qs in split.questions], split.tags)).encode())
    return h.hexdigest()


def test_same_seed_gives_byte_identical_data(world, train):
    assert fingerprint(World().split("train", 400)) == fingerprint(train)
    assert fingerprint(World(seed=1).split("train", 400)) != fingerprint(train)
    assert fingerprint(world.split("val", 400)) != fingerprint(train)


def test_a_shorter_split_is_the_start_of_a_longer_one(world, train):
    longer = world.split("train", 1_300)
    assert np.array_equal(longer.scenes.image[:400], train.scenes.image)
    assert longer.captions[:400] == train.captions and longer.tags[:400] == train.tags
    assert [q.text for q in longer.questions[399]] == [q.text for q in train.questions[399]]


def test_scenes_have_the_promised_variety(train):
    s = train.scenes
    assert s.image.shape == (400, 32, 32, 3) and s.image.dtype == np.uint8
    assert set(s.place) == set(range(len(PLACES)))
    assert set(s.shape[s.present]) == set(range(len(SHAPES)))
    assert set(s.color[s.present]) == set(range(len(COLORS)))
    assert set(s.present.sum(1)) == {1, 2, 3}


def test_objects_do_not_overlap_and_masks_lie_in_their_boxes(train):
    s = train.scenes
    for i in range(len(s)):
        masks = s.mask[i][s.present[i]]
        assert (masks.sum(0) <= 1).all(), f"scene {i}: objects overlap"
        for mask, (x0, y0, x1, y1) in zip(masks, s.box[i][s.present[i]]):
            assert mask.any()
            ys, xs = np.nonzero(mask)
            assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            assert 0 <= x0 < x1 <= 32 and 0 <= y0 < y1 <= 32


def test_objects_are_drawn_in_their_colour_with_antialiased_edges(train):
    s = train.scenes
    from mmlearn.world.scenes import RGB

    checked = 0
    for i in range(50):
        for k in np.flatnonzero(s.present[i]):
            m = s.mask[i, k]
            core = m.copy()  # pixels whose 4 neighbours are inside too: away from the blended edge
            core[1:] &= m[:-1]; core[:-1] &= m[1:]; core[:, 1:] &= m[:, :-1]; core[:, :-1] &= m[:, 1:]  # noqa: E702
            if core.any():
                inside = s.image[i][core].astype(float) / 255
                assert np.abs(np.median(inside, 0) - RGB[s.color[i, k]]).max() < 0.05
                checked += 1
    assert checked > 50
    assert len(np.unique(s.image)) > 200  # blended edge values, not a handful of flat colours


@pytest.mark.parametrize("size", [48, 64])
def test_larger_scenes_work(size):
    split = World(size=size).split("val", 20)
    assert split.scenes.image.shape == (20, size, size, 3)
    assert split.scenes.mask.shape[-2:] == (size, size)


def test_compositional_split_holds_out_pairs(world, train):
    pairs = lambda split: {(SHAPES[a], COLORS[b]) for a, b in zip(split.scenes.shape[split.scenes.present],  # noqa: E731
                                                                  split.scenes.color[split.scenes.present])}
    for split in (train, world.split("val", 300), world.split("test", 300)):
        assert not pairs(split) & set(HELD_OUT_PAIRS)
    comp = world.split("compositional", 300)
    for scene in comp.scenes:
        assert any((o.shape, o.color) in HELD_OUT_PAIRS for o in scene.objects)


# ----------------------------------------------------------------------------------------- language
def matching(scene, words):
    """Objects of the scene that have every attribute word in `words` (shape nouns may be plural)."""
    wanted = [w[:-2] if w.endswith("es") and w[:-2] in SHAPES else w[:-1] if w[:-1] in SHAPES else w for w in words]
    wanted = [w for w in wanted if w not in ("object", "objects")]
    return [o for o in scene.objects if all(w in (o.size, o.color, o.shape) for w in wanted)]


def answer_independently(scene, text):
    """Re-derive a question's answer from the scene record by parsing the question text."""
    if m := re.fullmatch(r"what color is the (.+)", text):
        [o] = matching(scene, m[1].split())
        return o.color
    if m := re.fullmatch(r"what shape is the (.+)", text):
        [o] = matching(scene, m[1].split())
        return o.shape
    if m := re.fullmatch(r"how many (.+) are there", text):
        return str(len(matching(scene, m[1].split())))
    if m := re.fullmatch(r"is there a (.+)", text):
        return "yes" if matching(scene, m[1].split()) else "no"
    if m := re.fullmatch(r"is the (.+) (left of|right of|above|below) the (.+)", text):
        [a], [b] = matching(scene, m[1].split()), matching(scene, m[3].split())
        ok = {"left of": a.x < b.x, "right of": a.x > b.x, "above": a.y < b.y, "below": a.y > b.y}[m[2]]
        return "yes" if ok else "no"
    raise AssertionError(f"unparsed question {text!r}")


def test_every_answer_is_true_of_its_scene(train):
    seen = set()
    for scene, qs in zip(train.scenes, train.questions):
        assert len({q.text for q in qs}) == len(qs)
        for q in qs:
            assert answer_independently(scene, q.text) == q.answer, (q, scene.objects)
            seen.add(q.type)
    assert seen == set(QUESTION_TYPES)


def test_answers_are_balanced_within_each_type(world):
    from collections import Counter

    split = world.split("train", 2000)
    for qtype, threshold in [("exists", 0.45), ("relation", 0.45), ("query_color", 0.14), ("query_shape", 0.17),
                             ("count", 0.1)]:
        counts = Counter(q.answer for qs in split.questions for q in qs if q.type == qtype)
        shares = np.array(list(counts.values())) / sum(counts.values())
        assert shares.min() > threshold, (qtype, counts)


def test_captions_only_mention_what_is_there(train):
    for scene, caps in zip(train.scenes, train.captions):
        assert len(caps) == 5 and len(set(caps)) == 5
        present = {(o.color, o.shape) for o in scene.objects}
        for cap in caps:
            words = tokenize(cap)
            assert scene.place in cap or any(p in cap for p in PLACE_PHRASES[scene.place])
            for i, w in enumerate(words):
                shape = next((s for s in SHAPES if w in (s, plural(s))), None)
                if shape and i > 0 and words[i - 1] in COLORS:
                    assert (words[i - 1], shape) in present, (cap, present)
            for number, k in [("two", 2), ("three", 3)]:
                for m in re.finditer(rf"{number} (\w+) (\w+)", cap):
                    if m[2] in [plural(s) for s in SHAPES]:
                        assert len(matching(scene, [m[1], m[2]])) == k, cap


def test_tags_are_the_attribute_words_present(train):
    scene = train.scenes[0]
    expected = {scene.place} | {getattr(o, a) for o in scene.objects for a in ("size", "color", "shape")}
    assert train.tags[0] == sorted(expected)


def test_vocab_round_trip_and_unknown_words(world, train):
    vocab = world_vocab()
    texts = [c for caps in train.captions for c in caps] + [q.text for qs in train.questions for q in qs]
    for text in texts[:500]:
        ids = vocab.encode(text, bos_eos=True)
        assert ids[0] == Vocab.BOS and ids[-1] == Vocab.EOS and Vocab.UNK not in ids
        assert vocab.decode(ids) == " ".join(tokenize(text))
    assert vocab.encode("a red zebra") == [vocab.stoi["a"], vocab.stoi["red"], Vocab.UNK]
    assert vocab.unknown_words("A red Zebra!") == ["zebra"]
    assert vocab.decode([vocab.stoi["red"], Vocab.EOS, vocab.stoi["circle"]]) == "red"
    again = Vocab.from_json(vocab.to_json())
    assert again.itos == vocab.itos and again.encode(texts[0]) == vocab.encode(texts[0])
    with pytest.raises(ValueError):
        Vocab.from_json('["red"]')


def test_pad():
    ids, lengths = pad([[5, 6, 7], [8]])
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and lengths.tolist() == [3, 1]


# ----------------------------------------------------------------------------------------- task views
def test_task_views_batch_with_padding(world, train):
    vocab = world_vocab()
    images = images_to_tensor(train.scenes.image)
    assert images.shape == (400, 3, 32, 32) and 0 <= images.min() and images.max() <= 1

    pairs = ImageCaptionPairs(images, train.captions, vocab)
    x, ids, lengths, idx = next(iter(DataLoader(pairs, batch_size=8, collate_fn=collate)))
    assert len(pairs) == 2000 and x.shape == (8, 3, 32, 32) and ids.shape == (8, int(lengths.max()))
    assert vocab.decode(ids[1]) == " ".join(tokenize(train.captions[0][1])) and idx.tolist()[:5] == [0] * 5

    seqs = CaptionSequences(images, train.captions, vocab)
    _, ids, _, _ = collate([seqs[0], seqs[1]])
    assert ids[0, 0] == Vocab.BOS and len(seqs.references(0)) == 5

    vqa = VQAExamples(images, train.questions, vocab)
    x, q, q_len, answer, idx = collate([vqa[k] for k in range(4)])
    assert ANSWER_LIST[answer[0]] == train.questions[0][0].answer
    assert set(vqa.types) == set(QUESTION_TYPES)

    labels = SceneLabels(images, train.scenes)
    _, place, hot = labels[0]
    scene = train.scenes[0]
    assert place == PLACES.index(scene.place)
    named = {SceneLabels.NAMES[k] for k in torch.nonzero(hot).flatten().tolist()}
    assert named == {getattr(o, a) for o in scene.objects for a in ("shape", "color", "size")}


def test_unknown_split_and_bad_sizes_are_clear_errors(world):
    with pytest.raises(ValueError, match="unknown split"):
        world.split("holdout", 10)
    with pytest.raises(ValueError, match="too small"):
        World(size=8)


def test_the_vocabulary_is_derived_from_the_grammars(monkeypatch):
    from mmlearn.world import grammar
    from mmlearn.world import clevr as question_grammar

    assert "zebra" not in world_vocab()
    monkeypatch.setattr(grammar, "CAPTION_TEMPLATES", grammar.CAPTION_TEMPLATES + ("a zebra near {objects}",))
    monkeypatch.setattr(question_grammar, "QUESTION_TEMPLATES",
                        question_grammar.QUESTION_TEMPLATES | {"count": "how many {noun} does the giraffe see"})
    vocab = world_vocab()
    assert {"zebra", "near", "giraffe", "does", "see"} <= set(vocab.words)


def test_every_word_the_world_says_is_in_its_vocabulary(world):
    split = world.split("val", 1_000)
    vocab = world_vocab()
    texts = [c for caps in split.captions for c in caps] + [q.text for qs in split.questions for q in qs]
    texts += [q.answer for qs in split.questions for q in qs]
    assert not {w for t in texts for w in vocab.unknown_words(t)}


def test_take_keeps_every_field_of_the_chosen_scenes(train):
    scenes = train.scenes
    some = scenes.take([3, 0, 3])
    assert len(some) == 3 and [(o.shape, o.color, o.box) for o in some[2].objects] == \
        [(o.shape, o.color, o.box) for o in scenes[3].objects]
    for name in ("image", "place", "shape", "color", "size", "center", "box", "mask"):
        assert np.array_equal(getattr(some, name), getattr(scenes, name)[[3, 0, 3]])
    assert np.array_equal(scenes.take(slice(0, 5)).image, scenes.image[:5])
