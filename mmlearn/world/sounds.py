"""Sounds of the world: every shape has a timbre, every place an ambience; a scene can be heard.

The mapping (fixed, so sound and image agree):

| attribute | what it changes in the sound |
|---|---|
| shape  | timbre — circle: harmonic tone with vibrato; square: buzzy square wave; triangle: inharmonic bell, struck and decaying; diamond: rising chirps; cross: bursts of band-passed noise |
| colour | pitch register — red G3 (196 Hz), green B3, blue D4, yellow F#4, purple A4, white C#5 (554 Hz) |
| size   | loudness — large 0 dB, small -9 dB |
| place  | ambience — beach: surf; forest: wind and bird chirps; city: traffic rumble and engine hum; night: crickets |

Every instance varies at random (pitch ±half a semitone, vibrato, strike and chirp rates, burst
rhythm, phase, ±2 dB), so a classifier must learn the timbre, not one waveform. Everything is
vectorised over a batch of sounds.
"""
from __future__ import annotations

import numpy as np

from .scenes import COLORS, PLACES, SHAPES, Scene, Scenes

SAMPLE_RATE = 16_000
PITCH = dict(zip(COLORS, (196.0, 246.9, 293.7, 370.0, 440.0, 554.4)))  # Hz, per colour
GAIN_DB = {"small": -9.0, "large": 0.0}
OBJECT_RMS = 0.1
AMBIENCE_RMS = 0.03  # about 10 dB under a large object


def _time(n_samples: int, rate: int) -> np.ndarray:
    return (np.arange(n_samples, dtype=np.float32) / rate)[None, :]


def _normalise(x: np.ndarray, rms: float) -> np.ndarray:
    return (x * (rms / (np.sqrt((x * x).mean(axis=-1, keepdims=True)) + 1e-8))).astype(np.float32)


def shaped_noise(rng, n: int, n_samples: int, rate: int, low: float, high: float, slope: float = 0.0) -> np.ndarray:
    """(n, n_samples) noise whose spectrum is limited to [low, high] Hz and tilted by f**slope (FFT shaping)."""
    spectrum = np.fft.rfft(rng.standard_normal((n, n_samples), dtype=np.float32), axis=-1)
    freqs = np.fft.rfftfreq(n_samples, 1 / rate)
    low, high = np.broadcast_to(low, (n,))[:, None], np.broadcast_to(high, (n,))[:, None]
    shape = ((freqs >= low) & (freqs <= high)) * np.maximum(freqs, 1.0) ** slope
    return np.fft.irfft(spectrum * shape, n=n_samples, axis=-1).astype(np.float32)


# ----------------------------------------------------------------------------------------- timbres
def _harmonic_vibrato(rng, f0, t):
    rate, depth = rng.uniform(4.5, 7, (len(f0), 1)), rng.uniform(0.01, 0.025, (len(f0), 1))
    phase = f0 * t + f0 * depth / rate * np.sin(2 * np.pi * rate * t) + rng.random((len(f0), 1))
    return sum(a * np.sin(2 * np.pi * k * phase) for k, a in zip(range(1, 5), (1, 0.5, 0.25, 0.12)))


def _square(rng, f0, t, rate):
    """Band-limited square wave: odd harmonics k < 20 below Nyquist, amplitude 1/k.

    sin(kx) for odd k by the recurrence sin((k+2)x) = 2 cos(2x) sin(kx) - sin((k-2)x): no more sines.
    """
    x = 2 * np.pi * (f0 * t + rng.random((len(f0), 1)))
    two_cos = 2 * np.cos(2 * x)
    previous, current = -np.sin(x), np.sin(x)
    out = current.copy()
    for k in range(3, 20, 2):
        previous, current = current, two_cos * current - previous
        out += (k * f0 < rate / 2) * current / k
    return out


def _bell(rng, f0, t):
    period = rng.uniform(0.3, 0.6, (len(f0), 1))
    since_strike = (t + rng.random((len(f0), 1)) * period) % period
    partials = ((1.0, 1.0, 0.35), (2.76, 0.6, 0.2), (5.40, 0.4, 0.12), (8.93, 0.25, 0.08))  # ratio, amplitude, decay (s)
    return sum(a * np.exp(-since_strike / d) * np.sin(2 * np.pi * r * f0 * t) for r, a, d in partials)


def _chirps(rng, f0, t):
    period = rng.uniform(0.2, 0.35, (len(f0), 1))
    tau = (t + rng.random((len(f0), 1)) * period) % period
    phase = f0 * period / np.log(2) * (2 ** (tau / period) - 1)  # frequency f0 -> 2 f0 over each chirp
    return np.sin(np.pi * tau / period) * np.sin(2 * np.pi * phase)


def _noise_bursts(rng, f0, t, rate):
    noise = shaped_noise(rng, len(f0), t.shape[1], rate, 3 * f0[:, 0], 6 * f0[:, 0])
    burst_rate, duty = rng.uniform(5, 9, (len(f0), 1)), rng.uniform(0.25, 0.45, (len(f0), 1))
    gate = ((t * burst_rate + rng.random((len(f0), 1))) % 1) < duty
    return noise * gate


CHUNK = 256  # sounds made per vectorised pass: bounds the temporary memory (FFTs are complex128)


def _in_chunks(make, n, *arrays):
    """Run make(*chunk_of_each_array) over chunks of CHUNK rows, in order (so the rng stream is deterministic)."""
    if n <= CHUNK:
        return make(*arrays)
    return np.concatenate([make(*(a[i: i + CHUNK] for a in arrays)) for i in range(0, n, CHUNK)])


def object_sounds(shape, color, size, rng, rate: int = SAMPLE_RATE, seconds: float = 1.0) -> np.ndarray:
    """Waveforms (n, samples) for n objects given as index arrays shape, color, size (n,)."""
    shape, color, size = (np.asarray(a) for a in (shape, color, size))
    if len(shape) > CHUNK:
        return _in_chunks(lambda *a: object_sounds(*a, rng, rate, seconds), len(shape), shape, color, size)
    n, n_samples = len(shape), int(round(seconds * rate))
    t = _time(n_samples, rate)
    pitches = np.array([PITCH[c] for c in COLORS], np.float32)
    f0 = (pitches[color] * 2 ** (rng.uniform(-0.5, 0.5, n) / 12)).astype(np.float32)[:, None]
    out = np.zeros((n, n_samples), np.float32)
    for s, name in enumerate(SHAPES):
        idx = np.flatnonzero(shape == s)
        if len(idx) == 0:
            continue
        f = f0[idx]
        wave = {"circle": lambda: _harmonic_vibrato(rng, f, t), "square": lambda: _square(rng, f, t, rate),
                "triangle": lambda: _bell(rng, f, t), "diamond": lambda: _chirps(rng, f, t),
                "cross": lambda: _noise_bursts(rng, f, t, rate)}[name]()
        out[idx] = wave
    fade = np.minimum(1, np.minimum(t, t[:, ::-1]) / 0.01)  # 10 ms fade in and out: no clicks
    gain_db = np.array([GAIN_DB["small"], GAIN_DB["large"]])[size] + rng.uniform(-2, 2, n)
    return _normalise(out * fade, OBJECT_RMS) * (10 ** (gain_db / 20)).astype(np.float32)[:, None]


def ambience(place, rng, rate: int = SAMPLE_RATE, seconds: float = 1.0) -> np.ndarray:
    """Background textures (n, samples) for n place indices."""
    place = np.asarray(place)
    if len(place) > CHUNK:
        return _in_chunks(lambda p: ambience(p, rng, rate, seconds), len(place), place)
    n, n_samples = len(place), int(round(seconds * rate))
    t = _time(n_samples, rate)
    out = np.zeros((n, n_samples), np.float32)
    for p, name in enumerate(PLACES):
        idx = np.flatnonzero(place == p)
        m = len(idx)
        if m == 0:
            continue
        if name == "beach":  # surf: low noise swelling with slow waves
            swell = 0.3 + 0.7 * np.sin(np.pi * (rng.uniform(0.3, 0.6, (m, 1)) * t + rng.random((m, 1)))) ** 2
            wave = shaped_noise(rng, m, n_samples, rate, 80, 2500, -0.5) * swell
        elif name == "forest":  # wind plus a few bird chirps (fast sweeps at 2-4 kHz)
            wave = shaped_noise(rng, m, n_samples, rate, 60, 600, -0.5)
            wave = _normalise(wave, 1.0)
            for _ in range(3):
                start, f = rng.uniform(0, 0.9 * seconds, (m, 1)), rng.uniform(2000, 3500, (m, 1))
                tau = t - start
                chirp = np.sin(2 * np.pi * (f * tau + 4000 * tau ** 2)) * ((tau >= 0) & (tau < 0.08))
                wave += 1.5 * chirp * np.sin(np.pi * np.clip(tau / 0.08, 0, 1))
        elif name == "city":  # traffic rumble and an engine's hum
            hum = rng.uniform(45, 65, (m, 1))
            wave = _normalise(shaped_noise(rng, m, n_samples, rate, 20, 300, -1.0), 1.0)
            wave += 0.7 * sum(np.sin(2 * np.pi * k * hum * t) / k for k in range(1, 5))
        else:  # night: crickets, pulsed tones around 4.5 kHz
            f, pulse = rng.uniform(4000, 5000, (m, 1)), rng.uniform(12, 20, (m, 1))
            gate = ((t * pulse + rng.random((m, 1))) % 1) < 0.35
            chirping = ((t * 1.5 + rng.random((m, 1))) % 1) < 0.6
            wave = np.sin(2 * np.pi * f * t) * gate * chirping + 0.05 * rng.standard_normal((m, n_samples))
        out[idx] = wave
    return _normalise(out, AMBIENCE_RMS)


# ----------------------------------------------------------------------------------------- scenes
def render_scene_audio(scenes: Scenes, rng, sounding=None, rate: int = SAMPLE_RATE, seconds: float = 1.0,
                       with_ambience: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Mix each scene's ambience with its sounding objects.

    sounding: (N, K) bool of which objects sound (default: all present ones); absent objects never do.
    Returns waveforms (N, samples) and the sounding mask actually used (N, K) — the ground truth.
    """
    present = scenes.present
    sounding = present.copy() if sounding is None else (np.asarray(sounding, bool) & present)
    n_samples = int(round(seconds * rate))
    mix = ambience(scenes.place, rng, rate, seconds) if with_ambience else np.zeros((len(scenes), n_samples), np.float32)
    rows, slots = np.nonzero(sounding)
    if len(rows):
        waves = object_sounds(scenes.shape[rows, slots], scenes.color[rows, slots], scenes.size[rows, slots],
                              rng, rate, seconds)
        for k in np.unique(slots):  # within one slot every row is a different scene
            mix[rows[slots == k]] += waves[slots == k]
    return mix, sounding


def render_audio(scene: Scene | Scenes, sounding=None, rate: int = SAMPLE_RATE, seconds: float = 1.0,
                 seed: int = 0) -> np.ndarray:
    """One scene's sound (samples,), from its own seeded generator; `sounding` lists which of its objects
    sound (indices into scene.objects, or a bool per object; default: all)."""
    if isinstance(scene, Scenes):
        return render_scene_audio(scene, np.random.default_rng(seed), sounding, rate, seconds)[0]
    k = len(scene.objects)
    mask = np.ones(k, bool) if sounding is None else np.asarray(sounding)
    if mask.dtype != bool:
        mask = np.isin(np.arange(k), mask)
    return render_scene_audio(Scenes.from_scene(scene), np.random.default_rng(seed), mask[None], rate, seconds)[0][0]
