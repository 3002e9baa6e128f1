"""Scenes of the world: a textured *place* with 1..N non-overlapping coloured shapes, rendered in batches.

Everything is vectorised over the batch: one call draws thousands of scenes. Objects are drawn from
signed distance functions (SDF), so edges are anti-aliased for free: a pixel's coverage is
clip(0.5 - distance, 0, 1), distance measured in pixels.

Coordinates: x to the right, y downwards, in pixels; boxes are (x0, y0, x1, y1), inclusive-exclusive.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PLACES = ("beach", "forest", "city", "night")
SHAPES = ("circle", "square", "triangle", "diamond", "cross")
COLORS = ("red", "green", "blue", "yellow", "purple", "white")
SIZES = ("small", "large")

RGB = np.array([  # saturated, so objects stand out from the (muted) places
    [220, 40, 40],    # red
    [40, 190, 60],    # green
    [50, 90, 235],    # blue
    [245, 215, 40],   # yellow
    [160, 60, 200],   # purple
    [245, 245, 245],  # white
], dtype=np.float32) / 255
RADIUS = np.array([0.11, 0.19])  # object radius as a fraction of the image side, per size
OUTLINE = np.array([0.08, 0.08, 0.08], dtype=np.float32)


@dataclass
class Object:
    """One object's ground truth. Box in pixels (x0, y0, x1, y1); mask (H, W) bool."""

    shape: str
    color: str
    size: str
    x: float
    y: float
    box: tuple[int, int, int, int]
    mask: np.ndarray


@dataclass
class Scene:
    """One scene: pixels (H, W, 3) uint8 and all its ground truth."""

    index: int
    image: np.ndarray
    place: str
    objects: list[Object]


@dataclass
class Scenes:
    """A batch of N scenes with up to K objects each; absent objects have attribute -1.

    image (N, H, W, 3) uint8 · place (N,) · shape, color, size (N, K) int · center (N, K, 2) float (x, y)
    box (N, K, 4) int (x0, y0, x1, y1) · mask (N, K, H, W) bool
    """

    image: np.ndarray
    place: np.ndarray
    shape: np.ndarray
    color: np.ndarray
    size: np.ndarray
    center: np.ndarray
    box: np.ndarray
    mask: np.ndarray

    def __len__(self) -> int:
        return len(self.image)

    @property
    def present(self) -> np.ndarray:
        """(N, K) bool: which object slots hold an object."""
        return self.shape >= 0

    def __getitem__(self, i: int) -> Scene:
        objects = [
            Object(SHAPES[self.shape[i, k]], COLORS[self.color[i, k]], SIZES[self.size[i, k]],
                   float(self.center[i, k, 0]), float(self.center[i, k, 1]),
                   tuple(int(v) for v in self.box[i, k]), self.mask[i, k])
            for k in range(self.shape.shape[1]) if self.shape[i, k] >= 0
        ]
        return Scene(i, self.image[i], PLACES[self.place[i]], objects)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def take(self, index) -> "Scenes":
        """A batch of some of these scenes: index is anything numpy indexes with (a slice, a list, an array)."""
        return Scenes(*(getattr(self, f)[index] for f in Scenes.__dataclass_fields__))

    @staticmethod
    def from_scene(scene: Scene) -> "Scenes":
        """A batch of one, from a single Scene record (for the vectorised functions)."""
        attr = lambda names, a: np.array([[names.index(getattr(o, a)) for o in scene.objects]])  # noqa: E731
        return Scenes(scene.image[None], np.array([PLACES.index(scene.place)]), attr(SHAPES, "shape"),
                      attr(COLORS, "color"), attr(SIZES, "size"), np.array([[[o.x, o.y] for o in scene.objects]]),
                      np.array([[o.box for o in scene.objects]]), np.stack([o.mask for o in scene.objects])[None])

    @staticmethod
    def concat(parts: list["Scenes"]) -> "Scenes":
        return Scenes(*(np.concatenate([getattr(p, f) for p in parts]) for f in Scenes.__dataclass_fields__))


# ----------------------------------------------------------------------------------------- places
def _smooth_noise(rng, n, size, cells):
    """(n, size, size) smooth random field in [0, 1]: a coarse random grid, bilinearly upsampled."""
    grid = rng.random((n, cells + 1, cells + 1), dtype=np.float32)
    t = np.linspace(0, cells, size, dtype=np.float32)
    i = np.minimum(t.astype(int), cells - 1)
    f = t - i
    rows = grid[:, i] * (1 - f)[None, :, None] + grid[:, i + 1] * f[None, :, None]
    return rows[:, :, i] * (1 - f) + rows[:, :, i + 1] * f


def _rgb(r, g, b):
    return np.array([r, g, b], np.float32)


def _mix(a, b, t):
    """Blend colours a, b (..., 3) by weight t (...,) in [0, 1]."""
    return a + (b - a) * t[..., None]


def render_places(place, size, rng):
    """(n,) place ids -> (n, size, size, 3) float32 backgrounds, each with random variation."""
    n = len(place)
    out = np.empty((n, size, size, 3), np.float32)
    y = (np.arange(size, dtype=np.float32) + 0.5)[None, :, None] / size   # 0 at the top, 1 at the bottom
    x = (np.arange(size, dtype=np.float32) + 0.5)[None, None, :] / size
    for p, name in enumerate(PLACES):
        idx = np.flatnonzero(place == p)
        m = len(idx)
        if m == 0:
            continue
        noise = _smooth_noise(rng, m, size, 6)
        jitter = lambda: rng.uniform(-1, 1, (m, 1, 1)).astype(np.float32)  # noqa: E731
        if name == "beach":  # sky, sea, then sand below a wavy shoreline
            horizon = 0.3 + 0.08 * jitter()
            shore = 0.55 + 0.08 * jitter() + 0.03 * np.sin(2 * np.pi * (3 * x + rng.random((m, 1, 1), np.float32)))
            sky = _mix(_rgb(0.55, 0.75, 0.95), _rgb(0.8, 0.9, 1.0), np.broadcast_to(y / 0.4, (m, size, size)).clip(0, 1))
            sea = _mix(_rgb(0.15, 0.45, 0.65), _rgb(0.25, 0.6, 0.75), noise)
            sand = _mix(_rgb(0.85, 0.75, 0.5), _rgb(0.75, 0.65, 0.42), noise)
            img = np.where((y < horizon)[..., None], sky, np.where((y < shore)[..., None], sea, sand))
        elif name == "forest":  # dappled green with dark trunks
            img = _mix(_rgb(0.1, 0.35, 0.12), _rgb(0.3, 0.55, 0.2), noise)
            trunks = np.sin(2 * np.pi * (rng.uniform(3, 5, (m, 1, 1)) * x + rng.random((m, 1, 1)))) > 0.75
            img = np.where(trunks[..., None], _rgb(0.3, 0.2, 0.1), img)
        elif name == "city":  # grey sky, building blocks with lit windows
            columns = np.minimum((x[0, 0] * 6).astype(int), 5)                   # (size,) block of each column
            heights = rng.uniform(0.2, 0.7, (m, 6))[:, None, columns]            # (m, 1, size)
            building = y > (1 - heights)
            windows = building & (np.sin(2 * np.pi * size / 4 * x) > 0.3) & (np.sin(2 * np.pi * size / 4 * y) > 0.3)
            sky = _mix(_rgb(0.6, 0.62, 0.66), _rgb(0.75, 0.77, 0.8), noise)
            img = np.where(building[..., None], _rgb(0.35, 0.35, 0.38), sky)
            img = np.where(windows[..., None], _rgb(0.9, 0.85, 0.55), img)
        else:  # night: a dark blue gradient with faint stars
            img = _mix(_rgb(0.02, 0.03, 0.12), _rgb(0.08, 0.1, 0.25), np.broadcast_to(y, (m, size, size)) * (0.6 + 0.4 * noise))
            stars = rng.random((m, size, size)) > 0.97
            img = np.where(stars[..., None], _rgb(0.55, 0.55, 0.6), img)
        img = img + rng.normal(0, 0.02, (m, size, size, 3)).astype(np.float32)
        out[idx] = img
    return out


# ----------------------------------------------------------------------------------------- shapes
def signed_distance(shape: int, dx, dy, r):
    """Signed distance (pixels) from pixel offsets (dx, dy) to shape number `shape` of radius r; negative inside."""
    ax, ay = np.abs(dx), np.abs(dy)
    name = SHAPES[shape]
    if name == "circle":
        return np.sqrt(dx * dx + dy * dy) - r
    if name == "square":
        return np.maximum(ax, ay) - 0.85 * r
    if name == "diamond":
        return (ax + ay - 1.2 * r) * np.float32(1 / np.sqrt(2))
    if name == "triangle":  # pointing up (y grows downwards): the largest of three half-plane distances
        half = 0.5 * r
        slant = np.maximum(-0.5 * dy + 0.866 * dx, -0.5 * dy - 0.866 * dx)
        return np.maximum(dy, slant) - half - 0.08 * r
    arm = 0.35 * r  # cross: union of a horizontal and a vertical bar
    return np.minimum(np.maximum(ax - r, ay - arm), np.maximum(ax - arm, ay - r))


def place_objects(rng, n, size, max_objects, shape_size):
    """Non-overlapping centres (n, K, 2) and an (n, K) bool of objects that found room, by vectorised rejection."""
    radius = RADIUS[shape_size] * size
    center = np.zeros((n, max_objects, 2))
    placed = np.zeros((n, max_objects), bool)
    candidates = 24
    for k in range(max_objects):
        r = radius[:, k, None, None]
        lo, hi = r + 1, size - r - 1
        cand = lo + (hi - lo) * rng.random((n, candidates, 2))
        ok = np.ones((n, candidates), bool)
        for j in range(k):
            gap = np.linalg.norm(cand - center[:, None, j], axis=-1)
            clash = gap < (radius[:, k, None] + radius[:, j, None] + 2)
            ok &= ~(clash & placed[:, j, None])
        first = ok.argmax(axis=1)
        center[:, k] = cand[np.arange(n), first]
        placed[:, k] = ok[np.arange(n), first]
    return center, placed


def sample_attributes(rng, n, max_objects, banned_pairs=(), forced_pairs=()):
    """Random (n, K) shape, color, size and object count, avoiding banned (shape, color) pairs.

    forced_pairs: if given, object 0 of every scene is one of these (shape, color) pairs.
    """
    count = rng.integers(1, max_objects + 1, n)
    shape = rng.integers(0, len(SHAPES), (n, max_objects))
    color = rng.integers(0, len(COLORS), (n, max_objects))
    size = rng.integers(0, len(SIZES), (n, max_objects))
    banned = np.zeros((len(SHAPES), len(COLORS)), bool)
    for s, c in banned_pairs:
        banned[SHAPES.index(s), COLORS.index(c)] = True
    # re-draw banned colours among the allowed ones for that shape (uniform, no loop)
    allowed = ~banned[shape]                                  # (n, K, colors)
    pick = rng.random((n, max_objects, len(COLORS))) * allowed
    color = np.where(banned[shape, color], pick.argmax(-1), color)
    if forced_pairs:
        forced = np.array([(SHAPES.index(s), COLORS.index(c)) for s, c in forced_pairs])
        choice = forced[rng.integers(0, len(forced), n)]
        shape[:, 0], color[:, 0] = choice[:, 0], choice[:, 1]
    present = np.arange(max_objects) < count[:, None]
    return shape, color, size, present


def render_scenes(rng, n, size=32, max_objects=3, banned_pairs=(), forced_pairs=()) -> Scenes:
    """Draw n random scenes of size x size pixels with 1..max_objects objects each."""
    place = rng.integers(0, len(PLACES), n)
    shape, color, obj_size, present = sample_attributes(rng, n, max_objects, banned_pairs, forced_pairs)
    center, placed = place_objects(rng, n, size, max_objects, obj_size)
    present &= placed
    present[:, 0] = True  # the first object always has room: nothing was placed before it
    shape, color, obj_size = (np.where(present, a, -1) for a in (shape, color, obj_size))

    image = render_places(place, size, rng)
    pix = np.arange(size, dtype=np.float32) + 0.5
    dist = np.full((n, max_objects, size, size), np.inf, np.float32)  # +inf: no object in that slot
    for s in range(len(SHAPES)):  # each SDF only where that shape is
        where = shape == s
        c = center[where].astype(np.float32)                                         # (m, 2)
        r = (RADIUS[obj_size[where]] * size).astype(np.float32)[:, None, None]       # (m, 1, 1)
        dist[where] = signed_distance(s, pix[None, None, :] - c[:, 0, None, None], pix[None, :, None] - c[:, 1, None, None], r)
    fill = np.clip(0.5 - dist, 0, 1)
    ring = np.clip(1.5 - dist, 0, 1)  # a 1-pixel dark outline, so every colour shows on every place
    rgb = RGB[np.maximum(color, 0)]
    for k in range(max_objects):
        image = _mix(image, OUTLINE, ring[:, k])
        image = _mix(image, rgb[:, k, None, None, :], fill[:, k])
    mask = fill > 0.5
    box = mask_boxes(mask)
    image = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    return Scenes(image, place, shape, color, obj_size, center.astype(np.float32), box, mask)


def mask_boxes(mask):
    """(..., H, W) bool masks -> (..., 4) int boxes (x0, y0, x1, y1), exclusive ends; zeros for empty masks."""
    rows, cols = mask.any(-1), mask.any(-2)
    h, w = mask.shape[-2:]
    y0 = rows.argmax(-1)
    y1 = h - rows[..., ::-1].argmax(-1)
    x0 = cols.argmax(-1)
    x1 = w - cols[..., ::-1].argmax(-1)
    box = np.stack([x0, y0, x1, y1], -1)
    return np.where(rows.any(-1)[..., None], box, 0)
