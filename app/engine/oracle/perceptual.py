"""The calibrated simulated expert (recipe `perceptual`, the default): a model of a person.

A person names an item under noise as long as its shape still stands out of the noise. The
recipe measures exactly that on the images the expert would be shown: for example i at level e,
the Pearson correlation between the clean image and the perturbed one, both seen through a
small Gaussian blur (the eye integrates neighbouring pixels of the enlarged view, so the
fine-grained noise is partly averaged out while the item's shape stays), averaged over DRAWS
noise patterns of the expert view. ε*_i is the largest grid level at which that similarity is
still ≥ τ, and at every smaller level too.

Why this and not a classifier: the first recipe's reference network recognised 73% of
Fashion-MNIST at σ = 1.0, far beyond what a person reports (hand-given answers: mean 0.36,
all within 0.1–0.7). The similarity needs no training, depends only on the image and the
noise, so dark, thin and small items (little signal) get low levels and large bright ones
high levels, as the hand-given answers do; it applies to any perturbation family with a
monotone level, since it is measured on the perturbed images themselves.

Two free parameters, each fitted on hand-given answers by `benchmarks/calibrate_oracle.py`
(cross-validated; the fitted values are the defaults in resources/defaults.toml):
`oracle_tau` (the similarity threshold) and `oracle_blur` (the blur's σ in pixels).
The result is a pure function of (images, example ids, grid, τ, blur) and is cached.
"""

import math

import torch
from torchvision.transforms.functional import gaussian_blur

from app.engine.cache import atomic_save, building, cache_dir, fingerprint, load_entry
from app.engine.data.dataset import Dataset, to_float
from app.engine.events import Query
from app.engine.oracle.base import Oracle, nearest_grid_level
from app.engine.perturb import example_noise, perturb

RECIPE = "perceptual"
VERSION = 1  # bump when the recipe's arithmetic changes, so old caches are not reused
DRAWS = 8  # noise patterns averaged per level: enough for a stable mean (±0.01 in similarity)
VIEW_SEED = 0  # the expert view's noise seed of a seed-0 run, at which the calibration answers were given
BATCH = 2048


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma <= 0:
        return x
    size = 2 * math.ceil(3 * sigma) + 1
    return gaussian_blur(x, [size, size], [sigma, sigma])


def _centred(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    flat = x.flatten(1)
    flat = flat - flat.mean(1, keepdim=True)
    return flat, flat.norm(dim=1)


@torch.no_grad()
def similarity(x: torch.Tensor, ids: torch.Tensor, level: float, blur: float, draws: int = DRAWS, seed: int = VIEW_SEED) -> torch.Tensor:
    """Mean over `draws` noise patterns of corr(blur(x), blur(perturb(x, level))), one per example.
    A blank image (no structure at all) has similarity 0: nothing to recognise."""
    ref, ref_norm = _centred(_blur(x, blur))
    total = torch.zeros(len(x))
    for draw in range(draws):
        noise = example_noise(ids, tuple(x.shape[1:]), seed, draw)
        seen, seen_norm = _centred(_blur(perturb(x.clone(), level, noise), blur))
        denominator = ref_norm * seen_norm
        corr = (ref * seen).sum(1) / denominator.clamp_min(1e-12)
        total += torch.where(denominator > 1e-12, corr, torch.zeros(()))
    return total / draws


@torch.no_grad()
def perceptual_levels(images: torch.Tensor, ids: torch.Tensor, grid: list[float], tau: float, blur: float,
                      progress=None, label: str = "conform levels") -> torch.Tensor:
    """ε* for uint8 images (N, C, H, W) with example ids (N,). Levels are tried in ascending
    order, and only examples that passed every smaller level are tried again."""
    result = torch.full((len(images),), float(grid[0]))
    for start in range(0, len(images), BATCH):
        x_all = to_float(images[start : start + BATCH].cpu())
        id_all = ids[start : start + BATCH].cpu()
        alive = torch.arange(len(x_all))
        for level in grid:
            if level > 0:  # at level 0 the view is the clean image itself
                passed = similarity(x_all[alive], id_all[alive], level, blur) >= tau
                alive = alive[passed]
            if len(alive) == 0:
                break
            result[start + alive] = float(level)
        if progress is not None:
            progress(min(start + BATCH, len(images)), len(images), label)
    return result


class PerceptualOracle(Oracle):
    """The simulated expert of recipe `perceptual` (see the module docstring)."""

    name = "simulated"
    recipe = RECIPE

    def __init__(self, dataset: Dataset, grid: list[float], tau: float, blur: float, progress=None):
        self.dataset = dataset
        self.grid = list(grid)
        self.tau = float(tau)
        self.blur = float(blur)
        self.progress = progress
        self._levels: torch.Tensor | None = None

    def cache_key(self) -> str:
        return fingerprint(RECIPE, VERSION, DRAWS, VIEW_SEED, self.dataset.train_x, self.grid, self.tau, self.blur)

    def levels(self) -> torch.Tensor:
        """Conform levels of the whole training set (computed once, then read from the cache)."""
        if self._levels is None:
            ids = torch.arange(len(self.dataset.train_x))
            self._levels = self._cached("train", self.dataset.train_x, ids)
        return self._levels

    def test_levels(self) -> torch.Tensor:
        """Conform levels of the test images (for the Conform row). Their ids continue past the
        training set, so their noise patterns differ from every training example's."""
        ids = torch.arange(len(self.dataset.test_x)) + len(self.dataset.train_x)
        return self._cached("test", self.dataset.test_x, ids)

    def _cached(self, split: str, images: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        key = self.cache_key() if split == "train" else fingerprint(self.cache_key(), images)
        path = cache_dir("oracle") / f"conform-{RECIPE}-{'' if split == 'train' else 'test-'}{key}.pt"
        levels = load_entry(path, "levels")
        if levels is None:
            # several processes (a parallel sweep, DDP ranks) may ask at once: one computes
            with building(path.parent, path.stem):
                levels = load_entry(path, "levels")  # computed by another process while we waited?
                if levels is None:
                    levels = perceptual_levels(images, ids, self.grid, self.tau, self.blur, self.progress)
                    atomic_save({"levels": levels, "grid": self.grid, "recipe": RECIPE, "tau": self.tau, "blur": self.blur}, path)
        return levels

    def answer(self, queries: list[Query]) -> list[float | None]:
        levels = self.levels()
        return [nearest_grid_level(self.grid, float(levels[q.example_id])) for q in queries]
