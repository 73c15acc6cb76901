"""The headless command line end to end, and its one-line errors for bad input."""

import json
import subprocess
import sys

import pytest
import torch

from tests.helpers import error_line, run_cli, write_mnist


def test_onnx_is_exported_when_asked_for(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, stderr = run_cli(capsys, "--simulate-oracle", "--method", "gnt", "--epochs", "1", "--eval-every", "0",
                              "--no-suite", "--quiet", "--onnx", "--out", str(out))
    assert code == 0, stderr
    onnx_file = out / "runs" / "gnt-seed0" / "export" / "model.onnx"
    assert onnx_file.stat().st_size > 10_000  # the small CNN's weights, self-contained


def test_all_methods_end_to_end_on_the_embedded_dataset(tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(
        capsys, "--simulate-oracle", "--method", "all", "--epochs", "2", "--warmup-epochs", "1",
        "--reference-epochs", "1", "--budget", "2%", "--seeds", "0", "--eval-every", "0", "--quiet", "--out", str(out),
    )
    assert code == 0, stderr
    # the paper-shaped table: rows Clean / Gaussian / All, one column per method
    for word in ("Standard", "GNT", "CAT", "AQPL-GNT", "AQPL-CAT", "Clean", "Gaussian", "All"):
        assert word in stdout
    results = json.loads((out / "results.json").read_text())
    assert set(results["methods"]) == {"standard", "gnt", "cat", "aqpl-gnt", "aqpl-cat"}
    for method, entry in results["methods"].items():
        assert 10 < entry["clean"]["mean"] <= 100  # better than chance after two epochs
        assert entry["all"] is not None and len(entry["per_corruption"]) == 15
        assert len(entry["curve_levels"]) == len(entry["curve_accuracy"]) == 11
        expected_queries = 120 if method.startswith("aqpl") else 0  # 2% of 6,000
        assert entry["queries_used"] == [expected_queries]
    assert (out / "results.md").read_text().count("|") > 20
    assert (out / "curves.png").stat().st_size > 5000
    levels = (out / "levels" / "aqpl-cat-seed0.csv").read_text().splitlines()
    assert levels[0] == "example_id,label,class_name,level,source,cap" and len(levels) == 6001
    assert sum(line.split(",")[4] == "expert" for line in levels[1:]) == 120
    # every run is a project: its answers are in its database and it is marked finished
    assert (out / "runs" / "aqpl-cat-seed0" / "answers.sqlite").exists()
    # ONNX only when asked for (--onnx): its exporter takes longer than an epoch
    assert not (out / "runs" / "aqpl-cat-seed0" / "export" / "model.onnx").exists()
    # each model is a torch.export program that loads without the project's code
    program = torch.export.load(out / "models" / "aqpl-cat-seed0.pt2")
    assert program.module()(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def gz_truncated(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:50])
    return str(tmp_path)


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "mnist", "--data-dir", "/nonexistent"], "does not exist"),
    (["--dataset", "mnist", "--data-dir", "{corrupt}"], "corrupt or truncated"),
    (["--dataset", "cifar10"], "needs --data-dir"),
    (["--dataset", "svhn"], "invalid choice: 'svhn'"),
    (["--method", "magic"], "invalid choice: 'magic'"),
    (["--budget", "-5"], "budget '-5' is negative"),
    (["--budget", "lots"], "is not a number"),
    (["--grid", ""], "grid is empty"),
    (["--grid", "0.3,0.1,0.2"], "not strictly increasing"),
    (["--grid", "0,0.5,1.5"], "outside [0, 1]"),
    (["--epochs", "0"], "epochs is 0"),
    (["--seeds", "a,b"], "not a comma-separated list of integers"),
    (["--oracle", "replay", "--method", "aqpl-cat", "--epochs", "2"], "needs --answers"),
    (["--oracle", "replay", "--method", "aqpl-cat", "--answers", "/nope.csv", "--epochs", "2"], "not found"),
])
def test_bad_input_gives_one_line_error(tmp_path, capsys, argv, message):
    argv = [a.replace("{corrupt}", gz_truncated(tmp_path)) if "{corrupt}" in a else a for a in argv]
    code, _, stderr = run_cli(capsys, "--simulate-oracle", "--no-suite", "--quiet", "--out", str(tmp_path / "o"), *argv)
    assert code == 2
    assert message in error_line(stderr), stderr


def test_no_traceback_reaches_the_terminal(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "app", "--simulate-oracle", "--dataset", "mnist", "--data-dir", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: mnist: folder")
    assert "Traceback" not in result.stderr
