"""Crash safety for real: a separate training process is SIGKILLed at random moments while a
simulated expert answers from another thread; every acknowledged answer must be in the project,
the project must open, and training must resume to the end with the level table the database
says. The benchmark (benchmarks/bench_project.py) runs the same trials 60 times; here
AQPL_KILL_TRIALS (default 8) keeps the suite fast."""

import os
import random
import signal

import torch

from crash_harness import DriverRun, kill_trials, write_levels


def test_acknowledged_answers_survive_random_kills(tmp_path):
    trials = int(os.environ.get("AQPL_KILL_TRIALS", "8"))
    stats = kill_trials(tmp_path, trials, seed=int(os.environ.get("AQPL_KILL_SEED", "0")), log=lambda line: None, epochs=3)
    assert stats["problems"] == []
    assert stats["lost"] == 0
    assert stats["trials"] == trials
    assert stats["killed"] >= trials // 2  # most trials really were killed mid-run
    assert stats["acked"] > 0  # ... and the expert had answered before the kills


def _run(args, kill_after: float | None = None) -> DriverRun:
    run = DriverRun(args)
    if kill_after is not None:
        run.ready.wait(120)
        run.ready.clear()
        import time

        time.sleep(kill_after)
        run.kill()
    run.wait()
    return run


def test_resumed_run_ends_with_the_level_table_of_an_uninterrupted_run(tmp_path):
    """Synchronous mode, replay oracle, same seed. The interrupted run dies right after a
    checkpoint, finds that checkpoint damaged (falls back to the previous one), dies in the middle
    of a round's answers (answers stored, checkpoint not yet written), and is killed at a
    random moment; it must end exactly where the uninterrupted run ends."""
    levels = write_levels(tmp_path / "levels.pt")
    common = ["--levels", str(levels), "--oracle", "replay", "--mode", "synchronous", "--epochs", "4", "--budget", "90"]
    reference = _run(["--project", str(tmp_path / "reference"), "--dump", str(tmp_path / "reference.pt"), *common])
    assert reference.process.returncode == 0, reference.output()

    project = tmp_path / "interrupted"
    args = ["--project", str(project), "--dump", str(tmp_path / "interrupted.pt"), *common]
    first = _run([*args, "--die-after-checkpoint", "2"])
    assert first.process.returncode == -signal.SIGKILL
    newest = project / "checkpoints" / "epoch-0002.ckpt"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])  # a torn write

    second = _run([*args, "--die-after-records", "3"])  # round 3, after 3 of its 30 answers
    assert second.process.returncode == -signal.SIGKILL
    assert any("epoch-0002.ckpt is truncated" in line and "previous one" in line for line in second.lines), second.output()

    delay = random.uniform(0.3, 2.0)
    _run(args, kill_after=delay)
    last = _run(args)
    assert last.process.returncode == 0, last.output()
    print(f"random kill {delay:.2f} s after READY")  # shown when the test fails

    expected, got = torch.load(tmp_path / "reference.pt"), torch.load(tmp_path / "interrupted.pt")
    for key in ("level", "source", "cap"):
        assert torch.equal(got["table"][key], expected["table"][key]), key
    assert got["book"]["answered"] == expected["book"]["answered"]
    assert got["clean"] == expected["clean"] and got["curve"] == expected["curve"]

    from app.engine.project import Project

    with Project.open(project) as reopened:
        rows = reopened.answers(include_undone=True)
    assert len(rows) == 90  # each answer stored once, though rounds 2 and 3 ran twice
