"""The default simulated expert answers like the person who gave the calibration answers."""

import torch

from app.engine.oracle import PerceptualOracle, SimulatedOracle, make_simulated_oracle
from app.engine.oracle.calibration import agreement, cross_validate, levels_at_threshold, load_calibration
from app.engine.oracle.perceptual import perceptual_levels, similarity
from app.engine.data.dataset import to_float
from app.engine.settings import defaults_for
from tests.helpers import GRID, slice_dataset


def similarity_table(images, ids, blur):
    x = to_float(images)
    return torch.stack([similarity(x, ids, level, blur) if level else torch.ones(len(x)) for level in GRID], 1)


def test_the_default_expert_meets_its_targets_on_answers_it_was_not_fitted_on(embedded):
    calibration = load_calibration()
    settings = defaults_for("gray")
    table = similarity_table(embedded.train_x[calibration.embedded_ids], calibration.embedded_ids, settings.oracle_blur)
    predicted, chosen = cross_validate({settings.oracle_blur: table}, calibration.levels, GRID, folds=10)
    stats = agreement(predicted, calibration.levels)
    assert abs(stats["mean_predicted"] - stats["mean_answers"]) <= 0.05
    assert stats["mae"] <= 0.07
    assert stats["rank_correlation"] >= 0.6
    # the shipped τ is the one fitted on all answers, and the folds' own fits lie close to it
    assert all(abs(tau - settings.oracle_tau) < 0.02 for _, tau in chosen)
    in_sample = levels_at_threshold(table, GRID, settings.oracle_tau)
    assert float((in_sample - calibration.levels).abs().mean()) <= 0.065


def test_levels_are_graded_like_a_persons_and_rarely_at_either_end(embedded):
    settings = defaults_for("gray")
    part = slice_dataset(embedded, 500, 10)
    levels = PerceptualOracle(part, settings.grid, settings.oracle_tau, settings.oracle_blur).levels()
    assert {round(v, 6) for v in levels.unique().tolist()} <= set(settings.grid)
    assert float((levels == settings.grid[0]).float().mean()) <= 0.10
    assert float((levels == settings.grid[-1]).float().mean()) <= 0.10
    assert 0.25 < float(levels.mean()) < 0.5  # hand-given answers: mean 0.36
    # a dimmer copy of the same items is harder to see: never a higher level, mostly a lower one
    dim = (part.train_x.float() * 0.4).round().to(torch.uint8)
    dim_levels = perceptual_levels(dim, torch.arange(len(dim)), settings.grid, settings.oracle_tau, settings.oracle_blur)
    assert bool((dim_levels <= levels + 1e-6).all()) and float((dim_levels < levels).float().mean()) > 0.8


def test_a_blank_image_is_never_recognised():
    blank = torch.zeros(3, 1, 28, 28, dtype=torch.uint8)
    blank[1] = 200  # uniform grey: no shape either
    levels = perceptual_levels(blank, torch.arange(3), GRID, 0.9, 1.0)
    assert levels.tolist() == [0.0, 0.0, 0.0]


def test_levels_are_a_pure_cached_function_of_the_images_and_parameters(small, tmp_path, monkeypatch):
    monkeypatch.setenv("AQPL_CACHE_DIR", str(tmp_path))
    first = PerceptualOracle(small, GRID, 0.92, 1.0)
    levels = first.levels()
    assert len(list((tmp_path / "oracle").glob("conform-perceptual-*.pt"))) == 1
    again = PerceptualOracle(small, GRID, 0.92, 1.0)
    assert torch.equal(again.levels(), levels)
    assert len(list((tmp_path / "oracle").glob("conform-perceptual-*.pt"))) == 1  # read, not recomputed
    stricter = PerceptualOracle(small, GRID, 0.96, 1.0)
    assert stricter.cache_key() != first.cache_key()
    assert bool((stricter.levels() <= levels).all()) and float(stricter.levels().mean()) < float(levels.mean())


def test_the_recipe_is_a_setting_and_the_old_one_stays_available(small):
    settings = defaults_for("gray")
    assert settings.oracle_recipe == "perceptual"
    assert isinstance(make_simulated_oracle(small, settings, torch.device("cpu")), PerceptualOracle)
    old = defaults_for("gray", oracle_recipe="noise-reference")
    oracle = make_simulated_oracle(small, old, torch.device("cpu"))
    assert isinstance(oracle, SimulatedOracle) and oracle.recipe == "noise-reference"
