"""Image captioning: Show and Tell (Vinyals et al. 2015) and Show, Attend and Tell (Xu et al. 2015).

The encoder is the frozen world backbone: grid features (B, C, h, w) become B x L x C "annotation
vectors" (L = h*w cells). Both decoders are LSTMs trained with teacher forcing; the attention decoder
looks at the cells again at every word.

    model = ShowAttendTell(len(vocab), feature_dim=features.shape[-1])   # features (B, L, C)
    loss = caption_loss(model, features, ids, lengths)                # teacher forcing, padding ignored
    tokens, alphas = greedy_decode(model, features, max_len=20)      # (B, T), (B, T, L)
    best = beam_search(model, features[0:1], beam=3)                  # one image: [(tokens, score, alphas)]
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .semantics import SHAPE_NOUNS, noun_phrase
from .text import Vocab

BOS, EOS, PAD = Vocab.BOS, Vocab.EOS, Vocab.PAD  # the course's special ids (mmlearn.text)


class SoftAttention(nn.Module):
    """Additive (Bahdanau) attention: e_i = w . tanh(W_a a_i + W_h h); alpha = softmax(e) over the L cells.

    forward(features (B, L, C), hidden (B, H), keys=None) -> context (B, C), alpha (B, L). keys (B, L, A) =
    encoder_att(features), the same at every step of a caption: pass it in to compute it once per caption.
    """

    def __init__(self, feature_dim: int, hidden_dim: int, attention_dim: int):
        super().__init__()
        self.encoder_att = nn.Linear(feature_dim, attention_dim)
        self.decoder_att = nn.Linear(hidden_dim, attention_dim)
        self.full_att = nn.Linear(attention_dim, 1)

    def forward(self, features, hidden, keys=None):
        keys = self.encoder_att(features) if keys is None else keys
        scores = torch.tanh(keys + self.decoder_att(hidden).unsqueeze(1))               # (B, L, A)
        energy = scores @ self.full_att.weight[0] + self.full_att.bias                  # full_att as one matrix-vector
        alpha = energy.softmax(dim=1)                                                   # product: (B, L)
        return torch.bmm(alpha.unsqueeze(1), features).squeeze(1), alpha


class ShowAttendTell(nn.Module):
    """The soft-attention captioner of Xu et al.: at each step, attend over the cells, gate the context
    with beta = sigmoid(f_beta(h)), and feed [word embedding; gated context] to an LSTMCell whose
    state starts from the mean annotation vector."""

    def __init__(self, vocab_size: int, feature_dim: int, embed_dim: int = 64, hidden_dim: int = 256,
                 attention_dim: int = 128, dropout: float = 0.3):
        super().__init__()
        self.attention = SoftAttention(feature_dim, hidden_dim, attention_dim)
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.init_h = nn.Linear(feature_dim, hidden_dim)
        self.init_c = nn.Linear(feature_dim, hidden_dim)
        self.f_beta = nn.Linear(hidden_dim, feature_dim)
        self.lstm = nn.LSTMCell(embed_dim + feature_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def start(self, features):
        """Initial state (h, c, keys): the LSTM's from the mean annotation vector, and the cells' attention keys,
        computed once per caption. features (B, L, C)."""
        mean = features.mean(dim=1)
        return torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean)), self.attention.encoder_att(features)

    def step(self, features, words, state):
        """One word: features (B, L, C), previous words (B,), state (h, c, keys) -> logits (B, V), new state,
        alpha (B, L)."""
        h, c, keys = state
        context, alpha = self.attention(features, h, keys)
        gated = torch.sigmoid(self.f_beta(h)) * context
        h, c = self.lstm(torch.cat([self.embed(words), gated], dim=1), (h, c))
        return self.out(self.dropout(h)), (h, c, keys), alpha


class ShowAndTell(nn.Module):
    """The baseline of Vinyals et al.: the pooled image feature, projected, is the LSTM's first input
    (before <bos>); no attention. Same `start` / `step` interface as ShowAttendTell (alpha is None).

    features (B, L, C), pooled over the L cells. pool: "max" (default) or "mean". The world backbone's features
    are *local* (it was pretrained to name what is in each cell), so mean-pooling dilutes a small object among
    64 cells of background; max-pooling keeps "which parts are present somewhere" — the closest analogue of
    the pooled vector of an ImageNet classifier that Show-and-Tell used. A precomputed image vector (B, C), such
    as a matching model's embedding, goes in as (B, 1, C). The projected vector is layer-normalised, so that it
    enters the LSTM at a word embedding's scale whatever the scale of the features (a unit-norm embedding
    through a fresh linear layer is far smaller than a word's)."""

    def __init__(self, vocab_size: int, feature_dim: int, embed_dim: int = 64, hidden_dim: int = 256,
                 dropout: float = 0.3, pool: str = "max"):
        super().__init__()
        if pool not in ("max", "mean"):
            raise ValueError(f"pool must be 'max' or 'mean', not {pool!r}")
        self.pool = pool
        self.image = nn.Sequential(nn.Linear(feature_dim, embed_dim), nn.LayerNorm(embed_dim))
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        # nn.LSTM rather than LSTMCell: the same cell (and the same initial weights), and with no attention to
        # wait for, teacher forcing runs a whole caption through it in one fused call (`sequence_logits`).
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def image_vector(self, features):
        """The pooled, projected image: the LSTM's first input. (B, L, C) -> (B, embed_dim)."""
        return self.image(features.amax(dim=1) if self.pool == "max" else features.mean(dim=1))

    def start(self, features):
        _, (h, c) = self.lstm(self.image_vector(features).unsqueeze(1))      # from a zero state
        return h[0], c[0]

    def step(self, features, words, state):
        h, c = state
        out, (h, c) = self.lstm(self.embed(words).unsqueeze(1), (h.unsqueeze(0), c.unsqueeze(0)))
        return self.out(self.dropout(out[:, 0])), (h[0], c[0]), None

    def sequence_logits(self, features, ids):
        """Teacher forcing in one call: the image, then <bos> w1 ... as inputs; logits (B, T-1, V) for the words
        after <bos>, the same as `start` and T-1 `step`s. features (B, L, C), ids (B, T)."""
        inputs = torch.cat([self.image_vector(features).unsqueeze(1), self.embed(ids[:, :-1])], dim=1)
        out, _ = self.lstm(inputs)
        return self.out(self.dropout(out[:, 1:]))


def caption_loss(model, features, ids, lengths, alpha_c: float = 1.0):
    """Teacher-forced cross-entropy over the words after <bos> (padding excluded), plus for attention
    models the doubly stochastic regularisation alpha_c * ((1 - sum_t alpha_t)^2).mean().

    features (B, L, C); ids (B, T) = <bos> w1 ... wn <eos> <pad>...; lengths (B,) count <bos> and <eos>.
    """
    logits, alphas = [], []
    if hasattr(model, "sequence_logits"):                                  # no attention: the fused LSTM
        logits = model.sequence_logits(features, ids)
    else:
        state = model.start(features)
        for t in range(ids.shape[1] - 1):
            step_logits, state, alpha = model.step(features, ids[:, t], state)
            logits.append(step_logits)
            alphas.append(alpha)
        logits = torch.stack(logits, dim=1)                                # (B, T-1, V)
    targets = ids[:, 1:].masked_fill(torch.arange(ids.shape[1] - 1, device=ids.device) >= (lengths - 1).unsqueeze(1), -100)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
    if alphas:
        steps_used = (targets != -100).unsqueeze(2)                        # attention only on real words
        total = (torch.stack(alphas, dim=1) * steps_used).sum(dim=1)       # (B, L): attention each cell got
        loss = loss + alpha_c * ((1 - total) ** 2).mean()
    return loss


@torch.no_grad()
def greedy_decode(model, features, max_len: int = 20):
    """The most likely word at each step. features (B, L, C) -> tokens (B, <= max_len) ending in <eos> or
    cut at max_len (padded with <pad> after <eos>), attention (B, T, L) or None."""
    state = model.start(features)
    words = torch.full((len(features),), BOS, dtype=torch.long, device=features.device)
    tokens, alphas = [], []
    done = torch.zeros(len(features), dtype=torch.bool, device=features.device)
    for _ in range(max_len):
        logits, state, alpha = model.step(features, words, state)
        words = logits.argmax(dim=1).masked_fill(done, PAD)
        tokens.append(words)
        if alpha is not None:
            alphas.append(alpha)
        done |= words == EOS
        if done.all():
            break
    return torch.stack(tokens, 1), (torch.stack(alphas, 1) if alphas else None)


def beam_step(log_probs, scores, beam: int):
    """One step of beam search. log_probs (k, V) of the next word for each of the k live beams; scores (k,)
    their cumulative log-probabilities. Returns the `beam` best continuations: (new scores (beam,),
    index of the beam each extends (beam,), the word it adds (beam,)). Integer division picks the beam."""
    candidates = (scores.unsqueeze(1) + log_probs).view(-1)                # (k * V,)
    top, flat = candidates.topk(min(beam, len(candidates)))
    vocab = log_probs.shape[1]
    return top, torch.div(flat, vocab, rounding_mode="floor"), flat % vocab


@torch.no_grad()
def beam_search(model, features, beam: int = 3, max_len: int = 20, length_norm: float = 0.0):
    """Beam search for ONE image: features (1, L, C). Returns the finished hypotheses, best first, as
    (tokens list ending in <eos>, score, attention (T, L) or None).

    Beams are batched (the k live beams are one batch); a beam that emits <eos> is set aside and the
    search goes on with fewer live beams until none is left or max_len is reached. If no beam ever
    finishes, the live beams are returned (no empty result). Scores are summed log-probabilities,
    divided by length ** length_norm (0: none, 1: per word).
    """
    state = model.start(features)
    live_tokens = [[]]
    live_alphas = [[]]
    scores = features.new_zeros(1)
    words = torch.full((1,), BOS, dtype=torch.long, device=features.device)
    finished = []
    for step in range(max_len):
        k = len(live_tokens)
        logits, state, alpha = model.step(features.expand(k, -1, -1), words, state)
        log_probs = F.log_softmax(logits, dim=1)
        top, origin, word = beam_step(log_probs, scores, beam - len(finished) if beam > len(finished) else 1)
        next_tokens, next_alphas, keep, keep_scores, keep_words = [], [], [], [], []
        for s, o, w in zip(top.tolist(), origin.tolist(), word.tolist()):
            tokens = live_tokens[o] + [w]
            alphas = live_alphas[o] + ([alpha[o]] if alpha is not None else [])
            if w == EOS:
                finished.append((tokens, s / len(tokens) ** length_norm, torch.stack(alphas) if alphas else None))
            else:
                next_tokens.append(tokens)
                next_alphas.append(alphas)
                keep.append(o)
                keep_scores.append(s)
                keep_words.append(w)
        if len(finished) >= beam or not keep:
            break
        index = torch.tensor(keep, device=features.device)
        state = tuple(part[index] for part in state)       # (h, c) or (h, c, keys): one row per live beam
        live_tokens, live_alphas = next_tokens, next_alphas
        scores = torch.tensor(keep_scores, device=features.device)
        words = torch.tensor(keep_words, device=features.device)
    if not finished:  # nothing reached <eos> within max_len: return the live beams rather than nothing
        finished = [(t, s / len(t) ** length_norm, torch.stack(a) if a else None)
                    for t, s, a in zip(live_tokens, scores.tolist(), live_alphas)]
    return sorted(finished, key=lambda f: -f[1])


# ----------------------------------------------------------------------------------- looking inside
def upsample_attention(alpha: torch.Tensor, image_size: int) -> torch.Tensor:
    """Attention over a g x g grid of cells (..., L = g*g) -> per-pixel mass (..., S, S), still summing to 1:
    each cell's weight is spread evenly over the S/g x S/g pixels it covers."""
    grid = int(round(alpha.shape[-1] ** 0.5))
    cell = image_size // grid
    maps = alpha.reshape(*alpha.shape[:-1], grid, grid) / cell ** 2
    return maps.repeat_interleave(cell, dim=-2).repeat_interleave(cell, dim=-1)


def referenced_objects(words: list[str], t: int, scene) -> list:
    """The objects of `scene` (a world Scene) that the shape noun words[t] refers to: same shape, and the
    colour / size the words just before it name, if any ("two small red circles" -> every small red
    circle). [] if words[t] is not a shape noun or names nothing in the scene."""
    phrase = noun_phrase(words, t)
    if phrase is None:
        return []
    _, size, color, shape = phrase
    return [o for o in scene.objects if o.shape == shape and color in (None, o.color) and size in (None, o.size)]


def attention_grounding(words: list[list[str]], alphas: list[torch.Tensor], scenes) -> dict:
    """Does the model look at what it names, and not merely at an object? For every generated shape noun that
    refers to objects of the scene: the attention mass (at the step that emitted the noun) inside the referenced
    objects' boxes and the share of the image they cover (what uniform attention would put there); and the same
    for the scene's *other* objects (their boxes less the named ones'; NaN where there is no other object).

    words[i]: caption i as words (no <eos>); alphas[i]: its attention (T_i >= len(words[i]), L), row t
    belonging to words[i][t]; scenes: the world Scenes the captions describe. Returns numpy arrays "mass",
    "chance", "other_mass" and "other_chance" (one entry per grounded noun), and "nouns" (the number of shape
    nouns, grounded or not: a noun naming an absent object cannot be grounded)."""
    size = scenes.image.shape[1]
    out, nouns = {"mass": [], "chance": [], "other_mass": [], "other_chance": []}, 0

    def boxes(objects):
        inside = torch.zeros(size, size, dtype=torch.bool)
        for o in objects:
            x0, y0, x1, y1 = o.box
            inside[y0:y1, x0:x1] = True
        return inside

    for i, (ws, alpha) in enumerate(zip(words, alphas)):
        scene = scenes[i]
        pixels = upsample_attention(alpha[: len(ws)].float().cpu(), size)          # (T, S, S)
        for t, w in enumerate(ws):
            objects = referenced_objects(ws, t, scene)
            nouns += w in SHAPE_NOUNS
            if not objects:
                continue
            named = boxes(objects)
            others = boxes([o for o in scene.objects if o not in objects]) & ~named
            out["mass"].append(float(pixels[t][named].sum()))
            out["chance"].append(float(named.float().mean()))
            out["other_mass"].append(float(pixels[t][others].sum()) if others.any() else float("nan"))
            out["other_chance"].append(float(others.float().mean()) if others.any() else float("nan"))
    return {name: np.array(values) for name, values in out.items()} | {"nouns": nouns}
