"""The first simulated oracle, recipe `noise-reference` (kept to reproduce old results; the
default is the calibrated `perceptual` recipe, app/engine/oracle/perceptual.py).

A reference classifier R, stronger and longer trained than the learner, is trained once per
dataset on the whole training set with a random level from the grid per example and batch,
and cached. The conform level of example i is the largest grid level e such that R classifies
x_i correctly under at least half of m = 8 fixed noise draws at e, and at every smaller level.
The conform levels of the whole training set are cached too.
"""

import math
import time

import torch
import torch.nn.functional as F

from app.engine.cache import atomic_save, building, cache_dir, fingerprint, load_entry
from app.engine.data.dataset import Dataset, to_float
from app.engine.events import Query
from app.engine.oracle.base import Oracle, nearest_grid_level
from app.engine.perturb import perturb, perturb_examples
from app.engine.settings import load_table
from models import build

DRAWS = 8
ORACLE_SEED = 0x5EED0
VERSION = 1  # bump when the reference recipe changes, so old caches are not reused


def _progress(callback, done, total, label):
    if callback is not None:
        callback(done, total, label)


def train_reference(dataset: Dataset, grid: list[float], model_name: str, epochs: int, device, progress=None):
    generator = torch.Generator().manual_seed(ORACLE_SEED)
    torch.manual_seed(ORACLE_SEED)
    model = build(model_name, dataset.num_classes, dataset.in_channels, dataset.image_size).to(device)
    recipe = load_table("reference")  # resources/defaults.toml
    n, batch = len(dataset.train_x), int(recipe["batch_size"])
    steps = epochs * math.ceil(n / batch)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe["lr"], momentum=recipe["momentum"],
                                weight_decay=recipe["weight_decay"], nesterov=True)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe["max_lr"], total_steps=max(steps, 1))
    levels = torch.tensor(grid)
    train_x = dataset.train_x.to(device)
    train_y = dataset.train_y.to(device)
    model.train()
    done = 0
    for epoch in range(epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch):
            ids = order[start : start + batch]
            x = to_float(train_x[ids.to(device)])
            eps = levels[torch.randint(len(grid), (len(ids),), generator=generator)].to(device)
            x = perturb(x, eps, torch.randn(x.shape, generator=generator).to(device))
            loss = F.cross_entropy(model(x), train_y[ids.to(device)])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            done += 1
            if done % 20 == 0 or done == steps:
                _progress(progress, done, steps, f"training the reference model (epoch {epoch + 1}/{epochs})")
    return model.eval()


@torch.no_grad()
def _recognised(model, x, y, ids, level, device) -> torch.Tensor:
    """R recognises each example at `level` under at least half of DRAWS noise draws.

    Draws are taken one at a time for the still-undecided examples only: an example is decided
    once it has DRAWS/2 hits (pass) or more than DRAWS/2 misses (fail), which halves the passes
    without changing any outcome."""
    if level == 0:  # without noise all draws are the same image
        return model(x).argmax(1) == y
    need = math.ceil(DRAWS / 2)
    hits = torch.zeros(len(ids), dtype=torch.long, device=device)
    misses = torch.zeros_like(hits)
    for draw in range(DRAWS):
        open_ = torch.nonzero((hits < need) & (misses <= DRAWS - need)).flatten()
        if len(open_) == 0:
            break
        noisy = perturb_examples(x[open_], ids[open_], level, ORACLE_SEED, draw)
        correct = (model(noisy).argmax(1) == y[open_]).long()
        hits[open_] += correct
        misses[open_] += 1 - correct
    return hits >= need


@torch.no_grad()
def conform_levels(model, dataset: Dataset, grid: list[float], device, progress=None, batch: int = 2000) -> torch.Tensor:
    """ε*_i for every training example. Levels are tried in ascending order and only examples
    that passed every smaller level are tried again, which saves most of the N·|E|·m passes."""
    model.eval()
    n = len(dataset.train_x)
    result = torch.full((n,), grid[0])
    alive = torch.ones(n, dtype=torch.bool)
    for index, level in enumerate(grid):
        ids_alive = torch.nonzero(alive).flatten()
        passed = torch.zeros(len(ids_alive), dtype=torch.bool)
        for start in range(0, len(ids_alive), batch):
            ids = ids_alive[start : start + batch].to(device)
            x = to_float(dataset.train_x[ids.cpu()].to(device))
            y = dataset.train_y[ids.cpu()].to(device)
            passed[start : start + len(ids)] = _recognised(model, x, y, ids, level, device).cpu()
        survivors = ids_alive[passed]
        if index > 0:
            # an example R cannot recognise even at the lowest level keeps that level
            result[survivors] = level
        alive = torch.zeros(n, dtype=torch.bool)
        alive[survivors] = True
        _progress(progress, index + 1, len(grid), f"conform levels (level {level:g})")
        if not alive.any():
            break
    return result


class SimulatedOracle(Oracle):
    name = "simulated"
    recipe = "noise-reference"

    def __init__(self, dataset: Dataset, grid: list[float], model_name: str, epochs: int, device, progress=None):
        self.dataset = dataset
        self.grid = list(grid)
        self.model_name = model_name
        self.epochs = epochs
        self.device = device
        self.progress = progress
        self._levels: torch.Tensor | None = None

    def cache_key(self) -> str:
        return fingerprint(
            VERSION, self.dataset.name, self.dataset.train_x, self.dataset.train_y, self.grid, self.model_name, self.epochs
        )

    def levels(self) -> torch.Tensor:
        """Conform levels of the whole training set (computed once, then read from the cache).
        Several processes (a parallel sweep, DDP ranks) may ask at once: one builds, the
        others wait on the cache lock and then read its file."""
        if self._levels is not None:
            return self._levels
        key = self.cache_key()
        folder = cache_dir("oracle")
        levels_path = folder / f"conform-{key}.pt"
        self._levels = load_entry(levels_path, "levels")
        if self._levels is None:
            with building(folder, f"oracle-{key}"):
                self._levels = load_entry(levels_path, "levels")  # built by another process while we waited?
                if self._levels is None:
                    self._levels = self._build(folder / f"reference-{key}.pt", levels_path)
        return self._levels

    def _build(self, model_path, levels_path) -> torch.Tensor:
        model = build(self.model_name, self.dataset.num_classes, self.dataset.in_channels, self.dataset.image_size)
        try:
            model.load_state_dict(torch.load(model_path, map_location="cpu")["model"])
            model = model.to(self.device).eval()
        except Exception:
            started = time.perf_counter()
            model = train_reference(self.dataset, self.grid, self.model_name, self.epochs, self.device, self.progress)
            atomic_save({"model": model.state_dict(), "seconds": time.perf_counter() - started}, model_path)
        levels = conform_levels(model, self.dataset, self.grid, self.device, self.progress)
        atomic_save({"levels": levels, "grid": self.grid}, levels_path)
        return levels

    def answer(self, queries: list[Query]) -> list[float | None]:
        levels = self.levels()
        # float32 storage: answer with the grid's own numbers (0.2, not 0.20000000298)
        return [nearest_grid_level(self.grid, float(levels[q.example_id])) for q in queries]
