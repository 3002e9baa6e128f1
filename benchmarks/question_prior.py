"""How much can a *blind* model — one that sees the question but not the image — get right?

Two question-only answer priors (`mmlearn.vqa.QuestionPrior`, the baselines of notebook 05) are fitted on
world training questions and scored on the test split:
- per type: always answer the type's most frequent training answer;
- per question: answer the most frequent training answer of that exact question text (falling back to
  the type's), the best any question-only model can do on questions it has seen.
Answer balancing in the question sampler is what keeps both near chance.

    python benchmarks/question_prior.py [--train 20000 --test 5000]
"""
import argparse
from collections import Counter, defaultdict

from mmlearn.vqa import QuestionPrior
from mmlearn.world import ANSWERS, QUESTION_TYPES, World


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=20_000)
    parser.add_argument("--test", type=int, default=5_000)
    args = parser.parse_args()
    world = World()
    train, test = world.split("train", args.train), world.split("test", args.test)
    prior = QuestionPrior.fit(train.questions)
    by_type, by_text = prior.accuracy(test.questions, by="type"), prior.accuracy(test.questions, by="text")
    answers = defaultdict(Counter)
    for q in (q for qs in test.questions for q in qs):
        answers[q.type][q.answer] += 1
    print(f"question-only priors: fitted on {args.train} training scenes, scored on {args.test} test scenes\n")
    print("| question type | test questions | chance | per-type prior | per-question prior | test answer shares |")
    print("|---|---|---|---|---|---|")
    for t in QUESTION_TYPES:
        n = sum(answers[t].values())
        shares = ", ".join(f"{a} {answers[t][a] / n:.2f}" for a in ANSWERS[t])
        print(f"| {t} | {n} | {1 / len(ANSWERS[t]):.3f} | {by_type[t]:.3f} | {by_text[t]:.3f} | {shares} |")
    total = sum(sum(c.values()) for c in answers.values())
    print(f"| all | {total} | | {by_type['all']:.3f} | {by_text['all']:.3f} | |")


if __name__ == "__main__":
    main()
