"""Make the course's speech clips: 6 synthetic voices x 60 short utterances, with word and phoneme timing.

    apt-get install espeak-ng          # the synthesizer (the course itself only reads the shipped files)
    python scripts/make_speech.py      # writes data/speech/<voice>/<nn>.flac and data/speech/index.json

How: each utterance is a short phrase about the world ("is there a small red circle"). Every word is
synthesised on its own with espeak-ng (voice variant, pitch and rate per voice), its leading and
trailing silence trimmed, and the words joined with a short pause; so the word boundaries are exact.
The word's phonemes (espeak-ng's IPA) are spread evenly over its voiced span — an approximation of
phoneme timing that is good enough to drive a talking face's visemes. Audio is resampled to 16 kHz
mono and stored as 16-bit FLAC.
"""
import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

RATE = 16_000
GAP = 0.06  # seconds of silence between words
VOICES = [  # name, espeak-ng voice, pitch (0-99), words per minute, sex, face
    {"name": "aria", "espeak": "en-us+f2", "pitch": 72, "rate": 165, "sex": "female"},
    {"name": "boris", "espeak": "en-us+m3", "pitch": 28, "rate": 140, "sex": "male"},
    {"name": "cleo", "espeak": "en-gb+f4", "pitch": 88, "rate": 190, "sex": "female"},
    {"name": "dev", "espeak": "en-gb+m7", "pitch": 50, "rate": 125, "sex": "male"},
    {"name": "elin", "espeak": "en-gb-scotland+f1", "pitch": 60, "rate": 150, "sex": "female"},
    {"name": "femi", "espeak": "en-029+m1", "pitch": 40, "rate": 175, "sex": "male"},
]
COLORS = ["red", "green", "blue", "yellow", "purple", "white"]
SHAPES = ["circle", "square", "triangle", "diamond", "cross"]
PLACES = ["on the beach", "in the forest", "in the city", "at night"]


def phrases(rng) -> list[str]:
    """A shuffled pool of short phrases about the world."""
    out = []
    for c in COLORS:
        for s in SHAPES:
            out += [f"a {c} {s}", f"is there a {c} {s}", f"the {c} {s} {rng.choice(PLACES)}",
                    f"two {c} {s}{'es' if s == 'cross' else 's'}", f"where is the small {c} {s}",
                    f"a large {c} {s} on the left"]
    rng.shuffle(out)
    return out


def synth_word(word: str, voice: dict, folder: str) -> np.ndarray:
    wav = os.path.join(folder, "w.wav")
    subprocess.run(["espeak-ng", "-v", voice["espeak"], "-p", str(voice["pitch"]), "-s", str(voice["rate"]),
                    "-w", wav, word], check=True)
    audio, rate = sf.read(wav, dtype="float32")
    audio = AF.resample(torch.from_numpy(audio), rate, RATE).numpy()
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max())
    return audio[max(loud[0] - 80, 0): loud[-1] + 80] if len(loud) else audio


def phonemes(word: str, voice: dict) -> list[str]:
    out = subprocess.run(["espeak-ng", "-q", "--ipa", "--sep=_", "-v", voice["espeak"], word],
                         check=True, capture_output=True, text=True).stdout
    return [p.strip("ˈˌ") for p in out.replace(" ", "_").strip().split("_") if p.strip("ˈˌ")]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "data" / "speech")
    parser.add_argument("--per-voice", type=int, default=60)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    index = {"sample_rate": RATE, "voices": VOICES, "utterances": []}
    with tempfile.TemporaryDirectory() as folder:
        for voice in VOICES:
            (args.out / voice["name"]).mkdir(parents=True, exist_ok=True)
            made = 0
            for text in phrases(rng):
                if made == args.per_voice:
                    break
                pieces, words, phones, t = [], [], [], 0.0
                for word in text.split():
                    audio = synth_word(word, voice, folder)
                    start, end = t, t + len(audio) / RATE
                    words.append({"word": word, "start": round(start, 4), "end": round(end, 4)})
                    ps = phonemes(word, voice)
                    step = (end - start) / max(len(ps), 1)
                    phones += [{"phoneme": p, "start": round(start + i * step, 4), "end": round(start + (i + 1) * step, 4)}
                               for i, p in enumerate(ps)]
                    pieces += [audio, np.zeros(int(GAP * RATE), np.float32)]
                    t = end + GAP
                clip = np.concatenate(pieces[:-1])
                if not 1.0 <= len(clip) / RATE <= 3.0:
                    continue
                clip = 0.9 * clip / np.abs(clip).max()
                name = f"{voice['name']}/{made:02d}.flac"
                sf.write(args.out / name, clip, RATE, subtype="PCM_16", format="FLAC")
                index["utterances"].append({"file": name, "voice": voice["name"], "text": text,
                                            "seconds": round(len(clip) / RATE, 4), "words": words, "phonemes": phones})
                made += 1
            print(f"{voice['name']}: {made} utterances")
    (args.out / "index.json").write_text(json.dumps(index, ensure_ascii=False) + "\n")
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"wrote {len(index['utterances'])} utterances, {size / 1e6:.1f} MB, to {args.out}")


if __name__ == "__main__":
    main()
