"""Resume: bring a trainer restored from a checkpoint up to date with the answers database.

The database is the truth about the expert; the checkpoint may be older (a crash between an
answer and the next epoch end, or a damaged newest checkpoint). For every example the database
knows, the trainer's query book is compared with the database's latest state and the difference
is applied, so no acknowledged answer, skip or undo is lost:

* an example the checkpoint already has pending, answered or skipped is fixed at once;
* an example asked after the checkpoint: in continuous mode it is queued and applied at once;
  in synchronous mode the resumed run asks the same round again (same seed, same state), so
  its answer is handed back when that round asks for it (the expert is not asked twice, an
  oracle's answer is not recorded twice) — which keeps a resumed run identical to an
  uninterrupted one.
"""

from app.engine.answers import ExampleState, Undo, message_for
from app.engine.events import Callbacks, Phase, Query


class Recovery:
    """Answers of rounds that the resumed run will ask again (synchronous mode)."""

    def __init__(self, trainer, deferred: dict[int, tuple[str, float | None, int]], store, warn):
        self.trainer = trainer
        self.deferred = deferred  # example → (kind, level, round)
        self.store = store
        self.warn = warn

    def take(self, queries: list[Query]) -> dict[int, tuple[str, float | None]]:
        """The recovered answers of this round's queries. Recovered answers of this or earlier
        rounds that the round did not ask again (it should not happen: the resumed run is
        deterministic) are queued and applied too, with a warning."""
        round_now = self.trainer.round
        asked = {q.example_id for q in queries}
        matched = {e: self.deferred.pop(e)[:2] for e in list(self.deferred) if e in asked}
        late = {e: v[:2] for e, v in self.deferred.items() if v[2] <= round_now}
        for example in late:
            del self.deferred[example]
        if late:
            self.warn(f"{len(late)} recovered answer(s) were not asked again in round {round_now}: applied now")
            for example, (kind, level) in late.items():
                self.trainer.requeue(example)
                self.trainer.hand_back(message_for(example, kind, level))
        return matched

    def flush(self) -> None:
        """End of training: whatever is left goes into the level table directly."""
        if not self.deferred:
            return
        self.warn(f"{len(self.deferred)} recovered answer(s) were not asked again before the end: applied now")
        for example, (kind, level, _) in sorted(self.deferred.items()):
            if self.trainer.book.pending.get(example) is None:
                self.trainer.requeue(example)
            self.trainer.apply(message_for(example, kind, level))
        self.deferred.clear()
        self.trainer.answers_changed()


def reconcile(trainer, status: dict[int, tuple[str, float | None, int]], warn) -> dict[int, tuple[str, float | None, int]]:
    """Apply the database's state to the trainer's book and level table; returns the answers to
    hand back when their round is asked again (synchronous mode)."""
    book = trainer.book
    # Deferring only makes sense while the round that asked will run again.
    rounds_ahead = any(epoch > trainer.epoch for epoch in trainer.rounds)
    synchronous = trainer.settings.mode == "synchronous" and rounds_ahead
    size = len(trainer.table)
    deferred = {}
    for example, (want, level, round_) in sorted(status.items()):
        if not 0 <= example < size:
            warn(f"answer for example {example} ignored: the dataset has only {size} training examples")
            continue
        have, have_level = book.state_of(example)
        if (have, have_level) == (want, level):
            continue
        if have == ExampleState.UNKNOWN:
            if synchronous:
                # Its round runs again and asks it again; an answer that was undone (pending)
                # is simply asked again, as an uninterrupted run would leave it waiting.
                if want != ExampleState.PENDING:
                    deferred[example] = (want, level, round_)
                continue
            trainer.requeue(example)
        elif have in (ExampleState.ANSWERED, ExampleState.SKIPPED):
            trainer.apply(Undo(example))  # back in the queue, level restored
        if want != ExampleState.PENDING:
            trainer.apply(message_for(example, want, level))
    trainer.answers_changed()
    return deferred


class ResumeCallbacks(Callbacks):
    """Wraps the caller's callbacks for a project's trainer: after `attach` (once the trainer
    is restored) it announces the restored queue once and hands recovered answers back to the
    rounds that ask for them; everything else is forwarded."""

    def __init__(self, inner: Callbacks):
        self.inner = inner
        self.trainer = None
        self.recovery: Recovery | None = None
        self._announce: list[Query] = []
        self.hand_back = False

    def attach(self, trainer, recovery: "Recovery | None", announce: list[Query], hand_back: bool) -> None:
        self.trainer, self.recovery, self._announce = trainer, recovery, announce
        self.hand_back = hand_back  # False when an oracle answers (ResumeOracle hands back then)

    def __getattr__(self, name):  # anything the caller's object offers beyond Callbacks
        return getattr(self.inner, name)

    def on_progress(self, progress) -> None:
        if self._announce:
            queries, self._announce = self._announce, []
            self.inner.on_queries(queries)
        if self.recovery is not None and progress.phase == Phase.EVAL and self.trainer.epoch >= self.trainer.settings.epochs:
            self.recovery.flush()
        self.inner.on_progress(progress)

    def on_metrics(self, metrics) -> None:
        self.inner.on_metrics(metrics)

    def on_queries(self, queries) -> None:
        if self.recovery is not None and self.hand_back:
            matched = self.recovery.take(queries)
            for example, (kind, level) in matched.items():
                self.trainer.hand_back(message_for(example, kind, level))  # durable already: not recorded again
            queries = [q for q in queries if q.example_id not in matched]
        if queries:
            self.inner.on_queries(queries)

    def on_levels_changed(self) -> None:
        self.inner.on_levels_changed()

    def on_warning(self, message: str) -> None:
        self.inner.on_warning(message)


class ResumeOracle:
    """Wraps a project trainer's oracle: once a resume recovered answers (`recovery` set), they
    replace the oracle's for the queries a round asks again, and the store is told not to
    record them a second time."""

    def __init__(self, inner):
        self.inner = inner
        self.recovery: Recovery | None = None
        self.name = inner.name

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def answer(self, queries: list[Query]) -> list[float | None]:
        # Ask the oracle anyway: a stateful oracle (annotator noise) keeps its random sequence.
        answers = self.inner.answer(queries)
        if self.recovery is None:
            return answers
        matched = self.recovery.take(queries)
        out = []
        for query, level in zip(queries, answers):
            if query.example_id in matched:
                kind, level = matched[query.example_id]
                level = level if kind == ExampleState.ANSWERED else None
                self.recovery.store.expect_again(query.example_id, level)
            out.append(level)
        return out
