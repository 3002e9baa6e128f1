import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import auc as sklearn_auc
from sklearn.metrics import average_precision_score

from mmlearn import localization as loc
from mmlearn.metrics import average_precision, ciou, success_auc


# ----------------------------------------------------------------------------------------- the map
def test_attention_sums_to_one_and_peaks_where_the_audio_matches():
    cells = F.normalize(torch.randn(3, 16, 8), dim=-1)
    audio = cells[torch.arange(3), torch.tensor([5, 0, 11])]  # each clip sounds like one hand-picked cell
    alpha = loc.attention_map(cells, audio)
    assert torch.allclose(alpha.sum(1), torch.ones(3))
    assert alpha.argmax(1).tolist() == [5, 0, 11]
    # ReLU: cells pointing away from the audio all get the same (smallest) weight, exp(0) / Z
    assert torch.allclose(alpha.min(1).values, 1 / torch.exp(F.relu(loc.cell_similarity(cells, audio))).sum(1))
    # no temperature (the paper's): weights differ by at most a factor e, so no cell gets more than e / (e + L - 1)
    assert (alpha.max(1).values / alpha.min(1).values <= math.e + 1e-6).all()
    assert (alpha.max(1).values <= math.e / (math.e + 15) + 1e-6).all()
    sharp = loc.attention_map(cells, audio, tau=0.05)                  # a temperature lets the matching cell win
    assert sharp.argmax(1).tolist() == [5, 0, 11] and (sharp.max(1).values > 0.9).all()


def test_ezvsl_loss_on_a_hand_computed_case():
    cells = torch.tensor([[[1.0, 0.0], [0.0, 1.0]],      # image 0: one cell like clip 0, one like clip 1
                          [[0.0, 1.0], [0.0, 1.0]]])     # image 1: both cells like clip 1
    audio = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    tau = 0.5
    # S[i, j] = max over cells of <cell, audio_j> / tau: [[1, 1], [0, 1]] / tau
    s = [[2.0, 2.0], [0.0, 2.0]]
    rows = -math.log(math.exp(s[0][0]) / (math.exp(s[0][0]) + math.exp(s[0][1]))) \
        - math.log(math.exp(s[1][1]) / (math.exp(s[1][0]) + math.exp(s[1][1])))
    cols = -math.log(math.exp(s[0][0]) / (math.exp(s[0][0]) + math.exp(s[1][0]))) \
        - math.log(math.exp(s[1][1]) / (math.exp(s[0][1]) + math.exp(s[1][1])))
    expected = (rows / 2 + cols / 2) / 2
    assert loc.ezvsl_loss(cells, audio, tau).item() == pytest.approx(expected, rel=1e-6)
    # pooling the cells by their mean instead of the max gives another value: the max is the method
    mean_scores = torch.einsum("ild,jd->ijl", cells, audio).mean(2) / tau
    labels = torch.arange(2)
    with_mean = (F.cross_entropy(mean_scores, labels) + F.cross_entropy(mean_scores.T, labels)) / 2
    assert abs(loc.ezvsl_loss(cells, audio, tau).item() - with_mean.item()) > 0.01


def test_senocak_losses_on_hand_computed_cases():
    z = torch.tensor([[0.0, 0.0]])
    positive, negative = torch.tensor([[3.0, 4.0]]), torch.tensor([[0.0, 1.0]])  # d+ = 5, d- = 1
    p_plus = math.exp(5) / (math.exp(5) + math.exp(1))
    expected = ((p_plus - 0) ** 2 + ((1 - p_plus) - 1) ** 2) / 2
    assert loc.senocak_triplet_loss(z, positive, negative).item() == pytest.approx(expected, rel=1e-6)
    assert loc.senocak_triplet_loss(z, negative, positive).item() < 0.02  # close to its own clip: small loss
    attention = torch.tensor([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]])
    target = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    expected = (-math.log(0.5) + -(0.5 * math.log(0.1) + 0.5 * math.log(0.8))) / 2
    assert loc.localization_loss(attention, target).item() == pytest.approx(expected, rel=1e-6)


def toy_batch(n, classes=4, places=3):
    """A toy world on a 4x4 grid: each image has a place (one of 3 background features in every cell) and two
    objects of different classes in two random cells; the clip is the first object's class (plus noise).
    Returns grid (n, classes + places, 4, 4), audio statistics (n, classes), the sounding object's cell (n,)."""
    sounding, silent = torch.randint(0, classes, (n,)), torch.randint(0, classes - 1, (n,))
    silent = silent + (silent >= sounding).long()
    cells = torch.stack([torch.randperm(16)[:2] for _ in range(n)])
    place = classes + torch.randint(0, places, (n,))
    grid = 0.05 * torch.randn(n, classes + places, 16)
    grid[torch.arange(n), place] += 1
    for obj, cell in ((sounding, cells[:, 0]), (silent, cells[:, 1])):
        grid[torch.arange(n), obj, cell] += 1          # an object covers the place where it stands
        grid[torch.arange(n), place, cell] -= 1
    audio = F.one_hot(sounding, classes).float() + 0.05 * torch.randn(n, classes)
    return grid.view(n, classes + places, 4, 4), audio, cells[:, 0]


@pytest.mark.parametrize("method", ["ezvsl", "senocak"])
def test_a_localizer_learns_to_point_at_the_sounding_object(method):
    """Trained without any box, the map must peak on the sounding object, not on the silent one."""
    torch.manual_seed(0)
    model = loc.Localizer(7, 4, dim=16, method=method, tau=0.1 if method == "ezvsl" else None)   # Senocak: no temperature
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        grid, audio, _ = toy_batch(32)
        optimizer.zero_grad()
        model.loss(grid, audio).backward()
        optimizer.step()
    model.eval()
    grid, audio, sounding_cell = toy_batch(256)
    with torch.no_grad():
        peak = model.map(grid, audio).argmax(1)
    assert (peak == sounding_cell).float().mean() >= 0.95


def test_semi_supervision_uses_only_labelled_clips():
    torch.manual_seed(0)
    model = loc.Localizer(4, 6, dim=8, method="senocak")
    grid, stats = torch.randn(5, 4, 2, 2), torch.randn(5, 6)
    target = torch.full((5, 4), 0.25)
    none = model.loss(grid, stats, target, torch.zeros(5, dtype=torch.bool))
    assert none.item() == pytest.approx(model.loss(grid, stats).item())
    some = model.loss(grid, stats, target, torch.tensor([True, False, True, False, False]))
    assert some.item() > none.item()  # cross-entropy with a uniform target is at least log(4)
    with pytest.raises(ValueError, match="unknown method"):
        loc.Localizer(4, 6, method="lvs")


# ----------------------------------------------------------------------------------------- protocol
def test_median_binarisation_keeps_pixels_at_or_above_the_median_value():
    maps = torch.arange(16.0).view(1, 4, 4)
    kept = loc.binarize_at_median(maps)
    assert kept.sum() == 8 and kept.flatten()[8:].all() and not kept.flatten()[:8].any()  # >= sorted[8]
    assert loc.binarize_at_median(torch.ones(1, 4, 4)).all()                             # a constant map keeps everything
    ties = torch.tensor([0.0] * 12 + [1, 2, 3, 4]).view(1, 4, 4)                          # the median value is the minimum:
    assert loc.binarize_at_median(ties).all()                                             # every tied pixel is kept
    assert loc.binarize_top(maps, [3]).flatten().nonzero().flatten().tolist() == [13, 14, 15]


def test_upsampling_keeps_a_peak_in_place():
    cell_map = torch.zeros(1, 16)
    cell_map[0, 4 * 1 + 2] = 1.0                      # row 1, column 2 of a 4x4 grid
    image = loc.upsample(cell_map, 32)
    assert image.shape == (1, 32, 32)
    y, x = divmod(int(image[0].argmax()), 32)
    assert 8 <= y < 16 and 16 <= x < 24


def test_ciou_on_hand_computed_maps():
    gt = torch.zeros(1, 4, 4)
    gt[0, :2, :2] = 1                                  # 4 ground-truth pixels
    pred = torch.zeros(1, 4, 4)
    pred[0, :2, :3] = 1                                # 6 predicted: 4 on the object, 2 off
    assert ciou(pred, gt).item() == pytest.approx(4 / (4 + 2))
    consensus = gt.clone()
    consensus[0, 0, 0] = 0.5                           # a pixel only one annotator marked (Flickr's consensus)
    assert ciou(pred, consensus).item() == pytest.approx(3.5 / (3.5 + 2))
    assert ciou(torch.ones(1, 4, 4), gt).item() == pytest.approx(4 / 16)   # the whole image
    assert ciou(torch.zeros(1, 4, 4), gt).item() == 0


def test_success_auc_matches_sklearn():
    cious = np.array([0.0, 0.12, 0.5, 0.51, 0.8, 1.0, 0.3])
    thresholds = np.linspace(0, 1, 21)
    reference = sklearn_auc(thresholds, [(cious >= t).mean() for t in thresholds])
    assert success_auc(cious) == pytest.approx(reference)
    assert success_auc(np.ones(5)) == pytest.approx(1.0) and success_auc(np.zeros(5)) == pytest.approx(0.05 / 2)


@pytest.mark.parametrize("seed", range(4))
def test_average_precision_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels = rng.random(40) < 0.4
    scores = np.round(rng.random(40) + labels * 0.3, 1)  # rounded: many ties
    assert average_precision(scores, labels) == pytest.approx(average_precision_score(labels, scores))
    with pytest.raises(ValueError, match="at least one positive"):
        average_precision(scores, np.zeros(40, bool))


def test_which_object_and_confidence():
    maps = torch.zeros(2, 4, 4)
    maps[0, 0, 0] = maps[1, 3, 3] = 1
    masks = np.zeros((2, 3, 4, 4), bool)
    masks[:, 0, :2, :2] = True                         # object 0: top-left
    masks[:, 1, 2:, 2:] = True                         # object 1: bottom-right
    present = np.array([[True, True, False], [True, True, False]])
    assert loc.which_object(maps, masks, present).tolist() == [0, 1]
    assert loc.confidence(torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0]]), share=0.25).item() == 2.0


def test_ground_truth_maps_from_boxes():
    boxes = [(0.0, 0.0, 0.5, 0.5), (0.25, 0.25, 0.75, 0.75)]
    union = loc.boxes_to_map(boxes, 8)
    assert union.sum() == 16 + 16 - 4 and union.max() == 1
    consensus = loc.boxes_to_map(boxes, 8, consensus=True)
    assert consensus[3, 3] == 1 and consensus[0, 0] == 0.5 and consensus[7, 7] == 0   # two annotators, one, none


# ----------------------------------------------------------------------------------------- data and baselines
def scenes_by_hand():
    """Two 8x8 scenes: scene 0 holds a red circle (top-left) and a blue circle (bottom-right), the same shape
    and size; scene 1 one large square in the middle and nothing else."""
    from mmlearn.world import Scenes

    mask = np.zeros((2, 3, 8, 8), bool)
    mask[0, 0, 0:2, 0:2] = mask[0, 1, 5:8, 5:8] = mask[1, 0, 2:6, 2:6] = True
    from mmlearn.world.scenes import mask_boxes
    return Scenes(image=np.zeros((2, 8, 8, 3), np.uint8), place=np.array([0, 1]),
                  shape=np.array([[0, 0, -1], [1, -1, -1]]), color=np.array([[0, 2, -1], [1, -1, -1]]),
                  size=np.array([[0, 0, -1], [1, -1, -1]]), center=np.zeros((2, 3, 2), np.float32),
                  box=mask_boxes(mask), mask=mask)


def test_one_sounding_picks_one_present_object_uniformly():
    present = np.array([[True, True, True]] * 3000 + [[True, False, False]])
    sounding = loc.one_sounding(present, np.random.default_rng(0))
    assert (sounding.sum(1) == 1).all() and not (sounding & ~present).any()
    assert np.allclose(sounding[:3000].mean(0), 1 / 3, atol=0.03)


def test_scene_audio_is_deterministic_and_hears_the_sounding_object():
    from mmlearn.world import World

    scenes = World().split("test", 6, language=False).scenes
    sounding = loc.one_sounding(scenes.present, np.random.default_rng(0))
    a = loc.scene_audio_stats(scenes, sounding, seed=1, chunk=4)
    assert torch.equal(a, loc.scene_audio_stats(scenes, sounding, seed=1, chunk=4))
    silent = loc.scene_audio_stats(scenes, np.zeros_like(sounding), seed=1, chunk=4)
    n_mels = a.shape[1] // 2
    assert (a[:, :n_mels].mean(1) > silent[:, :n_mels].mean(1)).all()   # an object adds energy: louder on average


def test_ground_truth_is_the_union_of_the_sounding_boxes_and_pairs_are_found():
    scenes = scenes_by_hand()
    gt = loc.sounding_box_maps(scenes, np.array([[True, True, False], [True, False, False]]), 8)
    assert gt[0].sum() == 4 + 9 and gt[1].sum() == 16 and gt[0, 0, 0] == 1 and gt[0, 3, 3] == 0
    assert loc.look_alike_pairs(scenes, "color").tolist() == [[0, 0, 1]]      # same shape and size, colours differ
    assert loc.look_alike_pairs(scenes, "size").tolist() == []


def test_trivial_maps():
    grid = torch.zeros(1, 3, 2, 2)
    grid[0, :, 1, 0] = torch.tensor([1.0, -2.0, 3.0])
    assert loc.objectness(grid).tolist() == [[0.0, 0.0, 2.0, 0.0]]           # mean |activation| per cell
    centre = loc.centre_map(2, 5)
    assert centre.shape == (2, 25) and centre[0].argmax() == 12 and torch.allclose(centre[0], centre[0].flip(0))
    av, obj = torch.tensor([[0.0, 2.0, 4.0]]), torch.tensor([[10.0, 20.0, 10.0]])
    assert torch.allclose(loc.object_guided(av, obj, alpha=0.4), torch.tensor([[0.0, 0.8, 0.4]]))


def test_localization_scores_of_a_perfect_map_a_wrong_one_and_the_whole_image():
    scenes = scenes_by_hand()
    sounding = np.array([[False, True, False], [True, False, False]])
    gt = loc.sounding_box_maps(scenes, sounding, 8)
    perfect = loc.localization_scores(gt.flatten(1), gt, scenes, sounding)       # the map is the box itself
    assert perfect["cIoU@0.5 (oracle area)"] == 1 and perfect["which object"] == 1
    wrong = torch.zeros(2, 8, 8)
    wrong[0, :2, :2] = 1                                                            # the silent look-alike
    assert loc.localization_scores(wrong.flatten(1), gt, scenes, sounding)["which object"] == 0
    whole = loc.localization_scores(torch.ones(2, 8, 8, dtype=torch.bool), gt)
    assert whole["cIoU@0.5"] == 0 and "which object" not in whole                 # cIoU = box area: 9/64 and 16/64
    assert whole["AUC"] == whole["AUC (oracle area)"] == pytest.approx(success_auc([9 / 64, 16 / 64]))


def test_pixel_shares_say_where_the_marked_pixels_lie():
    scenes = scenes_by_hand()
    sounding = np.array([[False, True, False], [True, False, False]])
    kept = torch.zeros(2, 8, 8, dtype=torch.bool)
    kept[0, 0, 0] = kept[0, 7, 7] = kept[0, 4, 0] = kept[1, 3, 3] = True    # silent object, sounding, background, sounding
    assert loc.pixel_shares(kept, scenes, sounding) == {"sounding object": 0.5, "silent objects": 0.25, "background": 0.25,
                                                        "in the sounding box": 0.5}   # square objects: box = mask
    # a shape that does not fill its box: the box's corners are background, yet the protocol counts them
    scenes.mask[1, 0] = False
    scenes.mask[1, 0, 2:6, 2] = scenes.mask[1, 0, 5, 2:6] = True                 # an L in the box rows 2-5, cols 2-5
    one = torch.zeros(2, 8, 8, dtype=torch.bool)
    one[1, 2, 5] = True                                                            # the box's empty top-right corner
    assert loc.pixel_shares(one, scenes, sounding) == {"sounding object": 0.0, "silent objects": 0.0, "background": 1.0,
                                                       "in the sounding box": 1.0}
    base = loc.pixel_shares(torch.ones(2, 8, 8, dtype=torch.bool), scenes, sounding)   # base rates over both images
    assert base["in the sounding box"] == pytest.approx((9 + 16) / 128)
    assert base["sounding object"] == pytest.approx((9 + 7) / 128) and base["silent objects"] == pytest.approx(4 / 128)


def test_a_perfect_map_reaches_the_median_rule_ceiling_and_no_more():
    gt = torch.zeros(3, 16, 16)
    gt[0, 2:6, 3:7] = 1                 # 16 of 256 pixels: ceiling 16 / 128
    gt[1, 0:12, 0:16] = 1               # 3/4 of the frame: the median rule can keep it all
    gt[2, 10:14, 1:3] = gt[2, 0:2, 0:2] = 1    # two boxes
    ceiling = loc.median_rule_ceiling(gt)
    assert ceiling.tolist() == pytest.approx([16 / 128, 1.0, 12 / 128])
    perfect = loc.perfect_map(gt)
    assert (perfect[gt > 0] == 1).all() and (perfect[gt == 0] < 0).all()
    kept = loc.binarize_at_median(perfect)
    assert torch.allclose(ciou(kept, gt).double(), ceiling, atol=0.02)     # up to ties at the median's distance
    scores = loc.localization_scores(perfect, gt)
    assert scores["cIoU@0.5 (oracle area)"] == 1 and scores["AUC (oracle area)"] == pytest.approx(1.0)
    assert scores["AUC"] == pytest.approx(success_auc(ciou(kept, gt)))


def test_upsampling_keeps_each_cell_over_the_pixels_it_covers():
    # one hot cell in the corner of an 8x8 map of a 32-pixel image: its pixels are the 4x4 block it covers;
    # align_corners=True (EZ-VSL's test script) would pull the peak onto the corner pixel and shift the block
    maps = torch.zeros(1, 64)
    maps[0, 0] = 1.0
    up = loc.upsample(maps, 32)[0]
    assert up[:2, :2].eq(1).all() and up[:4, :4].min() > 0.2 and up[6:, :].max() == 0
    peak = torch.nonzero(up == up.max()).float().mean(0)
    assert peak.tolist() == pytest.approx([0.5, 0.5])       # a 2x2 plateau in the corner, not the corner pixel alone


def test_the_audio_only_baseline_is_cross_fitted_and_finds_what_the_audio_tells():
    gen = torch.Generator().manual_seed(0)
    noise = lambda: torch.randn(60, 40, generator=gen)     # noqa: E731 - 40 features for 120 clips: easy to overfit
    pos, neg = loc.cross_fitted_sounding_scores(noise(), noise())
    chance = average_precision(torch.cat([pos, neg]).numpy(), np.r_[np.ones(60), np.zeros(60)])
    assert abs(chance - 0.5) < 0.15            # scored by a model that never saw the clip: no signal, no skill
    louder = torch.randn(400, 40, generator=gen)
    louder[:, 3] += 3.0                         # something sounds: one feature moves
    pos, neg = loc.cross_fitted_sounding_scores(louder, torch.randn(400, 40, generator=gen))
    assert average_precision(torch.cat([pos, neg]).numpy(), np.r_[np.ones(400), np.zeros(400)]) > 0.9
