"""The bugs the fuzz suite (tests/test_fuzz_*.py) found, each pinned by the smallest input
that showed it: before its fix every one was a traceback, a raw library warning or a silently
wrong value (docs/projects.md, "Fuzzed inputs")."""

import gzip
import pickle
import sqlite3
import warnings

import numpy as np
import pytest
from PIL import Image

from app.engine.data import load_dataset
from app.engine.data.cifar import _read_batch
from app.engine.data.idx import read_idx
from app.engine.data.images import read_images
from app.errors import AQPLError, DatasetError, SettingsError
from app.engine.oracle.replay import load_answers
from app.engine.project.settings_file import read_settings
from tests.helpers import SHORT_RUN, one_line, settings


def answers_table(path, rows):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE answers (id INTEGER PRIMARY KEY, example_id, level, undone, round)")
    db.executemany("INSERT INTO answers (example_id, level, undone, round) VALUES (?, ?, ?, ?)", rows)
    db.commit()
    db.close()


@pytest.mark.parametrize("row, expected", [
    (("", 0.3, 0, 1), "answer 2 has example id '', not a training example's index"),  # before: ValueError
    ((None, 0.3, 0, 1), "answer 2 has example id None"),  # before: TypeError
    ((-1, 0.3, 0, 1), "answer 2 has example id -1"),  # before: replayed for the set's last example
    ((4, float("inf"), 0, 1), "answer 2 (example 4) has level inf, not a finite number"),  # before: the grid's top
    ((4, "high", 0, 1), "answer 2 (example 4) has level 'high'"),  # before: ValueError
    ((4, 0.3, "yes", 1), "answer 2 (example 4) has undone = 'yes'"),
])
def test_hand_edited_answers_databases_are_refused_in_one_line(tmp_path, row, expected):
    answers_table(tmp_path / "answers.sqlite", [(1, 0.2, 0, 1), row])
    with pytest.raises(AQPLError) as error:
        load_answers(tmp_path / "answers.sqlite")
    assert expected in one_line(error.value) and "answers.sqlite" in str(error.value)


def test_a_hand_edited_database_with_whole_float_ids_is_read(tmp_path):
    answers_table(tmp_path / "answers.sqlite", [(1.0, 0.2, 0, None), (2, 1, None, "r")])
    assert load_answers(tmp_path / "answers.sqlite") == {1: 0.2, 2: 1.0}


@pytest.mark.parametrize("array", [np.array([0.3 + 0.5j, 0.1]), np.array([True, False]), torch_levels := None])
def test_levels_that_are_not_real_numbers_are_refused(tmp_path, array):
    import torch

    if array is None:
        torch.save(torch.tensor([0.3 + 1j]), tmp_path / "levels.pt")
        path = tmp_path / "levels.pt"
    else:
        np.save(tmp_path / "levels.npy", array)
        path = tmp_path / "levels.npy"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # before: torch's "Casting complex values to real" on stderr
        with pytest.raises(AQPLError) as error:
            load_answers(path)
    assert "values, not levels: a levels file is one real number per training example" in one_line(error.value)


@pytest.mark.parametrize("cells, expected", [
    ("99999999999999999999,0.3", "example id 99999999999999999999 is larger than any training set"),  # before: torch overflow
    ("3," + "9" * 200_000, "is not a readable CSV (field larger than field limit"),  # before: _csv.Error
])
def test_csv_lines_the_fuzzer_broke(tmp_path, cells, expected):
    (tmp_path / "a.csv").write_text(f"example_id,level\n{cells}\n")
    with pytest.raises(AQPLError) as error:
        load_answers(tmp_path / "a.csv")
    assert expected in one_line(error.value)


def test_an_idx_header_of_65_dimensions(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 65]) + (1).to_bytes(4, "big") * 65 + b"\0")  # before: numpy's ValueError
    with pytest.raises(DatasetError) as error:
        read_idx(path)
    assert "has a header of 65 dimensions, not an IDX file of images or labels" in one_line(error.value)


def test_an_empty_idx_file_whose_sides_no_array_can_have(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(bytes([0, 0, 0x0C, 3]) + (0).to_bytes(4, "big") + (2**31 - 1).to_bytes(4, "big") * 2)
    with pytest.raises(DatasetError) as error:  # before: numpy's "array is too big" ValueError
        read_idx(path)
    assert "has shape (0, 2147483647, 2147483647), which no array can hold" in one_line(error.value)


def test_an_idx_header_whose_size_overflows_64_bits(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 0x0E, 3]) + (2**32 - 1).to_bytes(4, "big") * 3 + b"\0" * 8))
    with pytest.raises(DatasetError) as error:
        read_idx(path)
    assert f"header promises {(2**32 - 1) ** 3 * 8} for shape" in one_line(error.value)  # before: a wrapped, negative size


@pytest.mark.parametrize("entry, expected", [
    ({"data": np.zeros((2, 3072), np.uint8), "labels": 3}, "labels of shape ()"),  # before: TypeError len()
    ({"data": [[1, 2], [3]], "labels": [0, 1]}, "'data' is not an array of images"),  # before: numpy ValueError
    ({"data": np.zeros((1, 3072), np.uint8), "labels": [None]}, "the labels are not numbers (e.g. None)"),  # AttributeError
])
def test_cifar_batches_the_fuzzer_broke(tmp_path, entry, expected):
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps(entry))
    with pytest.raises(DatasetError) as error:
        _read_batch(tmp_path / "data_batch_1")
    assert expected in one_line(error.value)


def test_a_float_label_beyond_int64(tmp_path):
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "labels": 9.3e18}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # before: numpy's "invalid value encountered in cast", and a wrapped label
        with pytest.raises(DatasetError) as error:
            _read_batch(tmp_path / "data_batch_1")
    assert "label 9.3e+18 is no class number" in one_line(error.value)


def test_a_settings_file_that_is_not_utf8(tmp_path):
    (tmp_path / "settings.toml").write_bytes(b"\x80")
    with pytest.raises(SettingsError) as error:  # before: UnicodeDecodeError
        read_settings(tmp_path / "settings.toml")
    assert "settings.toml is not UTF-8 text (byte 0): save it as UTF-8" in one_line(error.value)


CORRUPT_EXIF_TIFF = bytes.fromhex(
    "49492a00080000400a0000010400010000000400000001018400010000000400000002010300030000008600000003010300010000"
    "000100000006010300010000000200000011010400010000008c000000150103000100000003000000160104080100000004000000"
    "1701040001000000300000001c010300010000000100000000000000080008000800000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000"
)


def test_damaged_image_metadata_prints_no_raw_warning(tmp_path):
    (tmp_path / "a.tif").write_bytes(CORRUPT_EXIF_TIFF)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            read_images([tmp_path / "a.tif"])
        except DatasetError as error:
            one_line(error)
    assert not [str(w.message) for w in caught if "EXIF" in str(w.message)]  # before: "Corrupt EXIF data" twice


def test_a_newline_in_an_option_value_does_not_split_the_error_line(capsys):
    from app.cli.main import main

    code = main(["--simulate-oracle", "--answers", "a\rb\nc.csv"])  # found as ['--answers', '\r']
    stderr = capsys.readouterr().err
    assert code == 2 and stderr.count("\n") == 1 and "\r" not in stderr  # before: the line broke at \r and \n
    assert stderr.startswith("error: --answers a\\rb\\nc.csv is only read by the replay oracle")


@pytest.mark.parametrize("command", ["corrupt", "gallery"])
def test_a_subcommands_bad_option_is_one_line(capsys, command):
    from app.cli.main import main

    code = main([command, "--out", "x", "--seed", "x"])
    stderr = capsys.readouterr().err
    assert code == 2 and stderr.count("\n") == 1 and "usage:" not in stderr  # before: argparse's usage dump
    assert stderr.startswith(f"error: argument --seed: invalid int value: 'x' (see `python -m app {command} --help`)")


def test_a_damaged_pickle_prints_nothing(tmp_path, capsys):
    raw = bytes.fromhex(
        "80035d710028636e756d70792e5f636f72652e6d756c746961727261790a5f7265636f6e7374727563740a96dae53ae91282756d"
        "70790a6e6461727261790a71024b008571034301627104877105527106284b014b03857107636e756d7079"
    )
    (tmp_path / "data_batch_1").write_bytes(raw)
    with pytest.raises(DatasetError) as error:
        _read_batch(tmp_path / "data_batch_1")
    assert "is corrupt or not a CIFAR-10 batch" in one_line(error.value)
    assert capsys.readouterr().err == ""  # before: CPython's "SystemError: deallocated bytearray object ..." line


def test_a_damaged_levels_pt_prints_no_torch_warning(tmp_path):
    import torch

    torch.save({"levels": torch.zeros(1)}, tmp_path / "levels.pt")
    raw = bytearray((tmp_path / "levels.pt").read_bytes())
    at = raw.index(b"\x80\x02")  # the pickle's protocol 2 header inside the zip: now says 3
    raw[at + 1] = 3
    (tmp_path / "levels.pt").write_bytes(bytes(raw))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            load_answers(tmp_path / "levels.pt")
        except AQPLError as error:
            one_line(error)
    assert not [str(w.message) for w in caught if "pickle protocol" in str(w.message)]  # before: torch's raw warning


def test_absurd_epochs_are_refused_before_they_exhaust_memory():
    """Found by the options fuzzer: epochs = 10^9 was accepted, and the round schedule then built a
    list of 10^9 ints (36 GB: the process was killed without a word)."""
    from app.engine.settings import defaults_for

    with pytest.raises(SettingsError) as error:
        defaults_for("gray", epochs=10**9, method="aqpl-gnt").validate()
    assert "epochs" in one_line(error.value)


def _damaged_database(path, flips):
    """A project database with one undone answer, then bits flipped at the given byte offsets."""
    from app.engine.project.answers import AnswerStore

    store = AnswerStore(path, create=True)
    store.undo(0, 0.0)
    store.close()
    raw = bytearray(path.read_bytes())
    for at, bit in flips:
        raw[at % len(raw)] ^= 1 << bit
    path.write_bytes(bytes(raw))


def test_a_database_with_text_that_is_not_utf8(tmp_path):
    import sqlite3

    path = tmp_path / "answers.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE answers (id INTEGER PRIMARY KEY, example_id, level, undone, round)")
    db.execute("INSERT INTO answers (example_id, level, undone, round) VALUES (CAST(X'CE41' AS TEXT), 0.3, 0, 1)")
    db.commit()
    db.close()
    with pytest.raises(AQPLError) as error:  # before: UnicodeDecodeError
        load_answers(path)
    assert "answers.sqlite: answer 1 has example id" in one_line(error.value)


@pytest.mark.parametrize("flip, expected", [
    ((3664, 7), "is damaged (its schema is not readable text)"),  # before: UnicodeDecodeError
    ((3664, 3), "is damaged (malformed database schema (answers) - near \"FULL\""),  # before: "the disk … is full"
])
def test_a_damaged_database_schema(tmp_path, flip, expected):
    path = tmp_path / "answers.sqlite"
    _damaged_database(path, [flip])
    with pytest.raises(AQPLError) as error:
        load_answers(path)
    assert expected in one_line(error.value) and "disk" not in str(error.value)


def test_replay_without_answers_names_the_fix(capsys):
    from app.cli.main import main

    assert main(["--simulate-oracle", "--oracle", "replay"]) == 2
    assert capsys.readouterr().err == (  # before: no fix after a colon
        "error: --oracle replay needs --answers FILE: give a project's answers.sqlite or an answers CSV\n"
    )


def test_a_marker_whose_format_is_infinity(tmp_path):
    from app.engine.project import Project, ProjectError

    Project.create(tmp_path / "p", settings(SHORT_RUN)).close()
    (tmp_path / "p" / "aqpl-project.json").write_text('{"format": Infinity}')
    with pytest.raises(ProjectError) as error:  # before: OverflowError
        Project.open(tmp_path / "p")
    assert "aqpl-project.json is damaged: restore it, or write" in one_line(error.value)
