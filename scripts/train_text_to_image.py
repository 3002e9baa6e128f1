"""Train notebook 04's networks longer than the notebook can, and write them to data/ (each with its .sha256):

    data/t2i_matching.pt          the frozen image-text matching model (notebook 01's InfoNCE recipe) whose
                                  text embeddings condition the generators, and which R-precision uses
    data/t2i_<variant>.pt         one generator per variant: cGAN, GAN-CLS, GAN-INT-CLS, GAN-INT-CLS + CA

    python scripts/train_text_to_image.py                        # on a GPU if there is one
    python scripts/train_text_to_image.py --steps 50 --out-dir /tmp/t2i --train 2000    # a quick smoke run

Every variant gets the same recipe: the same training scenes and caption embeddings, steps, batch, learning
rate and seed. Scores on held-out test captions are printed every --eval-every steps.
"""
import argparse
import time
from pathlib import Path

import numpy as np
import torch

from mmlearn import backbone, gan
from mmlearn import judging
from mmlearn.core import images_to_tensor, pick_device, save_checkpoint, seed_everything
from mmlearn.retrieval import embed_texts, train_matching
from mmlearn.text import encode_captions, world_vocab
from mmlearn.world import World


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--train", type=int, default=20_000, help="training scenes (5 captions each)")
    parser.add_argument("--matching-steps", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=1_000)
    parser.add_argument("--variants", nargs="*", default=list(gan.VARIANTS))
    parser.add_argument("--out-dir", type=Path, default=gan.MATCHING.parent)
    parser.add_argument("--reuse-matching", action="store_true",
                        help="load <out-dir>/t2i_matching.pt instead of training it (to train variants in parallel)")
    args = parser.parse_args()
    device = pick_device()
    seed_everything(args.seed)

    world, vocab = World(), world_vocab()
    extractor = backbone.load().to(device)
    train = world.split("train", args.train)
    grid, _ = backbone.extract(extractor, train.scenes.image)
    ids, lengths = encode_captions(vocab, train.captions)
    path = args.out_dir / gan.MATCHING.name
    if not args.reuse_matching:
        start = time.perf_counter()
        matching, _ = train_matching(grid.to(device), ids.to(device), lengths.to(device), len(vocab),
                                     steps=args.matching_steps, seed=args.seed)
        save_checkpoint(matching, path, half=True)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - start:.0f} s", flush=True)
    matching = gan.load_matching(len(vocab), grid.shape[1], grid.shape[-1], path).to(device)

    flat = [c for caps in train.captions for c in caps]
    text = embed_texts(matching["text"], vocab, flat).view(len(train), len(train.captions[0]), -1)
    data = gan.CaptionedImages(images_to_tensor(train.scenes.image) * 2 - 1, text, train.captions, train.scenes)

    test = world.split("test", 2_000)
    scenes, reference = test.scenes.take(np.arange(1_000)), backbone.extract(extractor, test.scenes.image[1_000:])[1]
    rng = np.random.default_rng(args.seed)
    captions = [caps[k] for caps, k in zip(test.captions[:1_000], rng.integers(0, 5, 1_000))]
    judge = judging.Judge(extractor, judging.train_reader(grid.to(device), train.scenes)[0].to(device), matching, vocab,
                      captions, reference)
    test_text = embed_texts(matching["text"], vocab, captions)
    real = judge.scores(images_to_tensor(scenes.image), captions, scenes)
    print("real test images:", ", ".join(f"{k} {v:.3f}" for k, v in real.items()), flush=True)
    keys = ("place", "colour recall", "shape recall", "count", "fits caption", "R-precision", "Fréchet")

    for variant in args.variants:
        path = args.out_dir / gan.CHECKPOINTS[variant].name

        def evaluate(g):  # and keep the latest generator, so an interrupted run still leaves one
            save_checkpoint(g, path, half=True)
            scores = judge.scores(gan.generate(g, test_text), captions, scenes)
            done.append(min((len(done) + 1) * args.eval_every, args.steps))
            print(f"  {variant} step {done[-1]:>6,} ({time.perf_counter() - start:.0f} s): "
                  + ", ".join(f"{k} {scores[k]:.3f}" for k in keys), flush=True)
            return {k: scores[k] for k in keys}

        done, start = [], time.perf_counter()
        pair, history = gan.train_gan(data, variant, args.steps, gan.SHIPPED, args.batch_size, seed=args.seed,
                                      device=device, eval_fn=evaluate, eval_every=args.eval_every, progress=False)
        digest = save_checkpoint(pair["g"], path, half=True)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, sha256 {digest[:16]}...): {args.steps:,} steps in "
              f"{(time.perf_counter() - start) / 60:.1f} min on {device} ({history.seconds / args.steps * 1e3:.1f} "
              "ms per step, evaluations included)", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(min(torch.get_num_threads(), 16))
    main()
