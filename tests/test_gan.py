"""Notebook 04's conditional GAN: shapes and gradients, the losses on hand-computed cases, CA's KL, the Fréchet distance."""
import math

import numpy as np
import pytest
import torch

from mmlearn import gan
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
