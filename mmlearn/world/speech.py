"""Speech and talking faces: the shipped utterances, faces whose mouths follow them, and 2-speaker mixtures.

    utterances = mmlearn.audio_datasets.read_speech()    # 360 clips, 6 voices (data/speech, made by scripts/make_speech.py)
    u = utterances[0]; u.audio, u.text, u.words, u.phonemes
    frames = talking_face(u)                        # (T, 32, 32, 3) uint8 at 25 fps
    mixtures = SpeechMixtures(utterances, n=200)    # mixture, both sources, both face streams

The mouth is driven by the phoneme timing (visemes: how open, how rounded) scaled by the audio's
loudness in each video frame, so it moves in sync with that voice and no other.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .sounds import SAMPLE_RATE, ambience

FPS = 25
VOICE_NAMES = ("aria", "boris", "cleo", "dev", "elin", "femi")  # as made by scripts/make_speech.py
GAIN_DB = (-5.0, 5.0)  # the second speaker's level relative to the first, drawn uniformly


@dataclass
class Utterance:
    """One shipped clip: 16 kHz mono audio (samples,) with its text, voice and word / phoneme timing (seconds)."""

    file: str
    voice: str
    text: str
    audio: np.ndarray
    words: list[dict]
    phonemes: list[dict]

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


def voices(utterances) -> list[str]:
    return sorted({u.voice for u in utterances})


# ----------------------------------------------------------------------------------------- visemes
OPEN_VOWELS = set("aɑæʌɒɐ")
ROUND = set("oɔuʊwɵ")
CLOSED = {"p", "b", "m"}
NARROW = {"f", "v", "θ", "ð"}


def viseme(phoneme: str) -> tuple[float, float]:
    """(openness 0..1, roundness 0..1) of the mouth for one IPA phoneme."""
    core = phoneme.strip("ːˑ")
    if core in CLOSED:
        return 0.0, 0.0
    if core in NARROW:
        return 0.15, 0.0
    if any(c in ROUND for c in core):
        return 0.55, 1.0
    if any(c in OPEN_VOWELS for c in core):
        return 1.0, 0.0
    if any(c in "eɛəɜiɪɚ" for c in core):
        return 0.6, 0.0
    return 0.3, 0.0  # other consonants: slightly open


def frame_envelope(audio: np.ndarray, n_frames: int, fps: int = FPS) -> np.ndarray:
    """RMS loudness of the audio in each video frame (n_frames,)."""
    hop = SAMPLE_RATE // fps
    padded = np.zeros(n_frames * hop, np.float32)
    padded[: min(len(audio), len(padded))] = audio[: len(padded)]
    return np.sqrt((padded.reshape(n_frames, hop) ** 2).mean(1))


def mouth_track(u: Utterance, n_frames: int | None = None, fps: int = FPS) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame mouth openness and roundness (n_frames,), from the visemes scaled by the frame's loudness."""
    n_frames = n_frames or int(np.ceil(u.seconds * fps))
    centres = (np.arange(n_frames) + 0.5) / fps
    openness, roundness = np.zeros(n_frames, np.float32), np.zeros(n_frames, np.float32)
    for p in u.phonemes:
        inside = (centres >= p["start"]) & (centres < p["end"])
        openness[inside], roundness[inside] = viseme(p["phoneme"])
    envelope = frame_envelope(u.audio, n_frames, fps)
    loudness = np.clip(envelope / (envelope.max() + 1e-8) * 1.5, 0, 1)
    return openness * (0.3 + 0.7 * loudness), roundness


# ----------------------------------------------------------------------------------------- faces
FACE_COLORS = np.array([[0.96, 0.80, 0.69], [0.80, 0.60, 0.45], [0.55, 0.38, 0.26],
                        [0.93, 0.75, 0.60], [0.70, 0.52, 0.38], [0.45, 0.30, 0.20]], np.float32)
HAIR_COLORS = np.array([[0.35, 0.2, 0.1], [0.1, 0.1, 0.1], [0.85, 0.7, 0.3],
                        [0.6, 0.2, 0.1], [0.3, 0.3, 0.3], [0.15, 0.1, 0.05]], np.float32)
FACE_SHAPES = (0.85, 1.0, 0.75, 0.95, 0.8, 1.05)  # width / height of the face ellipse, per voice


def talking_face(u: Utterance, voice_index: int | None = None, n_frames: int | None = None, size: int = 32,
                 fps: int = FPS, mouth=None) -> np.ndarray:
    """Frames (T, size, size, 3) uint8 of a face — its identity set by the voice — whose mouth follows `u`."""
    openness, roundness = mouth if mouth is not None else mouth_track(u, n_frames, fps)
    if voice_index is None:
        voice_index = VOICE_NAMES.index(u.voice) if u.voice in VOICE_NAMES else sum(map(ord, u.voice))
    v = voice_index % len(FACE_COLORS)
    grid = (np.arange(size, dtype=np.float32) + 0.5) / size
    x, y = grid[None, :], grid[:, None]
    face = ((x - 0.5) / (0.34 * FACE_SHAPES[v])) ** 2 + ((y - 0.52) / 0.42) ** 2 < 1
    hair = face & (y < 0.3)
    eyes = ((x - 0.38) ** 2 + (y - 0.42) ** 2 < 0.003) | ((x - 0.62) ** 2 + (y - 0.42) ** 2 < 0.003)
    image = np.full((size, size, 3), 0.85, np.float32)
    image[face] = FACE_COLORS[v]
    image[hair] = HAIR_COLORS[v]
    image[eyes] = 0.05
    frames = np.repeat(image[None], len(openness), axis=0)
    # mouth: an ellipse whose height follows openness and width shrinks when rounded (vectorised over frames)
    half_w = (0.16 - 0.07 * roundness)[:, None, None]
    half_h = (0.015 + 0.09 * openness)[:, None, None]
    inside = ((x - 0.5) / half_w) ** 2 + ((y - 0.72) / half_h) ** 2 < 1
    lips = ((x - 0.5) / (half_w + 0.03)) ** 2 + ((y - 0.72) / (half_h + 0.025)) ** 2 < 1
    frames[lips] = (0.65, 0.25, 0.25)
    frames[inside] = (0.2, 0.02, 0.05)
    return (frames * 255 + 0.5).astype(np.uint8)


# ----------------------------------------------------------------------------------------- mixtures
@dataclass
class Mixture:
    """Two speakers (different voices) in one clip; sources are already at their mixing gain.

    mixture (samples,) = sources.sum(0) + noise · sources (2, samples) · noise (samples,) ambience or zeros
    faces (2, T, H, W, 3) uint8 at 25 fps · mouths (2, T) openness · voices, texts (2,)
    """

    mixture: np.ndarray
    sources: np.ndarray
    noise: np.ndarray
    faces: np.ndarray
    mouths: np.ndarray
    voices: tuple[str, str]
    texts: tuple[str, str]
    gain_db: float


def _place(audio: np.ndarray, n_samples: int, offset: int) -> np.ndarray:
    out = np.zeros(n_samples, np.float32)
    piece = audio[: n_samples - offset]
    out[offset: offset + len(piece)] = piece
    return out


class SpeechMixtures:
    """A deterministic dataset of n two-speaker mixtures of `seconds` each (torch Dataset-compatible).

    Item i: two utterances of different voices, each placed at a random offset in the clip, the second
    scaled by a gain drawn uniformly in GAIN_DB (dB, relative to the first); optionally a place's
    ambience under both. Aligned in time: audio sample s belongs to video frame s // 640.
    """

    def __init__(self, utterances, n: int = 500, seconds: float = 2.0, with_ambience: bool = False,
                 face_size: int = 32, seed: int = 0):
        self.utterances = utterances
        self.voices = voices(self.utterances)
        self.n, self.seconds, self.with_ambience, self.face_size, self.seed = n, seconds, with_ambience, face_size, seed
        self.n_samples = int(round(seconds * SAMPLE_RATE))
        self.n_frames = int(round(seconds * FPS))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Mixture:
        if not 0 <= i < self.n:
            raise IndexError(i)
        rng = np.random.default_rng([self.seed, i])
        va, vb = rng.choice(len(self.voices), 2, replace=False)
        picks = []
        for v in (va, vb):
            pool = [u for u in self.utterances if u.voice == self.voices[v]]
            picks.append(pool[rng.integers(len(pool))])
        gain_db = float(rng.uniform(*GAIN_DB))
        sources, mouths, faces = [], [], []
        hop = SAMPLE_RATE // FPS
        for k, (u, v) in enumerate(zip(picks, (va, vb))):
            slack = max(self.n_samples - len(u.audio), 0)
            offset = int(rng.integers(0, slack // hop + 1)) * hop  # whole video frames, so faces stay aligned
            audio = _place(u.audio, self.n_samples, offset) * (10 ** (gain_db / 20) if k else 1.0)
            shifted = Utterance(u.file, u.voice, u.text, audio,
                                u.words, [dict(p, start=p["start"] + offset / SAMPLE_RATE, end=p["end"] + offset / SAMPLE_RATE)
                                          for p in u.phonemes])
            mouth = mouth_track(shifted, self.n_frames)
            sources.append(audio)
            mouths.append(mouth[0])
            faces.append(talking_face(shifted, None, self.n_frames, self.face_size, mouth=mouth))  # the voice's own face
        sources = np.stack(sources)
        noise = (ambience(rng.integers(0, 4, 1), rng, SAMPLE_RATE, self.seconds)[0] if self.with_ambience
                 else np.zeros(self.n_samples, np.float32))
        return Mixture(sources.sum(0) + noise, sources, noise, np.stack(faces), np.stack(mouths),
                       (picks[0].voice, picks[1].voice), (picks[0].text, picks[1].text), gain_db)
