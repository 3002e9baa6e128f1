"""Our skip-gram against gensim's Word2Vec(sg=1): same corpus, same settings, same machine.

    python benchmarks/word2vec_peer.py                 # the notebook's settings (3 epochs), seed 0
    python benchmarks/word2vec_peer.py --seeds 0 1 2   # several seeds, mean ± spread

Throughput counts in-vocabulary corpus words (before subsampling) per second of training, both sides; gensim uses
2 worker threads, ours 2 torch threads (the reference machine has 2 cores). Quality is measured with the
same evaluation code for both (mmlearn.word2vec.evaluate, checked against gensim's own in the tests).

The speed bar lives here, not in notebook 02 (a timed assertion there would fail at random on a noisy
machine): ours must reach THROUGHPUT_BAR of gensim's words/s; the script prints PASS or FAIL and exits 1 on FAIL.
"""
import argparse

import numpy as np
import torch

from mmlearn import word2vec as W

THROUGHPUT_BAR = 0.25   # ours / gensim words per second, mean over seeds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sentences = W.read_corpus()
    vocab = W.corpus_vocab(sentences, min_count=5)
    print(f"corpus: {len(sentences):,} lines, {sum(map(len, sentences)):,} words, vocabulary {len(vocab):,} (min_count 5)")
    print(f"settings: dim {args.dim}, window 5, negatives 5, sample 1e-3, epochs {args.epochs}, lr 0.025 -> 2.5e-6\n")
    rows = {"mmlearn": [], "gensim": []}
    for seed in args.seeds:
        ours, log = W.train_skipgram(sentences, vocab, dim=args.dim, epochs=args.epochs, seed=seed, progress=False)
        rows["mmlearn"].append(W.evaluate(ours) | {"words/s": log.words_per_second, "seconds": log.seconds})
        peer, peer_log = W.train_gensim(sentences, dim=args.dim, epochs=args.epochs, seed=seed, workers=args.threads)
        rows["gensim"].append(W.evaluate(peer) | {"words/s": peer_log.words_per_second, "seconds": peer_log.seconds})
        print(f"seed {seed}: " + "  ".join(f"{k} {rows[k][-1]['WordSim-353']:.3f} / {rows[k][-1]['analogy']:.3f} / "
                                          f"{rows[k][-1]['words/s'] / 1e3:.0f}k w/s" for k in rows))
    keys = ["WordSim-353", "SimLex-999", "analogy", "analogy coverage", "words/s", "seconds"]
    print(f"\n| {'':8s} | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for name, runs in list(rows.items()) + [("ratio", None)]:
        if runs is None:
            cells = [np.mean([r[k] for r in rows["mmlearn"]]) / np.mean([r[k] for r in rows["gensim"]]) for k in keys]
            print(f"| {name:8s} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
            continue
        cells = []
        for k in keys:
            values = np.array([r[k] for r in runs])
            cells.append(f"{values.mean():,.3f}" + (f" ± {values.std():.3f}" if len(values) > 1 else "")
                         if values.mean() < 100 else f"{values.mean():,.0f}")
        print(f"| {name:8s} | " + " | ".join(cells) + " |")
    ratio = np.mean([r["words/s"] for r in rows["mmlearn"]]) / np.mean([r["words/s"] for r in rows["gensim"]])
    ok = ratio >= THROUGHPUT_BAR
    print(f"\nthroughput ratio ours/gensim {ratio:.2f} (bar {THROUGHPUT_BAR}): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
