"""The readers on hand-written samples of the real published layouts (not our writers' output), and on
bad inputs: every bad input is a DatasetFormatError naming the file and the problem, never a raw crash or
a silently wrong result.

| reader | published source | quirks it handles |
|---|---|---|
| `read_coco_captions` | COCO's annotations/captions_{train,val}2014.json | captions grouped by image_id and stripped; a byte-order mark; photos of different sizes (resized on load); an image with no caption, or an image_info file with no annotations, refused |
| `read_karpathy` | Karpathy's dataset_coco.json, dataset_flickr8k.json | no filepath and no cocoid (Flickr8k: imgid); splits train/val/test/restval only ('TEST', 'validation' refused); `subset` of a split that is not there refused |
| `read_vqa` | VQA v2's v2_OpenEnded_mscoco_*_questions.json + v2_mscoco_*_annotations.json | the pair checked (data_subtype, ids, image_id); 10 answers per question |
| `read_esc50` | ESC-50's meta/esc50.csv + audio/*.wav (44.1 kHz) | BOM and CRLF; stereo mixed down and short clips padded (reported); the esc10 column (`esc10_only()`) |
| `read_vggss` | metadata/vggss.json of hche11/Localizing-Visual-Sounds-the-Hard-Way (5,158 clips) | boxes clipped to the frame; its 18 degenerate boxes (points, lines, the -2.88e16 sentinel) dropped and counted, their clips kept; pixel coordinates refused |
| `read_flickr_soundnet` | Flickr-SoundNet's Annotations/<id>.xml + LVS's metadata/flickr_test.csv | bbox children read by position; zero-width and off-frame boxes dropped and counted; the test list (249 clips as published, CRLF, two columns) |
| `read_avspeech` | AVSpeech's avspeech_{train,test}.csv | no header; ids starting with dashes; non-UTF-8 named |
| `read_voxceleb2` | VoxCeleb2's dev/mp4 and dev/aac trees | the aac tree alone (audio-only, vox2_dev_aac.zip) |
| `read_lrs3` | LRS3's <video>/<clip>.mp4 + .txt | 'Text:' first line; non-UTF-8 named |
| `read_reed_captions` | Reed et al.'s text_c10/ with class-name or id split files | U+FFFD pairs read as a space (as StackGAN / AttnGAN do); non-UTF-8 named |
"""
import copy
import json

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from mmlearn import audio_datasets as ad
from mmlearn import datasets as ds
from mmlearn.core import DatasetFormatError


def jpeg(path, width, height, colour=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), colour).save(path, format="JPEG")


def changed(sample, change):
    """A deep copy of a sample with one bad edit applied (the sample itself stays as distributed)."""
    data = copy.deepcopy(sample)
    change(data)
    return data


def write(path, obj, encoding="utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((obj if isinstance(obj, str) else json.dumps(obj)).encode(encoding))
    return path


# ----------------------------------------------------------------------------------------- COCO captions
COCO = {  # captions_val2014.json: info, images (with licence, urls, sizes), licenses, type, annotations
    "info": {"description": "This is stable 1.0 version of the 2014 MS COCO dataset.", "url": "http://mscoco.org",
             "version": "1.0", "year": 2014, "contributor": "Microsoft COCO group",
             "date_created": "2015-01-27 09:11:52.357475"},
    "images": [{"license": 3, "url": "http://mscoco.org/images/391895", "file_name": "COCO_val2014_000000391895.jpg",
                "id": 391895, "width": 64, "date_captured": "2013-11-14 11:18:45", "height": 36},
               {"license": 4, "url": "http://mscoco.org/images/522418", "file_name": "COCO_val2014_000000522418.jpg",
                "id": 522418, "width": 48, "date_captured": "2013-11-14 11:38:44", "height": 64}],
    "licenses": [{"url": "http://creativecommons.org/licenses/by-nc-sa/2.0/", "id": 1,
                  "name": "Attribution-NonCommercial-ShareAlike License"}],
    "type": "captions",
    "annotations": [{"image_id": 391895, "id": 770337, "caption": "A man riding a small moped on a dirt road. "},
                    {"image_id": 522418, "id": 770339, "caption": "A woman wearing a net on her head cutting a cake."},
                    {"image_id": 391895, "id": 771687, "caption": "Man riding a motor bike on a dirt road."}],
}


@pytest.fixture
def coco(tmp_path):
    jpeg(tmp_path / "val2014" / "COCO_val2014_000000391895.jpg", 64, 36)
    jpeg(tmp_path / "val2014" / "COCO_val2014_000000522418.jpg", 48, 64)
    return write(tmp_path / "annotations" / "captions_val2014.json", COCO), tmp_path / "val2014"


def test_coco_captions_as_distributed(coco):
    data = ds.read_coco_captions(*coco)
    assert data.image_ids == [391895, 522418]
    assert data.captions == [["A man riding a small moped on a dirt road.", "Man riding a motor bike on a dirt road."],
                             ["A woman wearing a net on her head cutting a cake."]]  # grouped, stripped
    assert data.paths[1].name == "COCO_val2014_000000522418.jpg"
    with pytest.raises(DatasetFormatError, match="522418.jpg: 48x64 pixels, but the first image is 64x36"):
        data.load_images()                                  # real photos differ in size ...
    images = data.load_images(size=32)                      # ... so they are resized
    assert images.shape == (2, 32, 32, 3) and abs(int(images[0, 16, 16, 0]) - 200) < 8


def test_coco_with_a_byte_order_mark_reads(coco):
    path, images = coco
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert len(ds.read_coco_captions(path, images)) == 2


def _set(obj, key, value):
    obj[key] = value


COCO_BAD = {
    "images missing": (lambda d: d.pop("images"), r"the top level lacks key\(s\) \['images'\]"),
    "images not a list": (lambda d: _set(d, "images", {}), "'images' should be a list, got dict"),
    "an image without id": (lambda d: d["images"][0].pop("id"), r"images\[0\] lacks key\(s\) \['id'\]"),
    "string id": (lambda d: _set(d["images"][1], "id", "522418"), r"images\[1\]\.id should be an integer id"),
    "float id": (lambda d: _set(d["images"][1], "id", 522418.0), r"images\[1\]\.id should be an integer id"),
    "boolean id": (lambda d: _set(d["images"][0], "id", True), r"images\[0\]\.id should be an integer id"),
    "duplicate id": (lambda d: _set(d["images"][1], "id", 391895),
                     r"images\[0\] and images\[1\] have the same id 391895"),
    "file_name a number": (lambda d: _set(d["images"][0], "file_name", 391895),
                           r"images\[0\]\.file_name should be a string"),
    "file_name with ..": (lambda d: _set(d["images"][0], "file_name", "../secret.jpg"),
                          r"'\.\./secret\.jpg' points outside"),
    "absolute file_name": (lambda d: _set(d["images"][0], "file_name", "/etc/passwd"),
                           r"'/etc/passwd' points outside"),
    "Windows absolute file_name": (lambda d: _set(d["images"][0], "file_name", "C:\\x.jpg"),
                                   r"points outside"),
    "Windows .. file_name": (lambda d: _set(d["images"][0], "file_name", "..\\x.jpg"), r"points outside"),
    "empty file_name": (lambda d: _set(d["images"][0], "file_name", ""), r"points outside"),
    "caption not a string": (lambda d: _set(d["annotations"][2], "caption", ["a", "b"]),
                             r"annotations\[2\]\.caption should be a string"),
    "string image_id in annotation": (lambda d: _set(d["annotations"][0], "image_id", "391895"),
                                      r"annotations\[0\]\.image_id should be an integer id"),
    "unknown image_id": (lambda d: _set(d["annotations"][1], "image_id", 7),
                         r"annotations\[1\] refers to image_id 7, which is not in 'images'"),
    "image file missing": (lambda d: _set(d["images"][1], "file_name", "COCO_val2014_000000000001.jpg"),
                           r"image 522418's file .*000000000001\.jpg is not there"),
    "no annotations": (lambda d: _set(d, "annotations", []),
                       r"2 of 2 image\(s\) have no caption \(first: image 391895\): 'annotations' is empty"),
    "an image without caption": (lambda d: _set(d, "annotations", [d["annotations"][0], d["annotations"][2]]),
                                 r"1 of 2 image\(s\) have no caption \(first: image 522418\)"),
}


@pytest.mark.parametrize("case", COCO_BAD)
def test_coco_bad_input(coco, case):
    path, images = coco
    change, problem = COCO_BAD[case]
    write(path, changed(COCO, change))
    with pytest.raises(DatasetFormatError, match=f"captions_val2014.json: .*{problem}"):
        ds.read_coco_captions(path, images)


@pytest.mark.parametrize("content, problem", [
    (b"{\"images\": [", "not valid JSON"),
    (b"", "not valid JSON"),
    (b"[{}]", "the top level should be a JSON object, got list"),
    ("{\"caption\": \"caf\u00e9\"}".encode("latin-1"), "not UTF-8 text"),
    ("{\"caption\": \"caf\u00e9\"}".encode("utf-16"), "not UTF-8 text"),
])
def test_coco_unreadable_files(coco, content, problem):
    path, images = coco
    path.write_bytes(content)
    with pytest.raises(DatasetFormatError, match=f"captions_val2014.json: {problem}"):
        ds.read_coco_captions(path, images)


def test_coco_folder_or_missing_file_or_folder_as_image(coco, tmp_path):
    path, images = coco
    with pytest.raises(DatasetFormatError, match="annotations: is a folder, not a JSON file"):
        ds.read_coco_captions(path.parent, images)
    with pytest.raises(DatasetFormatError, match="captions_train2014.json: no such file"):
        ds.read_coco_captions(path.parent / "captions_train2014.json", images)
    (images / "COCO_val2014_000000522418.jpg").unlink()
    (images / "COCO_val2014_000000522418.jpg").mkdir()
    with pytest.raises(DatasetFormatError, match="522418.jpg is not there"):
        ds.read_coco_captions(path, images)


# ----------------------------------------------------------------------------------------- Karpathy splits
KARPATHY_COCO = {"dataset": "coco", "images": [
    {"filepath": "val2014", "sentids": [770337, 771687], "filename": "COCO_val2014_000000391895.jpg", "imgid": 0,
     "split": "test", "cocoid": 391895,
     "sentences": [{"tokens": ["a", "man", "riding", "a", "small", "moped", "on", "a", "dirt", "road"],
                    "raw": "A man riding a small moped on a dirt road. ", "imgid": 0, "sentid": 770337},
                   {"tokens": ["man", "riding", "a", "motor", "bike", "on", "a", "dirt", "road"],
                    "raw": "Man riding a motor bike on a dirt road.", "imgid": 0, "sentid": 771687}]},
    {"filepath": "train2014", "sentids": [770339], "filename": "COCO_train2014_000000057870.jpg", "imgid": 1,
     "split": "restval", "cocoid": 57870,
     "sentences": [{"tokens": ["a", "restaurant", "has", "modern", "wooden", "tables"],
                    "raw": "A restaurant has modern wooden tables", "imgid": 1, "sentid": 770339}]}]}
KARPATHY_FLICKR8K = {"dataset": "flickr8k", "images": [  # no filepath, no cocoid
    {"sentids": [0, 1], "imgid": 0, "split": "train", "filename": "2513260012_03d33305cf.jpg",
     "sentences": [{"tokens": ["a", "black", "dog", "is", "running"], "raw": "A black dog is running .",
                    "imgid": 0, "sentid": 0},
                   {"tokens": ["a", "dog", "runs"], "raw": "A dog runs .", "imgid": 0, "sentid": 1}]},
    {"sentids": [2], "imgid": 1, "split": "val", "filename": "2903617548_d3e38d7f88.jpg",
     "sentences": [{"tokens": ["a", "little", "baby", "plays"], "raw": "A little baby plays croquet .",
                    "imgid": 1, "sentid": 2}]}]}


@pytest.fixture
def karpathy(tmp_path):
    jpeg(tmp_path / "coco" / "val2014" / "COCO_val2014_000000391895.jpg", 64, 36)
    jpeg(tmp_path / "coco" / "train2014" / "COCO_train2014_000000057870.jpg", 64, 48)
    jpeg(tmp_path / "Flicker8k_Dataset" / "2513260012_03d33305cf.jpg", 50, 40)
    jpeg(tmp_path / "Flicker8k_Dataset" / "2903617548_d3e38d7f88.jpg", 40, 50)
    return (write(tmp_path / "dataset_coco.json", KARPATHY_COCO), tmp_path / "coco",
            write(tmp_path / "dataset_flickr8k.json", KARPATHY_FLICKR8K), tmp_path / "Flicker8k_Dataset")


def test_karpathy_coco_and_flickr8k_as_distributed(karpathy):
    coco_file, coco_root, flickr_file, flickr_root = karpathy
    coco = ds.read_karpathy(coco_file, coco_root)
    assert coco.image_ids == [391895, 57870] and coco.splits == ["test", "restval"]
    assert coco.paths[1] == coco_root / "train2014" / "COCO_train2014_000000057870.jpg"
    assert coco.captions[0] == ["A man riding a small moped on a dirt road.", "Man riding a motor bike on a dirt road."]
    flickr = ds.read_karpathy(flickr_file, flickr_root)
    assert flickr.image_ids == [0, 1] and flickr.splits == ["train", "val"]   # imgid where there is no cocoid
    assert flickr.paths[0] == flickr_root / "2513260012_03d33305cf.jpg"
    assert flickr.subset("val").captions == [["A little baby plays croquet ."]]
    assert flickr.subset("val").load_images(size=8).shape == (1, 8, 8, 3)


KARPATHY_BAD = {
    "sentences not a list": (lambda d: _set(d["images"][0], "sentences", "A man."),
                             r"images\[0\]\.sentences should be a list"),
    "a sentence without raw": (lambda d: d["images"][0]["sentences"][1].pop("raw"),
                               r"images\[0\]\.sentences\[1\] lacks key\(s\) \['raw'\]"),
    "raw not a string": (lambda d: _set(d["images"][1]["sentences"][0], "raw", None),
                         r"images\[1\]\.sentences\[0\]\.raw should be a string"),
    "filepath a number": (lambda d: _set(d["images"][0], "filepath", 2014), r"images\[0\]\.filepath should be a string"),
    "filepath with ..": (lambda d: _set(d["images"][0], "filepath", "../../etc"), r"points outside"),
    "absolute filename": (lambda d: _set(d["images"][1], "filename", "/tmp/x.jpg"), r"points outside"),
    "string cocoid": (lambda d: _set(d["images"][1], "cocoid", "57870"), r"images\[1\]\.cocoid should be an integer"),
    "duplicate cocoid": (lambda d: _set(d["images"][1], "cocoid", 391895),
                         r"images\[0\] and images\[1\] have the same cocoid 391895"),
    "split a number": (lambda d: _set(d["images"][0], "split", 1), r"images\[0\]\.split should be a string"),
    "no split": (lambda d: d["images"][0].pop("split"), r"images\[0\] lacks key\(s\) \['split'\]"),
    "split in capitals": (lambda d: _set(d["images"][0], "split", "TEST"), r"images\[0\]\.split is 'TEST'; Karpathy's"),
    "split 'validation'": (lambda d: _set(d["images"][1], "split", "validation"), r"images\[1\]\.split is 'validation'"),
    "file missing": (lambda d: _set(d["images"][0], "filename", "COCO_val2014_000000000002.jpg"), r"is not there"),
}


@pytest.mark.parametrize("case", KARPATHY_BAD)
def test_karpathy_bad_input(karpathy, case):
    coco_file, coco_root, _, _ = karpathy
    change, problem = KARPATHY_BAD[case]
    write(coco_file, changed(KARPATHY_COCO, change))
    with pytest.raises(DatasetFormatError, match=f"dataset_coco.json: .*{problem}"):
        ds.read_karpathy(coco_file, coco_root)


def test_flickr8k_duplicate_imgid_is_named(karpathy):
    _, _, flickr_file, flickr_root = karpathy
    data = copy.deepcopy(KARPATHY_FLICKR8K)
    data["images"][1]["imgid"] = 0
    write(flickr_file, data)
    with pytest.raises(DatasetFormatError, match=r"images\[0\] and images\[1\] have the same imgid 0"):
        ds.read_karpathy(flickr_file, flickr_root)


# ----------------------------------------------------------------------------------------- VQA v2
REAL_QUESTIONS = {  # the layout of v2_OpenEnded_mscoco_val2014_questions.json, two entries written by hand
    "info": {"description": "This is v2.0 of the VQA dataset.", "version": "2.0", "year": 2017},
    "task_type": "Open-Ended", "data_type": "mscoco", "license": {"name": "Creative Commons", "url": "http://"},
    "data_subtype": "val2014",
    "questions": [{"image_id": 262148, "question": "Where is he looking?", "question_id": 262148000},
                  {"image_id": 262148, "question": "How many people are in the image?", "question_id": 262148002}]}
REAL_ANNOTATIONS = {
    "info": REAL_QUESTIONS["info"], "license": REAL_QUESTIONS["license"], "data_subtype": "val2014",
    "annotations": [
        {"question_type": "where is he", "multiple_choice_answer": "down", "answer_type": "other",
         "image_id": 262148, "question_id": 262148000,
         "answers": [{"answer": a, "answer_confidence": "yes", "answer_id": k + 1} for k, a in
                     enumerate(["down", "down", "at table", "skateboard", "down", "table", "down", "down", "down", "down"])]},
        {"question_type": "how many", "multiple_choice_answer": "2", "answer_type": "number",
         "image_id": 262148, "question_id": 262148002,
         "answers": [{"answer": a, "answer_confidence": "maybe", "answer_id": k + 1} for k, a in
                     enumerate(["2", "two", "2", "3", "2", "2", "Two.", "2", "1", "2"])]}],
    "data_type": "mscoco"}


@pytest.fixture
def vqa(tmp_path):
    return (write(tmp_path / "v2_OpenEnded_mscoco_val2014_questions.json", REAL_QUESTIONS),
            write(tmp_path / "v2_mscoco_val2014_annotations.json", REAL_ANNOTATIONS))


def test_vqa_v2_as_distributed(vqa):
    data = ds.read_vqa(*vqa)
    assert data.question_ids == [262148000, 262148002] and data.image_ids == [262148, 262148]
    assert data.answers[1][6] == "Two." and data.answer_types == ["other", "number"]
    assert data.multiple_choice_answers == ["down", "2"] and data.question_types == ["where is he", "how many"]


VQA_BAD = {  # (which file, change, problem)
    "string question_id": ("q", lambda q, a: _set(q["questions"][0], "question_id", "262148000"),
                           r"questions\[0\]\.question_id should be an integer id"),
    "string image_id": ("q", lambda q, a: _set(q["questions"][1], "image_id", "262148"),
                        r"questions\[1\]\.image_id should be an integer id"),
    "question not a string": ("q", lambda q, a: _set(q["questions"][1], "question", 5),
                              r"questions\[1\]\.question should be a string"),
    "duplicate question_id": ("q", lambda q, a: _set(q["questions"][1], "question_id", 262148000),
                              r"questions\[0\] and questions\[1\] have the same question_id 262148000"),
    "a question without annotation": ("a", lambda q, a: a["annotations"].pop(1),
                                      r"no annotation for question_id 262148002"),
    "an annotation without question": ("a", lambda q, a: q["questions"].pop(1),
                                       r"1 annotation\(s\) have no question .* not a questions/annotations pair"),
    "pair of different splits": ("q", lambda q, a: _set(q, "data_subtype", "train2014"),
                                 r"is split 'train2014' but .* is 'val2014': not a questions/annotations pair"),
    "image_id differs from annotation": ("q", lambda q, a: _set(q["questions"][0], "image_id", 9),
                                         r"questions\[0\] \(question_id 262148000\) is about image 9, but its annotation"),
    "answers empty": ("a", lambda q, a: _set(a["annotations"][0], "answers", []),
                      r"annotations\[0\]\.answers should be a non-empty list"),
    "answer a number": ("a", lambda q, a: _set(a["annotations"][1]["answers"][0], "answer", 2),
                        r"annotations\[1\]\.answers\[0\]\.answer should be a string"),
    "multiple_choice_answer a number": ("a", lambda q, a: _set(a["annotations"][1], "multiple_choice_answer", 2),
                                        r"annotations\[1\]\.multiple_choice_answer should be a string"),
    "duplicate annotation": ("a", lambda q, a: _set(a["annotations"][1], "question_id", 262148000),
                             r"annotations\[0\] and annotations\[1\] have the same question_id"),
    "questions not a list": ("q", lambda q, a: _set(q, "questions", None), r"'questions' should be a list"),
    "three answers": ("a", lambda q, a: _set(a["annotations"][1], "answers", a["annotations"][1]["answers"][:3]),
                      r"annotations\[1\] has 3 answers; VQA v2 gives 10"),
}


@pytest.mark.parametrize("case", VQA_BAD)
def test_vqa_bad_input(vqa, case):
    which, change, problem = VQA_BAD[case]
    questions, annotations = copy.deepcopy(REAL_QUESTIONS), copy.deepcopy(REAL_ANNOTATIONS)
    change(questions, annotations)
    write(vqa[0], questions)
    write(vqa[1], annotations)
    named = {"q": "questions.json", "a": "annotations.json"}[which]
    with pytest.raises(DatasetFormatError, match=f"{named}:? .*{problem}"):
        ds.read_vqa(*vqa)


def test_vqa_folder_given_as_file(vqa):
    with pytest.raises(DatasetFormatError, match="is a folder"):
        ds.read_vqa(vqa[0], vqa[1].parent)


# ----------------------------------------------------------------------------------------- ESC-50
ESC50_CSV = """filename,fold,target,category,esc10,src_file,take
1-100032-A-0.wav,1,0,dog,True,100032,A
1-100038-A-14.wav,1,14,chirping_birds,False,100038,A
2-102414-C-17.wav,2,17,pouring_water,False,102414,C
"""


def wav(path, seconds=0.05, rate=44_100, channels=1, value=0.25):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.full((int(seconds * rate), channels), value, np.float32), rate, subtype="PCM_16")


@pytest.fixture
def esc50(tmp_path):
    for name in ("1-100032-A-0.wav", "1-100038-A-14.wav", "2-102414-C-17.wav"):
        wav(tmp_path / "audio" / name)
    write(tmp_path / "meta" / "esc50.csv", ESC50_CSV)
    return tmp_path


def test_esc50_as_distributed(esc50):
    data = ad.read_esc50(esc50)
    assert data.folds == [1, 1, 2] and data.targets == [0, 14, 17]
    assert data.categories[0] == "dog" and data.categories[14] == "chirping_birds" and data.categories[1] == "class 1"
    clips = data.load(sample_rate=44_100)
    assert clips.shape == (3, 2205) and np.allclose(clips, 0.25, atol=1e-4)


def test_esc10_is_selected_by_the_release_s_column(esc50):
    data = ad.read_esc50(esc50)
    assert data.esc10 == [True, False, False]
    ten = data.esc10_only()
    assert [p.name for p in ten.paths] == ["1-100032-A-0.wav"] and ten.targets == [0] and ten.categories[0] == "dog"
    write(esc50 / "meta" / "esc50.csv", ESC50_CSV.replace(",True,", ",yes,"))
    with pytest.raises(DatasetFormatError, match="line 2: esc10 should be True or False, got 'yes'"):
        ad.read_esc50(esc50)


def test_a_split_that_is_not_there_is_refused(karpathy, coco):
    coco_file, coco_root, _, _ = karpathy
    with pytest.raises(ValueError, match=r"no image is in split 'validation'; the splits here are \['restval', 'test'\]"):
        ds.read_karpathy(coco_file, coco_root).subset("validation")
    with pytest.raises(ValueError, match="name no splits: a COCO captions file is one split already"):
        ds.read_coco_captions(*coco).subset("val")


def test_esc50_with_a_byte_order_mark_and_crlf_reads(esc50):
    write(esc50 / "meta" / "esc50.csv", "\ufeff" + ESC50_CSV.replace("\n", "\r\n"))
    assert ad.read_esc50(esc50).targets == [0, 14, 17]


ESC50_BAD = {
    "empty file": ("", r"empty file"),
    "header only": (ESC50_CSV.splitlines()[0] + "\n", r"has a header but no rows"),
    "column missing": (ESC50_CSV.replace("target,", "label,"), r"missing column\(s\) \['target'\]"),
    "fold not a number": (ESC50_CSV.replace("2-102414-C-17.wav,2,", "2-102414-C-17.wav,two,"),
                          r"line 4: fold and target must be integers, got 'two', '17'"),
    "negative target": (ESC50_CSV.replace(",14,chirping", ",-14,chirping"), r"line 3: target -14 is negative"),
    "short row": (ESC50_CSV + "3-1-A-0.wav,3\n", r"line 5: 7 columns expected"),
    "long row": (ESC50_CSV + "3-1-A-0.wav,3,0,dog,True,1,A,extra\n", r"line 5: 7 columns expected"),
    "one target, two names": (ESC50_CSV.replace(",17,pouring_water", ",14,pouring_water"),
                              r"line 4: target 14 is both 'chirping_birds' and 'pouring_water'"),
    "a file listed twice": (ESC50_CSV + "1-100032-A-0.wav,1,0,dog,True,100032,A\n",
                            r"lines 2 and 5 list the same file '1-100032-A-0.wav'"),
    "filename with ..": (ESC50_CSV.replace("1-100032-A-0.wav", "../1-100032-A-0.wav"), r"line 2: .* points outside"),
    "absolute filename": (ESC50_CSV.replace("1-100032-A-0.wav", "/tmp/1-100032-A-0.wav"), r"line 2: .* points outside"),
    "audio missing": (ESC50_CSV.replace("1-100038-A-14.wav", "1-999-A-14.wav"), r"line 3: audio file .* is not there"),
}


@pytest.mark.parametrize("case", ESC50_BAD)
def test_esc50_bad_csv(esc50, case):
    text, problem = ESC50_BAD[case]
    write(esc50 / "meta" / "esc50.csv", text)
    with pytest.raises(DatasetFormatError, match=f"esc50.csv,? .*{problem}|esc50.csv: {problem}"):
        ad.read_esc50(esc50)


def test_esc50_unreadable_csv(esc50):
    write(esc50 / "meta" / "esc50.csv", ESC50_CSV.replace("dog", "chien \u00e0 poil"), encoding="latin-1")
    with pytest.raises(DatasetFormatError, match="esc50.csv: not UTF-8 text"):
        ad.read_esc50(esc50)
    (esc50 / "meta" / "esc50.csv").unlink()
    with pytest.raises(DatasetFormatError, match="esc50.csv: no such file"):
        ad.read_esc50(esc50)
    (esc50 / "meta" / "esc50.csv").mkdir()
    with pytest.raises(DatasetFormatError, match="esc50.csv: is a folder"):
        ad.read_esc50(esc50)


def test_esc50_bad_audio(esc50):
    audio = esc50 / "audio"
    data = ad.read_esc50(esc50)
    whole = (audio / "1-100038-A-14.wav").read_bytes()
    (audio / "1-100038-A-14.wav").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DatasetFormatError, match=r"1-100038-A-14.wav: truncated: its header declares 2205 frames, "
                                                 r"the file holds 10\d\d"):
        data.load()
    (audio / "1-100038-A-14.wav").write_bytes(whole[:30])
    with pytest.raises(DatasetFormatError, match="1-100038-A-14.wav: not a readable sound file"):
        data.load()
    wav(audio / "1-100038-A-14.wav", rate=22_050)
    with pytest.raises(DatasetFormatError, match=r"1-100038-A-14.wav: sample rate 22050 Hz, but .*1-100032-A-0.wav "
                                                 r"is 44100 Hz"):
        data.load()
    with pytest.raises(DatasetFormatError, match=r"1-100038-A-14.wav: sample rate 22050 Hz, expected 44100"):
        ad.SoundData(data.paths[1:], [1, 2], [14, 17], data.categories).load(sample_rate=44_100)


def test_esc50_stereo_and_short_clips_are_converted_and_reported(esc50, capsys):
    audio = esc50 / "audio"
    left_right = np.stack([np.full(2205, 0.5), np.full(2205, -0.1)], axis=1).astype(np.float32)
    sf.write(audio / "1-100032-A-0.wav", left_right, 44_100, subtype="PCM_16")
    wav(audio / "2-102414-C-17.wav", seconds=0.02)
    clips = ad.read_esc50(esc50).load()
    out = capsys.readouterr().out
    assert "1 clip(s) with several channels mixed down to mono (mean of channels)" in out and "1-100032-A-0.wav" in out
    assert "1 clip(s) shorter than the longest (2205 samples) padded with silence" in out and "2-102414-C-17" in out
    assert np.allclose(clips[0], 0.2, atol=1e-3)                      # (0.5 + -0.1) / 2
    assert np.allclose(clips[2, :882], 0.25, atol=1e-3) and np.all(clips[2, 882:] == 0)


# ----------------------------------------------------------------------------------------- sound localization
VGGSS = [  # vggss.json: one object per clip, boxes as fractions of the frame
    {"file": "---g-f_I2yQ_000001", "class": "playing electric guitar", "bbox": [[0.3125, 0.2, 0.75, 0.96875]]},
    {"file": "-0BKyt8iZ1I_000030", "class": "dog barking",
     "bbox": [[0.0, 0.4, 0.35, 1.0], [0.6, 0.45, 1.02, 0.99]]},   # two sources; 1.02 is clipped as the evaluators do
]
# One Flickr-SoundNet XML per clip, one <bbox> per annotator two levels under the root. The tag names inside
# <bbox> here are illustrative: the public evaluators (LVS, EZ-VSL, SLAVC test scripts) read its children by
# position (skip the first, then xmin, ymin, xmax, ymax in a 256 x 256 frame), and so does our reader.
FLICKR_XML = """<?xml version="1.0"?>
<annotation>
  <object><bbox><idx>1</idx><xmin>64</xmin><ymin>32</ymin><xmax>192</xmax><ymax>224</ymax></bbox></object>
  <object><bbox><idx>2</idx><xmin>80</xmin><ymin>48</ymin><xmax>176</xmax><ymax>256</ymax></bbox></object>
</annotation>
"""


def test_vggss_as_distributed(tmp_path):
    data = ad.read_vggss(write(tmp_path / "vggss.json", VGGSS))
    assert data.files == ["---g-f_I2yQ_000001", "-0BKyt8iZ1I_000030"] and data.classes[1] == "dog barking"
    assert data.boxes[0] == [(0.3125, 0.2, 0.75, 0.96875)] and data.boxes[1][1] == (0.6, 0.45, 1.0, 0.99)


# Entries copied in the release's exact form (metadata/vggss.json of hche11/Localizing-Visual-Sounds-the-Hard-Way,
# 5,158 clips): a point box beside two real ones, a line box alone in its clip, a lost coordinate (the sentinel
# -2.88e16) beside a real box, and a box on the frame's right edge.
VGGSS_QUIRKS = [
    {"file": "UyCw7pCgYg8_000055", "class": "tap dancing", "bbox": [[0.503125, 0.403125, 0.6468750000000001, 0.6625000000000001],
                                                                    [0.253125, 0.065625, 0.375, 0.259375],
                                                                    [0.00625, 0.015625, 0.00625, 0.015625]]},
    {"file": "M1P1xla8rg0_000000", "class": "playing tambourine", "bbox": [[0.26875, 1.0, 0.753125, 1.0]]},
    {"file": "Db6Hjt0x28k_000056", "class": "playing timbales", "bbox": [[0.384375, 0.859375, 0.696875, -2.8823037615171176e+16],
                                                                         [0.05, 0.35625, 0.753125, 0.98125]]},
    {"file": "c-8SLUH5pp4_000030", "class": "playing bass guitar", "bbox": [[1.0, 0.0, 1.0, 1.0],
                                                                            [0.009375, 0.20625, 0.49375, 0.9624999999999999]]},
    {"file": "made_up_000001", "class": "outside", "bbox": [[1.2, 0.1, 1.5, 0.5], [0.5, 0, 0.2, 1]]},   # off-frame, inverted
]


def test_vggss_degenerate_boxes_are_dropped_as_the_evaluators_paint_them(tmp_path, capsys):
    data = ad.read_vggss(write(tmp_path / "vggss.json", VGGSS_QUIRKS))
    assert data.files == [e["file"] for e in VGGSS_QUIRKS]                        # every clip kept
    assert [len(b) for b in data.boxes] == [2, 0, 1, 1, 0] and data.degenerate == 6
    assert data.boxes[2] == [(0.05, 0.35625, 0.753125, 0.98125)]
    out = capsys.readouterr().out
    assert "6 box(es) in 5 clip(s) paint nothing" in out and "2 clip(s) are left with no box" in out


def test_flickr_soundnet_test_list_and_degenerate_boxes(tmp_path, capsys):
    write(tmp_path / "Annotations" / "10000130166.xml", FLICKR_XML)
    write(tmp_path / "Annotations" / "10007936344.xml", FLICKR_XML.replace("<xmax>192</xmax>", "<xmax>64</xmax>"))  # zero width
    write(tmp_path / "Annotations" / "99.xml", FLICKR_XML)                                 # not in the test list
    (tmp_path / "flickr_test.csv").write_bytes(b"10000130166,202\r\n10007936344,0\r\n")   # LVS's CSV, CRLF
    data = ad.read_flickr_soundnet(tmp_path / "Annotations", tmp_path / "flickr_test.csv")
    assert data.files == ["10000130166", "10007936344"] and data.degenerate == 1
    assert data.boxes[1] == [(0.3125, 0.1875, 0.6875, 1.0)]                       # the other annotator's box
    assert "1 box(es) in 1 clip(s) paint nothing" in capsys.readouterr().out
    assert len(ad.read_flickr_soundnet(tmp_path / "Annotations")) == 3           # without a list: every XML
    with pytest.raises(DatasetFormatError, match="1 clip\\(s\\) of the test list have no annotation file: 5.xml"):
        ad.read_flickr_soundnet(tmp_path / "Annotations", ["10000130166", "5"])
    write(tmp_path / "Annotations" / "10000130166.xml", FLICKR_XML.replace("<xmax>192</xmax>", "<xmax>900</xmax>"))
    with pytest.raises(DatasetFormatError, match="bbox 0: box .* lies far outside the frame.*256-pixel frame"):
        ad.read_flickr_soundnet(tmp_path / "Annotations", ["10000130166"])


def test_flickr_soundnet_as_distributed(tmp_path):
    write(tmp_path / "Annotations" / "10000130166.xml", FLICKR_XML)
    data = ad.read_flickr_soundnet(tmp_path / "Annotations")
    assert data.files == ["10000130166"]
    assert data.boxes[0] == [(0.25, 0.125, 0.75, 0.875), (0.3125, 0.1875, 0.6875, 1.0)]  # pixels / 256


@pytest.mark.parametrize("content, problem", [
    ({"file": "a", "bbox": []}, r"should be a JSON list of clips"),
    ([{"file": "a"}], r"\[0\] should be an object with 'file' and 'bbox'"),
    ([{"file": 7, "bbox": [[0, 0, 1, 1]]}], r"\[0\]\.file should be a string"),
    ([{"file": "a", "bbox": []}], r"\[0\]\.bbox should be a non-empty list"),
    ([{"file": "a", "bbox": [[0, 0, 1]]}], r"\[0\]\.bbox\[0\]: a box is four numbers"),
    ([{"file": "a", "bbox": [["0", 0, 1, 1]]}], r"\[0\]\.bbox\[0\]: a box is four numbers"),
    ([{"file": "a", "bbox": [[97, 0, 305, 320]]}], r"\[0\]\.bbox\[0\]: box .* lies far outside the frame: the file "
                                                  r"should hold fractions of the frame"),       # pixels, not fractions
    ([{"file": "a", "bbox": [[0, 0, 1, 1]]}, {"file": "a", "bbox": [[0, 0, 1, 1]]}], r"\[0\] and \[1\] are both clip 'a'"),
])
def test_vggss_bad_input(tmp_path, content, problem):
    with pytest.raises(DatasetFormatError, match=f"vggss.json: {problem}"):
        ad.read_vggss(write(tmp_path / "vggss.json", content))


@pytest.mark.parametrize("xml, problem", [
    ("<annotation><object><bbox>", r"1\.xml: not valid XML"),
    ("<annotation><object><name>dog</name></object></annotation>", r"1\.xml: no <bbox> element"),
    ("<annotation><object><bbox><idx>1</idx><xmin>a</xmin><ymin>0</ymin><xmax>9</xmax><ymax>9</ymax></bbox></object>"
     "</annotation>", r"1\.xml: bbox 0 should hold integer pixel coordinates"),
    ("<annotation><object><bbox><idx>1</idx><xmin>0</xmin><ymin>0</ymin></bbox></object></annotation>",
     r"1\.xml: bbox 0: a box is four numbers"),
])
def test_flickr_soundnet_bad_input(tmp_path, xml, problem):
    write(tmp_path / "1.xml", xml)
    with pytest.raises(DatasetFormatError, match=problem):
        ad.read_flickr_soundnet(tmp_path)


def test_flickr_soundnet_missing_or_empty_folder(tmp_path):
    with pytest.raises(DatasetFormatError, match="nope: no such folder"):
        ad.read_flickr_soundnet(tmp_path / "nope")
    with pytest.raises(DatasetFormatError, match="no .xml annotation files"):
        ad.read_flickr_soundnet(tmp_path)
