"""Conform levels shipped in resources/data/oracle/, so a first run (and the packaged
executable's first query) never waits for the simulated oracle's reference model.

What is shipped is what every machine would compute identically for the embedded dataset:
one grid index per training example (uint8), named by the oracle's recipe and checked by its
cache key, which covers the recipe's version and parameters, the dataset's content and the grid.
Any change to one of them gives another key: the file is then simply not found, and the
oracle computes (and caches) its levels as before, so a stale file is never used.

Regenerate after changing the oracle's recipe:  python resources/data/make_oracle_levels.py
"""

from pathlib import Path

import torch

FOLDER = ("data", "oracle")


def shipped_folder() -> Path:
    from app.resources import resources_dir

    return resources_dir().joinpath(*FOLDER)


def file_name(recipe: str, key: str) -> str:
    return f"{recipe}-{key}.pt"


def load_shipped_levels(recipe: str, key: str, grid: list[float], folder: Path | None = None) -> torch.Tensor | None:
    """The shipped levels for this oracle and key, or None (absent, stale or unreadable)."""
    path = (folder or shipped_folder()) / file_name(recipe, key)
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("key") != key or payload.get("recipe") != recipe or list(payload["grid"]) != list(grid):
            return None  # renamed by hand, or made for another grid: never trust the name alone
        index = payload["index"].long()
        if index.numel() and int(index.max()) >= len(grid):
            return None
        return torch.tensor(grid, dtype=torch.float32)[index]
    except Exception:
        return None  # a damaged file costs the computation, never a wrong level


def use_shipped_levels(oracle) -> bool:
    """Give `oracle` its shipped levels when there are any for its recipe and cache key. Works
    for every recipe: an oracle exposes `recipe`, `grid`, `dataset`, `cache_key()` and keeps its
    computed levels in `_levels`, which `levels()` returns once set."""
    levels = load_shipped_levels(oracle.recipe, oracle.cache_key(), oracle.grid)
    if levels is None or len(levels) != len(oracle.dataset.train_x):
        return False
    oracle._levels = levels
    return True


def write_shipped_levels(recipe: str, key: str, grid: list[float], levels: torch.Tensor,
                         folder: Path | None = None, note: str = "") -> Path:
    """Write the levels as grid indices; older files of the same recipe are removed."""
    folder = folder or shipped_folder()
    folder.mkdir(parents=True, exist_ok=True)
    grid_t = torch.tensor(grid, dtype=torch.float32)
    index = (levels.float().reshape(-1, 1) - grid_t.reshape(1, -1)).abs().argmin(1).to(torch.uint8)
    if not torch.equal(grid_t[index.long()], levels.float()):
        raise ValueError("levels off the grid cannot be shipped as grid indices")
    for old in folder.glob(file_name(recipe, "*")):
        old.unlink()
    path = folder / file_name(recipe, key)
    torch.save({"recipe": recipe, "key": key, "grid": list(grid), "index": index, "note": note}, path)
    return path
