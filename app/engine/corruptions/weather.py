"""Weather corruptions: snow, frost, fog and MNIST-C's mud spatter."""

import math
from functools import lru_cache

import torch
import torch.nn.functional as F

from app.engine.corruptions import ops

# Fixed seed of the procedural frost textures: they stand in for the reference's six frost
# photographs, so they must be the same on every machine and in every run.
FROST_TEXTURE_SEED = 20210329
FROST_TEXTURE_SIZE = 256
FROST_TEXTURE_COUNT = 5  # the reference draws np.random.randint(5): the first 5 of its 6 photos


def snow(x: torch.Tensor, params: tuple, g: torch.Generator) -> torch.Tensor:
    loc, scale, zoom, threshold, radius, sigma, blend = params
    n, c, h, w = x.shape
    layer = torch.randn(n, 1, h, w, generator=g) * scale + loc
    layer = ops.clipped_zoom(layer, zoom)
    layer = torch.where(layer < threshold, torch.zeros_like(layer), layer)
    layer = torch.floor(layer.clamp(0, 1) * 255) / 255  # saved as a uint8 PNG for ImageMagick
    angles = torch.rand(n, generator=g, dtype=torch.float64) * 90 - 135
    layer = torch.round(ops.motion_blur(layer, radius, sigma, angles).clamp(0, 1) * 255) / 255
    gray = ops.rgb_to_gray(x) if c == 3 else x
    y = blend * x + (1 - blend) * torch.maximum(x, gray * 1.5 + 0.5)
    return (y + layer + torch.flip(layer, (-2, -1))).clamp_(0, 1)


def _line_kernel(length: int, angle: float) -> torch.Tensor:
    """An antialiased line segment through the kernel centre (a frost needle)."""
    r = length // 2
    coords = torch.arange(-r, r + 1, dtype=torch.float32)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    along = xx * math.cos(angle) + yy * math.sin(angle)
    across = -xx * math.sin(angle) + yy * math.cos(angle)
    k = (1 - across.abs()).clamp(min=0) * (along.abs() <= r).float() * (1 - along.abs() / (r + 1))
    return k


@lru_cache(maxsize=1)
def frost_textures() -> torch.Tensor:
    """Procedural frost: (K, 3, S, S) in 0..255, deterministic.

    The reference blends crops of six frost photographs that are not redistributable
    here. These textures imitate them: domains of parallel ice needles (sparse seeds drawn
    out along one orientation per domain, plus shorter side branches at ±60°), a fine grain,
    and a large-scale brightness variation, tinted pale blue-white.
    """
    g = torch.Generator().manual_seed(FROST_TEXTURE_SEED)
    k, s = FROST_TEXTURE_COUNT, FROST_TEXTURE_SIZE
    orientations = 6
    # domain weights: which needle orientation dominates where
    fields = ops.plasma_fractal(k * orientations, s, 1.6, g).view(k, orientations, s, s)
    domains = torch.softmax(fields * 12, dim=1)
    needles = torch.zeros(k, 1, s, s)
    for o in range(orientations):
        angle = math.pi * o / orientations + 0.2
        seeds = (torch.rand(k, 1, s, s, generator=g) > 0.985).float() * torch.rand(k, 1, s, s, generator=g)
        long = F.conv2d(F.pad(seeds, (10, 10, 10, 10), mode="circular"), _line_kernel(21, angle).view(1, 1, 21, 21))
        branch_seeds = (long > 0.35).float() * (torch.rand(k, 1, s, s, generator=g) > 0.93).float()
        branches = sum(
            F.conv2d(F.pad(branch_seeds, (4, 4, 4, 4), mode="circular"),
                     _line_kernel(9, angle + side).view(1, 1, 9, 9))
            for side in (math.pi / 3, -math.pi / 3)
        )
        needles += domains[:, o:o + 1] * (long + 0.6 * branches)
    needles = needles / needles.amax((2, 3), keepdim=True)
    grain = ops.gaussian_filter(torch.rand(k, 1, s, s, generator=g), 0.8, "wrap")
    grain = (grain - grain.mean()) / grain.std()
    haze = ops.plasma_fractal(k, s, 2.0, g).unsqueeze(1)
    v = 0.6 * needles.clamp(0, 1) ** 0.8 + 0.3 * haze + 0.08 * grain
    v = (v - v.mean((2, 3), keepdim=True)) / v.std(dim=(2, 3), keepdim=True)
    # brightness, contrast and tint of the reference's five photographs (measured at the
    # CIFAR-10-C crop scale): from a bright white rime to a darker blue-green ice
    # (frost2 and frost3 of the reference are the same photograph)
    stats = torch.tensor([[131.0, 20.0], [207.0, 22.0], [207.0, 22.0], [152.0, 29.0], [123.0, 43.0]])[:k]
    tints = torch.tensor([[0.47, 0.90, 1.0], [0.94, 0.96, 1.0], [0.94, 0.96, 1.0], [0.83, 0.93, 1.0],
                          [0.83, 0.92, 1.0]])[:k]
    luminance = v * stats[:, 1].view(k, 1, 1, 1) + stats[:, 0].view(k, 1, 1, 1)
    return (luminance * (tints / tints.mean(1, keepdim=True)).view(k, 3, 1, 1)).clamp(0, 255)


def frost(x: torch.Tensor, params: tuple, g: torch.Generator) -> torch.Tensor:
    image_weight, frost_weight = params
    n, c, h, w = x.shape
    tex = frost_textures()
    k, _, s, _ = tex.shape
    if h > s or w > s:  # larger images: tile the texture (still deterministic)
        reps = math.ceil(max(h, w) / s) + 1
        tex = tex.repeat(1, 1, reps, reps)
        s = tex.shape[-1]
    which = torch.randint(0, k, (n,), generator=g)
    top = torch.randint(0, s - h, (n,), generator=g) if s > h else torch.zeros(n, dtype=torch.long)
    left = torch.randint(0, s - w, (n,), generator=g) if s > w else torch.zeros(n, dtype=torch.long)
    rows = top.view(n, 1, 1) + torch.arange(h).view(1, h, 1)
    cols = left.view(n, 1, 1) + torch.arange(w).view(1, 1, w)
    flat = which.view(n, 1, 1) * s * s + rows * s + cols  # (n, h, w)
    crops = tex.permute(1, 0, 2, 3).reshape(3, -1)[:, flat.view(-1)].view(3, n, h, w).permute(1, 0, 2, 3)
    if c == 1:
        crops = ops.rgb_to_gray(crops)
    return ((image_weight * x * 255 + frost_weight * crops).clamp_(0, 255)) / 255


def fog(x: torch.Tensor, params: tuple, g: torch.Generator, mapsize: int | None = None) -> torch.Tensor:
    """x + strength·plasma, rescaled by max/(max + strength). mapsize: the reference's plasma size
    (image size for CIFAR/Tiny-ImageNet, 256 cropped to 28 for MNIST-C)."""
    strength, decay = params
    n, c, h, w = x.shape
    size = mapsize or 1 << max(0, math.ceil(math.log2(max(h, w))))
    chunk = max(1, (1 << 24) // (size * size))  # bound the memory of the full-size height maps
    plasma = torch.cat([ops.plasma_fractal(min(chunk, n - i), size, decay, g)[:, :h, :w]
                        for i in range(0, n, chunk)]) if n else torch.zeros(0, h, w)
    max_val = x.amax((1, 2, 3), keepdim=True)
    y = x + strength * plasma.unsqueeze(1)
    return (y * max_val / (max_val + strength)).clamp_(0, 1)


def spatter_mud(x: torch.Tensor, params: tuple, g: torch.Generator) -> torch.Tensor:
    """The reference spatter's "mud" branch (MNIST-C: gray mud of value 63/255)."""
    loc, scale, sigma, threshold, mask_sigma, _ = params
    n, c, h, w = x.shape
    liquid = ops.gaussian_filter(torch.randn(n, 1, h, w, generator=g) * scale + loc, sigma, "nearest")
    mask = ops.gaussian_filter((liquid > threshold).float(), mask_sigma, "nearest")
    mask = torch.where(mask < 0.8, torch.zeros_like(mask), mask)
    return (x * (1 - mask) + (63 / 255) * mask).clamp_(0, 1)
