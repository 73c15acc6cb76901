"""Issue 23, "what is still wrong": the last silently wrong result and the unclear messages found
by trying bad inputs and faults as a new user would (docs/projects.md, the fault table)."""

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from app.engine.data import load_dataset
from app.engine.data.images import read_images
from app.errors import AQPLError, SettingsError
from app.engine.oracle import ReplayOracle
from app.engine.project import Project, ProjectError
from tests.helpers import SHORT_RUN, TINY_RUN, error_line, one_line, run_cli, settings, write_mnist

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parents[1]


REPLAY = (*TINY_RUN, "--method", "aqpl-gnt", "--epochs", "2", "--warmup-epochs", "1", "--oracle", "replay")


def warning_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "warning:" in line]


# -- replayed recordings that do not fit the training set ---------------------------------------------
def test_a_recording_with_no_answer_for_this_training_set_is_refused(tmp_path, capsys, images):
    (tmp_path / "a.csv").write_text("example_id,level\n500,0.3\n600,0.2\n")
    code, _, stderr = run_cli(capsys, *REPLAY, "--data-dir", images, "--answers", tmp_path / "a.csv",
                              "--budget", "5", "--out", tmp_path / "o")
    line = error_line(stderr)
    assert code == 2 and f"{tmp_path / 'a.csv'}: none of its 2 recorded answers is for this training set" in line
    assert "ids 500..600, but the set has 12 examples" in line and "replay a recording made on this dataset" in line
    assert not (tmp_path / "o" / "results.json").exists()  # before: "queries 0/5", rc 0


def test_a_recording_of_part_of_the_set_says_how_much_is_usable(tmp_path, capsys, images):
    (tmp_path / "a.csv").write_text("example_id,level\n0,0.3\n1,0.2\n2,\n700,0.1\n")
    code, _, stderr = run_cli(capsys, *REPLAY, "--data-dir", images, "--answers", tmp_path / "a.csv",
                              "--budget", "5", "--out", tmp_path / "o")
    assert code == 0, stderr
    notes = [line for line in warning_lines(stderr) if "holds answers for" in line]
    assert notes == [
        f"warning: {tmp_path / 'a.csv'} holds answers for 3 of the 12 training examples (1 recorded id(s) ≥ 12 are "
        "not in this set and are ignored): only those 3 can be asked, not the budget's 5"
    ]


def test_replay_coverage_in_process(tmp_path):
    np.save(tmp_path / "levels.npy", np.full(10, 0.3))
    oracle = ReplayOracle(tmp_path / "levels.npy")
    assert oracle.coverage(10) is None and oracle.coverage(8) is None  # covers every example
    assert "holds answers for 10 of the 20 training examples: only those 10 can be asked" in oracle.coverage(20)
    (tmp_path / "empty.csv").write_text("example_id,level\n")
    with pytest.raises(AQPLError) as error:
        ReplayOracle(tmp_path / "empty.csv").coverage(10)
    assert "empty.csv holds no answers" in one_line(error.value)


def test_replay_warnings_are_printed_above_the_progress_bar(tmp_path, capsys, images):
    (tmp_path / "a.csv").write_text("example_id,level\n" + "".join(f"{i},7\n" for i in range(12)))
    argv = [a for a in REPLAY if a != "--quiet"]  # the bar is drawn
    code, _, stderr = run_cli(capsys, *argv, "--data-dir", images, "--answers", tmp_path / "a.csv",
                              "--budget", "4", "--out", tmp_path / "o")
    assert code == 0, stderr
    outside = [line for line in stderr.split("\n") if "lie outside the grid" in line]
    assert outside, stderr
    # what the terminal shows of that line: the text after its last carriage return
    assert all(line.split("\r")[-1].startswith("warning: ") for line in outside), outside


# -- options and settings that were recorded but not used --------------------------------------------
def test_image_size_is_refused_for_datasets_it_does_not_resize(tmp_path, capsys):
    (tmp_path / "m").mkdir()
    write_mnist(tmp_path / "m", 20, 10, pixels="zeros")
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--dataset", "mnist", "--data-dir", tmp_path / "m",
                              "--image-size", "14", "--out", tmp_path / "o")
    line = error_line(stderr)
    assert code == 2 and "--image-size 14 resizes only an image folder (--dataset imagefolder)" in line
    assert "drop --image-size" in line and not (tmp_path / "o" / "results.json").exists()


def test_image_size_is_recorded_as_used_for_an_image_folder(tmp_path, capsys, images):
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", images, "--image-size", "12", "--out", tmp_path / "o")
    assert code == 0, stderr
    toml = (tmp_path / "o" / "runs" / "standard-seed0" / "settings.toml").read_text()
    assert "image_size = 12" in toml
    assert load_dataset("imagefolder", str(images), 12).train_x.shape[-1] == 12


def test_tiny_mnist_images_are_blamed_on_the_files_not_on_image_size(tmp_path, capsys):
    (tmp_path / "m").mkdir()
    write_mnist(tmp_path / "m", 20, 10, pixels="zeros", side=1)
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--dataset", "mnist", "--data-dir", tmp_path / "m", "--out", tmp_path / "o")
    line = error_line(stderr)
    assert code == 2 and "images of 1×1 pixels are too small for the small-cnn model" in line
    assert "do not hold mnist images; replace them (--image-size resizes only --dataset imagefolder)" in line
    assert "for an image folder" not in line


def test_a_project_naming_an_unknown_dataset(tmp_path, capsys, images):
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", images, "--project", tmp_path / "p", "--out", tmp_path / "o")
    assert code == 0, stderr
    toml = tmp_path / "p" / "settings.toml"
    toml.write_text(toml.read_text().replace('dataset = "imagefolder"', 'dataset = "imagefoldr"'))
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", images, "--project", tmp_path / "p", "--out", tmp_path / "o")
    line = error_line(stderr)
    assert code == 2 and f"{toml}: unknown dataset 'imagefoldr': choose one of embedded" in line
    assert "delete" not in line
    toml.write_text(toml.read_text().replace('dataset = "imagefoldr"', 'dataset = "mnist"') + "image_size = 14\n")
    with pytest.raises(SettingsError) as error:
        Project.open(tmp_path / "p")
    assert "image_size = 14 applies only to dataset \"imagefolder\"" in one_line(error.value)


def test_other_settings_never_advise_deleting_the_project(tmp_path, capsys, images):
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", images, "--project", tmp_path / "p", "--out", tmp_path / "o")
    assert code == 0, stderr
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", images, "--project", tmp_path / "p", "--out", tmp_path / "o",
                              "--epochs", "3")
    line = error_line(stderr)
    assert code == 2 and "holds a run with other settings (epochs 1 → 3)" in line
    assert "delete" not in line and f"the settings it was started with (in {tmp_path / 'p' / 'settings.toml'})" in line


# -- files where folders belong, huge images -----------------------------------------------------------
def test_a_checkpoints_file_is_named(tmp_path):
    Project.create(tmp_path / "p", settings(SHORT_RUN)).close()
    (tmp_path / "p" / "checkpoints").rmdir()
    (tmp_path / "p" / "checkpoints").write_text("x")
    with pytest.raises(ProjectError) as error:
        Project.open(tmp_path / "p")
    line = one_line(error.value)
    assert f"{tmp_path / 'p' / 'checkpoints'} is a file, but the project keeps its checkpoints in a folder" in line
    assert "move or rename that file" in line


def test_a_very_large_image_is_one_clear_line_not_pillows_warning(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (9500, 9500)).save(path)  # 90 million pixels: over Pillow's warning limit
    notes = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images = read_images([path], image_size=8, notes=notes)
    assert images.shape == (1, 1, 8, 8)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert len(notes) == 1 and f"1 image(s) of more than 89 million pixels (e.g. {path}, 9500×9500)" in notes[0]
    assert "shrink them" in notes[0]


# -- signals, devices, interrupted builds, refused paths ----------------------------------------------
def test_sigterm_says_terminated(tmp_path, images):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    argv = [a for a in TINY_RUN if a not in ("--epochs", "1")]
    process = subprocess.Popen(
        [sys.executable, "-m", "app", *argv, "--epochs", "100000", "--data-dir", str(images), "--out", str(tmp_path / "o")],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
    )
    started = time.time()
    for line in process.stderr:  # "Dataset(...) on cpu; ..." is said right before the runs start
        if " on cpu; methods " in line or time.time() - started > 120:
            break
    time.sleep(2)  # training
    process.send_signal(signal.SIGTERM)
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 143
    assert stderr.strip().splitlines()[-1] == "terminated" and "Traceback" not in stderr


def test_the_cuda_warning_is_said_once(tmp_path, capsys, images):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", images, "--device", "cuda", "--out", tmp_path / "o")
    assert code == 0, stderr
    assert len([line for line in stderr.splitlines() if "CUDA was requested" in line]) == 1


def test_an_interrupted_suite_build_leaves_no_partial_file(tmp_path, tiny, monkeypatch):
    from app.engine.corruptions import loading

    real, calls = loading.generate_set, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    small = type(tiny)(name="edge", train_x=tiny.train_x[:20], train_y=tiny.train_y[:20], test_x=tiny.test_x[:8],
                       test_y=tiny.test_y[:8], classes=tiny.classes)
    monkeypatch.setattr(loading, "generate_set", interrupted)
    with pytest.raises(KeyboardInterrupt):
        loading.load_suite(small, cache_dir=tmp_path)
    assert list(tmp_path.rglob(".*.tmp-*")) == []
    # a build killed outright (SIGKILL) leaves its file: the next build removes it
    folder = next(p for p in tmp_path.rglob("meta.json")).parent
    (folder / ".fog.tmp-99999999.npy").write_bytes(b"half")  # a build killed outright
    monkeypatch.setattr(loading, "generate_set", real)
    loading.load_suite(small, cache_dir=tmp_path)
    assert list(tmp_path.rglob(".*.tmp-*")) == []


def test_a_refused_long_path_leaves_no_empty_folders(tmp_path, capsys, images):
    deep = tmp_path / "lp"
    for _ in range(15):
        deep = deep / ("d" * 40)
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", images, "--project", deep / "proj")
    assert code == 2 and "more than SQLite can open (512)" in error_line(stderr)
    assert not (tmp_path / "lp").exists()
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", images, "--out", deep / "out")
    assert code == 2 and "more than SQLite can open (512)" in error_line(stderr)
    assert not (tmp_path / "lp").exists()
