"""Notebook 04's conditional GAN: shapes and gradients, the losses on hand-computed cases, CA's KL, the Fréchet distance."""
import math

import numpy as np
import pytest
import torch

from mmlearn import gan
from mmlearn import judging
from mmlearn.core import ChecksumMismatch, save_checkpoint
from mmlearn.metrics import frechet_distance

TEXT_DIM = 24
STEPS_TOY = 300                                  # 8 seeds of 8 pass at 300 steps; 1 of 6 failed at 150


@pytest.mark.parametrize("augment", [False, True])
def test_generator_and_discriminator_shapes_and_gradients(augment):
    torch.manual_seed(0)
    cfg = gan.GanConfig(code_dim=16, z_dim=8, ngf=8, ndf=8, augment=augment)
    g, d = gan.Generator(TEXT_DIM, cfg), gan.Discriminator(TEXT_DIM, cfg)
    text, z = torch.randn(6, TEXT_DIM, requires_grad=True), torch.randn(6, cfg.z_dim)
    image, mu, logvar = g(z, text)
    assert image.shape == (6, 3, 32, 32) and image.abs().max() <= 1
    assert (mu is not None) == augment and (logvar is not None) == augment
    logits = d(image, text)
    assert logits.shape == (6,)
    gan.generator_loss(logits).backward()
    assert text.grad.abs().sum() > 0                                    # the text reaches both networks
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())
    assert all(p.grad is not None for p in d.image.parameters()) and d.code.net[0].weight.grad.abs().sum() > 0


def test_the_discriminator_reads_the_text():
    torch.manual_seed(0)
    cfg = gan.GanConfig(code_dim=16, z_dim=8, ngf=8, ndf=8)
    d = gan.Discriminator(TEXT_DIM, cfg).eval()
    image, text = torch.randn(4, 3, 32, 32), torch.randn(4, TEXT_DIM)
    assert not torch.allclose(d(image, text), d(image, text.roll(1, 0)))   # same images, other texts: other scores


def test_discriminator_loss_by_hand():
    real, wrong, fake = torch.tensor([2.0]), torch.tensor([-1.0]), torch.tensor([0.0])
    bce_real, bce_wrong, bce_fake = math.log(1 + math.exp(-2)), math.log(1 + math.exp(-1)), math.log(2)
    assert gan.discriminator_loss(real, fake).item() == pytest.approx(bce_real + bce_fake)
    assert gan.discriminator_loss(real, fake, wrong).item() == pytest.approx(bce_real + 0.5 * (bce_wrong + bce_fake))
    assert gan.generator_loss(torch.tensor([0.0])).item() == pytest.approx(math.log(2))


def test_interpolation_pairs_the_two_halves():
    text = torch.arange(8.0).reshape(4, 2)
    mixed = gan.interpolate(text, beta=0.5)
    assert torch.equal(mixed, (text[:2] + text[2:]) / 2)
    assert torch.equal(gan.interpolate(text, beta=1.0), text[:2])


def test_conditioning_augmentation_samples_and_its_kl():
    torch.manual_seed(0)
    ca = gan.ConditioningAugmentation(TEXT_DIM, 5)
    text = torch.randn(1, TEXT_DIM).expand(20_000, -1)
    c, mu, logvar = ca(text)
    assert torch.allclose(c.mean(0), mu[0], atol=0.05) and torch.allclose(c.std(0), (0.5 * logvar[0]).exp(), rtol=0.05)
    mu, logvar = torch.randn(3, 5), torch.randn(3, 5)
    closed = torch.distributions.kl_divergence(torch.distributions.Normal(mu, (0.5 * logvar).exp()),
                                               torch.distributions.Normal(0.0, 1.0)).sum(1).mean()
    assert gan.kl_to_standard_normal(mu, logvar).item() == pytest.approx(closed.item(), rel=1e-6)
    assert gan.kl_to_standard_normal(torch.zeros(2, 5), torch.zeros(2, 5)).item() == 0.0


def test_frechet_distance_equals_torchmetrics_fid_with_a_custom_extractor():
    from torchmetrics.image.fid import FrechetInceptionDistance

    class Features(torch.nn.Module):
        """Eight fixed random projections of a 3x8x8 image."""
        num_features = 8

        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(3 * 8 * 8, 8)

        def forward(self, images):
            return self.proj(images.float().flatten(1) / 255)

    torch.manual_seed(0)
    extractor = Features().eval()
    real = torch.randint(0, 256, (200, 3, 8, 8), dtype=torch.uint8)
    fake = (real.float() * 0.7 + 40).clamp(0, 255).to(torch.uint8)
    fid = FrechetInceptionDistance(feature=extractor, input_img_size=(3, 8, 8))
    fid.update(real, real=True)
    fid.update(fake, real=False)
    with torch.no_grad():
        ours = frechet_distance(extractor(real), extractor(fake))
    assert ours.item() == pytest.approx(fid.compute().item(), rel=1e-4)
    same = extractor(real).detach()
    assert abs(frechet_distance(same, same).item()) < 1e-6


class SpyDiscriminator(gan.Discriminator):
    """Records the (images, texts) of every call."""

    def __init__(self, *args):
        super().__init__(*args)
        self.calls = []

    def forward(self, image, text):
        self.calls.append((image.detach().clone(), text.detach().clone()))
        return super().forward(image, text)


def test_interpolated_texts_reach_the_discriminator_only_with_generated_images():
    torch.manual_seed(0)
    cfg = gan.GanConfig(code_dim=16, z_dim=8, ngf=8, ndf=8)
    g, d = gan.Generator(TEXT_DIM, cfg), SpyDiscriminator(TEXT_DIM, cfg)
    opt_g, opt_d = torch.optim.Adam(g.parameters()), torch.optim.Adam(d.parameters())
    images, text = torch.rand(6, 3, 32, 32) * 2 - 1, torch.randn(6, TEXT_DIM)
    wrong = text.roll(1, 0)
    assert set(gan.gan_step(g, d, opt_g, opt_d, images, text, wrong, interpolation=True)) == {"D", "G"}
    between = gan.interpolate(text)
    with_real = [t for x, t in d.calls if x.shape == images.shape and torch.equal(x, images)]
    assert len(with_real) == 2                                              # the real and the wrong pair
    assert any(torch.equal(t, text) for t in with_real) and any(torch.equal(t, wrong) for t in with_real)
    with_between = [x for x, t in d.calls if t.shape == between.shape and torch.equal(t, between)]
    assert len(with_between) == 1 and with_between[0].shape == (3, 3, 32, 32)   # generated, never real or wrong


def test_wrong_partners_never_fit():
    fits = torch.eye(5, dtype=torch.bool).numpy()
    fits[2, 0] = True                                                       # caption 2 also fits image 0
    partners = gan.wrong_partners(fits, np.random.default_rng(0))
    assert all(not fits[j, i] for i, j in enumerate(partners))
    everything = np.ones((3, 3), bool)
    assert list(gan.wrong_partners(everything, np.random.default_rng(0))) == [1, 2, 0]


def test_a_tiny_gan_draws_the_colour_its_text_asks_for():
    torch.manual_seed(0)
    red, blue = torch.zeros(3, 32, 32), torch.zeros(3, 32, 32)
    red[0], blue[2] = 1.0, 1.0
    images = torch.stack([red, blue] * 8) * 2 - 1                          # 16 images in [-1, 1]
    text = torch.eye(2).repeat(8, 1)                                       # one-hot "red" / "blue"
    cfg = gan.GanConfig(code_dim=8, z_dim=4, ngf=8, ndf=8)
    g, d = gan.Generator(2, cfg), gan.Discriminator(2, cfg)
    opt_g = torch.optim.Adam(g.parameters(), 2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 2e-3, betas=(0.5, 0.999))
    for _ in range(STEPS_TOY):
        gan.gan_step(g, d, opt_g, opt_d, images, text, text.flip(1))
    g.eval()
    with torch.no_grad():
        drawn, _, _ = g(torch.randn(16, cfg.z_dim), torch.eye(2).repeat(8, 1))
    colour = drawn.mean(dim=(2, 3))                                         # (16, 3) mean of each channel
    asked_red, asked_blue = colour[0::2], colour[1::2]
    assert (asked_red[:, 0] > asked_red[:, 2]).all() and (asked_blue[:, 2] > asked_blue[:, 0]).all()


# ----------------------------------------------------------------------------------------- reading images back
def test_connected_cells_groups_four_neighbours_only():
    present = torch.zeros(1, 4, 4, dtype=torch.bool)
    present[0, 0, 0] = present[0, 0, 1] = True          # one object of two cells
    present[0, 1, 2] = True                             # touches it only at a corner: another object
    present[0, 3, 0] = present[0, 3, 1] = present[0, 2, 1] = True   # an L: one object
    labels = judging.connected_cells(present)[0]
    assert labels[0, 0] == labels[0, 1] and labels[3, 0] == labels[3, 1] == labels[2, 1]
    assert len({labels[0, 0].item(), labels[1, 2].item(), labels[3, 0].item()}) == 3
    assert (labels[~present[0]] == 0).all()


def one_hot_logits(index: np.ndarray, classes: int) -> torch.Tensor:
    """(N, h, w) class indices (-100 = none) -> confident logits (N, classes, h, w)."""
    hot = torch.nn.functional.one_hot(torch.from_numpy(index).clamp(min=0), classes).permute(0, 3, 1, 2).float()
    return hot * 20 - 10


def read_perfectly(scenes):
    """What a perfect reader of the backbone's 8x8 cells would report for these scenes."""
    from mmlearn.backbone import cell_targets
    from mmlearn.world import COLORS, PLACES, SHAPES, SIZES

    t = cell_targets(scenes)
    cells = (torch.from_numpy(t["presence"])[:, None] * 20 - 10, one_hot_logits(t["shape"], len(SHAPES)),
             one_hot_logits(t["color"], len(COLORS)), one_hot_logits(t["size"], len(SIZES)))
    place = torch.nn.functional.one_hot(torch.from_numpy(scenes.place), len(PLACES)).float()
    return judging.scenes_from_cells(place, cells, scenes.image)


def test_faithfulness_by_hand_on_a_scene_read_perfectly():
    from mmlearn.world import World

    split = World().split("train", 60, language=False)
    single = int(np.flatnonzero(split.scenes.present.sum(1) == 1)[0])  # a scene with one object
    scene = split.scenes.take([single])
    read = read_perfectly(scene)
    color, shape = split.scenes[single].objects[0].color, split.scenes[single].objects[0].shape
    other_color = "blue" if color != "blue" else "red"
    other_shape = "circle" if shape != "circle" else "square"
    place = {"beach": "on a beach", "forest": "in a forest", "city": "in a city", "night": "at night"}[split.scenes[single].place]
    cases = {  # caption -> (colour recall, shape recall, count, fits)
        f"a {color} {shape} {place}": (1, 1, 1, 1),
        f"a {other_color} {shape} {place}": (0, 1, 1, 0),
        f"a {color} {other_shape} {place}": (1, 0, 1, 0),
        f"two {color} {shape}s {place}": (1, 1, 0, 0),
    }
    for caption, (colour_recall, shape_recall, count, fits) in cases.items():
        scores = judging.faithfulness(read, [caption], scene)
        got = (scores["colour recall"], scores["shape recall"], scores["count"], scores["fits caption"])
        assert got == (colour_recall, shape_recall, count, fits), caption
        assert scores["place"] == 1.0


def test_a_perfect_reading_of_real_scenes_fits_their_captions_and_not_shuffled_ones():
    from mmlearn.world import World

    split = World().split("test", 300)
    read = read_perfectly(split.scenes)
    captions = [caps[0] for caps in split.captions]
    own = judging.faithfulness(read, captions, split.scenes)
    shuffled = judging.faithfulness(read, captions[1:] + captions[:1], split.scenes.take(np.r_[1:300, 0]))
    assert own["place"] == 1.0 and own["colour recall"] > 0.9 and own["fits caption"] > 0.8
    assert shuffled["fits caption"] < 0.2 and shuffled["colour recall"] < own["colour recall"] - 0.3


def test_r_precision_by_hand():
    image = torch.eye(3)                                                  # three images, orthogonal embeddings
    own = torch.tensor([[1.0, 0, 0], [0, 0.6, 0.8], [0, 0, 1]])           # image 1's caption is a poor match
    pool = torch.tensor([[0.0, 0.8, 0.6], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.9, 0.1]])
    fits = np.zeros((4, 3), bool)
    fits[1, 2] = fits[2, 0] = True                                        # true of the scene: never a rival
    # image 0 vs pool 0, 1, 3 (not 2): own 1.0 wins; image 1 vs pool 0 (0.8 > 0.6): loses; image 2 vs 0, 2, 3: wins
    assert judging.r_precision(image, own, pool, fits, others=3) == pytest.approx(2 / 3)


def test_generator_round_trip_and_a_changed_checkpoint_is_refused(tmp_path):
    torch.manual_seed(0)
    g = gan.Generator(TEXT_DIM, gan.SHIPPED).eval()
    path = tmp_path / "g.pt"
    save_checkpoint(g, path, half=True)
    loaded = gan.load_generator("GAN-INT-CLS", TEXT_DIM, path)
    text = torch.randn(4, TEXT_DIM)
    assert torch.allclose(gan.generate(g, text, seed=1), gan.generate(loaded, text, seed=1), atol=2e-2)
    assert torch.equal(gan.generate(loaded, text, seed=1), gan.generate(loaded, text, seed=1))
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ChecksumMismatch, match="does not match its recorded sha256"):
        gan.load_generator("GAN-INT-CLS", TEXT_DIM, path)


@pytest.mark.parametrize("variant", list(gan.VARIANTS))
def test_every_variant_trains_and_its_wrong_captions_never_fit(variant):
    from mmlearn.semantics import fits_matrix
    from mmlearn.world import World

    split = World().split("train", 40)
    text = torch.nn.functional.normalize(torch.randn(40, 5, TEXT_DIM), dim=-1)
    data = gan.CaptionedImages(torch.rand(40, 3, 32, 32) * 2 - 1, text, split.captions, split.scenes)
    images, batch_text, wrong = next(gan.gan_batches(data, 16, gan.VARIANTS[variant]["matching"]))
    assert (wrong is None) == (not gan.VARIANTS[variant]["matching"])
    if wrong is not None:                       # each wrong text is a caption of the batch not true of the image
        where = {tuple(t.tolist()): (i, k) for i in range(40) for k, t in enumerate(text[i])}
        for image, w in zip(images, wrong):
            i = next(j for j in range(40) if torch.equal(data.images[j], image))
            scene, k = where[tuple(w.tolist())]
            assert not fits_matrix([split.captions[scene][k]], split.scenes.take([i]))[0, 0]
    cfg = gan.GanConfig(code_dim=16, z_dim=8, ngf=8, ndf=8)
    pair, history = gan.train_gan(data, variant, 3, cfg, batch_size=16, progress=False)
    g = pair["g"]
    assert len(history.loss) == 3 and len(history.logs["D"]) == 3
    assert ("KL" in history.logs) == gan.VARIANTS[variant]["augment"]
    assert g.cfg.augment == gan.VARIANTS[variant]["augment"]


def test_the_shipped_networks_load_with_their_checksums_and_fit_the_size_limit():
    from mmlearn import backbone
    from mmlearn.retrieval import embed_texts
    from mmlearn.text import world_vocab

    vocab = world_vocab()
    matching = gan.load_matching(len(vocab), backbone.CHANNELS, backbone.GRID)
    text = embed_texts(matching["text"], vocab, ["a red circle on a beach", "two blue squares at night"])
    for variant, path in gan.CHECKPOINTS.items():
        assert path.stat().st_size < 3e6, path
        images = gan.generate(gan.load_generator(variant, text.shape[1]), text)
        assert images.shape == (2, 3, 32, 32) and 0 <= images.min() and images.max() <= 1


def test_spread_is_zero_for_identical_images_and_the_pixel_std_otherwise():
    same = torch.rand(1, 1, 3, 4, 4).expand(2, 5, 3, 4, 4)                          # 2 captions, 5 identical images each
    assert judging.spread(same) == 0
    black_white = torch.stack([torch.zeros(3, 4, 4), torch.ones(3, 4, 4)])[None]     # 1 caption, 2 images
    assert judging.spread(black_white) == pytest.approx(2 ** -0.5)                       # sample std of {0, 1}
