"""Noise corruptions: Gaussian, shot (Poisson) and impulse (salt-and-pepper).

Each function takes float images in [0, 1] (N, C, H, W), its severity parameter and a
torch.Generator, and returns float images (clipped by the caller's uint8 conversion).
"""

import torch


def gaussian_noise(x: torch.Tensor, sigma: float, g: torch.Generator) -> torch.Tensor:
    return (x + sigma * torch.randn(x.shape, generator=g)).clamp_(0, 1)


def shot_noise(x: torch.Tensor, lam: float, g: torch.Generator) -> torch.Tensor:
    return (torch.poisson(x * lam, generator=g) / lam).clamp_(0, 1)


def impulse_noise(x: torch.Tensor, amount: float, g: torch.Generator) -> torch.Tensor:
    """skimage's random_noise(mode='s&p'): each value (channels independently) flips with p=amount,
    to 1 or 0 with equal odds."""
    flipped = torch.rand(x.shape, generator=g) <= amount
    salt = torch.rand(x.shape, generator=g) <= 0.5
    return torch.where(flipped, salt.to(x.dtype), x)
