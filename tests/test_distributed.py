"""One run on two CPU processes (torchrun, gloo): it finishes, the ranks agree, and it lands
near a one-process run of the same seed; a run checkpointed by two processes resumes on one."""

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from app.cli.main import main
from tests.helpers import write_mnist

# DDP changes the training noise (each rank draws its own) and BatchNorm's batch (each rank
# normalises over its half), not the examples of a step or the schedule: the result moves
# like a change of seed. On this set, four one-process seeds spread over clean 40.0-48.5 and
# gaussian 13.9-24.8 (batch 32, 2 epochs); the tolerance is that spread, rounded up.
TOLERANCE = {"clean": 10.0, "gaussian": 12.0}


def argv(data, out):
    return ["--simulate-oracle", "--dataset", "mnist", "--data-dir", data, "--method", "aqpl-cat", "--seeds", "0",
            "--epochs", "2", "--warmup-epochs", "1", "--reference-epochs", "1", "--budget", "5%", "--batch-size", "32",
            "--eval-every", "1", "--quiet", "--out", str(out)]


def result(out) -> dict:
    return json.loads((out / "results.json").read_text())["methods"]["aqpl-cat"]["runs"][0]


@pytest.fixture(scope="module")
def data(tmp_path_factory, embedded):
    return str(write_mnist(tmp_path_factory.mktemp("ddp-mnist"), 400, 200, compress=False, dataset=embedded))


def test_two_processes_train_one_run(data, tmp_path, one_thread):
    single = tmp_path / "single"
    assert main(argv(data, single)) == 0  # also fills the suite and oracle caches the ranks read
    ddp = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # its own session: a hung run is killed with its ranks, never left behind
    run = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                            "-m", "app", *argv(data, ddp)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=env, start_new_session=True)
    try:
        _, stderr = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 0, stderr[-3000:]
    # the two ranks write at once, so a line may run into the next: match the 12-digit hashes exactly
    states = dict(re.findall(r"rank (\d)/2: (level table [0-9a-f]{12}, model [0-9a-f]{12})", stderr))
    assert set(states) == {"0", "1"} and states["0"] == states["1"]  # the same table and weights on every rank
    two, one = result(ddp), result(single)
    assert two["queries_used"] == one["queries_used"] == 20 and two["epochs_done"] == 2
    for name, tolerance in TOLERANCE.items():
        assert abs(two[name] - one[name]) <= tolerance, (name, two[name], one[name])
    # rank 0 alone wrote the project: one answer per query, one metrics line per evaluation
    lines = (ddp / "runs" / "aqpl-cat-seed0" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2
    levels = (ddp / "levels" / "aqpl-cat-seed0.csv").read_text().splitlines()
    assert sum(line.split(",")[4] == "expert" for line in levels[1:]) == 20

    # resume with another number of processes: drop the result and the last checkpoint
    project = ddp / "runs" / "aqpl-cat-seed0"
    (project / "results.json").unlink()
    for checkpoint in (project / "checkpoints").glob("epoch-0002*"):
        checkpoint.unlink()
    assert main(argv(data, ddp)) == 0
    resumed = result(ddp)
    assert resumed["epochs_done"] == 2 and resumed["queries_used"] == 20
    assert abs(resumed["clean"] - one["clean"]) <= TOLERANCE["clean"]
