"""Distil the SoundNet student longer than notebook 06 can, and write data/soundnet_student.pt (+ .sha256).

    python scripts/distil_soundnet.py                 # about 6 minutes on 2 CPU cores
    python scripts/distil_soundnet.py --steps 100 --out /tmp/s.pt   # a quick smoke run

The recipe is the notebook's, with more videos and steps: the world's training scenes with every object
sounding over the place's ambience; the visual teachers (object and scene heads on the frozen backbone,
fitted on labelled images) label each video's frame; the student learns to predict both from the sound.
"""
import argparse
import time
from pathlib import Path

from mmlearn import backbone, seed_everything
from mmlearn.core import save_checkpoint
from mmlearn import soundnet as sn
from mmlearn.audio import scene_sounds
from mmlearn.train import batches_of, fit
from mmlearn.world import World


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=12_000, help="training scenes, one 1-s sound each")
    parser.add_argument("--steps", type=int, default=4_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=sn.CHECKPOINT)
    args = parser.parse_args()

    start = time.perf_counter()
    world = World()
    scenes = world.split("train", args.videos, language=False).scenes
    grid = backbone.cached_features(world, "train", args.videos)[0]
    teachers, _ = sn.train_teachers(grid, scenes, seed=args.seed)
    objects, places = teachers(grid)
    waves = scene_sounds(scenes, seed=args.seed + 1)
    seed_everything(args.seed)
    student = sn.SoundNetStudent(objects.shape[1], places.shape[1])
    history = fit(student, lambda m, b: sn.distillation_loss(*m(b[0]), b[1], b[2]),
                  batches_of(waves, objects, places, batch_size=args.batch_size), steps=args.steps, lr=1e-3,
                  seed=args.seed, desc="distilling the SoundNet student")
    digest = save_checkpoint(student.eval(), args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, sha256 {digest[:16]}...): {args.videos:,} videos, "
          f"{args.steps:,} steps in {history.seconds / 60:.1f} min (all in {(time.perf_counter() - start) / 60:.1f} min); "
          f"loss {history.loss[0]:.3f} -> {sum(history.loss[-50:]) / 50:.3f} (mean of the last 50 steps)")


if __name__ == "__main__":
    main()
