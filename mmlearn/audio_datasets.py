"""Readers and writers of sound datasets' published formats: ESC-50 (CSV + WAV), the audio-visual speech sets
(AVSpeech's CSV, VoxCeleb2's and LRS3's folders) and the course's own shipped speech clips (`read_speech`). The
image and text formats are in `datasets`, the localization test sets in `localization_datasets` (re-exported
here); the same rules hold: readers raise `DatasetFormatError` naming the file and the problem, writers are
all-or-nothing.

    write_esc50(root, waves, targets, categories, folds, sample_rate)   # meta/esc50.csv + audio/*.wav
    clips = read_esc50(root).load(sample_rate)                          # (N, samples) float32 mono
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .core import DATA, DatasetFormatError, atomic_set, finish_interrupted_write, path_inside, read_json, read_text
from .localization_datasets import SoundBoxes, read_flickr_soundnet, read_test_list, read_vggss  # noqa: F401
from .world.sounds import SAMPLE_RATE
from .world.speech import Utterance


# ----------------------------------------------------------------------------------------- ESC-50
ESC50_COLUMNS = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]


@dataclass
class SoundData:
    """Labelled clips as read from ESC-50: paths, folds (1-5), integer targets and category names; `esc10`, the
    release's column marking the 400 clips of its ESC-10 subset (`esc10_only()` selects them)."""

    paths: list[Path]
    folds: list[int]
    targets: list[int]
    categories: list[str]
    esc10: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.paths)

    def esc10_only(self) -> "SoundData":
        """The ESC-10 subset (its 10 categories keep their ESC-50 targets and names)."""
        if not self.esc10:
            raise ValueError("this CSV has no esc10 column: ESC-10 cannot be selected")
        keep = [i for i, flag in enumerate(self.esc10) if flag]
        pick = lambda xs: [xs[i] for i in keep]  # noqa: E731
        return SoundData(pick(self.paths), pick(self.folds), pick(self.targets), self.categories, [True] * len(keep))

    def load(self, sample_rate: int | None = None) -> np.ndarray:
        """All clips as (N, samples) float32 mono.

        Checks that the clips share one rate (sample_rate, if given) and that no WAV is truncated (fewer frames
        than its header declares). Stereo clips are mixed down to mono as the mean of their channels, and
        clips shorter than the longest are padded with silence at the end; both are reported."""
        import soundfile as sf

        waves, rate0, stereo = [], None, []
        for p in self.paths:
            try:
                audio, rate = sf.read(p, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError, OSError) as error:
                raise DatasetFormatError(f"{p}: not a readable sound file ({error})") from None
            declared = wav_declared_frames(p)
            if declared is not None and len(audio) < declared:
                raise DatasetFormatError(f"{p}: truncated: its header declares {declared} frames, the file holds "
                                         f"{len(audio)}")
            if sample_rate is not None and rate != sample_rate:
                raise DatasetFormatError(f"{p}: sample rate {rate} Hz, expected {sample_rate} Hz (resample the dataset)")
            if rate0 is not None and rate != rate0:
                raise DatasetFormatError(f"{p}: sample rate {rate} Hz, but {self.paths[0]} is {rate0} Hz; "
                                         "clips must share one rate (resample the dataset)")
            rate0 = rate
            if audio.shape[1] > 1:
                stereo.append(p)
            waves.append(audio.mean(axis=1))
        length = max((len(w) for w in waves), default=0)
        short = [p for p, w in zip(self.paths, waves) if len(w) < length]
        if stereo:
            print(f"{len(stereo)} clip(s) with several channels mixed down to mono (mean of channels), e.g. {stereo[0]}")
        if short:
            print(f"{len(short)} clip(s) shorter than the longest ({length} samples) padded with silence, e.g. {short[0]}")
        return np.stack([np.pad(w, (0, length - len(w))) for w in waves]) if waves else np.zeros((0, 0), np.float32)


def wav_declared_frames(path: str | Path) -> int | None:
    """The number of frames a WAV file's header declares (its 'data' chunk size over the block size), or
    None if the file is not a RIFF/WAVE file or declares no usable size. A file shorter than its header
    says was truncated (soundfile silently reads what is there)."""
    import struct

    with open(path, "rb") as f:
        if f.read(4) != b"RIFF" or not f.read(4) or f.read(4) != b"WAVE":
            return None
        block = None
        while len(header := f.read(8)) == 8:
            chunk, size = struct.unpack("<4sI", header)
            if chunk == b"fmt ":
                fmt = f.read(size)
                block = struct.unpack("<H", fmt[12:14])[0] if len(fmt) >= 14 else None
                f.seek(size % 2, 1)
            elif chunk == b"data":
                return size // block if block and size != 0xFFFFFFFF else None  # 0xFFFFFFFF: size unknown (streamed)
            else:
                f.seek(size + size % 2, 1)
    return None


def write_esc50(root: str | Path, waves: np.ndarray, targets, categories: list[str], folds, sample_rate: int) -> Path:
    """Write labelled clips in ESC-50's layout: root/meta/esc50.csv and root/audio/<fold>-<src>-<take>-<target>.wav.

    All-or-nothing: the folder root/audio and the CSV are replaced together."""
    import csv
    import io

    import soundfile as sf

    root = Path(root)
    meta = Path("meta") / "esc50.csv"
    rows = []
    with atomic_set(root, ["audio", meta]) as staging:
        (staging / "audio").mkdir()
        for i, (wave, target, fold) in enumerate(zip(waves, targets, folds)):
            name = f"{int(fold)}-{100000 + i}-A-{int(target)}.wav"
            sf.write(staging / "audio" / name, np.asarray(wave, np.float32), sample_rate, subtype="PCM_16", format="WAV")
            rows.append([name, int(fold), int(target), categories[int(target)], "False", str(100000 + i), "A"])
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(ESC50_COLUMNS)
        writer.writerows(rows)
        (staging / meta).parent.mkdir()
        (staging / meta).write_text(text.getvalue(), encoding="utf-8")
    return root / meta


def read_esc50(root: str | Path, check_files: bool = True) -> SoundData:
    """Read ESC-50 (or ESC-10 with its column) from root/meta/esc50.csv (UTF-8, with or without a byte-order
    mark) and root/audio/."""
    import csv

    root = Path(root)
    finish_interrupted_write(root)
    meta = root / "meta" / "esc50.csv"
    try:
        with open(meta, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header, rows = reader.fieldnames or [], list(reader)
    except FileNotFoundError:
        raise DatasetFormatError(f"{meta}: no such file (expected ESC-50's meta/esc50.csv under {root})") from None
    except IsADirectoryError:
        raise DatasetFormatError(f"{meta}: is a folder, not ESC-50's CSV file") from None
    except UnicodeDecodeError as error:
        raise DatasetFormatError(f"{meta}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except (OSError, csv.Error) as error:
        raise DatasetFormatError(f"{meta}: cannot be read as CSV ({error})") from None
    if not header:
        raise DatasetFormatError(f"{meta}: empty file (expected the header {','.join(ESC50_COLUMNS)} and one row per clip)")
    missing = [c for c in ("filename", "fold", "target", "category") if c not in header]
    if missing:
        raise DatasetFormatError(f"{meta}: missing column(s) {missing} (the header is {header})")
    if not rows:
        raise DatasetFormatError(f"{meta}: has a header but no rows (no clips listed)")
    paths, folds, targets, esc10, names, first = [], [], [], [], {}, {}
    for line, row in enumerate(rows, start=2):
        if None in row or any(row[c] is None for c in ("filename", "fold", "target", "category")):
            raise DatasetFormatError(f"{meta}, line {line}: {len(header)} columns expected, the row has a different number")
        try:
            fold, target = int(row["fold"]), int(row["target"])
        except ValueError:
            raise DatasetFormatError(f"{meta}, line {line}: fold and target must be integers, got "
                                     f"{row['fold']!r}, {row['target']!r}") from None
        if target < 0:
            raise DatasetFormatError(f"{meta}, line {line}: target {target} is negative")
        if names.setdefault(target, row["category"]) != row["category"]:
            raise DatasetFormatError(f"{meta}, line {line}: target {target} is both {names[target]!r} and {row['category']!r}")
        if row["filename"] in first:
            raise DatasetFormatError(f"{meta}, lines {first[row['filename']]} and {line} list the same file {row['filename']!r}")
        first[row["filename"]] = line
        path = path_inside(f"{meta}, line {line}", root / "audio", row["filename"], "filename")
        if check_files and not path.is_file():
            raise DatasetFormatError(f"{meta}, line {line}: audio file {path} is not there")
        if "esc10" in header:
            if row["esc10"] not in ("True", "False"):
                raise DatasetFormatError(f"{meta}, line {line}: esc10 should be True or False, got {row['esc10']!r}")
            esc10.append(row["esc10"] == "True")
        paths.append(path)
        folds.append(fold)
        targets.append(target)
    categories = [names.get(t, f"class {t}") for t in range(max(names, default=-1) + 1)]
    return SoundData(paths, folds, targets, categories, esc10)


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


# ----------------------------------------------------------------------------------------- speech separation
@dataclass
class FaceTrack:
    """One AVSpeech segment: a YouTube video id, the segment's start and end (seconds) and where the speaker's
    face is in the frame (x, y as fractions of its width and height, from the top-left)."""

    video_id: str
    start: float
    end: float
    x: float
    y: float


def read_avspeech(path: str | Path) -> list[FaceTrack]:
    """AVSpeech's avspeech_train.csv / avspeech_test.csv: no header, one segment per line,
    `YouTube ID,start,end,face x,face y` (seconds; fractions of the frame). The videos themselves are not part of
    the release: you download them by id and cut [start, end]."""
    import csv

    path = Path(path)
    if not path.is_file():
        raise DatasetFormatError(f"{path}: no such file (expected AVSpeech's avspeech_train.csv or avspeech_test.csv)")
    tracks = []
    rows = csv.reader(io.StringIO(read_text(path, "an AVSpeech CSV"), newline=""))
    for line, row in enumerate(rows, start=1):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 5:
            raise DatasetFormatError(f"{path}: line {line} has {len(row)} fields; AVSpeech lines are "
                                     f"'YouTube ID,start,end,x,y' (got {','.join(row)!r})")
        try:
            start, end, x, y = (float(v) for v in row[1:])
        except ValueError:
            raise DatasetFormatError(f"{path}: line {line}: start, end, x, y should be numbers, got {row[1:]!r}"
                                     + (" (AVSpeech's files have no header line)" if line == 1 else "")) from None
        if not end > start >= 0:
            raise DatasetFormatError(f"{path}: line {line}: the segment [{start}, {end}] is empty or negative")
        if not (0 <= x <= 1 and 0 <= y <= 1):
            raise DatasetFormatError(f"{path}: line {line}: the face centre ({x}, {y}) should be fractions of the "
                                     "frame, between 0 and 1")
        tracks.append(FaceTrack(row[0].strip(), start, end, x, y))
    if not tracks:
        raise DatasetFormatError(f"{path}: no segments")
    return tracks


@dataclass
class SpeakerClip:
    """One talking-head clip of a speaker-organised dataset: who speaks, from which video, the video file and the
    audio file (the same path for LRS3, whose .mp4 holds both) and the transcript where the dataset has one."""

    speaker: str
    video: str
    clip: str
    video_path: Path | None        # None for an audio-only release (VoxCeleb2's aac/ tree alone)
    audio_path: Path
    text: str = ""


AUDIO_SUFFIXES = (".m4a", ".wav", ".flac")


def read_voxceleb2(video_root: str | Path | None, audio_root: str | Path | None = None) -> list[SpeakerClip]:
    """VoxCeleb2 as released: <video_root>/<speaker id>/<YouTube id>/<clip>.mp4 (e.g. dev/mp4/id00012/
    21Uxsk56VDQ/00001.mp4), the audio in a parallel tree <audio_root>/<speaker>/<video>/<clip>.m4a (dev/aac/...).
    Without audio_root, the audio is read from the .mp4 itself; without video (video_root None, or a root that
    holds only audio: the vox2_dev_aac.zip download that clovaai/voxceleb_trainer uses), the clips are audio-only
    (video_path None). A clip whose audio file is missing is an error that names it."""
    if video_root is None or not any(Path(video_root).glob("*/*/*.mp4")):
        return _voxceleb2_audio(Path(audio_root if video_root is None else video_root))
    video_root = Path(video_root)
    clips = []
    for mp4 in sorted(video_root.glob("*/*/*.mp4")):
        speaker, video = mp4.parent.parent.name, mp4.parent.name
        audio = mp4
        if audio_root is not None:
            found = [p for p in (Path(audio_root) / speaker / video / (mp4.stem + s) for s in AUDIO_SUFFIXES) if p.is_file()]
            if not found:
                raise DatasetFormatError(f"{mp4}: no audio for this clip at {Path(audio_root) / speaker / video / mp4.stem}"
                                         f"{{{','.join(AUDIO_SUFFIXES)}}}")
            audio = found[0]
        clips.append(SpeakerClip(speaker, video, mp4.stem, mp4, audio))
    return clips


def _voxceleb2_audio(root: Path) -> list[SpeakerClip]:
    if not root.is_dir():
        raise DatasetFormatError(f"{root}: no such folder (expected VoxCeleb2's mp4/ or aac/ tree: "
                                 "<speaker>/<video>/<clip>.mp4 or .m4a)")
    clips = [SpeakerClip(a.parent.parent.name, a.parent.name, a.stem, None, a)
             for a in sorted(p for s in AUDIO_SUFFIXES for p in root.glob(f"*/*/*{s}"))]
    if not clips:
        raise DatasetFormatError(f"{root}: no clips at <speaker>/<video>/<clip>.mp4, nor audio at "
                                 f"<speaker>/<video>/<clip>{{{','.join(AUDIO_SUFFIXES)}}} (is this the mp4/ or aac/ folder "
                                 "of VoxCeleb2's dev or test split?)")
    return clips


def read_lrs3(root: str | Path) -> list[SpeakerClip]:
    """LRS3 as released: <root>/<YouTube id>/<clip>.mp4 with <clip>.txt beside it, whose first line is
    'Text:  THE WORDS' (then Conf and word timings). LRS3 names no speaker: one TED talk is one speaker, so the
    video id stands for it."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetFormatError(f"{root}: no such folder (expected an LRS3 split such as trainval/ or test/)")
    clips = []
    for mp4 in sorted(root.glob("*/*.mp4")):
        txt = mp4.with_suffix(".txt")
        if not txt.is_file():
            raise DatasetFormatError(f"{mp4}: its transcript {txt.name} is missing")
        first = read_text(txt, "an LRS3 transcript").splitlines()[:1]
        if not first or not first[0].startswith("Text:"):
            raise DatasetFormatError(f"{txt}: the first line should be 'Text:  <transcript>', got {first[0][:60] if first else ''!r}")
        video = mp4.parent.name
        clips.append(SpeakerClip(video, video, mp4.stem, mp4, mp4, first[0][len("Text:"):].strip()))
    if not clips:
        raise DatasetFormatError(f"{root}: no clips at <video id>/<clip>.mp4")
    return clips
