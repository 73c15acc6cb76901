"""Query rounds: when a round (or a continuous-mode refill) is due, scoring the pool, selecting
the queries, asking the oracle or the expert, and propagating the answers to the examples no one
answered (with the feature pass that propagation needs).
"""

import torch

from app.engine.data.dataset import to_float
from app.engine.evaluate import EVAL_BATCH
from app.engine.events import Callbacks, Query
from app.engine.levels import Source
from app.engine.oracle.base import nearest_grid_level
from app.engine.perturb import perturb
from app.engine.propagate import PenultimateFeatures, predict
from app.engine.seeds import derive_seed
from app.engine.strategies import select, target_entropy

SCORE_BATCH = 1000  # examples whose noise is drawn at once (the draws' order depends on it)
# Noise draws per example when scoring the pool: one draw's luck decides too much of an
# example's entropy near its level; two halve that variance for twice one inference pass.
SCORE_DRAWS = 2
REFILL_GAP_BATCHES = 20  # continuous mode: batches between two refills of the query queue


class QueryRounds:
    """The rounds of one run, on the training thread. `oracle` None: the expert answers (through
    the desk, from the GUI thread); otherwise the oracle answers each round at once."""

    def __init__(self, settings, dataset, train_x: torch.Tensor, device, model, policy, table, book, oracle,
                 desk, pacing, position, callbacks: Callbacks, report, stopped):
        """`train_x` is the training images on `device`; `desk` takes the oracle's answers;
        `pacing` says whether the session is expert-paced and finishing; `report(phase)` tells
        the outside world what the run is doing; `stopped()` is True once the run was told to stop."""
        self.settings = settings
        self.train_y, self.classes, self.num_classes = dataset.train_y, dataset.classes, dataset.num_classes
        self.train_x, self.device = train_x, device
        self.model, self.policy, self.table, self.book = model, policy, table, book
        self.oracle = oracle
        self.desk, self.pacing, self.position = desk, pacing, position
        self.callbacks = callbacks
        self.report, self.stopped = report, stopped
        self.epochs = settings.round_epochs()  # the epochs after which a scheduled round starts
        self.per_round = settings.per_round(len(train_x))
        self.last_refill_step = -REFILL_GAP_BATCHES
        self.propagated = 0  # examples the last propagation set
        self._pool_features = None  # (pool ids, clean features) from the last scoring pass
        self._propagation_features = None  # the features the last neighbours propagation used
        self._answers_propagated = 0  # answers the last propagation knew of

    # -- when --------------------------------------------------------------------------------------
    def round_due(self) -> bool:
        """After an epoch: a scheduled round, or (expert-paced) a top-up after every epoch from
        warm-up on, none once the final phase began."""
        epoch = self.position.epoch
        if not self.pacing.paced:
            return epoch in self.epochs
        return (not self.pacing.finishing and epoch >= max(self.settings.warmup_epochs, 1)
                and epoch < self.pacing.planned_epochs)

    def refill_due(self) -> bool:
        """Continuous mode with an expert: keep the queue from running dry, but only after
        warm-up and not more often than every REFILL_GAP_BATCHES batches."""
        if self.oracle is not None or not self.policy.uses_queries or self.book.room() == 0 or self.pacing.finishing:
            return False
        if self.position.epoch < max(self.settings.warmup_epochs, 1):
            return False
        return len(self.book.pending) < self.low_water() and self.position.step - self.last_refill_step >= REFILL_GAP_BATCHES

    def low_water(self) -> int:
        return max(1, self.per_round // 4)

    # -- a round ----------------------------------------------------------------------------------
    def run_round(self):
        """A scheduled round after an epoch (a generator). Synchronous mode waits until all its
        answers are in, yielding "waiting" meanwhile."""
        if self.settings.mode == "continuous" and self.oracle is None and len(self.book.pending) >= self.low_water():
            # the expert still has work queued: keep the budget for examples scored later, but let
            # the answers given since the last propagation reach the others now (on the features
            # of the last scoring pass: the k-NN is cheap, a fresh feature pass is not)
            if len(self.book.answered) != self._answers_propagated:
                self.propagate(fresh_features=False)
            return
        issued = self.start_round()
        if self.settings.mode != "synchronous" or self.oracle is not None:
            return
        waiting_for = {q.example_id for q in issued}
        while waiting_for & set(self.book.pending) and not self.stopped():
            self.desk.drain(timeout=0.05)
            self.report("waiting")
            yield "waiting"
        self.propagate()

    def start_round(self) -> list[Query]:
        count = min(self.per_round, self.book.room())
        if count <= 0:
            return []
        self.position.round += 1
        self.last_refill_step = self.position.step
        self.report("query")
        if self.oracle is None and self.settings.mode == "continuous":
            self.propagate()  # the expert answers at their own pace: propagate what is in so far
        queries = self.select_queries(count)
        self.book.issue(queries)
        if self.oracle is not None:
            for query, level in zip(queries, self.oracle.answer(queries)):
                if level is None:
                    self.desk.submit_skip(query.example_id, source=self.oracle.name)
                else:
                    self.desk.submit_answer(query.example_id, nearest_grid_level(self.settings.grid, level),
                                            source=self.oracle.name)
            self.desk.drain()
            self.propagate()
        else:
            self.callbacks.on_queries(queries)
        return queries

    def select_queries(self, count: int) -> list[Query]:
        size = len(self.train_x)
        pool = self.book.eligible(size)
        answerable = self.oracle.answerable() if self.oracle is not None else None
        if answerable is not None:  # a partial recording: ask only what it can answer
            keep = torch.zeros(size, dtype=torch.bool)
            keep[answerable[answerable < size]] = True
            pool = pool[keep[pool]]
        round_ = self.position.round
        generator = torch.Generator().manual_seed(derive_seed(self.settings.seed, "selection", round_))
        if self.settings.pool_subset and len(pool) > self.settings.pool_subset:
            pool = pool[torch.randperm(len(pool), generator=generator)[: self.settings.pool_subset]]
        probs = self.score_pool(pool) if self.settings.strategy != "random" else torch.empty(len(pool), 0)
        target = target_entropy(self.policy.smoothing_weight(self.table.level[pool]), self.num_classes)
        positions, utilities = select(self.settings.strategy, probs, count, generator, target_entropy=target,
                                      random_share=self.settings.random_share)
        queries = []
        for index in positions.tolist():
            example = int(pool[index])
            label = int(self.train_y[example])
            queries.append(Query(
                example_id=example, label=label, class_name=self.classes[label],
                level=float(self.table.level[example]), round=round_,
                utility=float(utilities[index]) if len(utilities) else 0.0,
                noise_seed=self.settings.seed, grid=list(self.settings.grid),
            ))
        return queries

    @torch.no_grad()
    def score_pool(self, pool: torch.Tensor) -> torch.Tensor:
        """Softmax outputs (SCORE_DRAWS, N, K) for the pool, each example perturbed at its current
        level. The noise comes from a generator seeded by (seed, round) and drawn in pool order
        (the pool is sorted), so a round's scores are reproducible; the per-example hash of
        `perturb_examples` would cost ~12% of a pass."""
        self.model.eval()
        probs = []
        levels = self.table.level
        generator = torch.Generator(self.device).manual_seed(derive_seed(self.settings.seed, "scoring", self.position.round))
        capture = self.settings.propagate == "neighbours" and self.policy.uses_queries
        hook = PenultimateFeatures(self.model)
        for start in range(0, len(pool), SCORE_BATCH):
            ids = pool[start : start + SCORE_BATCH]
            clean = to_float(self.train_x[ids.to(self.device)])
            batch_levels = levels[ids].to(self.device)
            draws = []
            for _ in range(SCORE_DRAWS):
                noise = torch.randn(clean.shape, generator=generator, device=self.device)
                noisy = perturb(clean.clone(), batch_levels, noise)
                draws.append(torch.cat([torch.softmax(self.model(part), dim=1).cpu() for part in noisy.split(EVAL_BATCH)]))
            probs.append(torch.stack(draws))
            if capture:  # propagation's features: the clean images, in the same batches
                with hook:
                    for part in clean.split(EVAL_BATCH):
                        self.model(part)
        if capture:
            self._pool_features = (pool.clone(), torch.cat(hook.batches) if hook.batches else None)
        self.model.train()
        return torch.cat(probs, dim=1) if probs else torch.empty(SCORE_DRAWS, 0, self.num_classes)

    # -- propagation (app/engine/propagate.py) ---------------------------------------------------
    def propagate(self, fresh_features: bool = True) -> int:
        """Predict a level for every example the expert has not answered and hand it to the
        policy; returns how many examples it set (0 when propagation is off or nothing is answered).
        fresh_features=False reuses the last propagation's features where there are some."""
        method = self.settings.propagate
        if method == "none" or not self.policy.uses_queries or not self.book.answered:
            return 0
        answered = torch.tensor(sorted(self.book.answered))
        answers = torch.tensor([self.book.answered[i] for i in answered.tolist()])
        self._answers_propagated = len(answered)
        features = None
        if method == "neighbours":
            if fresh_features or self._propagation_features is None:
                self._propagation_features = self._features_of_all()
            features = self._propagation_features
        predicted = predict(method, labels=self.train_y, features=features, answered=answered, answers=answers,
                            num_classes=self.num_classes, grid=self.settings.grid)
        unanswered = torch.ones(len(self.train_x), dtype=torch.bool)
        unanswered[answered] = False
        ids = torch.nonzero(unanswered & (self.table.source != Source.EXPERT)).flatten()
        self.policy.apply_propagated(self.table, ids, predicted[ids])
        self.propagated = len(ids)
        self.callbacks.on_levels_changed()
        return len(ids)

    @torch.no_grad()
    def _features_of_all(self) -> torch.Tensor:
        """Clean-image features of every training example: the pool's were captured in this
        round's scoring pass; the rest (answered, pending, skipped: at most the budget, or all
        of them under random sampling, which scores nothing) are computed now."""
        captured_ids, captured = self._pool_features or (torch.empty(0, dtype=torch.long), None)
        self._pool_features = None
        missing = torch.ones(len(self.train_x), dtype=torch.bool)
        missing[captured_ids] = False
        missing_ids = torch.nonzero(missing).flatten()
        self.model.eval()
        with PenultimateFeatures(self.model) as hook:
            for start in range(0, len(missing_ids), EVAL_BATCH):
                self.model(to_float(self.train_x[missing_ids[start : start + EVAL_BATCH].to(self.device)]))
        self.model.train()
        computed = torch.cat(hook.batches) if hook.batches else None
        width = (captured if captured is not None else computed).shape[1]
        features = torch.empty(len(self.train_x), width)
        if captured is not None:
            features[captured_ids] = captured
        if computed is not None:
            features[missing_ids] = computed
        return features
