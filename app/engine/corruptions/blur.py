"""Blur corruptions: defocus, glass, motion and zoom blur."""

import math
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from app.engine.corruptions import ops


def disk_kernel(radius: float, alias_blur: float) -> torch.Tensor:
    """The reference `disk`: an aliased disk, normalised, then cv2.GaussianBlur-ed to antialias it."""
    if radius <= 8:
        half, ksize = 8, 3
    else:
        half, ksize = int(radius), 5
    coords = torch.arange(-half, half + 1, dtype=torch.float64)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    disk = ((xx ** 2 + yy ** 2) <= radius ** 2).double()
    disk /= disk.sum()
    # cv2.getGaussianKernel(ksize, sigma) and BORDER_REFLECT_101 ('mirror')
    t = torch.arange(ksize, dtype=torch.float64) - (ksize - 1) / 2
    g = torch.exp(-(t ** 2) / (2 * alias_blur ** 2))
    g /= g.sum()
    kernel = ops.correlate_separable(disk.view(1, 1, *disk.shape), g, g, "mirror")[0, 0]
    # crop the all-zero border so the convolution costs only the kernel's real support
    nz = (kernel.abs() > 1e-12).nonzero()
    r = int(max(nz[:, 0].sub(half).abs().max(), nz[:, 1].sub(half).abs().max())) if len(nz) else 0
    return kernel[half - r:half + r + 1, half - r:half + r + 1].float()


def defocus_blur(x: torch.Tensor, params: tuple, g: torch.Generator) -> torch.Tensor:
    radius, alias_blur = params
    k = disk_kernel(radius, alias_blur)
    r = k.shape[0] // 2
    c = x.shape[1]
    y = ops.pad2d(x, r, r, r, r, "mirror")  # cv2.filter2D's default border
    # depthwise, channels-last: the fastest CPU path for a small 2-D kernel
    weight = k.view(1, 1, *k.shape).expand(c, 1, *k.shape).contiguous()
    y = F.conv2d(y.contiguous(memory_format=torch.channels_last), weight, groups=c)
    return y.contiguous()


def _shuffle_copy(x: torch.Tensor, delta: int, g: torch.Generator) -> torch.Tensor:
    """The reference pixel shuffle on colour (H, W, 3) arrays, where `a[h,w], a[h',w'] = a[h',w'], a[h,w]`
    on numpy views only *copies* the neighbour into (h, w).

    The reference visits rows bottom-up and columns right-to-left; we process one row at a
    time for the whole batch: rows below are already final, and a neighbour to the right
    in the same row (dx > 0) is the *new* value there, which we resolve by pointer jumping.
    This reproduces the sequential result exactly.
    """
    n, c, h, w = x.shape
    rows = list(range(h - delta, delta, -1))
    cols = torch.arange(w - delta, delta, -1)  # processing order within a row
    if not rows or len(cols) == 0:
        return x
    nw = len(cols)
    dx_all = torch.randint(-delta, delta, (n, len(rows), nw), generator=g)
    dy_all = torch.randint(-delta, delta, (n, len(rows), nw), generator=g)
    cur = x.clone().reshape(n, c, h * w)
    if delta == 1:
        # offsets in {-1, 0}: every source is above/left of its target, i.e. not yet visited, so
        # the sequential scan equals one parallel gather from the unmodified image
        rows_t = torch.tensor(rows).view(1, -1, 1)
        src = (rows_t + dy_all) * w + (cols.view(1, 1, -1) + dx_all)
        dst = (rows_t * w + cols.view(1, 1, -1)).expand(n, -1, -1)
        flat = x.reshape(n, c, h * w)
        cur.scatter_(2, dst.reshape(n, 1, -1).expand(n, c, -1),
                     flat.gather(2, src.reshape(n, 1, -1).expand(n, c, -1)))
        return cur.view(n, c, h, w)
    k_index = torch.arange(nw)
    steps = max(1, math.ceil(math.log2(nw)) + 1)
    for ri, row in enumerate(rows):
        dx, dy = dx_all[:, ri], dy_all[:, ri]
        src = (row + dy) * w + (cols.view(1, -1) + dx)
        tentative = cur.gather(2, src.view(n, 1, nw).expand(n, c, nw))
        # cols run right-to-left, so the pixel dx to the right sits dx positions earlier in `cols`
        points = (dy == 0) & (dx > 0) & (cols.view(1, -1) + dx <= w - delta)
        target = torch.where(points, k_index.view(1, -1) - dx, k_index.view(1, -1))
        for _ in range(steps):
            target = target.gather(1, target)
        values = tentative.gather(2, target.view(n, 1, nw).expand(n, c, nw))
        cur[:, :, row * w + cols] = values
    return cur.view(n, c, h, w)


def _shuffle_swap(x: torch.Tensor, delta: int, p: float, g: torch.Generator) -> torch.Tensor:
    """MNIST-C's shuffle on 2-D gray arrays, where the tuple assignment is a true swap, each
    applied with probability p. Swaps chain along the scan, so we run the scan in order,
    vectorised over the batch (28×28 images: ~700 small steps)."""
    n, c, h, w = x.shape
    positions = [(r, q) for r in range(h - delta, delta, -1) for q in range(w - delta, delta, -1)]
    count = len(positions)
    chosen = torch.rand(n, count, generator=g) < p
    dx = torch.randint(-delta, delta, (n, count), generator=g)
    dy = torch.randint(-delta, delta, (n, count), generator=g)
    flat = x.clone().reshape(n, c, h * w)
    for t, (r, q) in enumerate(positions):
        here = r * w + q
        there = ((r + dy[:, t]) * w + (q + dx[:, t])).view(n, 1, 1).expand(n, c, 1)
        a = flat[:, :, here].clone()
        b = flat.gather(2, there).squeeze(2)
        sel = chosen[:, t].view(n, 1)
        flat[:, :, here] = torch.where(sel, b, a)
        flat.scatter_(2, there, torch.where(sel, a, flat.gather(2, there).squeeze(2)).unsqueeze(2))
    return flat.view(n, c, h, w)


def glass_blur(x: torch.Tensor, params: tuple, g: torch.Generator, swap_p: float | None = None) -> torch.Tensor:
    """Gaussian blur, uint8, local pixel shuffle `iterations` times, Gaussian blur again.

    swap_p=None: the CIFAR/Tiny-ImageNet variant (copy, every pixel); a number: the
    MNIST-C variant (true swap with that probability).
    """
    sigma, delta, iterations = params
    y = torch.floor(ops.gaussian_filter(x, sigma, "nearest").clamp(0, 1) * 255) / 255
    for _ in range(int(iterations)):
        y = _shuffle_copy(y, int(delta), g) if swap_p is None else _shuffle_swap(y, int(delta), swap_p, g)
    return ops.gaussian_filter(y, sigma, "nearest")


def motion_blur(x: torch.Tensor, params: tuple, g: torch.Generator) -> torch.Tensor:
    radius, sigma = params
    angles = torch.rand(x.shape[0], generator=g, dtype=torch.float64) * 90 - 45
    # ImageMagick writes its result back into a uint8 image (rounded)
    return torch.round(ops.motion_blur(x, radius, sigma, angles).clamp_(0, 1) * 255) / 255


def zoom_factors(stop: float, step: float = 0.01) -> list[float]:
    # numpy's arange, as the reference writes it (float steps decide the count)
    return [float(z) for z in np.arange(1, stop, step)]


@lru_cache(maxsize=32)
def _zoom_operator(h: int, w: int, factors: tuple) -> tuple[torch.Tensor | None, list]:
    """Zoom blur as one (HW, HW) matrix for small images (one matmul), else the list of
    distinct per-axis (rows, cols) zoom matrices with their multiplicities."""
    terms: dict = {}
    for z in factors:
        key = (round(z, 12),)
        if key not in terms:
            terms[key] = [ops.clipped_zoom_matrix(h, z), ops.clipped_zoom_matrix(w, z), 0]
        terms[key][2] += 1
    eye_h, eye_w = torch.eye(h), torch.eye(w)
    pieces = [(eye_h, eye_w, 1)]  # the image itself is part of the average
    for a, b, count in terms.values():
        if torch.equal(a, eye_h) and torch.equal(b, eye_w):
            pieces[0] = (eye_h, eye_w, pieces[0][2] + count)
        else:
            pieces.append((a, b, count))
    if h * w <= 1024:
        a = torch.stack([p[0] for p in pieces])
        b = torch.stack([p[1] for p in pieces])
        weights = torch.tensor([float(p[2]) for p in pieces])
        # Σ count · kron(A, B): the operator on row-major flattened images
        full = torch.einsum("z,zij,zkl->ikjl", weights, a, b).reshape(h * w, h * w) / (len(factors) + 1)
        return full, []
    return None, pieces


def zoom_blur(x: torch.Tensor, factors: list[float], g: torch.Generator) -> torch.Tensor:
    """Mean of the image and its clipped zooms: a fixed linear operator, applied by matmul."""
    n, c, h, w = x.shape
    full, pieces = _zoom_operator(h, w, tuple(factors))
    if full is not None:
        return (x.reshape(n * c, h * w) @ full.T).reshape(n, c, h, w)
    out = torch.zeros_like(x)
    for a, b, count in pieces:
        out += count * (a @ x @ b.T)
    return out / (len(factors) + 1)
