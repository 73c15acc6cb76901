"""Conform levels shipped in resources/data/oracle/: used for exactly the oracle they were made
for, never when its fingerprint (recipe, parameters, dataset, grid) changed."""

from dataclasses import replace

import pytest
import torch

from app.engine.oracle import shipped
from app.engine.oracle.perceptual import perceptual_levels
from app.engine.oracle.recipes import make_simulated_oracle
from app.engine.settings import defaults_for
from tests.helpers import slice_dataset

CPU = torch.device("cpu")


def test_a_shipped_file_is_used_only_for_its_exact_oracle(small, tmp_path, monkeypatch):
    small = slice_dataset(small, 80, 10)
    monkeypatch.setattr(shipped, "shipped_folder", lambda: tmp_path)
    settings = defaults_for("gray")
    made = make_simulated_oracle(small, settings, CPU)
    assert made._levels is None  # nothing shipped yet for this slice
    marked = torch.full((len(small.train_x),), settings.grid[7])  # no real image gets 0.7 everywhere
    shipped.write_shipped_levels(made.recipe, made.cache_key(), settings.grid, marked)

    oracle = make_simulated_oracle(small, settings, CPU)
    assert torch.equal(oracle.levels(), marked)  # read, not computed

    changed = make_simulated_oracle(small, replace(settings, oracle_tau=0.9), CPU)  # another fingerprint
    assert changed.cache_key() != made.cache_key() and changed._levels is None
    assert not torch.equal(changed.levels(), marked)  # computed, as without the file

    # a file renamed to another key is refused: the key inside must match
    (tmp_path / shipped.file_name(made.recipe, made.cache_key())).rename(tmp_path / shipped.file_name(changed.recipe, changed.cache_key()))
    assert make_simulated_oracle(small, replace(settings, oracle_tau=0.9), CPU)._levels is None
    (tmp_path / shipped.file_name(changed.recipe, changed.cache_key())).write_bytes(b"damaged")
    assert shipped.load_shipped_levels(changed.recipe, changed.cache_key(), settings.grid, tmp_path) is None


def test_the_shipped_levels_are_todays_default_oracle_on_the_embedded_set(embedded):
    """Fails after a change to the default recipe until the file is made again:
    python resources/data/make_oracle_levels.py"""
    settings = defaults_for(embedded.family)
    oracle = make_simulated_oracle(embedded, settings, CPU)
    assert oracle._levels is not None, "stale or missing resources/data/oracle file: run python resources/data/make_oracle_levels.py"
    if settings.oracle_recipe == "perceptual":  # a pure function of each example: check a slice
        ids = torch.arange(120)
        computed = perceptual_levels(embedded.train_x[:120], ids, settings.grid, settings.oracle_tau, settings.oracle_blur)
        assert torch.equal(oracle.levels()[:120], computed)


@pytest.mark.parametrize("levels", [torch.tensor([0.0, 0.3, 1.0, 0.5])])
def test_levels_round_trip_as_grid_indices(levels, tmp_path):
    grid = [round(0.1 * i, 1) for i in range(11)]
    path = shipped.write_shipped_levels("perceptual", "k", grid, levels, folder=tmp_path)
    assert path.stat().st_size < 2000
    assert torch.equal(shipped.load_shipped_levels("perceptual", "k", grid, tmp_path), levels)
    with pytest.raises(ValueError):
        shipped.write_shipped_levels("perceptual", "k", grid, torch.tensor([0.25]), folder=tmp_path)
