"""Visual question answering (notebook 05): the blind baselines that every VQA model is compared with.

    prior = QuestionPrior.fit(train.questions)                # world questions: N lists of Question
    prior.predict(question, by="type")                        # the type's most frequent training answer
    prior.predict(question, by="text")                        # ... of that exact question, else of its type

A model that never sees the image can still be right: "is there a ..." is "no" more often than not in
real data, "what colour is the banana" is "yellow". Goyal et al. (VQA v2, 2017) balanced the answers for
that reason; the world balances them per question family, and these priors measure what is left.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field


@dataclass
class QuestionPrior:
    """Answer counts per question type and per exact question text, fitted on training questions."""

    by_type: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    by_text: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    @classmethod
    def fit(cls, questions: list[list]) -> "QuestionPrior":
        """questions: per scene, a list of objects with .text, .type and .answer (world Questions)."""
        prior = cls()
        for qs in questions:
            for q in qs:
                prior.by_type[q.type][q.answer] += 1
                prior.by_text[q.text][q.answer] += 1
        return prior

    def predict(self, question, by: str = "type") -> str:
        """The most frequent training answer of the question's type (by="type") or of its exact text,
        falling back to its type for a question never seen in training (by="text")."""
        if by not in ("type", "text"):
            raise ValueError(f"by is 'type' or 'text', not {by!r}")
        if by == "text" and question.text in self.by_text:
            return self.by_text[question.text].most_common(1)[0][0]
        if question.type not in self.by_type:
            raise KeyError(f"no training question of type {question.type!r}")
        return self.by_type[question.type].most_common(1)[0][0]

    def accuracy(self, questions: list[list], by: str = "type") -> dict[str, float]:
        """Exact-match accuracy per question type, and over all questions ("all")."""
        hits = defaultdict(list)
        for qs in questions:
            for q in qs:
                hits[q.type].append(self.predict(q, by) == q.answer)
        out = {t: sum(h) / len(h) for t, h in hits.items()}
        out["all"] = sum(map(sum, hits.values())) / sum(map(len, hits.values()))
        return out
