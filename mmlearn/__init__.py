"""mmlearn — a hands-on course in multi-modal deep learning.

The first cell of every notebook:

    from mmlearn import seed_everything, pick_device, by_profile
"""
from .core import PROFILES, by_profile, pick_device, profile, seed_everything

__version__ = "0.1.0"
__all__ = ["PROFILES", "by_profile", "pick_device", "profile", "seed_everything"]
