"""The level policies: the five of METHOD.md (Standard, GNT, CAT, AQPL-GNT, AQPL-CAT) and two
uses of the expert's answers beyond the paper (AQPL-σ: one σ set by the answers; AQPL-soft:
targets softened above each example's conform level).

A policy decides, for each batch, the level every example is trained at (and its training
target); the AQPL variants also say how an expert's answer changes the table. Answers reach the
table scaled by `level_scale` α (relative levels: the expert orders the examples, α sets the
height; 1 is the paper).
"""

from functools import partial

import torch
import torch.nn.functional as F

from app.engine.levels import LevelTable, Source
from app.engine.perturb import perturb
from app.registry import Registry


class LevelPolicy:
    """Standard training: every level is 0."""

    uses_queries = False

    def __init__(self, settings):
        self.settings = settings

    def training_level(self, answer: float | torch.Tensor):
        """The level an answer (or a propagated answer) becomes in the table: α·ε*, clipped to
        the grid (relative levels, `level_scale`)."""
        lo, hi = self.settings.grid[0], self.settings.grid[-1]
        scaled = answer * self.settings.level_scale
        if torch.is_tensor(scaled):
            return scaled.clamp(lo, hi)
        return min(max(scaled, lo), hi)

    def on_answers(self, table: LevelTable, answers: torch.Tensor) -> None:
        """Every answer so far (raw ε*, in any order), after answers or undos were applied: for
        policies whose unanswered levels follow the answers as a whole."""

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

    def loss(self, logits: torch.Tensor, y: torch.Tensor, levels: torch.Tensor, conform: torch.Tensor | None = None) -> torch.Tensor:
        """The batch's loss; `levels` are the levels it trained at, `conform` the table's levels
        of its examples (what the expert said, or the method's own level)."""
        return F.cross_entropy(logits, y)


class GNTPolicy(LevelPolicy):
    """Gaussian noise training (Rusak et al.): a share p_clean of each batch stays clean, the
    rest gets the example's level — σ for all, or the expert's answer under AQPL-GNT."""

    def __init__(self, settings, uses_queries: bool = False):
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
        table.set_propagated(ids, levels=self.training_level(predicted))


class CATPolicy(LevelPolicy):
    """Customised adversarial training on noise levels (Cheng et al. 2020), per METHOD.md:
    try ε_i + η; keep the increase only if the model still classifies the perturbed example
    correctly; clip to the example's cap (ε_max, or the expert's answer under AQPL-CAT).
    Labels are smoothed with the level: ỹ = (1 − cε)·onehot(y) + cε/K."""

    def __init__(self, settings, uses_queries: bool = False):
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
        predicted = self.training_level(predicted)
        if self.settings.propagate_as == "level":
            # the prediction stands in for an answer: level and ceiling, so CAT no longer moves it
            table.set_propagated(ids, levels=predicted, caps=predicted)
        else:
            # the predicted level is the unanswered example's ceiling instead of ε_max; CAT keeps
            # adapting below it
            table.set_propagated(ids, caps=predicted)

    def on_answers(self, table, answers):
        # `unanswered_ceiling = "answers"`: an example nobody answered (and nothing propagated
        # to) may not rise above what the expert still recognises in most answers (their 90th
        # percentile), instead of ε_max: in a long expert-paced session CAT would otherwise raise
        # the unanswered majority to ε_max while the answers say nothing is recognisable there.
        if self.settings.unanswered_ceiling != "answers" or not self.uses_queries:
            return
        ceiling = self.settings.cat_eps_max
        if len(answers):
            ceiling = min(ceiling, float(self.training_level(torch.quantile(answers.float(), ANSWERS_QUANTILE))))
        table.set_ceiling(ceiling)

    def smoothing_weight(self, levels: torch.Tensor) -> torch.Tensor:
        # c·ε never passes 0.5, for every level an example can reach: an AQPL-CAT answer above
        # ε_max raises that example's ceiling, and c = 0.5/ε_max would otherwise let the true
        # class's target fall below the other classes' total (c = 0.83, ε = 1.0 → 0.25).
        return (self.settings.smoothing * levels).clamp(max=0.5)

    def loss(self, logits, y, levels, conform=None):
        k = logits.shape[1]
        weight = self.smoothing_weight(levels).unsqueeze(1)
        target = (1.0 - weight) * F.one_hot(y, k).to(logits.dtype) + weight / k
        return -(target * F.log_softmax(logits, dim=1)).sum(1).mean()


class SigmaPolicy(GNTPolicy):
    """AQPL-σ (expert-set σ, beyond the paper): GNT with one σ for all, set by the answers so far
    (their mean, or a quantile: `sigma_statistic`), times α. The cheapest use of an expert: the
    answers buy one number. Before the first answer, GNT's σ."""

    def __init__(self, settings):
        super().__init__(settings, uses_queries=True)

    def expert_cap(self, level: float) -> float | None:
        return None

    def apply_propagated(self, table, ids, predicted):
        pass  # one σ for all: nothing per example to propagate

    def on_answers(self, table, answers):
        sigma = answer_statistic(answers, self.settings.sigma_statistic)
        table.level[:] = self.training_level(sigma) if sigma is not None else self.settings.gnt_sigma


class SoftTargetPolicy(GNTPolicy):
    """AQPL-soft (beyond the paper): GNT at a strong σ for robustness, but an example trained above
    its own conform level ε*_i (answered, propagated, or the answers' mean for the rest) gets a
    target softened towards uniform in proportion to how far above: w = min(1, (σ − ε*_i) / ramp).
    The expert has said the class is no longer visible there; the model should not be sure.
    The table's level holds ε*_i (what the queries show and scoring uses); training uses σ."""

    def __init__(self, settings):
        super().__init__(settings, uses_queries=True)

    def new_table(self, size: int) -> LevelTable:
        # no answer yet: every example is taken as recognisable up to σ (no softening)
        return LevelTable(size, initial_level=self.settings.gnt_sigma, cap=self.settings.gnt_sigma)

    def batch_levels(self, model, x, y, ids, noise, table, generator) -> torch.Tensor:
        clean = torch.rand(len(ids), generator=generator) < self.settings.gnt_p_clean
        return torch.where(clean, torch.zeros(()), torch.full((), self.settings.gnt_sigma)).to(x.device)

    def expert_cap(self, level: float) -> float | None:
        return level

    def training_sigma(self) -> float:
        return self.settings.gnt_sigma

    def on_answers(self, table, answers):
        # examples without an answer or a propagated level: the answers' mean so far
        mean = answer_statistic(answers, "mean")
        rest = table.source == Source.INITIAL
        table.level[rest] = self.training_level(mean) if mean is not None else self.settings.gnt_sigma

    def soft_weight(self, levels: torch.Tensor, conform: torch.Tensor) -> torch.Tensor:
        ramp = max(self.settings.soft_ramp, 1e-6)
        return ((levels - conform) / ramp).clamp(0.0, 1.0)

    def loss(self, logits, y, levels, conform=None):
        k = logits.shape[1]
        weight = self.soft_weight(levels, conform.to(levels.dtype)).unsqueeze(1)
        target = (1.0 - weight) * F.one_hot(y, k).to(logits.dtype) + weight / k
        return -(target * F.log_softmax(logits, dim=1)).sum(1).mean()


ANSWERS_QUANTILE = 0.9  # CAT's ceiling for unanswered examples under unanswered_ceiling = "answers"


def answer_statistic(answers: torch.Tensor, statistic: str) -> float | None:
    """The mean of the answers ("mean") or a quantile ("q0.75"); None without answers."""
    if len(answers) == 0:
        return None
    if statistic == "mean":
        return float(answers.float().mean())
    return float(torch.quantile(answers.float(), float(statistic[1:])))


# The registry of methods: name → policy factory(settings), with its facts: `title` (tables),
# `label` (the GUI's list), `uses_queries`, `family` ("gnt": reads GNT's σ and p_clean; "cat":
# CAT's η, ε_max and smoothing), `paper` (one of the paper's five, run by `--method all`) and
# `reads` (settings only this method reads). The command line's choices, the GUI's list and
# validation read it, in this order.
METHODS = Registry("method")
METHODS.register("standard", LevelPolicy, title="Standard", label="Standard (clean training, no queries)",
                 uses_queries=False, family=None, paper=True)
METHODS.register("gnt", GNTPolicy, title="GNT", label="GNT (no queries)", uses_queries=False, family="gnt", paper=True)
METHODS.register("cat", CATPolicy, title="CAT", label="CAT (no queries)", uses_queries=False, family="cat", paper=True)
METHODS.register("aqpl-gnt", partial(GNTPolicy, uses_queries=True), title="AQPL-GNT",
                 label="AQPL-GNT (recommended: noise at each image's answered or spread level)",
                 uses_queries=True, family="gnt", paper=True)
METHODS.register("aqpl-cat", partial(CATPolicy, uses_queries=True), title="AQPL-CAT", uses_queries=True, family="cat",
                 paper=True)
METHODS.register("aqpl-sigma", SigmaPolicy, title="AQPL-σ", label="AQPL-σ (one noise level for all, set by your answers)",
                 uses_queries=True, family="gnt", paper=False, reads=("sigma_statistic",))
METHODS.register("aqpl-soft", SoftTargetPolicy, title="AQPL-soft",
                 label="AQPL-soft (strong noise; unsure where you no longer recognise the image)",
                 uses_queries=True, family="gnt", paper=False, reads=("soft_ramp",))
PAPER_METHODS = METHODS.where(paper=True)


def make_policy(settings) -> LevelPolicy:
    return METHODS[settings.method](settings)  # validation rejects unknown names first
