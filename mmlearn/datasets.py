"""Readers and writers for real datasets' published formats — the one data path of the course.

Notebooks write a world split in a real format, then read it back with the same reader a learner
would point at the real dataset on disk:

    write_coco_captions(root, "val2014", images, captions)       # annotations/captions_val2014.json + val2014/*.png
    data = read_coco_captions(root / "annotations/captions_val2014.json", root / "val2014")

Formats: COCO captions, Karpathy splits (dataset_coco.json / dataset_flickr8k.json), VQA v2
(questions + annotations JSON), Reed et al.'s fine-grained captions (CUB-200 / Oxford-102:
text_c10/<class>/<image>.txt) and the word-vector test sets (WordSim-353, SimLex-999, Google's analogies, as
gensim ships them); sound datasets (ESC-50, the shipped speech) are in `audio_datasets`. Readers raise `DatasetFormatError` naming the file and the problem: JSON is read as UTF-8
and CSV as UTF-8 with or without a byte-order mark; ids must be integers; file names must stay inside
their folder. Writers are all-or-nothing (`core.atomic_set`): a dataset's annotations and its images are
swapped in together, so an interrupted write never pairs new images with old captions or new questions
with old answers. (The official VQA accuracy is a metric: `mmlearn.metrics.vqa_accuracy`.)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .core import (DatasetFormatError, atomic_set, atomic_write, finish_interrupted_write, path_inside, read_json,
                   read_text, write_json)
from .text import tokenize


# ----------------------------------------------------------------------------------------- file helpers
def write_png(path: str | Path, image: np.ndarray) -> None:
    """Save an (H, W, 3) uint8 image as PNG, atomically."""
    from PIL import Image

    with atomic_write(path) as tmp:
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(tmp, format="PNG")


def _require(path, obj, keys, where):
    if not isinstance(obj, dict):
        raise DatasetFormatError(f"{path}: {where} should be a JSON object, got {type(obj).__name__}")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise DatasetFormatError(f"{path}: {where} lacks key(s) {missing}")


def _list_of(path, data, key, where="the top level"):
    _require(path, data, [key], where)
    if not isinstance(data[key], list):
        label = f"'{key}'" if where == "the top level" else f"{where}.{key}"
        raise DatasetFormatError(f"{path}: {label} should be a list, got {type(data[key]).__name__}")
    return data[key]


def _id(path, value, where):
    """An integer id (COCO and VQA ids are JSON integers; a string or float id would silently match nothing)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DatasetFormatError(f"{path}: {where} should be an integer id, got {value!r}")
    return value


def _string(path, value, where):
    if not isinstance(value, str):
        raise DatasetFormatError(f"{path}: {where} should be a string, got {value!r}")
    return value


def load_images(paths, size: int | None = None) -> np.ndarray:
    """Read image files into an (N, H, W, 3) uint8 array, resized to size x size if given (real photos vary)."""
    from PIL import Image

    images = []
    for p in paths:
        try:
            with Image.open(p) as im:
                im = im.convert("RGB")
                if size is not None and im.size != (size, size):
                    im = im.resize((size, size), Image.BILINEAR)
                images.append(np.asarray(im))
        except FileNotFoundError:
            raise DatasetFormatError(f"{p}: image file not found") from None
        except OSError as error:
            raise DatasetFormatError(f"{p}: not a readable image ({error})") from None
        if images[-1].shape != images[0].shape:
            raise DatasetFormatError(f"{p}: {images[-1].shape[1]}x{images[-1].shape[0]} pixels, but the first image is "
                                     f"{images[0].shape[1]}x{images[0].shape[0]}; real photos differ in size: pass "
                                     "size=... to resize them all")
    return np.stack(images) if images else np.zeros((0, size or 0, size or 0, 3), np.uint8)


# ----------------------------------------------------------------------------------------- COCO captions
@dataclass
class CaptionData:
    """Images with their reference captions, as read from COCO-captions or Karpathy-split files.

    image_ids[i] has its file at paths[i] and its captions at captions[i] (a list, usually 5).
    """

    image_ids: list[int]
    paths: list[Path]
    captions: list[list[str]]
    splits: list[str] = field(default_factory=list)  # Karpathy files name each image's split

    def __len__(self) -> int:
        return len(self.image_ids)

    def load_images(self, size: int | None = None) -> np.ndarray:
        return load_images(self.paths, size)

    def subset(self, split: str) -> "CaptionData":
        """The images of one split (Karpathy files name each image's); an unknown split raises ValueError."""
        if not self.splits:
            raise ValueError("these captions name no splits: a COCO captions file is one split already (read "
                             "captions_val2014.json for 'val'); a Karpathy file names each image's")
        if split not in self.splits:
            raise ValueError(f"no image is in split {split!r}; the splits here are {sorted(set(self.splits))}")
        keep = [i for i, s in enumerate(self.splits) if s == split]
        pick = lambda xs: [xs[i] for i in keep]  # noqa: E731
        return CaptionData(pick(self.image_ids), pick(self.paths), pick(self.captions), pick(self.splits))


def write_coco_captions(root: str | Path, split: str, images: np.ndarray, captions: list[list[str]],
                        image_ids: list[int] | None = None) -> Path:
    """Write images as root/<split>/COCO_<split>_<id>.png and root/annotations/captions_<split>.json.

    All-or-nothing: the folder root/<split> and the annotation file are replaced together."""
    root = Path(root)
    image_ids = list(range(1, len(images) + 1)) if image_ids is None else [int(i) for i in image_ids]
    annotation_file = Path("annotations") / f"captions_{split}.json"
    entries, annotations = [], []
    with atomic_set(root, [split, annotation_file]) as staging:
        (staging / split).mkdir()
        for image, image_id, caps in zip(images, image_ids, captions):
            name = f"COCO_{split}_{image_id:012d}.png"
            write_png(staging / split / name, image)
            entries.append({"id": image_id, "file_name": name, "height": int(image.shape[0]),
                            "width": int(image.shape[1])})
            for cap in caps:
                annotations.append({"id": len(annotations) + 1, "image_id": image_id, "caption": cap})
        data = {"info": {"description": f"mmlearn world, split {split}"}, "licenses": [],
                "images": entries, "annotations": annotations}
        write_json(staging / annotation_file, data)
    return root / annotation_file


def read_coco_captions(annotation_file: str | Path, image_dir: str | Path, check_files: bool = True) -> CaptionData:
    """Read a COCO captions file (captions_train2014.json, ...); images are looked up in image_dir."""
    path, image_dir = Path(annotation_file), Path(image_dir)
    finish_interrupted_write(image_dir.parent)  # the root our writer swaps into; nothing happens for real data
    data = read_json(path)
    images = _list_of(path, data, "images")
    annotations = _list_of(path, data, "annotations")
    by_id: dict[int, list[str]] = {}
    order, files, first = [], {}, {}
    for i, entry in enumerate(images):
        _require(path, entry, ["id", "file_name"], f"images[{i}]")
        image_id = _id(path, entry["id"], f"images[{i}].id")
        if image_id in first:
            raise DatasetFormatError(f"{path}: images[{first[image_id]}] and images[{i}] have the same id {image_id!r}")
        first[image_id] = i
        by_id[image_id] = []
        order.append(image_id)
        files[image_id] = path_inside(path, image_dir, entry["file_name"], f"images[{i}].file_name")
    for i, ann in enumerate(annotations):
        _require(path, ann, ["image_id", "caption"], f"annotations[{i}]")
        caption = _string(path, ann["caption"], f"annotations[{i}].caption")
        if _id(path, ann["image_id"], f"annotations[{i}].image_id") not in by_id:
            raise DatasetFormatError(f"{path}: annotations[{i}] refers to image_id {ann['image_id']}, which is not in 'images'")
        by_id[ann["image_id"]].append(caption.strip())
    bare = [i for i in order if not by_id[i]]
    if bare:
        raise DatasetFormatError(f"{path}: {len(bare)} of {len(order)} image(s) have no caption (first: image "
                                 f"{bare[0]})" + (": 'annotations' is empty (an image_info file, not captions?)"
                                                  if not annotations else ""))
    if check_files:
        for image_id in order:
            if not files[image_id].is_file():
                raise DatasetFormatError(f"{path}: image {image_id}'s file {files[image_id]} is not there")
    return CaptionData(order, [files[i] for i in order], [by_id[i] for i in order])


# ----------------------------------------------------------------------------------------- Karpathy splits
def write_karpathy(path: str | Path, image_root: str | Path, data: CaptionData, splits: list[str],
                   dataset: str = "coco") -> Path:
    """Write a Karpathy-split JSON (dataset_coco.json layout) for images already on disk under image_root."""
    image_root = Path(image_root)
    out, sent_id = [], 0
    for i, (image_id, p, caps, split) in enumerate(zip(data.image_ids, data.paths, data.captions, splits)):
        rel = Path(p).resolve().relative_to(image_root.resolve())
        sentences = []
        for cap in caps:
            sentences.append({"tokens": tokenize(cap), "raw": cap, "imgid": i, "sentid": sent_id})
            sent_id += 1
        out.append({"filepath": str(rel.parent) if str(rel.parent) != "." else "", "filename": rel.name,
                    "imgid": i, "split": split, "sentids": [s["sentid"] for s in sentences],
                    "sentences": sentences, "cocoid": int(image_id)})
    return write_json(path, {"images": out, "dataset": dataset})


KARPATHY_SPLITS = ("train", "val", "test", "restval")


def read_karpathy(path: str | Path, image_root: str | Path, check_files: bool = True) -> CaptionData:
    """Read dataset_coco.json / dataset_flickr8k.json; each image's split ('train', 'val', 'test', 'restval').

    An image's file is image_root/<filepath>/<filename> (Flickr8k has no filepath); its id is `cocoid` where
    there is one (COCO), else `imgid`."""
    path, image_root = Path(path), Path(image_root)
    data = read_json(path)
    images = _list_of(path, data, "images")
    ids, paths, caps, splits, first = [], [], [], [], {}
    for i, entry in enumerate(images):
        _require(path, entry, ["filename", "split", "sentences"], f"images[{i}]")
        sentences = []
        for j, s in enumerate(_list_of(path, entry, "sentences", f"images[{i}]")):
            _require(path, s, ["raw"], f"images[{i}].sentences[{j}]")
            sentences.append(_string(path, s["raw"], f"images[{i}].sentences[{j}].raw").strip())
        filepath = _string(path, entry.get("filepath", ""), f"images[{i}].filepath")
        folder = path_inside(path, image_root, filepath, f"images[{i}].filepath") if filepath else image_root
        file = path_inside(path, folder, entry["filename"], f"images[{i}].filename")
        if check_files and not file.is_file():
            raise DatasetFormatError(f"{path}: images[{i}]'s file {file} is not there")
        key = "cocoid" if "cocoid" in entry else "imgid" if "imgid" in entry else None
        image_id = _id(path, entry[key], f"images[{i}].{key}") if key else i
        if image_id in first:
            raise DatasetFormatError(f"{path}: images[{first[image_id]}] and images[{i}] have the same {key} {image_id!r}")
        first[image_id] = i
        ids.append(image_id)
        paths.append(file)
        caps.append(sentences)
        split = _string(path, entry["split"], f"images[{i}].split")
        if split not in KARPATHY_SPLITS:
            raise DatasetFormatError(f"{path}: images[{i}].split is {split!r}; Karpathy's files use "
                                     f"{', '.join(KARPATHY_SPLITS)}")
        splits.append(split)
    return CaptionData(ids, paths, caps, splits)


# ----------------------------------------------------------------------------------------- VQA v2
ANSWER_TYPES = {"exists": "yes/no", "relation": "yes/no", "count": "number"}
VQA_ANSWERS = 10   # human answers per question in VQA v2


@dataclass
class VQAData:
    """Questions with their 10 human answers each (VQA v2). All lists are aligned by question."""

    question_ids: list[int]
    image_ids: list[int]
    questions: list[str]
    answers: list[list[str]]            # 10 per question
    answer_types: list[str]             # "yes/no", "number", "other"
    question_types: list[str]
    multiple_choice_answers: list[str]  # the most common answer

    def __len__(self) -> int:
        return len(self.question_ids)


def write_vqa(root: str | Path, split: str, image_ids: list[int], questions: list[list], n_answers: int = VQA_ANSWERS):
    """Write world questions as VQA v2: v2_OpenEnded_mscoco_<split>_questions.json + v2_mscoco_<split>_annotations.json.

    questions[i] is the list of `Question`s of image image_ids[i]. The world's answers are exact, so all
    10 'human' answers agree. All-or-nothing: the two files are replaced together.
    """
    root = Path(root)
    qs, anns = [], []
    for image_id, scene_questions in zip(image_ids, questions):
        for q in scene_questions:
            qid = len(qs) + 1
            text = q.text if q.text.endswith("?") else q.text + "?"
            qs.append({"image_id": int(image_id), "question": text, "question_id": qid})
            anns.append({"question_id": qid, "image_id": int(image_id), "question_type": q.type,
                         "answer_type": ANSWER_TYPES.get(q.type, "other"), "multiple_choice_answer": q.answer,
                         "answers": [{"answer": q.answer, "answer_confidence": "yes", "answer_id": k + 1}
                                     for k in range(n_answers)]})
    info = {"description": f"mmlearn world, split {split}"}
    qname, aname = f"v2_OpenEnded_mscoco_{split}_questions.json", f"v2_mscoco_{split}_annotations.json"
    with atomic_set(root, [qname, aname]) as staging:
        write_json(staging / qname, {"info": info, "task_type": "Open-Ended", "data_type": "mscoco",
                                     "data_subtype": split, "questions": qs, "license": {}})
        write_json(staging / aname, {"info": info, "data_type": "mscoco", "data_subtype": split,
                                     "annotations": anns, "license": {}})
    return root / qname, root / aname


def read_vqa(questions_file: str | Path, annotations_file: str | Path) -> VQAData:
    """Read VQA v2 questions and annotations, matched by question_id.

    The two files must be a pair: the same `data_subtype` (where both say), one annotation per question and
    one question per annotation, with the same image_id."""
    qpath, apath = Path(questions_file), Path(annotations_file)
    finish_interrupted_write(qpath.parent)  # the folder our writer swaps the pair into
    qdata, adata = read_json(qpath), read_json(apath)
    questions = _list_of(qpath, qdata, "questions")
    annotations = _list_of(apath, adata, "annotations")
    if "data_subtype" in qdata and "data_subtype" in adata and qdata["data_subtype"] != adata["data_subtype"]:
        raise DatasetFormatError(f"{qpath} is split {qdata['data_subtype']!r} but {apath} is {adata['data_subtype']!r}: "
                                 "not a questions/annotations pair")
    by_qid = {}
    for i, a in enumerate(annotations):
        _require(apath, a, ["question_id", "answers", "multiple_choice_answer"], f"annotations[{i}]")
        qid = _id(apath, a["question_id"], f"annotations[{i}].question_id")
        if not isinstance(a["answers"], list) or not a["answers"]:
            raise DatasetFormatError(f"{apath}: annotations[{i}].answers should be a non-empty list")
        if len(a["answers"]) != VQA_ANSWERS:
            raise DatasetFormatError(f"{apath}: annotations[{i}] has {len(a['answers'])} answers; VQA v2 gives "
                                     f"{VQA_ANSWERS} per question (the official accuracy averages over them)")
        for j, ans in enumerate(a["answers"]):
            _require(apath, ans, ["answer"], f"annotations[{i}].answers[{j}]")
            _string(apath, ans["answer"], f"annotations[{i}].answers[{j}].answer")
        _string(apath, a["multiple_choice_answer"], f"annotations[{i}].multiple_choice_answer")
        if qid in by_qid:
            raise DatasetFormatError(f"{apath}: annotations[{by_qid[qid][0]}] and annotations[{i}] have the "
                                     f"same question_id {qid!r}")
        by_qid[qid] = (i, a)
    out, seen = VQAData([], [], [], [], [], [], []), {}
    for i, q in enumerate(questions):
        _require(qpath, q, ["question_id", "image_id", "question"], f"questions[{i}]")
        qid = _id(qpath, q["question_id"], f"questions[{i}].question_id")
        image_id = _id(qpath, q["image_id"], f"questions[{i}].image_id")
        if qid in seen:
            raise DatasetFormatError(f"{qpath}: questions[{seen[qid]}] and questions[{i}] have the same question_id {qid!r}")
        seen[qid] = i
        text = _string(qpath, q["question"], f"questions[{i}].question")
        if qid not in by_qid:
            raise DatasetFormatError(f"{apath}: no annotation for question_id {qid} (from {qpath.name})")
        j, a = by_qid[qid]
        if "image_id" in a and a["image_id"] != image_id:
            raise DatasetFormatError(f"{qpath}: questions[{i}] (question_id {qid}) is about image {image_id}, but its "
                                     f"annotation ({apath.name}, annotations[{j}]) says image {a['image_id']}: "
                                     "not a questions/annotations pair")
        out.question_ids.append(qid)
        out.image_ids.append(image_id)
        out.questions.append(text)
        out.answers.append([ans["answer"] for ans in a["answers"]])
        out.answer_types.append(a.get("answer_type", "other"))
        out.question_types.append(a.get("question_type", ""))
        out.multiple_choice_answers.append(a["multiple_choice_answer"])
    extra = [qid for qid in by_qid if qid not in seen]
    if extra:
        raise DatasetFormatError(f"{apath}: {len(extra)} annotation(s) have no question in {qpath.name} (first: "
                                 f"question_id {extra[0]}): not a questions/annotations pair")
    return out


# ----------------------------------------------------------------------------------------- text-to-image captions
@dataclass
class FineGrainedCaptions:
    """Captions of a fine-grained text-to-image dataset as Reed et al. released them (CUB-200 birds, Oxford-102
    flowers): per image, its class, its captions (about 10), and whether its class is in the train or test split
    (the splits are by class: test classes are never seen in training)."""

    image: list[str]                       # image name (the caption file's stem), e.g. Black_Footed_Albatross_0001_796111
    label: list[str]                       # class folder, e.g. 001.Black_footed_Albatross
    captions: list[list[str]]
    split: list[str]                       # "trainval" or "test"


def _class_list(path: Path, classes: list[str], all_classes: list[str] | None) -> set[str]:
    names = set()
    for line, text in enumerate(read_text(path, "a split file of class names or ids").splitlines(), start=1):
        text = text.strip()
        if not text:
            continue
        if all_classes is not None:                                    # ids: 1-based line numbers of allclasses.txt
            if not text.isdigit() or not 1 <= int(text) <= len(all_classes):
                raise DatasetFormatError(f"{path}: line {line}: {text!r} is not a class id between 1 and {len(all_classes)}")
            text = all_classes[int(text) - 1]
        if text not in classes:
            raise DatasetFormatError(f"{path}: line {line}: class {text!r} has no folder in text_c10/")
        names.add(text)
    return names


def read_reed_captions(root: str | Path) -> FineGrainedCaptions:
    """Reed et al.'s caption release: <root>/text_c10/<class>/<image>.txt, one caption per line (about 10), and the
    split by class, either as class names (trainvalclasses.txt, testclasses.txt) or as 1-based ids into
    allclasses.txt (trainvalids.txt, testids.txt: the files icml2016's training scripts read). CUB's U+FFFD pairs
    (a lost character: 'plumage\ufffd\ufffdand') read as a space, as the StackGAN and AttnGAN loaders read them."""
    root = Path(root)
    text_dir = root / "text_c10"
    if not text_dir.is_dir():
        raise DatasetFormatError(f"{root}: no text_c10/ folder (expected <class>/<image>.txt caption files under it)")
    classes = sorted(p.name for p in text_dir.iterdir() if p.is_dir())
    if (root / "trainvalclasses.txt").is_file():
        files, all_classes = ("trainvalclasses.txt", "testclasses.txt"), None
    elif (root / "allclasses.txt").is_file():
        files = ("trainvalids.txt", "testids.txt")
        all_classes = [c.strip() for c in read_text(root / "allclasses.txt", "the class list").splitlines() if c.strip()]
    else:
        raise DatasetFormatError(f"{root}: no split files (trainvalclasses.txt and testclasses.txt, or allclasses.txt "
                                 "with trainvalids.txt and testids.txt)")
    split_of = {}
    for name, file in zip(("trainval", "test"), files):
        if not (root / file).is_file():
            raise DatasetFormatError(f"{root / file}: missing (the {name} classes)")
        for c in _class_list(root / file, classes, all_classes):
            if c in split_of:
                raise DatasetFormatError(f"{root / file}: class {c!r} is also listed as {split_of[c]}")
            split_of[c] = name
    out = FineGrainedCaptions([], [], [], [])
    for c in classes:
        for txt in sorted((text_dir / c).glob("*.txt")):
            text = re.sub("\ufffd+", " ", read_text(txt, "a caption file"))    # the release's U+FFFD pairs
            captions = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
            if not captions:
                raise DatasetFormatError(f"{txt}: no captions")
            out.image.append(txt.stem)
            out.label.append(c)
            out.captions.append(captions)
            out.split.append(split_of.get(c, "unlisted"))
    if not out.image:
        raise DatasetFormatError(f"{text_dir}: no caption files")
    return out


# ----------------------------------------------------------------------------------------- word-vector test sets
def evaluation_file(name: str) -> Path:
    """Path of a standard evaluation set shipped inside the gensim wheel (gensim/test/test_data/):
    wordsim353.tsv, simlex999.txt or questions-words.txt. Found without importing gensim."""
    import importlib.util

    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{name}: the evaluation sets ship with gensim (a dev dependency: pip install gensim)")
    path = Path(list(spec.submodule_search_locations)[0]) / "test" / "test_data" / name
    if not path.exists():
        raise FileNotFoundError(f"{path}: not in this gensim installation")
    return path


def read_word_pairs(path: str | Path) -> list[tuple[str, str, float]]:
    """WordSim-353 / SimLex-999 as gensim ships them: '#' comment lines, then word1 <tab> word2 <tab> score."""
    pairs = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        try:
            pairs.append((fields[0].lower(), fields[1].lower(), float(fields[2])))
        except (IndexError, ValueError):
            raise DatasetFormatError(f"{path}, line {n}: expected 'word1<TAB>word2<TAB>score', got {line!r}") from None
    return pairs


def read_analogies(path: str | Path) -> dict[str, list[tuple[str, str, str, str]]]:
    """Google's questions-words.txt: ': section' headers, then 'a b c d' lines (a is to b as c is to d)."""
    sections, current = {}, None
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(":"):
            current = line[1:].strip()
            sections[current] = []
        elif line.strip():
            words = line.lower().split()
            if current is None or len(words) != 4:
                raise DatasetFormatError(f"{path}, line {n}: expected four words under a ': section' header, got {line!r}")
            sections[current].append(tuple(words))
    return sections
