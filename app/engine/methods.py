"""The five level policies of METHOD.md: Standard, GNT, CAT, AQPL-GNT, AQPL-CAT.

A policy decides, for each batch, the level every example is trained at (and CAT's
label smoothing); the AQPL variants also say how an expert's answer changes the table.
"""

from functools import partial
from typing import Callable

import torch
import torch.nn.functional as F

from app.engine.levels import LevelTable
from app.engine.perturb import perturb
from app.engine.settings import Settings


class LevelPolicy:
    """Standard training: every level is 0."""

    uses_queries = False

    def __init__(self, settings: Settings):
        self.settings = settings

    def new_table(self, size: int) -> LevelTable:
        return LevelTable(size, initial_level=0.0, cap=0.0)

    def batch_levels(self, model, x, y, ids, noise, table: LevelTable, generator) -> torch.Tensor:
        return torch.zeros(len(ids), device=x.device)

    def expert_cap(self, level: float) -> float | None:
        """The new ceiling for an example the expert answered (None: keep the old one)."""
        return None

    def apply_propagated(self, table: LevelTable, ids: torch.Tensor, predicted: torch.Tensor) -> None:
        """Propagated levels for unanswered examples (only AQPL methods propagate)."""

    def smoothing_weight(self, levels: torch.Tensor) -> torch.Tensor:
        """w in the training target ỹ = (1 − w)·onehot(y) + w/K, per example (0: the plain label)."""
        return torch.zeros_like(levels)

    def loss(self, logits: torch.Tensor, y: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, y)


class GNTPolicy(LevelPolicy):
    """Gaussian noise training (Rusak et al.): a share p_clean of each batch stays clean, the
    rest gets the example's level — σ for all, or the expert's answer under AQPL-GNT."""

    def __init__(self, settings: Settings, uses_queries: bool = False):
        super().__init__(settings)
        self.uses_queries = uses_queries

    def new_table(self, size: int) -> LevelTable:
        return LevelTable(size, initial_level=self.settings.gnt_sigma, cap=self.settings.gnt_sigma)

    def batch_levels(self, model, x, y, ids, noise, table, generator) -> torch.Tensor:
        clean = torch.rand(len(ids), generator=generator) < self.settings.gnt_p_clean
        levels = torch.where(clean, torch.zeros(()), table.level[ids])
        return levels.to(x.device)

    def expert_cap(self, level: float) -> float | None:
        return level

    def apply_propagated(self, table, ids, predicted):
        # AQPL-GNT: an unanswered example trains at its predicted level instead of σ
        table.set_propagated(ids, levels=predicted)


class CATPolicy(LevelPolicy):
    """Customised adversarial training on noise levels (Cheng et al. 2020), per METHOD.md:
    try ε_i + η; keep the increase only if the model still classifies the perturbed example
    correctly; clip to the example's cap (ε_max, or the expert's answer under AQPL-CAT).
    Labels are smoothed with the level: ỹ = (1 − cε)·onehot(y) + cε/K."""

    def __init__(self, settings: Settings, uses_queries: bool = False):
        super().__init__(settings)
        self.uses_queries = uses_queries

    def new_table(self, size: int) -> LevelTable:
        return LevelTable(size, initial_level=0.0, cap=self.settings.cat_eps_max)

    @torch.no_grad()
    def batch_levels(self, model, x, y, ids, noise, table, generator) -> torch.Tensor:
        current = table.level[ids]
        cap = table.cap[ids]
        tried = torch.minimum(current + self.settings.cat_eta, cap)
        # The check runs in eval mode so that it does not disturb BatchNorm's running statistics.
        was_training = model.training
        model.eval()
        correct = model(perturb(x, tried.to(x.device), noise)).argmax(1) == y
        model.train(was_training)
        new = torch.where(correct.cpu(), tried, current)
        table.adapt(ids, new)
        return new.to(x.device)

    def expert_cap(self, level: float) -> float | None:
        # AQPL-CAT: the expert's answer replaces ε_max for this example, and the level jumps to
        # it (LevelTable.set_expert). CAT's rule only raises a level and clips it to the cap, so
        # an answered example then stays at ε* for good: never above it, and never lowered by a
        # failed check either (the expert has said the example is still recognisable there).
        return level

    def apply_propagated(self, table, ids, predicted):
        if self.settings.propagate_as == "level":
            # the prediction stands in for an answer: level and ceiling, so CAT no longer moves it
            table.set_propagated(ids, levels=predicted, caps=predicted)
        else:
            # the predicted level is the unanswered example's ceiling instead of ε_max; CAT keeps
            # adapting below it
            table.set_propagated(ids, caps=predicted)

    def smoothing_weight(self, levels: torch.Tensor) -> torch.Tensor:
        # c·ε never passes 0.5, for every level an example can reach: an AQPL-CAT answer above
        # ε_max raises that example's ceiling, and c = 0.5/ε_max would otherwise let the true
        # class's target fall below the other classes' total (c = 0.83, ε = 1.0 → 0.25).
        return (self.settings.smoothing * levels).clamp(max=0.5)

    def loss(self, logits, y, levels):
        k = logits.shape[1]
        weight = self.smoothing_weight(levels).unsqueeze(1)
        target = (1.0 - weight) * F.one_hot(y, k).to(logits.dtype) + weight / k
        return -(target * F.log_softmax(logits, dim=1)).sum(1).mean()


# The registry of methods: name → policy factory. The command line's choices, the GUI's combo
# box, `Settings.validate()` and `--method all` (in this order) read it.
METHODS: dict[str, Callable[[Settings], LevelPolicy]] = {
    "standard": LevelPolicy,
    "gnt": GNTPolicy,
    "cat": CATPolicy,
    "aqpl-gnt": partial(GNTPolicy, uses_queries=True),
    "aqpl-cat": partial(CATPolicy, uses_queries=True),
}


def make_policy(settings: Settings) -> LevelPolicy:
    return METHODS[settings.method](settings)  # Settings.validate() rejects unknown names first
