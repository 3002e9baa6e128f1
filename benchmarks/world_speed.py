"""How fast is the world? Scenes and sound clips rendered per second on one core, and what image size costs in training.

    python benchmarks/world_speed.py            # rendering + language, sizes 32/48/64
    python benchmarks/world_speed.py --train    # also: a small ResNet's training throughput per size (2 threads)

Not a test: it prints measurements for the notes (machine-dependent).
"""
import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # rendering is measured on one core

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mmlearn.world import World  # noqa: E402
from mmlearn.world.scenes import render_scenes  # noqa: E402
from mmlearn.world.sounds import render_scene_audio  # noqa: E402


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=4_000)
    parser.add_argument("--train", action="store_true", help="also time training a small CNN at each size")
    args = parser.parse_args()

    print(f"rendering {args.n} scenes (one core):")
    for size in (32, 48, 64):
        rng = np.random.default_rng(0)
        seconds = best_of(lambda: render_scenes(rng, args.n, size))
        print(f"  {size}x{size}: {args.n / seconds:8.0f} scenes/s")
    seconds = best_of(lambda: World().split("train", 2_000), repeat=1)
    print(f"scenes + 5 captions + 5 questions + tags (32x32): {2_000 / seconds:.0f} scenes/s")
    scenes = World().split("train", 1_000, language=False).scenes
    rng = np.random.default_rng(0)
    seconds = best_of(lambda: render_scene_audio(scenes, rng, seconds=1.0))
    print(f"scene audio, 1 s at 16 kHz (ambience + every object, one core): {1_000 / seconds:.0f} clips/s")

    if args.train:
        from mmlearn.backbone import PretrainHeads, WorldCNN

        torch.set_num_threads(2)
        print("training a WorldCNN (ResNet blocks 32-48-64) + heads, batch 128, 2 threads:")
        for size in (32, 48, 64):
            trunk, heads = WorldCNN(), PretrainHeads()
            params = list(trunk.parameters()) + list(heads.parameters())
            optimizer = torch.optim.Adam(params)
            x = torch.rand(128, 3, size, size)

            def step():
                optimizer.zero_grad()
                place, cells = heads(trunk(x))
                (place.sum() + sum(c.sum() for c in cells)).backward()
                optimizer.step()

            step()
            seconds = best_of(lambda: [step() for _ in range(5)], repeat=2) / 5
            print(f"  {size}x{size}: {128 / seconds:6.0f} images/s")


if __name__ == "__main__":
    main()
