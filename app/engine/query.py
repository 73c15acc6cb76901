"""Budget and queue bookkeeping for query rounds: an example is asked at most once.

The book is the training thread's copy of the expert's answers; app/engine/answers.py says
how it follows the answers database."""

from collections import OrderedDict

import torch

from app.engine.answers import ExampleState
from app.engine.events import Query


class QueryBook:
    """pending: issued, not yet answered; answered: id → level; skipped: ids the expert passed on.

    Budget counts answers plus pending queries; a skipped example is never asked again and does
    not use budget.
    """

    def __init__(self, budget: int):
        self.budget = budget
        self.pending: OrderedDict[int, Query] = OrderedDict()
        self.answered: dict[int, float] = {}
        self.skipped: set[int] = set()

    @property
    def used(self) -> int:
        return len(self.answered)

    def room(self) -> int:
        return max(0, self.budget - len(self.answered) - len(self.pending))

    def eligible(self, size: int) -> torch.Tensor:
        """Ids never asked before."""
        mask = torch.ones(size, dtype=torch.bool)
        asked = list(self.pending) + list(self.answered) + list(self.skipped)
        if asked:
            mask[torch.tensor(asked, dtype=torch.long)] = False
        return torch.nonzero(mask).flatten()

    def state_of(self, example_id: int) -> tuple[ExampleState, float | None]:
        """(state, level): the level for an answered example, else None."""
        if example_id in self.answered:
            return ExampleState.ANSWERED, self.answered[example_id]
        if example_id in self.skipped:
            return ExampleState.SKIPPED, None
        if example_id in self.pending:
            return ExampleState.PENDING, None
        return ExampleState.UNKNOWN, None

    def issue(self, queries: list[Query]) -> None:
        for query in queries:
            self.pending[query.example_id] = query

    def record_answered(self, example_id: int, level: float) -> Query | None:
        """The pending query of `example_id` is closed with `level` (None: it was not pending)."""
        query = self.pending.pop(example_id, None)
        if query is not None:
            self.answered[example_id] = level
        return query

    def record_skipped(self, example_id: int) -> Query | None:
        query = self.pending.pop(example_id, None)
        if query is not None:
            self.skipped.add(example_id)
        return query

    def undo(self, example_id: int, query: Query) -> bool:
        """An undone answer (or skip) puts the example back in the queue."""
        if self.answered.pop(example_id, None) is None and example_id not in self.skipped:
            return False
        self.skipped.discard(example_id)
        self.pending[example_id] = query
        return True

    def state_dict(self) -> dict:
        return {
            "budget": self.budget,
            "pending": [vars(q).copy() for q in self.pending.values()],
            "answered": dict(self.answered),
            "skipped": sorted(self.skipped),
        }

    def load_state_dict(self, state: dict) -> None:
        self.budget = state["budget"]
        self.pending = OrderedDict((q["example_id"], Query(**q)) for q in state["pending"])
        self.answered = {int(k): float(v) for k, v in state["answered"].items()}
        self.skipped = set(state["skipped"])
