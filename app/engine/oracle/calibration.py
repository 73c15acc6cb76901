"""Hand-given conform levels, and how well a simulated expert agrees with them.

The calibration set (resources/human/calibration.csv) holds one annotator's answers on the
embedded Fashion-MNIST subset. The agreement measures are the ones the simulated expert is held
to (docs/method.md, "Oracles"): the mean, the mean absolute difference per example, the rank
correlation (Spearman), and the shares of answers exactly right and within one grid step.
Parameters are always scored on answers they were not fitted on (k-fold cross-validation).
"""

import csv
from dataclasses import dataclass
from pathlib import Path

import torch

from app.errors import AQPLError


@dataclass(frozen=True)
class Calibration:
    embedded_ids: torch.Tensor  # (n,) ids in the embedded training set
    fashion_mnist_ids: torch.Tensor  # (n,) ids of the same images in the full Fashion-MNIST
    labels: torch.Tensor
    levels: torch.Tensor  # the hand-given answers


def load_calibration(path: str | Path | None = None) -> Calibration:
    if path is None:
        from app.resources import resource_path

        path = resource_path("human", "calibration.csv")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
        column = lambda name, dtype: torch.tensor([float(r[name]) for r in rows]).to(dtype)
        return Calibration(
            column("embedded_train_id", torch.long), column("fashion_mnist_train_id", torch.long),
            column("label", torch.long), column("level", torch.float32),
        )
    except (OSError, KeyError, ValueError) as exc:
        raise AQPLError(f"calibration file {path} could not be read ({exc}): restore resources/human/calibration.csv") from None


def _ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks with ties given their average rank (as Spearman's coefficient needs)."""
    values = values.double()
    order = torch.argsort(values, stable=True)
    ranks = torch.empty_like(values)
    ranks[order] = torch.arange(len(values), dtype=torch.double)
    for value in torch.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    ra, rb = _ranks(a), _ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = float(ra.norm() * rb.norm())
    return float((ra * rb).sum()) / denominator if denominator > 0 else 0.0


def agreement(predicted: torch.Tensor, answers: torch.Tensor, step: float = 0.1) -> dict[str, float]:
    diff = (predicted.double() - answers.double()).abs()
    return {
        "mean_predicted": float(predicted.double().mean()),
        "mean_answers": float(answers.double().mean()),
        "mae": float(diff.mean()),
        "rank_correlation": spearman(predicted, answers),
        "exact": float((diff < step / 2).double().mean()),
        "within_one_step": float((diff < 1.5 * step).double().mean()),
    }


def levels_at_threshold(similarity: torch.Tensor, grid: list[float], tau: float) -> torch.Tensor:
    """ε* from a (n, len(grid)) table of similarities: the largest level passed with every smaller one."""
    passed = torch.cumprod((similarity >= tau).long(), dim=1)
    passed[:, 0] = 1  # the clean view (level grid[0]) is always the floor
    index = passed.sum(1) - 1
    return torch.tensor(grid)[index]


def fit(similarities: dict[float, torch.Tensor], answers: torch.Tensor, grid: list[float]) -> tuple[float, float]:
    """The (blur, τ) with the smallest mean absolute difference on these answers; τ is searched
    over the similarities' own values (every distinct threshold)."""
    best = None
    for blur, table in similarities.items():
        candidates = torch.unique(table[:, 1:].flatten())
        for tau in candidates.tolist():
            mae = float((levels_at_threshold(table, grid, tau) - answers).abs().mean())
            if best is None or mae < best[0] - 1e-12:
                best = (mae, blur, tau)
    return best[1], best[2]


def cross_validate(similarities: dict[float, torch.Tensor], answers: torch.Tensor, grid: list[float], folds: int = 10, seed: int = 0):
    """k-fold predictions: each fold's levels come from parameters fitted on the other folds.
    Returns (predicted levels, [(blur, τ) per fold])."""
    n = len(answers)
    fold_of = torch.arange(n) % folds
    fold_of = fold_of[torch.randperm(n, generator=torch.Generator().manual_seed(seed))]
    predicted = torch.zeros(n)
    chosen = []
    for fold in range(folds):
        train, test = fold_of != fold, fold_of == fold
        blur, tau = fit({b: t[train] for b, t in similarities.items()}, answers[train], grid)
        predicted[test] = levels_at_threshold(similarities[blur][test], grid, tau)
        chosen.append((blur, tau))
    return predicted, chosen
