"""Issue 14: nothing silently wrong. Every bad input is refused in one line that names the
problem and the fix, every decision taken on the user's behalf is a visible warning, and every
output is whole (docs/projects.md → "What was tried → what the user sees")."""

import errno
import json
import os
import pickle
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from app.engine.data import load_dataset
from app.errors import AQPLError, DatasetError, SettingsError
from app.engine.events import Query
from app.engine.oracle import ReplayOracle, nearest_grid_level
from app.engine.oracle.replay import load_answers
from app.engine.project import Project, ProjectError
from tests.helpers import (SHORT_RUN, TINY_RUN, Warnings, error_line, fill_disk, one_line, read_only, run_cli, settings,
                           write_cifar, write_idx, write_image_folder, write_mnist)

pytestmark = pytest.mark.usefixtures("one_thread")


# -- datasets: silently wrong before ------------------------------------------------------------
def test_an_empty_training_or_test_split_is_refused(tmp_path):
    write_mnist(tmp_path, 20, 10, pixels="zeros")
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((0, 28, 28)))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros((0,)))
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", str(tmp_path))
    assert "has no training images" in one_line(error.value)
    (tmp_path / "b").mkdir()
    write_mnist(tmp_path / "b", 20, 10, pixels="zeros")
    write_idx(tmp_path / "b" / "t10k-images-idx3-ubyte.gz", np.zeros((0, 28, 28)))
    write_idx(tmp_path / "b" / "t10k-labels-idx1-ubyte.gz", np.zeros((0,)))
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", str(tmp_path / "b"))
    assert "has no test images: accuracies would be meaningless" in one_line(error.value)


def test_cifar_batches_of_floats_are_refused_not_read_as_black(tmp_path):
    folder = write_cifar(tmp_path, 4, pixels="zeros", meta=False)
    (folder / "data_batch_3").write_bytes(pickle.dumps({"data": np.random.rand(4, 3072), "labels": [0, 1, 2, 3]}))
    with pytest.raises(DatasetError) as error:
        load_dataset("cifar10", str(tmp_path))
    assert "data_batch_3: data are float64 values in [" in one_line(error.value)
    assert "expected uint8 pixel values 0..255" in str(error.value)


@pytest.mark.parametrize("labels, expected", [
    (["cat", "dog", "cat", "dog"], "the labels are text (e.g. 'cat')"),
    ([0.0, 1.5, 2.0, 3.0], "label 1.5 is not a whole number"),
])
def test_cifar_labels_that_are_not_class_numbers(tmp_path, labels, expected):
    folder = write_cifar(tmp_path, 4, pixels="zeros", meta=False)
    (folder / "test_batch").write_bytes(pickle.dumps({"data": np.zeros((4, 3072), np.uint8), "labels": labels}))
    with pytest.raises(DatasetError) as error:
        load_dataset("cifar10", str(tmp_path))
    assert "test_batch" in one_line(error.value) and expected in str(error.value)


def test_fractional_idx_labels_are_refused_not_truncated(tmp_path):
    write_mnist(tmp_path, 20, 10, pixels="zeros")
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(20) % 10 + 0.5, code=0x0D)  # IDX type 0x0D: big-endian float32
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", str(tmp_path))
    assert "train-labels-idx1-ubyte.gz: label 0.5 is not a whole number" in one_line(error.value)


def test_sixteen_bit_pngs_are_scaled_not_clipped(tmp_path):
    deep = np.linspace(0, 65535, 64).reshape(8, 8).astype(np.uint16)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for k in range(5):
            Image.fromarray(deep).save(tmp_path / name / f"{k}.png")  # Pillow writes 16-bit grayscale
    assert Image.open(tmp_path / "a" / "0.png").mode == "I;16"
    dataset = load_dataset("imagefolder", str(tmp_path))
    expected = torch.from_numpy(np.round(deep / 257.0).astype(np.uint8))
    assert torch.equal(dataset.train_x[0, 0], expected)  # not 99% white
    assert any("more than 8 bits per pixel" in w and "scaled to 8 bits" in w for w in dataset.extra["warnings"])


def _png_header_only(path, width, height):
    """A PNG whose header claims width × height: Pillow refuses it at open, before decoding."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_a_decompression_bomb_is_a_one_line_error(tmp_path):
    write_image_folder(tmp_path, per_class=5, size=16, pixels="flat")
    _png_header_only(tmp_path / "dog" / "huge.png", 13400, 13400)
    with pytest.raises(DatasetError) as error:
        load_dataset("imagefolder", str(tmp_path))
    assert "huge.png is too large to decode safely" in one_line(error.value) and "shrink the image" in str(error.value)


def test_a_one_class_image_folder_is_refused(tmp_path):
    write_image_folder(tmp_path, classes=("cat",), per_class=5, size=16, pixels="flat")
    with pytest.raises(DatasetError) as error:
        load_dataset("imagefolder", str(tmp_path))
    assert "one class only (cat): a classifier needs at least two classes" in one_line(error.value)


def test_image_size_zero_is_blamed_on_the_option_not_an_image(tmp_path, capsys):
    write_image_folder(tmp_path / "img", per_class=5, size=16, pixels="flat")
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", tmp_path / "img", "--image-size", "0", "--out", tmp_path / "o")
    assert code == 2 and "--image-size 0 is not a size" in error_line(stderr) and "not a readable image" not in stderr


def test_images_too_small_for_the_model(tmp_path, capsys):
    write_image_folder(tmp_path / "img", size=1)
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", tmp_path / "img", "--out", tmp_path / "o")
    line = error_line(stderr)
    assert code == 2 and "images of 1×1 pixels are too small for the small-cnn model (it needs at least 4×4)" in line


# -- replayed answers ------------------------------------------------------------------------------
@pytest.mark.parametrize("level", ["nan", "inf", "-inf"])
def test_replayed_levels_that_are_not_finite_are_refused(tmp_path, level):
    csv_file = tmp_path / "a.csv"
    csv_file.write_text(f"example_id,level\n0,0.3\n1,{level}\n")
    with pytest.raises(AQPLError) as error:
        load_answers(csv_file)
    assert f"a.csv line 3: level '{level}' is not a finite number" in one_line(error.value)
    npy = tmp_path / "levels.npy"
    np.save(npy, np.array([0.1, float(level), 0.2]))
    with pytest.raises(AQPLError) as error:
        load_answers(npy)
    assert "levels.npy: the level of example 1 is" in one_line(error.value) and "finite number" in str(error.value)


def test_a_two_column_levels_file_is_refused_not_flattened(tmp_path):
    np.save(tmp_path / "levels.npy", np.full((10, 2), 0.3))
    with pytest.raises(AQPLError) as error:
        load_answers(tmp_path / "levels.npy")
    assert "holds an array of shape (10, 2): a levels file is one level per training example" in one_line(error.value)
    np.save(tmp_path / "column.npy", np.full((10, 1), 0.3))  # a single column is still one level per example
    assert load_answers(tmp_path / "column.npy") == {i: 0.3 for i in range(10)}


@pytest.mark.parametrize("text", [
    "\ufeffexample_id,level\n3,0.4\n5,\n",  # a byte-order mark (Excel's "CSV UTF-8")
    "example_id;level\n3;0.4\n5;\n",  # a European spreadsheet's separator
    "example_id\tlevel\n3\t0.4\n5\t\n",
])
def test_spreadsheet_csv_exports_are_read(tmp_path, text):
    (tmp_path / "a.csv").write_text(text, encoding="utf-8")
    assert load_answers(tmp_path / "a.csv") == {3: 0.4, 5: None}


def test_a_csv_without_the_columns_names_what_it_found(tmp_path):
    (tmp_path / "a.csv").write_text("id,answer\n3,0.4\n")
    with pytest.raises(AQPLError) as error:
        load_answers(tmp_path / "a.csv")
    assert "has no 'example_id' and 'level' columns (its header row holds 'id', 'answer')" in one_line(error.value)


def test_answers_given_as_a_folder(tmp_path):
    Project.create(tmp_path / "p", settings(SHORT_RUN)).close()
    with pytest.raises(AQPLError) as error:
        load_answers(tmp_path / "p")
    assert f"is a folder, not a file: pass {tmp_path / 'p' / 'answers.sqlite'}" in one_line(error.value)


def test_replayed_levels_outside_the_grid_are_clamped_with_a_warning(tmp_path):
    (tmp_path / "a.csv").write_text("example_id,level\n0,-0.5\n1,7\n2,0.3\n")
    warnings = []
    oracle = ReplayOracle(tmp_path / "a.csv", on_warning=warnings.append)
    grid = [0.0, 0.5, 1.0]
    queries = [Query(example_id=i, label=0, class_name="c", level=0.0, round=1, utility=0.0, noise_seed=0, grid=grid)
               for i in range(3)]
    levels = oracle.answer(queries)
    assert [nearest_grid_level(grid, level) for level in levels] == [0.0, 1.0, 0.5]
    assert len(warnings) == 1
    assert "2 recorded level(s) lie outside the grid [0, 1] (e.g. example 0: -0.5)" in warnings[0]


def test_answers_without_the_replay_oracle_are_refused(tmp_path, capsys, images):
    (tmp_path / "a.csv").write_text("example_id,level\n0,0.3\n")
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", images, "--method", "aqpl-gnt",
                              "--answers", tmp_path / "a.csv", "--out", tmp_path / "o")
    assert code == 2 and "is only read by the replay oracle: add --oracle replay" in error_line(stderr)


@pytest.mark.parametrize("name", ["runs#1", "100%", "what?", "a%23b"])
def test_the_answers_database_is_opened_by_its_real_name(tmp_path, name):
    from app.engine.events import AnswerRecord

    with Project.create(tmp_path / name, settings(SHORT_RUN)) as project:
        project.store.record_answer(AnswerRecord(example_id=7, level=0.3, grid=[0.0, 0.3], noise_seed=0,
                                                 time_taken_s=1.0, wall_time=0.0, round=1, step=0))
    assert load_answers(tmp_path / name / "answers.sqlite") == {7: 0.3}
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no other file opened or created


# -- settings ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, message", [
    (["--budget", "inf"], "budget 'inf' is not a finite number"),
    (["--budget", "nan"], "budget 'nan' is not a finite number"),
    (["--seeds", "99999999999999999999"], "seed 99999999999999999999 is out of range"),
    (["--seeds", ""], "'' holds no seed: give at least one"),
    (["--grid", "0.5"], "has one level, so the expert would have no choice"),
    (["--cat-smoothing", "-0.2"], "cat-smoothing is -0.2: it must be a number ≥ 0"),
])
def test_nonsense_settings_are_refused(tmp_path, capsys, images, argv, message):
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", images, "--method", "cat", "--out", tmp_path / "o", *argv)
    assert code == 2 and message in error_line(stderr)


@pytest.mark.parametrize("line, expected", [
    ("epochs = 2.5", "epochs = 2.5 has the wrong type (float): give a whole number, e.g. epochs = 10"),
    ('batch_size = "128"', 'batch_size = "128" has the wrong type (str): give a whole number'),
    ('model = "vgg16"', "unknown model 'vgg16': choose one of auto, small-cnn"),
    ("grid = [0.0, true]", "grid = [0.0, True] has the wrong type (list): give a list of numbers"),
])
def test_hand_edited_settings_are_refused_where_the_gui_opens_them(tmp_path, tiny, line, expected):
    Project.create(tmp_path / "p", settings(SHORT_RUN)).close()
    path = tmp_path / "p" / "settings.toml"
    key = line.split(" = ")[0]
    path.write_text("\n".join([l for l in path.read_text().splitlines() if not l.startswith(f"{key} = ")] + [line]) + "\n")
    with pytest.raises(SettingsError) as error:
        Project.open(tmp_path / "p").make_trainer(tiny)  # what the GUI does with a project
    assert one_line(error.value).startswith(str(path)) and expected in str(error.value)


def test_unknown_models_are_aqpl_errors():
    from models import build

    with pytest.raises(AQPLError, match="unknown model 'vgg16'"):
        build("vgg16", 10, 1, 28)


def test_a_budget_over_the_training_set_is_capped_with_a_warning(tmp_path, tiny):
    warnings = Warnings()
    for budget in ("150%", "1e9"):
        with Project.create(tmp_path / budget, settings(SHORT_RUN, budget=budget)) as project:
            trainer = project.make_trainer(tiny, callbacks=warnings)
            assert trainer.book.budget == len(tiny.train_x)
    n = len(tiny.train_x)
    assert any(f"budget 150% asks for {round(1.5 * n)} queries but the training set has {n} examples: at most {n}" in m
               for m in warnings.messages)
    assert any("budget 1e9 asks for 1000000000 queries" in m for m in warnings.messages)


def test_a_diverging_loss_is_reported(tiny):
    from app.engine.trainer import Trainer

    warnings = Warnings()
    Trainer(settings(SHORT_RUN, method="standard", epochs=2, lr=1e30, eval_subset=10), tiny, callbacks=warnings).run()
    diverged = [m for m in warnings.messages if "training diverged" in m]
    assert len(diverged) == 1 and "lower the learning rate (lr 1e+30" in diverged[0]


# -- paths and the operating system --------------------------------------------------------------------
def test_out_that_cannot_be_a_folder(tmp_path, capsys, images):
    (tmp_path / "file").write_text("x")
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", images, "--out", tmp_path / "file")
    assert code == 2 and "is a file, not a folder: give a folder path" in error_line(stderr)
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", images, "--out", tmp_path / ("n" * 300))
    assert code == 2 and "File name too long: use a shorter name" in error_line(stderr)


def test_out_on_a_read_only_folder(tmp_path, capsys, images):
    (tmp_path / "ro").mkdir()
    with read_only(tmp_path / "ro"):
        for out in (tmp_path / "ro" / "out", tmp_path / "ro"):  # to be created, or there already
            code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", images, "--out", out)
            assert code == 2 and f"--out {out} cannot be written" in error_line(stderr)
            assert "writable" in stderr or "permissions" in stderr


def test_paths_that_are_not_utf8_are_refused(tmp_path, capsys, images):
    bad = os.fsdecode(bytes(tmp_path) + b"/caf\xe9")
    for option in ("--out", "--project"):
        code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", images, option, bad)
        assert code == 2 and f"{option} {tmp_path}/caf\\xe9 is not a valid UTF-8 path" in error_line(stderr)


def test_a_read_only_cache_folder(tmp_path, monkeypatch):
    from app.engine.cache import cache_dir
    from app.engine.corruptions.cache import SuiteCache

    monkeypatch.setenv("AQPL_CACHE_DIR", str(tmp_path / "file" / "cache"))
    (tmp_path / "file").write_text("not a folder")
    for make in (lambda: cache_dir("oracle"), lambda: SuiteCache(tmp_path / "file" / "suites", {})):
        with pytest.raises(AQPLError) as error:
            make()
        assert "cannot create the cache folder" in one_line(error.value) and "set AQPL_CACHE_DIR to a writable folder" in str(error.value)


def test_os_errors_reach_the_user_as_one_line(capsys):
    from app.cli.report import run_reporting

    def body():
        raise PermissionError(errno.EACCES, "Permission denied", "/srv/shared/results.json")

    assert run_reporting(body) == 2
    assert capsys.readouterr().err == (
        "error: /srv/shared/results.json: Permission denied: pick a folder you may write to (or fix its permissions)\n"
    )


def test_long_project_names_and_paths(tmp_path):
    Project.create(tmp_path / ("p" * 250), settings(SHORT_RUN)).close()  # a legal name stays legal while it is created
    with pytest.raises(ProjectError) as error:
        Project.create(tmp_path / ("p" * 256), settings(SHORT_RUN))
    assert "is too long for the file system" in one_line(error.value) and "use a shorter folder name" in str(error.value)
    deep = tmp_path
    while len(str(deep)) < 600:
        deep = deep / ("d" * 60)
    deep.mkdir(parents=True)
    with pytest.raises(ProjectError) as error:
        Project.create(deep / "p", settings(SHORT_RUN))
    message = one_line(error.value)
    assert "more than SQLite can open (512)" in message and "read-only" not in message and "permissions" not in message


# -- outputs are whole ---------------------------------------------------------------------------------
def test_a_failed_export_is_not_a_finished_run(tmp_path, capsys, monkeypatch):
    """The export fails after training (a full disk): the run is not marked finished, the next
    run writes the export and only then marks it; an export lost later is written again."""
    from app.engine.project import exports

    monkeypatch.chdir(tmp_path)  # where the default runs/latest would be
    data = write_image_folder(tmp_path / "img", classes=("cat", os.fsdecode(b"caf\xe9")))
    project = tmp_path / "p"
    real = exports.export_program

    def full_disk(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(exports, "export_program", full_disk)
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", data, "--project", project)
    assert code == 2 and "is full, could not write the export" in error_line(stderr)
    assert not (project / "results.json").exists()

    monkeypatch.setattr(exports, "export_program", real)
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", data, "--project", project)
    assert code == 0, stderr
    assert "already finished" not in stderr
    assert (project / "results.json").exists()
    levels = (project / "export" / "levels.csv").read_text(encoding="utf-8").splitlines()
    assert len(levels) == 1 + 12 and any(",caf\ufffd," in line for line in levels)  # 80% of 16 images train
    assert "class folder name(s)" in stderr and "not valid UTF-8" in stderr
    # --project without --out: the summary lives in the project, runs/latest is not touched
    summary = json.loads((project / "summary" / "results.json").read_text())
    assert summary["methods"]["standard"]["runs"][0]["epochs_done"] == 1
    assert f"the summary goes to {project / 'summary'}" in stderr and not (tmp_path / "runs").exists()

    (project / "export" / "model.pt2").unlink()  # lost after the run was marked finished
    code, _, stderr = run_cli(capsys, *TINY_RUN, "--data-dir", data, "--project", project)
    assert code == 0 and "export is incomplete, writing it again" in stderr
    program = torch.export.load(project / "summary" / "models" / "standard-seed0.pt2")
    assert program.module()(torch.rand(3, 1, 8, 8)).shape == (3, 2)
    assert not list(project.rglob(".*.tmp-*"))  # no temporary file left anywhere


def test_a_full_disk_during_the_model_export_raises_instead_of_aborting(tiny_disk):
    from app.engine.export import export_program
    from models import build

    filler = tiny_disk / "filler"
    fill_disk(filler)
    with pytest.raises(OSError) as error:
        export_program(build("small-cnn", 10, 1, 28), torch.zeros(2, 1, 28, 28), tiny_disk / "model.pt2")
    assert error.value.errno == errno.ENOSPC
    assert not (tiny_disk / "model.pt2").exists() and sorted(p.name for p in tiny_disk.iterdir()) == ["filler"]


def test_results_json_holds_null_for_a_value_that_could_not_be_measured(tmp_path):
    from app.engine.report import write_reports
    from app.engine.result import RunResult

    run = RunResult(method="standard", seed=0, clean=50.0, gaussian=None, all=None, per_corruption={},
                    curve_levels=[0.0, 0.5], curve_accuracy=[50.0, float("nan")], queries_used=0, budget=0,
                    epochs_done=1, stopped_early=False, seconds=1.0, device="cpu")
    write_reports({"standard": [run]}, tmp_path, {}, "embedded")
    text = (tmp_path / "results.json").read_text()
    assert "NaN" not in text and json.loads(text)["methods"]["standard"]["curve_accuracy"] == [50.0, None]
