"""Readers and writers for real datasets' published formats — the one data path of the course.

Notebooks write a world split in a real format, then read it back with the same reader a learner
would point at the real dataset on disk:

    write_coco_captions(root, "val2014", images, captions)       # annotations/captions_val2014.json + val2014/*.png
    data = read_coco_captions(root / "annotations/captions_val2014.json", root / "val2014")

Formats: COCO captions, Karpathy splits (dataset_coco.json / dataset_flickr8k.json), VQA v2
(questions + annotations JSON), ESC-50 (CSV + WAV), and the course's own shipped speech clips
(`read_speech`). Readers raise `DatasetFormatError` naming the file and the problem; writers write to a
temporary name and rename, so an interrupted write never leaves half a file. (The official VQA accuracy
is a metric: `mmlearn.metrics.vqa_accuracy`.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .core import DATA, DatasetFormatError, atomic_write, read_json, write_json
from .text import tokenize
from .world.sounds import SAMPLE_RATE
from .world.speech import Utterance


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


def _list_of(path, data, key):
    _require(path, data, [key], "the top level")
    if not isinstance(data[key], list):
        raise DatasetFormatError(f"{path}: '{key}' should be a list, got {type(data[key]).__name__}")
    return data[key]


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
        keep = [i for i, s in enumerate(self.splits) if s == split]
        pick = lambda xs: [xs[i] for i in keep]  # noqa: E731
        return CaptionData(pick(self.image_ids), pick(self.paths), pick(self.captions), pick(self.splits))


def write_coco_captions(root: str | Path, split: str, images: np.ndarray, captions: list[list[str]],
                        image_ids: list[int] | None = None) -> Path:
    """Write images as root/<split>/COCO_<split>_<id>.png and root/annotations/captions_<split>.json."""
    root = Path(root)
    image_ids = list(range(1, len(images) + 1)) if image_ids is None else [int(i) for i in image_ids]
    (root / split).mkdir(parents=True, exist_ok=True)
    entries, annotations = [], []
    for image, image_id, caps in zip(images, image_ids, captions):
        name = f"COCO_{split}_{image_id:012d}.png"
        write_png(root / split / name, image)
        entries.append({"id": image_id, "file_name": name, "height": int(image.shape[0]), "width": int(image.shape[1])})
        for cap in caps:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "caption": cap})
    data = {"info": {"description": f"mmlearn world, split {split}"}, "licenses": [],
            "images": entries, "annotations": annotations}
    return write_json(root / "annotations" / f"captions_{split}.json", data)


def read_coco_captions(annotation_file: str | Path, image_dir: str | Path, check_files: bool = True) -> CaptionData:
    """Read a COCO captions file (captions_train2014.json, ...); images are looked up in image_dir."""
    path, image_dir = Path(annotation_file), Path(image_dir)
    data = read_json(path)
    images = _list_of(path, data, "images")
    annotations = _list_of(path, data, "annotations")
    by_id: dict[int, list[str]] = {}
    order, files = [], {}
    first = {}
    for i, entry in enumerate(images):
        _require(path, entry, ["id", "file_name"], f"images[{i}]")
        if entry["id"] in first:
            raise DatasetFormatError(f"{path}: images[{first[entry['id']]}] and images[{i}] have the same id {entry['id']!r}")
        first[entry["id"]] = i
        by_id[entry["id"]] = []
        order.append(entry["id"])
        files[entry["id"]] = image_dir / entry["file_name"]
    for i, ann in enumerate(annotations):
        _require(path, ann, ["image_id", "caption"], f"annotations[{i}]")
        if not isinstance(ann["caption"], str):
            raise DatasetFormatError(f"{path}: annotations[{i}].caption should be a string, got {ann['caption']!r}")
        if ann["image_id"] not in by_id:
            raise DatasetFormatError(f"{path}: annotations[{i}] refers to image_id {ann['image_id']}, which is not in 'images'")
        by_id[ann["image_id"]].append(ann["caption"].strip())
    if check_files:
        for image_id in order:
            if not files[image_id].exists():
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


def read_karpathy(path: str | Path, image_root: str | Path, check_files: bool = True) -> CaptionData:
    """Read dataset_coco.json / dataset_flickr8k.json; each image's split ('train', 'val', 'test', 'restval')."""
    path, image_root = Path(path), Path(image_root)
    data = read_json(path)
    images = _list_of(path, data, "images")
    ids, paths, caps, splits = [], [], [], []
    for i, entry in enumerate(images):
        _require(path, entry, ["filename", "split", "sentences"], f"images[{i}]")
        sentences = []
        for j, s in enumerate(entry["sentences"]):
            _require(path, s, ["raw"], f"images[{i}].sentences[{j}]")
            if not isinstance(s["raw"], str):
                raise DatasetFormatError(f"{path}: images[{i}].sentences[{j}].raw should be a string, got {s['raw']!r}")
            sentences.append(s["raw"].strip())
        file = image_root / entry.get("filepath", "") / entry["filename"]
        if check_files and not file.exists():
            raise DatasetFormatError(f"{path}: images[{i}]'s file {file} is not there")
        ids.append(entry.get("cocoid", entry.get("imgid", i)))
        paths.append(file)
        caps.append(sentences)
        splits.append(entry["split"])
    return CaptionData(ids, paths, caps, splits)


# ----------------------------------------------------------------------------------------- VQA v2
ANSWER_TYPES = {"exists": "yes/no", "relation": "yes/no", "count": "number"}


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


def write_vqa(root: str | Path, split: str, image_ids: list[int], questions: list[list], n_answers: int = 10):
    """Write world questions as VQA v2: v2_OpenEnded_mscoco_<split>_questions.json + v2_mscoco_<split>_annotations.json.

    questions[i] is the list of `Question`s of image image_ids[i]. The world's answers are exact, so all
    10 'human' answers agree.
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
    qpath = write_json(root / f"v2_OpenEnded_mscoco_{split}_questions.json",
                       {"info": info, "task_type": "Open-Ended", "data_type": "mscoco", "data_subtype": split,
                        "questions": qs, "license": {}})
    apath = write_json(root / f"v2_mscoco_{split}_annotations.json",
                       {"info": info, "data_type": "mscoco", "data_subtype": split, "annotations": anns, "license": {}})
    return qpath, apath


def read_vqa(questions_file: str | Path, annotations_file: str | Path) -> VQAData:
    """Read VQA v2 questions and annotations (matched by question_id)."""
    qpath, apath = Path(questions_file), Path(annotations_file)
    questions = _list_of(qpath, read_json(qpath), "questions")
    annotations = _list_of(apath, read_json(apath), "annotations")
    by_qid = {}
    for i, a in enumerate(annotations):
        _require(apath, a, ["question_id", "answers", "multiple_choice_answer"], f"annotations[{i}]")
        if not isinstance(a["answers"], list) or not a["answers"]:
            raise DatasetFormatError(f"{apath}: annotations[{i}].answers should be a non-empty list")
        for j, ans in enumerate(a["answers"]):
            _require(apath, ans, ["answer"], f"annotations[{i}].answers[{j}]")
            if not isinstance(ans["answer"], str):
                raise DatasetFormatError(f"{apath}: annotations[{i}].answers[{j}].answer should be a string")
        if a["question_id"] in by_qid:
            raise DatasetFormatError(f"{apath}: annotations[{by_qid[a['question_id']][0]}] and annotations[{i}] have the "
                                     f"same question_id {a['question_id']!r}")
        by_qid[a["question_id"]] = (i, a)
    out, seen = VQAData([], [], [], [], [], [], []), {}
    for i, q in enumerate(questions):
        _require(qpath, q, ["question_id", "image_id", "question"], f"questions[{i}]")
        if q["question_id"] in seen:
            raise DatasetFormatError(f"{qpath}: questions[{seen[q['question_id']]}] and questions[{i}] have the same "
                                     f"question_id {q['question_id']!r}")
        seen[q["question_id"]] = i
        if not isinstance(q["question"], str):
            raise DatasetFormatError(f"{qpath}: questions[{i}].question should be a string, got {q['question']!r}")
        _, a = by_qid.get(q["question_id"], (None, None))
        if a is None:
            raise DatasetFormatError(f"{apath}: no annotation for question_id {q['question_id']} (from {qpath.name})")
        out.question_ids.append(q["question_id"])
        out.image_ids.append(q["image_id"])
        out.questions.append(q["question"])
        out.answers.append([ans["answer"] for ans in a["answers"]])
        out.answer_types.append(a.get("answer_type", "other"))
        out.question_types.append(a.get("question_type", ""))
        out.multiple_choice_answers.append(a["multiple_choice_answer"])
    return out


# ----------------------------------------------------------------------------------------- ESC-50
ESC50_COLUMNS = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]


@dataclass
class SoundData:
    """Labelled clips as read from ESC-50: paths, folds (1-5), integer targets and category names."""

    paths: list[Path]
    folds: list[int]
    targets: list[int]
    categories: list[str]

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, sample_rate: int | None = None) -> np.ndarray:
        """All clips as (N, samples) float32, checking they share one rate (and that it is sample_rate if given)."""
        import soundfile as sf

        waves, rates = [], set()
        for p in self.paths:
            try:
                audio, rate = sf.read(p, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as error:
                raise DatasetFormatError(f"{p}: not a readable sound file ({error})") from None
            if sample_rate is not None and rate != sample_rate:
                raise DatasetFormatError(f"{p}: sample rate {rate} Hz, expected {sample_rate} Hz (resample the dataset)")
            rates.add(rate)
            waves.append(audio.mean(axis=1))  # mono
        if len(rates) > 1:
            raise DatasetFormatError(f"clips have different sample rates: {sorted(rates)}")
        length = max((len(w) for w in waves), default=0)
        return np.stack([np.pad(w, (0, length - len(w))) for w in waves]) if waves else np.zeros((0, 0), np.float32)


def write_esc50(root: str | Path, waves: np.ndarray, targets, categories: list[str], folds, sample_rate: int) -> Path:
    """Write labelled clips in ESC-50's layout: root/meta/esc50.csv and root/audio/<fold>-<src>-<take>-<target>.wav."""
    import csv
    import io

    import soundfile as sf

    root = Path(root)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (wave, target, fold) in enumerate(zip(waves, targets, folds)):
        name = f"{int(fold)}-{100000 + i}-A-{int(target)}.wav"
        with atomic_write(root / "audio" / name) as tmp:
            sf.write(tmp, np.asarray(wave, np.float32), sample_rate, subtype="PCM_16", format="WAV")
        rows.append([name, int(fold), int(target), categories[int(target)], "False", str(100000 + i), "A"])
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(ESC50_COLUMNS)
    writer.writerows(rows)
    meta = root / "meta" / "esc50.csv"
    with atomic_write(meta) as tmp:
        tmp.write_text(text.getvalue())
    return meta


def read_esc50(root: str | Path, check_files: bool = True) -> SoundData:
    """Read ESC-50 (or ESC-10 with its column) from root/meta/esc50.csv and root/audio/."""
    import csv

    root = Path(root)
    meta = root / "meta" / "esc50.csv"
    if not meta.exists():
        raise DatasetFormatError(f"{meta}: no such file (expected ESC-50's meta/esc50.csv under {root})")
    with open(meta, newline="") as f:
        rows = list(csv.DictReader(f))
        header = rows[0].keys() if rows else []
    missing = [c for c in ("filename", "fold", "target", "category") if c not in header]
    if missing:
        raise DatasetFormatError(f"{meta}: missing column(s) {missing}")
    paths, folds, targets, names = [], [], [], {}
    for line, row in enumerate(rows, start=2):
        try:
            fold, target = int(row["fold"]), int(row["target"])
        except (TypeError, ValueError):
            raise DatasetFormatError(f"{meta}, line {line}: fold and target must be integers, got "
                                     f"{row['fold']!r}, {row['target']!r}") from None
        if names.setdefault(target, row["category"]) != row["category"]:
            raise DatasetFormatError(f"{meta}, line {line}: target {target} is both {names[target]!r} and {row['category']!r}")
        path = root / "audio" / row["filename"]
        if check_files and not path.exists():
            raise DatasetFormatError(f"{meta}, line {line}: audio file {path} is not there")
        paths.append(path)
        folds.append(fold)
        targets.append(target)
    categories = [names.get(t, f"class {t}") for t in range(max(names, default=-1) + 1)]
    return SoundData(paths, folds, targets, categories)


# ----------------------------------------------------------------------------------------- shipped speech
SPEECH_DIR = DATA / "speech"


@lru_cache(maxsize=2)
def read_speech(folder: str | Path = SPEECH_DIR) -> tuple[Utterance, ...]:
    """The course's speech clips: data/speech/index.json and every FLAC it lists (16 kHz mono, checked); cached."""
    import soundfile as sf

    folder = Path(folder)
    index = read_json(folder / "index.json")
    out = []
    for i, u in enumerate(index.get("utterances", [])):
        missing = [k for k in ("file", "voice", "text", "words", "phonemes") if k not in u]
        if missing:
            raise DatasetFormatError(f"{folder / 'index.json'}: utterances[{i}] lacks {missing}")
        path = folder / u["file"]
        if not path.exists():
            raise DatasetFormatError(f"{folder / 'index.json'}: utterances[{i}]'s file {path} is not there")
        audio, rate = sf.read(path, dtype="float32")
        if rate != SAMPLE_RATE or audio.ndim != 1:
            raise DatasetFormatError(f"{path}: expected 16 kHz mono, got {rate} Hz with shape {audio.shape}")
        out.append(Utterance(u["file"], u["voice"], u["text"], audio, u["words"], u["phonemes"]))
    return tuple(out)
