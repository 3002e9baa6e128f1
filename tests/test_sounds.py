import json
import shutil

import numpy as np
import pytest
import torch
import torchaudio

from mmlearn import audio_datasets as ad
from mmlearn import datasets as ds
from mmlearn.metrics import linear_probe
from mmlearn.world import PLACES, SHAPES, World
from mmlearn.world import speech as sp
from mmlearn.world.sounds import SAMPLE_RATE, ambience, object_sounds, render_audio, render_scene_audio

MEL = torchaudio.transforms.MelSpectrogram(SAMPLE_RATE, n_fft=512, hop_length=256, n_mels=40)


def log_mel_profile(waves):
    """(n, samples) -> (n, 40): the time-averaged log-mel spectrum, a fixed feature."""
    return torch.log(MEL(torch.from_numpy(waves)) + 1e-6).mean(-1)


def test_scene_audio_is_deterministic_by_seed():
    scene = World().split("val", 3, language=False).scenes[1]
    a, b, c = render_audio(scene, seed=5), render_audio(scene, seed=5), render_audio(scene, seed=6)
    assert a.shape == (SAMPLE_RATE,) and np.array_equal(a, b) and not np.array_equal(a, c)


def test_every_shapes_timbre_is_learnable_across_pitch_and_loudness():
    rng = np.random.default_rng(0)
    n = 1200
    shape, color, size = rng.integers(0, 5, n), rng.integers(0, 6, n), rng.integers(0, 2, n)
    x = log_mel_profile(object_sounds(shape, color, size, rng, seconds=0.5))
    accuracy = linear_probe(x[:900], torch.from_numpy(shape[:900]), x[900:], torch.from_numpy(shape[900:]))
    assert accuracy >= 0.9  # chance is 0.2


def test_every_places_ambience_is_learnable():
    rng = np.random.default_rng(1)
    place = rng.integers(0, len(PLACES), 600)
    x = log_mel_profile(ambience(place, rng, seconds=0.5))
    accuracy = linear_probe(x[:400], torch.from_numpy(place[:400]), x[400:], torch.from_numpy(place[400:]))
    assert accuracy >= 0.9  # chance is 0.25


def test_colour_sets_the_pitch_and_size_the_loudness():
    rng = np.random.default_rng(2)
    waves = object_sounds([0, 0, 0], [0, 5, 0], [1, 1, 0], rng)  # red circle, white circle, small red circle
    peak = lambda w: np.fft.rfftfreq(len(w), 1 / SAMPLE_RATE)[np.abs(np.fft.rfft(w)).argmax()]  # noqa: E731
    # within half a semitone of jitter plus the vibrato's depth
    assert peak(waves[0]) == pytest.approx(196, rel=0.08) and peak(waves[1]) == pytest.approx(554, rel=0.08)
    rms = np.sqrt((waves ** 2).mean(1))
    assert 5 < 20 * np.log10(rms[0] / rms[2]) < 13


def test_only_chosen_objects_sound_and_the_ground_truth_says_which():
    scenes = World().split("val", 20, language=False).scenes
    silent, truth = render_scene_audio(scenes, np.random.default_rng(0), sounding=np.zeros((20, 3), bool),
                                       with_ambience=False)
    assert not silent.any() and not truth.any()
    everything = np.ones((20, 3), bool)
    _, truth = render_scene_audio(scenes, np.random.default_rng(0), sounding=everything)
    assert np.array_equal(truth, scenes.present)  # absent objects never sound
    one = render_audio(scenes[0], sounding=[0], seed=0)
    assert one.shape == (SAMPLE_RATE,) and np.abs(one).max() > 0


# ----------------------------------------------------------------------------------------- ESC-50
def test_esc50_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    shape = rng.integers(0, 5, 10)
    waves = object_sounds(shape, rng.integers(0, 6, 10), rng.integers(0, 2, 10), rng, seconds=0.5)
    meta = ad.write_esc50(tmp_path, waves, shape, list(SHAPES), folds=np.arange(10) % 5 + 1, sample_rate=SAMPLE_RATE)
    assert meta.read_text().splitlines()[0] == ",".join(ad.ESC50_COLUMNS)
    data = ad.read_esc50(tmp_path)
    assert data.targets == shape.tolist() and data.folds == [1, 2, 3, 4, 5] * 2
    assert data.categories == list(SHAPES)
    assert np.abs(data.load(SAMPLE_RATE) - waves).max() < 1e-3  # 16-bit PCM


@pytest.mark.parametrize("edit, problem", [
    (lambda rows: [r.replace(",fold,", ",folds,") for r in rows], r"missing column\(s\) \['fold'\]"),
    (lambda rows: rows[:1] + [rows[1].replace(",0,circle", ",x,circle")], "line 2: fold and target must be integers"),
    (lambda rows: rows[:2] + [rows[2].replace(",1,square", ",0,square")], "target 0 is both 'circle' and 'square'"),
    (lambda rows: rows + ["9-1-A-0.wav,1,0,circle,False,1,A"], r"line 4: audio file .*9-1-A-0.wav is not there"),
])
def test_esc50_reader_names_the_problem(tmp_path, edit, problem):
    waves = np.zeros((2, 800), np.float32)
    meta = ad.write_esc50(tmp_path, waves, [0, 1], ["circle", "square"], [1, 1], SAMPLE_RATE)
    meta.write_text("\n".join(edit(meta.read_text().splitlines())) + "\n")
    with pytest.raises(ds.DatasetFormatError, match=problem):
        ad.read_esc50(tmp_path)


def test_esc50_loader_rejects_broken_audio_and_wrong_rates(tmp_path):
    ad.write_esc50(tmp_path, np.zeros((1, 800), np.float32), [0], ["circle"], [1], SAMPLE_RATE)
    data = ad.read_esc50(tmp_path)
    with pytest.raises(ds.DatasetFormatError, match="sample rate 16000 Hz, expected 44100"):
        data.load(44_100)
    data.paths[0].write_bytes(b"RIFF nonsense")
    with pytest.raises(ds.DatasetFormatError, match="not a readable sound file"):
        data.load()
    with pytest.raises(ds.DatasetFormatError, match="meta/esc50.csv: no such file"):
        ad.read_esc50(tmp_path / "elsewhere")


# ----------------------------------------------------------------------------------------- speech and faces
def test_shipped_speech_has_six_voices_of_sixty_short_clips():
    utterances = ad.read_speech()
    assert sp.voices(utterances) == list(sp.VOICE_NAMES)
    for voice in sp.VOICE_NAMES:
        assert sum(u.voice == voice for u in utterances) >= 60
    for u in utterances:
        assert 1.0 <= u.seconds <= 3.0 and u.audio.dtype == np.float32 and u.text
        assert u.words[0]["start"] >= 0 and u.words[-1]["end"] <= u.seconds + 1e-3
        assert [w["word"] for w in u.words] == u.text.split()
    size = sum(f.stat().st_size for f in ad.SPEECH_DIR.rglob("*") if f.is_file())
    assert size < 25e6


def test_voices_are_clearly_distinct():
    """A linear probe on a fixed feature (mean and spread of the log-mel spectrum) tells the six voices apart."""
    utterances = ad.read_speech()
    names = list(sp.VOICE_NAMES)
    features, labels, is_test = [], [], []
    for u in utterances:
        mel = torch.log(MEL(torch.from_numpy(u.audio)) + 1e-6)
        features.append(torch.cat([mel.mean(-1), mel.std(-1)]))
        labels.append(names.index(u.voice))
        is_test.append(int(u.file.split("/")[1][:2]) >= 45)
    x, y, test = torch.stack(features), torch.tensor(labels), torch.tensor(is_test)
    assert linear_probe(x[~test], y[~test], x[test], y[test]) >= 0.9  # chance is 1/6


def test_faces_move_in_sync_with_their_own_audio():
    utterances = ad.read_speech()
    own, other = [], []
    for i in range(40):
        a, b = utterances[i], utterances[-1 - i]
        n = int(np.ceil(max(a.seconds, b.seconds) * sp.FPS))
        mouth = sp.mouth_track(a, n)[0]
        own.append(np.corrcoef(mouth, sp.frame_envelope(a.audio, n))[0, 1])
        other.append(np.corrcoef(mouth, sp.frame_envelope(b.audio, n))[0, 1])
    assert np.mean(own) > 0.5 and np.mean(own) > np.mean(other) + 0.4


def test_talking_face_frames_and_identity():
    u = ad.read_speech()[0]
    frames = sp.talking_face(u)
    assert frames.shape == (int(np.ceil(u.seconds * 25)), 32, 32, 3) and frames.dtype == np.uint8
    assert len({frames[k].tobytes() for k in range(len(frames))}) > 3  # the mouth moves
    other_voice = next(x for x in ad.read_speech() if x.voice != u.voice)
    assert not np.array_equal(sp.talking_face(other_voice)[0][:10], frames[0][:10])  # another face


def test_mixtures_are_sums_of_aligned_sources():
    mixtures = sp.SpeechMixtures(ad.read_speech(), n=8, seconds=2.0, with_ambience=True, seed=3)
    for i in range(len(mixtures)):
        m = mixtures[i]
        assert m.voices[0] != m.voices[1] and sp.GAIN_DB[0] <= m.gain_db <= sp.GAIN_DB[1]
        assert np.allclose(m.mixture, m.sources.sum(0) + m.noise)
        assert m.sources.shape == (2, 32_000) and m.faces.shape == (2, 50, 32, 32, 3)
        for k in range(2):  # each face stream follows its own source, not the other
            env_own = sp.frame_envelope(m.sources[k], 50)
            env_other = sp.frame_envelope(m.sources[1 - k], 50)
            assert np.corrcoef(m.mouths[k], env_own)[0, 1] > np.corrcoef(m.mouths[k], env_other)[0, 1]
    again = sp.SpeechMixtures(ad.read_speech(), n=8, seconds=2.0, with_ambience=True, seed=3)[5]
    assert np.array_equal(again.mixture, mixtures[5].mixture)
    with pytest.raises(IndexError):
        mixtures[8]


def test_every_voice_keeps_its_own_face_in_mixtures_of_any_subset():
    utterances = ad.read_speech()
    two_voices = [u for u in utterances if u.voice in ("elin", "femi")]
    m = sp.SpeechMixtures(two_voices, n=1, seconds=1.0)[0]
    for k, voice in enumerate(m.voices):
        own = sp.talking_face(next(u for u in utterances if u.voice == voice), n_frames=1)
        assert np.array_equal(m.faces[k, 0, :16], own[0, :16])      # hair, skin and eyes: the face's identity


def test_a_broken_speech_index_is_named(tmp_path):
    shutil.copytree(ad.SPEECH_DIR / "aria", tmp_path / "aria")
    index = json.loads((ad.SPEECH_DIR / "index.json").read_text())
    index["utterances"] = index["utterances"][:2]
    del index["utterances"][1]["text"]
    (tmp_path / "index.json").write_text(json.dumps(index))
    with pytest.raises(ds.DatasetFormatError, match=r"index.json: utterances\[1\] lacks \['text'\]"):
        ad.read_speech(tmp_path)
