"""Train notebook 08's two separators longer than the notebook can, and write data/separator_{av,ao}.pt (+ .sha256).

    python scripts/train_separators.py                  # about 30 minutes on 2 CPU cores
    python scripts/train_separators.py --steps 50 --out-dir /tmp/sep    # a quick smoke run

Both networks get the same recipe: the same fresh random mixtures of the four seen voices' training
utterances, steps, batch, learning rate and seed. The audio-visual one is told the order by the faces;
the audio-only one (no visual stream) is trained with utterance-level PIT.
"""
import argparse
import time
from pathlib import Path

import torch

from mmlearn import separation as sep
from mmlearn.core import save_checkpoint
from mmlearn.audio_datasets import read_speech
from mmlearn.world.speech import SpeechMixtures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=1.0, help="length of the training mixtures")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--out-dir", type=Path, default=sep.CHECKPOINTS["audio-visual"].parent)
    args = parser.parse_args()

    split = sep.split_utterances(read_speech())
    test = sep.mixture_batch(SpeechMixtures(split["test"], n=100, seconds=2.0, seed=2), range(100))

    def si_sdri(model):
        estimates = sep.separate(model, test["mixture"], test["faces"])
        scores = sep.separation_scores(estimates, test["sources"], test["mixture"], with_sdr=False)
        key = "si_sdri" if model.visual is not None else "si_sdri_pit"
        return {"test SI-SDRi": scores[key].mean()}

    for name, visual in (("audio-visual", True), ("audio-only", False)):
        start = time.perf_counter()
        model, history = sep.train_separator(split["train"], visual, args.steps, args.batch_size, args.seconds,
                                             args.lr, args.seed, eval_fn=si_sdri, eval_every=args.eval_every)
        path = args.out_dir / sep.CHECKPOINTS[name].name
        digest = save_checkpoint(model, path, half=True)
        curve = ", ".join(f"{s}: {e['test SI-SDRi']:.2f}" for s, e in zip(history.eval_steps, history.evals))
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, sha256 {digest[:16]}...): {args.steps:,} steps in "
              f"{(time.perf_counter() - start) / 60:.1f} min; test SI-SDRi by step: {curve}", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
