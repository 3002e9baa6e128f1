"""SoundNet (notebook 06): layer lengths, the distillation loss by hand, a student that learns, the teachers."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmlearn import soundnet as sn
from mmlearn.core import ChecksumMismatch, save_checkpoint


@pytest.mark.parametrize("n_samples", [16_000, 24_000, 32_000])
def test_output_length_matches_what_the_student_computes(n_samples):
    student = sn.SoundNetStudent(3, 2, width=0.125).eval()
    with torch.no_grad():
        features = student.features(torch.zeros(1, n_samples))
    lengths = sn.output_length(n_samples)
    assert {name: f.shape[-1] for name, f in features.items()} == lengths
    assert student(torch.zeros(1, n_samples))[0].shape[-1] == lengths["conv8"]


def test_output_length_by_hand():
    # 16,000 samples: conv1 (k64, s2, p32) -> 8,001, pool 4 -> 2,000; conv2 -> 1,001, pool 4 -> 250; conv3 -> 126;
    # conv4 -> 64; conv5 -> 33, pool 2 -> 16; conv6 -> 9; conv7 -> 5; conv8 (k4) -> 2
    assert sn.output_length(16_000) == {"conv1": 2000, "conv2": 250, "conv3": 126, "conv4": 64, "conv5": 16,
                                        "conv6": 9, "conv7": 5, "conv8": 2}
    assert sn.conv_length(10, 3) == 8 and sn.conv_length(10, 4, 2, 1) == 5
    # SoundNet's own pools (8, 8, 4) leave a 1-s clip 2 steps after conv5, too few for conv8's kernel of 4
    short = sn.output_length(16_000, pools={1: 8, 2: 8, 5: 4})
    assert short["conv5"] == 2 and short["conv8"] < 1


def test_distillation_loss_on_a_hand_computed_case_and_zero_when_the_student_agrees():
    teacher_o, teacher_s = torch.tensor([[0.5, 0.5]]), torch.tensor([[1.0, 0.0, 0.0]])
    student_o = torch.log(torch.tensor([[[0.25, 0.5], [0.75, 0.5]]]))         # (1, 2 classes, 2 steps)
    student_s = torch.log(torch.tensor([[[0.5, 1.0], [0.25, 1e-9], [0.25, 1e-9]]]))
    # objects: step 1: 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75); step 2: 0. scenes: step 1: ln 2; step 2: 0
    expected = 0.5 * math.log(2) + 0.5 * math.log(0.5 / 0.75) + math.log(2)
    assert sn.distillation_loss(student_o, student_s, teacher_o, teacher_s).item() == pytest.approx(expected, rel=1e-5)
    agree = sn.distillation_loss(torch.log(teacher_o)[:, :, None].expand(1, 2, 3),
                                 torch.log(teacher_s.clamp_min(1e-30))[:, :, None].expand(1, 3, 3), teacher_o, teacher_s)
    assert agree.item() == pytest.approx(0.0, abs=1e-6)
    # the reference: torch's KL divergence, summed over classes and steps
    reference = F.kl_div(student_o, teacher_o[:, :, None].expand(1, 2, 2), reduction="sum") \
        + F.kl_div(student_s, teacher_s[:, :, None].expand(1, 3, 2), reduction="sum")
    assert sn.distillation_loss(student_o, student_s, teacher_o, teacher_s).item() == pytest.approx(reference.item(), rel=1e-5)


def test_a_student_overfits_a_few_clips():
    torch.manual_seed(0)
    t = torch.arange(16_000) / 16_000
    waves = torch.stack([0.3 * torch.sin(2 * math.pi * f * t) for f in (220, 440, 880, 1760)])     # four tones
    teacher_o = torch.eye(4)[:, :3] * 0.9 + 0.1 / 3                         # each tone its own object mix
    teacher_o = teacher_o / teacher_o.sum(1, keepdim=True)
    teacher_s = torch.tensor([[0.9, 0.1], [0.1, 0.9], [0.9, 0.1], [0.1, 0.9]])
    student = sn.SoundNetStudent(3, 2, width=0.125)
    optimizer = torch.optim.Adam(student.parameters(), lr=3e-3)
    for _ in range(150):
        optimizer.zero_grad()
        loss = sn.distillation_loss(*student(waves), teacher_o, teacher_s)
        loss.backward()
        optimizer.step()
    student.eval()
    with torch.no_grad():
        final = sn.distillation_loss(*student(waves), teacher_o, teacher_s).item()
        log_o, log_s = student(waves)
    assert final < 0.2
    assert (log_s.mean(-1).argmax(1) == teacher_s.argmax(1)).all()


def test_visual_teachers_give_distributions_and_read_objects_from_the_cells():
    teachers = sn.VisualTeachers(channels=4, n_objects=3, n_scenes=2)
    with torch.no_grad():
        teachers.cell.weight.zero_()
        teachers.cell.bias.zero_()
        teachers.cell.weight[1, 0] = 10.0        # channel 0 says "object 1"
        teachers.cell.bias[3] = 5.0              # otherwise "no object"
    grid = torch.zeros(2, 4, 2, 2)
    grid[0, 0, 0, 0] = 1.0                       # image 0: one cell with object 1; image 1: nothing
    objects, scenes = teachers(grid)
    assert torch.allclose(objects.sum(1), torch.ones(2)) and torch.allclose(scenes.sum(1), torch.ones(2))
    assert objects[0].argmax() == 1 and objects[0, 1] > 0.9
    assert torch.allclose(objects[1], torch.full((3,), 1 / 3))   # no object cell: the object mass is spread evenly


def test_the_probe_tests_each_clip_once_in_its_own_fold_and_never_trains_on_it(monkeypatch):
    calls = []

    def spy(train_x, train_y, test_x, test_y):
        calls.append((set(train_x[:, 0].int().tolist()), set(test_x[:, 0].int().tolist())))
        return 1.0

    monkeypatch.setattr(sn, "linear_probe", spy)
    features = torch.arange(20.0)[:, None].repeat(1, 3)                       # column 0: the clip's index
    folds = [1, 2, 3, 4, 5] * 4
    mean, per_fold = sn.probe_by_folds(features, [0, 1] * 10, folds)
    assert mean == 1.0 and len(per_fold) == 5
    tested = [i for _, test in calls for i in test]
    assert sorted(tested) == list(range(20))                                  # every clip tested exactly once
    for (train, test), fold in zip(calls, [1, 2, 3, 4, 5]):
        assert not train & test and all(folds[i] == fold for i in test)       # train and test never mix


def test_the_shipped_student_is_verified_and_a_corrupted_copy_refused(tmp_path):
    student = sn.SoundNetStudent(5, 4)
    path = tmp_path / "student.pt"
    save_checkpoint(student, path)
    loaded = sn.load_student(path)
    assert all(torch.equal(a, b) for a, b in zip(student.state_dict().values(), loaded.state_dict().values()))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatch, match="does not match its recorded sha256"):
        sn.load_student(path)
    assert path.read_bytes() == bytes(data)                                   # left as it is


def test_the_teachers_learn_place_and_shapes_from_labelled_images():
    from mmlearn import backbone
    from mmlearn.world import World

    world = World()
    scenes = world.split("train", 600, language=False).scenes
    grid = backbone.cached_features(world, "train", 600)[0]
    objects, places = sn.train_teachers(grid, scenes, steps=150)[0](grid)
    assert (places.argmax(1).numpy() == scenes.place).mean() > 0.95
    in_frame = [int(k) in set(scenes.shape[i][scenes.present[i]]) for i, k in enumerate(objects.argmax(1))]
    assert np.mean(in_frame) > 0.95


def test_loud_and_quiet_picks_two_object_scenes_with_one_loud_object_of_another_shape():
    from mmlearn.world import World
    scenes = World().split("test", 300, language=False).scenes
    kind, loud, quiet = sn.loud_and_quiet(scenes)
    for i, scene in enumerate(scenes):                    # the same rule, read off each scene's object list
        sizes = [o.size for o in scene.objects]
        expected = (len(scene.objects) == 2 and sorted(sizes) == ["large", "small"]
                    and scene.objects[0].shape != scene.objects[1].shape)
        assert kind[i] == expected, i
        if expected:
            by_size = {o.size: o.shape for o in scene.objects}
            assert sn.SHAPES[scenes.shape[i, loud[i]]] == by_size["large"]
            assert sn.SHAPES[scenes.shape[i, quiet[i]]] == by_size["small"]
    assert 0.1 < kind.mean() < 0.3                        # about one scene in six is of the probe's kind
