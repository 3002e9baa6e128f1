"""Checkers for the notebooks' exercises, one module per notebook, all re-exported here.

    from mmlearn import exercises as check
    check.stft_magnitude(stft_magnitude)      # after writing your own stft_magnitude

A checker calls the learner's function on random inputs, compares it with the package's reference,
prints "passed" or raises `ExerciseFailed` with a specific hint (wrong shape, forgot the window, ...).

Modules: data (00), metric_learning (01), word2vec (02), captioning (03), gan (04), vqa (05), soundnet (06), localization (07),
separation (08);
common holds what they share.
"""
from .captioning import beam_step, soft_attention
from .common import ExerciseFailed
from .data import stft_magnitude
from .gan import conditioning_augmentation, matching_aware_loss
from .localization import audio_visual_map, ciou, ezvsl_loss
from .metric_learning import infonce_loss, vse_loss
from .separation import apply_mask, si_sdr
from .soundnet import conv_length, distillation_loss
from .vqa import low_rank_fusion, tensor_fusion
from .word2vec import keep_probability, sgns_loss

__all__ = ["ExerciseFailed", "apply_mask", "audio_visual_map", "beam_step", "ciou", "conditioning_augmentation", "conv_length",
           "distillation_loss", "ezvsl_loss", "infonce_loss", "keep_probability", "low_rank_fusion", "matching_aware_loss", "sgns_loss",
           "si_sdr", "soft_attention", "stft_magnitude", "tensor_fusion", "vse_loss"]
