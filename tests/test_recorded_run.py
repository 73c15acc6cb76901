"""Behaviour unchanged: a short AQPL-CAT run (replay oracle, seed 0, one thread) must end with
the level table, answers and metrics recorded in tests/data/recorded_run.json.

When a change is meant to alter the method's results (new scoring, a new oracle), record the
run again and commit the new file with the change:

    AQPL_RECORD=1 .venv/bin/python -m pytest -q tests/test_recorded_run.py
"""

import json
import os
from pathlib import Path

import pytest
import torch

from app.engine.oracle import ReplayOracle
from app.engine.trainer import Trainer

RECORDING = Path(__file__).parent / "data" / "recorded_run.json"


def short_run(tiny, make_settings, tmp_path) -> dict:
    levels = torch.tensor([round(0.1 * (i * 7 % 11), 1) for i in range(len(tiny.train_x))])
    torch.save({"levels": levels}, tmp_path / "levels.pt")
    settings = make_settings(method="aqpl-cat", epochs=3, batch_size=64, budget="40", queries_per_round=20,
                             warmup_epochs=1, eval_subset=100, seed=0)
    trainer = Trainer(settings, tiny, oracle=ReplayOracle(tmp_path / "levels.pt"))
    result = trainer.run()
    return {
        "level": [round(float(v), 6) for v in trainer.table.level],
        "source": trainer.table.source.tolist(),
        "cap": [round(float(v), 6) for v in trainer.table.cap],
        "answered": {str(k): v for k, v in sorted(trainer.book.answered.items())},
        "metrics": [
            {"epoch": m.epoch, "answers": m.answers, "clean": m.clean, "curve_accuracy": m.curve_accuracy,
             "loss": m.loss, "level_counts": m.level_counts}
            for m in trainer.history
        ],
        "queries_used": result.queries_used,
    }


def test_a_short_run_matches_the_recording(tiny, make_settings, tmp_path, one_thread):
    run = short_run(tiny, make_settings, tmp_path)
    if os.environ.get("AQPL_RECORD"):
        RECORDING.write_text(json.dumps(run, indent=1) + "\n")
        pytest.skip(f"recorded {RECORDING}: commit it")
    recorded = json.loads(RECORDING.read_text())
    assert run["queries_used"] == recorded["queries_used"]
    assert run["answered"] == recorded["answered"]  # the same examples asked, the same answers
    assert run["source"] == recorded["source"]
    assert run["level"] == pytest.approx(recorded["level"], abs=1e-6)
    assert run["cap"] == pytest.approx(recorded["cap"], abs=1e-6)
    assert len(run["metrics"]) == len(recorded["metrics"])
    for got, want in zip(run["metrics"], recorded["metrics"]):
        assert (got["epoch"], got["answers"], got["level_counts"]) == (want["epoch"], want["answers"], want["level_counts"])
        assert got["clean"] == pytest.approx(want["clean"], abs=1e-6)
        assert got["curve_accuracy"] == pytest.approx(want["curve_accuracy"], abs=1e-6)
        assert got["loss"] == pytest.approx(want["loss"], rel=1e-5)
