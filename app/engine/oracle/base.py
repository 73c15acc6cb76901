"""The oracle interface and the annotator-noise wrapper."""

import torch

from app.engine.events import Query
from app.engine.seeds import derive_seed


class Oracle:
    """Answers a list of queries at once: one level per query, or None to skip it."""

    name = "oracle"

    def answer(self, queries: list[Query]) -> list[float | None]:
        raise NotImplementedError

    def answerable(self) -> torch.Tensor | None:
        """The example ids this oracle can answer (None: every example). A replayed recording
        holds answers for some examples only; the trainer offers only those to the strategy."""
        return None


def nearest_grid_level(grid: list[float], level: float) -> float:
    return min(grid, key=lambda g: abs(g - level))


class NoisyOracle(Oracle):
    """An imperfect expert: with probability p an answer is off by one grid step (up or down,
    kept on the grid). Tests how robust AQPL is to annotator noise (METHOD.md)."""

    def __init__(self, inner: Oracle, probability: float, seed: int):
        self.inner = inner
        self.name = inner.name
        self.probability = probability
        self.seed = seed

    def answerable(self) -> torch.Tensor | None:
        return self.inner.answerable()

    def answer(self, queries: list[Query]) -> list[float | None]:
        answers = self.inner.answer(queries)
        noisy = []
        for query, level in zip(queries, answers):
            # A pure function of (seed, example): a run resumed from a checkpoint gets the same
            # slips as an uninterrupted one, whatever was asked before the interruption.
            coin, direction = torch.rand(2, generator=torch.Generator().manual_seed(derive_seed(self.seed, "annotator", query.example_id)))
            if level is not None and coin < self.probability:
                grid = query.grid
                level = nearest_grid_level(grid, level)
                index = grid.index(level)
                step = 1 if direction < 0.5 else -1
                level = grid[min(max(index + step, 0), len(grid) - 1)]
            noisy.append(level)
        return noisy
