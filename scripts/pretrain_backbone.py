"""Pretrain the world backbone and write data/world_backbone.pt (+ .sha256), then report its quality.

    python scripts/pretrain_backbone.py              # ~10 minutes on 2 CPU cores
    python scripts/pretrain_backbone.py --steps 200  # a quick smoke run (writes to --out)

After training it prints the linear-probe accuracies of the frozen features (place from the pooled
feature; presence, shape, colour and size per grid cell) and the feature-extraction speed.
"""
import argparse
import time
from pathlib import Path

import torch

from mmlearn import backbone
from mmlearn.backbone import probe_report
from mmlearn.core import save_checkpoint


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--pool", type=int, default=40_000, help="training scenes rendered once")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=backbone.CHECKPOINT)
    args = parser.parse_args()

    torch.set_num_threads(torch.get_num_threads())
    start = time.perf_counter()
    trunk, _ = backbone.pretrain(args.steps, args.batch_size, args.pool, args.seed)
    digest = save_checkpoint(trunk, args.out)
    minutes = (time.perf_counter() - start) / 60
    size_mb = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size_mb:.2f} MB, sha256 {digest[:16]}...) after {minutes:.1f} min")
    probe_report(backbone.load(args.out, retrain=False))


if __name__ == "__main__":
    main()
