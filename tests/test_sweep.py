"""Parallel sweeps (--jobs): the same results as a serial run, and shared caches built once."""

import json
import multiprocessing

import pytest
import torch

from app.cli.main import main
from tests.helpers import slice_dataset, write_mnist


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, embedded):
    """200 / 100 real Fashion-MNIST images that worker processes load by name."""
    return str(write_mnist(tmp_path_factory.mktemp("tiny-mnist"), 200, 100, compress=False, dataset=embedded))


def sweep(tiny_dir, out, jobs):
    argv = ["--simulate-oracle", "--dataset", "mnist", "--data-dir", tiny_dir, "--method", "aqpl-cat", "--seeds", "0,1",
            "--epochs", "2", "--warmup-epochs", "1", "--reference-epochs", "1", "--budget", "10%", "--eval-every", "0",
            "--no-suite", "--quiet", "--out", str(out), "--jobs", str(jobs)]
    assert main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    for entry in results["methods"].values():
        for run in entry["runs"]:
            run.pop("seconds")  # wall time is the one thing allowed to differ
    return results, (out / "results.md").read_text()


def test_two_jobs_give_the_serial_results(tiny_dir, tmp_path, monkeypatch, one_thread):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # workers and the serial run: one thread each, same arithmetic
    serial = sweep(tiny_dir, tmp_path / "serial", 1)
    parallel = sweep(tiny_dir, tmp_path / "parallel", 2)
    assert parallel == serial
    runs = serial[0]["methods"]["aqpl-cat"]["runs"]
    assert [r["seed"] for r in runs] == [0, 1] and runs[0]["clean"] != runs[1]["clean"]  # two different runs
    assert runs[0]["queries_used"] == 20
    for seed in (0, 1):
        assert (tmp_path / "parallel" / "levels" / f"aqpl-cat-seed{seed}.csv").read_text() == \
            (tmp_path / "serial" / "levels" / f"aqpl-cat-seed{seed}.csv").read_text()


@pytest.mark.parametrize("jobs", ["0", "many"])
def test_bad_jobs_is_one_line(jobs, capsys):
    assert main(["--simulate-oracle", "--jobs", jobs, "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--jobs" in err and "auto" in err


def _ask_for_levels(dataset, barrier, answers):
    from app.engine.oracle import SimulatedOracle

    torch.set_num_threads(1)
    labels = []
    oracle = SimulatedOracle(dataset, [0.0, 0.5, 1.0], "small-cnn", 2, torch.device("cpu"),
                             progress=lambda done, total, label: labels.append(label))
    barrier.wait()  # both processes ask at the same moment
    levels = oracle.levels()
    answers.put((any("reference" in label for label in labels), levels.tolist()))


def test_two_processes_build_one_cache_entry_once(embedded):
    dataset = slice_dataset(embedded, 256, 10)
    context = multiprocessing.get_context("spawn")
    barrier, answers = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_ask_for_levels, args=(dataset, barrier, answers)) for _ in range(2)]
    for worker in workers:
        worker.start()
    built, levels = zip(*[answers.get(timeout=120) for _ in workers])
    for worker in workers:
        worker.join(30)
    assert sorted(built) == [False, True]  # one trained the reference model, the other waited and read it
    assert levels[0] == levels[1]
