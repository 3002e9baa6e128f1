"""How much can a *blind* model — one that sees the question but not the image — get right?

Two question-only answer priors are fitted on world training questions and scored on the test split:
- per type: always answer the type's most frequent training answer;
- per question: answer the most frequent training answer of that exact question text (falling back to
  the type's), the best any question-only model can do on questions it has seen.
Answer balancing in the question sampler is what keeps both near chance.

    python benchmarks/question_prior.py [--train 20000 --test 5000]
"""
import argparse
from collections import Counter, defaultdict

from mmlearn.world import ANSWERS, QUESTION_TYPES, World


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=20_000)
    parser.add_argument("--test", type=int, default=5_000)
    args = parser.parse_args()
    world = World()
    train, test = world.split("train", args.train), world.split("test", args.test)
    by_type, by_text = defaultdict(Counter), defaultdict(Counter)
    for qs in train.questions:
        for q in qs:
            by_type[q.type][q.answer] += 1
            by_text[q.text][q.answer] += 1
    hits_type, hits_text, answers = defaultdict(list), defaultdict(list), defaultdict(Counter)
    for qs in test.questions:
        for q in qs:
            type_guess = by_type[q.type].most_common(1)[0][0]
            text_guess = by_text[q.text].most_common(1)[0][0] if q.text in by_text else type_guess
            hits_type[q.type].append(type_guess == q.answer)
            hits_text[q.type].append(text_guess == q.answer)
            answers[q.type][q.answer] += 1
    print(f"question-only priors: fitted on {args.train} training scenes, scored on {args.test} test scenes\n")
    print(f"| question type | test questions | chance | per-type prior | per-question prior | test answer shares |")
    print("|---|---|---|---|---|---|")
    for t in QUESTION_TYPES:
        n = len(hits_type[t])
        shares = ", ".join(f"{a} {answers[t][a] / n:.2f}" for a in ANSWERS[t])
        print(f"| {t} | {n} | {1 / len(ANSWERS[t]):.3f} | {sum(hits_type[t]) / n:.3f} | {sum(hits_text[t]) / n:.3f} | {shares} |")
    total = sum(len(v) for v in hits_type.values())
    print(f"| all | {total} | | {sum(map(sum, hits_type.values())) / total:.3f} | "
          f"{sum(map(sum, hits_text.values())) / total:.3f} | |")


if __name__ == "__main__":
    main()
