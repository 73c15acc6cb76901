"""One training run of one method with one seed: a plain PyTorch loop with level policies and
query rounds mixed in.

`Trainer.steps()` is a generator that yields after every batch (and while it waits for
answers), so whoever drives it (the command line, the GUI's worker thread) can pause, stop
early or cancel between batches. The trainer wires the run from its parts and keeps their
public surface in one place:

* the answer desk (app/engine/desk.py): answers arrive through `submit` from any thread and are
  applied at the next batch (app/engine/answers.py);
* the query rounds (app/engine/rounds.py): pool scoring, selection, propagation;
* the paced session (app/engine/pacing.py): extension epochs while an expert keeps answering;
* the assessment (app/engine/assessment.py): the evaluations and the run's result.
"""

import math
import time

import torch

from app.engine.assessment import Assessment
from app.engine.augment import Augmenter
from app.engine.answers import Message
from app.engine import accel
from app.engine.data.dataset import Dataset, to_float
from app.engine.desk import AnswerDesk
from app.engine.device import pick_device
from app.engine.events import Callbacks, Metrics, Progress, Query, RunStore
from app.engine.methods import make_policy
from app.engine.oracle.base import Oracle
from app.engine.pacing import PacedSession
from app.engine.perturb import perturb
from app.engine.position import Position
from app.engine.query import QueryBook
from app.engine.result import RunResult
from app.engine.rounds import QueryRounds
from app.engine.settings import Settings
from app.engine.choices import validated
from app.engine.seeds import derive_seed
from models import build

PROGRESS_INTERVAL_S = 0.1  # emit progress at most this often: the GUI cannot show more


def _part(part: str, name: str) -> property:
    """An attribute of one of the trainer's parts, read and set through the trainer."""
    return property(lambda self: getattr(getattr(self, part), name),
                    lambda self, value: setattr(getattr(self, part), name, value))


class Trainer:
    epoch = _part("position", "epoch")  # epochs completed
    step = _part("position", "step")
    round = _part("position", "round")  # query rounds started
    store = _part("desk", "store")
    inbox = _part("desk", "inbox")
    oracle = _part("query_rounds", "oracle")
    rounds = _part("query_rounds", "epochs")  # the epochs after which a scheduled round starts
    propagated = _part("query_rounds", "propagated")  # examples the last propagation set
    paced = _part("pacing", "paced")
    pace = _part("pacing", "pace")
    extra_epochs = _part("pacing", "extra_epochs")  # epochs added while the expert answered
    finishing = _part("pacing", "finishing")  # why the extension ended: "finish", "budget", "idle"
    suite = _part("assessment", "suite")  # the loaded corruption suite of the final evaluation

    def __init__(
        self,
        settings: Settings,
        dataset: Dataset,
        oracle: Oracle | None = None,
        callbacks: Callbacks | None = None,
        store: RunStore | None = None,
        suite: dict | None = None,
    ):
        """`oracle` None means answers come from outside (the expert in the GUI) through
        `submit_*`; `suite` is a loaded corruption suite for the final Gaussian / All scores."""
        self.settings = validated(settings)
        self.dataset = dataset
        self.callbacks = callbacks or Callbacks()
        self.device, device_warning = pick_device(settings.device)
        if device_warning:
            self.callbacks.on_warning(device_warning)

        torch.manual_seed(settings.seed)  # model initialisation
        self.model = build(settings.model, dataset.num_classes, dataset.in_channels, dataset.image_size).to(self.device)
        self.autocast_dtype = accel.autocast_dtype(self.device, settings.precision)
        self.batches = settings.batches_per_epoch(len(dataset.train_x))
        self.total_steps = settings.total_batches(len(dataset.train_x))
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=settings.lr, momentum=settings.momentum,
            weight_decay=settings.weight_decay, nesterov=settings.momentum > 0,
        )
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=self.total_steps)
        self.policy = make_policy(settings)
        self.table = self.policy.new_table(len(dataset.train_x))
        self.augmenter = Augmenter(settings.augment, settings.seed, settings.augment_severity)
        self.book = QueryBook(settings.budget_count(len(dataset.train_x)) if settings.uses_queries else 0)

        # Data lives on the training device: batches are gathered there without copies.
        self.train_x = dataset.train_x.to(self.device)
        self.train_y = dataset.train_y.to(self.device)
        self.image_shape = tuple(dataset.train_x.shape[1:])

        # Distributed training (app/engine/distributed.py) sets these two: the rank's group,
        # and the DDP wrapper that the training forward goes through.
        self.group = None
        self.train_forward = self.model

        # The parts: each is given what it works on; they share the run's position.
        self.position = Position()
        self.desk = AnswerDesk(self.settings, dataset, self.policy, self.table, self.book, store or RunStore(),
                               self.callbacks, self.position)
        # Continuous mode with a person answering: the settings' epochs are the minimum and the
        # expert sets the pace (app/engine/pacing.py). Oracles answer at once: never paced.
        paced = settings.mode == "continuous" and oracle is None and self.policy.uses_queries
        self.pacing = PacedSession(self.settings, paced, self.book, self.model, self.optimizer, self.scheduler,
                                   drain=self.desk.drain)
        self.query_rounds = QueryRounds(
            self.settings, dataset, self.train_x, self.device, self.model, self.policy, self.table, self.book, oracle,
            self.desk, self.pacing, self.position, self.callbacks,
            report=lambda phase: self._report(phase, self.batches, None, 0), stopped=lambda: self._stop,
        )
        self.assessment = Assessment(self.settings, dataset, self.model, self.device, self.policy, self.table,
                                     self.book, suite)

        self.history: list[Metrics] = []
        self.last_loss: float | None = None
        self._stop = False
        self._started = time.perf_counter()
        self._last_progress = 0.0
        self.result: RunResult | None = None

    # -- the public surface of the parts ------------------------------------------------------------
    def submit(self, message: Message) -> None:
        """AnswerSink (any thread): validate, store durably, enqueue (AnswerDesk.submit)."""
        self.desk.submit(message)

    def submit_answer(self, example_id: int, level: float, time_taken_s: float = 0.0, source: str = "expert") -> None:
        self.desk.submit_answer(example_id, level, time_taken_s, source)

    def submit_skip(self, example_id: int, time_taken_s: float = 0.0, source: str = "expert") -> None:
        self.desk.submit_skip(example_id, time_taken_s, source)

    def submit_undo(self, example_id: int) -> None:
        self.desk.submit_undo(example_id)

    def hand_back(self, message: Message) -> None:
        """A message the database already holds: enqueued without validating or storing it again."""
        self.desk.hand_back(message)

    def requeue(self, example_id: int) -> None:
        """Put an example the book does not hold in the queue (recovery)."""
        self.desk.requeue(example_id)

    def apply(self, message: Message) -> bool:
        """Training thread: apply a durable message to the book and table; whether a level changed."""
        return self.desk.apply(message)

    def answers_changed(self) -> None:
        self.desk.answers_changed()

    def drain_inbox(self, timeout: float | None = None) -> None:
        """Training thread: apply every answer submitted so far (AnswerDesk.drain)."""
        self.desk.drain(timeout)

    def propagate(self, fresh_features: bool = True) -> int:
        return self.query_rounds.propagate(fresh_features)

    def score_pool(self, pool: torch.Tensor) -> torch.Tensor:
        return self.query_rounds.score_pool(pool)

    def select_queries(self, count: int) -> list[Query]:
        return self.query_rounds.select_queries(count)

    def stop_early(self) -> None:
        """Finish after the current batch, keep and evaluate the model."""
        self._stop = True

    def finish(self) -> None:
        """Expert-paced sessions: end the extension at the next batch, run the final phase, evaluate."""
        self.pace.finish()

    @property
    def planned_epochs(self) -> int:
        return self.pacing.planned_epochs

    @property
    def noise_seed(self) -> int:
        """The seed of the noise pattern the expert is shown (fixed per run seed)."""
        return self.desk.noise_seed

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> RunResult:
        for _ in self.steps():
            pass
        return self.result

    def steps(self):
        """The run as a generator: "batch" after every batch, "waiting" while a synchronous round
        waits for answers, "done" once the final evaluation is in `result`."""
        settings = self.settings
        self.model.train()
        while self.epoch < self.planned_epochs and not self._stop:
            epoch = self.epoch
            yield from self._train_one_epoch(epoch)
            if self._stop:
                break
            self.epoch = epoch + 1
            if settings.eval_every and self.epoch % settings.eval_every == 0 and self.epoch < self.planned_epochs:
                self._evaluate(final=False)
            if self.query_rounds.round_due():
                yield from self.query_rounds.run_round()
            self.store.save_checkpoint(self.state_dict())
        self.pacing.holding = False
        self.desk.drain()  # answers given during the last batch count too
        self._finish()
        yield "done"

    def _train_one_epoch(self, epoch: int):
        settings = self.settings
        self.pacing.holding = self.pacing.extend(epoch)
        if self.pacing.holding:
            self.total_steps += self.batches  # an extension epoch, at the held learning rate
        generator = torch.Generator().manual_seed(derive_seed(settings.seed, "epoch", epoch))
        order = torch.randperm(len(self.train_x), generator=generator)
        if self.group is not None:
            generator = self.group.epoch_generator(settings.seed, epoch)  # this rank's own noise
        loss_sum, loss_count = torch.zeros((), device=self.device), 0
        for batch in range(self.batches):
            self.desk.drain()  # the answers given since the last batch
            if self.pacing.extension_over():
                self.total_steps -= self.batches - batch  # the extension epoch ends here
                break
            ids = order[batch * settings.batch_size : (batch + 1) * settings.batch_size]
            if self.group is not None:
                ids = self.group.shard(ids)  # this rank's part of the global batch
            loss = self.train_batch(ids.to(self.device), epoch, generator, batch)
            loss_sum += loss.detach()
            loss_count += 1
            self.step += 1
            self._report("train", batch + 1, loss_sum, loss_count)
            if settings.mode == "continuous" and self.query_rounds.refill_due():
                self.query_rounds.start_round()
            yield "batch"
            if self._stop:
                break
        if self.group is not None:
            self.group.end_epoch(self)  # the ranks' level updates and BatchNorm statistics
        if loss_count:
            self.last_loss = float(loss_sum) / loss_count
        if not math.isfinite(self.last_loss) and not getattr(self, "_diverged", False):
            self._diverged = True  # said once: every later epoch would repeat it
            self.callbacks.on_warning(
                f"the training loss is {self.last_loss} in epoch {epoch + 1}: training diverged; "
                f"lower the learning rate (lr {settings.lr:g}; the default is {Settings().lr:g}) and run again"
            )

    def train_batch(self, ids: torch.Tensor, epoch: int, generator: torch.Generator, batch: int = 0) -> torch.Tensor:
        images = self.train_x[ids]
        if self.augmenter:  # per example, on the uint8 images, before the level's noise
            images = self.augmenter(images, epoch, batch)
        x = to_float(images)
        y = self.train_y[ids]
        ids_cpu = ids.cpu()
        # Training noise comes from the epoch's generator, seeded by (seed, epoch): a run resumed
        # from an epoch checkpoint sees the same noise. (Per-example hashed noise would cost ~15%
        # of a small CNN's step on the CPU; it is kept for what must not depend on batching.)
        noise = torch.randn(x.shape, generator=generator).to(self.device, non_blocking=True)
        with accel.autocast(self.device, self.autocast_dtype):  # bf16 on CUDA by default; off on the CPU
            levels = self.policy.batch_levels(self.model, x, y, ids_cpu, noise, self.table, generator)
            x_train = perturb(x, levels, noise)
            logits = self.train_forward(x_train)
            loss = self.policy.loss(logits, y, levels, self.table.level[ids_cpu].to(self.device))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if not self.pacing.holding:  # extension epochs keep the schedule where it stopped (pacing.py)
            self.scheduler.step()
        return loss

    # -- evaluation and reporting --------------------------------------------------------------
    def mean_training_level(self) -> float:
        """The amount of noise the method trains at (Assessment.mean_training_level)."""
        return self.assessment.mean_training_level()

    def _evaluate(self, final: bool) -> Metrics:
        self._report("eval", self.batches, None, 0, final=final)
        metrics = self.assessment.evaluate(final, self.epoch, self.step, self.last_loss)
        self.history.append(metrics)
        self.store.log_metrics(metrics)
        self.callbacks.on_metrics(metrics)
        return metrics

    def _finish(self) -> None:
        final = self._evaluate(final=True)
        self.result = self.assessment.result(final, self.history, self.epoch, self._stop,
                                             time.perf_counter() - self._started)

    def _report(self, phase: str, batch: int, loss_sum, loss_count: int, final: bool = False) -> None:
        now = time.perf_counter()
        if phase == "train" and now - self._last_progress < PROGRESS_INTERVAL_S and batch != self.batches:
            return
        self._last_progress = now
        elapsed = now - self._started
        eta = elapsed / self.step * (self.total_steps - self.step) if self.step else None
        loss = float(loss_sum) / loss_count if loss_count else self.last_loss
        self.callbacks.on_progress(Progress(
            phase=phase, epoch=min(self.epoch + 1, self.planned_epochs), epochs=self.planned_epochs,
            batch=batch, batches=self.batches, step=self.step, total_steps=self.total_steps,
            elapsed_s=elapsed, eta_s=eta, loss=loss, final=final, answers=self.book.used, budget=self.book.budget,
            **self.pacing.progress(),
        ))

    # -- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch, "step": self.step, "round": self.round,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "table": self.table.state_dict(),
            "book": self.book.state_dict(), "history": [vars(m) for m in self.history],
            "last_loss": self.last_loss, "last_refill_step": self.query_rounds.last_refill_step,
            "extra_epochs": self.extra_epochs, "finishing": self.finishing, "hold_state": self.pacing.hold_state,
            "torch_rng": torch.get_rng_state(), "settings": self.settings.to_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.step, self.round = state["epoch"], state["step"], state["round"]
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.table.load_state_dict(state["table"])
        self.book.load_state_dict(state["book"])
        self.history = [Metrics(**m) for m in state["history"]]
        self.last_loss = state["last_loss"]
        self.query_rounds.last_refill_step = state["last_refill_step"]
        self.extra_epochs = state.get("extra_epochs", 0)
        self.finishing = state.get("finishing")
        self.pacing.hold_state = state.get("hold_state")
        self.total_steps = self.planned_epochs * self.batches
        torch.set_rng_state(state["torch_rng"])

