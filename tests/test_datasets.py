import json

import numpy as np
import pytest

from mmlearn import datasets as ds
from mmlearn import metrics
from mmlearn.text import tokenize
from mmlearn.world import World


@pytest.fixture(scope="module")
def split():
    return World().split("val", 12)


def test_coco_captions_round_trip(tmp_path, split):
    path = ds.write_coco_captions(tmp_path, "val2014", split.scenes.image, split.captions)
    assert path == tmp_path / "annotations" / "captions_val2014.json"
    data = ds.read_coco_captions(path, tmp_path / "val2014")
    assert len(data) == 12 and data.captions == split.captions
    assert np.array_equal(data.load_images(), split.scenes.image)  # PNG is lossless
    assert data.load_images(size=16).shape == (12, 16, 16, 3)      # real photos get resized


def test_karpathy_round_trip(tmp_path, split):
    ds.write_coco_captions(tmp_path, "val2014", split.scenes.image, split.captions)
    coco = ds.read_coco_captions(tmp_path / "annotations" / "captions_val2014.json", tmp_path / "val2014")
    splits = ["train"] * 8 + ["val"] * 2 + ["test"] * 2
    path = ds.write_karpathy(tmp_path / "dataset_coco.json", tmp_path, coco, splits)
    data = ds.read_karpathy(path, tmp_path)
    assert data.captions == split.captions and data.splits == splits
    test = data.subset("test")
    assert len(test) == 2 and np.array_equal(test.load_images(), split.scenes.image[10:])
    sentence = json.loads(path.read_text())["images"][0]["sentences"][0]
    assert sentence["raw"] == split.captions[0][0] and sentence["tokens"] == tokenize(sentence["raw"])


def test_vqa_round_trip(tmp_path, split):
    qpath, apath = ds.write_vqa(tmp_path, "val2014", list(range(1, 13)), split.questions)
    data = ds.read_vqa(qpath, apath)
    flat = [q for qs in split.questions for q in qs]
    assert len(data) == len(flat)
    assert [q.rstrip("?") for q in data.questions] == [q.text for q in flat]
    assert all(len(a) == 10 for a in data.answers)
    assert data.multiple_choice_answers == [q.answer for q in flat]
    assert metrics.vqa_score(data.multiple_choice_answers, data.answers) == 1.0
    assert set(data.answer_types) <= {"yes/no", "number", "other"}


def coco_file(tmp_path, images=None, annotations=None):
    path = tmp_path / "captions.json"
    path.write_text(json.dumps({"images": images if images is not None else [{"id": 1, "file_name": "a.png"}],
                                "annotations": annotations if annotations is not None else
                                [{"image_id": 1, "caption": "a red circle"}]}))
    return path


@pytest.mark.parametrize("images, annotations, problem", [
    ([{"file_name": "a.png"}], None, r"images\[0\] lacks key\(s\) \['id'\]"),
    (None, [{"image_id": 1}], r"annotations\[0\] lacks key\(s\) \['caption'\]"),
    (None, [{"image_id": 1, "caption": 7}], r"caption should be a string"),
    (None, [{"image_id": 2, "caption": "x"}], r"image_id 2, which is not in 'images'"),
])
def test_coco_reader_names_file_and_problem(tmp_path, images, annotations, problem):
    (tmp_path / "a.png").write_bytes(b"")
    path = coco_file(tmp_path, images, annotations)
    with pytest.raises(ds.DatasetFormatError, match=f"captions.json: .*{problem}"):
        ds.read_coco_captions(path, tmp_path)


def test_coco_reader_reports_a_missing_image_and_bad_json(tmp_path):
    path = coco_file(tmp_path)
    with pytest.raises(ds.DatasetFormatError, match=r"a\.png is not there"):
        ds.read_coco_captions(path, tmp_path)
    path.write_text("{not json")
    with pytest.raises(ds.DatasetFormatError, match="captions.json: not valid JSON"):
        ds.read_coco_captions(path, tmp_path)
    with pytest.raises(ds.DatasetFormatError, match="no such file"):
        ds.read_coco_captions(tmp_path / "nope.json", tmp_path)


def test_unreadable_image_is_named(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ds.DatasetFormatError, match="broken.png: not a readable image"):
        ds.load_images([tmp_path / "broken.png"])


def test_duplicate_ids_are_refused_naming_both_entries(tmp_path, split):
    path = ds.write_coco_captions(tmp_path, "val2014", split.scenes.image[:3], split.captions[:3])
    data = json.loads(path.read_text())
    data["images"][2]["id"] = data["images"][0]["id"]
    path.write_text(json.dumps(data))
    with pytest.raises(ds.DatasetFormatError, match=r"images\[0\] and images\[2\] have the same id"):
        ds.read_coco_captions(path, tmp_path / "val2014")

    qpath, apath = ds.write_vqa(tmp_path, "val", [1, 2, 3], split.questions[:3])
    anns = json.loads(apath.read_text())
    anns["annotations"][3]["question_id"] = anns["annotations"][1]["question_id"]
    apath.write_text(json.dumps(anns))
    with pytest.raises(ds.DatasetFormatError, match=r"annotations\[1\] and annotations\[3\] have the same question_id"):
        ds.read_vqa(qpath, apath)
    qpath, apath = ds.write_vqa(tmp_path, "val", [1, 2, 3], split.questions[:3])
    qs = json.loads(qpath.read_text())
    qs["questions"][4]["question_id"] = qs["questions"][0]["question_id"]
    qpath.write_text(json.dumps(qs))
    with pytest.raises(ds.DatasetFormatError, match=r"questions\[0\] and questions\[4\] have the same question_id"):
        ds.read_vqa(qpath, apath)


def test_photos_of_different_sizes_need_a_size(tmp_path):
    ds.write_png(tmp_path / "a.png", np.zeros((20, 30, 3), np.uint8))
    ds.write_png(tmp_path / "b.png", np.zeros((24, 30, 3), np.uint8))
    with pytest.raises(ds.DatasetFormatError, match=r"b.png: 30x24 pixels, but the first image is 30x20.*size="):
        ds.load_images([tmp_path / "a.png", tmp_path / "b.png"])
    assert ds.load_images([tmp_path / "a.png", tmp_path / "b.png"], size=16).shape == (2, 16, 16, 3)


def test_vqa_reader_errors(tmp_path, split):
    qpath, apath = ds.write_vqa(tmp_path, "val", [1] * 12, split.questions)
    questions = json.loads(qpath.read_text())
    questions["questions"].append({"image_id": 1, "question": "what?", "question_id": 9999})
    qpath.write_text(json.dumps(questions))
    with pytest.raises(ds.DatasetFormatError, match="no annotation for question_id 9999"):
        ds.read_vqa(qpath, apath)
    annotations = json.loads(apath.read_text())
    annotations["annotations"][0]["answers"][3]["answer"] = None
    apath.write_text(json.dumps(annotations))
    with pytest.raises(ds.DatasetFormatError, match=r"annotations\.json: annotations\[0\]\.answers\[3\]\.answer"):
        ds.read_vqa(qpath, apath)


def test_an_interrupted_writer_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = ds.write_json(tmp_path / "captions.json", {"old": True})

    def dump_then_die(obj, f, **options):
        f.write('{"half": ')
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dump", dump_then_die)
    with pytest.raises(KeyboardInterrupt):
        ds.write_json(path, {"new": True})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["captions.json"]


# ----------------------------------------------------------------------------------------- VQA accuracy
def test_vqa_accuracy_official_cases():
    humans = ["yes"] * 8 + ["no"] * 2
    assert metrics.vqa_accuracy("yes", humans) == pytest.approx(1.0)
    assert metrics.vqa_accuracy("no", humans) == pytest.approx(0.6)
    assert metrics.vqa_accuracy("maybe", humans) == 0.0
    assert metrics.vqa_accuracy("2", ["2"] * 3 + ["3"] * 7) == pytest.approx(0.9)  # 3 matches: 7/10 x 1 + 3/10 x 2/3
    # the official evaluation normalises only when the humans disagree
    assert metrics.vqa_accuracy("two", ["2"] * 10) == 0.0
    assert metrics.vqa_accuracy("Black.", ["black"] * 10) == 0.0
    assert metrics.vqa_accuracy(" black\n", ["black"] * 10) == 1.0                   # whitespace is always stripped
    assert metrics.vqa_accuracy("Black.", ["black"] * 9 + ["white"]) == 1.0
    assert metrics.vqa_accuracy("two", ["2"] * 9 + ["3"]) == 1.0


@pytest.mark.parametrize("predicted, humans", [(2, ["2"] * 10), (None, ["yes"] * 10), ("yes", []), ("yes", [1] * 10)])
def test_vqa_accuracy_rejects_non_strings(predicted, humans):
    with pytest.raises(TypeError, match="string"):
        metrics.vqa_accuracy(predicted, humans)


@pytest.mark.parametrize("raw, normalized", [
    ("Yes!", "yes"), ("Two", "2"), ("the dog.", "dog"), ("dont", "don't"), ("a red circle", "red circle"),
    ("1,000", "1000"), ("black/white", "black white"), ("3.5", "3.5"), ("  Left  ", "left"),
])
def test_vqa_answer_normalisation(raw, normalized):
    assert metrics.normalize_answer(raw) == normalized


def test_vqa_score_checks_lengths():
    with pytest.raises(ValueError):
        metrics.vqa_score(["yes"], [])
