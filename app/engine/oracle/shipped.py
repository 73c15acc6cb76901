"""Conform levels shipped in resources/data/oracle/, so a first run (and the packaged
executable's first query) never waits for the simulated oracle's reference model.

What is shipped is what every machine would compute identically for the embedded dataset:
one grid index per training example (uint8), named and checked by the oracle's cache key,
which covers its recipe version, the dataset's content, the grid and the reference settings.
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


def file_name(oracle_name: str, key: str) -> str:
    return f"{oracle_name}-{key}.pt"


def load_shipped_levels(oracle_name: str, key: str, grid: list[float], folder: Path | None = None) -> torch.Tensor | None:
    """The shipped levels for this oracle and key, or None (absent, stale or unreadable)."""
    path = (folder or shipped_folder()) / file_name(oracle_name, key)
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("key") != key or payload.get("oracle") != oracle_name or list(payload["grid"]) != list(grid):
            return None  # renamed by hand, or made for another grid: never trust the name alone
        index = payload["index"].long()
        if index.numel() and int(index.max()) >= len(grid):
            return None
        return torch.tensor(grid, dtype=torch.float32)[index]
    except Exception:
        return None  # a damaged file costs the computation, never a wrong level


def write_shipped_levels(oracle_name: str, key: str, grid: list[float], levels: torch.Tensor,
                         folder: Path | None = None, recipe: str = "") -> Path:
    """Write the levels as grid indices; older files of the same oracle are removed."""
    folder = folder or shipped_folder()
    folder.mkdir(parents=True, exist_ok=True)
    grid_t = torch.tensor(grid, dtype=torch.float32)
    index = (levels.float().reshape(-1, 1) - grid_t.reshape(1, -1)).abs().argmin(1).to(torch.uint8)
    if not torch.equal(grid_t[index.long()], levels.float()):
        raise ValueError("levels off the grid cannot be shipped as grid indices")
    for old in folder.glob(file_name(oracle_name, "*")):
        old.unlink()
    path = folder / file_name(oracle_name, key)
    torch.save({"oracle": oracle_name, "key": key, "grid": list(grid), "index": index, "recipe": recipe}, path)
    return path
