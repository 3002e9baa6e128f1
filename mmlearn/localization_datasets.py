"""Readers of the sound-source localization test sets as published: VGG-Sound Source's vggss.json (boxes as
fractions of the frame) and Flickr-SoundNet's per-clip XML (pixels of a 256 x 256 frame) with LVS's test list.
They read the boxes as the public evaluators paint them (LVS's testset_gt, EZ-VSL's loader): clipped to the
frame, a box that paints nothing dropped and counted. The rules of `datasets`: a bad file raises
`DatasetFormatError` naming it and the problem.

    vggss = read_vggss("metadata/vggss.json")                     # 5,158 clips, 18 degenerate boxes dropped
    flickr = read_flickr_soundnet("Annotations", "metadata/flickr_test.csv")
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from .core import DatasetFormatError, read_json, read_text


@dataclass
class SoundBoxes:
    """Where the sound comes from, per clip: boxes (x0, y0, x1, y1) as fractions of the frame's width and
    height, one list per clip (several boxes: several sources, or several annotators for Flickr-SoundNet).
    `degenerate` counts the published boxes that paint nothing on the evaluators' map once clipped to the frame
    (a point, a line, a box outside the frame, VGG-SS's -2.88e16 sentinel): dropped, as the evaluators do, so a
    clip may be left with no box."""

    files: list[str]
    boxes: list[list[tuple[float, float, float, float]]]
    classes: list[str]
    degenerate: int = 0

    def __len__(self) -> int:
        return len(self.files)


def _box(where, values, frame: float) -> tuple[float, float, float, float] | None:
    """One published box in units of `frame` -> fractions of the frame clipped to it as the evaluators clip
    (LVS: int(224 * max(x, 0)) and slicing; EZ-VSL: np.clip(bbox, 0, 1)), or None when it paints nothing.
    A coordinate far outside the frame that is not the sentinel means another unit: refused."""
    if (not isinstance(values, (list, tuple)) or len(values) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
        raise DatasetFormatError(f"{where}: a box is four numbers [x0, y0, x1, y1], got {values!r}")
    fractions = [float(v) / frame for v in values]
    if any(f > 1.5 or -SENTINEL_BELOW < f < -0.5 for f in fractions):
        unit = "fractions of the frame" if frame == 1.0 else f"pixels of a {frame:g}-pixel frame"
        raise DatasetFormatError(f"{where}: box {values!r} lies far outside the frame: the file should hold {unit} "
                                 "(is it in other units?)")
    x0, y0, x1, y1 = (min(max(f, 0.0), 1.0) for f in fractions)
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


SENTINEL_BELOW = 1e6   # VGG-SS marks a lost coordinate with -2.8823037615171176e+16: the evaluators clip it to 0


def _boxes(where, boxes, frame: float, counts: dict) -> list[tuple[float, float, float, float]]:
    """A clip's published boxes -> the ones that paint something (where(j) names box j); counts the rest."""
    kept = [b for b in (_box(where(j), values, frame) for j, values in enumerate(boxes)) if b is not None]
    counts["degenerate"] += len(boxes) - len(kept)
    counts["clips"] += len(kept) < len(boxes)
    counts["empty"] += not kept
    return kept


def _say_degenerate(path, counts: dict) -> None:
    if counts["degenerate"]:
        print(f"{path}: {counts['degenerate']} box(es) in {counts['clips']} clip(s) paint nothing once clipped to the "
              f"frame (a point, a line, outside the frame, or a lost coordinate): dropped, as the published evaluators "
              f"paint nothing for them; {counts['empty']} clip(s) are left with no box")


def read_vggss(path: str | Path) -> SoundBoxes:
    """VGG-Sound Source's annotation file (vggss.json): a list of {"file", "class", "bbox": [[x0, y0, x1, y1],
    ...]} with coordinates as fractions of the frame. Read as the published evaluators read it: coordinates
    clipped to the frame, and the release's degenerate boxes (18 in 18 clips of its 5,158: points, lines and the
    -2.88e16 sentinel) dropped and counted, keeping their clips."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, list):
        raise DatasetFormatError(f"{path}: should be a JSON list of clips, got {type(data).__name__}")
    out, first, counts = SoundBoxes([], [], []), {}, {"degenerate": 0, "clips": 0, "empty": 0}
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or "file" not in entry or "bbox" not in entry:
            raise DatasetFormatError(f"{path}: [{i}] should be an object with 'file' and 'bbox'")
        if not isinstance(entry["file"], str):
            raise DatasetFormatError(f"{path}: [{i}].file should be a string, got {entry['file']!r}")
        if entry["file"] in first:
            raise DatasetFormatError(f"{path}: [{first[entry['file']]}] and [{i}] are both clip {entry['file']!r}")
        first[entry["file"]] = i
        if not isinstance(entry["bbox"], list) or not entry["bbox"]:
            raise DatasetFormatError(f"{path}: [{i}].bbox should be a non-empty list of boxes")
        out.files.append(entry["file"])
        out.boxes.append(_boxes(lambda j: f"{path}: [{i}].bbox[{j}]", entry["bbox"], 1.0, counts))
        out.classes.append(str(entry.get("class", "")))
    out.degenerate = counts["degenerate"]
    _say_degenerate(path, counts)
    return out


FLICKR_FRAME = 256  # Flickr-SoundNet's boxes are in pixels of a 256 x 256 frame


def read_test_list(path: str | Path) -> list[str]:
    """A test list as LVS and EZ-VSL publish it (metadata/flickr_test.csv, vggss_test.csv): one clip per line,
    its id first (more comma-separated fields may follow; CRLF line ends as released)."""
    import csv

    path = Path(path)
    ids = [row[0].strip() for row in csv.reader(io.StringIO(read_text(path, "a test list"), newline=""))
           if row and row[0].strip()]
    if not ids:
        raise DatasetFormatError(f"{path}: no clip ids (expected one clip per line, its id first)")
    return ids


def read_flickr_soundnet(folder: str | Path, test_list: str | Path | list[str] | None = None) -> SoundBoxes:
    """Flickr-SoundNet's test annotations: one XML file per clip (<clip id>.xml) in `folder`. As the public
    evaluators read them: each `bbox` element two levels under the root (one per annotator) holds a first
    child they skip, then xmin, ymin, xmax, ymax in pixels of a 256 x 256 frame. `test_list` picks the clips:
    the standard test set is LVS's metadata/flickr_test.csv (a path to it, or a list of ids; the papers say 250
    clips, the file as published lists 249); without it, every XML in the folder."""
    import xml.etree.ElementTree as ET

    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetFormatError(f"{folder}: no such folder (expected Flickr-SoundNet's annotation folder of .xml files)")
    if test_list is None:
        files = sorted(folder.glob("*.xml"))
    else:
        ids = read_test_list(test_list) if isinstance(test_list, (str, Path)) else list(test_list)
        files = [folder / f"{clip}.xml" for clip in ids]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise DatasetFormatError(f"{folder}: {len(missing)} clip(s) of the test list have no annotation file: "
                                     f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    out, counts = SoundBoxes([], [], []), {"degenerate": 0, "clips": 0, "empty": 0}
    for file in files:
        try:
            root = ET.parse(file).getroot()
        except ET.ParseError as error:
            raise DatasetFormatError(f"{file}: not valid XML ({error})") from None
        published = []
        for k, bbox in enumerate(b for child in root for b in child if b.tag == "bbox"):
            values = [c.text for c in list(bbox)[1:5]]
            try:
                published.append([int(v) for v in values])
            except (TypeError, ValueError):
                raise DatasetFormatError(f"{file}: bbox {k} should hold integer pixel coordinates after its first "
                                         f"child, got {values!r}") from None
        if not published:
            raise DatasetFormatError(f"{file}: no <bbox> element (expected one per annotator, two levels under the root)")
        out.files.append(file.stem)
        out.boxes.append(_boxes(lambda j: f"{file}: bbox {j}", published, FLICKR_FRAME, counts))
        out.classes.append("")
    if not out.files:
        raise DatasetFormatError(f"{folder}: no .xml annotation files")
    out.degenerate = counts["degenerate"]
    _say_degenerate(folder, counts)
    return out
