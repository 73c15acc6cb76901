"""The first command of the README without a display: the headless demo, its settings and its
printed time; live evaluations, which it leaves out, change no number of the results."""

import pytest
import torch

from app.cli import main as cli_main
from app.engine.oracle import ReplayOracle
from app.engine.settings import Settings
from app.engine.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")


def test_without_a_display_the_demo_runs_headless_and_prints_its_time(monkeypatch, capsys):
    seen = {}
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(cli_main.sys, "platform", "linux")
    monkeypatch.setattr("app.cli.headless.run_headless", lambda args: seen.setdefault("args", args) and 0)
    assert cli_main.main([]) == 0
    # one process with torch's threads: two 1-thread workers were slower on 2 cores (docs/scale-out.md)
    assert seen["args"].simulate_oracle and seen["args"].eval_every == 0 and seen["args"].jobs in (None, 1, "1")
    assert "the headless demo took 0 min 0" in capsys.readouterr().out
    seen.clear()
    assert cli_main.main(["--eval-every", "2", "--jobs", "1"]) == 0  # asked for: kept
    assert seen["args"].eval_every == 2 and seen["args"].jobs == 1


def test_live_evaluations_change_no_result(small, tmp_path):
    path = tmp_path / "levels.pt"
    torch.save({"levels": torch.full((len(small.train_x),), 0.3)}, path)
    results = []
    for every in (1, 0):
        settings = Settings(method="aqpl-cat", epochs=2, warmup_epochs=1, batch_size=100, budget="20", eval_every=every, eval_subset=100)
        trainer = Trainer(settings, small, oracle=ReplayOracle(path))
        results.append((trainer.run(), trainer))
    (with_live, a), (without, b) = results
    assert len(a.history) == 2 and len(b.history) == 1  # one live evaluation, then the final one
    assert with_live.clean == without.clean and with_live.curve_accuracy == without.curve_accuracy
    assert torch.equal(a.table.level, b.table.level)
    assert all(torch.equal(p, q) for p, q in zip(a.model.state_dict().values(), b.model.state_dict().values()))
