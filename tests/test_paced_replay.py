"""Answering longer never makes the model worse (issue: the expert's session).

A headless replay of an expert-paced GUI session (`--preset gui --oracle-pace SECONDS`): the
simulated expert answers the same queries at a person's pace, so most answers land in the
extension epochs that run while the expert keeps answering. With the paper's AQPL-CAT the
unanswered examples' levels rose towards ε_max = 1.0 there and clean accuracy fell from 70 to
57; the GUI's session must end no worse than the same answers given at once."""

import json

import pytest
import torch

from app.engine.events import Callbacks
from app.engine.oracle import PerceptualOracle
from app.engine.oracle.paced import PacedExpert
from app.engine.settings import defaults_for
from app.engine.trainer import Trainer


def paced_run(dataset, pace: float = 0.0, every_batches: int | None = None, **overrides):
    values = dict(device="cpu", budget="30", eval_every=0, idle_finish_s=600.0)
    values.update(overrides)
    settings = defaults_for("gray", gui=True, **values)
    oracle = PerceptualOracle(dataset, settings.grid, settings.oracle_tau, settings.oracle_blur)
    oracle.levels()  # computed before training, as the command line does: the expert is ready at the first query
    suite = {"conform_levels": oracle.test_levels()}
    expert = PacedExpert(oracle, pace, Callbacks(), every_batches=every_batches)
    trainer = Trainer(settings, dataset, callbacks=expert, suite=suite)
    assert trainer.paced  # the GUI's rules: continuous mode, the expert sets the pace
    expert.start(trainer)
    try:
        result = trainer.run()
    finally:
        expert.stop()
    gaussian = sum(result.curve_accuracy[2::2]) / len(result.curve_accuracy[2::2])  # σ 0.2, 0.4, …, 1.0
    answers = torch.tensor(list(trainer.book.answered.values()))
    return result, gaussian, trainer, answers


def test_answering_at_a_persons_pace_leaves_the_model_no_worse(embedded):
    """The embedded set with the GUI's settings (10 epochs at least): the planned epochs train the
    model well, so what extra epochs do to the levels shows (on a smaller, undertrained set any
    extra epoch helps and hides it)."""
    at_once, gaussian_at_once, _, _ = paced_run(embedded, pace=0.0)
    # one answer per epoch (47 batches): a person's pace in training time, on a machine of any speed
    paced, gaussian_paced, trainer, answers = paced_run(embedded, every_batches=47)
    assert at_once.queries_used == paced.queries_used == 30
    assert paced.epochs_done >= at_once.epochs_done + 15  # most answers came during extension epochs
    # no level trains above what the expert's answers still recognise
    assert float(trainer.table.level.max()) <= float(answers.max()) + 1e-6
    # Two runs whose answers arrive at different times differ by 1–2 points on Clean and Conform
    # (2,000 test images) and by up to 4 on the mean of the noisier Gaussian curve (this pair: 64.46
    # at once, 60.74 paced; which epoch an answer lands in moves the curve as a seed does). What the
    # extension used to do is far larger: 24 extension epochs cost the paper's AQPL-CAT
    # 11.6 points of clean accuracy (levels raised to 1.0) and AQPL-GNT with neighbours 8.9 on the
    # Gaussian curve (epochs at the answers' low levels). The issue's goal, 1.5 points with 60
    # answers at 3 s, is the slow test below.
    assert paced.clean >= at_once.clean - 3.0
    assert paced.conform >= at_once.conform - 3.0
    assert gaussian_paced >= gaussian_at_once - 5.0


@pytest.mark.slow
def test_the_gui_session_replayed_at_three_seconds_an_answer(tmp_path):
    """The issue's goal on the embedded set: 60 answers at --oracle-pace 3 end within 1.5 points of
    the same answers at --oracle-pace 0 on Clean, Gaussian and Conform, and Clean ≥ Standard − 10."""
    import subprocess
    import sys

    def run(*args):
        out = tmp_path / "-".join(a.strip("-") for a in args)
        subprocess.run([sys.executable, "-m", "app", "--simulate-oracle", *args, "--eval-every", "0", "--quiet",
                        "--out", str(out)], check=True, capture_output=True)
        methods = json.loads((out / "results.json").read_text())["methods"]
        return next(iter(methods.values()))

    standard = run("--method", "standard")
    at_once = run("--preset", "gui", "--budget", "60", "--oracle-pace", "0")
    paced = run("--preset", "gui", "--budget", "60", "--oracle-pace", "3")
    for row in ("clean", "gaussian", "conform"):
        assert paced[row]["mean"] >= at_once[row]["mean"] - 1.5, row
    assert paced["clean"]["mean"] >= standard["clean"]["mean"] - 10
