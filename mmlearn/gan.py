"""Notebook 04: text to image — a conditional GAN that draws what the caption says.

Reed et al., "Generative Adversarial Text to Image Synthesis", ICML 2016: a sentence embedding t (from an
encoder pretrained by image-text matching, frozen) is squeezed to a small code and concatenated with noise z;
a DCGAN generator draws a 32x32 image; a DCGAN discriminator sees the image and the code (tiled over its 4x4
grid) and says real or fake. Three training signals, compared in the notebook on one budget:

- plain conditional GAN: D learns real (image, its text) vs fake (G(z, text), text);
- GAN-CLS, matching-aware: D also learns that a real image with a *wrong* text is fake,
  L_D = BCE(real, 1) + 1/2 [BCE(wrong, 0) + BCE(fake, 0)] (Reed's code: cls_weight 0.5);
- GAN-INT: G also trains on interpolated embeddings beta t1 + (1 - beta) t2 (beta = 0.5), which have no image
  and so never reach D's real or wrong terms.
StackGAN's conditioning augmentation (Zhang et al., ICCV 2017) replaces the fixed code by a sample
c ~ N(mu(t), sigma(t)^2), with a KL term to N(0, I) (mu and log sigma^2 from a plain linear layer: StackGAN's
code puts a ReLU before the split, which forces sigma >= 1).

How its images are judged is in `mmlearn.judging`.

Shapes: text embeddings (B, text_dim); noise (B, z_dim); images (B, 3, 32, 32) in [-1, 1]; logits (B,).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .core import DATA, in_batches, inference, load_checkpoint, seed_everything
from .train import History, fit
from .world.scenes import Scenes


@dataclass(frozen=True)
class GanConfig:
    """Sizes (frozen, so one can be a default argument). Reed et al.: text 1024 -> code 128, z 100, ngf 128 and ndf 64 at 64x64; here 32x32."""

    code_dim: int = 128
    z_dim: int = 100
    ngf: int = 64                  # generator channels at 16x16 (x2 at 8x8, x4 at 4x4)
    ndf: int = 64                  # discriminator channels at 16x16 (x2 at 8x8, x4 at 4x4)
    augment: bool = False          # StackGAN's conditioning augmentation instead of Reed's fixed code


class TextCode(nn.Module):
    """Reed's text projection: (B, text_dim) -> (B, code_dim), Linear + LeakyReLU(0.2) (+ BatchNorm in D).

    The matching model's embeddings have unit length, so their entries are about 1/sqrt(text_dim) (1/16 for 256)
    while z's are about 1: they are multiplied by sqrt(text_dim) first, so the caption is not drowned by the
    noise at the start of training (Reed's 1,024-d char-CNN-RNN embeddings are not normalised)."""

    def __init__(self, text_dim: int, code_dim: int, batch_norm: bool = False):
        super().__init__()
        self.scale = text_dim ** 0.5
        layers = [nn.Linear(text_dim, code_dim)] + ([nn.BatchNorm1d(code_dim)] if batch_norm else [])
        self.net = nn.Sequential(*layers, nn.LeakyReLU(0.2))

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        return self.net(text * self.scale)


class ConditioningAugmentation(nn.Module):
    """StackGAN: (B, text_dim) -> a sample c = mu + sigma * eps (B, code_dim), with mu and log sigma^2 (B, code_dim).

    mu and log sigma^2 come from one linear layer, split in two (no ReLU before the split); the text is scaled
    by sqrt(text_dim) first, as in `TextCode`."""

    def __init__(self, text_dim: int, code_dim: int):
        super().__init__()
        self.scale = text_dim ** 0.5
        self.fc = nn.Linear(text_dim, 2 * code_dim)

    def forward(self, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.fc(text * self.scale).chunk(2, dim=1)
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar), mu, logvar


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) summed over dimensions, averaged over the batch:
    1/2 sum(mu^2 + sigma^2 - log sigma^2 - 1). (StackGAN's code averages over dimensions too: divide by code_dim
    to get its value.)"""
    return 0.5 * (mu ** 2 + logvar.exp() - logvar - 1).sum(1).mean()


def up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


def down(c_in: int, c_out: int, batch_norm: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not batch_norm)] + ([nn.BatchNorm2d(c_out)] if batch_norm else [])
    return nn.Sequential(*layers, nn.LeakyReLU(0.2))


INIT_STD = 0.02   # DCGAN's (Radford et al. 2016) spread of the initial weights


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation, as Reed's code applies it: convolution weights ~ N(0, INIT_STD), BatchNorm scales
    ~ N(1, INIT_STD) with zero shifts."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, INIT_STD)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.normal_(m.weight, 1.0, INIT_STD)
            nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """(z (B, z_dim), text (B, text_dim)) -> images (B, 3, 32, 32) in [-1, 1]; also returns (mu, logvar) with CA.

    text -> code (Linear + LeakyReLU, or conditioning augmentation); [z, code] as a 1x1 map -> transposed
    convolutions 1 -> 4 -> 8 -> 16 -> 32, BatchNorm + ReLU, tanh at the end (DCGAN)."""

    def __init__(self, text_dim: int, cfg: GanConfig = GanConfig()):
        super().__init__()
        self.cfg, g = cfg, cfg.ngf
        self.code = ConditioningAugmentation(text_dim, cfg.code_dim) if cfg.augment else TextCode(text_dim, cfg.code_dim)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(cfg.z_dim + cfg.code_dim, 4 * g, 4, 1, 0, bias=False), nn.BatchNorm2d(4 * g), nn.ReLU(),
            up(4 * g, 2 * g), up(2 * g, g), nn.ConvTranspose2d(g, 3, 4, 2, 1), nn.Tanh())
        dcgan_init(self)

    def forward(self, z: torch.Tensor, text: torch.Tensor):
        if self.cfg.augment:
            code, mu, logvar = self.code(text)
        else:
            code, mu, logvar = self.code(text), None, None
        image = self.net(torch.cat([z, code], dim=1)[:, :, None, None])
        return image, mu, logvar


class Discriminator(nn.Module):
    """(images (B, 3, 32, 32), text (B, text_dim)) -> logits (B,): is this a real image that fits this text?

    Convolutions 32 -> 16 -> 8 -> 4 (LeakyReLU; BatchNorm after the first); the text code (Linear + BatchNorm +
    LeakyReLU) tiled over the 4x4 grid and concatenated along channels; a 1x1 convolution mixes image and text;
    a 4x4 convolution gives one logit."""

    def __init__(self, text_dim: int, cfg: GanConfig = GanConfig()):
        super().__init__()
        d = cfg.ndf
        self.image = nn.Sequential(down(3, d, batch_norm=False), down(d, 2 * d), down(2 * d, 4 * d))
        self.code = TextCode(text_dim, cfg.code_dim, batch_norm=True)
        self.joint = nn.Sequential(nn.Conv2d(4 * d + cfg.code_dim, 4 * d, 1, bias=False), nn.BatchNorm2d(4 * d),
                                   nn.LeakyReLU(0.2), nn.Conv2d(4 * d, 1, 4))
        dcgan_init(self)

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        x = self.image(image)                                                  # (B, 4d, 4, 4)
        code = self.code(text)[:, :, None, None].expand(-1, -1, *x.shape[2:])  # tiled (B, code_dim, 4, 4)
        return self.joint(torch.cat([x, code], dim=1)).flatten()              # (B,)


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor, wrong: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy on logits. Plain conditional GAN: BCE(real, 1) + BCE(fake, 0). GAN-CLS (wrong given):
    BCE(real, 1) + 1/2 [BCE(wrong, 0) + BCE(fake, 0)], a real image with a mismatched text counted as fake."""
    ones, zeros = torch.ones_like(real), torch.zeros_like(fake)
    loss_real = F.binary_cross_entropy_with_logits(real, ones)
    loss_fake = F.binary_cross_entropy_with_logits(fake, zeros)
    if wrong is None:
        return loss_real + loss_fake
    return loss_real + 0.5 * (F.binary_cross_entropy_with_logits(wrong, torch.zeros_like(wrong)) + loss_fake)


def generator_loss(fake: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: BCE(D(G(z, t), t), 1)."""
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def interpolate(text: torch.Tensor, beta: float = 0.5) -> torch.Tensor:
    """GAN-INT: beta t_i + (1 - beta) t_{i + B/2} for the first half of the batch with the second: (B, d) -> (B // 2, d).
    (Reed's code pairs the two halves the same way.) No image exists for these: they only feed G's loss."""
    half = len(text) // 2
    return beta * text[:half] + (1 - beta) * text[half:2 * half]


def wrong_partners(fits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For GAN-CLS's wrong pairs: fits (B, B) bool, fits[j, i] = caption j is true of scene i (see
    `semantics.fits_matrix`). Returns (B,) indices: for image i, a random caption j of the batch that does *not*
    fit it (a caption of another scene may well describe this one too: "a red circle" fits many scenes).
    An image that every caption of the batch fits gets the next one in the batch (rare; say so if you see it)."""
    b = len(fits)
    out = (np.arange(b) + 1) % b
    for i in range(b):
        candidates = np.flatnonzero(~fits[:, i])
        if len(candidates):
            out[i] = rng.choice(candidates)
    return out


def gan_step(g: Generator, d: Discriminator, opt_g, opt_d, images: torch.Tensor, text: torch.Tensor,
             wrong_text: torch.Tensor | None = None, interpolation: bool = False, kl_weight: float = 0.0) -> dict:
    """One step of D, then one of G. images (B, 3, 32, 32) in [-1, 1]; text, wrong_text (B, text_dim).

    D: real (image, its text) -> 1, fake (G(z, text), text) -> 0, and with wrong_text (GAN-CLS) also
    (image, a text that does not fit it) -> 0. G: fool D on (G(z, text), text); with interpolation (GAN-INT),
    also on (G(z', t_int), t_int) for t_int = 1/2 (t_i + t_{i+B/2}), which D never sees as real or wrong; with
    conditioning augmentation, kl_weight x KL(N(mu, sigma^2) || N(0, I)). Returns the losses as floats."""
    z = torch.randn(len(images), g.cfg.z_dim, device=images.device)
    fake, mu, logvar = g(z, text)

    opt_d.zero_grad()
    wrong = d(images, wrong_text) if wrong_text is not None else None
    loss_d = discriminator_loss(d(images, text), d(fake.detach(), text), wrong)
    loss_d.backward()
    opt_d.step()

    opt_g.zero_grad()
    loss_g = generator_loss(d(fake, text))
    logs = {"D": loss_d.item()}
    if interpolation:
        between = interpolate(text)
        fake_between, _, _ = g(torch.randn(len(between), g.cfg.z_dim, device=images.device), between)
        loss_g = loss_g + generator_loss(d(fake_between, between))
    if mu is not None and kl_weight:
        kl = kl_to_standard_normal(mu, logvar)
        loss_g = loss_g + kl_weight * kl
        logs["KL"] = kl.item()
    loss_g.backward()
    opt_g.step()
    return logs | {"G": loss_g.item()}


# ----------------------------------------------------------------------------------------- training
VARIANTS = {  # Reed et al.'s variants (and StackGAN's conditioning augmentation), compared on one budget
    "cGAN": dict(matching=False, interpolation=False, augment=False),
    "GAN-CLS": dict(matching=True, interpolation=False, augment=False),
    "GAN-INT-CLS": dict(matching=True, interpolation=True, augment=False),
    "GAN-INT-CLS + CA": dict(matching=True, interpolation=True, augment=True),
}
KL_WEIGHT = 2.0  # StackGAN's coefficient on the KL *averaged* over the code's dimensions (cfg.TRAIN.COEFF.KL)


@dataclass
class CaptionedImages:
    """What the GAN trains on: images (N, 3, 32, 32) in [-1, 1]; text (N, C, text_dim), the frozen encoder's
    embeddings of each scene's C captions; the captions themselves and the scenes' records (to choose wrong
    captions by meaning)."""

    images: torch.Tensor
    text: torch.Tensor
    captions: list[list[str]]
    scenes: Scenes


def gan_batches(data: CaptionedImages, batch_size: int, matching: bool, seed: int = 0):
    """Endless batches (images (B, 3, 32, 32), text (B, text_dim), wrong text (B, text_dim) or None): B different
    scenes, each with one of its captions at random; with matching, also a caption of the batch that is *not*
    true of each scene (`wrong_partners`, judged by `semantics.fits_matrix`)."""
    from .semantics import fits_matrix

    rng, order = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    n, c = data.text.shape[:2]
    while True:
        for scenes in torch.randperm(n, generator=order).split(batch_size):
            if len(scenes) < batch_size:
                continue
            choice = torch.from_numpy(rng.integers(0, c, len(scenes)))
            text, wrong = data.text[scenes, choice], None
            if matching:
                captions = [data.captions[i][k] for i, k in zip(scenes.tolist(), choice.tolist())]
                fits = fits_matrix(captions, data.scenes.take(scenes.numpy()))
                wrong = text[torch.from_numpy(wrong_partners(fits, rng))]
            yield data.images[scenes], text, wrong


@dataclass
class GanStep:
    """`gan_step` as the step of `train.fit`: the model is {"g": Generator, "d": Discriminator}, the batch
    (images, text, wrong text or None) from `gan_batches`; logs G's loss as "loss", D's as "D" (and the KL)."""

    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    interpolation: bool
    kl_weight: float

    def __call__(self, model: nn.ModuleDict, batch) -> dict[str, float]:
        images, text, wrong = batch
        logs = gan_step(model["g"], model["d"], self.opt_g, self.opt_d, images, text, wrong, self.interpolation,
                        self.kl_weight)
        return {"loss": logs.pop("G"), **logs}


def on_generator(eval_fn, pair: nn.ModuleDict) -> dict[str, float]:
    """eval_fn(g) for `fit`, which evaluates the model it trains: here the pair {"g", "d"}."""
    return eval_fn(pair["g"])


def train_gan(data: CaptionedImages, variant: str, steps: int, cfg: GanConfig = GanConfig(), batch_size: int = 64,
              lr: float = 2e-4, seed: int = 0, device=None, eval_fn=None, eval_every: int | None = None,
              progress: bool = True) -> tuple[nn.ModuleDict, History]:
    """Train one of `VARIANTS` for `steps` steps of D then G (Adam, lr 2e-4, beta1 0.5, as Reed's code) with
    `train.fit`; returns the pair {"g": Generator, "d": Discriminator} in eval mode and its History.
    eval_fn(g) -> {name: value} runs every eval_every steps and at the end, G in eval mode.
    History.loss is G's loss; History.logs holds D's (and the KL with conditioning augmentation)."""
    options = VARIANTS[variant]
    seed_everything(seed)
    device = torch.device(device or "cpu")
    cfg = replace(cfg, augment=options["augment"])
    text_dim = data.text.shape[-1]
    pair = nn.ModuleDict({"g": Generator(text_dim, cfg), "d": Discriminator(text_dim, cfg)}).to(device)
    step = GanStep(torch.optim.Adam(pair["g"].parameters(), lr=lr, betas=(0.5, 0.999)),
                   torch.optim.Adam(pair["d"].parameters(), lr=lr, betas=(0.5, 0.999)),
                   options["interpolation"], KL_WEIGHT / cfg.code_dim)
    history = fit(pair, None, gan_batches(data, batch_size, options["matching"], seed), steps, step=step,
                  eval_fn=None if eval_fn is None else partial(on_generator, eval_fn), eval_every=eval_every,
                  device=device, desc=variant, progress=progress)
    return pair.eval(), history


def generate(g: Generator, text: torch.Tensor, z: torch.Tensor | None = None, seed: int = 0,
             batch_size: int = 500) -> torch.Tensor:
    """Images (N, 3, 32, 32) in [0, 1] for text (N, text_dim); z (N, z_dim) defaults to N(0, I) drawn with `seed`
    (so does conditioning augmentation's sample, as StackGAN samples at test time too)."""
    if z is None:
        z = torch.randn(len(text), g.cfg.z_dim, generator=torch.Generator().manual_seed(seed))
    with inference(g), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        images = in_batches(lambda z, text: g(z, text)[0], z, text, batch_size=batch_size,
                            device=next(g.parameters()).device)
    return images.add(1).div(2).clamp(0, 1)


# ----------------------------------------------------------------------------------------- shipped networks
SHIPPED = GanConfig(ngf=32, ndf=32)     # 2.5x faster than 64 on 2 CPU cores; the generator is 1.3 MB in float16
# (the shipped checkpoints are saved with core.save_checkpoint(..., half=True))
CHECKPOINTS = {name: DATA / f"t2i_{name.lower().replace(' + ', '_').replace('-', '_')}.pt" for name in VARIANTS}
MATCHING = DATA / "t2i_matching.pt"
REBUILD = "Restore it (`git checkout -- data/`) or rebuild it with `python scripts/train_text_to_image.py`."


def load_generator(variant: str, text_dim: int, path: str | Path | None = None) -> Generator:
    """A shipped generator (one of `VARIANTS`), checked against its sha256."""
    g = Generator(text_dim, replace(SHIPPED, augment=VARIANTS[variant]["augment"]))
    return load_checkpoint(g, path or CHECKPOINTS[variant], f"{variant} generator", REBUILD).requires_grad_(False)


def load_matching(vocab_size: int, channels: int, grid: int, path: str | Path = MATCHING) -> nn.ModuleDict:
    """The frozen image-text matching model (notebook 01's InfoNCE recipe) whose text embeddings the shipped
    generators were trained on; checked against its sha256."""
    from .retrieval import matching_model

    return load_checkpoint(matching_model(vocab_size, channels, grid), path, "image-text matching model",
                           REBUILD).requires_grad_(False)
