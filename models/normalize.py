"""Models take images in [0, 1] and normalise inside themselves (METHOD.md): perturbations,
oracles and exported programs then all speak the same pixel scale."""

import torch
from torch import nn


class Normalize(nn.Module):
    def __init__(self, mean: list[float], std: list[float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std
