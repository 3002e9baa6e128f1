from collections import namedtuple

import pytest

from mmlearn.vqa import QuestionPrior
from mmlearn.world import World

Q = namedtuple("Q", "text type answer")


def test_question_prior_by_type_and_by_text_on_a_hand_made_set():
    train = [[Q("is there a red circle", "exists", "yes"), Q("is there a cube", "exists", "no")],
             [Q("is there a cube", "exists", "no"), Q("how many objects are there", "count", "2")]]
    prior = QuestionPrior.fit(train)
    assert prior.predict(Q("is there a red circle", "exists", "?"), by="type") == "no"     # 2 no vs 1 yes
    assert prior.predict(Q("is there a red circle", "exists", "?"), by="text") == "yes"    # its own text
    assert prior.predict(Q("is there a blue square", "exists", "?"), by="text") == "no"    # unseen: its type's
    test = [[Q("is there a red circle", "exists", "yes"), Q("how many objects are there", "count", "3")]]
    assert prior.accuracy(test, by="type") == {"exists": 0.0, "count": 0.0, "all": 0.0}
    assert prior.accuracy(test, by="text") == {"exists": 1.0, "count": 0.0, "all": 0.5}
    with pytest.raises(KeyError, match="relation"):
        prior.predict(Q("is the circle left of the square", "relation", "?"))
    with pytest.raises(ValueError, match="by"):
        prior.predict(train[0][0], by="image")


def test_balanced_world_questions_keep_blind_priors_near_chance():
    world = World()
    prior = QuestionPrior.fit(world.split("train", 2_000).questions)
    acc = prior.accuracy(world.split("test", 500).questions, by="type")
    assert acc["exists"] < 0.6 and acc["relation"] < 0.6 and acc["query_color"] < 0.3
