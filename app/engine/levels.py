"""The level table: every training example's current perturbation level, where it came from,
the ceiling adaptation may not cross, and the history of the expert's changes (for undo; it
follows the query book, see app/engine/answers.py)."""

from dataclasses import asdict, dataclass
from enum import IntEnum

import torch


class Source(IntEnum):
    INITIAL = 0  # set by the method at the start (0 for CAT, σ for GNT)
    ADAPTED = 1  # raised by CAT's rule during training
    EXPERT = 2  # the expert's (or an oracle's) answer
    PROPAGATED = 3  # predicted from the answers of similar examples (app/engine/propagate.py)


@dataclass
class ExpertChange:
    """One answer applied to the table; enough to undo it exactly."""

    example_id: int
    level: float
    old_level: float
    old_source: int
    old_cap: float
    step: int


class LevelTable:
    def __init__(self, size: int, initial_level: float, cap: float):
        self.level = torch.full((size,), float(initial_level))
        self.source = torch.full((size,), int(Source.INITIAL), dtype=torch.uint8)
        # Ceiling for adaptation: CAT's ε_max, or the expert's answer once given (AQPL-CAT).
        self.cap = torch.full((size,), float(cap))
        self.history: list[ExpertChange] = []

    def __len__(self) -> int:
        return len(self.level)

    def adapt(self, ids: torch.Tensor, new_levels: torch.Tensor) -> None:
        """CAT's increases: mark changed, non-expert entries as adapted."""
        changed = new_levels != self.level[ids]
        self.level[ids] = new_levels
        ids_changed = ids[changed]
        # expert and propagated entries keep their source: their ceiling came from it
        initial = self.source[ids_changed] == Source.INITIAL
        self.source[ids_changed[initial]] = Source.ADAPTED

    def set_propagated(self, ids: torch.Tensor, levels: torch.Tensor | None = None, caps: torch.Tensor | None = None) -> None:
        """Propagated predictions for examples the expert has not answered: a new level (AQPL-GNT)
        and/or a new ceiling (AQPL-CAT, where the level is lowered to the ceiling if above it)."""
        if levels is not None:
            self.level[ids] = levels
        if caps is not None:
            self.cap[ids] = caps
            self.level[ids] = torch.minimum(self.level[ids], caps)
        self.source[ids] = Source.PROPAGATED

    def set_ceiling(self, ceiling: float) -> None:
        """A new ceiling for the entries the method set (initial or adapted, not the expert's nor
        propagated ones); a level above it comes down to it."""
        mine = (self.source == Source.INITIAL) | (self.source == Source.ADAPTED)
        self.cap[mine] = ceiling
        self.level[mine] = torch.minimum(self.level[mine], self.cap[mine])

    def set_expert(self, example_id: int, level: float, step: int, cap: float | None) -> ExpertChange:
        """Apply an answer: the level becomes the answer; `cap` (AQPL-CAT: the answer) bounds later adaptation."""
        change = ExpertChange(
            example_id=int(example_id),
            level=float(level),
            old_level=float(self.level[example_id]),
            old_source=int(self.source[example_id]),
            old_cap=float(self.cap[example_id]),
            step=int(step),
        )
        self.level[example_id] = level
        self.source[example_id] = Source.EXPERT
        if cap is not None:
            self.cap[example_id] = cap
        self.history.append(change)
        return change

    def undo_expert(self, example_id: int) -> ExpertChange | None:
        """Restore the level the example had before its latest answer."""
        for position in range(len(self.history) - 1, -1, -1):
            change = self.history[position]
            if change.example_id == example_id:
                del self.history[position]
                self.level[example_id] = change.old_level
                self.source[example_id] = change.old_source
                self.cap[example_id] = change.old_cap
                return change
        return None

    def counts(self) -> dict[str, int]:
        return {s.name.lower(): int((self.source == s).sum()) for s in Source}

    def state_dict(self) -> dict:
        return {
            "level": self.level.clone(),
            "source": self.source.clone(),
            "cap": self.cap.clone(),
            "history": [asdict(c) for c in self.history],
        }

    def load_state_dict(self, state: dict) -> None:
        self.level = state["level"].clone()
        self.source = state["source"].clone()
        self.cap = state["cap"].clone()
        self.history = [ExpertChange(**c) for c in state["history"]]
