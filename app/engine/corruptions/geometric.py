"""Geometric corruptions: MNIST-C's shear, scale, rotate, translate and the elastic transform."""

import math

import torch

from app.engine.corruptions import ops


def _about_centre(a: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """(N, 2, 2) linear parts → (N, 2, 3) inverse maps that keep the image centre fixed.

    MNIST-C builds skimage AffineTransforms whose translation is centre·(1 − a1 − a2), i.e.
    the matrix maps the centre (13.5, 13.5) to itself.
    """
    centre = torch.tensor([(w - 1) / 2, (h - 1) / 2], dtype=a.dtype)
    t = centre - a @ centre
    return torch.cat((a, t.unsqueeze(-1)), -1)


def _random_signs(n: int, g: torch.Generator) -> torch.Tensor:
    return torch.randint(0, 2, (n,), generator=g).double() * 2 - 1


def shear(x: torch.Tensor, amount: float, g: torch.Generator) -> torch.Tensor:
    """skimage AffineTransform(shear=±amount) as warp's inverse map: [[1, −sin s], [0, cos s]]."""
    n, _, h, w = x.shape
    s = amount * _random_signs(n, g)
    a = torch.zeros(n, 2, 2, dtype=torch.float64)
    a[:, 0, 0] = 1
    a[:, 0, 1] = -torch.sin(s)
    a[:, 1, 1] = torch.cos(s)
    return ops.warp_inverse(x, _about_centre(a, h, w), "zeros")


def rotate(x: torch.Tensor, angle: float, g: torch.Generator) -> torch.Tensor:
    n, _, h, w = x.shape
    r = angle * _random_signs(n, g)
    a = torch.stack((torch.cos(r), -torch.sin(r), torch.sin(r), torch.cos(r)), -1).view(n, 2, 2)
    return ops.warp_inverse(x, _about_centre(a, h, w), "zeros")


def scale(x: torch.Tensor, factor: float, g: torch.Generator) -> torch.Tensor:
    """Inverse map scaled by `factor` (1/0.7 in MNIST-C): the digit shrinks about the centre."""
    n, _, h, w = x.shape
    a = (torch.eye(2, dtype=torch.float64) * factor).expand(n, 2, 2)
    return ops.warp_inverse(x, _about_centre(a, h, w), "zeros")


def translate(x: torch.Tensor, pixels: float, g: torch.Generator) -> torch.Tensor:
    """Shift by ±pixels in x and in y (random signs, drawn per image)."""
    n = x.shape[0]
    signs = torch.randint(0, 2, (n, 2), generator=g) * 2 - 1
    m = torch.zeros(n, 2, 3, dtype=torch.float64)
    m[:, 0, 0] = m[:, 1, 1] = 1
    m[:, :, 2] = pixels * signs
    return ops.warp_inverse(x, m, "zeros")


def _affine_from_points(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """cv2.getAffineTransform for a batch: (N, 3, 2) point sets → (N, 2, 3) maps src → dst."""
    ones = torch.ones(*src.shape[:-1], 1, dtype=src.dtype)
    return torch.linalg.solve(torch.cat((src, ones), -1), dst).transpose(1, 2)


def _invert_affine(m: torch.Tensor) -> torch.Tensor:
    a_inv = torch.linalg.inv(m[:, :, :2])
    return torch.cat((a_inv, -(a_inv @ m[:, :, 2:])), -1)


def elastic_transform(x: torch.Tensor, params: tuple, g: torch.Generator) -> torch.Tensor:
    """The reference elastic transform; params are fractions of the image size (α, σ, affine)."""
    n, _, h, w = x.shape
    size = h  # the reference scales by its (square) IMSIZE
    alpha, sigma, affine = (p * size for p in params)
    # random affine from three jittered points, warped with BORDER_REFLECT_101
    cy, cx = float(h // 2), float(w // 2)
    sq = float(min(h, w) // 3)
    src = torch.tensor([[cy + sq, cx + sq], [cy + sq, cx - sq], [cy - sq, cx - sq]], dtype=torch.float64)
    src = src.expand(n, 3, 2)
    dst = src + (torch.rand(n, 3, 2, generator=g, dtype=torch.float64) * 2 - 1) * affine
    y = ops.warp_inverse(x, _invert_affine(_affine_from_points(src, dst)), "mirror")
    if alpha == 0:
        return y
    # smooth random displacement fields, sampled with scipy's 'reflect' border
    noise = torch.rand(n, 2, h, w, generator=g) * 2 - 1
    disp = ops.gaussian_filter(noise, sigma, "reflect", truncate=3.0) * alpha
    cols, rows = ops.base_grid(h, w)
    return ops.sample(y, cols + disp[:, 0], rows + disp[:, 1], "reflect")
