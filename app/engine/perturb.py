"""Gaussian perturbation with per-example levels and per-example noise seeds.

`x̃ = clamp(x + ε_i · ξ_i, 0, 1)` for a whole batch at once. Two noise sources:

* `example_noise(ids, ...)`: ξ_i is a pure function of (seed, example id, draw), computed by a
  counter-based hash on tensors. The query panel, the simulated oracle, pool scoring and the
  robustness curve use it: the expert sees one noise pattern scaled to every level, and a
  result never depends on batch order or on which examples share a batch.
* training uses `torch.randn` from the epoch's generator (cheaper; reproducible per epoch).
"""

import math

import torch

_MASK = 0xFFFFFFFF


def _fmix32(h: torch.Tensor) -> torch.Tensor:
    """MurmurHash3's 32-bit finaliser on int64 tensors (products wrap; the mask keeps 32 bits)."""
    h = h & _MASK
    h = h ^ (h >> 16)
    h = (h * 0x85EBCA6B) & _MASK
    h = h ^ (h >> 13)
    h = (h * 0xC2B2AE35) & _MASK
    return h ^ (h >> 16)


def example_keys(ids: torch.Tensor, seed: int, draw: int | torch.Tensor = 0) -> torch.Tensor:
    """One 32-bit key per (seed, example, draw)."""
    ids = ids.long()
    key = _fmix32(ids * 0x9E3779B1 + (seed & _MASK))
    draw_t = torch.as_tensor(draw, dtype=torch.long, device=ids.device)
    return _fmix32(key ^ _fmix32(draw_t * 0x85EBCA77 + 0x27D4EB2F))


def example_noise(
    ids: torch.Tensor, shape: tuple[int, ...], seed: int, draw: int | torch.Tensor = 0
) -> torch.Tensor:
    """Standard normal noise (len(ids), *shape): the same for the same (seed, id, draw)."""
    numel = math.prod(shape)
    pairs = (numel + 1) // 2
    keys = example_keys(ids, seed, draw).unsqueeze(1)  # (B, 1)
    j = torch.arange(pairs, dtype=torch.long, device=ids.device).unsqueeze(0)  # (1, P)
    h1 = _fmix32(keys + j * 0x9E3779B9)
    h2 = _fmix32(h1 ^ 0x5BD1E995)
    # (h + 0.5) / 2^32 lies in (0, 1): log never sees 0
    u1 = (h1.to(torch.float32) + 0.5) * (1.0 / 4294967296.0)
    u2 = (h2.to(torch.float32) + 0.5) * (1.0 / 4294967296.0)
    radius = torch.sqrt(-2.0 * torch.log(u1))
    angle = (2.0 * math.pi) * u2
    normal = torch.cat((radius * torch.cos(angle), radius * torch.sin(angle)), dim=1)[:, :numel]
    return normal.reshape(len(ids), *shape)


def perturb(x: torch.Tensor, levels: torch.Tensor | float, noise: torch.Tensor) -> torch.Tensor:
    """clamp(x + ε·ξ, 0, 1) with ε a scalar or one level per example."""
    if not torch.is_tensor(levels):
        return (x + levels * noise).clamp_(0.0, 1.0)
    return torch.addcmul(x, levels.to(x.dtype).view(-1, *([1] * (x.ndim - 1))), noise).clamp_(0.0, 1.0)


def perturb_examples(
    x: torch.Tensor, ids: torch.Tensor, levels: torch.Tensor | float, seed: int, draw: int | torch.Tensor = 0
) -> torch.Tensor:
    """Perturb a batch with each example's own seeded noise pattern."""
    noise = example_noise(ids.to(x.device), tuple(x.shape[1:]), seed, draw)
    return perturb(x, levels, noise)


def candidate_images(x: torch.Tensor, example_id: int, grid: list[float], seed: int) -> torch.Tensor:
    """One example (C, H, W) at every level of the grid with one noise pattern: (len(grid), C, H, W).
    This is what the expert is shown; images differ only in noise strength."""
    noise = example_noise(torch.tensor([example_id]), tuple(x.shape), seed)
    levels = torch.tensor(grid, dtype=x.dtype)
    return perturb(x.unsqueeze(0).expand(len(grid), *x.shape), levels, noise.expand(len(grid), *x.shape))
