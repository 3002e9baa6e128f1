import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from mmlearn.metrics import precision_at_true_count
from mmlearn.viz import format_table, show_images


def test_show_images_draws_each_image_with_its_title_and_no_axes():
    images = np.random.default_rng(0).integers(0, 255, (5, 32, 32, 3), dtype=np.uint8)
    axes = show_images(images, [f"image {k}" for k in range(5)], title="Five", rows=2, grid=8)
    assert len(axes) == 6                                  # 2 rows x 3 columns, the last one empty
    assert [ax.get_title() for ax in axes[:5]] == [f"image {k}" for k in range(5)]
    assert all(len(ax.images) == 1 for ax in axes[:5]) and not axes[5].images
    assert not any(ax.axison for ax in axes)
    assert len(axes[0].lines) == 14                        # 7 horizontal + 7 vertical cell borders
    assert axes[0].figure._suptitle.get_text() == "Five"
    plt.close("all")


def test_format_table_aligns_columns_and_marks_missing_values():
    rows = {"random": {"R@1": 0.001, "R@5": 0.0044, "seconds": float("nan")},
            "InfoNCE": {"R@1": 0.6974, "R@5": 0.9752, "seconds": 12.3, "pairs": 40_000}}
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["R@1", "R@5", "seconds", "pairs"]
    assert lines[1].split() == ["random", "0.001", "0.004", "–", "–"]
    assert lines[2].split() == ["InfoNCE", "0.697", "0.975", "12.300", "40,000"]
    assert len({len(line) for line in lines}) == 1          # every line as wide: the columns line up
    md = format_table(rows, digits=2, markdown=True).splitlines()
    assert md[1] == "|---|---|---|---|---|"
    assert [c.strip() for c in md[3].strip("|").split("|")] == ["InfoNCE", "0.70", "0.98", "12.30", "40,000"]


def test_precision_at_true_count_on_a_hand_computed_case():
    truth = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 1]], dtype=torch.bool)
    scores = torch.tensor([[0.9, 0.1, 0.8, 0.0],    # top 2: tags 0, 2 -> 1 of 2 true
                           [0.5, 0.6, 0.0, 0.0],    # top 1: tag 1 -> 0 of 1
                           [0.0, 0.3, 0.2, 0.1]])   # top 3: tags 1, 2, 3 -> 3 of 3
    assert precision_at_true_count(scores, truth) == pytest.approx((0.5 + 0 + 1) / 3)
    assert precision_at_true_count(truth.float(), truth) == 1.0
    with pytest.raises(ValueError, match="true tag"):
        precision_at_true_count(scores, torch.zeros(3, 4, dtype=torch.bool))
