"""mmlearn — a hands-on course in multi-modal deep learning.

The first cell of every notebook:

    from mmlearn import seed_everything, pick_device, by_profile

The layers, bottom up (tests/test_layout.py enforces them):

    world/        the synthetic world: scenes, captions, questions, sounds, speech; imports nothing of mmlearn
    shared        core, text, semantics, audio, metrics, train, lecture, viz, players, widgets, prose, datasets,
                  audio_datasets, localization_datasets, tasks, backbone: never import a method module
    methods       one per notebook topic: retrieval (01), word2vec (02), captioning (03), gan and judging (04),
                  vqa and fusion (05), soundnet (06), localization (07), separation (08); they import each
                  other only through declared pairs (04's two on 01's matching model)
    on top        exercises/ (the checkers) and course/ (running, reporting on and publishing the notebooks);
                  nothing below imports them, but for this file: `report` is the notebooks' last cell
"""
from .core import PROFILES, by_profile, pick_device, profile, seed_everything
from .course import report

__version__ = "0.1.0"
__all__ = ["PROFILES", "by_profile", "pick_device", "profile", "report", "seed_everything"]
